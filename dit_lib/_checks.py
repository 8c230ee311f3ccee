"""Input checks shared by the public functions of `dit_lib`.

Every check raises a `TypeError` or `ValueError` whose message names the argument,
the value it got and how to fix it, so a learner never meets a shape error deep
inside a matmul. These are for *user input*; internal invariants use `assert`.
"""
from __future__ import annotations

import torch


def check_tensor(name: str, value, *, ndim: int | None = None, floating: bool | None = None) -> None:
    """Raise if `value` is not a tensor of the expected rank / dtype kind."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}; "
                        f"wrap it with torch.as_tensor({name}).")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(value.shape)}.")
    if floating is True and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}; "
                        f"convert it with {name}.float().")
    if floating is False and (value.is_floating_point() or value.is_complex() or value.dtype == torch.bool):
        raise TypeError(f"{name} must be an integer tensor, got dtype {value.dtype}; "
                        f"convert it with {name}.long().")


def check_positive_int(name: str, value, example: str = "") -> None:
    """Raise ValueError unless value is an int >= 1 (bools are not ints here); `example` ("250")
    is offered in the message."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        such_as = f" such as {example}" if example else ""
        raise ValueError(f"{name} must be a positive integer{such_as}, got {value!r}.")


def as_hw(name: str, value) -> tuple[int, int]:
    """Turn an image size given as `int` or `(H, W)` into a `(H, W)` tuple of ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise ValueError(f"{name} must be a positive int or a pair (H, W) of positive ints, got {value!r}.")
    return int(value[0]), int(value[1])


def check_images_labels(images, labels) -> None:
    """A batch of images (N, C, H, W), floating, with one integer label each (N,)."""
    check_tensor("images", images, ndim=4, floating=True)
    check_tensor("labels", labels, ndim=1, floating=False)
    if len(images) != len(labels):
        raise ValueError(f"images has {len(images)} items but labels has {len(labels)}; they must match.")

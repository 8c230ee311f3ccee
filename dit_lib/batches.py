"""Minibatches for training: a check that labels fit the classes, and one epoch of seeded minibatches.
"""
from __future__ import annotations

import torch

from ._checks import check_positive_int, check_tensor


def check_labels(labels, num_classes: int, name: str = "labels") -> None:
    """Raise unless `labels` is a 1-D integer tensor with values in 0..num_classes-1."""
    check_tensor(name, labels, ndim=1, floating=False)
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.numel():
        raise ValueError(f"label {bad[0].item()} in {name} is out of range: valid labels are 0..{num_classes - 1}.")


def iterate_minibatches(images: torch.Tensor, labels: torch.Tensor, batch_size: int, *,
                        generator: torch.Generator | None = None, shuffle: bool = True, drop_last: bool = True):
    """One epoch of (x, y) minibatches in an order drawn from `generator` (seeded -> reproducible).

    drop_last=True keeps every batch the same size; the images left out change every epoch.
    """
    check_tensor("images", images)
    check_tensor("labels", labels, ndim=1)
    check_positive_int("batch_size", batch_size)
    N = images.shape[0]
    if labels.shape[0] != N:
        raise ValueError(f"images has {N} items but labels has {labels.shape[0]}; they must match.")
    if drop_last and batch_size > N:
        raise ValueError(f"batch_size {batch_size} is larger than the {N} images, so drop_last=True leaves "
                         f"no batch; use batch_size <= {N} or drop_last=False.")
    order = torch.randperm(N, generator=generator) if shuffle else torch.arange(N)
    stop = N - N % batch_size if drop_last else N
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield images[idx], labels[idx]                 # (B, C, H, W), (B,)

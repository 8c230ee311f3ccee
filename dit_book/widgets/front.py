"""Live widget for the front page: pick a shipped model, a guidance scale, a number of steps and a
seed, and draw one sample of every class. Needs a kernel (Colab / Jupyter); its static twin on the
site is `dit_book.viz.front.samples_figure`.
"""
from __future__ import annotations

import base64
import time
from typing import Mapping, Sequence

import torch

from dit_lib.sampling import sample

from ..plotting import png_data_uri, sample_grid
from ..viz.front import CELL, GAP
from . import assemble


def png_bytes(x: torch.Tensor, *, cell: int = CELL, gap: int = GAP) -> bytes:
    """One row of samples (N, C, H, W) in [-1, 1] -> PNG bytes (for `ipywidgets.Image`)."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a tensor (N, C, H, W) of samples, got {shape}.")
    uri = png_data_uri(sample_grid([x], scale=max(1, round(cell / x.shape[-2])), gap=gap))
    return base64.b64decode(uri.split(",", 1)[1])


def sampler(models: Mapping[str, torch.nn.Module], class_names: Mapping[str, Sequence[str]], *,
            cfg_scale: float = 2.0, num_steps: int = 25, seed: int = 0):
    """A VBox: model, guidance scale, DDIM steps and seed -> one sample of every class of that model."""
    import ipywidgets as widgets

    if not models or set(models) != set(class_names):
        raise ValueError(f"models and class_names must name the same models, got {sorted(models)} "
                         f"and {sorted(class_names)}.")
    style = {"description_width": "initial"}
    pick = widgets.Dropdown(options=list(models), description="model", style=style)
    scale = widgets.FloatSlider(value=cfg_scale, min=0.0, max=6.0, step=0.5, description="guidance scale s",
                                continuous_update=False, readout_format=".1f", style=style)
    steps = widgets.IntSlider(value=num_steps, min=5, max=100, step=5, description="DDIM steps",
                              continuous_update=False, style=style)
    seed_box = widgets.BoundedIntText(value=seed, min=0, max=10_000, description="seed", style=style,
                                      layout=widgets.Layout(width="150px"))
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="640px"))
    readout = widgets.HTML()

    def draw(change=None) -> None:
        start = time.perf_counter()
        model, names = models[pick.value], class_names[pick.value]
        x = sample(model, torch.arange(len(names)), cfg_scale=scale.value, method="ddim", num_steps=steps.value,
                   seed=seed_box.value, progress=False).clamp(-1, 1)                 # (N, C, H, W)
        picture.value = png_bytes(x)
        readout.value = (f"{pick.value}: one sample per class ({', '.join(names)}), guidance s = {scale.value:g}, "
                         f"DDIM-{steps.value}, seed {seed_box.value}; sampled in "
                         f"<b>{time.perf_counter() - start:.2f} s</b>")

    return assemble([pick, scale, steps, seed_box], picture, readout, draw)


__all__ = ["sampler", "png_bytes"]

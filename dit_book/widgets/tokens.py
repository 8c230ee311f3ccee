"""Live widget for chapter 1: pick a data set, an image and a patch size; see the patch grid, the
token sequence and the patchify -> unpatchify round trip. Needs a kernel (Colab / Jupyter);
its static twin on the site is `dit_book.viz.tokens.patch_grid_figure`.
"""
from __future__ import annotations

import math
from typing import Mapping

import torch

from dit_lib.data import ImageDataset
from dit_lib.patchify import patchify, unpatchify

from ..plotting import figure_png
from ..viz.tokens import divisors, patch_tokens_mpl
from . import assemble


def patch_explorer(datasets: Mapping[str, ImageDataset], *, index: int = 0, patch_size: int = 4):
    """A VBox: data set dropdown, image index slider, patch size dropdown -> picture and round-trip check.

    Patch sizes offered are the divisors of the images' height and width (every one tiles exactly).
    """
    import ipywidgets as widgets

    if not datasets:
        raise ValueError("datasets is empty; pass e.g. {'shapes': load_dataset('shapes', n=64)}.")
    names = list(datasets)
    pick = widgets.Dropdown(options=names, value=names[0], description="data set")
    idx = widgets.IntSlider(value=index, min=0, max=len(datasets[names[0]]) - 1, description="image",
                            continuous_update=False)
    size = widgets.Dropdown(description="patch size p")
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))
    readout = widgets.HTML()

    def sizes_for(ds: ImageDataset) -> list[int]:
        H, W = ds.images.shape[-2:]
        return divisors(math.gcd(H, W))

    def refresh_sizes(keep: int) -> None:
        options = sizes_for(datasets[pick.value])
        size.options = options
        size.value = keep if keep in options else options[len(options) // 2]

    def draw(change=None) -> None:
        ds = datasets[pick.value]
        x = ds.images[idx.value]                                  # (C, H, W)
        p = size.value
        C, H, W = x.shape
        tokens = patchify(x[None], p)                             # (1, L, p*p*C)
        back = unpatchify(tokens, p, (H // p, W // p), C)         # (1, C, H, W)
        err = (back[0] - x).abs().max().item()
        label = ds.class_names[int(ds.labels[idx.value])]
        picture.value = figure_png(patch_tokens_mpl(x, p, title=f"{pick.value} #{idx.value}: {label}"))
        ok = "✓ exact" if torch.equal(back[0], x) else "✗ differs"
        readout.value = (f"x (C, H, W) = {tuple(x.shape)}<br>patchify → (B, L, p·p·C) = "
                         f"<b>{tuple(tokens.shape)}</b><br>unpatchify → (B, C, H, W) = {tuple(back.shape)}: "
                         f"round trip max |error| = {err:g} ({ok})")

    def on_dataset(change) -> None:
        idx.max = len(datasets[pick.value]) - 1
        refresh_sizes(size.value)
        draw()

    refresh_sizes(patch_size)
    pick.observe(on_dataset, names="value")
    return assemble([pick, idx, size], picture, readout, draw, observe=[idx, size])


__all__ = ["patch_explorer"]

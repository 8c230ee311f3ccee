"""Live widget for chapter 3: pick a model, a test image, a timestep, a layer, a head and a query
patch; the attention maps are recomputed with one forward pass of the model. Needs a kernel
(Colab / Jupyter); its static twin on the site is `dit_book.viz.query_maps.query_maps_figure`.
"""
from __future__ import annotations

import math
from typing import Mapping

import torch

from dit_lib.attention_maps import attention_entropy, attention_maps
from dit_lib.data import ImageDataset
from dit_lib.diffusion import create_diffusion
from dit_lib.models import DiT

from ..plotting import figure_png
from ..viz.query_maps import attention_mpl


def attention_explorer(sources: Mapping[str, tuple], *, index: int = 0, t: int = 250, layer: int = 0,
                       head: int = 0, query: int | None = None, seed: int = 0):
    """A VBox: model and image pickers, timestep / layer / head / query controls -> picture and numbers.

    `sources`: label -> (model, data set of images the model takes[, diffusion]), e.g.
    {"digits, trained": (load_pretrained("digits"), test), "digits, untrained": (fresh, test)};
    the diffusion that noises the images defaults to `create_diffusion()` (DiT's: T = 1000, linear).
    The noise eps of each image is drawn once from `seed` + its index, so moving t only changes
    the noise level of x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps.
    """
    import ipywidgets as widgets

    if not sources:
        raise ValueError("sources is empty; pass {label: (model, dataset)}.")
    sources = {name: _source(name, value) for name, value in sources.items()}
    for name, (model, ds, _) in sources.items():
        if tuple(ds.images.shape[-3:]) != (model.in_channels, *model.x_embedder.img_size):
            raise ValueError(f"{name}: the images are {tuple(ds.images.shape[-3:])} but the model takes "
                             f"{(model.in_channels, *model.x_embedder.img_size)}; pair each model with its data.")
    names = list(sources)
    pick = widgets.Dropdown(options=names, value=names[0], description="model")
    idx = widgets.IntSlider(value=index, min=0, max=len(sources[names[0]][1]) - 1, description="image",
                            continuous_update=False)
    t_slider = widgets.IntSlider(value=t, min=0, max=sources[names[0]][2].num_timesteps - 1,
                                 description="timestep t", continuous_update=False)
    layer_pick = widgets.Dropdown(description="layer")
    head_pick = widgets.Dropdown(description="head")
    q_slider = widgets.IntSlider(min=0, description="query token", continuous_update=False)
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="1000px"))
    readout = widgets.HTML()
    cache: dict = {}
    busy = [False]                     # no redraw while `configure` swaps the options of the controls

    def maps_for(name: str, i: int, step: int):
        key = (name, i, step)
        if key not in cache:
            model, ds, diffusion = sources[name]
            x0 = ds.images[i:i + 1]                                               # (1, C, H, W)
            noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed + i))
            maps = attention_maps(model, x0, step, ds.labels[i:i + 1], noise, diffusion)   # (depth, 1, h, L, L)
            x_t = diffusion.q_sample(x0, torch.tensor([step]), noise)             # (1, C, H, W)
            cache.clear()                                                         # keep one entry: small memory
            cache[key] = (maps[:, 0], x0[0], x_t[0])
        return cache[key]

    def configure(change=None) -> None:
        busy[0] = True
        model, ds, diffusion = sources[pick.value]
        depth, h = len(model.blocks), model.num_heads
        L = model.x_embedder.num_patches
        keep = (layer_pick.value, head_pick.value, q_slider.value)
        layer_pick.options = list(range(depth))
        head_pick.options = list(range(h))
        layer_pick.value = keep[0] if keep[0] in range(depth) else min(layer, depth - 1)
        head_pick.value = keep[1] if keep[1] in range(h) else min(head, h - 1)
        q_slider.max = L - 1
        q_slider.value = min(keep[2] if change is not None else (L // 2 if query is None else query), L - 1)
        idx.max = len(ds) - 1
        t_slider.max = diffusion.num_timesteps - 1
        busy[0] = False

    def draw(change=None) -> None:
        if busy[0]:
            return
        model, ds, _ = sources[pick.value]
        gh, gw = model.x_embedder.grid_size
        maps, x0, x_t = maps_for(pick.value, idx.value, t_slider.value)
        a = maps[layer_pick.value, head_pick.value]                               # (L, L)
        q = q_slider.value
        L = a.shape[-1]
        label = ds.class_names[int(ds.labels[idx.value])]
        picture.value = figure_png(attention_mpl(
            x0, x_t, a, q, (gh, gw), model.patch_size, zmax=max(0.3, float(a.max())),
            title=f"{pick.value}: image #{idx.value} ({label}), t = {t_slider.value}, "
                  f"layer {layer_pick.value}, head {head_pick.value}"))
        H_all = attention_entropy(a)                                              # (L,) one per query
        H_row, H_head = H_all[q].item(), H_all.mean().item()
        top = torch.topk(a[q], 3)
        keys = ", ".join(f"{k} ({w:.2f})" for w, k in zip(top.values.tolist(), top.indices.tolist()))
        r, c = divmod(q, gw)
        readout.value = (f"query {q} (row {r}, column {c}): entropy <b>{H_row:.3f}</b> nats "
                         f"(uniform over L = {L} keys: log L = {math.log(L):.3f}); "
                         f"mean over this head's queries {H_head:.3f}<br>"
                         f"largest weights: keys {keys}; self-weight {a[q, q]:.3f}; "
                         f"row sum {a[q].sum():.6f}")

    def on_model(change) -> None:
        configure(change)
        draw()

    configure()
    pick.observe(on_model, names="value")
    for w in (idx, t_slider, layer_pick, head_pick, q_slider):
        w.observe(draw, names="value")
    draw()
    rows = [widgets.HBox([pick, idx, t_slider], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([layer_pick, head_pick, q_slider], layout=widgets.Layout(flex_flow="row wrap"))]
    return widgets.VBox([*rows, picture, readout])


def _source(name: str, value) -> tuple:
    """(model, dataset) or (model, dataset, diffusion) -> (model, dataset, diffusion)."""
    if not isinstance(value, (tuple, list)) or len(value) not in (2, 3):
        raise ValueError(f"{name}: pass (model, dataset) or (model, dataset, diffusion), got {type(value).__name__}.")
    model, ds = value[0], value[1]
    if not isinstance(model, DiT) or not isinstance(ds, ImageDataset):
        raise ValueError(f"{name}: pass a DiT and an ImageDataset, got {type(model).__name__} and "
                         f"{type(ds).__name__}.")
    return model, ds, value[2] if len(value) == 3 else create_diffusion()


__all__ = ["attention_explorer"]

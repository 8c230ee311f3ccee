"""Live widget for chapter 10: pick a class and a guidance scale, sample, and compare with the
unguided model from the same noise. Needs a kernel (Colab / Jupyter); its static twin on the site
is `dit_book.viz.guidance.guidance_sweep_figure`.
"""
from __future__ import annotations

import time
from typing import Sequence

import torch

from dit_lib.distances import within_class_distance
from dit_lib.sampling import sample

from ..plotting import figure_png
from ..viz.guidance import guidance_mpl
from . import assemble


def class_samples(model, label: int, cfg_scale: float, *, n: int = 10, num_steps: int = 25, seed: int = 0):
    """n DDIM samples of class `label` at guidance scale `cfg_scale`, clamped to [-1, 1]; the noise
    depends only on (n, seed), so every scale starts from the same x_T."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (the diversity needs pairs), got {n!r}.")
    labels = torch.full((n,), int(label), dtype=torch.long)
    x = sample(model, labels, cfg_scale=float(cfg_scale), method="ddim", num_steps=num_steps, seed=seed,
               progress=False)
    return x.clamp(-1, 1)                                                    # (n, C, H, W)


def describe(x: torch.Tensor, label: int, judge=None) -> dict:
    """What the widget reports for n samples of one class: the judge's accuracy (when a judge is
    given) and the mean pixel distance between two of them."""
    labels = torch.full((len(x),), int(label), dtype=torch.long)
    out = {"distance": within_class_distance(x, labels)}
    if judge is not None:
        pred = judge.predict(x)
        out.update(accuracy=(pred == labels).double().mean().item(), wrong=(pred != labels).numpy())
    return out


def guidance_explorer(model, class_names: Sequence[str], judge=None, *, label: int = 0, cfg_scale: float = 4.0,
                      n: int = 10, num_steps: int = 25, seed: int = 0):
    """A VBox: a class, a guidance scale and a seed -> n samples at that scale next to n samples of the
    unguided model (s = 1) from the same noise, with the judge's verdict and the spread of each row."""
    import ipywidgets as widgets

    style = {"description_width": "initial"}
    pick = widgets.Dropdown(options=[(name, i) for i, name in enumerate(class_names)], value=label,
                            description="class y", style=style)
    scale = widgets.FloatSlider(value=cfg_scale, min=0.0, max=8.0, step=0.25, description="guidance scale s",
                                continuous_update=False, readout_format=".2f", style=style)
    seed_box = widgets.BoundedIntText(value=seed, min=0, max=10_000, description="seed", style=style,
                                      layout=widgets.Layout(width="150px"))
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="820px"))
    readout = widgets.HTML()
    cache: dict = {}

    def unguided(y: int, sd: int) -> torch.Tensor:
        if (y, sd) not in cache:
            cache[(y, sd)] = class_samples(model, y, 1.0, n=n, num_steps=num_steps, seed=sd)
        return cache[(y, sd)]

    def draw(change=None) -> None:
        start = time.perf_counter()
        y, s, sd = pick.value, scale.value, seed_box.value
        rows = {"s = 1 (no guidance)": unguided(y, sd),
                f"s = {s:g}": class_samples(model, y, s, n=n, num_steps=num_steps, seed=sd)}
        stats = {k: describe(x, y, judge) for k, x in rows.items()}
        seconds = time.perf_counter() - start
        wrong = {k: v["wrong"] for k, v in stats.items()} if judge is not None else None
        picture.value = figure_png(guidance_mpl(
            rows, wrong=wrong, title=f"class {class_names[y]}, DDIM-{num_steps}, seed {sd}: the same noise in both rows"
            + ("; red frame = the judge reads another class" if judge is not None else "")))
        lines = []
        for k, v in stats.items():
            acc = f"judge accuracy <b>{v['accuracy']:.0%}</b>, " if judge is not None else ""
            lines.append(f"{k}: {acc}mean pixel distance between two samples <b>{v['distance']:.2f}</b>")
        lines.append(f"sampled in {seconds:.2f} s (guidance runs the model on a doubled batch)")
        readout.value = "<br>".join(lines)

    return assemble([pick, scale, seed_box], picture, readout, draw)


__all__ = ["guidance_explorer", "class_samples", "describe"]

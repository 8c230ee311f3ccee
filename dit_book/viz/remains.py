"""Figures for chapter 6, what remains of real images at step t: the forward process on a grid of
images (`forward_grid_figure`), how well a judge still recognises them (`remains_figure`), and the
live widget's matplotlib picture (`forward_mpl`).

Pure functions: tensors in, figures out.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch

from ..plotting import (FONT, PAPER, as_numpy, figure, frame_axes, menu, png_data_uri, rounded, slider, step, subplots,
                        subtitle, to_rgb_uint8)
from .forward import GAP, T_AXIS_0, T_SLIDER, schedule_color


# ----------------------------------------------------------------------------- what remains of an image


def image_grid(rows: Sequence[torch.Tensor], *, cell: int = 32, gap: int = 2) -> np.ndarray:
    """Rows of images (each (N, C, H, W) in [-1, 1], C = 1 or 3; rows may differ in size) -> one
    (rows, cols, 3) uint8 picture; every image is enlarged (nearest neighbour) to cell x cell pixels,
    so `cell` must be a multiple of every H and W. Values outside [-1, 1] are clipped for display."""
    if not rows:
        raise ValueError("rows is empty; pass a list of (N, C, H, W) tensors.")
    N = rows[0].shape[0]
    for r in rows:
        if r.ndim != 4 or r.shape[0] != N or r.shape[1] not in (1, 3):
            raise ValueError(f"every row must be (N, C, H, W) with N = {N} and C = 1 or 3, got {tuple(r.shape)}.")
        if cell % r.shape[-2] or cell % r.shape[-1]:
            raise ValueError(f"cell = {cell} is not a multiple of the image size {tuple(r.shape[-2:])}; "
                             f"use a common multiple, e.g. {math.lcm(*[int(s) for q in rows for s in q.shape[-2:]])}.")
    out = np.full((len(rows) * (cell + gap) + gap, N * (cell + gap) + gap, 3), GAP, dtype=np.uint8)
    for i, r in enumerate(rows):
        fy, fx = cell // r.shape[-2], cell // r.shape[-1]
        for j in range(N):
            img = to_rgb_uint8(r[j]).repeat(fy, axis=0).repeat(fx, axis=1)       # (cell, cell, 3)
            y0, x0 = gap + i * (cell + gap), gap + j * (cell + gap)
            out[y0:y0 + cell, x0:x0 + cell] = img
    return out


def forward_grid_figure(timesteps: Sequence[int], frames: Mapping[str, Sequence[torch.Tensor]], *,
                        row_names: Sequence[str], info: Mapping[str, Sequence[str]] | None = None,
                        cell: int = 32, active: int = 0, title: str | None = None):
    """x_t of real images under several schedules, with a slider over t: for every row of images, one
    line per schedule, directly under each other (same images, same noise: only the schedule differs).

    `frames`: schedule name -> one tensor per row of images, each (n_t, N, C, H, W): the row's N
    images at every timestep. `info`: schedule name -> n_t short strings for the subtitle
    (e.g. "√ᾱ = 0.71").
    """
    import plotly.graph_objects as go

    if not frames:
        raise ValueError("frames is empty; pass {schedule name: [row tensors (n_t, N, C, H, W)]}.")
    names = list(frames)
    n_t = len(timesteps)
    if not 0 <= active < n_t:
        raise ValueError(f"active = {active} is not a timestep index in 0..{n_t - 1}.")
    for name in names:
        if len(frames[name]) != len(row_names):
            raise ValueError(f"frames[{name!r}] has {len(frames[name])} rows but row_names has {len(row_names)}.")
        for r in frames[name]:
            if r.ndim != 5 or r.shape[0] != n_t:
                raise ValueError(f"frames[{name!r}]: each row must be (n_t, N, C, H, W) with n_t = {n_t}, "
                                 f"got {tuple(r.shape)}.")
    lines = [(i, name) for i in range(len(row_names)) for name in names]        # row i, schedule name
    pics = [png_data_uri(image_grid([frames[name][i][k] for i, name in lines], cell=cell)) for k in range(n_t)]
    N = frames[names[0]][0].shape[1]
    gap = 2
    pic_h, pic_w = len(lines) * (cell + gap) + gap, N * (cell + gap) + gap
    info = dict(info or {})
    head = title or "What remains of real images at step t"

    def heading(k):
        parts = [f"{name}: {info[name][k]}" for name in names if name in info]
        return subtitle(head, f"t = {timesteps[k]}" + (f"; {' · '.join(parts)}" if parts else ""))

    fig = figure(go.Image(source=pics[active], hoverinfo="skip"))
    steps = [step(str(t), {"source": [pics[k]]}, {"title.text": heading(k)}, [0])
             for k, t in enumerate(timesteps)]
    fig.update_layout(title=heading(active),
                      sliders=[slider(steps, active=active, prefix=T_SLIDER, pad=20)])
    y_mid = [gap + j * (cell + gap) + cell / 2 for j in range(len(lines))]
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, range=[0, pic_w], constrain="domain")
    fig.update_yaxes(showgrid=False, zeroline=False, range=[pic_h, 0], tickvals=y_mid,
                     ticktext=[f"{row_names[i]}, {name}" for i, name in lines], scaleanchor="x", constrain="domain")
    height = int(190 + pic_h * 560 / pic_w)             # the picture fills a page column of about 700 px
    return fig.update_layout(height=height, margin=dict(t=100, l=130, r=20, b=20))


def remains_figure(timesteps: Sequence[int], accuracy: Mapping[str, Sequence[float]],
                   correlation: Mapping[str, Sequence[float]], *,
                   predicted: Mapping[str, Sequence[float]] | None = None,
                   log_snr: Mapping[str, Sequence[float]] | None = None, chance: float | None = None,
                   title: str | None = None):
    """Two panels over t: a classifier's accuracy on x_t (left) and the correlation between x_t and x_0
    (right; markers measured, dashed lines `predicted` from the closed form), one colour per schedule.

    With `log_snr` (schedule name -> log SNR at each timestep; inf or nan for t = 0 is left out),
    two buttons switch the horizontal axis between t and log SNR.
    """
    import plotly.graph_objects as go

    t = as_numpy(timesteps)
    for label, m in (("accuracy", accuracy), ("correlation", correlation), ("predicted", predicted or {}),
                     ("log_snr", log_snr or {})):
        for name, v in m.items():
            if len(v) != len(t):
                raise ValueError(f"{label}[{name!r}] has {len(v)} values but there are {len(t)} timesteps.")
    if log_snr is not None:
        missing = (set(accuracy) | set(correlation)) - set(log_snr)
        if missing:
            raise ValueError(f"log_snr lacks the schedule(s) {sorted(missing)}; give one curve per schedule.")
    fig = subplots(rows=1, cols=2, horizontal_spacing=0.1,
                   subplot_titles=["a digit classifier's accuracy on x_t", "correlation of x_t with x_0"])
    owner = []                                                  # the schedule of each trace, in order
    for i, name in enumerate(accuracy):
        color = schedule_color(name, i)
        fig.add_trace(go.Scatter(x=t, y=rounded(accuracy[name], 4), mode="lines+markers", name=name, legendgroup=name,
                                 line=dict(color=color, width=2), marker=dict(size=5),
                                 hovertemplate=f"{name}<br>x = %{{x}}: accuracy %{{y:.1%}}<extra></extra>"),
                      row=1, col=1)
        owner.append(name)
    for i, name in enumerate(correlation):
        color = schedule_color(name, i)
        fig.add_trace(go.Scatter(x=t, y=rounded(correlation[name], 4), mode="markers", name=f"{name}: measured",
                                 legendgroup=name, showlegend=False, marker=dict(color=color, size=6),
                                 hovertemplate=f"{name}, measured<br>x = %{{x}}: %{{y:.3f}}<extra></extra>"),
                      row=1, col=2)
        owner.append(name)
        if predicted and name in predicted:
            fig.add_trace(go.Scatter(x=t, y=rounded(predicted[name], 4), mode="lines", name=f"{name}: closed form",
                                     legendgroup=name, showlegend=False, line=dict(color=color, width=1.6, dash="dash"),
                                     hovertemplate=f"{name}, closed form<br>x = %{{x}}: %{{y:.3f}}<extra></extra>"),
                          row=1, col=2)
            owner.append(name)
    if chance is not None:
        fig.add_hline(y=chance, line=dict(color="#9aa5b1", width=1, dash="dot"), row=1, col=1,
                      annotation_text="chance", annotation_position="bottom left")
    fig.update_xaxes(title=T_AXIS_0)
    fig.update_yaxes(title="accuracy", range=[0, 1.02], tickformat=".0%", row=1, col=1)
    fig.update_yaxes(title="mean correlation over the test images", range=[-0.02, 1.02], row=1, col=2)
    fig.update_layout(title=title or "What remains of a digit",
                      legend=dict(orientation="h", y=1.12, yanchor="bottom", x=0, xanchor="left"))
    if log_snr is not None:
        def finite(v):
            return [None if not np.isfinite(a) else round(float(a), 3) for a in as_numpy(v)]
        by_t = {"x": [t.tolist() for _ in owner]}
        by_snr = {"x": [finite(log_snr[name]) for name in owner]}
        def axis(title, rev):
            return ({f"xaxis{k}.title.text": title for k in ("", "2")}
                    | {f"xaxis{k}.autorange": "reversed" if rev else True for k in ("", "2")})
        fig.update_layout(updatemenus=[menu([step("against t", by_t, axis(T_AXIS_0, False)),
                                            step("against log SNR", by_snr,
                                                 axis("log SNR = log(ᾱ_t / (1 − ᾱ_t)), high to low", True))],
                                            kind="buttons", direction="right", x=1.0, xanchor="right",
                                            y=1.12, yanchor="bottom")])
    return fig.update_layout(height=440, margin=dict(t=120))


# ----------------------------------------------------------------------------- the live widget's picture


def forward_mpl(x0: torch.Tensor, noise: torch.Tensor, frames: Mapping[str, torch.Tensor], *,
                captions: Mapping[str, str] | None = None, title: str = ""):
    """Matplotlib figure for the live widget: x_0, the noise eps, and x_t under each schedule
    (`frames`: name -> (C, H, W)), each image with an optional caption. Returns a
    `matplotlib.figure.Figure` (no pyplot state). Values outside [-1, 1] are clipped for display."""
    from matplotlib.figure import Figure

    if not frames:
        raise ValueError("frames is empty; pass {schedule name: x_t (C, H, W)}.")
    panels = {"x_0 (clean)": x0, **{f"x_t, {k}": v for k, v in frames.items()}, "ε (the noise)": noise}
    captions = dict(captions or {})
    fig = Figure(figsize=(2.2 * len(panels), 2.9), dpi=100, facecolor=PAPER)
    axes = fig.subplots(1, len(panels))
    for ax, (name, img) in zip(np.atleast_1d(axes), panels.items()):
        ax.imshow(to_rgb_uint8(img), interpolation="nearest")
        key = name.removeprefix("x_t, ")
        ax.set_title(name, fontsize=10, color=FONT["color"])
        if key in captions:
            ax.set_xlabel(captions[key], fontsize=8.5, color=FONT["color"])
    return frame_axes(fig, list(np.atleast_1d(axes)), title)


__all__ = ["image_grid", "forward_grid_figure", "remains_figure", "forward_mpl"]

"""Figures for chapter 9, what the samplers draw: sample quality and cost against the number of steps
(`quality_figure`) and the samples of each setting (`samples_figure`).

Pure functions: numbers and tensors in, figures out (`benchmarks/quality.py` measures the numbers).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..plotting import COLORWAY, figure, menu, step, subtitle
from .sampling import FIT_WIDTH, GAP, METHOD_COLORS, SCALE, grid_uri


# ----------------------------------------------------------------------------- quality against steps


QUALITY_VIEWS = {  # key -> (axis title, lower is better, hover format)
    "accuracy": ("judge accuracy", False, ".1%"),
    "fd": ("FD of judge features", True, ".2f"),
    "ms_per_sample": ("milliseconds per sample", True, ".1f"),
}


def quality_figure(benchmark: Sequence[Mapping], live: Sequence[Mapping] = (), *, fd_floor: float | None = None,
                   accuracy_ceiling: float | None = None, title: str | None = None):
    """Sample quality and cost against the number of sampling steps (log x), with a dropdown over
    judge accuracy, FD and milliseconds per sample.

    `benchmark` and `live`: rows with `method` ("ddim"/"ddpm"), `steps`, `accuracy`,
    `ms_per_sample` and (benchmark only) `fd`; benchmark points are filled, live ones hollow.
    `fd_floor`: the real-vs-real FD at the benchmark's size; `accuracy_ceiling`: the judge's
    accuracy on real test images. Both are drawn as dotted lines on their view.
    """
    import plotly.graph_objects as go

    if not benchmark:
        raise ValueError("benchmark is empty; pass the rows of the quality benchmark.")
    keys = list(QUALITY_VIEWS)
    fig, groups = figure(), {k: [] for k in keys}
    sources = [("benchmark", benchmark, "circle", 11), ("this kernel", live, "circle-open", 13)]
    for k in keys:
        label, _, fmt = QUALITY_VIEWS[k]
        for src, rows, symbol, size in sources:
            for method in ("ddim", "ddpm"):
                mine = sorted((r for r in rows if r["method"] == method and k in r), key=lambda r: r["steps"])
                if not mine:
                    continue
                name = f"{method.upper()} ({src})"
                ns = [f", n = {r['n']}" if "n" in r else "" for r in mine]
                groups[k].append(len(fig.data))
                fig.add_trace(go.Scatter(
                    x=[r["steps"] for r in mine], y=[round(float(r[k]), 5) for r in mine],
                    mode="lines+markers" if len(mine) > 1 else "markers", name=name, visible=k == keys[0],
                    line=dict(color=METHOD_COLORS[method.upper()], width=2, dash="solid" if src == "benchmark" else "dot"),
                    marker=dict(symbol=symbol, size=size, color=METHOD_COLORS[method.upper()], line=dict(width=2)),
                    customdata=ns,
                    hovertemplate=f"{name}, %{{x}} steps%{{customdata}}<br>{label}: %{{y:{fmt}}}<extra></extra>"))
        ref = {"fd": (fd_floor, "two sets of real digits"), "accuracy": (accuracy_ceiling, "real test digits")}.get(k)
        if ref and ref[0] is not None:
            groups[k].append(len(fig.data))
            fig.add_trace(go.Scatter(x=[8, 320], y=[ref[0], ref[0]], mode="lines", name=ref[1], visible=k == keys[0],
                                     line=dict(color=COLORWAY[7], width=1.5, dash="dot"),
                                     hovertemplate=f"{ref[1]}: %{{y:{fmt}}}<extra></extra>"))

    def heading(k):
        label, lower, _ = QUALITY_VIEWS[k]
        note = "; the FD needs the benchmark's larger sample" if k == "fd" else ""
        return subtitle(title or "Sample quality and cost against the number of steps",
                        f"{label}: {'lower' if lower else 'higher'} is better{note}")

    buttons = []
    for k in keys:
        vis = [i in groups[k] for i in range(len(fig.data))]
        buttons.append(step(QUALITY_VIEWS[k][0], {"visible": vis},
                            {"title.text": heading(k), "yaxis.title.text": QUALITY_VIEWS[k][0],
                            "yaxis.type": "log" if k == "ms_per_sample" else "linear",
                            "yaxis.tickformat": ".1%" if k == "accuracy" else ""}))
    fig.update_layout(title=heading(keys[0]),
                      xaxis=dict(title="sampling steps (log scale)", type="log", tickvals=[10, 25, 50, 100, 250],
                                 range=[np.log10(7), np.log10(400)]),
                      yaxis=dict(title=QUALITY_VIEWS[keys[0]][0], tickformat=".1%"),
                      updatemenus=[menu(buttons, x=1.0, xanchor="right", y=1.12, yanchor="bottom")],
                      legend=dict(orientation="h", y=-0.2, yanchor="top", x=0))
    return fig.update_layout(height=480, margin=dict(t=110, b=120))


def samples_figure(grids: Mapping[str, torch.Tensor], *, class_names: Sequence[str] | None = None,
                   title: str | None = None):
    """Samples of several sampler settings side by side: one row per setting (name -> (N, C, H, W)
    images in [-1, 1], the same N for all), column j the j-th sample of every setting (e.g. the
    same label and the same starting noise)."""
    import plotly.graph_objects as go

    if not grids:
        raise ValueError("grids is empty; pass {setting: (N, C, H, W) images}.")
    names = list(grids)
    shapes = {tuple(g.shape) for g in grids.values()}
    if len(shapes) != 1:
        raise ValueError(f"every setting needs images of the same shape, got {sorted(shapes)}.")
    N, _, H, W = grids[names[0]].shape
    if class_names is not None and len(class_names) != N:
        raise ValueError(f"class_names has {len(class_names)} entries for {N} images per setting.")
    fig = figure(go.Image(source=grid_uri([grids[n] for n in names]), hoverinfo="skip"))
    pic_h = len(names) * (H * SCALE + GAP) + GAP
    pic_w = N * (W * SCALE + GAP) + GAP
    y_mid = [GAP + i * (H * SCALE + GAP) + H * SCALE / 2 for i in range(len(names))]
    x_mid = [GAP + j * (W * SCALE + GAP) + W * SCALE / 2 for j in range(N)]
    fig.update_layout(title=subtitle(title or "What the settings draw",
                                     "one row per setting; each column: the same label and the same starting noise"))
    fig.update_xaxes(tickvals=x_mid, ticktext=list(class_names) if class_names else [str(j) for j in range(N)],
                     showgrid=False, zeroline=False, side="top", range=[0, pic_w])
    fig.update_yaxes(tickvals=y_mid, ticktext=names, showgrid=False, zeroline=False, range=[pic_h, 0],
                     scaleanchor="x", constrain="domain")
    scale = min(1.25, (FIT_WIDTH - 160) / pic_w)       # the picture's scale in a page-wide figure
    return fig.update_layout(height=int(150 + scale * pic_h), margin=dict(t=110, l=140, r=20, b=20))


__all__ = ["quality_figure", "samples_figure", "QUALITY_VIEWS"]

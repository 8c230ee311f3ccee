"""Figures for chapter 10, classifier-free guidance: samples over the guidance scale, the measured
fidelity/diversity trade-off beside the paper's Table 2, and the official three-channel quirk.

Pure functions: tensors and measured numbers in, figures out (nothing here samples or measures).
Plotly figures are for the site (sliders over precomputed data, no kernel needed); `guidance_mpl`
draws the matplotlib picture of the live guidance widget.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..plotting import (COLORWAY, FONT, PAPER, figure, frame_axes, png_data_uri, rounded, slider, step, subplots,
                        subtitle, to_rgb_uint8)

WRONG_RGB = (220, 38, 38)          # COLORWAY[1]: a frame around a sample the judge labels otherwise
BACKGROUND_RGB = (228, 231, 235)   # the style's grid colour, between images
# the row labels of channel_quirk_figure, written horizontally in the left margin (short lines)
QUIRK_ROWS = ("ε(x, ∅)<br>unconditional", "ε(x, y)<br>conditional", 'guided<br>channels="all"',
              'guided<br>channels=<br>"official"')


def _check_grid(images) -> tuple[int, int, int, int, int]:
    if not isinstance(images, torch.Tensor) or images.ndim != 5:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a tensor (R, N, C, H, W): R rows of N images, got {shape}.")
    return tuple(images.shape)


def framed_grid(images: torch.Tensor, wrong=None, *, scale: int = 6, pad: int = 3, ring: int = 2) -> np.ndarray:
    """R rows of N images (R, N, C, H, W) in [-1, 1] -> one (rows, cols, 3) uint8 picture.

    Each image is enlarged `scale` times (nearest neighbour) and sits in a cell with `pad` pixels of
    background on every side; where `wrong[r, n]` is true, the innermost `ring` pixels of that
    padding are red (the judge labels that sample as another class).
    """
    R, N, _, H, W = _check_grid(images)
    if not 0 <= ring <= pad:
        raise ValueError(f"ring ({ring}) must be between 0 and pad ({pad}).")
    wrong = np.zeros((R, N), dtype=bool) if wrong is None else np.asarray(wrong, dtype=bool)
    if wrong.shape != (R, N):
        raise ValueError(f"wrong must have shape (R, N) = {(R, N)}, got {wrong.shape}.")
    h, w = H * scale + 2 * pad, W * scale + 2 * pad                       # one cell
    out = np.empty((R * h, N * w, 3), dtype=np.uint8)
    out[:] = BACKGROUND_RGB
    for r in range(R):
        for n in range(N):
            top, left = r * h, n * w
            if wrong[r, n]:
                edge = pad - ring
                out[top + edge:top + h - edge, left + edge:left + w - edge] = WRONG_RGB
            img = to_rgb_uint8(images[r, n]).repeat(scale, axis=0).repeat(scale, axis=1)
            out[top + pad:top + pad + H * scale, left + pad:left + pad + W * scale] = img
    return out


def guidance_sweep_figure(scales: Sequence[float], grids: Mapping[float, torch.Tensor], *,
                          wrong: Mapping[float, np.ndarray] | None = None, notes: Mapping[float, str] | None = None,
                          class_names: Sequence[str] | None = None, active: int = 0, title: str | None = None,
                          row_names: Sequence[str] | None = None):
    """Samples at one guidance scale, with a slider over the scales; every scale starts from the same noise.

    `grids`: scale -> (R, N, C, H, W) samples in [-1, 1], column n generated for class n, row r the
    r-th noise of that column (or what `row_names[r]` says, e.g. one way of guiding per row).
    `wrong`: scale -> (R, N) bool, framed in red. `notes`: scale -> a short line (the measured
    numbers at that scale) shown under the title.
    """
    import plotly.graph_objects as go

    scales = list(scales)
    if not scales or any(s not in grids for s in scales):
        raise ValueError("grids must hold one (R, N, C, H, W) tensor per scale in `scales`.")
    if not 0 <= active < len(scales):
        raise ValueError(f"active must index the scales (0..{len(scales) - 1}), got {active}.")
    R, N, _, H, W = _check_grid(grids[scales[0]])
    if row_names is not None and len(row_names) != R:
        raise ValueError(f"row_names needs one name per row of the grids ({R}), got {len(row_names)}.")
    if any(_check_grid(grids[s]) != (R, N, *grids[scales[0]].shape[2:]) for s in scales):
        raise ValueError("every scale needs samples of the same shape (R, N, C, H, W).")
    scale, pad = 6, 3
    pics = {s: png_data_uri(framed_grid(grids[s], None if wrong is None else wrong[s], scale=scale, pad=pad))
            for s in scales}
    cell_h, cell_w = H * scale + 2 * pad, W * scale + 2 * pad

    def heading(s):
        what = ("the unconditional model (the labels are ignored)" if s == 0 else
                "the conditional model, no guidance" if s == 1 else f"guidance scale {s:g}")
        # the notes on a line of their own: on one line with the longest `what` (s = 0) they ran
        # past the right edge of a figure as wide as the site's text column (about 690 px)
        return subtitle(title or "The same noise, sampled at each guidance scale", f"s = {s:g}: {what}",
                        notes[s] if notes and s in notes else "")

    fig = figure(go.Image(source=pics[scales[active]], hoverinfo="skip"))
    fig.update_layout(title=heading(scales[active]),
                      sliders=[slider([step(f"{s:g}", {"source": [pics[s]]}, {"title.text": heading(s)}, [0])
                                      for s in scales], active=active, prefix="guidance scale s = ", pad=30)])
    fig.update_xaxes(tickvals=[n * cell_w + cell_w / 2 for n in range(N)],
                     ticktext=list(class_names) if class_names else [str(n) for n in range(N)],
                     showgrid=False, zeroline=False, side="top", range=[0, N * cell_w], title="class label y")
    fig.update_yaxes(tickvals=[r * cell_h + cell_h / 2 for r in range(R)],
                     ticktext=list(row_names) if row_names else [f"noise {r + 1}" for r in range(R)],
                     showgrid=False, zeroline=False,
                     range=[R * cell_h, 0], scaleanchor="x", constrain="domain")
    return fig.update_layout(height=int(280 + 1.3 * R * cell_h), margin=dict(t=165, l=80, b=40))


def _line(fig, x, y, name, color, row, col, *, dash=None, mode="lines+markers", hover="%{y:.3f}", showlegend=True):
    import plotly.graph_objects as go

    fig.add_trace(go.Scatter(x=list(x), y=rounded(y, 4), name=name, mode=mode, legendgroup=name,
                             showlegend=showlegend, line=dict(color=color, dash=dash, width=2),
                             marker=dict(size=8, color=color),
                             hovertemplate=f"s = %{{x:g}}: {hover}<extra>{name}</extra>"), row=row, col=col)


def tradeoff_figure(live: Mapping[str, Sequence[float]], benchmark: Mapping[str, Sequence[float]],
                    paper: Mapping[float, float], *, judge_ceiling: float, real_distance: float,
                    fd_floor_live: float, fd_floor_benchmark: float, live_label: str = "measured here",
                    benchmark_label: str = "benchmark", title: str | None = None):
    """Fidelity against diversity over the guidance scale, in four panels:
    (a) judge accuracy, (b) within-class distance of the samples, (c) Fréchet distance of judge
    features (lower is better), (d) the paper's FID-50K of DiT-XL/2 on ImageNet.

    `live` has the keys "scale", "accuracy", "distance", "fd"; `benchmark` "scale", "accuracy", "fd";
    `paper` maps a scale to its FID. The dashed lines are the references: the judge's accuracy on
    real test digits, the within-class distance of real digits and each FD's real-vs-real floor.
    """

    for name, data, keys in (("live", live, ("scale", "accuracy", "distance", "fd")),
                             ("benchmark", benchmark, ("scale", "accuracy", "fd"))):
        missing = [k for k in keys if k not in data]
        if missing:
            raise ValueError(f"{name} is missing {missing}; it needs the keys {list(keys)}.")
        if any(len(data[k]) != len(data["scale"]) for k in keys):
            raise ValueError(f"every list of {name} needs one value per scale ({len(data['scale'])}).")
    fig = subplots(rows=2, cols=2, horizontal_spacing=0.12, vertical_spacing=0.2,
                   subplot_titles=["(a) fidelity: judge accuracy ↑", "(b) diversity: distance in a class ↑",
                                   "(c) FD of judge features ↓", "(d) paper: DiT-XL/2 FID-50K ↓"])
    c_live, c_bench, c_ref, c_paper = COLORWAY[0], COLORWAY[2], "#6b7280", COLORWAY[1]
    xs = list(live["scale"]) + list(benchmark["scale"]) + list(paper)
    span = [min(xs) - 0.3, max(xs) + 0.3]

    def ref(y, row, col, showlegend=False):
        _line(fig, span, [y, y], "real digits (reference)", c_ref, row, col, dash="dash", mode="lines",
              showlegend=showlegend)

    _line(fig, live["scale"], live["accuracy"], live_label, c_live, 1, 1, hover="%{y:.1%}")
    _line(fig, benchmark["scale"], benchmark["accuracy"], benchmark_label, c_bench, 1, 1, hover="%{y:.1%}")
    ref(judge_ceiling, 1, 1, showlegend=True)
    _line(fig, live["scale"], live["distance"], live_label, c_live, 1, 2, showlegend=False)
    ref(real_distance, 1, 2)
    _line(fig, live["scale"], live["fd"], live_label, c_live, 2, 1, showlegend=False, hover="%{y:.2f}")
    _line(fig, benchmark["scale"], benchmark["fd"], benchmark_label, c_bench, 2, 1, showlegend=False,
          hover="%{y:.2f}")
    ref(fd_floor_live, 2, 1)
    _line(fig, span, [fd_floor_benchmark] * 2, "real digits, at the benchmark's size", c_bench, 2, 1, dash="dot",
          mode="lines")
    _line(fig, list(paper), list(paper.values()), "paper, Table 2", c_paper, 2, 2, hover="FID %{y:.2f}")
    fig.update_xaxes(title="guidance scale s", range=span, dtick=1)
    fig.update_yaxes(title="share labelled as asked", tickformat=".0%", row=1, col=1)
    fig.update_yaxes(title="mean pixel distance", rangemode="tozero", row=1, col=2)
    fds = [v for v in (*live["fd"], *benchmark["fd"], fd_floor_live, fd_floor_benchmark) if v > 0]
    ticks = [v for v in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500) if min(fds) / 2 <= v <= max(fds) * 2]
    fig.update_yaxes(title="FD (log scale)", type="log", tickvals=ticks, ticktext=[f"{v:g}" for v in ticks],
                     row=2, col=1)
    fig.update_yaxes(title="FID", rangemode="tozero", row=2, col=2)
    fig.update_layout(title=title or "Guidance trades diversity for fidelity",
                      legend=dict(orientation="h", y=-0.14, x=0))
    return fig.update_layout(height=680)


def channel_quirk_figure(scales: Sequence[float], eps_uncond: torch.Tensor, eps_cond: torch.Tensor,
                         guided: Mapping[float, Mapping[str, torch.Tensor]], *, active: int = 0,
                         title: str | None = None):
    """The noise prediction of one image channel by channel (columns), with a slider over the scale:
    the two predictions, then the guided one with channels="all" and with channels="official".

    `eps_uncond`, `eps_cond`: (C, H, W); `guided`: scale -> {"all": (C, H, W), "official": (C, H, W)}.
    """
    import plotly.graph_objects as go

    scales = list(scales)
    if eps_uncond.ndim != 3 or eps_uncond.shape != eps_cond.shape:
        raise ValueError(f"eps_uncond and eps_cond must both be (C, H, W), got {tuple(eps_uncond.shape)} "
                         f"and {tuple(eps_cond.shape)}.")
    if any(s not in guided or set(guided[s]) != {"all", "official"} for s in scales):
        raise ValueError('guided must map every scale to {"all": (C, H, W), "official": (C, H, W)}.')
    if not 0 <= active < len(scales):
        raise ValueError(f"active must index the scales (0..{len(scales) - 1}), got {active}.")
    C = eps_uncond.shape[0]
    top = max(float(eps_uncond.abs().max()), float(eps_cond.abs().max()),
              *(float(g[k].abs().max()) for g in guided.values() for k in g)) or 1.0
    fig = subplots(rows=4, cols=C, horizontal_spacing=0.03, vertical_spacing=0.06,
                   column_titles=[f"channel {c}" for c in range(C)])
    for r, text in enumerate(QUIRK_ROWS):           # row labels: horizontal, right-aligned in the left margin
        lo, hi = fig.get_subplot(r + 1, 1).yaxis.domain
        fig.add_annotation(text=text, x=0, y=(lo + hi) / 2, xref="paper", yref="paper", xanchor="right",
                           xshift=-10, yanchor="middle", align="right", showarrow=False)

    def add(z, row, col):
        fig.add_trace(go.Heatmap(z=rounded(z, 3), zmin=-top, zmax=top, colorscale="RdBu", reversescale=True,
                                 showscale=(row, col) == (1, C), colorbar=dict(title="ε", thickness=12),
                                 hovertemplate=f"channel {col - 1}, pixel (%{{y}}, %{{x}}): %{{z:.3f}}<extra></extra>"),
                      row=row, col=col)

    for c in range(C):
        add(eps_uncond[c], 1, c + 1)
        add(eps_cond[c], 2, c + 1)
    for k, key in enumerate(("all", "official")):
        for c in range(C):
            add(guided[scales[active]][key][c], 3 + k, c + 1)
    moving = list(range(2 * C, 4 * C))                                     # the traces of rows 3 and 4

    def heading(s):
        return subtitle(title or "Which channels get guided",
                        f"s = {s:g}; official: channels 0-2 are guided, channel {C - 1} stays ε(x, y)")

    def zs(s):
        return [rounded(guided[s][key][c], 3) for key in ("all", "official") for c in range(C)]

    fig.update_layout(title=heading(scales[active]),
                      sliders=[slider([step(f"{s:g}", {"z": zs(s)}, {"title.text": heading(s)}, moving)
                                      for s in scales], active=active, prefix="guidance scale s = ", pad=20)])
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    fig.for_each_annotation(lambda a: a.update(font=dict(size=11)))
    return fig.update_layout(height=720, margin=dict(t=110, l=130, r=90, b=40))


def guidance_mpl(rows: Mapping[str, torch.Tensor], *, wrong: Mapping[str, np.ndarray] | None = None,
                 title: str = ""):
    """Matplotlib figure for the live guidance widget: one row of samples per entry of `rows`
    (name -> (N, C, H, W) in [-1, 1]), misjudged samples framed in red. Returns a
    `matplotlib.figure.Figure` (no pyplot state)."""
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError("rows is empty; pass {row name: (N, C, H, W) images}.")
    names = list(rows)
    grid = torch.stack([rows[n] for n in names])                              # (R, N, C, H, W)
    flags = None if wrong is None else np.stack([np.asarray(wrong[n], dtype=bool) for n in names])
    scale, pad = 6, 3
    picture = framed_grid(grid, flags, scale=scale, pad=pad)
    _, N, _, H, _ = grid.shape
    cell = H * scale + 2 * pad
    fig = Figure(figsize=(min(10.0, 1.2 + 0.62 * N), 0.7 + 0.65 * len(names)), dpi=100, facecolor=PAPER)
    ax = fig.subplots()
    ax.imshow(picture, interpolation="nearest")
    ax.set_yticks([r * cell + cell / 2 for r in range(len(names))], names, fontsize=9, color=FONT["color"])
    ax.set_xticks([n * cell + cell / 2 for n in range(N)], [str(n + 1) for n in range(N)], fontsize=8,
                  color=FONT["color"])
    ax.xaxis.tick_top()
    return frame_axes(fig, [ax], title or None, keep_ticks=True)


__all__ = ["framed_grid", "guidance_sweep_figure", "tradeoff_figure", "channel_quirk_figure", "guidance_mpl",
           "QUIRK_ROWS", "WRONG_RGB"]

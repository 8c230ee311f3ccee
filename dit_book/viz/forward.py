"""Figures for chapter 6, the forward process: the two noise schedules, their log-SNR, the
step-by-step chain against the closed form, what remains of real images at each t, and the
matplotlib panel of the live widget.

Pure functions: tensors in, figures out (they never sample). Timesteps are the paper's steps
t = 1..T (t = 0 is the clean image x_0), and every t axis and slider says so (T_AXIS, T_AXIS_0,
T_SLIDER); the library's tables are indexed t - 1, and the caller does that translation once, where
it computes the numbers. (Chapters 7-10 plot the array index instead, labelled "t (array index)".)
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch

from . import COLORWAY, FONT, PAPER, frame_axes, style
from .tokens import png_data_uri, rounded, to_rgb_uint8

SCHEDULE_COLORS = {"linear": COLORWAY[0], "cosine": COLORWAY[1]}
GAP = 228                                   # light grey between the images of a grid (the style's GRID)
T_AXIS = "t (paper step, 1 … T)"            # the label of every t axis of chapter 6
T_AXIS_0 = "t (paper step, 1 … T; 0 = clean x_0)"   # for axes that start at the clean image
T_SLIDER = "paper step t = "                # the prefix of every t slider's readout


def _np(x) -> np.ndarray:
    return x.detach().double().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)


def _color(name: str, i: int) -> str:
    return SCHEDULE_COLORS.get(name, COLORWAY[(i + 2) % len(COLORWAY)])


def _check_tables(tables: Mapping[str, Mapping[str, torch.Tensor]]) -> None:
    if not tables:
        raise ValueError("tables is empty; pass {schedule name: diffusion_tables(betas)}.")
    for name, tab in tables.items():
        missing = {"betas", "alphas_cumprod"} - set(tab)
        if missing:
            raise ValueError(f"tables[{name!r}] lacks {sorted(missing)}; pass the dict of "
                             f"dit_lib.diffusion.diffusion_tables(betas).")


def log_snr(alphas_cumprod) -> np.ndarray:
    """log SNR_t = log(abar_t / (1 - abar_t)), in float64 (natural log)."""
    ab = _np(alphas_cumprod)
    return np.log(ab) - np.log1p(-ab)


def crossing(t, values, level: float) -> float:
    """The first t at which `values` (decreasing) falls to `level`, linearly interpolated; nan if never."""
    t, v = _np(t), _np(values)
    below = np.flatnonzero(v <= level)
    if not len(below):
        return float("nan")
    k = below[0]
    if k == 0:
        return float(t[0])
    return float(t[k - 1] + (v[k - 1] - level) / (v[k - 1] - v[k]) * (t[k] - t[k - 1]))


# ----------------------------------------------------------------------------- schedules


def schedule_figure(tables: Mapping[str, Mapping[str, torch.Tensor]], *, title: str | None = None):
    """Two panels over the paper's t = 1..T: beta_t (log scale) and abar_t, one line per schedule.

    `tables`: schedule name -> `diffusion_tables(betas)` (float64 tables of shape (T,)).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    _check_tables(tables)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["β_t: the variance one step adds", "ᾱ_t: the share of x_0's variance left"])
    for i, (name, tab) in enumerate(tables.items()):
        beta, ab = _np(tab["betas"]), _np(tab["alphas_cumprod"])
        t = np.arange(1, len(beta) + 1)
        color = _color(name, i)
        fig.add_trace(go.Scatter(x=t, y=rounded(beta, 7), mode="lines", name=name, legendgroup=name,
                                 line=dict(color=color, width=2),
                                 hovertemplate=f"{name}<br>t = %{{x}}: β_t = %{{y:.3g}}<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Scatter(x=t, y=rounded(ab, 6), mode="lines", name=name, legendgroup=name, showlegend=False,
                                 line=dict(color=color, width=2),
                                 hovertemplate=f"{name}<br>t = %{{x}}: ᾱ_t = %{{y:.4f}}<extra></extra>"), row=1, col=2)
    fig.add_hline(y=0.5, line=dict(color="#9aa5b1", width=1, dash="dot"), row=1, col=2)
    fig.update_xaxes(title=T_AXIS)
    fig.update_yaxes(type="log", title="β_t (log scale)", exponentformat="power", row=1, col=1)
    fig.update_yaxes(title="ᾱ_t = ∏ (1 − β_s)", range=[0, 1.02], row=1, col=2)
    fig.update_layout(title=title or "The two noise schedules",
                      legend=dict(orientation="h", y=1.12, yanchor="bottom", x=0, xanchor="left"))
    return style(fig, height=430).update_layout(margin=dict(t=120))


def log_snr_figure(tables: Mapping[str, Mapping[str, torch.Tensor]], *, title: str | None = None):
    """log SNR_t = log(abar_t / (1 - abar_t)) over the paper's t = 1..T, one line per schedule, with
    the point where each crosses 0 (SNR = 1, abar_t = 1/2) marked."""
    import plotly.graph_objects as go

    _check_tables(tables)
    fig = go.Figure()
    for i, (name, tab) in enumerate(tables.items()):
        ab = _np(tab["alphas_cumprod"])
        t = np.arange(1, len(ab) + 1)
        snr = log_snr(ab)
        color = _color(name, i)
        fig.add_trace(go.Scatter(x=t, y=rounded(snr, 4), mode="lines", name=name, line=dict(color=color, width=2.2),
                                 customdata=rounded(ab, 6),
                                 hovertemplate=(f"{name}<br>t = %{{x}}: log SNR = %{{y:.2f}}"
                                                f"<br>ᾱ_t = %{{customdata:.4g}}<extra></extra>")))
        t0 = crossing(t, snr, 0.0)
        fig.add_trace(go.Scatter(x=[round(t0, 1)], y=[0], mode="markers+text", showlegend=False,
                                 marker=dict(color=color, size=10, line=dict(color="#ffffff", width=1.5)),
                                 text=[f"SNR = 1 at t ≈ {t0:.0f}"], textposition="bottom left" if i % 2 == 0 else
                                 "top right", textfont=dict(color=color),
                                 hovertemplate=f"{name}: SNR = 1 at t ≈ {t0:.1f}<extra></extra>"))
    fig.add_hline(y=0, line=dict(color="#9aa5b1", width=1, dash="dot"))
    fig.update_layout(title=title or "Signal-to-noise ratio of x_t",
                      xaxis_title=T_AXIS,
                      yaxis_title="log SNR = log(ᾱ_t / (1 − ᾱ_t))",
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left"))
    return style(fig, height=440).update_layout(margin=dict(t=100))


# ----------------------------------------------------------------------------- chain vs closed form


def normal_cdf(z) -> np.ndarray:
    """Phi(z) for arrays (float64), without scipy."""
    z = torch.as_tensor(np.asarray(z, dtype=np.float64))
    return (0.5 * (1.0 + torch.special.erf(z / math.sqrt(2.0)))).numpy()


def ks_normal(z: torch.Tensor) -> float:
    """Kolmogorov-Smirnov distance sup |F_n - Phi| between the sample `z` and N(0, 1)."""
    zs = np.sort(_np(z).ravel())
    n = len(zs)
    if n == 0:
        raise ValueError("z is empty; pass at least one value.")
    phi = normal_cdf(zs)
    i = np.arange(1, n + 1)
    return float(max((i / n - phi).max(), (phi - (i - 1) / n).max()))


def chain_histogram_figure(timesteps: Sequence[int], groups: Mapping[str, Mapping[str, object]], *,
                           edges=None, active: int = 0, note: Mapping[int, str] | None = None,
                           title: str | None = None):
    """Histograms of x_t from the step-by-step chain, against the closed form's bin probabilities,
    with a slider over t.

    `groups`: name -> {"samples": (n_t, n) values of x_t (one row per timestep), "mean": (n_t,) the
    closed form's sqrt(abar_t) x_0, "std": (n_t,) its sqrt(1 - abar_t)}. Bars: the chain's density per
    bin; step line: the closed form N(mean, std^2) integrated over each bin (exact, even for a spike
    narrower than a bin). `note`: index -> extra subtitle text for that timestep.
    """
    import plotly.graph_objects as go

    if not groups:
        raise ValueError("groups is empty; pass {name: {'samples', 'mean', 'std'}}.")
    n_t = len(timesteps)
    if not 0 <= active < n_t:
        raise ValueError(f"active = {active} is not a timestep index in 0..{n_t - 1}.")
    edges = np.arange(-4.05, 4.0501, 0.1) if edges is None else _np(edges)
    centers, width = (edges[1:] + edges[:-1]) / 2, np.diff(edges)
    names = list(groups)
    bars, lines = {}, {}
    for name in names:
        g = groups[name]
        s, mu, sd = _np(g["samples"]), _np(g["mean"]), _np(g["std"])
        if s.ndim != 2 or s.shape[0] != n_t or mu.shape != (n_t,) or sd.shape != (n_t,):
            raise ValueError(f"groups[{name!r}]: samples must be (n_t, n) and mean, std (n_t,) with n_t = {n_t}, "
                             f"got {s.shape}, {mu.shape}, {sd.shape}.")
        bars[name] = [np.histogram(s[k], bins=edges)[0] / (s.shape[1] * width) for k in range(n_t)]
        lines[name] = [np.diff(normal_cdf((edges - mu[k]) / sd[k])) / width for k in range(n_t)]
    note = dict(note or {})
    head = title or "x_t from the step-by-step chain against the closed form"

    def heading(k):
        extra = f": {note[k]}" if k in note else ""
        return f"{head}<br><sup>t = {timesteps[k]}{extra}</sup>"

    fig = go.Figure()
    for i, name in enumerate(names):
        color = COLORWAY[i % len(COLORWAY)]
        fig.add_trace(go.Bar(x=rounded(centers, 3), y=rounded(bars[name][active], 4), width=0.1, name=f"{name}: chain",
                             marker=dict(color=color, opacity=0.45, line=dict(width=0)),
                             hovertemplate=f"{name}, chain<br>x_t ≈ %{{x:.2f}}: density %{{y:.3f}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=rounded(centers, 3), y=rounded(lines[name][active], 4), mode="lines",
                                 line=dict(color=color, width=2, shape="hvh"), name=f"{name}: closed form",
                                 hovertemplate=f"{name}, closed form<br>x_t ≈ %{{x:.2f}}: %{{y:.3f}}<extra></extra>"))
    traces = list(range(len(fig.data)))

    def ys(k):
        return [rounded(v[k], 4) for name in names for v in (bars[name], lines[name])]

    def top(k):
        return 1.08 * max(max(float(np.max(v[k])) for v in (bars[n], lines[n])) for n in names)

    steps = [dict(label=str(t), method="update",
                  args=[{"y": ys(k)}, {"title.text": heading(k), "yaxis.range": [0, top(k)]}, traces])
             for k, t in enumerate(timesteps)]
    fig.update_layout(title=heading(active), barmode="overlay", bargap=0,
                      sliders=[dict(active=active, currentvalue=dict(prefix=T_SLIDER), pad=dict(t=50),
                                    steps=steps)],
                      xaxis=dict(title="value of the pixel in x_t", range=[float(edges[0]), float(edges[-1])]),
                      yaxis=dict(title="density", range=[0, top(active)]),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left"))
    return style(fig, height=500).update_layout(margin=dict(t=130))


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
        return f"{head}<br><sup>t = {timesteps[k]}" + (f"; {' · '.join(parts)}" if parts else "") + "</sup>"

    fig = go.Figure(go.Image(source=pics[active], hoverinfo="skip"))
    steps = [dict(label=str(t), method="update", args=[{"source": [pics[k]]}, {"title.text": heading(k)}, [0]])
             for k, t in enumerate(timesteps)]
    fig.update_layout(title=heading(active),
                      sliders=[dict(active=active, currentvalue=dict(prefix=T_SLIDER), pad=dict(t=20),
                                    steps=steps)])
    y_mid = [gap + j * (cell + gap) + cell / 2 for j in range(len(lines))]
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, range=[0, pic_w], constrain="domain")
    fig.update_yaxes(showgrid=False, zeroline=False, range=[pic_h, 0], tickvals=y_mid,
                     ticktext=[f"{row_names[i]}, {name}" for i, name in lines], scaleanchor="x", constrain="domain")
    height = int(190 + pic_h * 560 / pic_w)             # the picture fills a page column of about 700 px
    return style(fig, height=height).update_layout(margin=dict(t=100, l=130, r=20, b=20))


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
    from plotly.subplots import make_subplots

    t = _np(timesteps)
    for label, m in (("accuracy", accuracy), ("correlation", correlation), ("predicted", predicted or {}),
                     ("log_snr", log_snr or {})):
        for name, v in m.items():
            if len(v) != len(t):
                raise ValueError(f"{label}[{name!r}] has {len(v)} values but there are {len(t)} timesteps.")
    if log_snr is not None:
        missing = (set(accuracy) | set(correlation)) - set(log_snr)
        if missing:
            raise ValueError(f"log_snr lacks the schedule(s) {sorted(missing)}; give one curve per schedule.")
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["a digit classifier's accuracy on x_t", "correlation of x_t with x_0"])
    owner = []                                                  # the schedule of each trace, in order
    for i, name in enumerate(accuracy):
        color = _color(name, i)
        fig.add_trace(go.Scatter(x=t, y=rounded(accuracy[name], 4), mode="lines+markers", name=name, legendgroup=name,
                                 line=dict(color=color, width=2), marker=dict(size=5),
                                 hovertemplate=f"{name}<br>x = %{{x}}: accuracy %{{y:.1%}}<extra></extra>"),
                      row=1, col=1)
        owner.append(name)
    for i, name in enumerate(correlation):
        color = _color(name, i)
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
            return [None if not np.isfinite(a) else round(float(a), 3) for a in _np(v)]
        by_t = {"x": [t.tolist() for _ in owner]}
        by_snr = {"x": [finite(log_snr[name]) for name in owner]}
        axis = lambda title, rev: {f"xaxis{k}.title.text": title for k in ("", "2")} | \
            {f"xaxis{k}.autorange": "reversed" if rev else True for k in ("", "2")}
        fig.update_layout(updatemenus=[dict(
            type="buttons", direction="right", x=1.0, xanchor="right", y=1.12, yanchor="bottom",
            buttons=[dict(label="against t", method="update", args=[by_t, axis(T_AXIS_0, False)]),
                     dict(label="against log SNR", method="update",
                          args=[by_snr, axis("log SNR = log(ᾱ_t / (1 − ᾱ_t)), high to low", True)])])])
    return style(fig, height=440).update_layout(margin=dict(t=120))


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


__all__ = ["SCHEDULE_COLORS", "T_AXIS", "T_AXIS_0", "T_SLIDER", "log_snr", "crossing", "schedule_figure", "log_snr_figure", "normal_cdf", "ks_normal",
           "chain_histogram_figure", "image_grid", "forward_grid_figure", "remains_figure", "forward_mpl"]

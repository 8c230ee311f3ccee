"""Figures for chapter 6, the forward process: the two noise schedules, their log-SNR and the
step-by-step chain against the closed form (what remains of real images at each t, and the
matplotlib panel of the live widget, are `viz.remains`).

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

from ..plotting import COLORWAY, as_numpy, figure, rounded, slider, step, subplots, subtitle

SCHEDULE_COLORS = {"linear": COLORWAY[0], "cosine": COLORWAY[1]}
GAP = 228                                   # light grey between the images of a grid (the style's GRID)
T_AXIS = "t (paper step, 1 … T)"            # the label of every t axis of chapter 6
T_AXIS_0 = "t (paper step, 1 … T; 0 = clean x_0)"   # for axes that start at the clean image
T_SLIDER = "paper step t = "                # the prefix of every t slider's readout


def schedule_color(name: str, i: int) -> str:
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
    ab = as_numpy(alphas_cumprod)
    return np.log(ab) - np.log1p(-ab)


def crossing(t, values, level: float) -> float:
    """The first t at which `values` (decreasing) falls to `level`, linearly interpolated; nan if never."""
    t, v = as_numpy(t), as_numpy(values)
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

    _check_tables(tables)
    fig = subplots(rows=1, cols=2, horizontal_spacing=0.1,
                   subplot_titles=["β_t: the variance one step adds", "ᾱ_t: the share of x_0's variance left"])
    for i, (name, tab) in enumerate(tables.items()):
        beta, ab = as_numpy(tab["betas"]), as_numpy(tab["alphas_cumprod"])
        t = np.arange(1, len(beta) + 1)
        color = schedule_color(name, i)
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
    return fig.update_layout(height=430, margin=dict(t=120))


def log_snr_figure(tables: Mapping[str, Mapping[str, torch.Tensor]], *, title: str | None = None):
    """log SNR_t = log(abar_t / (1 - abar_t)) over the paper's t = 1..T, one line per schedule, with
    the point where each crosses 0 (SNR = 1, abar_t = 1/2) marked."""
    import plotly.graph_objects as go

    _check_tables(tables)
    fig = figure()
    for i, (name, tab) in enumerate(tables.items()):
        ab = as_numpy(tab["alphas_cumprod"])
        t = np.arange(1, len(ab) + 1)
        snr = log_snr(ab)
        color = schedule_color(name, i)
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
    return fig.update_layout(height=440, margin=dict(t=100))


# ----------------------------------------------------------------------------- chain vs closed form


def normal_cdf(z) -> np.ndarray:
    """Phi(z) for arrays (float64), without scipy."""
    z = torch.as_tensor(np.asarray(z, dtype=np.float64))
    return (0.5 * (1.0 + torch.special.erf(z / math.sqrt(2.0)))).numpy()


def ks_normal(z: torch.Tensor) -> float:
    """Kolmogorov-Smirnov distance sup |F_n - Phi| between the sample `z` and N(0, 1)."""
    zs = np.sort(as_numpy(z).ravel())
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
    edges = np.arange(-4.05, 4.0501, 0.1) if edges is None else as_numpy(edges)
    centers, width = (edges[1:] + edges[:-1]) / 2, np.diff(edges)
    names = list(groups)
    bars, lines = {}, {}
    for name in names:
        g = groups[name]
        s, mu, sd = as_numpy(g["samples"]), as_numpy(g["mean"]), as_numpy(g["std"])
        if s.ndim != 2 or s.shape[0] != n_t or mu.shape != (n_t,) or sd.shape != (n_t,):
            raise ValueError(f"groups[{name!r}]: samples must be (n_t, n) and mean, std (n_t,) with n_t = {n_t}, "
                             f"got {s.shape}, {mu.shape}, {sd.shape}.")
        bars[name] = [np.histogram(s[k], bins=edges)[0] / (s.shape[1] * width) for k in range(n_t)]
        lines[name] = [np.diff(normal_cdf((edges - mu[k]) / sd[k])) / width for k in range(n_t)]
    note = dict(note or {})
    head = title or "x_t from the step-by-step chain against the closed form"

    def heading(k):
        extra = f": {note[k]}" if k in note else ""
        return subtitle(head, f"t = {timesteps[k]}{extra}")

    fig = figure()
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

    steps = [step(str(t), {"y": ys(k)}, {"title.text": heading(k), "yaxis.range": [0, top(k)]}, traces)
             for k, t in enumerate(timesteps)]
    fig.update_layout(title=heading(active), barmode="overlay", bargap=0,
                      sliders=[slider(steps, active=active, prefix=T_SLIDER, pad=50)],
                      xaxis=dict(title="value of the pixel in x_t", range=[float(edges[0]), float(edges[-1])]),
                      yaxis=dict(title="density", range=[0, top(active)]),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left"))
    return fig.update_layout(height=500, margin=dict(t=130))


__all__ = ["SCHEDULE_COLORS", "T_AXIS", "T_AXIS_0", "T_SLIDER", "log_snr", "crossing", "schedule_figure",
           "log_snr_figure", "normal_cdf", "ks_normal", "chain_histogram_figure"]

"""Figures for chapter 7: the posterior q(x_{t-1} | x_t, x_0) and the three classic slips, with the
axes and number helpers the chapter's other modules share (the band of the learned variance is
`viz.band`, the bound terms it changes `viz.bound`).

t is the 0-based array index of the code (the paper's step is t + 1), and every t axis is titled
"t (array index)"; where t runs on a log scale the points sit at t + 1 (so that t = 0 fits) and the
tick labels show t. v is the interpolation weight of the learned range (IDDPM eq. 15), 0 at
beta-tilde_t and 1 at beta_t; the network's raw output is o = 2 v - 1.

Pure functions: precomputed numbers in, figures out (nothing here trains or samples). Plotly figures
are for the site (sliders and dropdowns over precomputed data, no kernel needed).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..plotting import COLORWAY, figure, slider, step, subplots, subtitle

PRIOR, LIKELIHOOD, POSTERIOR, MONTE_CARLO = "#9aa5b1", COLORWAY[3], COLORWAY[0], "#93c5fd"
SMALL, LARGE, LEARNED, BEST = COLORWAY[2], COLORWAY[1], COLORWAY[0], COLORWAY[4]
BAND = "rgba(156, 163, 175, 0.28)"
T_AXIS = "t (array index)"
LOG_T_TICKS = (0, 1, 3, 10, 30, 100, 300, 999)


def log_t_axis(t_max: int | None = None) -> dict:
    """Axis settings for t on a log scale: points at t + 1, ticks labelled with t itself."""
    ticks = [k for k in LOG_T_TICKS if t_max is None or k <= t_max]
    return dict(title=T_AXIS, type="log", tickvals=[k + 1 for k in ticks], ticktext=[str(k) for k in ticks])


def title_above_menu(fig, menus: list, top: int, menu_gap: int = 8, title_top: int = 36):
    """A title block near the top of the figure (`title_top` pixels down, below plotly's mode bar) and
    the dropdown(s) `menus` on their own row between it and the plot (left-aligned, just above the
    plot area), so neither covers the other. `top` is margin.t in pixels: it must hold the gap, the
    title's lines and the menu's row (about 40 px)."""
    for m in menus:
        m.update(x=0.0, xanchor="left", y=1.0, yanchor="bottom", pad=dict(b=menu_gap, t=0, l=0, r=0))
    fig.update_layout(updatemenus=menus, margin=dict(t=top),
                      title=dict(y=1.0, yref="container", yanchor="top", pad=dict(t=title_top)))


def checked_array(name: str, values, ndim: int | None = None, length: int | None = None) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {a.shape}.")
    if length is not None and len(a) != length:
        raise ValueError(f"{name} has {len(a)} entries but there are {length} timesteps; pass one per timestep.")
    return a


def none_for_nan(a, digits: int = 6) -> list:
    """A list for plotly with None where a is not finite (a gap in the line), `digits` significant digits."""
    return [float(f"{v:.{digits}g}") if np.isfinite(v) else None for v in np.asarray(a, dtype=np.float64).ravel()]


def significant(a, digits: int = 5) -> list:
    """Values kept to `digits` significant digits (short JSON for numbers of any size)."""
    return [float(f"{v:.{digits}g}") for v in np.asarray(a, dtype=np.float64).ravel()]


# ----------------------------------------------------------------------------- Bayes, step by step

BAYES_KEYS = ("t", "x", "prior", "likelihood", "posterior", "hist_x", "hist_density", "mean", "std",
              "mc_mean", "mc_std", "n_mc")


def bayes_figure(panels: Sequence[Mapping], *, x0: float, title: str | None = None, active: int = 0):
    """The posterior as a product of two Gaussians, one slider step per timestep.

    Each panel (one per timestep) holds, on a grid `x` of values of x_{t-1}: the densities `prior`
    q(x_{t-1} | x_0), `likelihood` q(x_t | x_{t-1}) as a function of x_{t-1} (normalised) and
    `posterior` (the formula); a Monte Carlo histogram (`hist_x`, `hist_density`) of x_{t-1} over the
    forward runs whose x_t landed next to the observed one; the formula's `mean`, `std` and the Monte
    Carlo `mc_mean`, `mc_std` from `n_mc` runs.
    """
    import plotly.graph_objects as go

    if not panels:
        raise ValueError("panels is empty; pass one dict per timestep with keys " + ", ".join(BAYES_KEYS) + ".")
    for p in panels:
        missing = [k for k in BAYES_KEYS if k not in p]
        if missing:
            raise ValueError(f"panel for t = {p.get('t')} lacks {missing}.")
        if not len(p["x"]) == len(p["prior"]) == len(p["likelihood"]) == len(p["posterior"]):
            raise ValueError("x, prior, likelihood and posterior of a panel must have one length.")

    def traces_y(p):
        return [significant(p[k], 4) for k in ("hist_density", "prior", "likelihood", "posterior")]

    def traces_x(p):
        return [significant(p["hist_x"], 6)] + [significant(p["x"], 6)] * 3

    def ranges(p):
        x = np.asarray(p["x"], dtype=np.float64)
        top = max(np.max(p["posterior"]), np.max(p["likelihood"]), np.max(p["hist_density"]))
        return [float(x[0]), float(x[-1])], [0.0, float(top) * 1.12]

    def heading(p):
        return subtitle(title or "The posterior is a product of two Gaussians",
                        f"t = {p['t']}, x<sub>0</sub> = {x0:g}: formula mean {p['mean']:.4f}, std {p['std']:.4f}; "
                        f"Monte Carlo {p['mc_mean']:.4f}, {p['mc_std']:.4f} from {int(p['n_mc']):,} forward runs")

    p0 = panels[active]
    names = ["Monte Carlo: x<sub>t−1</sub> of the forward runs that reached x<sub>t</sub>",
             "prior q(x<sub>t−1</sub> | x<sub>0</sub>)",
             "likelihood q(x<sub>t</sub> | x<sub>t−1</sub>), as a function of x<sub>t−1</sub>",
             "posterior q(x<sub>t−1</sub> | x<sub>t</sub>, x<sub>0</sub>): the formula"]
    fig = figure()
    fig.add_trace(go.Bar(x=traces_x(p0)[0], y=traces_y(p0)[0], name=names[0], marker_color=MONTE_CARLO,
                         marker_line_width=0, opacity=0.9,
                         hovertemplate="x<sub>t−1</sub> ≈ %{x:.4f}: density %{y:.3g}<extra></extra>"))
    for name, color, width, dash, k in ((names[1], PRIOR, 2, "dash", 1), (names[2], LIKELIHOOD, 2, "dot", 2),
                                        (names[3], POSTERIOR, 3, "solid", 3)):
        fig.add_trace(go.Scatter(x=traces_x(p0)[k], y=traces_y(p0)[k], mode="lines", name=name,
                                 line=dict(color=color, width=width, dash=dash),
                                 hovertemplate="x<sub>t−1</sub> = %{x:.4f}: density %{y:.3g}<extra></extra>"))
    xr, yr = ranges(p0)
    steps = []
    for p in panels:
        xr_k, yr_k = ranges(p)
        steps.append(step(str(p["t"]), {"x": traces_x(p), "y": traces_y(p)},
                          {"title.text": heading(p), "xaxis.range": xr_k, "yaxis.range": yr_k}, [0, 1, 2, 3]))
    fig.update_layout(title=heading(p0), bargap=0.02,
                      xaxis=dict(title="x<sub>t−1</sub> (pixel value)", range=xr),
                      yaxis=dict(title="probability density", range=yr),
                      sliders=[slider(steps, active=active, prefix="t (array index) = ", pad=60)],
                      legend=dict(orientation="h", x=0, y=-0.62, yanchor="top"))
    return fig.update_layout(height=640, margin=dict(t=100, b=150))


# ----------------------------------------------------------------------------- the slips, measured


def reverse_chain_figure(timesteps, levels: Mapping[str, Sequence[float]], sizes: Mapping[str, Sequence[float]], *,
                         first_steps: int = 60, title: str | None = None):
    """Two panels over a reverse chain that runs from t = T - 1 down to 0. Left: the noise left in x_t,
    the RMS of x_t - sqrt(abar_t) x_0, against t (log scale of t + 1, the chain runs left to right), one
    line per entry of `levels`. Right: the size of x_t (its RMS) over the first `first_steps` reverse
    steps, one line per entry of `sizes`, on a log scale where a chain that blows up leaves a gap
    after it overflows. In both, the first entry is the reference (the forward process): dotted.
    Each value array has one entry per timestep of `timesteps` (NaN where the chain has overflowed).
    """
    import plotly.graph_objects as go

    t = np.asarray(timesteps)
    order = np.argsort(-t)                                            # the chain's order: T - 1 first
    for name, d in (("levels", levels), ("sizes", sizes)):
        if not d:
            raise ValueError(f"{name} is empty; pass {{chain name: one value per timestep}}.")
        for k, v in d.items():
            checked_array(f"{name}[{k!r}]", v, ndim=1, length=len(t))
    if first_steps < 2:
        raise ValueError(f"first_steps must be at least 2, got {first_steps}.")
    names = list(dict.fromkeys([*levels, *sizes]))
    refs = {next(iter(levels)), next(iter(sizes))}
    colors, k = {}, 0
    for name in names:
        if name not in refs:
            colors[name] = COLORWAY[(k + 2) % len(COLORWAY)]
            k += 1
    fig = subplots(rows=1, cols=2, horizontal_spacing=0.1,
                   subplot_titles=["noise left in x<sub>t</sub>: RMS of x<sub>t</sub> − √ᾱ<sub>t</sub> x<sub>0</sub>",
                                   f"size of x<sub>t</sub> (RMS), first {first_steps} steps of the chain"])
    shown = set()

    def line(name):
        ref = name in refs
        return dict(color="#1f2933" if ref else colors[name], width=3 if ref else 2, dash="dot" if ref else "solid")

    for name, v in levels.items():
        fig.add_trace(go.Scatter(x=(t + 1).tolist(), y=none_for_nan(v), mode="lines", name=name, legendgroup=name,
                                 showlegend=name not in shown, line=line(name), customdata=t.tolist(),
                                 hovertemplate=f"{name}<br>t = %{{customdata}}: %{{y:.4g}}<extra></extra>"),
                      row=1, col=1)
        shown.add(name)
    steps = np.arange(first_steps)
    for name, v in sizes.items():
        vv = np.asarray(v, dtype=np.float64)[order][:first_steps]
        fig.add_trace(go.Scatter(x=steps.tolist(), y=none_for_nan(vv), mode="lines+markers", name=name,
                                 legendgroup=name, showlegend=name not in shown, line=line(name), marker=dict(size=4),
                                 customdata=t[order][:first_steps].tolist(),
                                 hovertemplate=f"{name}<br>step %{{x}} (t = %{{customdata}}): %{{y:.3g}}<extra></extra>"),
                      row=1, col=2)
        shown.add(name)
    right = np.concatenate([np.asarray(v, dtype=np.float64)[order][:first_steps] for v in sizes.values()])
    right = right[np.isfinite(right) & (right > 0)]
    if len(right):                                                    # a fixed range: plotly chokes near 1e308
        fig.update_yaxes(range=[np.floor(np.log10(right.min())) - 0.5, np.ceil(np.log10(right.max())) + 0.5],
                         row=1, col=2)
    fig.update_xaxes(autorange="reversed", **log_t_axis(int(t.max())), row=1, col=1)
    fig.update_xaxes(title=f"reverse steps taken from t = {int(t.max())}", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_layout(title=subtitle(title or "A reverse chain that knows x<sub>0</sub> must retrace the forward process",
                                     "exact posterior steps against the slips; a line ends where its chain overflows"),
                      legend=dict(orientation="h", x=0, y=-0.22, yanchor="top"))
    return fig.update_layout(height=500, margin=dict(t=100, b=90))


__all__ = ["bayes_figure", "reverse_chain_figure", "BAYES_KEYS"]

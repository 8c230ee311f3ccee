"""Figures for chapter 7: the posterior q(x_{t-1} | x_t, x_0), the three classic slips, the band of the
learned variance between beta-tilde_t and beta_t, and the bound terms it changes.

t is the 0-based array index of the code (the paper's step is t + 1), and every t axis is titled
"t (array index)"; where t runs on a log scale the points sit at t + 1 (so that t = 0 fits) and the
tick labels show t. v is the interpolation weight of the learned range (IDDPM eq. 15), 0 at
beta-tilde_t and 1 at beta_t; the network's raw output is o = 2 v - 1.

Pure functions: precomputed numbers in, figures out (nothing here trains or samples). Plotly figures
are for the site (sliders and dropdowns over precomputed data, no kernel needed); `explorer_mpl` draws
the matplotlib picture of the live widget (`dit_lib.widgets.posterior`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from . import COLORWAY, FONT, PAPER, style
from .tokens import rounded

PRIOR, LIKELIHOOD, POSTERIOR, MONTE_CARLO = "#9aa5b1", COLORWAY[3], COLORWAY[0], "#93c5fd"
SMALL, LARGE, LEARNED, BEST = COLORWAY[2], COLORWAY[1], COLORWAY[0], COLORWAY[4]
BAND = "rgba(156, 163, 175, 0.28)"
T_AXIS = "t (array index)"
LOG_T_TICKS = (0, 1, 3, 10, 30, 100, 300, 999)


def _log_t_axis(t_max: int | None = None) -> dict:
    """Axis settings for t on a log scale: points at t + 1, ticks labelled with t itself."""
    ticks = [k for k in LOG_T_TICKS if t_max is None or k <= t_max]
    return dict(title=T_AXIS, type="log", tickvals=[k + 1 for k in ticks], ticktext=[str(k) for k in ticks])


def _title_above_menu(fig, menus: list, top: int, menu_gap: int = 8, title_top: int = 36):
    """A title block near the top of the figure (`title_top` pixels down, below plotly's mode bar) and
    the dropdown(s) `menus` on their own row between it and the plot (left-aligned, just above the
    plot area), so neither covers the other. `top` is margin.t in pixels: it must hold the gap, the
    title's lines and the menu's row (about 40 px)."""
    for m in menus:
        m.update(x=0.0, xanchor="left", y=1.0, yanchor="bottom", pad=dict(b=menu_gap, t=0, l=0, r=0))
    fig.update_layout(updatemenus=menus, margin=dict(t=top),
                      title=dict(y=1.0, yref="container", yanchor="top", pad=dict(t=title_top)))


def _arr(name: str, values, ndim: int | None = None, length: int | None = None) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {a.shape}.")
    if length is not None and len(a) != length:
        raise ValueError(f"{name} has {len(a)} entries but there are {length} timesteps; pass one per timestep.")
    return a


def _none_for_nan(a, digits: int = 6) -> list:
    """A list for plotly with None where a is not finite (a gap in the line), `digits` significant digits."""
    return [float(f"{v:.{digits}g}") if np.isfinite(v) else None for v in np.asarray(a, dtype=np.float64).ravel()]


def _sig(a, digits: int = 5) -> list:
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
        return [_sig(p["hist_density"], 4), _sig(p["prior"], 4), _sig(p["likelihood"], 4), _sig(p["posterior"], 4)]

    def traces_x(p):
        return [_sig(p["hist_x"], 6)] + [_sig(p["x"], 6)] * 3

    def ranges(p):
        x = np.asarray(p["x"], dtype=np.float64)
        top = max(np.max(p["posterior"]), np.max(p["likelihood"]), np.max(p["hist_density"]))
        return [float(x[0]), float(x[-1])], [0.0, float(top) * 1.12]

    def heading(p):
        return (title or "The posterior is a product of two Gaussians") + \
            f"<br><sup>t = {p['t']}, x<sub>0</sub> = {x0:g}: formula mean {p['mean']:.4f}, std {p['std']:.4f}; " \
            f"Monte Carlo {p['mc_mean']:.4f}, {p['mc_std']:.4f} from {int(p['n_mc']):,} forward runs</sup>"

    p0 = panels[active]
    names = ["Monte Carlo: x<sub>t−1</sub> of the forward runs that reached x<sub>t</sub>",
             "prior q(x<sub>t−1</sub> | x<sub>0</sub>)",
             "likelihood q(x<sub>t</sub> | x<sub>t−1</sub>), as a function of x<sub>t−1</sub>",
             "posterior q(x<sub>t−1</sub> | x<sub>t</sub>, x<sub>0</sub>): the formula"]
    fig = go.Figure()
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
        steps.append(dict(label=str(p["t"]), method="update",
                          args=[{"x": traces_x(p), "y": traces_y(p)},
                                {"title.text": heading(p), "xaxis.range": xr_k, "yaxis.range": yr_k},
                                [0, 1, 2, 3]]))
    fig.update_layout(title=heading(p0), bargap=0.02,
                      xaxis=dict(title="x<sub>t−1</sub> (pixel value)", range=xr),
                      yaxis=dict(title="probability density", range=yr),
                      sliders=[dict(active=active, currentvalue=dict(prefix="t (array index) = "), pad=dict(t=60),
                                    steps=steps)],
                      legend=dict(orientation="h", x=0, y=-0.62, yanchor="top"))
    return style(fig, height=640).update_layout(margin=dict(t=100, b=150))


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
    from plotly.subplots import make_subplots

    t = np.asarray(timesteps)
    order = np.argsort(-t)                                            # the chain's order: T - 1 first
    for name, d in (("levels", levels), ("sizes", sizes)):
        if not d:
            raise ValueError(f"{name} is empty; pass {{chain name: one value per timestep}}.")
        for k, v in d.items():
            _arr(f"{name}[{k!r}]", v, ndim=1, length=len(t))
    if first_steps < 2:
        raise ValueError(f"first_steps must be at least 2, got {first_steps}.")
    names = list(dict.fromkeys([*levels, *sizes]))
    refs = {next(iter(levels)), next(iter(sizes))}
    colors, k = {}, 0
    for name in names:
        if name not in refs:
            colors[name] = COLORWAY[(k + 2) % len(COLORWAY)]
            k += 1
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["noise left in x<sub>t</sub>: RMS of x<sub>t</sub> − √ᾱ<sub>t</sub> x<sub>0</sub>",
                                        f"size of x<sub>t</sub> (RMS), first {first_steps} steps of the chain"])
    shown = set()

    def line(name):
        ref = name in refs
        return dict(color="#1f2933" if ref else colors[name], width=3 if ref else 2, dash="dot" if ref else "solid")

    for name, v in levels.items():
        fig.add_trace(go.Scatter(x=(t + 1).tolist(), y=_none_for_nan(v), mode="lines", name=name, legendgroup=name,
                                 showlegend=name not in shown, line=line(name), customdata=t.tolist(),
                                 hovertemplate=f"{name}<br>t = %{{customdata}}: %{{y:.4g}}<extra></extra>"),
                      row=1, col=1)
        shown.add(name)
    steps = np.arange(first_steps)
    for name, v in sizes.items():
        vv = np.asarray(v, dtype=np.float64)[order][:first_steps]
        fig.add_trace(go.Scatter(x=steps.tolist(), y=_none_for_nan(vv), mode="lines+markers", name=name,
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
    fig.update_xaxes(autorange="reversed", **_log_t_axis(int(t.max())), row=1, col=1)
    fig.update_xaxes(title=f"reverse steps taken from t = {int(t.max())}", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_layout(title=(title or "A reverse chain that knows x<sub>0</sub> must retrace the forward process") +
                      "<br><sup>exact posterior steps against the slips; a line ends where its chain overflows</sup>",
                      legend=dict(orientation="h", x=0, y=-0.22, yanchor="top"))
    return style(fig, height=500).update_layout(margin=dict(t=100, b=90))


# ----------------------------------------------------------------------------- the band


def variance_band_figure(timesteps, log_beta, log_beta_tilde, log_var_quantiles, best_log_var, v_quantiles,
                         best_v, *, position_max_t: int | None = None, title: str | None = None):
    """The learned-range band over t (log axis of t + 1, ticks labelled t) and where a trained model sits
    in it, with a dropdown over three views: ln Sigma itself, ln Sigma - ln beta_t (the band's bottom
    edge is then ln(beta-tilde_t / beta_t), which goes to 0), and the position v in the band (the
    weight of IDDPM eq. 15: 0 at beta-tilde_t, 1 at beta_t).

    `log_var_quantiles`, `v_quantiles`: (n_t, 3), the 10th, 50th and 90th percentile over the
    pixels of real images; `best_log_var`, `best_v`: (n_t,) the best single variance Sigma* (NaN where undefined: a gap).
    `position_max_t`: the position view stops there (beyond, the band is too thin for a position to mean much).
    """
    import plotly.graph_objects as go

    t = np.asarray(timesteps)
    n = len(t)
    lb, lbt = _arr("log_beta", log_beta, 1, n), _arr("log_beta_tilde", log_beta_tilde, 1, n)
    lq, fq = _arr("log_var_quantiles", log_var_quantiles, 2, n), _arr("v_quantiles", v_quantiles, 2, n)
    if lq.shape[1] != 3 or fq.shape[1] != 3:
        raise ValueError("the quantile arrays must have shape (n_t, 3): 10th, 50th, 90th percentile.")
    blv, bf = _arr("best_log_var", best_log_var, 1, n), _arr("best_v", best_v, 1, n)
    if (lbt > lb + 1e-9).any():
        raise ValueError("log_beta_tilde must not exceed log_beta (beta-tilde_t <= beta_t).")
    keep = t <= (position_max_t if position_max_t is not None else t.max())
    x = (t + 1).tolist()
    xk = (t[keep] + 1).tolist()

    views = {
        "ln Σ": dict(top=lb, bottom=lbt, q=lq, best=blv, x=x, ytitle="ln Σ (natural log of a variance)"),
        "ln Σ − ln β_t": dict(top=lb - lb, bottom=lbt - lb, q=lq - lb[:, None], best=blv - lb, x=x,
                              ytitle="ln Σ − ln β<sub>t</sub> (0 is β<sub>t</sub>)"),
        "position in the band": dict(top=np.ones(keep.sum()), bottom=np.zeros(keep.sum()), q=fq[keep],
                                     best=bf[keep], x=xk, ytitle="v (0: β̃<sub>t</sub>, 1: β<sub>t</sub>)"),
    }

    def ys(v):
        return [_none_for_nan(a, 5) for a in (v["top"], v["bottom"], v["q"][:, 2], v["q"][:, 0], v["q"][:, 1],
                                                v["best"])]

    first = views["ln Σ"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=ys(first)[0], mode="lines", name="top: β<sub>t</sub> (v = 1)",
                             line=dict(color=LARGE, width=2), customdata=t.tolist(),
                             hovertemplate="t = %{customdata}: %{y:.5g}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=ys(first)[1], mode="lines", name="bottom: β̃<sub>t</sub> (v = 0)",
                             line=dict(color=SMALL, width=2), fill="tonexty", fillcolor=BAND, customdata=t.tolist(),
                             hovertemplate="t = %{customdata}: %{y:.5g}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=ys(first)[2], mode="lines", line=dict(width=0, color=LEARNED),
                             showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=ys(first)[3], mode="lines", line=dict(width=0, color=LEARNED),
                             fill="tonexty", fillcolor="rgba(37, 99, 235, 0.30)",
                             name="trained model: 10th to 90th percentile over pixels", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=ys(first)[4], mode="lines+markers", name="trained model: median",
                             line=dict(color=LEARNED, width=3), marker=dict(size=5), customdata=t.tolist(),
                             hovertemplate="t = %{customdata}: median %{y:.5g}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=ys(first)[5], mode="lines", name="best single variance Σ*",
                             line=dict(color=BEST, width=2, dash="dash"), customdata=t.tolist(),
                             hovertemplate="t = %{customdata}: Σ* at %{y:.5g}<extra></extra>"))

    def heading(label):
        return (title or "The band of the learned variance, and where the trained model sits in it") + \
            f"<br><sup>view: {label}; between β̃<sub>t</sub> (bottom) and β<sub>t</sub> (top); real test digits</sup>"

    buttons = []
    for label, v in views.items():
        xs = [v["x"]] * 6
        buttons.append(dict(label=label, method="update",
                            args=[{"x": xs, "y": ys(v)}, {"title.text": heading(label), "yaxis.title.text": v["ytitle"],
                                                          "yaxis.autorange": True}]))
    fig.update_layout(title=heading("ln Σ"), xaxis=_log_t_axis(int(t.max())), yaxis=dict(title=first["ytitle"]),
                      legend=dict(orientation="h", x=0, y=-0.2, yanchor="top"))
    style(fig, height=580).update_layout(margin=dict(b=60))
    _title_above_menu(fig, [dict(type="dropdown", buttons=buttons, showactive=True)], top=132)
    return fig


def band_maps_figure(timesteps, x0, x_t, v, *, labels: Sequence[str] | None = None, title: str | None = None,
                     active: int = 0):
    """Per-pixel maps, one column per image: x_0 (top), x_t (middle) and the model's position in the
    band v (bottom, 0 = beta-tilde_t, 1 = beta_t), with a slider over the timestep t (array index).

    `x0`: (n, H, W); `x_t`, `v`: (n_t, n, H, W).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    x0 = _arr("x0", x0, 3)
    xt, fr = _arr("x_t", x_t, 4), _arr("v", v, 4)
    t = list(timesteps)
    if xt.shape != fr.shape or xt.shape[1:] != x0.shape or len(t) != len(xt):
        raise ValueError(f"x_t and v must have shape (n_t, n, H, W) = ({len(t)}, *{x0.shape}), got {xt.shape} "
                         f"and {fr.shape}.")
    n = x0.shape[0]
    labels = list(labels) if labels is not None else [f"image {i + 1}" for i in range(n)]
    fig = make_subplots(rows=3, cols=n, horizontal_spacing=0.01, vertical_spacing=0.04,
                        row_titles=["x<sub>0</sub>", "x<sub>t</sub>", "v"], column_titles=labels)
    gray = [[0, "#000000"], [1, "#ffffff"]]
    for j in range(n):
        fig.add_trace(go.Heatmap(z=rounded(x0[j], 3), colorscale=gray, zmin=-1, zmax=1, showscale=False,
                                 hovertemplate="x<sub>0</sub> = %{z:.3f}<extra></extra>"), row=1, col=j + 1)
    for j in range(n):
        fig.add_trace(go.Heatmap(z=rounded(xt[active, j], 3), colorscale=gray, zmin=-1.5, zmax=1.5,
                                 showscale=False, hovertemplate="x<sub>t</sub> = %{z:.3f}<extra></extra>"),
                      row=2, col=j + 1)
    for j in range(n):
        fig.add_trace(go.Heatmap(z=rounded(fr[active, j], 3), colorscale="Viridis", zmin=0, zmax=1,
                                 showscale=j == 0, colorbar=dict(title="v", thickness=12, len=0.32, y=0.15),
                                 hovertemplate="v = %{z:.3f}<extra></extra>"), row=3, col=j + 1)

    def heading(k):
        return (title or "Where the model is unsure: its position in the band, pixel by pixel") + \
            f"<br><sup>t = {t[k]}; v = 0: β̃<sub>t</sub> (sure of the pixel), v = 1: β<sub>t</sub> (unsure); " \
            f"median v {np.median(fr[k]):.2f}</sup>"

    idx = list(range(n, 3 * n))
    steps = [dict(label=str(tk), method="update",
                  args=[{"z": [rounded(xt[k, j], 3) for j in range(n)] + [rounded(fr[k, j], 3) for j in range(n)]},
                        {"title.text": heading(k)}, idx]) for k, tk in enumerate(t)]
    row_names = {"x<sub>0</sub>", "x<sub>t</sub>", "v"}
    fig.for_each_annotation(lambda a: a.update(textangle=0, xanchor="left") if a.text in row_names else None)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, showline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, showline=False, autorange="reversed")
    for r in range(3):                                                 # square pixels
        for j in range(n):
            k = r * n + j + 1
            fig.update_yaxes(scaleanchor="x" if k == 1 else f"x{k}", constrain="domain", row=r + 1, col=j + 1)
    fig.update_layout(title=heading(active),
                      sliders=[dict(active=active, currentvalue=dict(prefix="t (array index) = "), pad=dict(t=20),
                                    steps=steps)])
    return style(fig, height=560).update_layout(margin=dict(t=110, b=40, l=40, r=60))


# ----------------------------------------------------------------------------- the bound term against v


def vb_curves_figure(timesteps, v_grid, curves, learned, small, large, *, per_t=None, title: str | None = None,
                     active: int = 0):
    """Left: the mean bound term L_t (bits/dim) when every pixel gets the same weight v (x axis), at the
    timestep of the slider, with L_t of the model's own per-pixel v (dashed), beta-tilde_t (v = 0) and
    beta_t (v = 1) marked. Right: over all timesteps of `per_t` = (t, learned, small, large, best),
    each fixed choice's L_t divided by the learned one (above 1: the learned variance is better), with
    a marker at the slider's timestep.

    `curves`: (n_t, n_v); `learned`, `small`, `large`: (n_t,) mean L_t.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    t = list(timesteps)
    v = _arr("v_grid", v_grid, 1)
    c = _arr("curves", curves, 2, len(t))
    if c.shape[1] != len(v):
        raise ValueError(f"curves must have one column per value of v_grid ({len(v)}), got {c.shape[1]}.")
    lr, sm, lg = (_arr(n, a, 1, len(t)) for n, a in (("learned", learned), ("small", small), ("large", large)))
    fig = make_subplots(rows=1, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.12,
                        subplot_titles=["L<sub>t</sub> when every pixel gets the same v",
                                        "L<sub>t</sub> of a fixed choice ÷ L<sub>t</sub> learned"])

    def data(k):
        best = int(np.argmin(c[k]))
        return dict(x=[v.tolist(), [float(v[best])], [0.0, 1.0], [float(v[0]), float(v[-1])]],
                    y=[_sig(c[k]), _sig([c[k, best]]), _sig([sm[k], lg[k]]), _sig([lr[k], lr[k]])])

    d0 = data(active)
    fig.add_trace(go.Scatter(x=d0["x"][0], y=d0["y"][0], mode="lines", name="one v for every pixel",
                             line=dict(color="#1f2933", width=2),
                             hovertemplate="v = %{x:.2f}: L<sub>t</sub> = %{y:.5g} bits/dim<extra></extra>"),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=d0["x"][1], y=d0["y"][1], mode="markers", name="best single v",
                             marker=dict(color=BEST, size=11, symbol="diamond"),
                             hovertemplate="best v = %{x:.2f}: %{y:.5g}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=d0["x"][2], y=d0["y"][2], mode="markers",
                             name="fixed: β̃<sub>t</sub> (v = 0), β<sub>t</sub> (v = 1)",
                             marker=dict(color=[SMALL, LARGE], size=11),
                             hovertemplate="v = %{x:.0f}: %{y:.5g}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=d0["x"][3], y=d0["y"][3], mode="lines", name="the model's own v, pixel by pixel",
                             line=dict(color=LEARNED, width=2, dash="dash"),
                             hovertemplate="learned: %{y:.5g}<extra></extra>"), row=1, col=1)
    n_left = 4
    marker_idx = []
    if per_t is not None:
        pt, plr, psm, plg, pbest = (np.asarray(a, dtype=np.float64) for a in per_t)
        for name, num, color in (("β̃<sub>t</sub> ÷ learned", psm, SMALL), ("β<sub>t</sub> ÷ learned", plg, LARGE),
                                 ("best single v ÷ learned", pbest, BEST)):
            fig.add_trace(go.Scatter(x=(pt + 1).tolist(), y=_sig(num / plr), mode="lines", name=name,
                                     line=dict(color=color, width=2), showlegend=False, customdata=pt.tolist(),
                                     hovertemplate=f"{name}<br>t = %{{customdata}}: %{{y:.4f}}<extra></extra>"),
                          row=1, col=2)
        fig.add_hline(y=1.0, line=dict(color="#9aa5b1", width=1, dash="dot"), row=1, col=2)

        def marker(k):
            j = int(np.argmin(np.abs(pt - t[k])))
            return dict(x=[[float(pt[j] + 1)] * 3], y=[_sig([psm[j] / plr[j], plg[j] / plr[j], pbest[j] / plr[j]])])

        m0 = marker(active)
        fig.add_trace(go.Scatter(x=m0["x"][0], y=m0["y"][0], mode="markers", showlegend=False,
                                 marker=dict(color=[SMALL, LARGE, BEST], size=10, line=dict(color="#1f2933", width=1)),
                                 hovertemplate="%{y:.4f}<extra></extra>"), row=1, col=2)
        marker_idx = [n_left + 3]
        fig.update_xaxes(**_log_t_axis(int(pt.max())), row=1, col=2)
        fig.update_yaxes(title="ratio of L<sub>t</sub>", row=1, col=2)

    def heading(k):
        best = float(v[int(np.argmin(c[k]))])
        return (title or "The bound term against the variance value v") + \
            f"<br><sup>t = {t[k]}: learned {lr[k]:.4g}, best single v = {best:.2f}: {c[k].min():.4g}, " \
            f"β̃<sub>t</sub>: {sm[k]:.4g}, β<sub>t</sub>: {lg[k]:.4g} bits/dim</sup>"

    def yrange(k):
        lo = min(c[k].min(), lr[k])
        hi = max(sm[k], lg[k], lr[k], lo * 1.02)
        span = hi - lo
        return [lo - 0.08 * span, hi + 0.25 * span]

    steps = []
    for k, tk in enumerate(t):
        d = data(k)
        xs, ys_ = list(d["x"]), list(d["y"])
        if marker_idx:
            m = marker(k)
            xs += m["x"]
            ys_ += m["y"]
        steps.append(dict(label=str(tk), method="update",
                          args=[{"x": xs, "y": ys_}, {"title.text": heading(k), "yaxis.range": yrange(k)},
                                list(range(n_left)) + marker_idx]))
    fig.update_xaxes(title="v (0: β̃<sub>t</sub>, 1: β<sub>t</sub>)", row=1, col=1)
    fig.update_yaxes(title="mean L<sub>t</sub> (bits per dimension)", range=yrange(active), row=1, col=1)
    fig.update_layout(title=heading(active),
                      sliders=[dict(active=active, currentvalue=dict(prefix="t (array index) = "), pad=dict(t=60),
                                    steps=steps)],
                      legend=dict(orientation="h", x=0, y=-0.62, yanchor="top"))
    return style(fig, height=640).update_layout(margin=dict(t=100, b=150))


# ----------------------------------------------------------------------------- the decoder


def decoder_figure(levels, probs, means, sigmas, x0, *, names: Sequence[str] | None = None, window: int = 10,
                   title: str | None = None):
    """The discretised decoder p(x_0 | x_1) of a few pixels: the probability of each of the 256 bins
    near the predicted mean (bars; the bin nearest the true x_0 highlighted) against the Gaussian density
    times the bin width (line), with a dropdown over the pixels.

    `levels`: (256,) bin centres; `probs`: (n_pix, 256); `means`, `sigmas`, `x0`: (n_pix,).
    """
    import plotly.graph_objects as go

    lv = _arr("levels", levels, 1)
    p = _arr("probs", probs, 2)
    if p.shape[1] != len(lv):
        raise ValueError(f"probs must have one column per level ({len(lv)}), got {p.shape[1]}.")
    mu, sd, x = (_arr(n, a, 1, len(p)) for n, a in (("means", means), ("sigmas", sigmas), ("x0", x0)))
    names = list(names) if names is not None else [f"pixel {i + 1}" for i in range(len(p))]
    width = float(lv[1] - lv[0])

    def data(i):
        c = int(np.argmin(np.abs(lv - mu[i])))
        lo, hi = max(c - window, 0), min(c + window + 1, len(lv))
        own = int(np.argmin(np.abs(lv - x[i])))
        colors = [COLORWAY[1] if k == own else MONTE_CARLO for k in range(lo, hi)]
        fine = np.linspace(lv[lo] - width / 2, lv[hi - 1] + width / 2, 200)
        dens = np.exp(-0.5 * ((fine - mu[i]) / sd[i]) ** 2) / (sd[i] * np.sqrt(2 * np.pi)) * width
        return dict(bx=_sig(lv[lo:hi], 6), by=_sig(p[i, lo:hi], 5), colors=colors, lx=_sig(fine, 6), ly=_sig(dens, 5),
                    own=own)

    def heading(i):
        return (title or "The discretised decoder at t = 0") + \
            f"<br><sup>{names[i]}: x<sub>0</sub> = {x[i]:.4f}, predicted mean {mu[i]:.4f}, σ = {sd[i]:.4f}</sup>" \
            f"<br><sup>P(nearest bin) = {p[i, data(i)['own']]:.3f}; the 256 bins sum to {p[i].sum():.6f}</sup>"

    d0 = data(0)
    fig = go.Figure([
        go.Bar(x=d0["bx"], y=d0["by"], marker_color=d0["colors"], name="P(bin): Gaussian mass over the bin",
               hovertemplate="bin centre %{x:.4f}: P = %{y:.4f}<extra></extra>"),
        go.Scatter(x=d0["lx"], y=d0["ly"], mode="lines", name="density × bin width 2/255",
                   line=dict(color=POSTERIOR, width=2)),
    ])
    buttons = []
    for i in range(len(p)):
        d = data(i)
        buttons.append(dict(label=names[i], method="update",
                            args=[{"x": [d["bx"], d["lx"]], "y": [d["by"], d["ly"]], "marker.color": [d["colors"], None]},
                                  {"title.text": heading(i)}]))
    fig.update_layout(title=heading(0), bargap=0.05,
                      xaxis=dict(title="x<sub>0</sub>: bin centres of the 8-bit grid (width 2/255)"),
                      yaxis=dict(title="probability"),
                      legend=dict(orientation="h", x=0, y=-0.2, yanchor="top"))
    style(fig, height=500).update_layout(margin=dict(b=60))
    _title_above_menu(fig, [dict(type="dropdown", buttons=buttons, showactive=True)], top=148)
    return fig


# ----------------------------------------------------------------------------- the live widget's picture


def explorer_mpl(v_grid, curve, v: float, vb_at_v: float, learned: float, x_t, v_maps, *, title: str = ""):
    """Matplotlib figure for the live variance widget: left, the mean L_t against one weight v for every
    pixel (0: beta-tilde_t, 1: beta_t), with the chosen v and the model's own L_t; right, x_t and the
    model's position in the band v for a few images. `x_t`, `v_maps`: (n, H, W). Returns a
    `matplotlib.figure.Figure` (no pyplot state)."""
    from matplotlib.figure import Figure

    vg, cv = _arr("v_grid", v_grid, 1), _arr("curve", curve, 1)
    if len(vg) != len(cv):
        raise ValueError(f"curve must have one value per v of v_grid ({len(vg)}), got {len(cv)}.")
    xt, fr = _arr("x_t", x_t, 3), _arr("v_maps", v_maps, 3)
    if xt.shape != fr.shape:
        raise ValueError(f"x_t and v_maps must have one shape, got {xt.shape} and {fr.shape}.")
    n = len(xt)
    fig = Figure(figsize=(10.0, 3.6), dpi=100, facecolor=PAPER)
    grid = fig.add_gridspec(2, n + 3, width_ratios=[3.2, 0.35] + [1] * n + [0.08])
    ax = fig.add_subplot(grid[:, 0])
    ax.plot(vg, cv, color="#1f2933", lw=2, label="one v for every pixel")
    ax.axhline(learned, color=LEARNED, ls="--", lw=1.5, label="the model's own v")
    ax.plot([v], [vb_at_v], "o", color=COLORWAY[3], ms=9, label=f"your v = {v:.2f}")
    k = int(np.argmin(cv))
    ax.plot([vg[k]], [cv[k]], "D", color=BEST, ms=7, label=f"best single v = {vg[k]:.2f}")
    for val, col in ((0.0, SMALL), (1.0, LARGE)):
        ax.axvline(val, color=col, lw=1, ls=":")
    ax.set_xlabel("v  (0: β̃_t, 1: β_t)", color=FONT["color"])
    ax.set_ylabel("mean L_t (bits/dim)", color=FONT["color"])
    ax.legend(fontsize=8, frameon=False)
    for j in range(n):
        a1 = fig.add_subplot(grid[0, j + 2])
        a1.imshow(xt[j], cmap="gray", vmin=-1.5, vmax=1.5, interpolation="nearest")
        a2 = fig.add_subplot(grid[1, j + 2])
        im = a2.imshow(fr[j], cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        for a in (a1, a2):
            a.set_xticks([])
            a.set_yticks([])
        if j == 0:
            a1.set_ylabel("x_t", fontsize=9, color=FONT["color"])
            a2.set_ylabel("v", fontsize=9, color=FONT["color"])
    fig.colorbar(im, cax=fig.add_subplot(grid[1, n + 2]))
    if title:
        fig.suptitle(title, fontsize=11, color=FONT["color"], x=0.02, ha="left")
    fig.tight_layout()
    return fig


__all__ = ["bayes_figure", "reverse_chain_figure", "variance_band_figure", "band_maps_figure", "vb_curves_figure",
           "decoder_figure", "explorer_mpl", "BAYES_KEYS"]

"""Figures for chapter 7, the band of the learned variance: where the trained model's variance
sits between beta-tilde_t and beta_t over t (`variance_band_figure`), pixel by pixel on real digits
(`band_maps_figure`), and the live widget's matplotlib picture (`explorer_mpl`).

Pure functions: arrays in, figures out; the numbers come from `dit_lib.variance`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..plotting import COLORWAY, FONT, PAPER, figure, menu, rounded, slider, step, subplots, subtitle
from .posterior import BAND, BEST, LARGE, LEARNED, SMALL, checked_array, log_t_axis, none_for_nan, title_above_menu


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
    lb, lbt = checked_array("log_beta", log_beta, 1, n), checked_array("log_beta_tilde", log_beta_tilde, 1, n)
    lq, fq = checked_array("log_var_quantiles", log_var_quantiles, 2, n), checked_array("v_quantiles", v_quantiles, 2, n)
    if lq.shape[1] != 3 or fq.shape[1] != 3:
        raise ValueError("the quantile arrays must have shape (n_t, 3): 10th, 50th, 90th percentile.")
    blv, bf = checked_array("best_log_var", best_log_var, 1, n), checked_array("best_v", best_v, 1, n)
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
        return [none_for_nan(a, 5) for a in (v["top"], v["bottom"], v["q"][:, 2], v["q"][:, 0], v["q"][:, 1],
                                                v["best"])]

    first = views["ln Σ"]
    fig = figure()
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
        return subtitle(title or "The band of the learned variance, and where the trained model sits in it",
                        f"view: {label}; between β̃<sub>t</sub> (bottom) and β<sub>t</sub> (top); real test digits")

    buttons = []
    for label, v in views.items():
        xs = [v["x"]] * 6
        buttons.append(step(label, {"x": xs, "y": ys(v)}, {"title.text": heading(label), "yaxis.title.text": v["ytitle"],
                            "yaxis.autorange": True}))
    fig.update_layout(title=heading("ln Σ"), xaxis=log_t_axis(int(t.max())), yaxis=dict(title=first["ytitle"]),
                      legend=dict(orientation="h", x=0, y=-0.2, yanchor="top"))
    fig.update_layout(height=580, margin=dict(b=60))
    title_above_menu(fig, [menu(buttons, showactive=True)], top=132)
    return fig


def band_maps_figure(timesteps, x0, x_t, v, *, labels: Sequence[str] | None = None, title: str | None = None,
                     active: int = 0):
    """Per-pixel maps, one column per image: x_0 (top), x_t (middle) and the model's position in the
    band v (bottom, 0 = beta-tilde_t, 1 = beta_t), with a slider over the timestep t (array index).

    `x0`: (n, H, W); `x_t`, `v`: (n_t, n, H, W).
    """
    import plotly.graph_objects as go

    x0 = checked_array("x0", x0, 3)
    xt, fr = checked_array("x_t", x_t, 4), checked_array("v", v, 4)
    t = list(timesteps)
    if xt.shape != fr.shape or xt.shape[1:] != x0.shape or len(t) != len(xt):
        raise ValueError(f"x_t and v must have shape (n_t, n, H, W) = ({len(t)}, *{x0.shape}), got {xt.shape} "
                         f"and {fr.shape}.")
    n = x0.shape[0]
    labels = list(labels) if labels is not None else [f"image {i + 1}" for i in range(n)]
    fig = subplots(rows=3, cols=n, horizontal_spacing=0.01, vertical_spacing=0.04,
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
        return subtitle(title or "Where the model is unsure: its position in the band, pixel by pixel",
                        f"t = {t[k]}; v = 0: β̃<sub>t</sub> (sure of the pixel), v = 1: β<sub>t</sub> (unsure); "
                        f"median v {np.median(fr[k]):.2f}")

    idx = list(range(n, 3 * n))
    steps = [step(str(tk), {"z": [rounded(xt[k, j], 3) for j in range(n)] + [rounded(fr[k, j], 3) for j in range(n)]},
                  {"title.text": heading(k)}, idx) for k, tk in enumerate(t)]
    row_names = {"x<sub>0</sub>", "x<sub>t</sub>", "v"}
    fig.for_each_annotation(lambda a: a.update(textangle=0, xanchor="left") if a.text in row_names else None)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, showline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, showline=False, autorange="reversed")
    for r in range(3):                                                 # square pixels
        for j in range(n):
            k = r * n + j + 1
            fig.update_yaxes(scaleanchor="x" if k == 1 else f"x{k}", constrain="domain", row=r + 1, col=j + 1)
    fig.update_layout(title=heading(active),
                      sliders=[slider(steps, active=active, prefix="t (array index) = ", pad=20)])
    return fig.update_layout(height=560, margin=dict(t=110, b=40, l=40, r=60))


# ----------------------------------------------------------------------------- the live widget's picture


def explorer_mpl(v_grid, curve, v: float, vb_at_v: float, learned: float, x_t, v_maps, *, title: str = ""):
    """Matplotlib figure for the live variance widget: left, the mean L_t against one weight v for every
    pixel (0: beta-tilde_t, 1: beta_t), with the chosen v and the model's own L_t; right, x_t and the
    model's position in the band v for a few images. `x_t`, `v_maps`: (n, H, W). Returns a
    `matplotlib.figure.Figure` (no pyplot state)."""
    from matplotlib.figure import Figure

    vg, cv = checked_array("v_grid", v_grid, 1), checked_array("curve", curve, 1)
    if len(vg) != len(cv):
        raise ValueError(f"curve must have one value per v of v_grid ({len(vg)}), got {len(cv)}.")
    xt, fr = checked_array("x_t", x_t, 3), checked_array("v_maps", v_maps, 3)
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


__all__ = ["variance_band_figure", "band_maps_figure", "explorer_mpl"]

"""Figures for chapter 7, the bound the variance is trained on: the bound term against the variance
value v, with the learned, small and large choices (`vb_curves_figure`), and the discretised
decoder at t = 0 (`decoder_figure`).

Pure functions: arrays in, figures out; the numbers come from `dit_lib.variance`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..plotting import COLORWAY, figure, menu, slider, step, subplots, subtitle
from .posterior import (BEST, LARGE, LEARNED, MONTE_CARLO, POSTERIOR, SMALL, checked_array, log_t_axis, significant,
                        title_above_menu)


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

    t = list(timesteps)
    v = checked_array("v_grid", v_grid, 1)
    c = checked_array("curves", curves, 2, len(t))
    if c.shape[1] != len(v):
        raise ValueError(f"curves must have one column per value of v_grid ({len(v)}), got {c.shape[1]}.")
    lr, sm, lg = (checked_array(n, a, 1, len(t)) for n, a in (("learned", learned), ("small", small), ("large", large)))
    fig = subplots(rows=1, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.12,
                   subplot_titles=["L<sub>t</sub> when every pixel gets the same v",
                                   "L<sub>t</sub> of a fixed choice ÷ L<sub>t</sub> learned"])

    def data(k):
        best = int(np.argmin(c[k]))
        return dict(x=[v.tolist(), [float(v[best])], [0.0, 1.0], [float(v[0]), float(v[-1])]],
                    y=[significant(c[k]), significant([c[k, best]]), significant([sm[k], lg[k]]), significant([lr[k], lr[k]])])

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
            fig.add_trace(go.Scatter(x=(pt + 1).tolist(), y=significant(num / plr), mode="lines", name=name,
                                     line=dict(color=color, width=2), showlegend=False, customdata=pt.tolist(),
                                     hovertemplate=f"{name}<br>t = %{{customdata}}: %{{y:.4f}}<extra></extra>"),
                          row=1, col=2)
        fig.add_hline(y=1.0, line=dict(color="#9aa5b1", width=1, dash="dot"), row=1, col=2)

        def marker(k):
            j = int(np.argmin(np.abs(pt - t[k])))
            return dict(x=[[float(pt[j] + 1)] * 3], y=[significant([psm[j] / plr[j], plg[j] / plr[j], pbest[j] / plr[j]])])

        m0 = marker(active)
        fig.add_trace(go.Scatter(x=m0["x"][0], y=m0["y"][0], mode="markers", showlegend=False,
                                 marker=dict(color=[SMALL, LARGE, BEST], size=10, line=dict(color="#1f2933", width=1)),
                                 hovertemplate="%{y:.4f}<extra></extra>"), row=1, col=2)
        marker_idx = [n_left + 3]
        fig.update_xaxes(**log_t_axis(int(pt.max())), row=1, col=2)
        fig.update_yaxes(title="ratio of L<sub>t</sub>", row=1, col=2)

    def heading(k):
        best = float(v[int(np.argmin(c[k]))])
        return subtitle(title or "The bound term against the variance value v",
                        f"t = {t[k]}: learned {lr[k]:.4g}, best single v = {best:.2f}: {c[k].min():.4g}, "
                        f"β̃<sub>t</sub>: {sm[k]:.4g}, β<sub>t</sub>: {lg[k]:.4g} bits/dim")

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
        steps.append(step(str(tk), {"x": xs, "y": ys_}, {"title.text": heading(k), "yaxis.range": yrange(k)},
                          list(range(n_left)) + marker_idx))
    fig.update_xaxes(title="v (0: β̃<sub>t</sub>, 1: β<sub>t</sub>)", row=1, col=1)
    fig.update_yaxes(title="mean L<sub>t</sub> (bits per dimension)", range=yrange(active), row=1, col=1)
    fig.update_layout(title=heading(active),
                      sliders=[slider(steps, active=active, prefix="t (array index) = ", pad=60)],
                      legend=dict(orientation="h", x=0, y=-0.62, yanchor="top"))
    return fig.update_layout(height=640, margin=dict(t=100, b=150))


# ----------------------------------------------------------------------------- the decoder


def decoder_figure(levels, probs, means, sigmas, x0, *, names: Sequence[str] | None = None, window: int = 10,
                   title: str | None = None):
    """The discretised decoder p(x_0 | x_1) of a few pixels: the probability of each of the 256 bins
    near the predicted mean (bars; the bin nearest the true x_0 highlighted) against the Gaussian density
    times the bin width (line), with a dropdown over the pixels.

    `levels`: (256,) bin centres; `probs`: (n_pix, 256); `means`, `sigmas`, `x0`: (n_pix,).
    """
    import plotly.graph_objects as go

    lv = checked_array("levels", levels, 1)
    p = checked_array("probs", probs, 2)
    if p.shape[1] != len(lv):
        raise ValueError(f"probs must have one column per level ({len(lv)}), got {p.shape[1]}.")
    mu, sd, x = (checked_array(n, a, 1, len(p)) for n, a in (("means", means), ("sigmas", sigmas), ("x0", x0)))
    names = list(names) if names is not None else [f"pixel {i + 1}" for i in range(len(p))]
    width = float(lv[1] - lv[0])

    def data(i):
        c = int(np.argmin(np.abs(lv - mu[i])))
        lo, hi = max(c - window, 0), min(c + window + 1, len(lv))
        own = int(np.argmin(np.abs(lv - x[i])))
        colors = [COLORWAY[1] if k == own else MONTE_CARLO for k in range(lo, hi)]
        fine = np.linspace(lv[lo] - width / 2, lv[hi - 1] + width / 2, 200)
        dens = np.exp(-0.5 * ((fine - mu[i]) / sd[i]) ** 2) / (sd[i] * np.sqrt(2 * np.pi)) * width
        return dict(bx=significant(lv[lo:hi], 6), by=significant(p[i, lo:hi], 5), colors=colors,
                    lx=significant(fine, 6), ly=significant(dens, 5),
                    own=own)

    def heading(i):
        return subtitle(title or "The discretised decoder at t = 0",
                        f"{names[i]}: x<sub>0</sub> = {x[i]:.4f}, predicted mean {mu[i]:.4f}, σ = {sd[i]:.4f}",
                        f"P(nearest bin) = {p[i, data(i)['own']]:.3f}; the 256 bins sum to {p[i].sum():.6f}")

    d0 = data(0)
    fig = figure([
        go.Bar(x=d0["bx"], y=d0["by"], marker_color=d0["colors"], name="P(bin): Gaussian mass over the bin",
               hovertemplate="bin centre %{x:.4f}: P = %{y:.4f}<extra></extra>"),
        go.Scatter(x=d0["lx"], y=d0["ly"], mode="lines", name="density × bin width 2/255",
                   line=dict(color=POSTERIOR, width=2)),
    ])
    buttons = []
    for i in range(len(p)):
        d = data(i)
        buttons.append(step(names[i],
                            {"x": [d["bx"], d["lx"]], "y": [d["by"], d["ly"]], "marker.color": [d["colors"], None]},
                            {"title.text": heading(i)}))
    fig.update_layout(title=heading(0), bargap=0.05,
                      xaxis=dict(title="x<sub>0</sub>: bin centres of the 8-bit grid (width 2/255)"),
                      yaxis=dict(title="probability"),
                      legend=dict(orientation="h", x=0, y=-0.2, yanchor="top"))
    fig.update_layout(height=500, margin=dict(b=60))
    title_above_menu(fig, [menu(buttons, showactive=True)], top=148)
    return fig


__all__ = ["vb_curves_figure", "decoder_figure"]

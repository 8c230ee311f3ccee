"""Figures for chapter 8, the EMA of the weights: how much each recipe's average weighs the last
steps (`ema_profile_figure`) and what the initial model still contributes, with samples
(`init_share_figure`).

Pure functions: numbers and tensors in, figures out.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..plotting import COLORWAY, rounded, slider, step, subplots, subtitle
from .training import GAP, RECIPE_COLORS, SCALE, check_same_len, picture


# ----------------------------------------------------------------------------- the EMA


def ema_profile_figure(n_grid: Sequence[int], recipes: Mapping[str, Mapping[str, Sequence[float]]], n_final: int, *,
                       title: str | None = None):
    """How an EMA weighs the past, one colour per recipe (e.g. fixed 0.999, fixed 0.9999, warm-up).

    Left: the share of the initial weights theta_0 left in the average after n updates (log scale).
    Right: the weight of each iterate theta_k (k = 0..n_final) in the average after n_final updates.
    `recipes`: name -> {"share": values over n_grid, "weights": n_final + 1 values}.
    """
    import plotly.graph_objects as go

    if not recipes:
        raise ValueError("recipes is empty; pass {name: {'share': ..., 'weights': ...}}.")
    for name, r in recipes.items():
        if len(r["share"]) != len(n_grid):
            raise ValueError(f"recipe {name!r}: share has {len(r['share'])} values for {len(n_grid)} steps.")
        if len(r["weights"]) != n_final + 1:
            raise ValueError(f"recipe {name!r}: weights must hold n_final + 1 = {n_final + 1} values "
                             f"(theta_0 .. theta_n), got {len(r['weights'])}.")
    fig = subplots(rows=1, cols=2, horizontal_spacing=0.15,
                   subplot_titles=["share of θ₀ left in the EMA", f"weight of each θₖ after {n_final:,} updates"])
    floor = 1e-300                                   # a share that underflows to 0 is drawn off the axis
    for i, (name, r) in enumerate(recipes.items()):
        color = RECIPE_COLORS[i % len(RECIPE_COLORS)]
        share = np.maximum(np.asarray(r["share"], dtype=np.float64), floor)
        w = np.maximum(np.asarray(r["weights"], dtype=np.float64), floor)
        fig.add_trace(go.Scatter(x=list(map(int, n_grid)), y=[float(f"{v:.4g}") for v in share], mode="lines",
                                 name=name, legendgroup=name, line=dict(color=color, width=2),
                                 hovertemplate=f"{name}<br>after %{{x}} updates: %{{y:.3g}}<extra></extra>"),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=list(range(1, n_final + 1)), y=[float(f"{v:.4g}") for v in w[1:]], mode="lines",
                                 name=name, legendgroup=name, showlegend=False, line=dict(color=color, width=2),
                                 hovertemplate=f"{name}<br>θ_%{{x}}: weight %{{y:.3g}}<extra></extra>"),
                      row=1, col=2)
        fig.add_trace(go.Scatter(x=[0], y=[float(f"{w[0]:.4g}")], mode="markers", name=name, legendgroup=name,
                                 showlegend=False, marker=dict(color=color, size=10, symbol="diamond"),
                                 hovertemplate=f"{name}<br>θ₀ (the random start): weight %{{y:.3g}}<extra></extra>"),
                      row=1, col=2)
    fig.add_vline(x=n_final, line=dict(color="#9aa5b1", dash="dash"), row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", title_text="share of θ₀", row=1, col=1, range=[-32, 0.5])
    fig.update_yaxes(type="log", exponentformat="power", title_text="weight", title_standoff=4, row=1, col=2,
                     range=[-8, 0.1])
    fig.add_annotation(x=0, y=-0.28, xref="x2", yref="y2", text="θ₀", showarrow=False, xanchor="left",
                       xshift=10, font=dict(size=12))
    fig.update_xaxes(title_text="EMA updates n (log scale)", type="log", row=1, col=1)
    fig.update_xaxes(title_text="iterate k (training step)", row=1, col=2)
    fig.update_layout(title=subtitle(title or "What an exponential moving average remembers",
                                     "θ_EMA ← d θ_EMA + (1 − d) θ after every step; the weights sum to 1"),
                      legend=dict(orientation="h", y=-0.2, yanchor="top", x=0))
    return fig.update_layout(height=470, margin=dict(t=100, b=110))


def init_share_figure(names: Sequence[str], shares: Sequence[float], samples: Mapping[str, torch.Tensor],
                      accuracy: Sequence[float], *, class_names: Sequence[str] | None = None, active: int = 0,
                      title: str | None = None):
    """Samples of a trained model whose weights have a share s of the initial weights mixed in,
    (1 - s) theta_trained + s theta_0, with a slider over the settings; right: the judge's accuracy
    against s, with the slider's setting marked.

    `samples`: name -> (N, C, H, W) in [-1, 1], sample i of class i % len(class_names) (ten columns
    for ten classes); `accuracy`: the judge's accuracy per setting.
    """
    import plotly.graph_objects as go

    n = check_same_len(names=names, shares=shares, accuracy=accuracy)
    if set(names) != set(samples):
        raise ValueError(f"samples must hold one entry per name in {list(names)}, got {list(samples)}.")
    if not 0 <= active < n:
        raise ValueError(f"active must index the {n} settings, got {active}.")
    per_row = len(class_names) if class_names else 10
    pics = {k: picture(samples[k], per_row) for k in names}
    H = samples[names[0]].shape[-1]
    x_mid = [GAP + j * (H * SCALE + GAP) + H * SCALE / 2 for j in range(per_row)]
    fig = subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.1,
                   subplot_titles=["samples (one column per class asked for)", "judge accuracy on the samples"])
    fig.add_trace(go.Image(source=pics[names[active]][0], hoverinfo="skip"), row=1, col=1)
    pct = [100 * float(s) for s in shares]
    fig.add_trace(go.Scatter(x=rounded(pct, 3), y=rounded(np.asarray(accuracy) * 100, 2), mode="lines+markers",
                             text=list(names), line=dict(color=COLORWAY[0], width=2), marker=dict(size=8),
                             showlegend=False,
                             hovertemplate="%{text}<br>θ₀ share %{x:.2f} %: accuracy %{y:.0f} %<extra></extra>"),
                  row=1, col=2)

    chance = 100 / per_row

    def marks(k):
        return [dict(type="line", xref="x2", yref="y2 domain", x0=pct[k], x1=pct[k], y0=0, y1=1,
                     line=dict(color=COLORWAY[1], width=2, dash="dash")),
                dict(type="line", xref="x2 domain", yref="y2", x0=0, x1=1, y0=chance, y1=chance,
                     line=dict(color="#9aa5b1", width=1.5, dash="dot"),
                     label=dict(text="guessing", textposition="end", font=dict(size=10, color="#52606d")))]

    def heading(k):
        return subtitle(title or "A share of the initial weights in the average",
                        f"{names[k]}: {pct[k]:.3g} % of θ₀ mixed in; judge accuracy {100 * accuracy[k]:.0f} %")

    fig.update_layout(title=heading(active), shapes=marks(active),
                      sliders=[slider([step(names[k], {"source": [pics[names[k]][0]]},
                                       {"title.text": heading(k), "shapes": marks(k)}, [0])
                                      for k in range(n)], active=active, prefix="setting: ", pad=40, x=0.06, len=0.88)])
    fig.update_xaxes(tickvals=x_mid, ticktext=list(class_names) if class_names else [str(j) for j in range(per_row)],
                     showgrid=False, zeroline=False, side="top", row=1, col=1)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, row=1, col=1)
    fig.update_xaxes(title_text="share of θ₀ in the weights (%)", range=[-3, max(pct) * 1.25 + 3], row=1, col=2)
    fig.update_yaxes(title_text="accuracy (%)", range=[0, 105], row=1, col=2)
    return fig.update_layout(height=520, margin=dict(t=110, b=60))


__all__ = ["ema_profile_figure", "init_share_figure"]

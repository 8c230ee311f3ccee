"""Figures for chapter 1, where a token sits: the 2D sin-cos position table (`pos_embed_figure`)
and the similarity of one token's position embedding with every other (`position_similarity_figure`).

Pure functions: tensors in, figures out.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..plotting import figure, menu, rounded, slider, step, subtitle


# ----------------------------------------------------------------------------- position table (plotly)


def pos_embed_figure(table: torch.Tensor, grid: tuple[int, int], *, title: str | None = None):
    """Heatmap of an (L, D) 2D sin-cos position table, with a dropdown for the order of the rows:
    reading order (row by row, as the model sees them) or column by column.

    In reading order the second half (the image row) is constant over runs of w tokens; in
    column order the first half is: it is the half that encodes the column.
    """
    import plotly.graph_objects as go

    h, w = grid
    L, D = table.shape
    if L != h * w:
        raise ValueError(f"table has {L} rows but grid {grid} has h * w = {h * w} tokens.")
    z = table.detach().float().cpu().numpy()
    k = np.arange(L)
    orders = {  # label -> (token shown on each line of the heatmap, y ticks)
        "reading order (row by row)": (k, dict(tickvals=list(range(0, L, w)),
                                               ticktext=[f"row {r} (token {r * w})" for r in range(h)])),
        "column by column": ((k % h) * w + k // h, dict(tickvals=list(range(0, L, h)),
                                                          ticktext=[f"column {c} (token {c})" for c in range(w)])),
    }
    fig = figure()
    for i, (label, (order, _)) in enumerate(orders.items()):
        fig.add_trace(go.Heatmap(
            z=rounded(z[order], 2), colorscale="RdBu_r", zmin=-1, zmax=1, visible=i == 0,
            colorbar=dict(title="value", thickness=12), name=label,
            hovertemplate="line %{y} of the heatmap<br>feature %{x}: %{z:.2f}<extra></extra>"))
    fig.add_vline(x=D / 2 - 0.5, line=dict(color="#1f2933", width=2, dash="dash"))
    fig.add_annotation(x=D / 4, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                       text="first half: the <b>column</b> c (x)")
    fig.add_annotation(x=3 * D / 4, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                       text="second half: the <b>row</b> r (y)")
    buttons = []
    for i, (label, (_, ticks)) in enumerate(orders.items()):
        buttons.append(step("tokens in " + label, {"visible": [j == i for j in range(len(orders))]},
                            {"yaxis.tickvals": ticks["tickvals"], "yaxis.ticktext": ticks["ticktext"],
                            "yaxis.title.text": f"tokens, {label}"}))
    first = next(iter(orders.values()))[1]
    fig.update_layout(
        title=title or f"The 2D sin-cos position table: L = {L} tokens ({h}x{w} grid) x D = {D}",
        xaxis_title="feature j",
        yaxis=dict(title=f"tokens, {next(iter(orders))}", autorange="reversed", **first),
        updatemenus=[menu(buttons, x=1.0, xanchor="right", y=1.1, yanchor="bottom")])
    return fig.update_layout(height=600, margin=dict(t=110, l=150))


def position_similarity_figure(table: torch.Tensor, grid: tuple[int, int], tokens: Sequence[int] | None = None,
                               *, title: str | None = None):
    """Cosine similarity of one token's position embedding with every token, drawn over the grid,
    with a slider over the reference token (default: every other row and column of the grid).

    One heatmap whose values each slider step replaces, and a red square (a layout shape) on the
    reference token.
    """
    import plotly.graph_objects as go

    h, w = grid
    L, D = table.shape
    if L != h * w:
        raise ValueError(f"table has {L} rows but grid {grid} has h * w = {h * w} tokens.")
    if tokens is None:
        tokens = [r * w + c for r in range(0, h, 2) for c in range(0, w, 2)]
    tokens = list(tokens)
    if not tokens or min(tokens) < 0 or max(tokens) >= L:
        raise ValueError(f"tokens must be a non-empty list of indices in 0..{L - 1}, got {tokens!r}.")
    e = table.detach().double().cpu()
    e = e / e.norm(dim=1, keepdim=True)
    sim = (e @ e.T).float().numpy()                                    # (L, L)
    lo = float(np.floor(sim.min() * 100) / 100)

    def z(k):
        return rounded(sim[k].reshape(h, w), 3)

    def square(k):
        r, c = divmod(k, w)
        return dict(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line=dict(color="#dc2626", width=3))

    def heading(k):
        r, c = divmod(k, w)
        return subtitle(title or f"Cosine similarity of token {k}'s position embedding (row {r}, column {c}) with every token",
                        f"D = {D}, {h}x{w} grid; the red square marks token {k}")

    fig = figure(go.Heatmap(z=z(tokens[0]), zmin=lo, zmax=1, colorscale="Viridis",
                            colorbar=dict(title="cos", thickness=12),
                            hovertemplate="row %{y}, column %{x}<br>cos similarity %{z:.3f}<extra></extra>"))
    steps = []
    for k in tokens:
        r, c = divmod(k, w)
        steps.append(step(f"{k}", {"z": [z(k)]}, {"title.text": heading(k), "shapes": [square(k)]}, [0]))
    fig.update_layout(title=heading(tokens[0]), shapes=[square(tokens[0])],
                      sliders=[slider(steps, active=0, prefix="reference token k = ", pad=30, names=True)],
                      xaxis=dict(title="column c", constrain="domain", range=[-0.5, w - 0.5], dtick=max(1, w // 8)),
                      yaxis=dict(title="row r", scaleanchor="x", range=[h - 0.5, -0.5], constrain="domain",
                                 dtick=max(1, h // 8)))
    return fig.update_layout(height=600)


__all__ = ["pos_embed_figure", "position_similarity_figure"]

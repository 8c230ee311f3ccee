"""Figures for chapter 3, one query patch over the image: its row of the attention matrix on the
patch grid, layer by layer and head by head, next to the clean and the noisy image (`query_maps_figure`),
and the same picture in matplotlib for the live widget (`attention_mpl`).

Pure functions: tensors in, figures out. The attention matrices themselves are drawn by
`viz.attention`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..plotting import (FONT, GRID_LINE, PAPER, as_numpy, frame_axes, grid_lines, rounded, slider, step, subplots,
                        subtitle, to_rgb_uint8)
from .attention import COLORSCALE, OUTLINE_COLOR, QUERY_COLOR, check_maps, default_zmax, square_axes


# ----------------------------------------------------------------------------- one query over the image


def _outline(x0: torch.Tensor, p: int):
    """x, y, z of a contour trace that outlines the clean image on the patch grid (level: mid-gray)."""
    img = as_numpy(x0)
    z = img.max(0) if img.shape[0] > 1 else img[0]           # (H, W); for colour, the brightest channel
    H, W = z.shape
    xs = (np.arange(W) + 0.5) / p - 0.5                       # pixel centres in grid coordinates
    ys = (np.arange(H) + 0.5) / p - 0.5
    return xs, ys, z


def query_maps_figure(x0, xs, maps, timesteps: Sequence[int], grid: tuple[int, int], patch_size: int, *,
                      queries: Sequence[int] | None = None, active_t: int = 0, active_query: int | None = None,
                      zmax: float | None = None, title: str | None = None):
    """Where one query patch looks: its row of the attention matrix on the patch grid, for every layer
    (rows) and head (columns), next to the clean image x0 and the noisy input x_t.

    Two sliders: the timestep (switches which traces are visible) and the query patch (rewrites the
    maps' values and moves the red frame). The white line on every map outlines the clean image.
    x0 (C, H, W); xs (n_t, C, H, W); maps (n_t, depth, h, L, L); grid (H/p, W/p).
    """
    import plotly.graph_objects as go

    m = as_numpy(maps)
    n_t = len(timesteps)
    depth, h, L = check_maps(m, n_t)
    gh, gw = grid
    if gh * gw != L:
        raise ValueError(f"grid {tuple(grid)} has {gh * gw} cells but the maps have L = {L} tokens.")
    if len(xs) != n_t:
        raise ValueError(f"xs has {len(xs)} images but there are {n_t} timesteps; give one x_t per t.")
    H, W = x0.shape[-2:]
    p = patch_size
    if (H, W) != (gh * p, gw * p):
        raise ValueError(f"image {H}x{W} does not match grid {tuple(grid)} with patch size {p}.")
    queries = list(range(L)) if queries is None else list(queries)
    if not queries or min(queries) < 0 or max(queries) >= L:
        raise ValueError(f"queries must be token indices in 0..{L - 1}, got {queries!r}.")
    active_query = queries[len(queries) // 2] if active_query is None else active_query
    if active_query not in queries:
        raise ValueError(f"active_query {active_query} is not among the queries {queries}.")
    zmax = default_zmax(m) if zmax is None else zmax

    cols = h + 1
    rows = max(depth, 2)
    top = rows // 2                               # x0 spans the top rows of column 1, x_t the others
    xt_row = top + 1
    specs = [[None] + [{} if r < depth else None for _ in range(h)] for r in range(rows)]
    specs[0][0], specs[top][0] = {"rowspan": top}, {"rowspan": rows - top}
    titles = []
    for r in range(rows):
        if specs[r][0] is not None:
            titles.append("clean x₀" if r == 0 else "noisy input x_t")
        titles += [f"layer {r}, head {i}" for i in range(h) if r < depth]
    fig = subplots(rows=rows, cols=cols, specs=specs, subplot_titles=titles,
                   horizontal_spacing=0.03, vertical_spacing=0.06, column_widths=[1.3] + [1.0] * h)
    for ann in fig.layout.annotations:
        ann.font = dict(size=11, color=FONT["color"])

    fig.add_trace(go.Image(z=to_rgb_uint8(torch.as_tensor(x0)).tolist(), hoverinfo="skip"), row=1, col=1)
    ox, oy, oz = _outline(torch.as_tensor(x0), p)
    groups = []                                   # trace indices per timestep (visibility)
    heat = []                                     # (k, n, i, trace index) of every map
    for k in range(n_t):
        idx = []
        fig.add_trace(go.Image(z=to_rgb_uint8(torch.as_tensor(xs[k])).tolist(), hoverinfo="skip",
                               visible=k == active_t), row=xt_row, col=1)
        idx.append(len(fig.data) - 1)
        for n in range(depth):
            for i in range(h):
                fig.add_trace(go.Heatmap(
                    z=rounded(m[k, n, i, active_query].reshape(gh, gw), 3), zmin=0, zmax=zmax,
                    colorscale=COLORSCALE, showscale=k == 0 and not heat, visible=k == active_t,
                    colorbar=dict(title=dict(text="weight", side="right"), thickness=12, len=0.5, y=0.5),
                    hovertemplate=f"layer {n}, head {i}<br>key in row %{{y}}, column %{{x}}: %{{z:.3f}}"
                                  "<extra></extra>"), row=n + 1, col=i + 2)
                idx.append(len(fig.data) - 1)
                heat.append((k, n, i, len(fig.data) - 1))
        groups.append(idx)
    for n in range(depth):                        # the clean image's outline, always visible
        for i in range(h):
            fig.add_trace(go.Contour(x=ox, y=oy, z=rounded(oz, 3), showscale=False, hoverinfo="skip",
                                     contours=dict(start=0, end=0, size=1, coloring="none"), showlegend=False,
                                     line=dict(color=OUTLINE_COLOR, width=1.5), ncontours=1),
                          row=n + 1, col=i + 2)

    def frames(q):
        r, c = divmod(q, gw)
        out = []
        for row in (1, xt_row):                   # the query patch on both images (pixel coordinates)
            sub = fig.get_subplot(row, 1)
            out.append(dict(type="rect", xref=sub.xaxis.plotly_name.replace("axis", ""),
                            yref=sub.yaxis.plotly_name.replace("axis", ""), x0=c * p - 0.5, x1=(c + 1) * p - 0.5,
                            y0=r * p - 0.5, y1=(r + 1) * p - 0.5, line=dict(color=QUERY_COLOR, width=2.5)))
        for n in range(depth):                    # and on every map (grid coordinates)
            for i in range(h):
                sub = fig.get_subplot(n + 1, i + 2)
                out.append(dict(type="rect", xref=sub.xaxis.plotly_name.replace("axis", ""),
                                yref=sub.yaxis.plotly_name.replace("axis", ""), x0=c - 0.5, x1=c + 0.5,
                                y0=r - 0.5, y1=r + 0.5, line=dict(color=QUERY_COLOR, width=2)))
        return out

    def heading(q):
        r, c = divmod(q, gw)
        return subtitle(title or "Where one query patch looks, in every layer and head",
                        f"query token {q} (row {r}, column {c}): red frame · white line: the clean image's outline",
                        f"uniform weights: 1/L = {1 / L:.3f} · colours saturate at {zmax:g}")

    t_steps = []
    for k, t in enumerate(timesteps):
        vis = [True] * len(fig.data)
        for kk, idx in enumerate(groups):
            for j in idx:
                vis[j] = kk == k
        t_steps.append(step(str(t), {"visible": vis}, method="restyle"))
    q_steps = []
    idx = [j for (_, _, _, j) in heat]
    for q in queries:
        z = [rounded(m[k, n, i, q].reshape(gh, gw), 3) for (k, n, i, _) in heat]
        q_steps.append(step(str(q), {"z": z}, {"shapes": frames(q), "title.text": heading(q)}, idx))
    fig.update_layout(title=heading(active_query), shapes=frames(active_query), sliders=[
        slider(t_steps, active=active_t, prefix="timestep t = ", pad=10, y=0, yanchor="top", len=0.48, x=0,
               xanchor="left"),
        slider(q_steps, active=queries.index(active_query), prefix="query token = ", pad=10, y=0, yanchor="top",
               len=0.48, x=1, xanchor="right")])
    subs = [fig.get_subplot(r + 1, c + 1) for r in range(rows) for c in range(cols) if specs[r][c] is not None]
    square_axes(fig, subs)
    for n in range(depth):
        for i in range(h):
            sub = fig.get_subplot(n + 1, i + 2)
            fig.update_layout({sub.xaxis.plotly_name: dict(range=[-0.5, gw - 0.5]),
                               sub.yaxis.plotly_name: dict(range=[gh - 0.5, -0.5], autorange=False)})
    return fig.update_layout(height=170 * rows + 220, margin=dict(t=120, l=20, r=20, b=90), showlegend=False)


# ----------------------------------------------------------------------------- the live widget's picture


def attention_mpl(x0: torch.Tensor, x_t: torch.Tensor, attn: torch.Tensor, query: int, grid: tuple[int, int],
                  patch_size: int, *, title: str = "", zmax: float | None = None):
    """Matplotlib figure for the live widget: the clean image, the noisy input with the query patch,
    the query's attention laid over x_t, and the whole L x L matrix with the query's row framed.

    attn: (L, L) one layer and head. Returns a `matplotlib.figure.Figure` (no pyplot state).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    a = as_numpy(attn)
    L = a.shape[-1]
    gh, gw = grid
    p = patch_size
    if a.shape != (L, L) or gh * gw != L:
        raise ValueError(f"attn must be (L, L) with L = grid rows x columns = {gh * gw}, got {a.shape}.")
    if not 0 <= query < L:
        raise ValueError(f"query must be a token index in 0..{L - 1}, got {query}.")
    zmax = float(max(a.max(), 1e-6)) if zmax is None else zmax
    r, c = divmod(query, gw)
    row = a[query].reshape(gh, gw)
    over = np.kron(row, np.ones((p, p)))                                 # (H, W): each cell covers its patch
    fig = Figure(figsize=(10.0, 3.1), dpi=100, facecolor=PAPER)
    axes = fig.subplots(1, 4, gridspec_kw=dict(width_ratios=[1, 1, 1, 1.15]))
    axes[0].imshow(to_rgb_uint8(x0), interpolation="nearest")
    axes[0].set_title("clean x₀", fontsize=10, color=FONT["color"])
    axes[1].imshow(to_rgb_uint8(x_t), interpolation="nearest")
    axes[1].set_title("noisy input x_t", fontsize=10, color=FONT["color"])
    axes[2].imshow(to_rgb_uint8(x_t).mean(-1), cmap="gray", interpolation="nearest", vmin=0, vmax=255)
    im = axes[2].imshow(over, cmap="viridis", alpha=0.75, vmin=0, vmax=zmax, interpolation="nearest")
    axes[2].set_title(f"query {query}'s attention over x_t", fontsize=10, color=FONT["color"])
    for ax in axes[:3]:
        ax.add_patch(Rectangle((c * p - 0.5, r * p - 0.5), p, p, fill=False, ec=QUERY_COLOR, lw=2.5))
        gx, gy = grid_lines(gh * p, gw * p, p)
        ax.plot([v if v is not None else np.nan for v in gx], [v if v is not None else np.nan for v in gy],
                color=GRID_LINE, lw=0.6, alpha=0.6)
    axes[3].imshow(a, cmap="viridis", vmin=0, vmax=zmax, interpolation="nearest")
    axes[3].add_patch(Rectangle((-0.5, query - 0.5), L, 1, fill=False, ec=QUERY_COLOR, lw=2))
    axes[3].set_title(f"L x L matrix (row {query} framed)", fontsize=10, color=FONT["color"])
    axes[3].set_xlabel("key", fontsize=9, color=FONT["color"])
    axes[3].set_ylabel("query", fontsize=9, color=FONT["color"])
    fig.colorbar(im, ax=axes[3], fraction=0.046, pad=0.04).ax.tick_params(labelsize=8)
    return frame_axes(fig, axes, title)


__all__ = ["query_maps_figure", "attention_mpl"]

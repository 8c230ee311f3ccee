"""Figures for chapter 3, attention: what attention costs as L grows, the L x L attention matrices
of every layer and head, each head's weight by relative position, and summary curves (entropy,
attention distance, branch size) over the timestep. One query's attention laid over the image is
`viz.query_maps`.

Pure functions: tensors (or counts) in, figures out; the maps themselves come from
`dit_lib.attention_maps`. Plotly figures carry their own sliders and dropdowns over precomputed
values (no kernel). A figure with two controls gives each its own property to change, so the
controls never undo each other: one switches which traces are *visible*, the other rewrites
their *values* (`z`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..plotting import COLORWAY, FONT, as_numpy, figure, menu, rounded, slider, step, subplots, subtitle, to_rgb_uint8

COLORSCALE = "Viridis"
QUERY_COLOR = "#dc2626"          # the query patch, framed in red everywhere
OUTLINE_COLOR = "#f9fafb"        # the clean image's outline drawn over the query maps
FRESH_COLOR = "#9aa5b1"          # the untrained baseline


def check_maps(maps: np.ndarray, n_t: int, name: str = "maps") -> tuple[int, int, int]:
    """maps (n_t, depth, h, L, L) -> (depth, h, L), or a ValueError naming the shape."""
    if maps.ndim != 5 or maps.shape[-1] != maps.shape[-2] or maps.shape[0] != n_t:
        raise ValueError(f"{name} must have shape (n_t, depth, h, L, L) with n_t = {n_t} timesteps, "
                         f"got {tuple(maps.shape)}; take one image, e.g. maps[:, :, b].")
    return maps.shape[1], maps.shape[2], maps.shape[3]


def default_zmax(maps, quantile: float = 0.98) -> float:
    """A colour-scale top for attention weights: the given quantile, rounded up to 0.05.

    Most weights sit near the uniform 1/L; a few peak near 1. Scaling to the maximum would
    paint almost everything the same dark colour, so colours saturate above this value.
    """
    q = float(np.quantile(as_numpy(maps), quantile))
    return float(min(1.0, np.ceil(q * 20) / 20))


def square_axes(fig, subplots) -> None:
    """Square cells in every listed subplot, fitted to its box; rows read top-down."""
    for sub in subplots:
        x_anchor = sub.xaxis.plotly_name.replace("axis", "")
        fig.update_layout({sub.yaxis.plotly_name: dict(scaleanchor=x_anchor, scaleratio=1, constrain="domain",
                                                       autorange="reversed", showticklabels=False, ticks="",
                                                       showgrid=False, zeroline=False),
                           sub.xaxis.plotly_name: dict(constrain="domain", showticklabels=False, ticks="",
                                                       showgrid=False, zeroline=False)})


# ----------------------------------------------------------------------------- cost


def attention_cost_figure(shares: Mapping[str, tuple[Sequence[int], Sequence[float]]],
                          marks: Sequence[Mapping] = (), *, title: str | None = None):
    """Share of one forward pass spent in the two attention products q kᵀ and A v, versus L.

    `shares`: model name -> (L values, share in [0, 1]); `marks`: dicts with `label`, `L`, `share`,
    drawn as labelled diamonds (e.g. DiT-XL at p = 8, 4, 2 for 256 x 256 images).
    """
    import plotly.graph_objects as go

    if not shares:
        raise ValueError("shares is empty; pass {model name: (L values, attention share)}.")
    fig = figure()
    for i, (name, (Ls, share)) in enumerate(shares.items()):
        if len(Ls) != len(share):
            raise ValueError(f"{name}: {len(Ls)} values of L but {len(share)} shares; give one share per L.")
        fig.add_trace(go.Scatter(x=list(Ls), y=rounded(100 * as_numpy(share), 2), mode="lines+markers", name=name,
                                 line=dict(color=COLORWAY[i % len(COLORWAY)], width=2.5), marker=dict(size=6),
                                 hovertemplate=f"{name}<br>L = %{{x}} tokens: %{{y:.1f}} % of the MACs<extra></extra>"))
    if marks:
        fig.add_trace(go.Scatter(
            x=[m["L"] for m in marks], y=[round(100 * m["share"], 2) for m in marks], mode="markers+text",
            name="256 x 256 images", text=[m["label"] for m in marks], textposition="top right",
            marker=dict(symbol="diamond", size=12, color="#111827"),
            hovertemplate="%{text}<br>L = %{x}: %{y:.1f} %<extra></extra>"))
    fig.update_layout(title=title or "Share of the compute spent in attention's two L x L products",
                      xaxis=dict(title="tokens L (log scale)", type="log", tickvals=[16, 64, 256, 1024, 4096]),
                      yaxis=dict(title="q·kᵀ and A·v, % of all MACs", rangemode="tozero", ticksuffix=" %"),
                      legend=dict(orientation="h", x=0, xanchor="left", y=-0.2, yanchor="top"))
    return fig.update_layout(height=480, margin=dict(b=90))


# ----------------------------------------------------------------------------- L x L matrices


def attention_matrices_figure(maps, timesteps: Sequence[int], *, x0=None, xs=None, active: int = 0,
                              zmax: float | None = None, grid_width: int | None = None, title: str | None = None):
    """Every layer's and head's L x L attention matrix for one image, with a slider over t.

    maps: (n_t, depth, h, L, L), rows are queries, columns keys; x0: the clean image (C, H, W) and
    xs: the noisy inputs (n_t, C, H, W), drawn in a first column if given; grid_width: w = W/p, to
    mark the grid rows (every w tokens) with thin lines. Rows of subplots are layers, columns heads.
    """
    import plotly.graph_objects as go

    m = as_numpy(maps)
    n_t = len(timesteps)
    depth, h, L = check_maps(m, n_t)
    if not 0 <= active < n_t:
        raise ValueError(f"active must index the timesteps 0..{n_t - 1}, got {active}.")
    with_images = x0 is not None and xs is not None
    if with_images and len(xs) != n_t:
        raise ValueError(f"xs has {len(xs)} images but there are {n_t} timesteps; give one x_t per t.")
    zmax = default_zmax(m) if zmax is None else zmax
    off = 1 if with_images else 0
    cols = h + off
    specs = [[{} for _ in range(cols)] for _ in range(depth)]
    titles = []
    for n in range(depth):
        row = []
        if with_images:
            row.append({0: "clean x₀", 1: "noisy input x_t"}.get(n, ""))
        row += [f"layer {n}, head {i}" for i in range(h)]
        titles += row
    fig = subplots(rows=depth, cols=cols, specs=specs, subplot_titles=titles,
                   horizontal_spacing=0.025, vertical_spacing=0.05)
    for ann in fig.layout.annotations:
        ann.font = dict(size=11, color=FONT["color"])
    xt_index = None
    if with_images:
        fig.add_trace(go.Image(z=to_rgb_uint8(torch.as_tensor(x0)).tolist(), hoverinfo="skip"), row=1, col=1)
        fig.add_trace(go.Image(z=to_rgb_uint8(torch.as_tensor(xs[active])).tolist(), hoverinfo="skip"),
                      row=2, col=1)
        xt_index = 1
    heat = []
    for n in range(depth):
        for i in range(h):
            fig.add_trace(go.Heatmap(
                z=rounded(m[active, n, i], 3), zmin=0, zmax=zmax, colorscale=COLORSCALE, showscale=not heat,
                colorbar=dict(title=dict(text="weight", side="right"), thickness=12, len=0.5, y=0.5),
                hovertemplate=f"layer {n}, head {i}<br>query %{{y}} → key %{{x}}: %{{z:.3f}}<extra></extra>"),
                row=n + 1, col=i + 1 + off)
            heat.append(len(fig.data) - 1)
    if grid_width and grid_width < L:
        for n in range(depth):
            for i in range(h):
                sub = fig.get_subplot(n + 1, i + 1 + off)
                xr, yr = sub.xaxis.plotly_name.replace("axis", ""), sub.yaxis.plotly_name.replace("axis", "")
                for b in range(grid_width, L, grid_width):
                    for kind in ("x", "y"):
                        line = dict(x0=b - 0.5, x1=b - 0.5, y0=-0.5, y1=L - 0.5) if kind == "x" else \
                            dict(x0=-0.5, x1=L - 0.5, y0=b - 0.5, y1=b - 0.5)
                        fig.add_shape(type="line", xref=xr, yref=yr, line=dict(color="rgba(255,255,255,0.35)",
                                                                                  width=0.8), **line)

    def heading(k):
        return subtitle(title or "Attention matrices of every layer and head",
                        f"t = {timesteps[k]}: rows are queries, columns keys (L = {L}); each row sums to 1",
                        f"uniform weights: 1/L = {1 / L:.3f} · colours saturate at {zmax:g}")

    steps = []
    for k, t in enumerate(timesteps):
        z = [rounded(m[k, n, i], 3) for n in range(depth) for i in range(h)]
        idx = list(heat)
        if with_images:
            z = [to_rgb_uint8(torch.as_tensor(xs[k])).tolist()] + z
            idx = [xt_index] + idx
        steps.append(step(str(t), {"z": z}, {"title.text": heading(k)}, idx))
    fig.update_layout(title=heading(active), sliders=[slider(steps, active=active, prefix="timestep t = ", pad=20)])
    subs = [fig.get_subplot(r + 1, c + 1) for r in range(depth) for c in range(cols)]
    square_axes(fig, subs)
    if with_images:
        for r in range(2, depth):
            sub = fig.get_subplot(r + 1, 1)
            fig.update_layout({sub.xaxis.plotly_name: dict(visible=False), sub.yaxis.plotly_name: dict(visible=False)})
    return fig.update_layout(height=170 * depth + 210, margin=dict(t=120, l=20, r=20, b=20))


# ----------------------------------------------------------------------------- relative offsets


def offset_profiles_figure(profiles, timesteps: Sequence[int], *, active: int = 0, zmax: float | None = None,
                           title: str | None = None):
    """Every layer's and head's offset profile (`attention_maps.offset_profile`), with a slider over t.

    profiles: (n_t, depth, h, 2 h_g - 1, 2 w_g - 1); the centre cell (framed) is the query itself,
    the cell below it the key one row down, and so on. Rows of subplots are layers, columns heads.
    """
    import plotly.graph_objects as go

    pr = as_numpy(profiles)
    n_t = len(timesteps)
    if pr.ndim != 5 or pr.shape[0] != n_t:
        raise ValueError(f"profiles must be (n_t, depth, h, 2h_g - 1, 2w_g - 1) with n_t = {n_t}, got {pr.shape}.")
    if not 0 <= active < n_t:
        raise ValueError(f"active must index the timesteps 0..{n_t - 1}, got {active}.")
    _, depth, h, rows_o, cols_o = pr.shape
    ch, cw = rows_o // 2, cols_o // 2
    zmax = default_zmax(pr, 0.995) if zmax is None else zmax
    fig = subplots(rows=depth, cols=h, subplot_titles=[f"layer {n}, head {i}" for n in range(depth)
                                                       for i in range(h)],
                   horizontal_spacing=0.03, vertical_spacing=0.05)
    for ann in fig.layout.annotations:
        ann.font = dict(size=11, color=FONT["color"])
    dr = list(range(-ch, ch + 1))
    dc = list(range(-cw, cw + 1))
    for n in range(depth):
        for i in range(h):
            fig.add_trace(go.Heatmap(
                x=dc, y=dr, z=rounded(pr[active, n, i], 3), zmin=0, zmax=zmax, colorscale=COLORSCALE,
                showscale=n == 0 and i == 0, colorbar=dict(title=dict(text="weight", side="right"), thickness=12,
                                                            len=0.5, y=0.5),
                hovertemplate=f"layer {n}, head {i}<br>key %{{y:+d}} rows, %{{x:+d}} columns from the query: "
                              "%{z:.3f}<extra></extra>"), row=n + 1, col=i + 1)
            sub = fig.get_subplot(n + 1, i + 1)
            fig.add_shape(type="rect", x0=-0.5, x1=0.5, y0=-0.5, y1=0.5, line=dict(color=QUERY_COLOR, width=2),
                          xref=sub.xaxis.plotly_name.replace("axis", ""), yref=sub.yaxis.plotly_name.replace("axis", ""))

    def heading(k):
        return subtitle(title or "Where each head looks, relative to the query",
                        f"t = {timesteps[k]}: mean weight on the key Δr rows down, Δc columns right of the query",
                        f"red frame: the query itself · uniform weights: {1 / ((ch + 1) * (cw + 1)):.3f} · "
                        f"colours saturate at {zmax:g}")

    steps = [step(str(t), {"z": [rounded(pr[k, n, i], 3) for n in range(depth) for i in range(h)]},
                  {"title.text": heading(k)}, list(range(depth * h))) for k, t in enumerate(timesteps)]
    fig.update_layout(title=heading(active), sliders=[slider(steps, active=active, prefix="timestep t = ", pad=20)])
    square_axes(fig, [fig.get_subplot(n + 1, i + 1) for n in range(depth) for i in range(h)])
    for n in range(depth):
        for i in range(h):
            sub = fig.get_subplot(n + 1, i + 1)
            fig.update_layout({sub.xaxis.plotly_name: dict(range=[-cw - 0.5, cw + 0.5]),
                               sub.yaxis.plotly_name: dict(range=[ch + 0.5, -ch - 0.5], autorange=False)})
    return fig.update_layout(height=170 * depth + 210, margin=dict(t=120, l=20, r=20, b=20))


# ----------------------------------------------------------------------------- summaries over t


def layer_curves_figure(views: Mapping[str, Mapping], timesteps: Sequence[int], *, title: str | None = None):
    """One line per layer over the timestep, with a dropdown over `views`.

    Each view: `trained` (n_t, depth) values (solid lines), optional `fresh` (n_t, depth) for an
    untrained model (dashed gray), optional `reference` = (value, label) (a dotted horizontal
    line, e.g. the uniform log L), and `y_title`. Useful for attention entropy and distance.
    """
    import plotly.graph_objects as go

    if not views:
        raise ValueError("views is empty; pass {label: dict(trained=(n_t, depth) array, ...)}.")
    t = list(timesteps)
    fig = figure()
    members, names = [], list(views)
    for v, (name, view) in enumerate(views.items()):
        tr = as_numpy(view["trained"])
        if tr.ndim != 2 or tr.shape[0] != len(t):
            raise ValueError(f"view {name!r}: trained must be (n_t, depth) with n_t = {len(t)}, got {tr.shape}.")
        idx = []
        for n in range(tr.shape[1]):
            fig.add_trace(go.Scatter(x=t, y=rounded(tr[:, n], 4), mode="lines+markers", name=f"layer {n}",
                                     line=dict(color=COLORWAY[n % len(COLORWAY)], width=2.5), marker=dict(size=5),
                                     visible=v == 0, legendgroup=f"layer {n}",
                                     hovertemplate=f"layer {n}, trained<br>t = %{{x}}: %{{y:.3f}}<extra></extra>"))
            idx.append(len(fig.data) - 1)
        if view.get("fresh") is not None:
            fr = as_numpy(view["fresh"])
            for n in range(fr.shape[1]):
                fig.add_trace(go.Scatter(x=t, y=rounded(fr[:, n], 4), mode="lines", name="untrained" if n == 0 else
                                         f"untrained, layer {n}", showlegend=n == 0, legendgroup="untrained",
                                         line=dict(color=FRESH_COLOR, width=1.5, dash="dash"), visible=v == 0,
                                         hovertemplate=f"layer {n}, untrained<br>t = %{{x}}: %{{y:.3f}}<extra></extra>"))
                idx.append(len(fig.data) - 1)
        if view.get("reference") is not None:
            value, label = view["reference"]
            fig.add_trace(go.Scatter(x=[t[0], t[-1]], y=[value, value], mode="lines", name=label,
                                     line=dict(color="#111827", width=1.5, dash="dot"), visible=v == 0,
                                     hovertemplate=f"{label}: %{{y:.3f}}<extra></extra>"))
            idx.append(len(fig.data) - 1)
        members.append(idx)

    def heading(v):
        note = views[names[v]].get("note")
        return subtitle(title or "Attention over the timestep, layer by layer", note or "")

    buttons = []
    for v, name in enumerate(names):
        vis = [j in members[v] for j in range(len(fig.data))]
        buttons.append(step(name, {"visible": vis}, {"title.text": heading(v),
                            "yaxis.title.text": views[name].get("y_title", "")}))
    fig.update_layout(title=heading(0), xaxis_title="timestep t (more noise →)",
                      yaxis_title=views[names[0]].get("y_title", ""),
                      updatemenus=([menu(buttons, active=0, x=1.0, xanchor="right", y=1.02, yanchor="bottom")]
                                   if len(names) > 1 else []),
                      legend=dict(orientation="h", x=0, xanchor="left", y=-0.2, yanchor="top"))
    return fig.update_layout(height=500, margin=dict(t=110, b=90))


__all__ = ["attention_cost_figure", "attention_matrices_figure", "offset_profiles_figure", "layer_curves_figure",
           "default_zmax", "COLORSCALE"]

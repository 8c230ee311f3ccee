"""Figures for chapter 1, images as tokens: patch grids, token strips and compute versus patch
size (the position table is `viz.positions`).

Pure functions: tensors (or counts) in, figures out. Plotly figures are for the site (sliders
and dropdowns over precomputed data, no kernel needed); the `*_mpl` functions draw a
matplotlib `Figure` for the live widgets (a PNG renders everywhere, the site included).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch

from ..plotting import (COLORWAY, FONT, GAP_RGB, GRID_LINE, MAC_PARTS, PAPER, figure, frame_axes, grid_lines, menu,
                        png_data_uri, slider, step, subplots, subtitle, to_rgb_uint8)


# ----------------------------------------------------------------------------- arrays


def check_patch_size(image_hw: tuple[int, int], p: int) -> tuple[int, int]:
    """(H/p, W/p), or a ValueError that names the size that does not divide."""
    H, W = image_hw
    if not isinstance(p, int) or p <= 0 or H % p or W % p:
        raise ValueError(f"patch size {p!r} must be a positive integer dividing the image size {H}x{W}; "
                         f"divisors that work: {divisors(math.gcd(H, W))}.")
    return H // p, W // p


def divisors(n: int) -> list[int]:
    """Every positive divisor of n, ascending (the patch sizes that tile an n x n image)."""
    return [d for d in range(1, n + 1) if n % d == 0]


def token_strip(x: torch.Tensor, p: int, *, per_line: int = 64, thumb: int = 16, gap: int = 4) -> np.ndarray:
    """The L patches of x in reading order, drawn side by side: (rows, cols, 3) uint8.

    Each p x p patch is enlarged (nearest neighbour) to a thumbnail of about `thumb` pixels, so
    every patch size draws tokens at the same size; tokens are separated by `gap` pixels and
    wrap after `per_line` tokens. Token k sits at line k // per_line, slot k % per_line.
    """
    img = to_rgb_uint8(x)                                         # (H, W, 3)
    gh, gw = check_patch_size(img.shape[:2], p)
    L = gh * gw
    s = max(1, math.ceil(thumb / p))                              # enlargement factor
    t = p * s                                                     # thumbnail side
    patches = img.reshape(gh, p, gw, p, 3).transpose(0, 2, 1, 3, 4).reshape(L, p, p, 3)   # (L, p, p, 3)
    patches = patches.repeat(s, axis=1).repeat(s, axis=2)         # (L, t, t, 3)
    cols = min(per_line, L)
    lines = math.ceil(L / cols)
    out = np.empty((lines * (t + gap) + gap, cols * (t + gap) + gap, 3), dtype=np.uint8)
    out[:] = GAP_RGB
    for k in range(L):
        r, c = divmod(k, cols)
        y0, x0 = gap + r * (t + gap), gap + c * (t + gap)
        out[y0:y0 + t, x0:x0 + t] = patches[k]
    return out


# ----------------------------------------------------------------------------- patch grid (plotly)


def patch_grid_figure(images: Mapping[str, torch.Tensor], patch_sizes: Sequence[int], *,
                      per_line: int = 64, active: int | None = None, title: str | None = None):
    """A slider over patch size p: each image with its p x p grid and token numbers, and below it
    the L = (H/p)(W/p) tokens as a strip in reading order (hover shows token k = (row, column)).

    `images`: name -> (C, H, W) tensor in [-1, 1] (C = 1 or 3); every p must divide every image.
    """
    import plotly.graph_objects as go

    if not images:
        raise ValueError("images is empty; pass a dict name -> (C, H, W) tensor.")
    if not patch_sizes:
        raise ValueError("patch_sizes is empty; pass e.g. [1, 2, 4, 8, 16].")
    names = list(images)
    n = len(names)
    for name in names:
        for p in patch_sizes:
            check_patch_size(tuple(images[name].shape[-2:]), p)
    active = len(patch_sizes) // 2 if active is None else active
    specs = [[{} for _ in range(n)]] + [[{"colspan": n}] + [None] * (n - 1) for _ in range(n)]
    fig = subplots(rows=1 + n, cols=n, specs=specs, row_heights=[0.62] + [0.38 / n] * n,
                   vertical_spacing=0.07, horizontal_spacing=0.06,
                   subplot_titles=[f"{nm}" for nm in names] + [f"{nm}: the token sequence" for nm in names])
    groups, ranges = [], []          # trace indices per patch size; strip axis ranges per patch size
    for i, p in enumerate(patch_sizes):
        idx, rng = [], {}
        for j, name in enumerate(names):
            x = images[name]
            H, W = x.shape[-2:]
            gh, gw = H // p, W // p
            L = gh * gw
            show = i == active
            # the image, its grid, and a hover point (with the token number, if few) per patch
            fig.add_trace(go.Image(source=png_data_uri(to_rgb_uint8(x)), visible=show, hoverinfo="skip"),
                          row=1, col=j + 1)
            gx, gy = grid_lines(H, W, p)
            fig.add_trace(go.Scatter(x=gx, y=gy, mode="lines", line=dict(color=GRID_LINE, width=1.5),
                                     hoverinfo="skip", visible=show, showlegend=False), row=1, col=j + 1)
            k = np.arange(L)
            r, c = k // gw, k % gw
            hover = [f"token {kk}: row {rr}, column {cc}" for kk, rr, cc in zip(k, r, c)]
            fig.add_trace(go.Scatter(
                x=c * p + (p - 1) / 2, y=r * p + (p - 1) / 2, mode="text+markers" if L <= 64 else "markers",
                text=[str(kk) for kk in k] if L <= 64 else None,
                textfont=dict(color="#ffffff", size=11 if L <= 16 else 9),
                marker=dict(size=max(14, 120 // max(gh, gw)) if L <= 64 else 6,
                            color="rgba(17,24,39,0.55)" if L <= 64 else "rgba(0,0,0,0)"),
                hovertext=hover, hoverinfo="text", visible=show, showlegend=False), row=1, col=j + 1)
            # the strip
            strip = token_strip(x, p, per_line=per_line)
            cols = min(per_line, L)
            t = p * max(1, math.ceil(16 / p))
            kk = np.arange(L)
            fig.add_trace(go.Image(source=png_data_uri(strip), visible=show, hoverinfo="skip"),
                          row=2 + j, col=1)
            fig.add_trace(go.Scatter(
                x=4 + (kk % cols) * (t + 4) + (t - 1) / 2, y=4 + (kk // cols) * (t + 4) + (t - 1) / 2,
                mode="markers", marker=dict(size=6, color="rgba(0,0,0,0)"),
                hovertext=[f"token {a} of {L}: a {p}x{p}x{x.shape[0]} patch, {p * p * x.shape[0]} numbers"
                           for a in kk], hoverinfo="text", visible=show, showlegend=False), row=2 + j, col=1)
            idx += list(range(len(fig.data) - 5, len(fig.data)))
            sub = fig.get_subplot(2 + j, 1)
            rng[f"{sub.xaxis.plotly_name}.range"] = [-0.5, strip.shape[1] - 0.5]
            rng[f"{sub.yaxis.plotly_name}.range"] = [strip.shape[0] - 0.5, -0.5]
        groups.append(idx)
        ranges.append(rng)

    def heading(p):
        Ls = sorted({(images[nm].shape[-2] // p) * (images[nm].shape[-1] // p) for nm in names})
        sizes = list(dict.fromkeys(p * p * images[nm].shape[0] for nm in names))
        return subtitle(title or "Cutting images into p x p patches",
                        f"p = {p}: L = {' / '.join(map(str, Ls))} tokens of p·p·C = {' / '.join(map(str, sizes))} numbers")

    steps = []
    for i, p in enumerate(patch_sizes):
        vis = [False] * len(fig.data)
        for t_idx in groups[i]:
            vis[t_idx] = True
        steps.append(step(str(p), {"visible": vis}, {"title.text": heading(p), **ranges[i]}))
    fig.update_layout(title=heading(patch_sizes[active]), sliders=[slider(steps, active=active,
                                                                          prefix="patch size p = ", pad=30)],
        showlegend=False)
    fig.update_layout(ranges[active])
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    panels = [fig.get_subplot(1, j + 1) for j in range(n)] + [fig.get_subplot(2 + j, 1) for j in range(n)]
    for sub in panels:   # square pixels everywhere, each panel fitted to its box
        x_anchor = sub.xaxis.plotly_name.replace("axis", "")
        fig.update_layout({sub.yaxis.plotly_name: dict(scaleanchor=x_anchor, scaleratio=1, constrain="domain"),
                           sub.xaxis.plotly_name: dict(constrain="domain")})
    for j in range(n):
        fig.update_layout({fig.get_subplot(1, j + 1).yaxis.plotly_name: dict(autorange="reversed")})
    return fig.update_layout(height=560 + 130 * n, margin=dict(t=100))


# ----------------------------------------------------------------------------- patch grid (matplotlib)


def patch_tokens_mpl(x: torch.Tensor, p: int, *, title: str = "", per_line: int = 32):
    """Matplotlib figure for the live widget: the image with its patch grid (left) and its
    L tokens in reading order (right). Returns a `matplotlib.figure.Figure` (no pyplot state)."""
    from matplotlib.figure import Figure

    img = to_rgb_uint8(x)
    H, W = img.shape[:2]
    gh, gw = check_patch_size((H, W), p)
    strip = token_strip(x, p, per_line=per_line)
    fig = Figure(figsize=(9.0, 3.6), dpi=100, facecolor=PAPER)
    ax_img, ax_tok = fig.subplots(1, 2, gridspec_kw=dict(width_ratios=[1, 1.6]))
    ax_img.imshow(img, interpolation="nearest")
    for v in range(0, W + 1, p):
        ax_img.axvline(v - 0.5, color=GRID_LINE, lw=1.2)
    for v in range(0, H + 1, p):
        ax_img.axhline(v - 0.5, color=GRID_LINE, lw=1.2)
    if gh * gw <= 64:
        for k in range(gh * gw):
            r, c = divmod(k, gw)
            ax_img.text(c * p + (p - 1) / 2, r * p + (p - 1) / 2, str(k), color="white",
                        ha="center", va="center", fontsize=8 if gh * gw > 16 else 10)
    ax_img.set_title(f"{H}x{W} image, p = {p}: a {gh}x{gw} grid", fontsize=10, color=FONT["color"])
    ax_tok.imshow(strip, interpolation="nearest")
    ax_tok.set_title(f"L = {gh * gw} tokens of p·p·C = {p * p * x.shape[0]} numbers, in reading order",
                     fontsize=10, color=FONT["color"])
    return frame_axes(fig, (ax_img, ax_tok), title)


# ----------------------------------------------------------------------------- compute (plotly)


def macs_vs_patch_figure(counts: Mapping[str, Mapping[int, object]], paper: Mapping[str, Mapping[int, float]] | None = None,
                         *, active: str | None = None, title: str | None = None):
    """Stacked bars of GMACs per image ("Gflops" in the DiT paper) by where they happen, one bar per
    patch size, with a dropdown over models; the paper's values as diamonds.

    `counts`: model name -> {p: MacCount}; `paper`: model name -> {p: Gflops}.
    """
    import plotly.graph_objects as go

    models = list(counts)
    if not models:
        raise ValueError("counts is empty; pass {model name: {p: MacCount}}.")
    active = models[-1] if active is None else active
    fig = figure()
    per_model = len(MAC_PARTS) + 1
    for m in models:
        ps = sorted(counts[m])
        xs = [f"p = {p}" for p in ps]
        for ci, (field, label) in enumerate(MAC_PARTS.items()):
            fig.add_trace(go.Bar(x=xs, y=[getattr(counts[m][p], field) / 1e9 for p in ps], name=label,
                                 marker_color=COLORWAY[ci % len(COLORWAY)], visible=m == active,
                                 legendgroup=field, showlegend=True,
                                 hovertemplate=f"{label}<br>%{{x}}: %{{y:.3f}} GMACs<extra></extra>"))
        pv = (paper or {}).get(m, {})
        fig.add_trace(go.Scatter(x=[f"p = {p}" for p in ps if p in pv], y=[pv[p] for p in ps if p in pv],
                                 mode="markers+text", name="paper, Table 4", visible=m == active,
                                 marker=dict(symbol="diamond", size=13, color="#111827"),
                                 text=[f"{pv[p]:g}" for p in ps if p in pv], textposition="top center",
                                 hovertemplate="paper: %{y} Gflops<extra></extra>"))

    def heading(m):
        ps = sorted(counts[m])
        tot = ", ".join(f"p = {p}: {counts[m][p].total / 1e9:.2f}" for p in ps)
        return subtitle(title or "Compute of one forward pass versus patch size", f"{m} ({tot} GMACs)")

    buttons = [step(m, {"visible": [j // per_model == mi for j in range(per_model * len(models))]},
                    {"title.text": heading(m)}) for mi, m in enumerate(models)]
    fig.update_layout(barmode="stack", title=heading(active), yaxis_title="GMACs per image (paper: \"Gflops\")",
                      xaxis_title="patch size",
                      updatemenus=[menu(buttons, active=models.index(active), x=1.0, xanchor="right", y=1.02,
                                        yanchor="bottom")],
                      legend=dict(orientation="h", x=0, xanchor="left", y=-0.18, yanchor="top",
                                  traceorder="normal", font=dict(size=11)))
    return fig.update_layout(height=640, margin=dict(t=110, b=40))


__all__ = ["divisors", "token_strip", "patch_grid_figure", "patch_tokens_mpl", "macs_vs_patch_figure",
           "check_patch_size"]

"""Figures for chapter 2, telling the model the time and the class: sinusoidal timestep features,
their similarity over t, label dropout, and the conditioning vector c = t_emb + y_emb.

Pure functions: tensors in, figures out. Plotly figures carry their own sliders or dropdowns
(precomputed, no kernel); `conditioning_mpl` draws a matplotlib `Figure` for the live widget.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..plotting import COLORWAY, FONT, PAPER, as_numpy, figure, menu, rounded, slider, step, subtitle

COS_COLOR, SIN_COLOR = COLORWAY[0], COLORWAY[1]


def _check_rows(name: str, values, n: int) -> None:
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} rows but there are {n} timesteps; give one row per t.")


# ----------------------------------------------------------------------------- the features at one t


def timestep_vector_figure(t_values: Sequence[float], features: torch.Tensor, *, active: int = 0,
                           title: str | None = None):
    """Bars of the sinusoidal feature vector at one timestep, with a slider over `t_values`.

    `features`: (n_t, dim) rows of `timestep_embedding(t)`, cos half first (blue), sin half (red).
    """
    import plotly.graph_objects as go

    f = as_numpy(features)
    _check_rows("features", f, len(t_values))
    dim = f.shape[1]
    half = dim // 2
    colors = [COS_COLOR] * half + [SIN_COLOR] * (dim - half)

    def heading(t):
        return subtitle(title or "The sinusoidal timestep features",
                        f"t = {t:g}: features 0..{half - 1} are cos(f_i t) (blue), {half}..{2 * half - 1} are sin(f_i t) (red)")

    fig = figure(go.Bar(x=np.arange(dim), y=rounded(f[active], 3), marker_color=colors, marker_line_width=0,
                        hovertemplate="feature %{x}: %{y:.3f}<extra></extra>"))
    steps = [step(f"{t:g}", {"y": [rounded(f[i], 3)]}, {"title.text": heading(t)}, [0])
             for i, t in enumerate(t_values)]
    fig.update_layout(title=heading(t_values[active]), bargap=0,
                      sliders=[slider(steps, active=active, prefix="timestep t = ", pad=40)],
                      xaxis=dict(title="feature index (cos half, then sin half)", range=[-0.5, dim - 0.5]),
                      yaxis=dict(title="value", range=[-1.08, 1.08]))
    fig.add_vline(x=half - 0.5, line=dict(color="#1f2933", width=1.5, dash="dash"))
    return fig.update_layout(height=440, margin=dict(t=90))


# ----------------------------------------------------------------------------- features over t


def timestep_curves_figure(t: torch.Tensor, features: Mapping[str, torch.Tensor], columns: Sequence[int], *,
                           labels: Sequence[str] | None = None, active: int | None = None, title: str | None = None,
                           prefix: str = "", notes: Mapping[str, str] | None = None):
    """Selected feature columns as curves over t, with a slider over `features` (e.g. one table per max_period).

    `features`: slider label -> (N, dim) table of `timestep_embedding(t, ...)` for the N timesteps in `t`;
    `labels`: one legend entry per column; `notes`: slider label -> subtitle shown with that step.
    """
    import plotly.graph_objects as go

    if not features:
        raise ValueError("features is empty; pass {label: (N, dim) table}.")
    tt = as_numpy(t)
    names = list(features)
    for name in names:
        _check_rows(f"features[{name!r}]", features[name], len(tt))
    active = len(names) - 1 if active is None else active
    labels = list(labels) if labels is not None else [f"feature {j}" for j in columns]
    if len(labels) != len(columns):
        raise ValueError(f"labels has {len(labels)} entries but there are {len(columns)} columns.")
    notes = dict(notes or {})
    head = title or "Feature columns over t"

    def heading(name):
        return subtitle(head, f"{prefix}{name}{': ' + notes[name] if name in notes else ''}")

    fig = figure()
    for n, (j, lab) in enumerate(zip(columns, labels)):
        fig.add_trace(go.Scatter(x=rounded(tt, 3), y=rounded(as_numpy(features[names[active]])[:, j], 3), mode="lines",
                                 name=lab, line=dict(width=1.6, color=COLORWAY[n % len(COLORWAY)]),
                                 hovertemplate=f"{lab}<br>t = %{{x}}: %{{y:.3f}}<extra></extra>"))
    k = list(range(len(columns)))
    steps = [step(name, {"y": [rounded(as_numpy(features[name])[:, j], 3) for j in columns]}, {"title.text": heading(name)},
                  k)
             for name in names]
    fig.update_layout(title=heading(names[active]),
                      sliders=[slider(steps, active=active, prefix=prefix, pad=50)],
                      xaxis_title="timestep t", yaxis=dict(title="value", range=[-1.1, 1.1]),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left"))
    return fig.update_layout(height=520, margin=dict(t=130))


# ----------------------------------------------------------------------------- similarity over t


def cosine_similarity_matrix(x: torch.Tensor) -> torch.Tensor:
    """(N, d) rows -> (N, N) cosine similarities, in float64."""
    x = x.detach().double()
    x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return x @ x.T


def similarity_matrix_figure(t: torch.Tensor, matrices: Mapping[str, torch.Tensor], *, zmin: float | None = None,
                             title: str | None = None):
    """Heatmaps of (N, N) similarity matrices over the timesteps `t`, one per dropdown entry."""
    import plotly.graph_objects as go

    if not matrices:
        raise ValueError("matrices is empty; pass {label: (N, N) matrix}.")
    tt = rounded(as_numpy(t), 3)
    names = list(matrices)
    for name in names:
        m = matrices[name]
        if tuple(m.shape) != (len(tt), len(tt)):
            raise ValueError(f"matrices[{name!r}] has shape {tuple(m.shape)} but t has {len(tt)} entries; "
                             f"it must be ({len(tt)}, {len(tt)}).")
    lo = min(float(as_numpy(m).min()) for m in matrices.values()) if zmin is None else zmin
    fig = figure()
    for i, name in enumerate(names):
        fig.add_trace(go.Heatmap(z=rounded(as_numpy(matrices[name]), 3), x=tt, y=tt, zmin=lo, zmax=1, colorscale="Viridis",
                                 visible=i == 0, name=name, colorbar=dict(title="cos", thickness=12),
                                 hovertemplate="t = %{y}, t' = %{x}<br>cos similarity %{z:.3f}<extra></extra>"))
    head = title or "Cosine similarity of the timestep embeddings of t and t'"
    buttons = [step(name, {"visible": [j == i for j in range(len(names))]}, {"title.text": subtitle(head, name)})
               for i, name in enumerate(names)]
    fig.update_layout(title=subtitle(head, names[0]),
                      updatemenus=[menu(buttons, x=0.0, xanchor="left", y=1.01, yanchor="bottom")],
                      xaxis=dict(title="t'", constrain="domain"),
                      yaxis=dict(title="t", scaleanchor="x", autorange="reversed", constrain="domain"))
    return fig.update_layout(height=680, margin=dict(t=140))


def similarity_profile_figure(delta: torch.Tensor, curves: Mapping[str, torch.Tensor], *, title: str | None = None):
    """Line plot of similarity versus the gap Δ = t' - t, one line per entry of `curves`."""
    import plotly.graph_objects as go

    d = rounded(as_numpy(delta), 3)
    fig = figure()
    for n, (name, y) in enumerate(curves.items()):
        dash = "solid" if n == 0 else "dot"
        fig.add_trace(go.Scatter(x=d, y=rounded(as_numpy(y), 4), mode="lines", name=name,
                                 line=dict(width=2.5 if n == 0 else 2, dash=dash, color=COLORWAY[n % len(COLORWAY)]),
                                 hovertemplate=f"{name}<br>Δ = %{{x}}: %{{y:.4f}}<extra></extra>"))
    fig.update_layout(title=title or "Similarity versus the gap between two timesteps",
                      xaxis=dict(title="gap Δ = t' - t (steps)", type="log"), yaxis_title="cos similarity",
                      legend=dict(orientation="h", y=-0.2, yanchor="top", x=0, xanchor="left"))
    return fig.update_layout(height=520, margin=dict(t=70))


# ----------------------------------------------------------------------------- label dropout


def label_dropout_figure(dropped: Mapping[int, torch.Tensor], prob: float, *, active: int | None = None,
                         title: str | None = None):
    """How many labels of a batch are dropped: measured histogram over many batches (bars) against
    the Binomial(B, prob) law (line), with a slider over the batch size B.

    `dropped`: B -> (n_batches,) number of dropped labels in each batch of size B.
    """
    import math

    import plotly.graph_objects as go

    if not dropped:
        raise ValueError("dropped is empty; pass {batch size B: (n_batches,) dropped counts}.")
    if not 0 <= prob <= 1:
        raise ValueError(f"prob must be in [0, 1], got {prob}.")
    sizes = list(dropped)
    active = len(sizes) // 2 if active is None else active

    def data(B):
        counts = as_numpy(dropped[B]).astype(int)
        n = len(counts)
        lo = max(0, int(B * prob - 5 * math.sqrt(B * prob * (1 - prob))) - 1)
        hi = min(B, int(B * prob + 5 * math.sqrt(B * prob * (1 - prob))) + 2)
        k = np.arange(lo, hi + 1)
        measured = np.bincount(counts, minlength=B + 1)[lo:hi + 1] / n
        pmf = np.array([math.comb(B, int(j)) * prob ** j * (1 - prob) ** (B - j) for j in k])
        return k, measured, pmf, counts.mean() / B, n

    def heading(B):
        k, _, _, frac, n = data(B)
        return subtitle(title or "Label dropout: how many labels of a batch become the null class",
                        f"B = {B}: {n} batches, measured mean fraction {frac:.4f} (expected {prob:g})")

    k, m, pmf, _, _ = data(sizes[active])
    fig = figure([
        go.Bar(x=k.tolist(), y=rounded(m, 5), name="measured (token_drop)", marker_color=COLORWAY[0], opacity=0.75,
               hovertemplate="%{x} dropped: %{y:.4f} of the batches<extra></extra>"),
        go.Scatter(x=k.tolist(), y=rounded(pmf, 5), name=f"Binomial(B, {prob:g})", mode="lines+markers",
                   line=dict(color=COLORWAY[1], width=2), marker=dict(size=5),
                   hovertemplate="%{x} dropped: probability %{y:.4f}<extra></extra>"),
    ])
    steps = []
    for B in sizes:
        k, m, pmf, _, _ = data(B)
        steps.append(step(str(B), {"x": [k.tolist(), k.tolist()], "y": [rounded(m, 5), rounded(pmf, 5)]},
                          {"title.text": heading(B)}, [0, 1]))
    fig.update_layout(title=heading(sizes[active]), bargap=0.05,
                      sliders=[slider(steps, active=active, prefix="batch size B = ", pad=50)],
                      xaxis_title="labels replaced by the null class in one batch", yaxis_title="share of batches",
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"))
    return fig.update_layout(height=460, margin=dict(t=110))


# ----------------------------------------------------------------------------- the conditioning vector


def conditioning_figure(t_values: Sequence[float], class_names: Sequence[str], c: torch.Tensor, *,
                        active: int = 0, title: str | None = None):
    """Heatmap of the conditioning vectors c = t_emb(t) + y_emb(y), one row per class, with a slider over t.

    `c`: (n_t, K, D) for the n_t timesteps in `t_values` and the K labels in `class_names`.
    """
    import plotly.graph_objects as go

    cc = as_numpy(c)
    if cc.ndim != 3 or cc.shape[:2] != (len(t_values), len(class_names)):
        raise ValueError(f"c must have shape (n_t, K, D) = ({len(t_values)}, {len(class_names)}, D), "
                         f"got {tuple(cc.shape)}.")
    zmax = float(np.abs(cc).max())

    def heading(t):
        return subtitle(title or "The conditioning vector c = t_emb(t) + y_emb(y) that every block sees",
                        f"t = {t:g}; one row per label y, D = {cc.shape[2]} features")

    fig = figure(go.Heatmap(z=rounded(cc[active], 4), y=list(class_names), colorscale="RdBu_r",
                            zmin=-zmax, zmax=zmax, colorbar=dict(title="value", thickness=12),
                            hovertemplate="label %{y}<br>feature %{x}: %{z:.4f}<extra></extra>"))
    steps = [step(f"{t:g}", {"z": [rounded(cc[i], 4)]}, {"title.text": heading(t)}, [0])
             for i, t in enumerate(t_values)]
    fig.update_layout(title=heading(t_values[active]),
                      sliders=[slider(steps, active=active, prefix="timestep t = ", pad=40)],
                      xaxis_title="feature (0 .. D-1)", yaxis=dict(title="label y", autorange="reversed", type="category"))
    return fig.update_layout(height=460, margin=dict(t=90))


def conditioning_mpl(t_emb: torch.Tensor, y_emb: torch.Tensor, *, t_label: str = "", y_label: str = ""):
    """Matplotlib figure for the live widget: t_emb (D,), y_emb (D,) and their sum c, as three
    rows of bars sharing one scale. Returns a `matplotlib.figure.Figure` (no pyplot state)."""
    from matplotlib.figure import Figure

    te, ye = as_numpy(t_emb).reshape(-1), as_numpy(y_emb).reshape(-1)
    if te.shape != ye.shape:
        raise ValueError(f"t_emb and y_emb must have the same size D, got {te.shape[0]} and {ye.shape[0]}.")
    c = te + ye
    lim = 1.05 * max(np.abs(c).max(), np.abs(te).max(), np.abs(ye).max(), 1e-6)
    fig = Figure(figsize=(9.0, 4.6), dpi=100, facecolor=PAPER)
    axes = fig.subplots(3, 1, sharex=True)
    rows = [(te, f"t_emb  (t = {t_label})", COLORWAY[0]), (ye, f"y_emb  (y = {y_label})", COLORWAY[2]),
            (c, "c = t_emb + y_emb", COLORWAY[4])]
    for ax, (v, name, color) in zip(axes, rows):
        ax.bar(np.arange(len(v)), v, width=1.0, color=color)
        ax.set_ylim(-lim, lim)
        ax.axhline(0, color="#9aa5b1", lw=0.8)
        ax.set_title(f"{name}    ‖·‖ = {np.linalg.norm(v):.3f}", fontsize=10, loc="left", color=FONT["color"])
        ax.tick_params(labelsize=8, colors=FONT["color"])
        for spine in ax.spines.values():
            spine.set_color("#9aa5b1")
    axes[-1].set_xlabel("feature (0 .. D-1)", fontsize=9, color=FONT["color"])
    fig.tight_layout()
    return fig


__all__ = ["timestep_vector_figure", "timestep_curves_figure", "cosine_similarity_matrix", "similarity_matrix_figure",
           "similarity_profile_figure", "label_dropout_figure", "conditioning_figure", "conditioning_mpl"]

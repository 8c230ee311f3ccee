"""Figures for chapter 4, adaLN-Zero: the gates opening during training, what each gate
contributes, and samples with scaled gates (the four conditioning designs trained side by side
are `viz.ablation`).

Pure functions: recorded numbers and tensors in, figures out (nothing here trains or samples).
Plotly figures are for the site (sliders and dropdowns over precomputed data, no kernel needed);
`samples_mpl` draws the matplotlib picture of the live gate widget.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..plotting import (COLORWAY, FONT, PAPER, figure, frame_axes, menu, png_data_uri, rounded, sample_grid, slider,
                        step, subplots, subtitle)

BRANCHES = ("attention", "MLP")
BRANCH_COLORS = {"attention": COLORWAY[0], "MLP": COLORWAY[2]}   # chapter 1's colours for the two branches


def _gates_array(gates) -> np.ndarray:
    g = np.asarray(gates, dtype=np.float64)
    if g.ndim != 4 or g.shape[-1] != 2:
        raise ValueError(f"gates must have shape (n_steps, n_t, depth, 2) (attention, MLP), got {g.shape}.")
    return g


def _check_len(name: str, values, n: int) -> None:
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries but the gates have {n}; pass one per entry.")


# ----------------------------------------------------------------------------- gates over training


def gate_opening_figure(steps: Sequence[int], timesteps: Sequence[int], gates, *, active: int | None = None,
                        title: str | None = None):
    """The recorded mean |gate| of every block, with a slider over the training steps of the probes
    (starting at the first probe after step 0).

    Left: bars per block for the attention and the MLP gate, averaged over the probe timesteps.
    Right: a heatmap of the same gates at each probe timestep (rows) for every block and branch.
    `gates`: (n_steps, n_t, depth, 2) as in the training record (`record["gates"]`).
    """
    import plotly.graph_objects as go

    g = _gates_array(gates)
    n_steps, n_t, depth, _ = g.shape
    _check_len("steps", steps, n_steps)
    _check_len("timesteps", timesteps, n_t)
    active = min(1, n_steps - 1) if active is None else active       # the first probe after step 0
    blocks = [f"block {i + 1}" for i in range(depth)]
    cols = [f"{i + 1}·{'attn' if br == 'attention' else br}" for i in range(depth) for br in BRANCHES]
    rows = [f"t = {t}" for t in timesteps]
    top = float(g.max()) * 1.08 or 1.0
    mean_t = g.mean(axis=1)                                                    # (n_steps, depth, 2)

    fig = subplots(rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.12,
                   subplot_titles=["mean over the probe timesteps", "at each probe timestep"])
    for b, br in enumerate(BRANCHES):
        fig.add_trace(go.Bar(x=blocks, y=rounded(mean_t[active, :, b], 4), name=f"{br} gate (gate_{'msa' if b == 0 else 'mlp'})",
                             marker_color=BRANCH_COLORS[br],
                             hovertemplate=f"%{{x}}, {br}: mean |gate| %{{y:.4f}}<extra></extra>"), row=1, col=1)

    def z(k):
        return rounded(g[k].reshape(n_t, depth * 2), 4)                        # (n_t, depth*2): block-major

    fig.add_trace(go.Heatmap(z=z(active), x=cols, y=rows, zmin=0, zmax=top, colorscale="Viridis",
                             colorbar=dict(title="mean |gate|", thickness=12, x=1.02),
                             hovertemplate="%{y}, %{x}: %{z:.4f}<extra></extra>"), row=1, col=2)

    def heading(k):
        return subtitle(title or "The adaLN-Zero gates open during training",
                        f"training step {steps[k]}: mean |gate| over D = 128 entries and the labels"
                        f"{' (exactly 0 at step 0)' if steps[k] == 0 else ''}")

    slider_steps = [step(str(s), {"y": [rounded(mean_t[k, :, 0], 4), rounded(mean_t[k, :, 1], 4), rows],
                         "z": [None, None, z(k)]}, {"title.text": heading(k)}, [0, 1, 2])
                    for k, s in enumerate(steps)]
    fig.update_layout(title=heading(active), barmode="group",
                      sliders=[slider(slider_steps, active=active, prefix="training step ", pad=80)],
                      legend=dict(x=0.01, y=0.99, xanchor="left", yanchor="top", bgcolor="rgba(255,255,255,0.8)"),
                      yaxis=dict(title="mean |gate|", range=[0, top * 1.25]))
    fig.update_yaxes(autorange="reversed", row=1, col=2)
    fig.update_xaxes(title_text="block·branch", tickangle=-45, row=1, col=2)
    return fig.update_layout(height=500, margin=dict(t=110, b=90))


def gate_curves_figure(steps: Sequence[int], timesteps: Sequence[int], gates, *, title: str | None = None,
                       log_x: bool = False):
    """Mean |gate| of every block and branch over training (one line each; solid: attention, dashed:
    MLP), with a dropdown over the probe timestep (first entry: the mean over them)."""
    import plotly.graph_objects as go

    g = _gates_array(gates)
    n_steps, n_t, depth, _ = g.shape
    _check_len("steps", steps, n_steps)
    _check_len("timesteps", timesteps, n_t)
    views = {"mean over t": g.mean(axis=1)} | {f"t = {t}": g[:, i] for i, t in enumerate(timesteps)}
    x = [max(int(s), 1) for s in steps] if log_x else [int(s) for s in steps]
    fig = figure()
    for b in range(depth):
        for br_i, br in enumerate(BRANCHES):
            fig.add_trace(go.Scatter(
                x=x, y=rounded(views["mean over t"][:, b, br_i], 4), mode="lines", name=f"block {b + 1}, {br}",
                line=dict(color=COLORWAY[b % len(COLORWAY)], width=2, dash="solid" if br_i == 0 else "dash"),
                hovertemplate=f"block {b + 1}, {br}<br>step %{{x}}: %{{y:.4f}}<extra></extra>"))
    buttons = []
    for label, v in views.items():
        ys = [rounded(v[:, b, br_i], 4) for b in range(depth) for br_i in range(2)]
        buttons.append(step(label, {"y": ys}, {"title.text": _curves_heading(title, label)}))
    fig.update_layout(title=_curves_heading(title, "mean over t"),
                      xaxis=dict(title="training step" + (" (log scale; step 0 drawn at 1)" if log_x else ""),
                                 type="log" if log_x else "linear"),
                      yaxis_title="mean |gate|",
                      updatemenus=[menu(buttons, x=1.0, xanchor="right", y=1.12, yanchor="bottom")],
                      legend=dict(font=dict(size=11)))
    return fig.update_layout(height=480, margin=dict(t=110))


def _curves_heading(title, label):
    return subtitle(title or "Gate magnitudes over training, per block and branch",
                    f"{label}; solid: attention gate, dashed: MLP gate")


# ----------------------------------------------------------------------------- gradients at a zero start


def gradient_flow_figure(groups: Sequence[str], steps: Sequence[int], norms, *, title: str | None = None):
    """Which parameter groups receive a gradient at each of the first training steps: a heatmap of
    log10 of the gradient norm (groups x steps); cells with a gradient of exactly 0 are left blank
    and marked "0". `norms`: (len(groups), len(steps)), non-negative."""
    import plotly.graph_objects as go

    n = np.asarray(norms, dtype=np.float64)
    if n.shape != (len(groups), len(steps)):
        raise ValueError(f"norms must have shape (groups, steps) = ({len(groups)}, {len(steps)}), got {n.shape}.")
    if (n < 0).any():
        raise ValueError("gradient norms must be non-negative.")
    with np.errstate(divide="ignore"):
        z = np.where(n > 0, np.log10(np.where(n > 0, n, 1)), np.nan)
    text = [["0" if v == 0 else f"{v:.1e}" for v in row] for row in n]
    x = [f"step {s}" for s in steps]
    fig = figure(go.Heatmap(z=[[None if np.isnan(v) else round(float(v), 3) for v in row] for row in z],
                            x=x, y=list(groups), text=text, texttemplate="%{text}", colorscale="Viridis",
                            colorbar=dict(title="log10 ‖grad‖", thickness=12), xgap=3, ygap=3,
                            hovertemplate="%{y}<br>%{x}: ‖grad‖ = %{text}<extra></extra>"))
    fig.update_layout(title=subtitle(title or "Who learns first after a zero start",
                                     "norm of the gradient of each parameter group; 0: exactly zero"),
                      yaxis=dict(autorange="reversed"), plot_bgcolor="#f3f4f6")
    return fig.update_layout(height=120 + 42 * len(groups), margin=dict(t=90, l=260), plot_bgcolor="#f3f4f6")


# ----------------------------------------------------------------------------- what each gate does


def knockout_figure(ratio, timesteps: Sequence[int], *, baseline=None, active: int | None = None,
                    title: str | None = None):
    """How many times larger the held-out noise-prediction error gets when one block's attention or
    MLP gates are set to 0: grouped bars per block on a log axis (1 = no change), with a dropdown over
    the timestep. (No average over t: the trained model's error differs by orders of magnitude
    between small and large t, so one ratio per timestep is the honest summary.)

    `ratio`: (depth, 2, n_t) error with the branch switched off / error of the trained model.
    `baseline`: (n_t,) the trained model's error, named in the subtitle.
    """
    import plotly.graph_objects as go

    r = np.asarray(ratio, dtype=np.float64)
    if r.ndim != 3 or r.shape[1] != 2:
        raise ValueError(f"ratio must have shape (depth, 2, n_t), got {r.shape}.")
    if (r <= 0).any():
        raise ValueError("ratios must be positive (error with a branch off / error of the trained model).")
    depth, _, n_t = r.shape
    _check_len("timesteps", timesteps, n_t)
    if baseline is not None:
        _check_len("baseline", baseline, n_t)
    active = n_t // 2 if active is None else active
    blocks = [f"block {i + 1}" for i in range(depth)]

    def labels(v):
        return [f"×{x:.3g}" for x in v]

    fig = figure([go.Bar(x=blocks, y=rounded(r[:, b, active], 4), name=f"{br} gates set to 0",
                         marker_color=BRANCH_COLORS[br], text=labels(r[:, b, active]), textposition="outside",
                         hovertemplate=f"%{{x}}, {br} off: error ×%{{y:.3f}}<extra></extra>")
                  for b, br in enumerate(BRANCHES)])

    def heading(k):
        base = f"; the trained model's error there: {float(baseline[k]):.2e}" if baseline is not None else ""
        return subtitle(title or "Switching one branch off: how much worse the noise prediction gets",
                        f"t = {timesteps[k]}{base}; 1 = no change (log scale)")

    top = float(np.log10(r.max())) + 0.4
    buttons = [step(f"t = {t}", {"y": [rounded(r[:, 0, k], 4), rounded(r[:, 1, k], 4)],
                    "text": [labels(r[:, 0, k]), labels(r[:, 1, k])]}, {"title.text": heading(k)})
               for k, t in enumerate(timesteps)]
    fig.update_layout(title=heading(active), barmode="group",
                      yaxis=dict(title="held-out mse, branch off / trained", type="log",
                                 range=[min(0.0, float(np.log10(r.min())) - 0.05), top]),
                      updatemenus=[menu(buttons, x=1.0, xanchor="right", y=1.12, yanchor="bottom", active=active)],
                      legend=dict(orientation="h", y=-0.14, yanchor="top", x=0))
    return fig.update_layout(height=460, margin=dict(t=110, b=100))


# ----------------------------------------------------------------------------- samples with scaled gates


def gate_scale_samples_figure(factors: Sequence[float], rows: Sequence[str], samples: Mapping[float, Sequence[torch.Tensor]],
                              *, active: int | None = None, class_names: Sequence[str] | None = None,
                              title: str | None = None):
    """Samples of a trained model with gates scaled by a factor (slider), one row per choice of gates
    (e.g. block 1 ... block N, all blocks); every row starts from the same noise.

    `samples`: factor -> list (one per row) of (N, C, H, W) images in [-1, 1].
    """
    import plotly.graph_objects as go

    factors = list(factors)
    if not factors or any(f not in samples for f in factors):
        raise ValueError("samples must hold one entry per factor in `factors`.")
    for f in factors:
        _check_len(f"samples[{f}]", samples[f], len(rows))
    active = factors.index(1.0) if active is None and 1.0 in factors else (active or 0)
    N, _, H, W = samples[factors[0]][0].shape
    scale, gap = 6, 2
    pics = {f: png_data_uri(sample_grid(list(samples[f]), scale=scale, gap=gap)) for f in factors}
    pic_h = len(rows) * (H * scale + gap) + gap
    pic_w = N * (W * scale + gap) + gap

    def heading(f):
        what = "as trained" if f == 1 else "switched off" if f == 0 else f"multiplied by {f:g}"
        return subtitle(title or "Samples of the trained model with its gates scaled",
                        f"gates {what}; each row scales the gates of one choice of blocks, same noise everywhere")

    fig = figure(go.Image(source=pics[factors[active]], hoverinfo="skip"))
    fig.update_layout(title=heading(factors[active]),
                      sliders=[slider([step(f"{f:g}", {"source": [pics[f]]}, {"title.text": heading(f)}, [0])
                                      for f in factors], active=active, prefix="gate factor = ", pad=30)])
    y_mid = [gap + i * (H * scale + gap) + H * scale / 2 for i in range(len(rows))]
    x_mid = [gap + j * (W * scale + gap) + W * scale / 2 for j in range(N)]
    fig.update_yaxes(tickvals=y_mid, ticktext=list(rows), showgrid=False, zeroline=False, range=[pic_h, 0])
    fig.update_xaxes(tickvals=x_mid, ticktext=list(class_names) if class_names else [str(j) for j in range(N)],
                     showgrid=False, zeroline=False, side="top", range=[0, pic_w], title="class label y")
    fig.update_yaxes(scaleanchor="x", constrain="domain")
    return fig.update_layout(height=int(230 + 1.35 * pic_h), margin=dict(t=130, l=100, b=40))


def samples_mpl(rows: Mapping[str, torch.Tensor], *, title: str = "", class_names: Sequence[str] | None = None):
    """Matplotlib figure for the live gate widget: one row of samples per entry of `rows`
    (name -> (N, C, H, W) in [-1, 1]). Returns a `matplotlib.figure.Figure` (no pyplot state)."""
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError("rows is empty; pass {row name: (N, C, H, W) images}.")
    names = list(rows)
    grid = sample_grid([rows[n] for n in names], scale=6, gap=2)
    N, _, H, _ = rows[names[0]].shape
    fig = Figure(figsize=(9.0, 0.9 + 1.0 * len(names)), dpi=100, facecolor=PAPER)
    ax = fig.subplots()
    ax.imshow(grid, interpolation="nearest")
    step = H * 6 + 2
    ax.set_yticks([2 + i * step + H * 3 for i in range(len(names))], names, fontsize=9, color=FONT["color"])
    ax.set_xticks([2 + j * step + H * 3 for j in range(N)],
                  list(class_names) if class_names else [str(j) for j in range(N)], fontsize=9, color=FONT["color"])
    ax.xaxis.tick_top()
    return frame_axes(fig, [ax], title or None, keep_ticks=True)


__all__ = ["gate_opening_figure", "gate_curves_figure", "gradient_flow_figure", "knockout_figure",
           "gate_scale_samples_figure", "samples_mpl"]

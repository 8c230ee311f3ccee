"""Figures for chapter 8, training a tiny DiT: what a run records (loss, gates, samples over
training) and what the loss averages over (the EMA of the weights is `viz.ema`).

Pure functions: recorded numbers and tensors in, figures out (nothing here trains or samples).
Plotly figures are for the site (sliders over precomputed data, no kernel needed); `live_run_mpl`
draws the matplotlib picture of the live training widget.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..plotting import (COLORWAY, FONT, GRID, PAPER, figure, frame_axes, png_data_uri, rounded, sample_grid, slider,
                        step, subplots, subtitle)

SCALE, GAP = 6, 2                     # sample pictures: each pixel drawn 6 x 6, 2-pixel gaps
RECIPE_COLORS = COLORWAY              # one colour per EMA recipe, in the order given


def from_uint8(x: torch.Tensor) -> torch.Tensor:
    """Images stored as uint8 in [0, 255] (as the trainer records its sample grids) -> float in [-1, 1]."""
    if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8:
        kind = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected a uint8 tensor (values 0..255), got {kind}.")
    return x.float() / 127.5 - 1.0


def check_same_len(**named) -> int:
    lengths = {k: len(v) for k, v in named.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"these must have the same length: {lengths}.")
    return next(iter(lengths.values()))


def _rows_of(x: torch.Tensor, per_row: int) -> list[torch.Tensor]:
    """(N, C, H, W) -> rows of `per_row` images (the last row may be shorter: it is padded with -1)."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"samples must be tensors (N, C, H, W), got {getattr(x, 'shape', type(x).__name__)}.")
    n_rows = -(-len(x) // per_row)
    pad = n_rows * per_row - len(x)
    if pad:
        x = torch.cat([x, -torch.ones(pad, *x.shape[1:])])
    return list(x.reshape(n_rows, per_row, *x.shape[1:]))


def picture(x: torch.Tensor, per_row: int) -> tuple[str, int, int]:
    rows = _rows_of(x.detach().float().cpu().clamp(-1, 1), per_row)
    pic = sample_grid(rows, scale=SCALE, gap=GAP)
    return png_data_uri(pic), pic.shape[0], pic.shape[1]


# ----------------------------------------------------------------------------- what a run records


def training_record_figure(loss_steps: Sequence[int], loss: Sequence[float], gate_steps: Sequence[int], gates,
                           samples: Mapping[int, torch.Tensor], *, judged: Mapping[int, Sequence[int]] | None = None,
                           class_names: Sequence[str] | None = None, active: int = 0, title: str | None = None):
    """A training run at a glance, with a slider over the steps at which samples were recorded.

    Top: the sample grid recorded at the slider's step, one image per column (the class asked
    for below it). Bottom left: the (smoothed) training loss, log scale; bottom right: the mean
    |gate| of every block (over the probe timesteps and both branches). A dashed line marks the
    step on both curves; the title names the loss there and, when `judged` is given, the class
    the judge reads in every sample and how many are the class asked for.

    `gates`: (n_probes, n_t, depth, 2) as in the training record; `samples`: step -> (N, C, H, W)
    in [-1, 1] (samples of class j in column j); `judged`: step -> the judge's class per sample.
    """
    import plotly.graph_objects as go

    check_same_len(loss_steps=loss_steps, loss=loss)
    g = np.asarray(gates, dtype=np.float64)
    if g.ndim != 4 or g.shape[-1] != 2:
        raise ValueError(f"gates must have shape (n_probes, n_t, depth, 2), got {g.shape}.")
    if len(gate_steps) != len(g):
        raise ValueError(f"gate_steps has {len(gate_steps)} entries but gates has {len(g)} probes.")
    steps = sorted(int(s) for s in samples)
    if not steps:
        raise ValueError("samples is empty; pass {step: (N, C, H, W) images}.")
    if not 0 <= active < len(steps):
        raise ValueError(f"active must index the {len(steps)} sample steps, got {active}.")
    if judged is not None and set(int(s) for s in judged) != set(steps):
        raise ValueError(f"judged must have the same steps as samples ({steps}), got {sorted(judged)}.")
    N = len(samples[steps[0]])
    pics = {s: picture(samples[s], N) for s in steps}
    depth = g.shape[2]
    per_block = g.mean(axis=(1, 3))                                           # (n_probes, depth)

    fig = subplots(rows=2, cols=2, row_heights=[0.42, 0.58], specs=[[{"colspan": 2}, None], [{}, {}]],
                   horizontal_spacing=0.12, vertical_spacing=0.16,
                   subplot_titles=["samples recorded at this step (EMA weights)", "training loss (smoothed)",
                                   "mean |gate| per block"])
    fig.add_trace(go.Image(source=pics[steps[active]][0], hoverinfo="skip"), row=1, col=1)
    fig.add_trace(go.Scatter(x=list(map(int, loss_steps)), y=rounded(loss, 5), mode="lines", name="loss",
                             line=dict(color=COLORWAY[0], width=2), showlegend=False,
                             hovertemplate="step %{x}: loss %{y:.4f}<extra></extra>"), row=2, col=1)
    for b in range(depth):
        fig.add_trace(go.Scatter(x=list(map(int, gate_steps)), y=rounded(per_block[:, b], 4), mode="lines",
                                 name=f"block {b + 1}", line=dict(color=COLORWAY[(b + 1) % len(COLORWAY)], width=2),
                                 hovertemplate=f"block {b + 1}, step %{{x}}: mean |gate| %{{y:.4f}}<extra></extra>"),
                      row=2, col=2)

    def loss_at(s):
        return float(np.interp(s, loss_steps, loss))

    def marks(s):
        line = dict(type="line", x0=s, x1=s, y0=0, y1=1, line=dict(color=COLORWAY[1], width=2, dash="dash"))
        return [dict(line, xref="x2", yref="y2 domain"), dict(line, xref="x3", yref="y3 domain")]

    def heading(s):
        what = f"step {s}: loss {loss_at(s):.4f}"
        if judged is not None:
            read = [int(c) for c in judged[s]]
            right = sum(int(r == j) for j, r in enumerate(read))                # column j asked for class j
            names = [class_names[r] if class_names else str(r) for r in read]
            what += f"; the judge reads {' '.join(names)} ({right} of {len(read)} as asked)"
        return subtitle(title or "A training run: loss, gates and samples", f"{what}")

    lo, hi = float(np.min(loss)), float(np.max(loss))
    ticks = [v for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10) if lo / 2 <= v <= hi * 2]
    fig.update_layout(
        title=heading(steps[active]), shapes=marks(steps[active]),
        sliders=[slider([step(str(s), {"source": [pics[s][0]]}, {"title.text": heading(s), "shapes": marks(s)}, [0])
                        for s in steps], active=active, prefix="training step ", pad=60)],
        # the legend sits in the gate panel's lower right (the gates settle well above zero), clear of its title
        legend=dict(x=1.0, y=fig.layout.yaxis3.domain[0] + 0.01, xanchor="right", yanchor="bottom",
                    bgcolor="rgba(255,255,255,0.85)", font=dict(size=11)))
    fig.update_yaxes(type="log", title_text="loss (log scale)", tickvals=ticks, ticktext=[f"{v:g}" for v in ticks],
                     row=2, col=1)
    fig.update_yaxes(title_text="mean |gate|", rangemode="tozero", row=2, col=2)
    fig.update_xaxes(title_text="training step", row=2, col=1)
    fig.update_xaxes(title_text="training step", matches="x2", row=2, col=2)
    W = samples[steps[0]].shape[-1]
    x_mid = [GAP + j * (W * SCALE + GAP) + W * SCALE / 2 for j in range(N)]
    labels = list(class_names) if class_names else [str(j) for j in range(N)]
    fig.update_xaxes(tickvals=x_mid, ticktext=labels[:N], showgrid=False, zeroline=False, title_text="class asked for",
                     row=1, col=1)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, row=1, col=1)
    return fig.update_layout(height=640, margin=dict(t=100, b=60))


# ----------------------------------------------------------------------------- what the loss averages


def loss_by_t_figure(timesteps: Sequence[int], mse: Sequence[float], vb: Sequence[float],
                     cum_share: Sequence[float] | None = None, mse_null: Sequence[float] | None = None, *,
                     title: str | None = None):
    """The two terms of the hybrid loss of a trained model at each timestep t (log scale, left axis);
    optionally the noise-prediction error with the null label instead of the class (`mse_null`,
    dashed), and the cumulative share of the t-averaged loss that timesteps 0..t contribute
    (`cum_share`, right axis, 0 to 100 %)."""
    import plotly.graph_objects as go

    n = check_same_len(timesteps=timesteps, mse=mse, vb=vb)
    for name, v in (("cum_share", cum_share), ("mse_null", mse_null)):
        if v is not None and len(v) != n:
            raise ValueError(f"{name} has {len(v)} entries for {n} timesteps.")
    t = [int(v) for v in timesteps]
    fig = figure()
    fig.add_trace(go.Scatter(x=t, y=rounded(mse, 6), mode="lines+markers", name="mse: ‖ε − ε̂‖² per pixel",
                             line=dict(color=COLORWAY[0], width=2),
                             hovertemplate="t = %{x}: mse %{y:.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=t, y=[max(v, 1e-7) for v in rounded(vb, 7)], mode="lines+markers",
                             name="vb: L_t in bits per pixel", line=dict(color=COLORWAY[2], width=2),
                             hovertemplate="t = %{x}: vb %{y:.2e}<extra></extra>"))
    if mse_null is not None:
        fig.add_trace(go.Scatter(x=t, y=rounded(mse_null, 6), mode="lines", name="mse with the null label ∅",
                                 line=dict(color=COLORWAY[1], width=2, dash="dash"),
                                 hovertemplate="t = %{x}: mse with ∅ %{y:.4f}<extra></extra>"))
    if cum_share is not None:
        fig.add_trace(go.Scatter(x=t, y=rounded(np.asarray(cum_share) * 100, 2), mode="lines", yaxis="y2",
                                 name="share of the average loss from steps 0..t",
                                 line=dict(color=COLORWAY[3], width=2, dash="dot"),
                                 hovertemplate="t ≤ %{x}: %{y:.1f} % of the loss<extra></extra>"))
    fig.update_layout(title=subtitle(title or "What the training loss averages over",
                                     "a trained model's loss terms at each timestep, on held-out digits"),
                      xaxis=dict(title="t (array index)"),
                      yaxis=dict(title="loss term (log scale)", type="log", exponentformat="power"),
                      yaxis2=dict(title="cumulative share (%)", overlaying="y", side="right", range=[0, 101],
                                  showgrid=False, tickmode="array", tickvals=[0, 25, 50, 75, 100]),
                      legend=dict(orientation="h", y=-0.2, yanchor="top", x=0))
    return fig.update_layout(height=460, margin=dict(t=90, b=110, r=70))


# ----------------------------------------------------------------------------- the live widget


def live_run_mpl(loss_steps: Sequence[int], loss: Sequence[float], rows: Mapping[str, torch.Tensor], *,
                 class_names: Sequence[str] | None = None, title: str = "",
                 judged: Mapping[str, Sequence[int]] | None = None):
    """Matplotlib figure of a live training run: the loss curve (left, log scale) and the
    samples of every entry of `rows` (name -> (N, C, H, W) in [-1, 1], sample i of class
    i % K), K = len(class_names) per line, one column per class. `judged` (name -> the class the
    judge reads in each sample) frames in red every sample read as another class. No pyplot state."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FixedLocator, NullLocator

    check_same_len(loss_steps=loss_steps, loss=loss)
    if not rows:
        raise ValueError("rows is empty; pass {row name: (N, C, H, W) images}.")
    names = list(rows)
    judged = dict(judged or {})
    if set(judged) - set(names) or any(len(judged[k]) != len(rows[k]) for k in judged):
        raise ValueError(f"judged must give one class per sample of a row of rows {names}, got "
                         f"{ {k: len(v) for k, v in judged.items()} } for rows of {[len(rows[k]) for k in names]}.")
    K = len(class_names) if class_names else len(rows[names[0]])
    lines, centres, misread = [], [], []
    H = rows[names[0]].shape[-1]
    step = H * SCALE + GAP
    for name in names:
        misread += [(len(lines) + i // K, i % K) for i, c in enumerate(judged.get(name, [])) if int(c) != i % K]
        chunk = _rows_of(rows[name].detach().float().cpu().clamp(-1, 1), K)
        centres.append(GAP + (len(lines) + len(chunk) / 2) * step - GAP / 2)   # the middle of its lines
        lines += chunk
    grid = sample_grid(lines, scale=SCALE, gap=GAP)
    fig = Figure(figsize=(10.0, max(3.0, 1.2 + 0.55 * len(lines))), dpi=100, facecolor=PAPER)
    ax_loss, ax_img = fig.subplots(1, 2, gridspec_kw=dict(width_ratios=[1, 1.5]))
    ax_loss.plot(list(loss_steps), list(loss), color=COLORWAY[0], lw=2)
    ax_loss.set_yscale("log")
    lo, hi = float(np.min(loss)), float(np.max(loss))
    ticks = [v for v in (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5, 10) if lo / 1.5 <= v <= hi * 1.5]
    ax_loss.yaxis.set_major_locator(FixedLocator(ticks))
    ax_loss.yaxis.set_minor_locator(NullLocator())
    ax_loss.set_yticklabels([f"{v:g}" for v in ticks])
    ax_loss.set_xlabel("training step", fontsize=9, color=FONT["color"])
    ax_loss.set_ylabel("loss (smoothed, log scale)", fontsize=9, color=FONT["color"])
    ax_loss.grid(True, color=GRID)
    ax_loss.tick_params(labelsize=8, colors=FONT["color"])
    ax_img.imshow(grid, interpolation="nearest")
    for line, col in misread:                                   # read by the judge as another class
        ax_img.add_patch(Rectangle((GAP + col * step - 1.5, GAP + line * step - 1.5), H * SCALE + 2, H * SCALE + 2,
                                   fill=False, edgecolor="#d62728", lw=1.5))
    ax_img.set_yticks(centres, names, fontsize=9, color=FONT["color"])
    ax_img.set_xticks([GAP + j * step + H * SCALE / 2 for j in range(K)],
                      list(class_names) if class_names else [str(j) for j in range(K)], fontsize=8,
                      color=FONT["color"])
    ax_img.tick_params(length=0)
    ax_img.xaxis.tick_top()
    return frame_axes(fig, [ax_loss, ax_img], title or None, keep_ticks=True)


__all__ = ["from_uint8", "training_record_figure", "loss_by_t_figure", "live_run_mpl"]

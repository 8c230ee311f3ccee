"""Figures for chapter 8, training a tiny DiT: what a run records (loss, gates, samples over
training), what the loss averages over, how an exponential moving average (EMA) weighs the past,
and what a share of the initial weights does to the samples.

Pure functions: recorded numbers and tensors in, figures out (nothing here trains or samples).
Plotly figures are for the site (sliders over precomputed data, no kernel needed); `live_run_mpl`
draws the matplotlib picture of the live training widget.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from . import COLORWAY, FONT, GRID, PAPER, frame_axes, style
from .conditioning import sample_grid
from .tokens import png_data_uri, rounded

SCALE, GAP = 6, 2                     # sample pictures: each pixel drawn 6 x 6, 2-pixel gaps
RECIPE_COLORS = COLORWAY              # one colour per EMA recipe, in the order given


def from_uint8(x: torch.Tensor) -> torch.Tensor:
    """Images stored as uint8 in [0, 255] (as the trainer records its sample grids) -> float in [-1, 1]."""
    if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8:
        kind = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected a uint8 tensor (values 0..255), got {kind}.")
    return x.float() / 127.5 - 1.0


def _check_same_len(**named) -> int:
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


def _picture(x: torch.Tensor, per_row: int) -> tuple[str, int, int]:
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
    from plotly.subplots import make_subplots

    _check_same_len(loss_steps=loss_steps, loss=loss)
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
    pics = {s: _picture(samples[s], N) for s in steps}
    depth = g.shape[2]
    per_block = g.mean(axis=(1, 3))                                           # (n_probes, depth)

    fig = make_subplots(rows=2, cols=2, row_heights=[0.42, 0.58], specs=[[{"colspan": 2}, None], [{}, {}]],
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
        return (title or "A training run: loss, gates and samples") + f"<br><sup>{what}</sup>"

    lo, hi = float(np.min(loss)), float(np.max(loss))
    ticks = [v for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10) if lo / 2 <= v <= hi * 2]
    fig.update_layout(
        title=heading(steps[active]), shapes=marks(steps[active]),
        sliders=[dict(active=active, currentvalue=dict(prefix="training step "), pad=dict(t=60),
                      steps=[dict(label=str(s), method="update",
                                  args=[{"source": [pics[s][0]]},
                                        {"title.text": heading(s), "shapes": marks(s)}, [0]])
                             for s in steps])],
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
    return style(fig, height=640).update_layout(margin=dict(t=100, b=60))


# ----------------------------------------------------------------------------- what the loss averages


def loss_by_t_figure(timesteps: Sequence[int], mse: Sequence[float], vb: Sequence[float],
                     cum_share: Sequence[float] | None = None, mse_null: Sequence[float] | None = None, *,
                     title: str | None = None):
    """The two terms of the hybrid loss of a trained model at each timestep t (log scale, left axis);
    optionally the noise-prediction error with the null label instead of the class (`mse_null`,
    dashed), and the cumulative share of the t-averaged loss that timesteps 0..t contribute
    (`cum_share`, right axis, 0 to 100 %)."""
    import plotly.graph_objects as go

    n = _check_same_len(timesteps=timesteps, mse=mse, vb=vb)
    for name, v in (("cum_share", cum_share), ("mse_null", mse_null)):
        if v is not None and len(v) != n:
            raise ValueError(f"{name} has {len(v)} entries for {n} timesteps.")
    t = [int(v) for v in timesteps]
    fig = go.Figure()
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
    fig.update_layout(title=(title or "What the training loss averages over") +
                      "<br><sup>a trained model's loss terms at each timestep, on held-out digits</sup>",
                      xaxis=dict(title="t (array index)"),
                      yaxis=dict(title="loss term (log scale)", type="log", exponentformat="power"),
                      yaxis2=dict(title="cumulative share (%)", overlaying="y", side="right", range=[0, 101],
                                  showgrid=False, tickmode="array", tickvals=[0, 25, 50, 75, 100]),
                      legend=dict(orientation="h", y=-0.2, yanchor="top", x=0))
    return style(fig, height=460).update_layout(margin=dict(t=90, b=110, r=70))


# ----------------------------------------------------------------------------- the EMA


def ema_profile_figure(n_grid: Sequence[int], recipes: Mapping[str, Mapping[str, Sequence[float]]], n_final: int, *,
                       title: str | None = None):
    """How an EMA weighs the past, one colour per recipe (e.g. fixed 0.999, fixed 0.9999, warm-up).

    Left: the share of the initial weights theta_0 left in the average after n updates (log scale).
    Right: the weight of each iterate theta_k (k = 0..n_final) in the average after n_final updates.
    `recipes`: name -> {"share": values over n_grid, "weights": n_final + 1 values}.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not recipes:
        raise ValueError("recipes is empty; pass {name: {'share': ..., 'weights': ...}}.")
    for name, r in recipes.items():
        if len(r["share"]) != len(n_grid):
            raise ValueError(f"recipe {name!r}: share has {len(r['share'])} values for {len(n_grid)} steps.")
        if len(r["weights"]) != n_final + 1:
            raise ValueError(f"recipe {name!r}: weights must hold n_final + 1 = {n_final + 1} values "
                             f"(theta_0 .. theta_n), got {len(r['weights'])}.")
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.15,
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
    fig.update_layout(title=(title or "What an exponential moving average remembers") +
                      "<br><sup>θ_EMA ← d θ_EMA + (1 − d) θ after every step; the weights sum to 1</sup>",
                      legend=dict(orientation="h", y=-0.2, yanchor="top", x=0))
    return style(fig, height=470).update_layout(margin=dict(t=100, b=110))


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
    from plotly.subplots import make_subplots

    n = _check_same_len(names=names, shares=shares, accuracy=accuracy)
    if set(names) != set(samples):
        raise ValueError(f"samples must hold one entry per name in {list(names)}, got {list(samples)}.")
    if not 0 <= active < n:
        raise ValueError(f"active must index the {n} settings, got {active}.")
    per_row = len(class_names) if class_names else 10
    pics = {k: _picture(samples[k], per_row) for k in names}
    H = samples[names[0]].shape[-1]
    x_mid = [GAP + j * (H * SCALE + GAP) + H * SCALE / 2 for j in range(per_row)]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.1,
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
        return (title or "A share of the initial weights in the average") + \
            f"<br><sup>{names[k]}: {pct[k]:.3g} % of θ₀ mixed in; judge accuracy {100 * accuracy[k]:.0f} %</sup>"

    fig.update_layout(title=heading(active), shapes=marks(active),
                      sliders=[dict(active=active, currentvalue=dict(prefix="setting: "), pad=dict(t=40), x=0.06,
                                    len=0.88,
                                    steps=[dict(label=names[k], method="update",
                                                args=[{"source": [pics[names[k]][0]]},
                                                      {"title.text": heading(k), "shapes": marks(k)}, [0]])
                                           for k in range(n)])])
    fig.update_xaxes(tickvals=x_mid, ticktext=list(class_names) if class_names else [str(j) for j in range(per_row)],
                     showgrid=False, zeroline=False, side="top", row=1, col=1)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, row=1, col=1)
    fig.update_xaxes(title_text="share of θ₀ in the weights (%)", range=[-3, max(pct) * 1.25 + 3], row=1, col=2)
    fig.update_yaxes(title_text="accuracy (%)", range=[0, 105], row=1, col=2)
    return style(fig, height=520).update_layout(margin=dict(t=110, b=60))


# ----------------------------------------------------------------------------- the live widget


def live_run_mpl(loss_steps: Sequence[int], loss: Sequence[float], rows: Mapping[str, torch.Tensor], *,
                 class_names: Sequence[str] | None = None, title: str = ""):
    """Matplotlib figure for the live training widget: the loss curve (left, log scale) and the
    samples of every entry of `rows` (name -> (N, C, H, W) in [-1, 1], sample i of class
    i % K), K = len(class_names) per line, one column per class. No pyplot state."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, NullLocator

    _check_same_len(loss_steps=loss_steps, loss=loss)
    if not rows:
        raise ValueError("rows is empty; pass {row name: (N, C, H, W) images}.")
    names = list(rows)
    K = len(class_names) if class_names else len(rows[names[0]])
    lines, centres = [], []
    H = rows[names[0]].shape[-1]
    step = H * SCALE + GAP
    for name in names:
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
    ax_img.set_yticks(centres, names, fontsize=9, color=FONT["color"])
    ax_img.set_xticks([GAP + j * step + H * SCALE / 2 for j in range(K)],
                      list(class_names) if class_names else [str(j) for j in range(K)], fontsize=8,
                      color=FONT["color"])
    ax_img.tick_params(length=0)
    ax_img.xaxis.tick_top()
    return frame_axes(fig, [ax_loss, ax_img], title or None, keep_ticks=True)


__all__ = ["from_uint8", "training_record_figure", "loss_by_t_figure", "ema_profile_figure", "init_share_figure",
           "live_run_mpl"]

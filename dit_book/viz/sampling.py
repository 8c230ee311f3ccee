"""Figures for chapter 9, sampling: the trajectory of x_t and of the predicted x_0 over the steps,
and the variances of a respaced chain (sample quality against the number of steps is
`viz.quality`).

Pure functions: tensors and recorded numbers in, figures out (nothing here samples). Plotly
figures are for the site (sliders and dropdowns over precomputed data, no kernel needed);
`sampler_mpl` draws the matplotlib picture of the live sampler widget.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..plotting import (COLORWAY, FONT, PAPER, figure, menu, png_data_uri, rounded, sample_grid, slider, step, subplots,
                        subtitle)

SCALE, GAP = 6, 2          # image enlargement and gap (pixels) in the sample grids
FIT_WIDTH = 650            # about the width of a figure on a book page (pixels)
METHOD_COLORS = {"DDPM": COLORWAY[1], "DDIM": COLORWAY[0]}


def grid_uri(rows: Sequence[torch.Tensor]) -> str:
    """Rows of (N, C, H, W) images in [-1, 1] -> one PNG data URI, grayscale when C = 1 (a third of the size)."""
    rgb = sample_grid(list(rows), scale=SCALE, gap=GAP)                         # (h, w, 3) uint8
    return png_data_uri(rgb if rows[0].shape[1] != 1 else rgb[..., 0])


def _color(name: str, k: int) -> str:
    for key, color in METHOD_COLORS.items():
        if name.upper().startswith(key):
            return color
    return COLORWAY[k % len(COLORWAY)]


# ----------------------------------------------------------------------------- trajectories


def frame_views(trajectory) -> tuple[torch.Tensor, torch.Tensor]:
    """The S + 1 frames of a sampling run: (x_t, predicted x_0) after k = 0..S steps.

    Frame k shows the state after k steps and the model's x_0 prediction *from* that state; the
    last state (the sample) has no prediction of its own, so it repeats the last one (at the last
    step both samplers output their prediction, so the two rows agree there).
    Returns two tensors (S + 1, B, C, H, W).
    """
    x_t, x0 = trajectory.x_t, trajectory.pred_xstart
    if x_t.ndim != 5 or x0.ndim != 5 or len(x_t) != len(x0) + 1:
        raise ValueError(f"a Trajectory holds S + 1 states and S predictions (5-D each), got "
                         f"{tuple(x_t.shape)} and {tuple(x0.shape)}.")
    return x_t, torch.cat([x0, x0[-1:]])


def settle_distance(trajectory) -> np.ndarray:
    """Per frame k = 0..S: root-mean-square distance between the predicted x_0 of frame k and the
    final sample, averaged over the batch (images clamped to [-1, 1]); shape (S + 1,)."""
    _, x0 = frame_views(trajectory)
    final = trajectory.x_t[-1].clamp(-1, 1)
    d = (x0.clamp(-1, 1) - final).pow(2).flatten(2).mean(-1).sqrt()      # (S + 1, B)
    return d.mean(1).double().numpy()


def trajectory_figure(trajectories: Mapping[str, object], *, class_names: Sequence[str] | None = None,
                      alphas_cumprod: torch.Tensor | None = None, active: int | None = None,
                      title: str | None = None):
    """A slider over the sampling steps: for each sampler (rows x_t and predicted x_0) every
    image of the batch (columns), and below it the distance of the predicted x_0 to the final
    sample, with a line at the current step.

    `trajectories`: name -> `dit_lib.sampling.Trajectory`, all with the same timesteps and shapes
    (e.g. DDPM and DDIM started from the same noise). `alphas_cumprod` (T,): the original chain's
    abar_t, to name the noise level sqrt(1 - abar_t) of every frame in the title.
    """
    import plotly.graph_objects as go

    if not trajectories:
        raise ValueError("trajectories is empty; pass {name: Trajectory}.")
    names = list(trajectories)
    first = trajectories[names[0]]
    for name in names[1:]:
        other = trajectories[name]
        if other.x_t.shape != first.x_t.shape or not torch.equal(other.timesteps, first.timesteps):
            raise ValueError(f"trajectory {name!r} has shape {tuple(other.x_t.shape)} and its own timesteps; "
                             f"every trajectory needs the shape {tuple(first.x_t.shape)} and the same steps.")
    S = len(first.timesteps)
    B, _, H, W = first.x_t.shape[1:]
    if class_names is not None and len(class_names) != B:
        raise ValueError(f"class_names has {len(class_names)} entries for a batch of {B} images.")
    active = S // 2 if active is None else active
    if not 0 <= active <= S:
        raise ValueError(f"active must be a frame in 0..{S}, got {active}.")
    views = {n: frame_views(trajectories[n]) for n in names}
    row_names = [f"{n} {what}" for n in names for what in ("x_t", "pred. x_0")]

    def picture(k: int) -> str:
        return grid_uri([v[k] for n in names for v in views[n]])                # rows of (B, C, H, W)

    pics = [picture(k) for k in range(S + 1)]
    dist = {n: settle_distance(trajectories[n]) for n in names}
    steps_axis = list(range(S + 1))
    fig = subplots(rows=2, cols=1, row_heights=[0.56, 0.44], vertical_spacing=0.14,
                   subplot_titles=["", "how far the predicted x_0 still is from the final sample"])
    fig.add_trace(go.Image(source=pics[active], hoverinfo="skip"), row=1, col=1)
    for i, n in enumerate(names):
        fig.add_trace(go.Scatter(x=steps_axis, y=rounded(dist[n], 4), mode="lines+markers", name=n,
                                 line=dict(color=_color(n, i), width=2), marker=dict(size=4),
                                 hovertemplate=f"{n}<br>after %{{x}} steps: RMS distance %{{y:.3f}}<extra></extra>"),
                      row=2, col=1)

    def t_label(k: int) -> str:
        if k == S:
            return "the samples"
        t = int(first.timesteps[k])
        noise = ""
        if alphas_cumprod is not None:
            noise = f", noise std √(1 − ᾱ) = {float(torch.sqrt(1 - alphas_cumprod[t])):.3f}"
        return f"state at t = {t}{noise}"

    def heading(k: int) -> str:
        return subtitle(title or "The sampling trajectory: x_t and the predicted x_0",
                        f"after {k} of {S} steps: {t_label(k)}")

    def line(k: int) -> dict:
        return {"shapes[0].x0": k, "shapes[0].x1": k}

    fig.add_shape(type="line", x0=active, x1=active, y0=0, y1=1, xref="x2", yref="y2 domain",
                  line=dict(color=FONT["color"], width=1.5, dash="dot"))
    fig.update_layout(
        title=heading(active),
        sliders=[slider([step(str(k), {"source": [pics[k]]}, {"title.text": heading(k), **line(k)}, [0])
                        for k in range(S + 1)], active=active, prefix="steps taken: ", pad=40)],
        legend=dict(orientation="h", x=0.99, xanchor="right", y=0.36, yanchor="top",
                    bgcolor="rgba(255,255,255,0.8)"))
    pic_h = len(row_names) * (H * SCALE + GAP) + GAP
    pic_w = B * (W * SCALE + GAP) + GAP
    y_mid = [GAP + i * (H * SCALE + GAP) + H * SCALE / 2 for i in range(len(row_names))]
    x_mid = [GAP + j * (W * SCALE + GAP) + W * SCALE / 2 for j in range(B)]
    fig.update_xaxes(tickvals=x_mid, ticktext=list(class_names) if class_names else [str(j) for j in range(B)],
                     showgrid=False, zeroline=False, side="top", range=[0, pic_w], row=1, col=1)
    fig.update_yaxes(tickvals=y_mid, ticktext=row_names, showgrid=False, zeroline=False, range=[pic_h, 0],
                     scaleanchor="x", constrain="domain", row=1, col=1)
    fig.update_xaxes(title_text="sampling steps taken", range=[-0.5, S + 0.5], row=2, col=1)
    fig.update_yaxes(title_text="RMS distance", rangemode="tozero", row=2, col=1)
    return fig.update_layout(height=640, margin=dict(t=100, l=110, b=50))


# ----------------------------------------------------------------------------- respacing


def respacing_figure(spacings: Mapping[str, Mapping[str, object]], original_betas: torch.Tensor, *,
                     active: int = 0, title: str | None = None):
    """The variance of one reverse step on respaced chains, with a dropdown over the respacing.

    For each kept step i (x: its original timestep tau_i, the 0-based array index, titled
    "t (array index)"; y: log scale): the respaced beta'_i (upper
    bound of the learned variance), the respaced posterior variance beta-tilde'_i (lower bound),
    the learned variance Sigma_theta (median and 10-90 % band over pixels) and, dashed, the
    original beta_{tau_i}: what a sampler would use if it forgot to respace.
    `spacings`: name -> {"timesteps" (S,), "betas" (S,), "posterior_variance" (S,),
    "learned" (S, 3): the 10 %, 50 % and 90 % quantiles}. Step i = 0 is left out (beta-tilde'_0 = 0).
    """
    import plotly.graph_objects as go

    if not spacings:
        raise ValueError("spacings is empty; pass {name: {timesteps, betas, posterior_variance, learned}}.")
    names = list(spacings)
    original = np.asarray(original_betas, dtype=np.float64)
    fig, groups = figure(), []
    for j, name in enumerate(names):
        s = spacings[name]
        ts = np.asarray(s["timesteps"], dtype=np.int64)
        arrays = {k: np.asarray(s[k], dtype=np.float64) for k in ("betas", "posterior_variance", "learned")}
        S = len(ts)
        if arrays["betas"].shape != (S,) or arrays["posterior_variance"].shape != (S,) or \
                arrays["learned"].shape != (S, 3):
            raise ValueError(f"spacing {name!r}: betas and posterior_variance need shape ({S},) and learned "
                             f"({S}, 3), got {arrays['betas'].shape}, {arrays['posterior_variance'].shape}, "
                             f"{arrays['learned'].shape}.")
        if S < 2:
            raise ValueError(f"spacing {name!r} keeps {S} step; the figure needs at least 2.")
        x, keep = ts[1:].tolist(), slice(1, None)
        show = j == active
        lo, mid, hi = (arrays["learned"][keep, q] for q in range(3))
        start = len(fig.data)
        fig.add_trace(go.Scatter(x=x, y=rounded(hi, 10), mode="lines", line=dict(width=0), showlegend=False,
                                 hoverinfo="skip", visible=show))
        fig.add_trace(go.Scatter(x=x, y=rounded(lo, 10), mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor="rgba(5,150,105,0.22)", name="learned Σ_θ: 10-90 % of pixels",
                                 hoverinfo="skip", visible=show))
        mode, marker = ("lines+markers", dict(size=5)) if S <= 60 else ("lines", None)
        fig.add_trace(go.Scatter(x=x, y=rounded(arrays["betas"][keep], 10), mode=mode,
                                 name="β′ (respaced): upper bound", line=dict(color=COLORWAY[1], width=2),
                                 marker=marker, visible=show,
                                 hovertemplate="τ = %{x}: β′ = %{y:.3e}<extra></extra>"))
        fig.add_trace(go.Scatter(x=x, y=rounded(arrays["posterior_variance"][keep], 10), mode=mode,
                                 name="β̃′ (respaced): lower bound", line=dict(color=COLORWAY[0], width=2),
                                 marker=marker, visible=show,
                                 hovertemplate="τ = %{x}: β̃′ = %{y:.3e}<extra></extra>"))
        fig.add_trace(go.Scatter(x=x, y=rounded(original[ts[1:]], 10), mode="lines",
                                 name="β_τ of the 1000-step chain (not respaced)",
                                 line=dict(color=COLORWAY[7], width=2, dash="dash"), visible=show,
                                 hovertemplate="τ = %{x}: β_τ = %{y:.3e}<extra></extra>"))
        fig.add_trace(go.Scatter(x=x, y=rounded(mid, 10), mode=mode, name="learned Σ_θ: median",
                                 line=dict(color=COLORWAY[2], width=2.5), marker=marker, visible=show,
                                 hovertemplate="τ = %{x}: Σ_θ = %{y:.3e}<extra></extra>"))
        groups.append(range(start, len(fig.data)))

    def heading(j):
        S = len(spacings[names[j]]["timesteps"])
        return subtitle(title or "The variance of one reverse step, after respacing",
                        f"timestep_respacing = \"{names[j]}\": {S} kept steps; log scale")

    buttons = []
    for j, name in enumerate(names):
        vis = [i in groups[j] for i in range(len(fig.data))]
        buttons.append(step(f"\"{name}\"", {"visible": vis}, {"title.text": heading(j)}))
    fig.update_layout(title=heading(active),
                      xaxis=dict(title="t (array index)", range=[-20, 1020]),
                      yaxis=dict(title="variance of one reverse step", type="log", exponentformat="power"),
                      updatemenus=[menu(buttons, x=1.0, xanchor="right", y=1.12, yanchor="bottom", active=active)],
                      legend=dict(orientation="h", y=-0.2, yanchor="top", x=0))
    return fig.update_layout(height=520, margin=dict(t=110, b=130))


# ----------------------------------------------------------------------------- the live widget's picture


def pick_frames(num_steps: int, count: int = 8) -> list[int]:
    """`count` frames out of 0..num_steps (the S + 1 states of a run), evenly spaced, both ends kept."""
    if num_steps < 1 or count < 2:
        raise ValueError(f"need num_steps >= 1 and count >= 2, got {num_steps} and {count}.")
    return sorted(set(np.round(np.linspace(0, num_steps, min(count, num_steps + 1))).astype(int).tolist()))


def sampler_mpl(samples: torch.Tensor, trajectory, *, frames: Sequence[int] | None = None, index: int = 0,
                title: str = "", sample_labels: Sequence[str] | None = None):
    """Matplotlib figure for the live sampler widget: the samples on top; below, for sample
    `index`, x_t and the predicted x_0 at a few frames of its trajectory (k steps taken, t named).
    Returns a `matplotlib.figure.Figure` (no pyplot state)."""
    from matplotlib.figure import Figure

    x_t, x0 = frame_views(trajectory)
    S = len(trajectory.timesteps)
    frames = pick_frames(S) if frames is None else list(frames)
    if any(not 0 <= k <= S for k in frames):
        raise ValueError(f"frames must lie in 0..{S}, got {frames}.")
    top = sample_grid([samples], scale=SCALE, gap=GAP)
    bottom = sample_grid([x_t[frames, index], x0[frames, index]], scale=SCALE, gap=GAP)
    H = samples.shape[-2]
    step = H * SCALE + GAP
    fig = Figure(figsize=(9.0, 3.6), dpi=100, facecolor=PAPER)
    ax1, ax2 = fig.subplots(2, 1, gridspec_kw=dict(height_ratios=[1, 2]))
    ax1.imshow(top, interpolation="nearest")
    ax1.set_yticks([GAP + H * SCALE / 2], ["samples"], fontsize=9, color=FONT["color"])
    if sample_labels is not None:
        ax1.set_xticks([GAP + j * step + H * SCALE / 2 for j in range(len(samples))], list(sample_labels),
                       fontsize=8, color=FONT["color"])
    else:
        ax1.set_xticks([])
    ax2.imshow(bottom, interpolation="nearest")
    ax2.set_yticks([GAP + H * SCALE / 2, GAP + step + H * SCALE / 2], ["x_t", "predicted x_0"], fontsize=9,
                   color=FONT["color"])
    ax2.set_xticks([GAP + j * step + H * SCALE / 2 for j in range(len(frames))],
                   [f"{k} steps\n" + (f"t = {int(trajectory.timesteps[k])}" if k < S else "done") for k in frames],
                   fontsize=8, color=FONT["color"])
    for ax in (ax1, ax2):
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_color("#9aa5b1")
    ax2.set_title(f"the trajectory of sample {index + 1}", fontsize=9, color=FONT["color"], loc="left")
    if title:
        fig.suptitle(title, fontsize=10, color=FONT["color"], x=0.02, ha="left")
    fig.tight_layout()
    return fig


__all__ = ["grid_uri", "frame_views", "settle_distance", "trajectory_figure", "respacing_figure", "pick_frames",
           "sampler_mpl", "METHOD_COLORS"]

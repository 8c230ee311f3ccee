"""Figures for chapter 4, the conditioning ablation: four ways to condition a DiT trained with the
same budget, their loss curves (`ablation_curves_figure`), their quality over training as in the
paper's Figure 5 (`ablation_quality_figure`) and a summary of their last steps (`ablation_summary`).

Pure functions: the runs' records in, figures out (`benchmarks/conditioning_ablation.py` trains them).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..plotting import COLORWAY, figure, menu, rounded, step, subtitle

VARIANT_COLORS = {"in_context": COLORWAY[7], "cross_attention": COLORWAY[3], "adaln": COLORWAY[4],
                  "adaln_zero": COLORWAY[0]}
VARIANT_LABELS = {"in_context": "in-context", "cross_attention": "cross-attention", "adaln": "adaLN",
                  "adaln_zero": "adaLN-Zero"}


# ----------------------------------------------------------------------------- the ablation


def smooth(values: Sequence[float], decay: float = 0.98) -> np.ndarray:
    """Exponential moving average with bias correction (Adam's), so the first values are not pulled to 0."""
    if not 0 <= decay < 1:
        raise ValueError(f"decay must be in [0, 1), got {decay}.")
    v = np.asarray(values, dtype=np.float64)
    out, m = np.empty_like(v), 0.0
    for i, x in enumerate(v):
        m = decay * m + (1 - decay) * x
        out[i] = m / (1 - decay ** (i + 1))
    return out


def ablation_curves_figure(runs: Sequence[Mapping], *, decay: float = 0.98, key: str = "mse",
                           title: str | None = None, y_range: Sequence[float] | None = None):
    """Training curves of the conditioning variants: the smoothed per-step `key` ("mse") of every run
    (thin: one seed; thick: the mean over seeds), zoomed into the second half of training, where the
    curves separate, with buttons between that and all steps.

    `runs`: the `runs` list of the ablation data; each has `variant`, `seed` and a per-step `key` list.
    """
    import plotly.graph_objects as go

    if not runs:
        raise ValueError("runs is empty; pass the `runs` of the ablation data.")
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    fig = figure()
    n = len(runs[0][key])
    steps = np.arange(1, n + 1)
    for v in variants:
        mine = [r for r in runs if r["variant"] == v]
        curves = np.stack([smooth(r[key], decay) for r in mine])            # (seeds, n)
        color = VARIANT_COLORS.get(v, COLORWAY[len(fig.data) % len(COLORWAY)])
        label = VARIANT_LABELS.get(v, v)
        if len(mine) > 1:
            for r, c in zip(mine, curves):
                fig.add_trace(go.Scatter(x=steps.tolist(), y=rounded(c, 4), mode="lines", legendgroup=v,
                                         showlegend=False, line=dict(color=color, width=1), opacity=0.35,
                                         hovertemplate=f"{label}, seed {r['seed']}<br>step %{{x}}: %{{y:.4f}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=steps.tolist(), y=rounded(curves.mean(0), 4), mode="lines", legendgroup=v,
                                 name=label + (f" (mean of {len(mine)} seeds)" if len(mine) > 1 else ""),
                                 line=dict(color=color, width=3),
                                 hovertemplate=f"{label}<br>step %{{x}}: %{{y:.4f}}<extra></extra>"))
    half = n // 2
    every = np.stack([smooth(r[key], decay) for r in runs])                    # (runs, n)
    lo, hi = float(every[:, half:].min()), float(every[:, half:].max())
    pad = 0.08 * (hi - lo)
    full = list(y_range) if y_range is not None else [0, 1.05 * float(every.max())]
    zoom = {"xaxis.range": [half, n + 1], "yaxis.range": [lo - pad, hi + pad]}
    buttons = [step(f"steps {half}-{n}", zoom, method="relayout"),
               step("all steps", {"xaxis.range": [0, n + 1], "yaxis.range": full}, method="relayout")]
    fig.update_layout(
        title=subtitle(title or "The same budget, four ways to condition",
                       f"noise-prediction loss (mse term) per step, smoothed (EMA {decay:g}); lower is better"),
        xaxis=dict(title="training step", range=zoom["xaxis.range"]),
        yaxis=dict(title="mse (smoothed)", range=zoom["yaxis.range"]),
        updatemenus=[menu(buttons, kind="buttons", direction="right", x=1.0, xanchor="right", y=1.02, yanchor="bottom",
                          showactive=True, active=0)],
        legend=dict(orientation="h", y=-0.18, yanchor="top", x=0))
    return fig.update_layout(height=500, margin=dict(t=110, b=110))


QUALITY = {  # key of a run's `curve` -> (label, lower is better, number format)
    "heldout_mse": ("held-out mse of the EMA weights (test split, 10 fixed t)", True, ".4f"),
    "fd": ("FD of 200 samples to real digits (judge features)", True, ".2f"),
    "accuracy": ("judge accuracy of 200 samples (DDIM-25, guidance 2)", False, ".1%"),
}


AXIS = {"heldout_mse": "held-out mse", "fd": "FD (judge features)", "accuracy": "judge accuracy"}


def ablation_quality_figure(runs: Sequence[Mapping], *, fd_floor: float | None = None, title: str | None = None):
    """The paper's Figure 5 at toy scale: a quality measure of every variant over training (thin: one
    seed; thick: the mean over seeds), with a dropdown over the measures of `QUALITY`.

    `runs`: the ablation's runs; each has `variant`, `seed` and a `curve` with `steps`, `heldout_mse`,
    `quality_steps`, `fd` and `accuracy`.
    """
    import plotly.graph_objects as go

    if not runs:
        raise ValueError("runs is empty; pass the `runs` of the ablation data.")
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    keys = list(QUALITY)
    fig, groups = figure(), {k: [] for k in keys}
    for k in keys:
        xkey = "steps" if k == "heldout_mse" else "quality_steps"
        fmt = QUALITY[k][2]
        for v in variants:
            mine = [r for r in runs if r["variant"] == v]
            x = mine[0]["curve"][xkey]
            ys = np.array([r["curve"][k] for r in mine], dtype=np.float64)        # (seeds, n)
            color, label = VARIANT_COLORS.get(v, COLORWAY[0]), VARIANT_LABELS.get(v, v)
            if len(mine) > 1:
                for r, y in zip(mine, ys):
                    groups[k].append(len(fig.data))
                    fig.add_trace(go.Scatter(x=x, y=rounded(y, 5), mode="lines", line=dict(color=color, width=1),
                                             opacity=0.35, showlegend=False, legendgroup=v, visible=k == keys[0],
                                             hovertemplate=f"{label}, seed {r['seed']}<br>step %{{x}}: "
                                                           f"%{{y:{fmt}}}<extra></extra>"))
            groups[k].append(len(fig.data))
            fig.add_trace(go.Scatter(x=x, y=rounded(ys.mean(0), 5), mode="lines+markers", legendgroup=v,
                                     name=label + (f" (mean of {len(mine)} seeds)" if len(mine) > 1 else ""),
                                     line=dict(color=color, width=3), marker=dict(size=6), visible=k == keys[0],
                                     hovertemplate=f"{label}<br>step %{{x}}: %{{y:{fmt}}}<extra></extra>"))

    def heading(k):
        name, lower, _ = QUALITY[k]
        extra = f"; two real sets score {fd_floor:.2f}" if k == "fd" and fd_floor is not None else ""
        return subtitle(title or "Quality over training, as in the paper's Figure 5",
                        f"{name}: {'lower' if lower else 'higher'} is better{extra}")

    buttons = []
    for k in keys:
        vis = [i in groups[k] for i in range(len(fig.data))]
        name = QUALITY[k][0].split(" (")[0].split(" of")[0]
        buttons.append(step(name, {"visible": vis}, {"title.text": heading(k), "yaxis.title.text": AXIS[k],
                            "yaxis.tickformat": ".0%" if k == "accuracy" else ""}))
    fig.update_layout(title=heading(keys[0]), xaxis_title="training step", yaxis_title=AXIS[keys[0]],
                      updatemenus=[menu(buttons, x=1.0, xanchor="right", y=1.12, yanchor="bottom")],
                      legend=dict(orientation="h", y=-0.18, yanchor="top", x=0))
    return fig.update_layout(height=480, margin=dict(t=110, b=110))


def ablation_summary(runs: Sequence[Mapping], last: int = 100) -> dict:
    """Per variant: `final_mse` (mean raw training mse of the last `last` steps), `heldout_mse_mean`,
    `accuracy` and `fd`, each as {"seeds": [one value per seed], "mean": ...}, plus `seeds`."""
    out = {}
    for v in dict.fromkeys(r["variant"] for r in runs):
        mine = [r for r in runs if r["variant"] == v]
        vals = {"final_mse": [float(np.mean(r["mse"][-last:])) for r in mine]}
        for k in ("heldout_mse_mean", "accuracy", "fd"):
            vals[k] = [float(r[k]) for r in mine]
        out[v] = {k: {"seeds": x, "mean": float(np.mean(x))} for k, x in vals.items()}
        out[v]["seeds"] = [r["seed"] for r in mine]
    return out


__all__ = ["VARIANT_LABELS", "VARIANT_COLORS", "smooth", "ablation_curves_figure", "ablation_quality_figure",
           "ablation_summary", "QUALITY"]

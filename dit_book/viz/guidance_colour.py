"""Figure for chapter 10's colour section: what guidance does to the shapes model, measured.

Pure function: the rows of `dit_lib/pretrained/shapes_guidance.json` (written by
`benchmarks/guidance_colour.py`) in, a plotly figure out (works on the static site).
"""
from __future__ import annotations

from typing import Mapping, Sequence

from ..plotting import COLORWAY, subplots

FIX_STYLE = {  # fix -> (legend name, colour, dash)
    "none": ("guidance at every step", COLORWAY[1], None),
    "clip x0": ("x̂₀ clipped to [-1, 1]", COLORWAY[3], "dot"),
    "interval t<=500": ("guidance only at t ≤ 500", COLORWAY[0], None),
    "interval + clip": ("t ≤ 500 and clipped", COLORWAY[2], "dot"),
}


def colour_guidance_figure(rows: Sequence[Mapping], *, real_lit: float, fd_floor: float, judge_ceiling: float,
                           title: str | None = None):
    """Three panels over the guidance scale, one line per way of guiding: (a) judge accuracy,
    (b) FD of judge features (log scale), (c) the lit area of a sample against the real images'.

    `rows`: dicts with "cfg_scale", "fix" (a key of FIX_STYLE), "accuracy", "fd", "lit"; rows of
    other fixes (the one-quarter windows) are left out. Scale 1 (no guidance) starts every line.
    """
    import plotly.graph_objects as go

    need = {"cfg_scale", "fix", "accuracy", "fd", "lit"}
    if not rows or any(need - set(r) for r in rows):
        raise ValueError(f"rows must be a non-empty list of dicts with the keys {sorted(need)}.")
    base = [r for r in rows if r["fix"] == "none" and r["cfg_scale"] == 1]
    if len(base) != 1:
        raise ValueError("rows need exactly one row at cfg_scale 1 with fix 'none' (no guidance), the lines' start.")
    fig = subplots(rows=1, cols=3, horizontal_spacing=0.09,
                   subplot_titles=["(a) judge accuracy ↑", "(b) FD of judge features ↓", "(c) lit pixels per image"])
    panels = (("accuracy", 1, "%{y:.1%}"), ("fd", 2, "%{y:.2f}"), ("lit", 3, "%{y:.1f}"))
    for fix, (name, colour, dash) in FIX_STYLE.items():
        pts = sorted(base + [r for r in rows if r["fix"] == fix and r["cfg_scale"] > 1], key=lambda r: r["cfg_scale"])
        if len(pts) < 2:
            continue
        for key, col, hover in panels:
            fig.add_trace(go.Scatter(x=[r["cfg_scale"] for r in pts], y=[r[key] for r in pts], name=name,
                                     mode="lines+markers", line=dict(color=colour, dash=dash),
                                     legendgroup=fix, showlegend=col == 1,
                                     hovertemplate=f"{name}<br>s = %{{x:g}}: {hover}<extra></extra>"),
                          row=1, col=col)
    scales = sorted({r["cfg_scale"] for r in rows})
    for y, col, label in ((judge_ceiling, 1, "judge on real test images"), (fd_floor, 2, "real vs real"),
                          (real_lit, 3, "real images")):
        fig.add_trace(go.Scatter(x=[scales[0], scales[-1]], y=[y, y], mode="lines", name=label, showlegend=False,
                                 line=dict(color="#6b7280", dash="dash"),
                                 hovertemplate=f"{label}: %{{y:.3g}}<extra></extra>"), row=1, col=col)
    fig.update_xaxes(title="guidance scale s", dtick=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_yaxes(rangemode="tozero", row=1, col=3)
    fig.update_layout(title=title or "Guidance on coloured shapes: where the FD goes",
                      legend=dict(orientation="h", y=-0.25, x=0), height=430, margin=dict(t=90, b=120))
    return fig

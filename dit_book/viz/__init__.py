"""Plotting for the book: pure functions, tensors in, figures out (they never train or sample).

One module per topic (`viz.tokens`, `viz.attention`, ...). Every plotly figure goes through
`style(fig)`, so all figures share one look that stays legible in the site's light and dark
themes (a white plotting paper with dark ink, framed, in both themes).
"""
from __future__ import annotations

FONT = dict(family="Inter, Helvetica, Arial, sans-serif", size=13, color="#1f2933")
PAPER = "#ffffff"
GRID = "#e4e7eb"
COLORWAY = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"]


def style(fig, *, height: int | None = None, width: int | None = None):
    """Apply the book's figure style in place and return the figure."""
    fig.update_layout(paper_bgcolor=PAPER, plot_bgcolor=PAPER, font=FONT, colorway=COLORWAY,
                      margin=dict(l=60, r=30, t=60, b=50), title_x=0.02)
    fig.update_xaxes(gridcolor=GRID, zerolinecolor=GRID, linecolor="#9aa5b1")
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID, linecolor="#9aa5b1")
    if height:
        fig.update_layout(height=height)
    if width:
        fig.update_layout(width=width)
    return fig


def frame_axes(fig, axes, title: str | None = None, *, keep_ticks: bool = False):
    """Matplotlib panels in the book's look: no ticks (unless keep_ticks, for labelled rows and
    columns), grey frames, an optional left-aligned title."""
    for ax in axes:
        if not keep_ticks:
            ax.set_xticks([])
            ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("#9aa5b1")
    if title:
        fig.suptitle(title, fontsize=11, color=FONT["color"], x=0.02, ha="left")
    fig.tight_layout()
    return fig


def to_numpy_image(x):
    """A [-1, 1] image tensor (C, H, W) -> numpy (H, W) or (H, W, 3) in [0, 1] for plotting."""
    from ..data import to_image
    return to_image(x)

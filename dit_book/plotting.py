"""The book's shared plotting: one look, and the few plotly shapes every chapter repeats.

* The look is a registered plotly template, `"dit_book"`: plotly's own template with a white
  plotting paper, dark ink, light grids and grey frames, legible in the site's light and dark
  themes. `figure()` and `subplots()` make figures that carry it; nothing else styles a figure.
* A figure's controls: `slider`, `menu` (a dropdown, or a row of buttons) and `step` (one slider
  step or menu button), plus `subtitle`, the small grey lines under a title. A slider whose
  numeric stops are unevenly spaced says so (`spacing_note`).
* Arrays, pictures and tables: `as_numpy`, `rounded` (short JSON), `to_rgb_uint8`,
  `png_data_uri`, `sample_grid`, `grid_lines`, `figure_png` (matplotlib -> PNG for ipywidgets),
  `frame_axes` (matplotlib panels in the book's look) and `html_table`.

Chapter modules (`viz.tokens`, `viz.attention`, ...) import from here, never from another
chapter's module.
"""
from __future__ import annotations

import base64
import html
import io
from typing import Sequence

import numpy as np
import torch

TEMPLATE = "dit_book"
FONT = dict(family="Inter, Helvetica, Arial, sans-serif", size=13, color="#1f2933")
PAPER = "#ffffff"
GRID = "#e4e7eb"
FRAME = "#9aa5b1"
COLORWAY = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"]
GRID_LINE = "#f59e0b"          # patch boundaries drawn over an image (amber: visible on black and white)
GAP_RGB = (228, 231, 235)      # GRID as RGB, between tokens in a strip

MAC_PARTS = {   # MacCount field -> legend label (chapters 1 and 5 draw the same parts)
    "attention_matmul": "attention q·kᵀ and A·v (grows as L²)",
    "attention_linear": "attention projections qkv, out",
    "mlp": "MLP fc1, fc2",
    "adaln": "adaLN-Zero regressions",
    "patch_embed": "patch embedding",
    "final_linear": "final linear",
    "conditioning": "timestep MLP",
}


# ----------------------------------------------------------------------------- the look


def template() -> str:
    """Register the book's plotly template (once) and return its name."""
    import plotly.graph_objects as go
    import plotly.io as pio

    if TEMPLATE not in pio.templates:
        look = go.layout.Template(pio.templates["plotly"])       # plotly's defaults, then the book's
        look.layout.update(paper_bgcolor=PAPER, plot_bgcolor=PAPER, font=FONT, colorway=COLORWAY,
                           margin=dict(l=60, r=30, t=60, b=50), title_x=0.02)
        for axis in (look.layout.xaxis, look.layout.yaxis):
            axis.update(gridcolor=GRID, zerolinecolor=GRID, linecolor=FRAME)
        pio.templates[TEMPLATE] = look
    return TEMPLATE


def figure(data=None, **layout):
    """A `go.Figure` in the book's look (`layout`: anything `update_layout` takes, e.g. height)."""
    import plotly.graph_objects as go

    return go.Figure(data, layout=dict(template=template(), **layout))


def subplots(**kwargs):
    """`plotly.subplots.make_subplots(**kwargs)` in the book's look."""
    from plotly.subplots import make_subplots

    return make_subplots(**kwargs).update_layout(template=template())


# ----------------------------------------------------------------------------- controls


def subtitle(title: str, *lines: str) -> str:
    """A title with smaller lines under it (empty lines are left out)."""
    return title + "".join(f"<br><sup>{line}</sup>" for line in lines if line)


def step(label, *args, method: str = "update") -> dict:
    """One slider step or menu button: `args` as plotly takes them for `method`, e.g. for "update"
    ({trace attributes}, {layout attributes}[, trace indices])."""
    return dict(label=label, method=method, args=list(args))


NOT_TO_SCALE = "   (stops not to scale)"
LOG_SCALE = "   (stops on a log scale)"


def spacing_note(labels: Sequence[str], *, tolerance: float = 0.1) -> str:
    """What a slider over these labels must say about its stops, which plotly draws evenly spaced:
    "" when they are evenly spaced numbers (every gap within `tolerance` of the mean gap), or not
    numbers at all (model sizes, "EMA", ...); LOG_SCALE when they are positive numbers evenly spaced
    on a log scale (1, 2, 4, 8); NOT_TO_SCALE otherwise (0, 1, 1.5, 2, 4, 6 would read as linear)."""
    try:
        values = np.array([float(label) for label in labels])
    except (TypeError, ValueError):
        return ""
    if len(values) < 3 or not np.isfinite(values).all():
        return ""

    def even(v):
        gaps = np.diff(v)
        return bool(np.abs(gaps - gaps.mean()).max() <= tolerance * abs(gaps.mean()))

    if even(values):
        return ""
    return LOG_SCALE if (values > 0).all() and even(np.log(values)) else NOT_TO_SCALE


def slider(steps: Sequence[dict], *, active: int = 0, prefix: str | None = None, pad: int | None = None,
           names: bool = False, **kwargs) -> dict:
    """A slider over precomputed `steps`, showing "prefix + label" above it (`pad`: px above it).

    Plotly draws the stops evenly spaced, labelled with their values; when the labels are numbers
    that are not evenly spaced, the current value says so (`spacing_note`: "s = 1.5   (stops not to
    scale)"). `names=True`: the numbers name things (token indices), they measure nothing.
    """
    out = dict(active=active)
    if prefix is not None:
        out["currentvalue"] = dict(prefix=prefix)
    note = "" if names else spacing_note([s.get("label") for s in steps])
    if note:
        out["currentvalue"] = dict(out.get("currentvalue", {}), suffix=note)
    if pad is not None:
        out["pad"] = dict(t=pad)
    return dict(out, steps=list(steps), **kwargs)


def menu(buttons: Sequence[dict], *, kind: str = "dropdown", **kwargs) -> dict:
    """A dropdown (or, with kind="buttons", a row of buttons) of views; `kwargs`: position, active, ..."""
    return dict(type=kind, buttons=list(buttons), **kwargs)


# ----------------------------------------------------------------------------- pictures


def rounded(a, decimals: int) -> list:
    """Nested lists of `a` rounded in float64 (short JSON: 0.41, not 0.4099999964237213)."""
    return np.round(np.asarray(a, dtype=np.float64), decimals).tolist()


def as_numpy(x) -> np.ndarray:
    """A tensor or array-like -> float64 numpy (detached, on the CPU)."""
    return x.detach().double().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)


def to_rgb_uint8(x: torch.Tensor) -> np.ndarray:
    """A [-1, 1] image (C, H, W) with C = 1 or 3 -> (H, W, 3) uint8 for drawing."""
    if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[0] not in (1, 3):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"image must be a tensor (C, H, W) with C = 1 or 3, got {shape}.")
    img = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)   # (C, H, W)
    img = img.expand(3, -1, -1) if img.shape[0] == 1 else img
    return img.permute(1, 2, 0).contiguous().numpy()                                      # (H, W, 3)


def png_data_uri(pixels: np.ndarray) -> str:
    """(H, W, 3) uint8 (or (H, W) grayscale) -> a `data:image/png;base64,...` string (compact images for plotly)."""
    from PIL import Image

    buf = io.BytesIO()
    mode = "L" if pixels.ndim == 2 else "RGB"
    Image.fromarray(np.ascontiguousarray(pixels), mode=mode).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def sample_grid(rows: Sequence[torch.Tensor], *, scale: int = 6, gap: int = 2) -> np.ndarray:
    """Rows of images (each (N, C, H, W) in [-1, 1]) -> one (rows, cols, 3) uint8 picture, enlarged
    `scale` times (nearest neighbour), with `gap`-pixel light lines between images."""
    if not rows:
        raise ValueError("rows is empty; pass a list of (N, C, H, W) tensors.")
    N, _, H, W = rows[0].shape
    if any(r.shape[0] != N or r.shape[-2:] != (H, W) for r in rows):
        raise ValueError(f"every row must hold {N} images of {H}x{W}, got {[tuple(r.shape) for r in rows]}.")
    h, w = H * scale, W * scale
    out = np.full((len(rows) * (h + gap) + gap, N * (w + gap) + gap, 3), 228, dtype=np.uint8)
    for i, r in enumerate(rows):
        for j in range(N):
            img = to_rgb_uint8(r[j]).repeat(scale, axis=0).repeat(scale, axis=1)
            out[gap + i * (h + gap): gap + i * (h + gap) + h, gap + j * (w + gap): gap + j * (w + gap) + w] = img
    return out


def grid_lines(H: int, W: int, p: int) -> tuple[list, list]:
    """x, y coordinates (with None breaks) of the patch boundaries of an H x W image, pixel centres at integers."""
    xs, ys = [], []
    for c in range(0, W + 1, p):
        xs += [c - 0.5, c - 0.5, None]
        ys += [-0.5, H - 0.5, None]
    for r in range(0, H + 1, p):
        xs += [-0.5, W - 0.5, None]
        ys += [r - 0.5, r - 0.5, None]
    return xs, ys


def figure_png(fig) -> bytes:
    """PNG bytes of a matplotlib Figure (for `ipywidgets.Image`)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor=fig.get_facecolor())
    return buf.getvalue()


def frame_axes(fig, axes, title: str | None = None, *, keep_ticks: bool = False):
    """Matplotlib panels in the book's look: no ticks (unless keep_ticks, for labelled rows and
    columns), grey frames, an optional left-aligned title."""
    for ax in axes:
        if not keep_ticks:
            ax.set_xticks([])
            ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color(FRAME)
    if title:
        fig.suptitle(title, fontsize=11, color=FONT["color"], x=0.02, ha="left")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- tables


def html_table(header: Sequence[str], rows: Sequence[Sequence], *, align: Sequence[str] | None = None,
               nowrap: Sequence[int] = (0,), caption: str | None = None) -> str:
    """A plain HTML table (escaped text, themed by the site's CSS) for notebooks and widgets.

    `align`: "left"/"right" per column; `nowrap`: indices of columns whose cells never wrap
    (default: the first, which names the row; shapes such as (8, 256, 1152) read badly over
    three lines).
    """
    align = list(align or ["left"] * len(header))
    if len(align) != len(header):
        raise ValueError(f"align has {len(align)} entries for {len(header)} columns.")
    for r in rows:
        if len(r) != len(header):
            raise ValueError(f"a row has {len(r)} cells but the header has {len(header)}: {r!r}.")

    def css(j):
        return f"text-align:{align[j]}" + ("; white-space:nowrap" if j in nowrap else "")

    th = "".join(f'<th style="{css(j)}">{html.escape(str(h))}</th>' for j, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td style="{css(j)}">{html.escape(str(c))}</td>'
                                    for j, c in enumerate(r)) + "</tr>" for r in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<table class="table dit-table">{cap}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'

"""Figures for the front page: what the book builds (samples of every shipped model, with a slider
over the guidance scale) and a one-screen map of the book (which chapter builds which part).

Pure functions: tensors and names in, a plotly figure or an HTML string out (nothing here samples).
`samples_figure` works on the static site (every scale is precomputed); `book_map_html` is plain
HTML and CSS that reflows from rows of boxes at 1280 px to two columns on a phone, with fixed light
colours (the site shows HTML outputs on a light panel in its dark theme too, like plotly's paper).
Its chapter links open the site's pages in the site build and the reader notebooks in Colab
anywhere else (`chapter_links`; the repository is dit_book/_repository.py, made from _config.yml).
"""
from __future__ import annotations

import html
import importlib.util
import os
import sys
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

from .._repository import COLAB_BRANCH, REPOSITORY_URL
from ..plotting import png_data_uri, sample_grid, slider, step, subplots, subtitle

CELL = 48        # px: every sample is enlarged to about this size, whatever its resolution
GAP = 3          # px of light background between samples


# ----------------------------------------------------------------------------- samples


def _check_grid(name: str, grid) -> tuple[int, ...]:
    if not isinstance(grid, torch.Tensor) or grid.ndim != 5 or grid.shape[2] not in (1, 3):
        shape = tuple(grid.shape) if isinstance(grid, torch.Tensor) else type(grid).__name__
        raise ValueError(f"panels[{name!r}] must map each scale to a tensor (R, N, C, H, W) with C = 1 or 3 "
                         f"(R rows of N samples), got {shape}.")
    return tuple(grid.shape)


def sweep_pictures(grids: Mapping[float, torch.Tensor], scales: Sequence[float], *, name: str = "panel",
                   cell: int = CELL, gap: int = GAP) -> dict:
    """scale -> one uint8 picture (rows, cols, 3) of the samples at that scale (R rows of N samples,
    clamped to [-1, 1] and enlarged to about `cell` px with `gap` px between them)."""
    missing = [s for s in scales if s not in grids]
    if missing:
        raise ValueError(f"panels[{name!r}] has no samples for the scales {missing}; give one tensor per scale.")
    shape = _check_grid(name, grids[scales[0]])
    for s in scales:
        if _check_grid(name, grids[s]) != shape:
            raise ValueError(f"panels[{name!r}]: every scale needs samples of one shape {shape}, "
                             f"got {tuple(grids[s].shape)} at scale {s:g}.")
    k = max(1, round(cell / shape[3]))                  # enlargement for H
    return {s: sample_grid(list(grids[s]), scale=k, gap=gap) for s in scales}


def _centres(n: int, size: int, gap: int) -> list[float]:
    """Pixel coordinates of the centres of n cells of `size` px with `gap` px around each."""
    return [gap + i * (size + gap) + (size - 1) / 2 for i in range(n)]


def samples_figure(scales: Sequence[float], panels: Mapping[str, Mapping[float, torch.Tensor]],
                   class_names: Mapping[str, Sequence[str]], *, notes: Mapping[float, str] | None = None,
                   active: int = 0, title: str = "Samples of the models this book trains",
                   cell: int = CELL, gap: int = GAP):
    """One panel of samples per model, with a slider over the guidance scale (precomputed).

    `panels`: panel title -> (scale -> (R, N, C, H, W) samples in [-1, 1]); column n was generated
    for class n and row r from the r-th noise, the same noise at every scale. `class_names`: panel
    title -> N names (the column labels). `notes`: scale -> a short line shown under the title.
    """
    import plotly.graph_objects as go

    scales = list(scales)
    if not scales:
        raise ValueError("scales is empty; pass the guidance scales the panels were sampled at, e.g. [1, 2, 3].")
    if len(set(scales)) != len(scales):
        raise ValueError(f"scales must be distinct, got {scales}.")
    if not panels:
        raise ValueError("panels is empty; pass {panel title: {scale: (R, N, C, H, W) samples}}.")
    if not 0 <= active < len(scales):
        raise ValueError(f"active must index the scales (0..{len(scales) - 1}), got {active}.")
    names = list(panels)
    pictures = {n: sweep_pictures(panels[n], scales, name=n, cell=cell, gap=gap) for n in names}
    uris = {n: {s: png_data_uri(p) for s, p in pictures[n].items()} for n in names}

    def heading(s: float) -> str:
        what = ("the label is ignored (the unconditional model)" if s == 0 else
                "the conditional model, no guidance" if s == 1 else "guided towards the label")
        return subtitle(title, f"s = {s:g}: {what}", (notes or {}).get(s, ""))

    fig = subplots(rows=len(names), cols=1, subplot_titles=names, vertical_spacing=0.16)
    for i, n in enumerate(names):
        R, N, _, H, W = panels[n][scales[0]].shape
        if n not in class_names or len(class_names[n]) != N:
            raise ValueError(f"class_names[{n!r}] must hold {N} names, one per column, "
                             f"got {list(class_names.get(n, []))}.")
        k = max(1, round(cell / H))
        rows, cols = pictures[n][scales[0]].shape[:2]
        fig.add_trace(go.Image(source=uris[n][scales[active]], hoverinfo="skip", name=n), row=i + 1, col=1)
        fig.update_xaxes(tickvals=_centres(N, W * k, gap), ticktext=list(class_names[n]), range=[-0.5, cols - 0.5],
                         showgrid=False, zeroline=False, ticks="", row=i + 1, col=1)
        anchor = "x" if i == 0 else f"x{i + 1}"
        fig.update_yaxes(tickvals=_centres(R, H * k, gap) if R > 1 else [],
                         ticktext=[f"noise {r + 1}" for r in range(R)] if R > 1 else [],
                         range=[rows - 0.5, -0.5], showgrid=False, zeroline=False, ticks="", scaleanchor=anchor,
                         constrain="domain", row=i + 1, col=1)
    steps = [step(f"{s:g}", {"source": [uris[n][s] for n in names]}, {"title.text": heading(s)},
                  list(range(len(names)))) for s in scales]
    rows_max = max(panels[n][scales[0]].shape[0] for n in names)
    fig.update_layout(title=heading(scales[active]), height=230 + len(names) * (70 + 60 * rows_max),
                      margin=dict(t=130, l=70 if rows_max > 1 else 20, r=20, b=30),
                      sliders=[slider(steps, active=active, prefix="guidance scale s = ", pad=20)])
    return fig


# ----------------------------------------------------------------------------- the map of the book

# chapter number -> notebook (notebooks/<stem>.ipynb); tests/test_viz_front.py checks it against _toc.yml
CHAPTERS: dict[int, str] = {
    1: "01_images_as_tokens", 2: "02_time_and_class", 3: "03_attention", 4: "04_adaln_zero",
    5: "05_assembled_dit", 6: "06_forward_process", 7: "07_posterior_variance", 8: "08_training",
    9: "09_sampling", 10: "10_guidance", 11: "11_latent_space",
}


@dataclass(frozen=True)
class Stage:
    """One box of the map: a name, one line on what it does, and the chapters that build it."""
    name: str
    does: str
    chapters: tuple[int, ...] = ()


# Part I: the network eps_theta(x_t, t, y), in the order data flows through it (the paper's Figure 3)
MODEL = (
    Stage("Patchify", "the noisy image x_t becomes a sequence of L tokens of size D", (1,)),
    Stage("Embeddings", "sin-cos positions; the timestep t and the class y become one vector c", (1, 2)),
    Stage("N DiT blocks", "self-attention and an MLP, each steered by c through adaLN-Zero", (3, 4)),
    Stage("Final layer", "adaLN, a linear layer and unpatchify give the noise ε and the variance Σ", (5,)),
)
# Part II: the diffusion around the network
DIFFUSION = (
    Stage("Noise schedule", "the forward process q(x_t | x_0) that training inverts", (6,)),
    Stage("Posterior, variance", "one step back, and the variance DiT learns", (7,)),
    Stage("Training", "the loss, EMA weights, label dropout", (8,)),
    Stage("Sampling", "ancestral DDPM and DDIM, from noise to an image", (9,)),
    Stage("Guidance", "classifier-free: one network, two predictions", (10,)),
)
# Part III: where the paper and the field go; a stage without chapters is not written yet
COMING = (
    Stage("Latent space", "a VAE: DiT works on 32×32×4 latents of 256×256 images", (11,)),
    Stage("Flow matching", "the same backbone trained as SiT"),
    Stage("Scaling", "model size, tokens and compute against quality"),
    Stage("DiT-XL/2", "the paper's model and its ImageNet checkpoints"),
)

STYLE = """
.dit-map { margin: 0.5rem 0 1rem; font-size: 0.9rem; line-height: 1.3; }
.dit-map .dit-map-part { margin: 0.7rem 0 0.3rem; font-weight: 600; color: #1f2933; }
.dit-map .dit-map-row { display: grid; grid-template-columns: repeat(var(--n), minmax(0, 1fr)); column-gap: 16px;
  row-gap: 8px; }
.dit-map .dit-map-box { position: relative; border: 1px solid #9aa5b1; border-radius: 6px; padding: 5px 7px;
  background: #ffffff; color: #1f2933; }
.dit-map .dit-map-flow .dit-map-box + .dit-map-box::before { content: "→"; position: absolute; left: -14px;
  top: 40%; color: #4b5563; }
.dit-map .dit-map-coming { border-style: dashed; background: #f9fafb; color: #3e4c59; }
.dit-map .dit-map-name { display: block; font-weight: 600; }
.dit-map .dit-map-does { display: block; font-size: 0.85em; }
.dit-map a.dit-map-ch { display: inline-block; min-width: 1.6em; margin: 0 2px 3px 0; padding: 0 5px;
  border-radius: 9px; background: #2563eb; color: #ffffff; text-align: center; text-decoration: none;
  font-weight: 600; font-size: 0.85em; }
.dit-map a.dit-map-ch:hover { background: #1d4ed8; }
@media (max-width: 640px) {
  .dit-map .dit-map-row { grid-template-columns: repeat(2, minmax(0, 1fr)); column-gap: 8px; }
  .dit-map .dit-map-flow .dit-map-box + .dit-map-box::before { content: none; }
}
"""


def _box(stage: Stage, href, kind: str = "") -> str:
    chips = "".join(f'<a class="dit-map-ch" href="{html.escape(href(c))}" title="Chapter {c}">{c}</a>'
                    for c in stage.chapters)
    return (f'<div class="dit-map-box {kind}">{chips}<span class="dit-map-name">{html.escape(stage.name)}</span>'
            f'<span class="dit-map-does">{html.escape(stage.does)}</span></div>')


def _row(boxes: list[str], kind: str = "") -> str:
    return f'<div class="dit-map-row {kind}" style="--n: {max(1, len(boxes))}">{"".join(boxes)}</div>'


LINKS = ("site", "colab")


def chapter_links(where: str | None = None) -> tuple[str, str]:
    """(base, suffix) of the map's chapter links: `base + stem + suffix` opens chapter `stem`.

    "site": the chapter's page of the site, seen from book/intro.html. "colab": the chapter's reader
    notebook on the Colab branch of the repository (dit_book/_repository.py), opened in Colab: the
    link that works in Colab and in a Jupyter outside the site. None: "site" where the book build
    runs the page (the rule of `dit_book.notebook.glue`: MyST-NB importable, not Colab), else "colab".
    """
    if where is None:
        colab = "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
        where = "site" if not colab and importlib.util.find_spec("myst_nb") is not None else "colab"
    if where == "site":
        return "../notebooks/", ".html"
    if where == "colab":
        slug = REPOSITORY_URL.removeprefix("https://github.com/")
        return f"https://colab.research.google.com/github/{slug}/blob/{COLAB_BRANCH}/notebooks/", ".ipynb"
    raise ValueError(f"links must be one of {LINKS} or None (decide from where the page runs), got {where!r}.")


def book_map_html(*, links: str | None = None, base: str | None = None, suffix: str | None = None,
                  chapters: Mapping[int, str] = CHAPTERS, model: Sequence[Stage] = MODEL,
                  diffusion: Sequence[Stage] = DIFFUSION, coming: Sequence[Stage] = COMING) -> str:
    """The map of the book as HTML: the network's stages in data order (Part I), the diffusion around
    it (Part II), and Part III (its stages without chapters are greyed: not written yet); each chapter
    number is a link to `base + stem + suffix`,
    by default `chapter_links(links)`: a page of the site in the site build, else the chapter in Colab."""
    if (base is None) != (suffix is None):
        raise TypeError(f"pass base and suffix together (strings, e.g. base='../notebooks/', suffix='.html'), "
                        f"or neither; got {base!r}, {suffix!r}.")
    if base is None:
        base, suffix = chapter_links(links)
    if not isinstance(base, str) or not isinstance(suffix, str):
        raise TypeError(f"base and suffix must be strings, e.g. base='../notebooks/', suffix='.html', "
                        f"got {base!r}, {suffix!r}.")
    for stage in (*model, *diffusion, *coming):
        unknown = [c for c in stage.chapters if c not in chapters]
        if unknown:
            raise ValueError(f"stage {stage.name!r} names chapters {unknown} that `chapters` does not list "
                             f"({sorted(chapters)}); add them to chapters or fix the stage.")

    def href(c: int) -> str:
        return f"{base}{chapters[c]}{suffix}"

    return (f'<div class="dit-map"><style>{STYLE}</style>'
            '<div class="dit-map-part">Part I: the network ε<sub>θ</sub>, from x<sub>t</sub>, t, y '
            'to the noise ε and the variance Σ</div>'
            + _row([_box(s, href) for s in model], "dit-map-flow")
            + '<div class="dit-map-part">Part II: the diffusion around it, from training to samples</div>'
            + _row([_box(s, href) for s in diffusion], "dit-map-flow")
            + '<div class="dit-map-part">Part III: where the paper and the field go (greyed: coming, not written '
            'yet)</div>'
            + _row([_box(s, href, "" if s.chapters else "dit-map-coming") for s in coming]) + "</div>")

"""Live widget for chapter 4: scale (or switch off) the adaLN-Zero gates of one block of a trained DiT
and watch its samples change. Needs a kernel (Colab / Jupyter); its static twin on the site is
`dit_book.viz.conditioning.gate_scale_samples_figure`.
"""
from __future__ import annotations

import time
from typing import Sequence

import torch

from dit_lib.conditioning import heldout_eps_mse, scaled_gates
from dit_lib.sampling import sample

from ..plotting import figure_png
from ..viz.conditioning import samples_mpl
from . import assemble

BRANCH_CHOICES = {"both gates": (1, 1), "attention gate only (gate_msa)": (1, 0), "MLP gate only (gate_mlp)": (0, 1)}


def gate_factors(depth: int, block: int | str, branch: str, factor: float) -> dict[int, tuple[float, float]]:
    """The `scaled_gates` argument for one choice of the widget: `block` is an index or "all"."""
    if branch not in BRANCH_CHOICES:
        raise ValueError(f"branch must be one of {list(BRANCH_CHOICES)}, got {branch!r}.")
    on_msa, on_mlp = BRANCH_CHOICES[branch]
    pair = (factor if on_msa else 1.0, factor if on_mlp else 1.0)
    blocks = range(depth) if block == "all" else [block]
    if block != "all" and (not isinstance(block, int) or not 0 <= block < depth):
        raise ValueError(f"block must be 'all' or an index in 0..{depth - 1}, got {block!r}.")
    return {i: pair for i in blocks}


def gate_explorer(model, class_names: Sequence[str], *, num_steps: int = 10, cfg_scale: float = 2.0, seed: int = 0,
                  block: int | str = 0, factor: float = 0.0, test_images: torch.Tensor | None = None,
                  test_labels: torch.Tensor | None = None, eval_timesteps: Sequence[int] = (100, 500, 900)):
    """A VBox: which block's gates, which branch, and a factor (0 switches them off, 1 is the trained
    model) -> one sample per class from the same noise, as trained and with the gates scaled, plus the
    held-out noise-prediction error of both (when test images are given)."""
    import ipywidgets as widgets

    depth = len(model.blocks)
    labels = torch.arange(len(class_names))
    style = {"description_width": "initial"}
    pick = widgets.Dropdown(options=[(f"block {i + 1}", i) for i in range(depth)] + [("all blocks", "all")],
                            value=block, description="gates of", style=style)
    branch = widgets.Dropdown(options=list(BRANCH_CHOICES), value="both gates", description="branch", style=style)
    scale = widgets.FloatSlider(value=factor, min=0.0, max=2.0, step=0.1, description="factor",
                                continuous_update=False, readout_format=".1f", style=style)
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))
    readout = widgets.HTML()

    def run(factors):
        with scaled_gates(model, factors):
            x = sample(model, labels, cfg_scale=cfg_scale, method="ddim", num_steps=num_steps, seed=seed,
                       progress=False)
            err = None
            if test_images is not None:
                err = heldout_eps_mse(model, test_images, test_labels, eval_timesteps, seed=0).mean().item()
        return x.clamp(-1, 1), err

    trained, trained_err = run({})

    def draw(change=None) -> None:
        start = time.perf_counter()
        factors = gate_factors(depth, pick.value, branch.value, scale.value)
        x, err = run(factors)
        seconds = time.perf_counter() - start
        name = pick.label
        picture.value = figure_png(samples_mpl(
            {"as trained": trained, f"{name}: x{scale.value:.1f}": x}, class_names=class_names,
            title=f"DDIM-{num_steps}, guidance {cfg_scale:g}, seed {seed}; {branch.value} of {name} x {scale.value:.1f}"))
        change_px = (x - trained).abs().mean().item()
        lines = [f"mean |pixel change| against the trained model: <b>{change_px:.3f}</b> (pixels in [-1, 1])"]
        if err is not None:
            lines.append(f"held-out noise-prediction error: <b>{err:.4f}</b> (trained: {trained_err:.4f}, "
                         f"{err / trained_err - 1:+.1%})")
        lines.append(f"sampled and measured in {seconds:.2f} s")
        readout.value = "<br>".join(lines)

    return assemble([pick, branch, scale], picture, readout, draw)


__all__ = ["gate_explorer", "gate_factors", "BRANCH_CHOICES"]

"""Live widget for chapter 9: sample from a trained DiT with DDPM or DDIM, any number of steps, any
eta, class and seed, and see the samples and one trajectory (x_t and the predicted x_0). Needs a
kernel (Colab / Jupyter); its static twin on the site is `dit_book.viz.sampling.trajectory_figure`.
"""
from __future__ import annotations

import time
from typing import Sequence

import torch

from dit_lib.diffusion import space_timesteps
from dit_lib.sampling import sample

from ..plotting import figure_png
from ..viz.sampling import sampler_mpl

STEP_CHOICES = (5, 10, 25, 50, 100, 250)
ALL_CLASSES = "one of each class"


def widget_labels(class_choice, num_classes: int, n: int) -> torch.Tensor:
    """The labels the widget samples: one of each class (repeated up to n), or n of one class."""
    if class_choice == ALL_CLASSES:
        return torch.arange(n) % num_classes
    if isinstance(class_choice, bool) or not isinstance(class_choice, int) or not 0 <= class_choice < num_classes:
        raise ValueError(f"class must be {ALL_CLASSES!r} or an index in 0..{num_classes - 1}, got {class_choice!r}.")
    return torch.full((n,), class_choice, dtype=torch.long)


def sampler_explorer(model, class_names: Sequence[str], *, method: str = "ddim", num_steps: int = 25,
                     eta: float = 0.0, class_choice=ALL_CLASSES, seed: int = 0, cfg_scale: float = 2.0,
                     n: int | None = None, diffusion_steps: int = 1000):
    """A VBox: method (DDPM / DDIM), steps, eta (DDIM only), class and seed -> n samples from the
    same seeded noise, the trajectory of the first one (x_t and the predicted x_0 at a few steps),
    and the kept timesteps and the time it took."""
    import ipywidgets as widgets

    n = len(class_names) if n is None else n
    style = {"description_width": "initial"}
    pick_method = widgets.ToggleButtons(options=[("DDPM (ancestral)", "ddpm"), ("DDIM", "ddim")], value=method,
                                        description="sampler", style=style)
    steps = widgets.Dropdown(options=list(STEP_CHOICES), value=num_steps, description="steps", style=style)
    eta_slider = widgets.FloatSlider(value=eta, min=0.0, max=1.0, step=0.1, description="eta (DDIM)",
                                     continuous_update=False, readout_format=".1f", style=style)
    pick_class = widgets.Dropdown(options=[(ALL_CLASSES, ALL_CLASSES)] + [(str(c), i) for i, c in enumerate(class_names)],
                                  value=class_choice, description="class", style=style)
    seed_box = widgets.BoundedIntText(value=seed, min=0, max=10_000, description="seed", style=style,
                                      layout=widgets.Layout(width="150px"))
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))
    readout = widgets.HTML()

    def draw(change=None) -> None:
        eta_slider.disabled = pick_method.value == "ddpm"
        labels = widget_labels(pick_class.value, len(class_names), n)
        e = eta_slider.value if pick_method.value == "ddim" else 0.0
        start = time.perf_counter()
        x, traj = sample(model, labels, cfg_scale=cfg_scale, method=pick_method.value, num_steps=steps.value,
                         seed=seed_box.value, eta=e, progress=False, return_trajectory=True,
                         diffusion_steps=diffusion_steps)
        seconds = time.perf_counter() - start
        name = "DDPM" if pick_method.value == "ddpm" else f"DDIM, eta = {e:.1f}"
        picture.value = figure_png(sampler_mpl(
            x.clamp(-1, 1), traj, sample_labels=[str(class_names[int(c)]) for c in labels],
            title=f"{name}, {steps.value} steps, guidance {cfg_scale:g}, seed {seed_box.value}"))
        kept = space_timesteps(diffusion_steps, str(steps.value))
        shown = ", ".join(map(str, kept[::-1][:6])) + (", ..." if len(kept) > 6 else "")
        readout.value = (f"kept timesteps (the model sees these): {shown}<br>"
                         f"{n} samples in {seconds:.2f} s: <b>{1000 * seconds / n:.1f} ms per sample</b> "
                         f"({steps.value} network calls{' on the doubled batch' if cfg_scale != 1 else ''})")

    for w in (pick_method, steps, eta_slider, pick_class, seed_box):
        w.observe(draw, names="value")
    draw()
    controls = widgets.HBox([pick_method, steps, eta_slider, pick_class, seed_box],
                            layout=widgets.Layout(flex_flow="row wrap"))
    return widgets.VBox([controls, picture, readout])


__all__ = ["sampler_explorer", "widget_labels", "STEP_CHOICES", "ALL_CLASSES"]

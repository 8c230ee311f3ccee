"""Live widget for chapter 7: move the timestep t (array index) and one interpolation weight v for
every pixel (IDDPM eq. 15: log Sigma = v log beta_t + (1 - v) log beta-tilde_t, so 0 is beta-tilde_t and
1 is beta_t), and compare the bound term L_t it gives with the trained model's own per-pixel variance. Needs a kernel (Colab /
Jupyter); its static twins on the site are `dit_book.viz.bound.vb_curves_figure` and
`dit_book.viz.band.band_maps_figure`.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from dit_lib.diffusion import create_diffusion
from dit_lib.variance import variance_sweep

from ..plotting import figure_png
from ..viz.band import explorer_mpl

V_MIN, V_MAX = -0.25, 1.25                            # the band [0, 1] and a quarter beyond each end
V_GRID = np.round(np.linspace(V_MIN, V_MAX, 61), 3)  # the v slider moves on this grid (step 0.025)


def timestep_options(num_timesteps: int = 1000) -> list[int]:
    """Every t below 20, then about 40 steps spaced evenly in log t up to T - 1 (where the band is wide,
    every step; where it has collapsed, a few)."""
    if num_timesteps < 2:
        raise ValueError(f"num_timesteps must be at least 2, got {num_timesteps}.")
    dense = list(range(min(20, num_timesteps)))
    sparse = np.geomspace(20, num_timesteps - 1, 40).round().astype(int).tolist() if num_timesteps > 20 else []
    return sorted(set(dense + sparse))


def nearest_v(v: float) -> int:
    """Index of the grid value closest to v."""
    return int(np.argmin(np.abs(V_GRID - v)))


def variance_explorer(model, images: torch.Tensor, labels: torch.Tensor, *, t: int = 1, v: float = 0.5,
                      n_show: int = 4, seed: int = 0, diffusion=None):
    """A VBox: a timestep slider and a v slider -> the mean L_t (bits/dim) over `images` when every pixel
    gets that weight v, next to the model's own per-pixel variance, the best single v and the two fixed
    choices (v = 0: beta-tilde_t, v = 1: beta_t); and the model's position v in the band for the first
    `n_show` images."""
    import ipywidgets as widgets

    diffusion = diffusion or create_diffusion(timestep_respacing="")
    options = timestep_options(diffusion.num_timesteps)
    if t not in options:
        raise ValueError(f"t must be one of the slider's timesteps, e.g. {options[:5]} ... {options[-3:]}; got {t!r}.")
    if not V_MIN <= v <= V_MAX:
        raise ValueError(f"v must lie in [{V_MIN}, {V_MAX}], got {v}.")
    style = {"description_width": "initial"}
    t_slider = widgets.SelectionSlider(options=options, value=t, description="t (array index)", continuous_update=False,
                                       style=style, layout=widgets.Layout(width="420px"))
    v_slider = widgets.FloatSlider(value=float(V_GRID[nearest_v(v)]), min=V_MIN, max=V_MAX, step=0.025,
                                   description="v (0: β̃, 1: β)", continuous_update=False, readout_format=".3f",
                                   style=style,
                                   layout=widgets.Layout(width="360px"))
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="1000px"))
    readout = widgets.HTML()
    cache = {}

    def sweep(ti):
        if ti not in cache:
            start = time.perf_counter()
            cache[ti] = (variance_sweep(model, images, labels, [ti], seed=seed, diffusion=diffusion, v_grid=V_GRID),
                         time.perf_counter() - start)
        return cache[ti]

    def draw(change=None) -> None:
        s, seconds = sweep(t_slider.value)
        k = nearest_v(v_slider.value)
        curve, learned = s.vb_curve[0], float(s.vb_learned[0].mean())
        v_k = float(V_GRID[k])
        lb, lbt = float(s.log_beta[0]), float(s.log_beta_tilde[0])
        sigma_v = math.exp(v_k * lb + (1 - v_k) * lbt)                   # IDDPM eq. 15
        picture.value = figure_png(explorer_mpl(
            V_GRID, curve, v_k, float(curve[k]), learned, s.x_t[0, :n_show, 0].numpy(),
            s.v[0, :n_show, 0].numpy(), title=f"t = {t_slider.value}: L_t against one v for every pixel "
                                                 f"({len(images)} test images)"))
        best = int(np.argmin(curve))
        readout.value = "<br>".join([
            f"β<sub>t</sub> = {math.exp(lb):.3e}, β̃<sub>t</sub> = {math.exp(lbt):.3e} "
            f"(ratio β̃/β = {math.exp(lbt - lb):.4f}); your v = {v_k:.3f} gives Σ = {sigma_v:.3e}",
            f"mean L<sub>t</sub>: your v <b>{curve[k]:.5f}</b>, the model's own v <b>{learned:.5f}</b>, "
            f"best single v = {V_GRID[best]:.3f}: {curve[best]:.5f}, β̃<sub>t</sub>: {float(s.vb_small[0].mean()):.5f}, "
            f"β<sub>t</sub>: {float(s.vb_large[0].mean()):.5f} (bits/dim)",
            f"the model's median position in the band: v = {float(s.v[0].median()):.3f}; "
            f"measured in {seconds:.2f} s"])

    for w in (t_slider, v_slider):
        w.observe(draw, names="value")
    draw()
    return widgets.VBox([widgets.HBox([t_slider, v_slider], layout=widgets.Layout(flex_flow="row wrap")),
                         picture, readout])


__all__ = ["variance_explorer", "timestep_options", "nearest_v", "V_GRID", "V_MIN", "V_MAX"]

"""Live widget for chapter 6: pick a data set, an image, a schedule and a step t, and see x_t next to
x_0 and the noise, with its signal-to-noise ratio and what a classifier still reads from it. Needs a
kernel (Colab / Jupyter); its static twin on the site is `dit_book.viz.remains.forward_grid_figure`.

Here t is the paper's step: t = 0 is the clean image, t = 1..T index the library's tables at t - 1.
"""
from __future__ import annotations

import math
from typing import Mapping

import torch

from ..plotting import figure_png
from ..viz.remains import forward_mpl


def step_numbers(diffusion, t: int) -> dict:
    """beta_t, abar_t, the weights sqrt(abar_t) and sqrt(1 - abar_t), SNR_t and log SNR_t at the
    paper's step t (0..T; at t = 0 nothing has been added: abar = 1, SNR = inf)."""
    T = diffusion.num_timesteps
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= T:
        raise ValueError(f"t must be an integer step in 0..{T} (0 is the clean image), got {t!r}.")
    if t == 0:
        return dict(beta=0.0, abar=1.0, signal=1.0, noise=0.0, snr=math.inf, log_snr=math.inf)
    beta, abar = diffusion.betas[t - 1].item(), diffusion.alphas_cumprod[t - 1].item()
    return dict(beta=beta, abar=abar, signal=math.sqrt(abar), noise=math.sqrt(1 - abar), snr=abar / (1 - abar),
                log_snr=math.log(abar) - math.log1p(-abar))


def noisy(diffusion, x0: torch.Tensor, t: int, noise: torch.Tensor) -> torch.Tensor:
    """x_t of a batch x0 (B, C, H, W) at the paper's step t with the given noise (x0 itself at t = 0)."""
    step_numbers(diffusion, t)                                              # checks t
    if t == 0:
        return x0.clone()
    return diffusion.q_sample(x0, torch.full((len(x0),), t - 1, dtype=torch.long), noise=noise)


def forward_explorer(datasets: Mapping[str, object], diffusions: Mapping[str, object], *,
                     judges: Mapping[str, object] | None = None, dataset: str | None = None, schedule: str = "both",
                     t: int = 250, index: int = 0, seed: int = 0):
    """A VBox: data set, image, schedule ("both" or one name), step t and noise seed -> x_0, x_t under
    the chosen schedule(s) with the same noise, and the noise; below, beta_t, abar_t, SNR and the
    correlation of x_t with x_0 per schedule, and (when `judges` has one for the data set) what a
    classifier trained on clean images reads from x_t.

    `datasets`: name -> an `ImageDataset` (`load_dataset(...)`); `diffusions`: schedule name ->
    a diffusion with all T steps (`create_diffusion("", noise_schedule=...)`).
    """
    import ipywidgets as widgets

    if not datasets or not diffusions:
        raise ValueError("pass at least one data set and one diffusion: "
                         "datasets={'digits': load_dataset('digits')}, diffusions={'linear': create_diffusion('')}.")
    Ts = {d.num_timesteps for d in diffusions.values()}
    if len(Ts) != 1:
        raise ValueError(f"every diffusion must have the same number of steps, got {sorted(Ts)}.")
    T = Ts.pop()
    dataset = dataset or next(iter(datasets))
    if dataset not in datasets:
        raise ValueError(f"dataset {dataset!r} is not one of {list(datasets)}.")
    choices = ["both"] + list(diffusions) if len(diffusions) > 1 else list(diffusions)
    if schedule not in choices:
        raise ValueError(f"schedule must be one of {choices}, got {schedule!r}.")
    judges = dict(judges or {})
    style = {"description_width": "initial"}
    pick_data = widgets.Dropdown(options=list(datasets), value=dataset, description="data set", style=style)
    pick_sched = widgets.Dropdown(options=choices, value=schedule, description="schedule", style=style)
    t_slider = widgets.IntSlider(value=t, min=0, max=T, step=1, description="paper step t", continuous_update=False,
                                 style=style)
    play = widgets.Play(value=t, min=0, max=T, step=25, interval=500)
    widgets.jslink((play, "value"), (t_slider, "value"))
    n_img = len(datasets[dataset].images)
    pick_img = widgets.IntSlider(value=min(index, n_img - 1), min=0, max=n_img - 1, description="image",
                                 continuous_update=False, style=style)
    pick_seed = widgets.IntText(value=seed, description="noise seed", layout=widgets.Layout(width="160px"),
                                style=style)
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))
    readout = widgets.HTML()

    def on_data(change=None) -> None:
        pick_img.max = len(datasets[pick_data.value].images) - 1

    def draw(change=None) -> None:
        data = datasets[pick_data.value]
        x0 = data.images[pick_img.value][None]                                     # (1, C, H, W)
        y = int(data.labels[pick_img.value])
        eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(int(pick_seed.value)))
        names = list(diffusions) if pick_sched.value == "both" else [pick_sched.value]
        tt = int(t_slider.value)
        frames, captions, lines = {}, {}, []
        judge = judges.get(pick_data.value)
        for name in names:
            d = diffusions[name]
            xt = noisy(d, x0, tt, eps)                                               # (1, C, H, W)
            num = step_numbers(d, tt)
            frames[name] = xt[0]
            captions[name] = f"√ᾱ = {num['signal']:.3f}, √(1−ᾱ) = {num['noise']:.3f}"
            corr = torch.corrcoef(torch.stack([xt.flatten(), x0.flatten()]))[0, 1].item()
            line = (f"<b>{name}</b>: β_t = {num['beta']:.4g}, ᾱ_t = {num['abar']:.4g}, "
                    f"SNR = {num['snr']:.3g} (log SNR = {num['log_snr']:.2f}), corr(x_t, x_0) = {corr:.3f}")
            if judge is not None:
                prob = torch.softmax(judge.logits(xt), dim=1)[0]                     # (K,)
                guess = int(prob.argmax())
                line += (f"; the classifier reads <b>{data.class_names[guess]}</b> "
                         f"(p = {prob[guess]:.2f}; true class {data.class_names[y]}: p = {prob[y]:.2f})")
            lines.append(line)
        picture.value = figure_png(forward_mpl(x0[0], eps[0], frames, captions=captions,
                                               title=f"{pick_data.value}, image {pick_img.value} "
                                                     f"({data.class_names[y]}), step t = {tt} of {T}"))
        readout.value = "<br>".join(lines)

    pick_data.observe(on_data, names="value")
    for w in (pick_data, pick_sched, t_slider, pick_img, pick_seed):
        w.observe(draw, names="value")
    draw()
    controls = widgets.HBox([pick_data, pick_sched, pick_img, pick_seed, play, t_slider],
                            layout=widgets.Layout(flex_flow="row wrap"))
    return widgets.VBox([controls, picture, readout])


__all__ = ["forward_explorer", "step_numbers", "noisy"]

"""Live widget for chapter 8: train a small DiT for a few hundred steps with the library's
`Trainer`, then look at the loss curve and at samples of the raw weights and of their EMA.
Needs a kernel (Colab / Jupyter); its static twin on the site is
`dit_book.viz.training.training_record_figure` over the shipped digits run.
"""
from __future__ import annotations

import time
from typing import Sequence

import torch

from dit_lib.sampling import sample
from dit_lib.train import TrainConfig, Trainer

from ..plotting import figure_png
from ..viz.training import live_run_mpl

MODELS = ("DiT-Micro/2", "DiT-Tiny/2")


def train_and_sample(images: torch.Tensor, labels: torch.Tensor, num_classes: int, *, model: str = "DiT-Micro/2",
                     steps: int = 200, batch_size: int = 32, lr: float = 2e-3, class_dropout_prob: float = 0.1,
                     ema_decay: float = 0.999, seed: int = 0, samples_per_class: int = 2, num_steps: int = 10,
                     cfg_scale: float = 2.0) -> dict:
    """Train `steps` steps with `Trainer`, then sample `samples_per_class` images per class from the
    raw weights and from the EMA (DDIM, `num_steps` steps, the same noise for both).

    Guidance needs the null label, which exists only when class_dropout_prob > 0; without it the
    samples use cfg_scale 1 (no guidance) and `guided` is False. Returns the trainer, its record,
    the labels and samples {"raw weights": x, "EMA weights": x} and the wall time of training.
    """
    cfg = TrainConfig(model=model, steps=steps, batch_size=batch_size, lr=lr, class_dropout_prob=class_dropout_prob,
                      ema_decay=ema_decay, seed=seed, log_every=max(1, steps // 60), gate_every=steps)
    trainer = Trainer(cfg, images, labels, num_classes)
    start = time.perf_counter()
    trainer.run(steps, progress=False)
    seconds = time.perf_counter() - start
    guided = class_dropout_prob > 0
    y = torch.arange(num_classes).repeat(samples_per_class)                          # (K * n,)
    out = {}
    for name, m in (("raw weights", trainer.model), ("EMA weights", trainer.ema)):
        out[name] = sample(m, y, cfg_scale=cfg_scale if guided else 1.0, method="ddim", num_steps=num_steps,
                           seed=seed, progress=False).clamp(-1, 1)                      # (K * n, C, H, W)
    return dict(trainer=trainer, record=trainer.record, labels=y, samples=out, seconds=seconds, guided=guided,
                cfg_scale=cfg_scale if guided else 1.0)


def train_explorer(images: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], *,
                   model: str = "DiT-Micro/2", steps: int = 200, batch_size: int = 32, lr: float = 2e-3,
                   class_dropout_prob: float = 0.1, ema_decay: float = 0.999, seed: int = 0, judge=None,
                   run_now: bool = True):
    """A VBox: model, steps, batch size, learning rate, label dropout and EMA decay, and a Train
    button -> the loss curve and samples of the raw and the EMA weights (plus the judge's accuracy
    on them, when a judge from `dit_lib.evaluation.get_judge` is given)."""
    import ipywidgets as widgets

    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS} (small enough to train in seconds), got {model!r}.")
    style = {"description_width": "initial"}
    pick = widgets.Dropdown(options=list(MODELS), value=model, description="model", style=style)
    n_steps = widgets.IntSlider(value=steps, min=20, max=1000, step=20, description="steps", style=style,
                                continuous_update=False)
    batch = widgets.Dropdown(options=[16, 32, 64, 128], value=batch_size, description="batch", style=style)
    rate = widgets.FloatLogSlider(value=lr, base=10, min=-4, max=-2, step=0.25, description="learning rate",
                                  readout_format=".1e", style=style, continuous_update=False)
    drop = widgets.FloatSlider(value=class_dropout_prob, min=0.0, max=0.5, step=0.05, description="label dropout",
                               readout_format=".2f", style=style, continuous_update=False)
    decay = widgets.Dropdown(options=[0.99, 0.995, 0.999, 0.9999], value=ema_decay, description="EMA decay (cap)",
                             style=style)
    button = widgets.Button(description="Train", button_style="primary", icon="play")
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="1000px"))
    readout = widgets.HTML()

    def train(_=None) -> None:
        button.disabled = True
        readout.value = "training ..."
        try:
            res = train_and_sample(images, labels, len(class_names), model=pick.value, steps=n_steps.value,
                                   batch_size=batch.value, lr=rate.value, class_dropout_prob=drop.value,
                                   ema_decay=decay.value, seed=seed)
        finally:
            button.disabled = False
        rec = res["record"]
        picture.value = figure_png(live_run_mpl(
            rec["loss_steps"], rec["loss"], res["samples"], class_names=class_names,
            title=f"{pick.value}, {n_steps.value} steps of batch {batch.value}, lr {rate.value:.1e}, "
                  f"label dropout {drop.value:.2f}; DDIM-10, guidance {res['cfg_scale']:g}"))
        lines = [f"trained {n_steps.value} steps in <b>{res['seconds']:.1f} s</b> "
                 f"({n_steps.value / res['seconds']:.0f} steps/s); final smoothed loss <b>{rec['loss'][-1]:.4f}</b>"]
        if judge is not None:
            acc = {k: judge.accuracy(x, res["labels"]) for k, x in res["samples"].items()}
            lines.append("judge accuracy: " + ", ".join(f"{k} <b>{v:.0%}</b>" for k, v in acc.items()) +
                         f" (on {len(res['labels'])} samples; chance: {1 / len(class_names):.0%})")
        if not res["guided"]:
            lines.append("label dropout 0: the model has no null label, so no classifier-free guidance "
                         "(sampled with guidance 1)")
        readout.value = "<br>".join(lines)

    button.on_click(train)
    if run_now:
        train()
    controls = widgets.HBox([pick, n_steps, batch, rate, drop, decay, button], layout=widgets.Layout(flex_flow="row wrap"))
    return widgets.VBox([controls, picture, readout])


__all__ = ["train_explorer", "train_and_sample", "MODELS"]

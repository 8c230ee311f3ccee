"""Live widget for chapter 8: train a small DiT for a few hundred steps with the library's
`Trainer`, then look at the loss curve and at samples of the raw weights and of their EMA.
Needs a kernel (Colab / Jupyter); its static twin on the site is
`dit_book.viz.training.training_record_figure` over the shipped digits run.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import torch

from dit_lib.sampling import sample
from dit_lib.trainer import TrainConfig, Trainer

from ..plotting import figure_png
from ..viz.training import live_run_mpl

MODELS = ("DiT-Micro/2", "DiT-Tiny/2")
# The chapter's live run (section 8.2): DiT-Micro/2 learns the digits' classes in a few hundred steps
# at a learning rate of 1e-2 (the gradient clipping at norm 1 keeps it stable), about 16 s on one CPU thread.
LIVE_RECIPE = dict(model="DiT-Micro/2", steps=480, batch_size=64, lr=1e-2, ema_decay=0.995)


def summarize(trainer: Trainer, seconds: float, *, samples_per_class: int = 2, num_steps: int = 10,
              cfg_scale: float = 2.0) -> dict:
    """What the widget shows of a trained `Trainer`: `samples_per_class` images per class from the
    raw weights and from the EMA (DDIM, `num_steps` steps, the same noise for both).

    Guidance needs the null label, which exists only when class_dropout_prob > 0; without it the
    samples use cfg_scale 1 (no guidance) and `guided` is False. Returns the trainer, its record,
    the labels and samples {"raw weights": x, "EMA weights": x} and the wall time of training.
    """
    guided = trainer.cfg.class_dropout_prob > 0
    y = torch.arange(trainer.num_classes).repeat(samples_per_class)                   # (K * n,)
    out = {}
    for name, m in (("raw weights", trainer.model), ("EMA weights", trainer.ema)):
        out[name] = sample(m, y, cfg_scale=cfg_scale if guided else 1.0, method="ddim", num_steps=num_steps,
                           seed=trainer.cfg.seed, progress=False).clamp(-1, 1)          # (K * n, C, H, W)
    return dict(trainer=trainer, record=trainer.record, labels=y, samples=out, seconds=seconds, guided=guided,
                cfg_scale=cfg_scale if guided else 1.0)


def train_and_sample(images: torch.Tensor, labels: torch.Tensor, num_classes: int, *, model: str = "DiT-Micro/2",
                     steps: int = 200, batch_size: int = 32, lr: float = 2e-3, class_dropout_prob: float = 0.1,
                     ema_decay: float = 0.999, seed: int = 0, samples_per_class: int = 2, num_steps: int = 10,
                     cfg_scale: float = 2.0, on_progress: Callable[[int, float], None] | None = None) -> dict:
    """Train `steps` steps with `Trainer`, then `summarize` it. `on_progress(step, running_loss)` is
    called about 50 times along the way (the run is the same as one `Trainer.run(steps)`)."""
    cfg = TrainConfig(model=model, steps=steps, batch_size=batch_size, lr=lr, class_dropout_prob=class_dropout_prob,
                      ema_decay=ema_decay, seed=seed, log_every=max(1, steps // 60), gate_every=steps)
    trainer = Trainer(cfg, images, labels, num_classes)
    chunk = max(1, steps // 50)
    start = time.perf_counter()
    while trainer.step < steps:
        trainer.run(min(chunk, steps - trainer.step), progress=False)
        if on_progress is not None:
            on_progress(trainer.step, trainer.record["running_loss"])
    seconds = time.perf_counter() - start
    return summarize(trainer, seconds, samples_per_class=samples_per_class, num_steps=num_steps, cfg_scale=cfg_scale)


def train_explorer(images: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], *,
                   model: str = LIVE_RECIPE["model"], steps: int = LIVE_RECIPE["steps"],
                   batch_size: int = LIVE_RECIPE["batch_size"], lr: float = LIVE_RECIPE["lr"],
                   class_dropout_prob: float = 0.1, ema_decay: float = LIVE_RECIPE["ema_decay"], seed: int = 0,
                   judge=None, run_now: bool = False, shown: dict | None = None):
    """A VBox: model, steps, batch size, learning rate, label dropout and EMA decay, and a Train
    button -> a progress bar while training, then the loss curve and samples of the raw and the EMA
    weights (plus the judge's accuracy on them, when a judge from `dit_lib.evaluation.get_judge` is
    given). The defaults are the chapter's live run, which ends with digits of the asked class.

    It trains only when asked: `run_now=True` trains once at the start; `shown` (a result of
    `summarize` or `train_and_sample`, e.g. of a run the notebook already did) is shown at the
    start instead, with its settings in the controls."""
    import ipywidgets as widgets

    if shown is not None:
        cfg = shown["trainer"].cfg
        model, steps, batch_size, lr = cfg.model, shown["trainer"].step, cfg.batch_size, cfg.lr
        class_dropout_prob, ema_decay, seed = cfg.class_dropout_prob, cfg.ema_decay, cfg.seed
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS} (small enough to train in seconds), got {model!r}.")
    style = {"description_width": "initial"}
    pick = widgets.Dropdown(options=list(MODELS), value=model, description="model", style=style)
    n_steps = widgets.IntSlider(value=steps, min=20, max=2000, step=20, description="steps", style=style,
                                continuous_update=False)
    batch = widgets.Dropdown(options=sorted({16, 32, 64, 128, batch_size}), value=batch_size, description="batch",
                             style=style)
    rate = widgets.FloatLogSlider(value=lr, base=10, min=-4, max=-1.5, step=0.25, description="learning rate",
                                  readout_format=".1e", style=style, continuous_update=False)
    drop = widgets.FloatSlider(value=class_dropout_prob, min=0.0, max=0.5, step=0.05, description="label dropout",
                               readout_format=".2f", style=style, continuous_update=False)
    decay = widgets.Dropdown(options=sorted({0.99, 0.995, 0.999, 0.9999, ema_decay}), value=ema_decay,
                             description="EMA decay (cap)", style=style)
    button = widgets.Button(description="Train", button_style="primary", icon="play")
    bar = widgets.IntProgress(value=0, min=0, max=steps, description="step 0", style=style,
                              layout=widgets.Layout(width="100%", max_width="1000px"))
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="1000px"))
    readout = widgets.HTML()

    def show(res: dict) -> None:
        rec, cfg = res["record"], res["trainer"].cfg
        n = res["trainer"].step
        bar.max, bar.value, bar.description = max(n, 1), n, f"step {n}"
        picture.value = figure_png(live_run_mpl(
            rec["loss_steps"], rec["loss"], res["samples"], class_names=class_names,
            title=f"{cfg.model}, {n} steps of batch {cfg.batch_size}, lr {cfg.lr:.1e}, "
                  f"label dropout {cfg.class_dropout_prob:.2f}; DDIM-10, guidance {res['cfg_scale']:g}"))
        lines = [f"trained {n} steps in <b>{res['seconds']:.1f} s</b> "
                 f"({n / res['seconds']:.0f} steps/s); final smoothed loss <b>{rec['loss'][-1]:.4f}</b>"]
        if judge is not None:
            acc = {k: judge.accuracy(x, res["labels"]) for k, x in res["samples"].items()}
            lines.append("judge accuracy: " + ", ".join(f"{k} <b>{v:.0%}</b>" for k, v in acc.items()) +
                         f" (on {len(res['labels'])} samples; chance: {1 / len(class_names):.0%})")
        if not res["guided"]:
            lines.append("label dropout 0: the model has no null label, so no classifier-free guidance "
                         "(sampled with guidance 1)")
        readout.value = "<br>".join(lines)

    def progress(step: int, loss: float) -> None:
        bar.value, bar.description = step, f"step {step}"
        readout.value = f"training ... smoothed loss {loss:.4f}"

    def train(_=None) -> None:
        button.disabled = True
        bar.max, bar.value = n_steps.value, 0
        readout.value = "training ..."
        try:
            res = train_and_sample(images, labels, len(class_names), model=pick.value, steps=n_steps.value,
                                   batch_size=batch.value, lr=rate.value, class_dropout_prob=drop.value,
                                   ema_decay=decay.value, seed=seed, on_progress=progress)
        finally:
            button.disabled = False
        show(res)

    button.on_click(train)
    if shown is not None:
        show(shown)
    elif run_now:
        train()
    controls = widgets.HBox([pick, n_steps, batch, rate, drop, decay, button], layout=widgets.Layout(flex_flow="row wrap"))
    return widgets.VBox([controls, bar, picture, readout])


__all__ = ["train_explorer", "train_and_sample", "summarize", "MODELS", "LIVE_RECIPE"]

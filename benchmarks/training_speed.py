"""Training speed of the shipped recipes: the trainer's full step (data, loss, backward, clip, AdamW, EMA).

    python benchmarks/training_speed.py            # one table per configuration, on the recipe's threads

For each configuration (the digits and shapes recipes, and DiT-S/2 at 256 tokens) it times
`Trainer.train_step` with variants that change only how the step is computed, interleaved in
one process so the ratios compare like with like on a shared machine:

* before: the trainer until issue 16 (SDPA attention, AdamW's per-parameter loop, which is torch's
  CPU default, and the per-parameter EMA loop);
* default now: the multi-tensor (`foreach`) AdamW and EMA, the same bits (tests/test_train.py);
* explicit attention: softmax(q k^T / sqrt(d)) v written out instead of SDPA (other last bits);
* fused AdamW (other last bits);
* `torch.compile` of the model (its compile time is printed: it pays only if the run is longer).

Every variant runs in a fresh process (so that nothing one does, compiling included, can slow
another), in interleaved rounds; images/s is the best round, ratios are to the first line.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import torch

from dit_lib.data import load_dataset
from dit_lib.machine import describe, load_average
import dit_lib.trainer as trainer_module
from dit_lib.trainer import Trainer, TrainConfig, update_ema

FOREACH_EMA = update_ema

CONFIGS = {  # name: (TrainConfig fields, data, threads: the recipe's, dit_lib.pretrained.THREADS)
    "digits recipe (DiT-Tiny/2, 1x8x8, L=16, batch 128, 2 threads)": (
        dict(model="DiT-Tiny/2", batch_size=128),
        ("digits", {}),
        2,
    ),
    "shapes recipe (DiT-Tiny/2, 3x12x12, L=36, batch 128, 1 thread)": (
        dict(model="DiT-Tiny/2", batch_size=128),
        ("shapes", {"image_size": 12}),
        1,
    ),
    "DiT-S/2, 4x32x32 latents (L=256), batch 8, 2 threads": (dict(model="DiT-S/2", batch_size=8), None, 2),
}


def loop_ema(ema, model, decay):
    """The per-parameter EMA update the trainer used before issue 16 (the official train.py's loop)."""
    with torch.no_grad():
        for p_ema, p in zip(ema.parameters(), model.parameters()):
            p_ema.mul_(decay).add_(p.detach(), alpha=1 - decay)


# name: (attention impl, AdamW option, EMA, compiled). "loop": torch's CPU default (foreach=None)
VARIANTS = {
    "before: SDPA, AdamW loop, EMA loop": ("fast", "loop", "loop", False),
    "default now: SDPA, foreach AdamW + EMA": ("fast", "foreach", "foreach", False),
    "explicit attention, foreach": ("explicit", "foreach", "foreach", False),
    "SDPA, fused AdamW, foreach EMA": ("fast", "fused", "foreach", False),
    "SDPA, foreach, torch.compile": ("fast", "foreach", "foreach", True),
}


def make_trainer(fields: dict, data, impl: str, adamw: str, compiled: bool) -> Trainer:
    if data is None:  # random latents of the DiT paper's 256x256 images (32x32x4)
        images, labels, n_cls = torch.randn(64, 4, 32, 32), torch.arange(64) % 10, 10
    else:
        ds = load_dataset(data[0], split="train", **data[1])
        images, labels, n_cls = ds.images, ds.labels, ds.num_classes
    tr = Trainer(TrainConfig(steps=1, **fields), images, labels, n_cls)
    for block in tr.model.blocks:
        block.attn.impl = impl
    if adamw != "foreach":
        kw = {} if adamw == "loop" else {adamw: True}
        tr.opt = torch.optim.AdamW(tr.model.parameters(), lr=tr.cfg.lr, weight_decay=tr.cfg.weight_decay, **kw)
    if compiled:
        tr.net = torch.compile(tr.model)
    return tr


def steps(tr: Trainer, ema: str, n: int | None = None, seconds: float | None = None) -> int:
    """Run n steps, or as many as fit in `seconds`, with the variant's EMA update; returns the count."""
    trainer_module.update_ema = loop_ema if ema == "loop" else FOREACH_EMA
    done, start = 0, time.perf_counter()
    try:
        while (n is not None and done < n) or (seconds is not None and time.perf_counter() - start < seconds):
            tr.train_step()
            done += 1
    finally:
        trainer_module.update_ema = FOREACH_EMA
    return done


def one(title: str, variant: str, min_time: float) -> tuple[float, float]:
    """(images/s, seconds of set-up and 3 warm-up steps) of one variant, in this fresh process."""
    fields, data, threads = CONFIGS[title]
    impl, adamw, ema, compiled = VARIANTS[variant]
    start = time.perf_counter()
    tr = make_trainer(fields, data, impl, adamw, compiled)
    steps(tr, ema, n=3)  # warm-up (the compiled variant compiles here)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    n = steps(tr, ema, seconds=min_time)
    return n * tr.cfg.batch_size / (time.perf_counter() - start), setup


def measure(title: str, min_time: float, rounds: int, threads: int | None) -> dict:
    """Each variant in a fresh process (nothing one variant does, compiling included, can touch
    another's), `rounds` interleaved rounds; the best images/s of the rounds."""
    best = {}
    for _ in range(rounds):
        for variant in VARIANTS:
            out = subprocess.run(
                [sys.executable, __file__, "--one", title, variant, "--min-time", str(min_time)]
                + (["--threads", str(threads)] if threads else []),
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            rate, setup = float(out[-2]), float(out[-1])
            best[variant] = (max(best.get(variant, (0.0,))[0], rate), setup)
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--min-time", type=float, default=8.0, help="seconds of timed steps per variant and round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="instead of each recipe's own thread count")
    p.add_argument("--only", nargs="*", default=None, help="configurations whose name starts with one of these")
    p.add_argument("--one", nargs=2, metavar=("CONFIG", "VARIANT"), help=argparse.SUPPRESS)  # a worker process
    a = p.parse_args()
    if a.one:
        torch.set_num_threads(a.threads or CONFIGS[a.one[0]][2])
        rate, setup = one(*a.one, a.min_time)
        print(rate, setup)
        return
    print(f"{describe()}, torch {torch.__version__}, {load_average()} at the start", flush=True)
    for title in CONFIGS:
        if a.only and not any(title.startswith(o) for o in a.only):
            continue
        rows = measure(title, a.min_time, a.rounds, a.threads)
        base = rows[next(iter(VARIANTS))][0]
        print(f"\n{title}\n{'variant':<42}{'images/s':>10}{'ratio':>8}{'set-up + 3 steps':>18}")
        for name, (rate, setup) in rows.items():
            print(f"{name:<42}{rate:>10.0f}{rate / base:>7.2f}x{setup:>16.1f} s", flush=True)
    print(f"\n{load_average()} at the end")


if __name__ == "__main__":
    main()

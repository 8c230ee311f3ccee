"""Training speed of the shipped recipes: the trainer's full step (data, loss, backward, clip, AdamW, EMA).

    python benchmarks/training_speed.py            # prints one table; add --threads 1 for one thread

For each configuration (the digits and shapes recipes, and DiT-S/2 at 256 tokens) it times
`Trainer.train_step` with variants that change only how the step is computed, interleaved in
one process so the ratios compare like with like on a shared machine:

* attention: SDPA (`impl="fast"`) or softmax(q k^T / sqrt(d)) v written out (`"explicit"`);
* AdamW: the per-parameter loop (torch's CPU default), `foreach=True`, or `fused=True`;
* `torch.compile` of the model (its compile time is printed: it pays only if the run is longer).

Images/s is the best of three interleaved rounds; ratios are to the first line of each table.
"""

from __future__ import annotations

import argparse
import time

import torch

from dit_lib.attention import ATTENTION_IMPLS
from dit_lib.data import load_dataset
from dit_lib.machine import describe, load_average
from dit_lib.trainer import Trainer, TrainConfig

CONFIGS = {  # name: (TrainConfig fields, data)
    "digits recipe (DiT-Tiny/2, 1x8x8, L=16, batch 128)": (dict(model="DiT-Tiny/2", batch_size=128), ("digits", {})),
    "shapes recipe (DiT-Tiny/2, 3x12x12, L=36, batch 128)": (
        dict(model="DiT-Tiny/2", batch_size=128),
        ("shapes", {"image_size": 12}),
    ),
    "DiT-S/2, 4x32x32 latents (L=256), batch 8": (dict(model="DiT-S/2", batch_size=8), None),
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
    if adamw != "loop":
        tr.opt = torch.optim.AdamW(tr.model.parameters(), lr=tr.cfg.lr, **{adamw: True})
    if compiled:
        tr.net = torch.compile(tr.model)
    return tr


def measure(fields, data, min_time: float):
    variants = [
        (f"{impl}, AdamW {adamw}", impl, adamw, False) for impl in ATTENTION_IMPLS for adamw in ("loop", "foreach", "fused")
    ]
    variants.append(("explicit, AdamW fused, compiled", "explicit", "fused", True))
    trainers, best = {}, {}
    for name, impl, adamw, compiled in variants:
        start = time.perf_counter()
        trainers[name] = tr = make_trainer(fields, data, impl, adamw, compiled)
        for _ in range(3):  # warm-up (the compiled variant compiles here)
            tr.train_step()
        best[name] = (0.0, time.perf_counter() - start)
    for _ in range(3):
        for name, tr in trainers.items():
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < min_time / 3:
                tr.train_step()
                n += 1
            rate = n * tr.cfg.batch_size / (time.perf_counter() - start)
            best[name] = (max(best[name][0], rate), best[name][1])
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--min-time", type=float, default=6.0, help="seconds per variant (over 3 interleaved rounds)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--only", nargs="*", default=None, help="configurations whose name starts with one of these")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    print(f"{describe()}, torch {torch.__version__}, {torch.get_num_threads()} threads, {load_average()} at the start")
    for title, (fields, data) in CONFIGS.items():
        if a.only and not any(title.startswith(o) for o in a.only):
            continue
        rows = measure(fields, data, a.min_time)
        base = next(iter(rows.values()))[0]
        print(f"\n{title}\n{'variant':<36}{'images/s':>10}{'ratio':>8}{'set-up + 3 steps':>18}")
        for name, (rate, setup) in rows.items():
            print(f"{name:<36}{rate:>10.0f}{rate / base:>7.2f}x{setup:>16.1f} s", flush=True)
    print(f"\n{load_average()} at the end")


if __name__ == "__main__":
    main()

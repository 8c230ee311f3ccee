"""Seconds per 1,000 training steps of `python -m dit_lib.train --data ...`, for two model sizes.

    .venv/bin/python benchmarks/own_data_speed.py     # prints a table, writes dit_lib/pretrained/own_data_speed.json
    .venv/bin/python benchmarks/own_data_speed.py --steps 100 --image-size 16 --channels 3 --out /tmp/x.json

The book's page "Use dit_lib on your own images" (book/own_data.ipynb) reads the JSON (shipped in the
package, like the other measured results, so the page also runs in Colab). Each row
trains the CLI's default recipe (batch 128, AdamW, EMA, the hybrid loss) on an .npz of random
uint8 images loaded through `dit_lib.image_files` (the speed does not depend on what the pictures
show): a few warm-up steps, then `--steps` timed steps of `Trainer.run`, best of `--rounds` (the models take turns).
What the time depends on: the tokens per image (image size / patch size, squared), the batch
size, the model's width and depth, and the CPU threads torch uses (and whatever else the machine
is doing: the load average is recorded before and after). Process start-up and data loading
(a few seconds, once per run) are not included.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dit_lib.image_files import load_image_data
from dit_lib.machine import describe, load_average, processor
from dit_lib.trainer import TrainConfig, Trainer

OUT = Path(__file__).resolve().parents[1] / "dit_lib" / "pretrained" / "own_data_speed.json"


def time_steps(models: list[str], ds, batch_size: int, steps: int, rounds: int) -> list[dict]:
    """Seconds per training step of each model on `ds`: the best of `rounds` runs of `steps` steps,
    the models taking turns, so that a change in the machine's load hits them alike."""
    trainers = {}
    for model in models:
        cfg = TrainConfig(
            dataset="npz", data="benchmark.npz", model=model, batch_size=batch_size, steps=steps, log_every=10, gate_every=10**6
        )
        trainers[model] = Trainer(cfg, ds.images, ds.labels, ds.num_classes)
        trainers[model].run(5, progress=False)  # warm-up: allocations, kernel choice
    best = dict.fromkeys(models, float("inf"))
    for _ in range(rounds):
        for model, tr in trainers.items():
            start = time.perf_counter()
            tr.run(steps, progress=False)
            best[model] = min(best[model], (time.perf_counter() - start) / steps)
    return [row(model, trainers[model], ds, batch_size, best[model], steps * rounds) for model in models]


def row(model: str, tr: Trainer, ds, batch_size: int, best: float, timed: int) -> dict:
    size = tuple(ds.images.shape[-2:])
    patch = tr.model.patch_size
    return {
        "model": model,
        "image_size": list(size),
        "channels": ds.channels,
        "patch_size": patch,
        "tokens": (size[0] // patch) * (size[1] // patch),
        "batch_size": batch_size,
        "params": sum(p.numel() for p in tr.model.parameters()),
        "timed_steps": timed,
        "seconds_per_1000_steps": round(1000 * best, 1),
        "steps_per_second": round(1 / best, 2),
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["DiT-Micro/2", "DiT-Tiny/2"])
    p.add_argument("--image-size", type=int, default=8)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=40, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--out", default=str(OUT))
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    n, s = 512, a.image_size
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "benchmark.npz"
        np.savez(path, images=rng.integers(0, 256, (n, s, s, a.channels), dtype=np.uint8), labels=np.arange(n) % 4)
        ds = load_image_data(path)
    before = load_average()
    rows = time_steps(a.models, ds, a.batch_size, a.steps, a.rounds)
    result = {
        "processor": processor(),
        "processor_text": describe(),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_before": before,
        "load_after": load_average(),
        "loadavg_1_5_15": list(os.getloadavg()),
        "rows": rows,
    }
    for r in rows:
        print(
            f"{r['model']:12s} {r['image_size'][0]}x{r['image_size'][1]}x{r['channels']} "
            f"{r['tokens']:3d} tokens  batch {r['batch_size']}  {r['params']:>9,} params  "
            f"{r['seconds_per_1000_steps']:7.1f} s / 1,000 steps  {r['steps_per_second']:6.2f} steps/s"
        )
    print(f"{describe()}, {result['threads']} threads; {before} before, {result['load_after']} after")
    Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {a.out}")
    return result


if __name__ == "__main__":
    main()

"""Calibrate the quality judges: real test accuracy, training time, and the real-vs-real FD floor.

    python benchmarks/judge_calibration.py [--out judge_calibration.json]

For each dataset configuration: train the judge (CPU, one thread), report its accuracy on the
real test split (the ceiling for generated samples) and the Fréchet distance between two
disjoint, class-matched sets of n real training images for a few n (the floor; it shrinks as n
grows, so a generated set must always be compared with the floor at its own n). Uniform noise is shown as
a "clearly bad generator" reference.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from dit_lib.data import load_dataset
from dit_lib.evaluation import evaluate_samples, train_judge

CONFIGS = [
    ("digits", {}),
    ("digits", {"image_size": 16}),
    ("shapes", {}),  # 3 shapes x 3 colours
    ("shapes", {"shapes": ("square", "circle", "triangle", "cross"), "colors": ("red", "green")}),
    ("shapes", {"image_size": 32}),
]
SAMPLE_SIZES = (100, 300, 600)  # digits train has >= 139 images per class


def calibrate(name: str, options: dict) -> dict:
    start = time.perf_counter()
    judge = train_judge(name, **options)
    seconds = time.perf_counter() - start
    real = load_dataset(name, "train", **options)
    floors, noise_fd = {}, {}
    for n in SAMPLE_SIZES:
        noise = (
            torch.rand((n, judge.channels, judge.image_size, judge.image_size), generator=torch.Generator().manual_seed(n)) * 2
            - 1
        )
        labels = torch.arange(n) % judge.num_classes  # balanced, as the book samples
        q = evaluate_samples(judge, noise, labels, real.images, real.labels)
        floors[n], noise_fd[n] = q.fd_real_baseline, q.fd
    return {
        "dataset": name,
        "options": options,
        "classes": judge.num_classes,
        "test_accuracy": judge.test_accuracy,
        "train_seconds": seconds,
        "fd_real_vs_real": floors,
        "fd_noise": noise_fd,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    rows = []
    print(
        f"{'dataset':<8} {'options':<62} {'K':>2} {'test acc':>8} {'train s':>7}  FD real/real (noise) at n="
        + ", ".join(map(str, SAMPLE_SIZES))
    )
    for name, options in CONFIGS:
        row = calibrate(name, options)
        rows.append(row)
        fds = "  ".join(f"{row['fd_real_vs_real'][n]:.2f} ({row['fd_noise'][n]:.0f})" for n in SAMPLE_SIZES)
        print(
            f"{name:<8} {str(options):<62} {row['classes']:>2} {row['test_accuracy']:>8.4f} {row['train_seconds']:>7.1f}  {fds}",
            flush=True,
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()

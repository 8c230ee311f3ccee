"""Seconds to load each shipped checkpoint and sample 16 images (the book's "runs in seconds" promise).

    python benchmarks/load_and_sample.py
"""
import time

import torch

from dit_lib.pretrained import list_pretrained, load_pretrained
from dit_lib.sampling import sample


def main():
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'checkpoint':<12}{'load s':>8}{'DDIM-50 s':>11}{'DDPM-250 s':>12}   (16 images, guidance 2)")
    for name in list_pretrained():
        start = time.perf_counter()
        model = load_pretrained(name)
        loaded = time.perf_counter() - start
        times = []
        for method, steps in (("ddim", 50), ("ddpm", 250)):
            start = time.perf_counter()
            sample(model, torch.arange(16) % model.num_classes, cfg_scale=2.0, method=method, num_steps=steps,
                   seed=0, progress=False)
            times.append(time.perf_counter() - start)
        print(f"{name:<12}{loaded:>8.2f}{times[0]:>11.2f}{times[1]:>12.2f}")


if __name__ == "__main__":
    main()

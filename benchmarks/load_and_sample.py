"""Seconds to load each shipped checkpoint and sample 16 images (the book's "runs in seconds" promise).

    python benchmarks/load_and_sample.py

Measured with 1 thread and with torch's default thread count: the book's models are tiny, and
on a busy machine OpenMP workers that spin-wait for a core can make 2 threads many times
slower than 1 (seen here: DDIM-50 in 47 s with 2 threads vs 1.0 s with 1, at load about 4).
"""

import time

import torch

from dit_lib.machine import describe, load_average
from dit_lib.pretrained import list_pretrained, load_pretrained
from dit_lib.sampling import sample


def main():
    default = torch.get_num_threads()
    print(f"{describe()}, {load_average()} at the start; 16 images, guidance 2")
    print(f"{'checkpoint':<12}{'threads':>8}{'load s':>8}{'DDIM-50 s':>11}{'DDPM-250 s':>12}")
    for name in list_pretrained():
        for threads in sorted({1, default}):
            torch.set_num_threads(threads)
            start = time.perf_counter()
            model = load_pretrained(name)
            loaded = time.perf_counter() - start
            times = []
            for method, steps in (("ddim", 50), ("ddpm", 250)):
                start = time.perf_counter()
                sample(
                    model,
                    torch.arange(16) % model.num_classes,
                    cfg_scale=2.0,
                    method=method,
                    num_steps=steps,
                    seed=0,
                    progress=False,
                )
                times.append(time.perf_counter() - start)
            print(f"{name:<12}{threads:>8}{loaded:>8.2f}{times[0]:>11.2f}{times[1]:>12.2f}")
    torch.set_num_threads(default)


if __name__ == "__main__":
    main()

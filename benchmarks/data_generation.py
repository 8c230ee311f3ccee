"""How fast the data come: the procedural shapes generator and the digits loader.

    python benchmarks/data_generation.py

Prints images per second for `make_shapes` at the sizes the book uses (12x12 for the shipped
model, 16x16 by default) and seconds to load the digits split; best of 3 runs, one thread.
"""
import time

import torch

from dit_lib.data import SHAPES, load_dataset, make_shapes


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    torch.set_num_threads(1)
    make_shapes(100)                                                     # warm up
    print(f"torch {torch.__version__}; best of 3, 1 thread")
    for size in (12, 16):
        n = 10_000
        s = best_of(lambda: make_shapes(n, image_size=size, shapes=SHAPES))
        print(f"make_shapes({n:,}, image_size={size}, all {len(SHAPES)} shapes): {s:.2f} s, "
              f"{n / s:,.0f} images/s")
    s = best_of(lambda: load_dataset("digits", split="train"))
    print(f"load_dataset('digits', split='train'): {s:.3f} s")


if __name__ == "__main__":
    main()

"""How fast the data come: the procedural shapes generator and the digits loader.

    python benchmarks/data_generation.py

Prints images per second for `make_shapes` at the sizes the book uses (12x12 for the shipped
model, 16x16 by default) and seconds to load the digits split; one thread, each timing the mean
over at least a second after a warm-up (`time_it` of throughput.py).
"""

import torch

from dit_lib.data import SHAPES, load_dataset, make_shapes
from dit_lib.machine import describe, load_average
from throughput import time_it  # benchmarks/ is on sys.path when run as a script

N = 10_000


def main():
    torch.set_num_threads(1)
    print(f"{describe()}, {load_average()} at the start; 1 thread")
    for size in (12, 16):
        s = time_it(lambda size=size: make_shapes(N, image_size=size, shapes=SHAPES), warmup=1)
        print(f"make_shapes({N:,}, image_size={size}, all {len(SHAPES)} shapes): {s:.2f} s, {N / s:,.0f} images/s")
    s = time_it(lambda: load_dataset("digits", split="train"))
    print(f"load_dataset('digits', split='train'): {s:.3f} s")


if __name__ == "__main__":
    main()

"""Throughput of dit_lib's DiT on CPU: attention paths for training, and guidance batching for sampling.

    python benchmarks/throughput.py            # prints two tables

1. Forward + backward images/s for a book-sized DiT with (a) the fast path
   (`F.scaled_dot_product_attention`), (b) the explicit path (softmax(q k^T / sqrt(d)) v, which
   can return the weights), and (c) a naive textbook attention (a Python loop over heads with a
   hand-written softmax), all in one run so the ratios compare like with like.
2. Sampling images/s with classifier-free guidance done as one doubled batch [x; x] vs two
   separate forward passes (conditional, then unconditional).
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from dit_lib.attention import Attention
from dit_lib.machine import describe, load_average
from dit_lib.models import DiT_models
from dit_lib.sampling import guided_model


class NaiveAttention(Attention):
    """The textbook version: one head at a time, softmax written out. Same weights, same function."""

    def forward(self, x, return_attn=False):
        B, L, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=-1)  # (B, L, D) each
        heads = []
        for i in range(self.num_heads):
            s = slice(i * self.head_dim, (i + 1) * self.head_dim)
            scores = q[..., s] @ k[..., s].transpose(1, 2) / math.sqrt(self.head_dim)  # (B, L, L)
            scores = torch.exp(scores - scores.max(dim=-1, keepdim=True).values)
            heads.append((scores / scores.sum(dim=-1, keepdim=True)) @ v[..., s])  # (B, L, D/h)
        return self.proj(torch.cat(heads, dim=-1))  # (B, L, D)


def set_impl(model, impl):
    for block in model.blocks:
        block.attn.__class__ = NaiveAttention if impl == "naive" else Attention
        if impl != "naive":
            block.attn.impl = impl


def time_it(fn, min_time=1.0, warmup=3):
    """Seconds per call: warm up, then average over at least `min_time` seconds."""
    for _ in range(warmup):
        fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_time:
        fn()
        n += 1
    return (time.perf_counter() - start) / n


def best_of(variants, rounds, min_time):
    """Images/s per variant: the best of `rounds` interleaved measurements (robust to one-off stalls)."""
    best = {name: 0.0 for name, _, _ in variants}
    for _ in range(rounds):
        for name, setup, fn in variants:
            setup()
            best[name] = max(best[name], 1.0 / time_it(fn, min_time / rounds))
    return list(best.items())


def train_throughput(name, size, channels, batch, min_time):
    torch.manual_seed(0)
    model = DiT_models[name](input_size=size, in_channels=channels, num_classes=10)
    x = torch.randn(batch, channels, size, size)
    t, y = torch.randint(0, 1000, (batch,)), torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: weights stay put, work is real

    def step():
        opt.zero_grad(set_to_none=True)
        model(x, t, y).square().mean().backward()
        opt.step()

    variants = [(impl, lambda impl=impl: set_impl(model, impl), step) for impl in ("fast", "explicit", "naive")]
    return [(name, batch * rate) for name, rate in best_of(variants, 3, min_time)]


def sampling_throughput(name, size, channels, batch, min_time):
    torch.manual_seed(0)
    model = DiT_models[name](input_size=size, in_channels=channels, num_classes=10).eval()
    x = torch.randn(batch, channels, size, size)
    t, y = torch.randint(0, 1000, (batch,)), torch.randint(0, 10, (batch,))
    doubled = guided_model(model, 4.0)

    def two_passes():
        cond, uncond = model(x, t, y), model(x, t, torch.full_like(y, 10))
        return uncond[:, :channels] + 4.0 * (cond[:, :channels] - uncond[:, :channels])

    with torch.no_grad():
        torch.testing.assert_close(doubled(x, t, y)[:, :channels], two_passes(), atol=1e-4, rtol=1e-4)
        variants = [
            ("one doubled batch", lambda: None, lambda: doubled(x, t, y)),
            ("two separate passes", lambda: None, two_passes),
        ]
        return [(name, batch * rate) for name, rate in best_of(variants, 3, min_time)]


def table(title, rows):
    base = rows[0][1]
    print(f"\n{title}\n" + "-" * len(title))
    print(f"{'variant':<22}{'images/s':>12}{'vs first':>10}")
    for name, ips in rows:
        print(f"{name:<22}{ips:>12.1f}{ips / base:>9.2f}x")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--min-time", type=float, default=3.0, help="seconds per variant (split over 3 interleaved rounds)")
    a = p.parse_args()
    print(f"{describe()}, {torch.get_num_threads()} threads, {load_average()} at the start")
    for name, size, ch, batch in [("DiT-Tiny/2", 8, 1, 128), ("DiT-Tiny/2", 16, 3, 64), ("DiT-Tiny/2", 32, 3, 16)]:
        L = (size // 2) ** 2
        table(
            f"train step (fwd+bwd), {name}, {ch}x{size}x{size} (L={L}), batch {batch}",
            train_throughput(name, size, ch, batch, a.min_time),
        )
        table(
            f"guided sampling step (fwd), {name}, {ch}x{size}x{size} (L={L}), batch {batch}",
            sampling_throughput(name, size, ch, batch, a.min_time),
        )


if __name__ == "__main__":
    main()

"""Multi-head self-attention and the MLP of a DiT block (the ViT/timm modules DiT reuses).

Attention has two paths that compute the same function:

* ``"fast"``: `torch.nn.functional.scaled_dot_product_attention` (fused kernels), the default;
* ``"explicit"``: softmax(q k^T / sqrt(d)) v written out, in timm's exact operation order,
  which can also return the attention weights for the book's visualizer.

They agree to float32 round-off (about 1e-6); the explicit path is bit-exact with the
official code. There is no mask: every patch attends to every patch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ATTENTION_IMPLS = ("fast", "explicit")


class Attention(nn.Module):
    """Self-attention with one fused qkv projection. State-dict keys: `qkv`, `proj` (as timm)."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, impl: str = "fast"):
        super().__init__()
        if num_heads <= 0 or dim % num_heads:
            raise ValueError(f"hidden_size {dim} is not divisible by num_heads {num_heads}; "
                             f"choose num_heads among the divisors of {dim} (e.g. {_divisors(dim)}).")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.impl = impl

    @property
    def impl(self) -> str:
        return self._impl

    @impl.setter
    def impl(self, value: str) -> None:
        if value not in ATTENTION_IMPLS:
            raise ValueError(f"attention impl must be one of {ATTENTION_IMPLS}, got {value!r}.")
        self._impl = value

    def forward(self, x: torch.Tensor, return_attn: bool = False):
        B, L, D = x.shape
        qkv = self.qkv(x).reshape(B, L, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)                                   # each (B, h, L, D/h)
        attn = None
        if self.impl == "explicit" or return_attn:
            attn = (q * self.scale) @ k.transpose(-2, -1)         # (B, h, L, L) scores
            attn = attn.softmax(dim=-1)                           # (B, h, L, L) rows sum to 1
            x = attn @ v                                          # (B, h, L, D/h)
        else:
            x = F.scaled_dot_product_attention(q, k, v)           # (B, h, L, D/h)
        x = self.proj(x.transpose(1, 2).reshape(B, L, D))         # (B, L, D)
        return (x, attn) if return_attn else x


class Mlp(nn.Module):
    """Linear -> GELU (tanh approximation) -> Linear. State-dict keys: `fc1`, `fc2` (as timm)."""

    def __init__(self, in_features: int, hidden_features: int):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))  # (B, L, D)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, min(n, 64) + 1) if n % d == 0][-4:]

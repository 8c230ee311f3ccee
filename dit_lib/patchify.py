"""Images as tokens: patchify, unpatchify and the patch embedding (DiT paper, Sec. 3.2).

An image (or latent) of shape (B, C, H, W) is cut into non-overlapping p x p patches,
read row by row, giving L = (H / p) * (W / p) tokens of p * p * C numbers each. A linear
map to D dimensions then gives the token sequence (B, L, D). The official code does
"cut + linear" in one strided `Conv2d` (timm's `PatchEmbed`); `patchify` is the same
cut written out, and the book proves the two agree.

Within a token the numbers are ordered (p, q, c): row inside the patch, column inside
the patch, channel. That is the order the official `unpatchify` (and the final
layer's output) uses.
"""
from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from ._checks import as_hw, check_positive_int, check_tensor


def grid_size(image_size, patch_size: int) -> tuple[int, int]:
    """Number of patches along (height, width); raises if the image does not tile exactly."""
    H, W = as_hw("image_size", image_size)
    check_positive_int("patch_size", patch_size)
    for side, n in (("height", H), ("width", W)):
        if n % patch_size:
            lo, hi = n - n % patch_size, n - n % patch_size + patch_size
            raise ValueError(f"image {side} {n} is not divisible by patch_size {patch_size}; "
                             f"pad or resize to {hi} (or crop to {lo}), or pick a patch size that divides {n}.")
    return H // patch_size, W // patch_size


def patchify(x: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, L, p*p*C) with L = (H/p)(W/p), patches in row-major order."""
    check_tensor("x", x, ndim=4)
    grid_size(tuple(x.shape[-2:]), patch_size)
    p = patch_size
    return rearrange(x, "b c (h p) (w q) -> b (h w) (p q c)", p=p, q=p)


def unpatchify(x: torch.Tensor, patch_size: int, grid: tuple[int, int], channels: int) -> torch.Tensor:
    """(B, L, p*p*C) -> (B, C, h*p, w*p) for a token grid of (h, w); works for non-square grids."""
    check_tensor("x", x, ndim=3)
    h, w = as_hw("grid", grid)
    p = patch_size
    if x.shape[1] != h * w:
        raise ValueError(f"x has {x.shape[1]} tokens but grid {(h, w)} needs h * w = {h * w}; "
                         f"pass the grid the tokens came from.")
    if x.shape[2] != p * p * channels:
        raise ValueError(f"x has {x.shape[2]} numbers per token but patch_size {p} and channels "
                         f"{channels} need p * p * C = {p * p * channels}.")
    return rearrange(x, "b (h w) (p q c) -> b c (h p) (w q)", h=h, w=w, p=p, q=p, c=channels)


class PatchEmbed(nn.Module):
    """Patchify + linear embedding as one strided convolution (official name: `x_embedder`).

    State-dict keys match timm's `PatchEmbed`: `proj.weight` (D, C, p, p), `proj.bias` (D,).
    """

    def __init__(self, input_size, patch_size: int, in_channels: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.img_size = as_hw("input_size", input_size)
        self.patch_size = (patch_size, patch_size)   # a pair, as in timm
        self.grid_size = grid_size(self.img_size, patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Conv2d(in_channels, hidden_size, kernel_size=patch_size, stride=patch_size, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)                      # (B, D, H/p, W/p)
        return x.flatten(2).transpose(1, 2)   # (B, L, D)

"""The DiT block with adaLN-Zero conditioning, and the final layer (DiT paper, Sec. 3.2, Fig. 3).

From the conditioning vector c = embed(t) + embed(y) each block regresses six vectors:
shift, scale and gate for the attention branch and for the MLP branch.

    x = x + gate_msa * Attn(modulate(LN(x), shift_msa, scale_msa))
    x = x + gate_mlp * MLP (modulate(LN(x), shift_mlp, scale_mlp))

"Zero": the linear layer that produces them starts at zero (see `DiT.initialize_weights`),
so every gate is 0 and a fresh block is the identity map.
"""
from __future__ import annotations

import torch
from torch import nn

from .attention import Attention, Mlp


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Adaptive layer norm's affine step: x * (1 + scale) + shift, per sample. (B, L, D), (B, D), (B, D) -> (B, L, D)."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def modulated_branches(hidden_size: int, num_heads: int, mlp_ratio: float = 4.0) -> tuple[nn.Module, ...]:
    """norm1, attn, norm2, mlp of a block conditioned through its norms: the LayerNorms have no
    affine parameters of their own (c supplies shift and scale)."""
    return (nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6),
            Attention(hidden_size, num_heads=num_heads, qkv_bias=True),
            nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6),
            Mlp(hidden_size, int(hidden_size * mlp_ratio)))


class DiTBlock(nn.Module):
    """A transformer block whose LayerNorms are modulated by c, and whose residual branches are gated."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1, self.attn, self.norm2, self.mlp = modulated_branches(hidden_size, num_heads, mlp_ratio)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size, bias=True))

    def modulation(self, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The six adaLN-Zero vectors, in the official order, each (B, D):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp."""
        return self.adaLN_modulation(c).chunk(6, dim=1)

    def forward(self, x: torch.Tensor, c: torch.Tensor, return_attn: bool = False):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.modulation(c)
        h = self.attn(modulate(self.norm1(x), shift_msa, scale_msa), return_attn=return_attn)
        h, attn = h if return_attn else (h, None)
        x = x + gate_msa.unsqueeze(1) * h                                                    # (B, L, D)
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))  # (B, L, D)
        return (x, attn) if return_attn else x


class FinalLayer(nn.Module):
    """adaLN (shift, scale; no gate) then a linear map from D to p*p*C_out numbers per token."""

    def __init__(self, hidden_size: int, patch_size: int, out_channels: int):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels, bias=True)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size, bias=True))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)   # each (B, D)
        x = modulate(self.norm_final(x), shift, scale)           # (B, L, D)
        return self.linear(x)                                    # (B, L, p*p*C_out)

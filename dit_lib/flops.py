"""Counting a DiT's parameters and its multiply-accumulates (MACs), as in the paper's Table 4.

The paper's "Gflops" are GMACs per forward pass of one image (fvcore's convention: one
fused multiply-add counts as one "flop"), counting the matrix products only: the patch
convolution, every linear layer (including the per-sample adaLN regressions and the timestep
MLP) and the two attention products q k^T and A v. Norms, softmax, activations and additions
are left out. `count_macs` is a closed form; the tests check it against PyTorch's own
operation counter (`torch.utils.flop_counter`) and against the paper's table.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .models import DiT, DiTConfig
from .patchify import grid_size


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters; by default including the frozen `pos_embed`, as the official count does."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@dataclass(frozen=True)
class MacCount:
    """Multiply-accumulates of one forward pass for ONE image, split by where they happen."""

    patch_embed: int
    conditioning: int   # timestep MLP (+ label lookup, free)
    attention_linear: int   # qkv and output projections
    attention_matmul: int   # q k^T and A v: the only part quadratic in L
    mlp: int
    adaln: int          # the adaLN-Zero regressions of every block and the final layer
    final_linear: int

    @property
    def total(self) -> int:
        return sum(getattr(self, f) for f in self.__dataclass_fields__)

    @property
    def gmacs(self) -> float:
        return self.total / 1e9


def count_macs(model_or_config: DiT | DiTConfig | dict, frequency_embedding_size: int = 256) -> MacCount:
    """Closed-form MACs of one forward pass for one image (the paper's Table 4 "Gflops")."""
    cfg = model_or_config
    if isinstance(cfg, DiT):
        cfg = cfg.config
    elif isinstance(cfg, dict):
        cfg = DiTConfig(**cfg)
    elif not isinstance(cfg, DiTConfig):
        raise TypeError(f"count_macs takes a DiT, a DiTConfig or a config dict, got {type(cfg).__name__}.")
    gh, gw = grid_size(cfg.input_size, cfg.patch_size)
    L, D, p, C, N = gh * gw, cfg.hidden_size, cfg.patch_size, cfg.in_channels, cfg.depth
    C_out = 2 * C if cfg.learn_sigma else C
    F = int(D * cfg.mlp_ratio)
    return MacCount(
        patch_embed=L * (p * p * C) * D,                       # conv = one (p*p*C -> D) linear per token
        conditioning=frequency_embedding_size * D + D * D,     # t_embedder.mlp
        attention_linear=N * (L * D * 3 * D + L * D * D),      # qkv + proj
        attention_matmul=N * (2 * L * L * D),                  # q k^T and A v, over all heads
        mlp=N * (2 * L * D * F),                               # fc1 + fc2
        adaln=N * (D * 6 * D) + D * 2 * D,                     # once per image, not per token
        final_linear=L * D * (p * p * C_out),
    )


def measured_macs(model: DiT, batch_size: int = 1) -> int:
    """MACs of one forward pass counted by PyTorch's `FlopCounterMode` (which reports 2 flops per MAC).

    An independent route to `count_macs`: it traces the real operations. Uses the explicit
    attention path so the two attention matmuls are plain `bmm`s.
    """
    from torch.utils.flop_counter import FlopCounterMode

    cfg = model.config
    H, W = model.x_embedder.img_size
    x = torch.zeros(batch_size, cfg.in_channels, H, W, device=model.pos_embed.device)
    t = torch.zeros(batch_size, dtype=torch.long, device=x.device)
    y = torch.zeros(batch_size, dtype=torch.long, device=x.device)
    old = [b.attn.impl for b in model.blocks]
    model.set_attention_impl("explicit")
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x, t, y)
    finally:
        for b, impl in zip(model.blocks, old):
            b.attn.impl = impl
    return counter.get_total_flops() // (2 * batch_size)


def build_on_meta(name_or_config, **kwargs) -> DiT:
    """Build a DiT on the meta device: shapes only, no memory (DiT-XL/2 has 675M parameters)."""
    from .models import DiT_models

    with torch.device("meta"):
        if isinstance(name_or_config, str):
            if name_or_config not in DiT_models:
                raise ValueError(f"unknown model {name_or_config!r}; choose one of {sorted(DiT_models)}.")
            return DiT_models[name_or_config](**kwargs)
        return DiT.from_config(name_or_config)

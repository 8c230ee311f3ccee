"""The four ways of telling a DiT the timestep and the class that the paper compares
(Peebles & Xie 2023, Sec. 3.2, Fig. 3; the training curves are its Fig. 5).

    in_context       t_emb and y_emb appended to the L image tokens as two more tokens, plain ViT
                     blocks; the two tokens are removed before the final layer
    cross_attention  plain ViT blocks with one more layer after self-attention: multi-head
                     cross-attention from the image tokens to the length-2 sequence [t_emb, y_emb]
    adaln            LayerNorm's shift and scale regressed from c = t_emb + y_emb; no gates,
                     the regression keeps the default (Xavier) initialisation
    adaln_zero       adaLN plus the gates alpha, and the regression starts at exactly 0: DiT itself

`ConditioningDiT(variant, **DiT keywords)` is a `DiT` that swaps only its blocks, its final layer
and its zero-initialisation (`make_block`, `make_final_layer`, `zero_initialize`), built from
dit_lib's own parts (`Attention`, `Mlp`, `modulate`, `DiTBlock`, `FinalLayer`). Shared by
every variant, so that only the block design differs: the patch embedding and the fixed position
table, the timestep and label embedders, DiT's basic initialisation, and a zero-initialised output
linear (a fresh model of any variant outputs exactly 0, as ADM and DiT do). With
variant="adaln_zero" the model is `dit_lib.models.DiT` number for number: the same modules created
in the same order and initialised the same way, so `torch.manual_seed(s)` gives the same weights.

`scaled_gates(model, ...)` multiplies chosen gates of a trained DiT (for the gate-knockout
experiments), and `heldout_eps_mse` measures the noise-prediction error at fixed timesteps.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Mapping

import torch
from torch import nn

from ._checks import check_images_labels
from .attention import Attention, Mlp
from .blocks import DiTBlock, FinalLayer, modulate, modulated_branches
from .models import DiT
from .patchify import unpatchify

VARIANTS = ("in_context", "cross_attention", "adaln", "adaln_zero")
LABELS = {"in_context": "in-context", "cross_attention": "cross-attention", "adaln": "adaLN",
          "adaln_zero": "adaLN-Zero"}   # the paper's names, for plots and tables


def check_variant(variant) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}.")
    return variant


# ----------------------------------------------------------------------------- blocks


class ViTBlock(nn.Module):
    """A standard pre-norm transformer block, LayerNorms with their own learned affine (ViT, timm).
    It never sees c: in-context conditioning puts t and y among the tokens instead."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads=num_heads, qkv_bias=True)
        self.norm2 = nn.LayerNorm(hidden_size, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio))

    def forward(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))                 # (B, L', D)
        return x + self.mlp(self.norm2(x))              # (B, L', D)


class CrossAttention(nn.Module):
    """Multi-head attention from the image tokens (queries) to a short context (keys and values)."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        B, L, D = x.shape
        M = context.shape[1]
        q = self.q(x).reshape(B, L, self.num_heads, self.head_dim).transpose(1, 2)       # (B, h, L, D/h)
        kv = self.kv(context).reshape(B, M, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        k, v = kv.unbind(0)                                                               # each (B, h, M, D/h)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)                  # (B, h, L, M)
        x = (attn @ v).transpose(1, 2).reshape(B, L, D)                                   # (B, L, D)
        return self.proj(x)


class CrossAttentionBlock(nn.Module):
    """Self-attention, then cross-attention to the context [t_emb, y_emb], then the MLP (each pre-norm)."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads=num_heads, qkv_bias=True)
        self.norm_cross = nn.LayerNorm(hidden_size, eps=1e-6)
        self.cross_attn = CrossAttention(hidden_size, num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))                                 # (B, L, D)
        x = x + self.cross_attn(self.norm_cross(x), context)             # (B, L, D), context (B, 2, D)
        return x + self.mlp(self.norm2(x))                              # (B, L, D)


class AdaLNBlock(nn.Module):
    """adaLN without gates: four vectors regressed from c (shift and scale for each branch), and
    the branches added to the residual stream as they are. DiTBlock without gate_msa, gate_mlp."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1, self.attn, self.norm2, self.mlp = modulated_branches(hidden_size, num_heads, mlp_ratio)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 4 * hidden_size, bias=True))

    def modulation(self, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """shift_msa, scale_msa, shift_mlp, scale_mlp, each (B, D)."""
        return self.adaLN_modulation(c).chunk(4, dim=1)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift_msa, scale_msa, shift_mlp, scale_mlp = self.modulation(c)
        x = x + self.attn(modulate(self.norm1(x), shift_msa, scale_msa))              # (B, L, D)
        return x + self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))            # (B, L, D)


class PlainFinalLayer(nn.Module):
    """LayerNorm (learned affine, no conditioning) then the linear map D -> p*p*C_out per token."""

    def __init__(self, hidden_size: int, patch_size: int, out_channels: int):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels, bias=True)

    def forward(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        return self.linear(self.norm_final(x))          # (B, L, p*p*C_out)


BLOCKS = {"in_context": ViTBlock, "cross_attention": CrossAttentionBlock, "adaln": AdaLNBlock,
          "adaln_zero": DiTBlock}


# ----------------------------------------------------------------------------- the model


class ConditioningDiT(DiT):
    """A DiT whose blocks take t and y in one of the four ways of `VARIANTS`; keywords as `DiT`.

    Only the blocks, the final layer and the zero-initialisation differ from DiT; the module
    creation order (and so the seeded initialisation) is DiT's, so "adaln_zero" is DiT itself.
    """

    def __init__(self, variant: str = "adaln_zero", input_size=32, patch_size=2, in_channels=4, hidden_size=1152,
                 depth=28, num_heads=16, mlp_ratio=4.0, class_dropout_prob=0.1, num_classes=1000, learn_sigma=True):
        self.variant = check_variant(variant)          # read by make_block during DiT's constructor
        super().__init__(input_size, patch_size, in_channels, hidden_size, depth, num_heads, mlp_ratio,
                         class_dropout_prob, num_classes, learn_sigma)

    def make_block(self, hidden_size: int, num_heads: int, mlp_ratio: float) -> nn.Module:
        return BLOCKS[self.variant](hidden_size, num_heads, mlp_ratio=mlp_ratio)

    def make_final_layer(self, hidden_size: int, patch_size: int, out_channels: int) -> nn.Module:
        final = FinalLayer if self.variant in ("adaln", "adaln_zero") else PlainFinalLayer
        return final(hidden_size, patch_size, out_channels)

    def zero_initialize(self) -> None:
        """Only adaLN-Zero zero-initialises its regressions; every variant's output starts at 0."""
        if self.variant == "adaln_zero":
            super().zero_initialize()
            return
        nn.init.constant_(self.final_layer.linear.weight, 0)
        nn.init.constant_(self.final_layer.linear.bias, 0)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W) noisy input, t: (B,) timesteps, y: (B,) labels -> (B, C_out, H, W)."""
        self.check_inputs(x, t, y)
        x = self.x_embedder(x) + self.pos_embed              # (B, L, D)
        L = x.shape[1]
        t_emb = self.t_embedder(t)                           # (B, D)
        y_emb = self.y_embedder(y, self.training)            # (B, D)
        if self.variant == "in_context":                     # two more tokens: (B, L + 2, D)
            x = torch.cat([x, t_emb[:, None], y_emb[:, None]], dim=1)
            cond = None
        elif self.variant == "cross_attention":              # a context sequence: (B, 2, D)
            cond = torch.stack([t_emb, y_emb], dim=1)
        else:                                                # adaLN(-Zero): c, (B, D)
            cond = t_emb + y_emb
        for block in self.blocks:
            x = block(x, cond)                               # (B, L or L + 2, D)
        x = self.final_layer(x[:, :L], cond)                 # (B, L, p*p*C_out): t, y tokens dropped
        return unpatchify(x, self.patch_size, self.x_embedder.grid_size, self.out_channels)


# ----------------------------------------------------------------------------- gates of a trained DiT


def _factor_pair(value, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(gate_msa factor, gate_mlp factor) as tensors: 0-d, or (b,) for per-image factors."""
    if isinstance(value, torch.Tensor):
        v = value.detach().float()
        if v.ndim == 1:
            return v, v
        if v.ndim == 2 and v.shape[1] == 2:
            return v[:, 0], v[:, 1]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(float(value)), torch.tensor(float(value))
    elif (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        return torch.tensor(float(value[0])), torch.tensor(float(value[1]))
    raise ValueError(f"the factor of block {block} must be a number, a pair (attention, mlp), or a tensor of "
                     f"per-image factors of shape (b,) or (b, 2), got {value!r}.")


def _gate_scale(f_msa: torch.Tensor, f_mlp: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """(B, 6D) multipliers: 1 everywhere but in chunks 2 and 5 of 6 (gate_msa, gate_mlp)."""
    B, D = out.shape[0], out.shape[1] // 6
    if f_msa.ndim:                                   # per-image factors, tiled over [x; x]-style batches
        if B % len(f_msa):
            raise ValueError(f"{len(f_msa)} per-image gate factors do not divide the batch of {B}; give one "
                             f"factor per image (a batch k times as long repeats them k times).")
        f_msa, f_mlp = f_msa.repeat(B // len(f_msa)), f_mlp.repeat(B // len(f_mlp))
    scale = torch.ones(B, 6, D, dtype=out.dtype, device=out.device)
    scale[:, 2] = f_msa.to(out).reshape(-1, 1)
    scale[:, 5] = f_mlp.to(out).reshape(-1, 1)
    return scale.reshape(B, 6 * D)


@contextmanager
def scaled_gates(model: nn.Module, factors: Mapping[int, object]):
    """Multiply the gates of chosen blocks while the context is open. `factors` maps a block index to
    one number (both gates), a pair (gate_msa factor, gate_mlp factor), or a tensor of per-image
    factors, (b,) or (b, 2), so that one batch can hold several settings (a batch k times as long,
    such as guidance's doubled batch [x; x], repeats them). 0 closes a branch, 1 leaves it as
    trained (bit for bit). Works on any model whose blocks are `DiTBlock`s.

        with scaled_gates(model, {3: (0.0, 1.0)}):     # block 4's attention branch switched off
            out = model(x, t, y)
    """
    blocks = getattr(model, "blocks", None)
    if blocks is None or not all(isinstance(b, DiTBlock) for b in blocks):
        raise TypeError(f"scaled_gates needs a model whose `blocks` are DiTBlocks (a DiT, or a ConditioningDiT "
                        f"with variant='adaln_zero'), got {type(model).__name__}.")
    handles = []
    try:
        for i, value in factors.items():
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(blocks):
                raise ValueError(f"block index {i!r} is out of range: the model has blocks 0..{len(blocks) - 1}.")
            f_msa, f_mlp = _factor_pair(value, i)

            def hook(module, args, out, f_msa=f_msa, f_mlp=f_mlp):
                return out * _gate_scale(f_msa, f_mlp, out)                    # (B, 6D)
            handles.append(blocks[i].adaLN_modulation.register_forward_hook(hook))
        yield model
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def heldout_eps_mse(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, timesteps, *, seed: int = 0,
                    diffusion=None, batch_size: int = 512) -> torch.Tensor:
    """The noise-prediction error ||eps - eps_theta(x_t, t, y)||^2 (mean over C, H, W and the images)
    at each timestep of `timesteps`, with noise drawn from `seed`: the same x_t for every model,
    so two models (or one model with `scaled_gates`) are compared on identical inputs. (len(timesteps),)."""
    from .diffusion import create_diffusion

    check_images_labels(images, labels)
    diffusion = diffusion or create_diffusion(timestep_respacing="")
    timesteps = [int(t) for t in timesteps]
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    out = torch.empty(len(timesteps), dtype=torch.float64)
    try:
        for k, ti in enumerate(timesteps):
            noise = torch.randn(images.shape, generator=gen)                       # (N, C, H, W)
            total = 0.0
            for s in range(0, len(images), batch_size):
                x0, y, eps = images[s:s + batch_size], labels[s:s + batch_size], noise[s:s + batch_size]
                t = torch.full((len(x0),), ti, dtype=torch.long)
                x_t = diffusion.q_sample(x0, t, noise=eps)
                eps_hat = model(x_t, t, y)[:, :images.shape[1]]                     # (b, C, H, W)
                total += ((eps_hat - eps) ** 2).double().sum().item()
            out[k] = total / noise.numel()
    finally:
        model.train(was_training)
    return out


__all__ = ["VARIANTS", "LABELS", "ConditioningDiT", "ViTBlock", "CrossAttention", "CrossAttentionBlock",
           "AdaLNBlock", "PlainFinalLayer", "scaled_gates", "heldout_eps_mse", "check_variant"]

"""What a DiT attends to: attention maps of real (noised) inputs, and numbers that summarise them.

    from dit_lib.attention_maps import attention_maps, attention_entropy, query_map
    maps = attention_maps(model, x0, t, y, noise)      # (depth, B, h, L, L), rows sum to 1
    H = attention_entropy(maps)                        # (depth, B, h, L) nats, 0 .. log L
    m = query_map(maps, query=5, grid=(4, 4))          # (depth, B, h, 4, 4): one query's row on the grid

The maps come from `DiT.forward_with_attention`, which runs the explicit softmax(q k^T / sqrt(D/h))
path; the input is x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps from `q_sample`, so a fixed
`noise` gives the same eps at every timestep and only the noise level changes.
Analysis only: nothing here trains, samples or changes the model.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from ._checks import check_tensor
from .blocks import modulate
from .diffusion import create_diffusion
from .models import DiT


def _timesteps(t, B: int, num_timesteps: int) -> torch.Tensor:
    """An int or a (B,) tensor -> a (B,) long tensor of timesteps in 0..num_timesteps-1."""
    t = torch.as_tensor(t)
    if t.is_floating_point() and not torch.equal(t, t.round()):
        raise ValueError(f"timesteps must be whole numbers 0..{num_timesteps - 1} for q_sample, got {t.tolist()}.")
    t = t.long()
    if t.ndim == 0:
        t = t.expand(B)
    if t.shape != (B,):
        raise ValueError(f"t must be one int or a (B,) = ({B},) tensor of timesteps, got shape {tuple(t.shape)}.")
    if B and (int(t.min()) < 0 or int(t.max()) >= num_timesteps):
        raise ValueError(f"timesteps must lie in 0..{num_timesteps - 1}, got {t.min().item()}..{t.max().item()}.")
    return t


@torch.no_grad()
def attention_maps(model: DiT, x0: torch.Tensor, t, y: torch.Tensor, noise: torch.Tensor | None = None,
                   diffusion=None) -> torch.Tensor:
    """Every block's attention weights for clean images x0 noised to timestep t.

    x0: (B, C, H, W) in [-1, 1]; t: an int or (B,) timesteps (array index 0..T-1, as `q_sample`);
    y: (B,) labels; noise: (B, C, H, W) eps (default: a fresh `torch.randn_like(x0)`);
    diffusion: the forward process (default `create_diffusion()`: T = 1000, linear schedule, DiT's).
    Returns (depth, B, h, L, L): entry [n, b, i, q, k] is how much query token q of image b attends
    to key token k in head i of block n. The model is left in the mode and attention path it had.
    """
    check_tensor("x0", x0, ndim=4, floating=True)
    diffusion = create_diffusion() if diffusion is None else diffusion
    B = x0.shape[0]
    t = _timesteps(t, B, diffusion.num_timesteps)
    noise = torch.randn_like(x0) if noise is None else noise
    x_t = diffusion.q_sample(x0, t, noise)                        # (B, C, H, W)
    _, maps = model.forward_with_attention(x_t, t, y)             # depth x (B, h, L, L)
    return torch.stack(maps)                                      # (depth, B, h, L, L)


@torch.no_grad()
def attention_over_time(model: DiT, x0: torch.Tensor, y: torch.Tensor, timesteps: Sequence[int], *,
                        seed: int = 0, diffusion=None) -> tuple[torch.Tensor, torch.Tensor]:
    """`attention_maps` at several timesteps with ONE fixed noise draw (seeded), so that across
    timesteps only the noise level changes.

    Returns (maps, x_t): maps (n_t, depth, B, h, L, L) and the noisy inputs x_t (n_t, B, C, H, W).
    """
    check_tensor("x0", x0, ndim=4, floating=True)
    diffusion = create_diffusion() if diffusion is None else diffusion
    if len(timesteps) == 0:
        raise ValueError("timesteps is empty; pass e.g. [0, 100, 250, 500, 750, 999].")
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed), dtype=x0.dtype)
    maps, xs = [], []
    for step in timesteps:
        t = _timesteps(step, x0.shape[0], diffusion.num_timesteps)
        xs.append(diffusion.q_sample(x0, t, noise))                # (B, C, H, W)
        maps.append(attention_maps(model, x0, t, y, noise, diffusion))
    return torch.stack(maps), torch.stack(xs)


def check_attention(maps: torch.Tensor) -> None:
    """Raise unless `maps` looks like attention weights (..., L, L) with non-negative rows."""
    check_tensor("maps", maps, floating=True)
    if maps.ndim < 2 or maps.shape[-1] != maps.shape[-2]:
        raise ValueError(f"attention maps must end in (L, L) (queries x keys), got shape {tuple(maps.shape)}.")


def attention_entropy(maps: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of every query's attention distribution: -sum_k a_qk log a_qk over the keys.

    (..., L, L) -> (...,  L). 0 when a query puts all its weight on one key, log L when it spreads
    it evenly over all L keys (0 log 0 is taken as 0). Computed in float64.
    """
    check_attention(maps)
    a = maps.double()
    return -torch.special.xlogy(a, a).sum(-1)


def uniform_entropy(L: int) -> float:
    """log L: the entropy of attention spread evenly over L keys (the largest possible)."""
    if L <= 0:
        raise ValueError(f"L must be a positive number of tokens, got {L}.")
    return math.log(L)


def query_map(maps: torch.Tensor, query: int, grid: tuple[int, int]) -> torch.Tensor:
    """One query's row of the attention matrix laid out on the patch grid: (..., L, L) -> (..., h_g, w_g).

    `grid` is (H/p, W/p); token k sits in grid row k // w_g and column k % w_g (reading order).
    """
    check_attention(maps)
    gh, gw = grid
    L = maps.shape[-1]
    if gh * gw != L:
        raise ValueError(f"grid {tuple(grid)} has {gh * gw} cells but the maps have L = {L} tokens; "
                         f"pass the patch grid (H/p, W/p) of the model.")
    if not 0 <= query < L:
        raise ValueError(f"query must be a token index in 0..{L - 1}, got {query}.")
    return maps[..., query, :].reshape(*maps.shape[:-2], gh, gw)


def token_distances(grid: tuple[int, int]) -> torch.Tensor:
    """(L, L) Euclidean distances between the centres of every pair of patches, in patches."""
    gh, gw = grid
    r, c = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij")
    pos = torch.stack([r.reshape(-1), c.reshape(-1)], dim=1).double()      # (L, 2) row, column
    return torch.cdist(pos, pos)                                           # (L, L)


def attention_distance(maps: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Mean distance (in patches) from each query to what it attends to: sum_k a_qk |pos_q - pos_k|.

    (..., L, L) -> (..., L); 0 for a query that attends only to itself. The "mean attention
    distance" of the ViT paper (Dosovitskiy et al. 2021, Fig. 7), in patches instead of pixels.
    """
    check_attention(maps)
    dist = token_distances(grid)
    if dist.shape[-1] != maps.shape[-1]:
        raise ValueError(f"grid {tuple(grid)} has {dist.shape[-1]} cells but the maps have L = {maps.shape[-1]}.")
    return (maps.double() * dist).sum(-1)


def offset_profile(maps: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Mean weight a query gives to the key at each relative position (rows down, columns right).

    (..., L, L) -> (..., 2 h_g - 1, 2 w_g - 1): entry [h_g - 1 + dr, w_g - 1 + dc] is the weight on the
    key dr rows below and dc columns right of the query, averaged over the queries that have such
    a key. The centre is the query itself. Uniform attention gives 1/L everywhere; a head that
    always looks one patch down (a fixed "convolution tap") puts its weight at (+1, 0).
    """
    check_attention(maps)
    gh, gw = grid
    L = maps.shape[-1]
    if gh * gw != L:
        raise ValueError(f"grid {tuple(grid)} has {gh * gw} cells but the maps have L = {L} tokens.")
    r, c = torch.arange(L) // gw, torch.arange(L) % gw
    offset = (r[None, :] - r[:, None] + gh - 1) * (2 * gw - 1) + (c[None, :] - c[:, None] + gw - 1)  # (L, L)
    onehot = torch.nn.functional.one_hot(offset.reshape(-1), (2 * gh - 1) * (2 * gw - 1)).double()  # (L*L, n)
    sums = maps.double().reshape(*maps.shape[:-2], L * L) @ onehot                                  # (..., n)
    return (sums / onehot.sum(0)).reshape(*maps.shape[:-2], 2 * gh - 1, 2 * gw - 1)


@torch.no_grad()
def attention_branch_ratio(model: DiT, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor, *,
                           return_maps: bool = False):
    """How much each block's attention branch adds to the tokens: |gate_msa * Attn(...)| / |x|, per token.

    For block n with input tokens x (B, L, D), the branch is gate_msa * Attn(modulate(LN(x))), the
    term the block adds to x before its MLP (DiT paper, Fig. 3). Returns (depth, B, L): the norm of
    that term over the norm of x, token by token; with `return_maps=True` also the attention
    weights of the same pass, (depth, B, h, L, L), equal to `forward_with_attention`'s. A fresh DiT
    gives exactly 0 (adaLN-Zero: every gate starts at 0), whatever its attention weights look like.
    """
    model.check_inputs(x_t, t, y)
    x = model.x_embedder(x_t) + model.pos_embed                       # (B, L, D)
    c = model.t_embedder(t) + model.y_embedder(y, model.training)     # (B, D)
    ratios, maps = [], []
    for block in model.blocks:                                         # DiTBlock.forward, term by term
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = block.modulation(c)   # (B, D) each
        h, attn = block.attn(modulate(block.norm1(x), shift_msa, scale_msa), return_attn=True)
        branch = gate_msa.unsqueeze(1) * h                             # (B, L, D)
        ratios.append(branch.norm(dim=-1) / x.norm(dim=-1))            # (B, L)
        maps.append(attn)                                              # (B, h, L, L)
        x = x + branch
        x = x + gate_mlp.unsqueeze(1) * block.mlp(modulate(block.norm2(x), shift_mlp, scale_mlp))
    ratios = torch.stack(ratios)                                       # (depth, B, L)
    return (ratios, torch.stack(maps)) if return_maps else ratios


__all__ = ["attention_maps", "attention_over_time", "attention_entropy", "uniform_entropy", "query_map",
           "token_distances", "attention_distance", "offset_profile", "attention_branch_ratio", "check_attention"]

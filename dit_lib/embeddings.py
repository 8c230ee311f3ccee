"""Telling the model where, when and what: position, timestep and class embeddings.

* `get_2d_sincos_pos_embed`: the fixed 2D sin-cos position table (stored in the model as
  the frozen parameter `pos_embed`).
* `timestep_embedding` + `TimestepEmbedder`: sinusoidal features of t, then an MLP.
* `LabelEmbedder`: a table with one extra "null" row used for classifier-free guidance.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import as_hw, check_tensor

# ----------------------------------------------------------------------------- position


def sincos_1d(dim: int, pos: torch.Tensor) -> torch.Tensor:
    """1D sin-cos table: (M,) positions -> (M, dim), sines in the first half, cosines in the second.

    Frequencies omega_i = 1 / 10000^(i / (dim/2)), i = 0 .. dim/2 - 1 (Vaswani et al., 2017),
    computed in float64 like the official NumPy code.
    """
    if dim % 2:
        raise ValueError(f"dim must be even for a sin-cos table, got {dim}.")
    omega = torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0)
    omega = 1.0 / 10000**omega                                   # (dim/2,)
    out = pos.reshape(-1).to(torch.float64)[:, None] * omega[None]  # (M, dim/2)
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)    # (M, dim)


def get_2d_sincos_pos_embed(embed_dim: int, grid_size) -> torch.Tensor:
    """The fixed 2D sin-cos position table, shape (h*w, embed_dim), float32.

    Token k sits at row r = k // w and column c = k % w (row-major, as patches are read).
    The first half of the features encodes the *column* c and the second half the row r.
    The official code computes the same numbers but calls the column half `emb_h`
    (its `np.meshgrid(grid_w, grid_h)` puts w first); we keep its numbers and name them truly.
    `grid_size` may be an int or a pair (h, w): non-square grids work too.
    """
    if embed_dim % 4:
        raise ValueError(f"embed_dim must be divisible by 4 for a 2D sin-cos table, got {embed_dim}.")
    h, w = as_hw("grid_size", grid_size)
    rows = torch.arange(h, dtype=torch.float32).repeat_interleave(w)  # (h*w,) r of token k
    cols = torch.arange(w, dtype=torch.float32).repeat(h)             # (h*w,) c of token k
    emb_col = sincos_1d(embed_dim // 2, cols)                         # (L, D/2)
    emb_row = sincos_1d(embed_dim // 2, rows)                         # (L, D/2)
    return torch.cat([emb_col, emb_row], dim=1).float()               # (L, D)


# ----------------------------------------------------------------------------- timestep


def timestep_embedding(t: torch.Tensor, dim: int = 256, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal timestep features, (B,) -> (B, dim): [cos(t * f_i), sin(t * f_i)], cos half first.

    f_i = max_period^(-i / half), i = 0 .. half - 1, half = dim // 2 (128 frequencies for
    dim 256). t may be fractional. Same float32 operation order as the official code.
    """
    check_tensor("t", t, ndim=1)
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None].to(t.device)                  # (B, half)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)           # (B, 2*half)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)      # (B, dim)
    return emb


class TimestepEmbedder(nn.Module):
    """t -> sinusoidal features (256) -> Linear -> SiLU -> Linear -> (B, D). Official: `t_embedder`."""

    def __init__(self, hidden_size: int, frequency_embedding_size: int = 256):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(frequency_embedding_size, hidden_size, bias=True),
            nn.SiLU(),
            nn.Linear(hidden_size, hidden_size, bias=True),
        )
        self.frequency_embedding_size = frequency_embedding_size

    timestep_embedding = staticmethod(timestep_embedding)  # official call site: TimestepEmbedder.timestep_embedding

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(timestep_embedding(t, self.frequency_embedding_size))  # (B, D)


# ----------------------------------------------------------------------------- class label


class LabelEmbedder(nn.Module):
    """Class label -> (B, D) vector, with label dropout for classifier-free guidance. Official: `y_embedder`.

    With `dropout_prob > 0` the table has `num_classes + 1` rows: row `num_classes` is the
    learned "null" label that stands for "no class". During training each label is replaced
    by the null label with probability `dropout_prob`, so one network learns both the
    conditional and the unconditional model that guidance needs.
    """

    def __init__(self, num_classes: int, hidden_size: int, dropout_prob: float):
        super().__init__()
        use_cfg_embedding = int(dropout_prob > 0)
        self.embedding_table = nn.Embedding(num_classes + use_cfg_embedding, hidden_size)
        self.num_classes = num_classes
        self.dropout_prob = dropout_prob

    @property
    def null_class(self) -> int | None:
        """Index of the null label, or None when the table has no null row."""
        return self.num_classes if self.embedding_table.num_embeddings > self.num_classes else None

    def token_drop(self, labels: torch.Tensor, force_drop_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Replace a random `dropout_prob` fraction of labels (or those with force_drop_ids == 1) by the null label."""
        if self.null_class is None:
            raise ValueError("label dropout needs a null class, but this LabelEmbedder was built with "
                             "dropout_prob=0; build the model with class_dropout_prob > 0.")
        if force_drop_ids is None:
            drop_ids = torch.rand(labels.shape[0], device=labels.device) < self.dropout_prob  # (B,)
        else:
            check_tensor("force_drop_ids", force_drop_ids, ndim=1)
            if force_drop_ids.shape[0] != labels.shape[0]:
                raise ValueError(f"force_drop_ids has {force_drop_ids.shape[0]} entries but labels has "
                                 f"{labels.shape[0]}; give one 0/1 flag per label.")
            drop_ids = force_drop_ids == 1
        return torch.where(drop_ids, self.num_classes, labels)

    def forward(self, labels: torch.Tensor, train: bool, force_drop_ids: torch.Tensor | None = None) -> torch.Tensor:
        if (train and self.dropout_prob > 0) or force_drop_ids is not None:
            labels = self.token_drop(labels, force_drop_ids)
        return self.embedding_table(labels)  # (B, D)

"""Position, timestep and label embeddings, each against an independent route."""

import math

import numpy as np
import pytest
import torch

from dit_lib.embeddings import get_2d_sincos_pos_embed, sincos_1d, timestep_embedding


def official_style_pos_embed(D, n):
    """The official NumPy recipe (meshgrid with w first), rewritten here as an independent route."""
    gh, gw = np.arange(n, dtype=np.float32), np.arange(n, dtype=np.float32)
    grid = np.stack(np.meshgrid(gw, gh), axis=0).reshape(2, 1, n, n)

    def one_d(d, pos):
        omega = 1.0 / 10000 ** (np.arange(d // 2, dtype=np.float64) / (d / 2.0))
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    return np.concatenate([one_d(D // 2, grid[0]), one_d(D // 2, grid[1])], axis=1)


@pytest.mark.parametrize("D, n", [(64, 4), (1152, 16), (128, 4)])
def test_pos_embed_matches_official_recipe(D, n):
    ours = get_2d_sincos_pos_embed(D, n)
    ref = torch.from_numpy(official_style_pos_embed(D, n)).float()
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=0)


def test_pos_embed_first_half_is_the_column():
    D, h, w = 16, 3, 5
    emb = get_2d_sincos_pos_embed(D, (h, w))  # (h*w, D)
    assert emb.shape == (15, 16)
    k = 1 * w + 3  # row 1, column 3
    torch.testing.assert_close(emb[k, : D // 2], sincos_1d(D // 2, torch.tensor([3.0]))[0].float())
    torch.testing.assert_close(emb[k, D // 2 :], sincos_1d(D // 2, torch.tensor([1.0]))[0].float())
    # same column, different row: first halves equal
    assert torch.equal(emb[0 * w + 2, : D // 2], emb[2 * w + 2, : D // 2])


def test_timestep_embedding_closed_form_cos_first():
    t = torch.tensor([0.0, 1.0, 37.5, 999.0])
    emb = timestep_embedding(t, 256)
    assert emb.shape == (4, 256)
    i = 5
    f = math.exp(-math.log(10000) * i / 128)
    torch.testing.assert_close(emb[:, i], torch.cos(t * f))
    torch.testing.assert_close(emb[:, 128 + i], torch.sin(t * f))
    assert torch.equal(emb[0, :128], torch.ones(128)) and torch.equal(emb[0, 128:], torch.zeros(128))
    assert timestep_embedding(t, 7).shape == (4, 7)  # odd dim: one zero pad column


def test_timestep_embedding_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"t must have 1 dimensions"):
        timestep_embedding(torch.zeros(2, 1))

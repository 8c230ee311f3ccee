"""Images as tokens: patchify by hand = einops = strided conv; round trips, non-square included."""

import pytest
import torch

from dit_lib.patchify import PatchEmbed, grid_size, patchify, unpatchify


def patchify_by_hand(x, p):
    """reshape/permute, no einops: (B, C, H, W) -> (B, L, p*p*C)."""
    B, C, H, W = x.shape
    x = x.reshape(B, C, H // p, p, W // p, p)  # b c h p w q
    x = x.permute(0, 2, 4, 3, 5, 1)  # b h w p q c
    return x.reshape(B, (H // p) * (W // p), p * p * C)


@pytest.mark.parametrize("shape, p", [((2, 3, 8, 8), 2), ((1, 4, 8, 12), 4), ((3, 1, 6, 10), 2)])
def test_patchify_matches_hand_version_and_round_trips(shape, p):
    x = torch.randn(shape)
    tokens = patchify(x, p)
    assert torch.equal(tokens, patchify_by_hand(x, p))
    grid = grid_size(shape[-2:], p)
    assert tokens.shape == (shape[0], grid[0] * grid[1], p * p * shape[1])
    assert torch.equal(unpatchify(tokens, p, grid, shape[1]), x)


def test_first_token_is_top_left_patch_and_second_is_its_right_neighbour():
    x = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    tokens = patchify(x, 2)
    assert torch.equal(tokens[0, 0].reshape(2, 2, 2).permute(2, 0, 1), x[0, :, :2, :2])
    assert torch.equal(tokens[0, 1].reshape(2, 2, 2).permute(2, 0, 1), x[0, :, :2, 2:4])


def test_conv_patch_embedding_equals_patchify_then_linear():
    torch.manual_seed(0)
    C, D, p = 3, 16, 4
    embed = PatchEmbed((8, 12), p, C, D)
    x = torch.randn(2, C, 8, 12)
    # the conv weight (D, C, p, p) reordered to the token order (p, q, c) is a Linear's weight
    w = embed.proj.weight.permute(0, 2, 3, 1).reshape(D, p * p * C)
    linear = patchify(x, p) @ w.T + embed.proj.bias
    torch.testing.assert_close(embed(x), linear, atol=1e-5, rtol=1e-5)


def test_bad_patch_sizes_are_explained():
    with pytest.raises(ValueError, match=r"height 30 is not divisible by patch_size 4; pad or resize to 32"):
        grid_size(30, 4)
    with pytest.raises(ValueError, match="width 10 is not divisible by patch_size 4"):
        patchify(torch.zeros(1, 1, 8, 10), 4)
    with pytest.raises(ValueError, match="tokens but grid"):
        unpatchify(torch.zeros(1, 5, 4), 2, (2, 2), 1)
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        patchify([[1.0]], 2)

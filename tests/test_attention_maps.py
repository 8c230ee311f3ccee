"""dit_lib.attention_maps: attention maps of noised inputs, their entropy, one query on the grid.

Invariants: every row of every map sums to 1 and is positive (no mask), entropy lies in
[0, log L] with both ends reached, the maps are those of `forward_with_attention` on the
`q_sample` input, and a query's map is its row laid out in reading order.
"""

import math

import pytest
import torch

from dit_lib.attention_maps import (
    attention_branch_ratio,
    attention_distance,
    attention_entropy,
    attention_maps,
    attention_over_time,
    offset_profile,
    query_map,
    token_distances,
    uniform_entropy,
)
from dit_lib.blocks import modulate
from dit_lib.diffusion import create_diffusion
from dit_lib.models import DiT_models

from conftest import nudged_micro_dit


@pytest.fixture(scope="module")
def model():
    return nudged_micro_dit((8, 12), 0.05)


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(3, 1, 8, 12, generator=g) * 2 - 1  # (B, C, H, W), a non-square grid 4 x 6
    y = torch.tensor([1, 4, 9])
    noise = torch.randn(x0.shape, generator=g)
    return x0, y, noise


def test_shapes_rows_sum_to_one_and_positive(model, batch):
    x0, y, noise = batch
    maps = attention_maps(model, x0, 500, y, noise)
    depth, h, L = model.config.depth, model.config.num_heads, 4 * 6
    assert maps.shape == (depth, 3, h, L, L)
    torch.testing.assert_close(maps.sum(-1), torch.ones(depth, 3, h, L), atol=1e-6, rtol=0)
    assert (maps > 0).all()  # no mask: every key gets some weight


def test_maps_are_those_of_the_model_on_q_sample(model, batch):
    x0, y, noise = batch
    t = torch.tensor([0, 250, 999])
    x_t = create_diffusion().q_sample(x0, t, noise)
    with torch.no_grad():
        _, ref = model.forward_with_attention(x_t, t, y)
    assert torch.equal(attention_maps(model, x0, t, y, noise), torch.stack(ref))
    assert model.blocks[0].attn.impl == "fast" and not model.training  # model left as it was


def test_over_time_uses_one_noise_for_every_t(model, batch):
    x0, y, _ = batch
    maps, xs = attention_over_time(model, x0, y, [0, 500, 999], seed=3)
    assert maps.shape[:3] == (3, model.config.depth, 3) and xs.shape == (3, *x0.shape)
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(3))
    assert torch.equal(maps[1], attention_maps(model, x0, 500, y, noise))
    d = create_diffusion()
    assert torch.equal(xs[2], d.q_sample(x0, torch.full((3,), 999), noise))


def test_entropy_bounds_and_extremes():
    L = 16
    uniform = torch.full((2, L, L), 1 / L)
    one_hot = torch.eye(L).expand(2, L, L)
    torch.testing.assert_close(attention_entropy(uniform), torch.full((2, L), math.log(L), dtype=torch.float64))
    assert torch.equal(attention_entropy(one_hot), torch.zeros(2, L, dtype=torch.float64))  # 0 log 0 = 0
    assert uniform_entropy(L) == math.log(L)
    g = torch.Generator().manual_seed(0)
    rand = torch.randn(5, 3, L, L, generator=g).mul(3).softmax(-1)
    H = attention_entropy(rand)
    assert H.shape == (5, 3, L) and (H >= 0).all() and (H <= math.log(L) + 1e-12).all()


def test_entropy_of_real_maps_is_bounded(model, batch):
    x0, y, noise = batch
    H = attention_entropy(attention_maps(model, x0, 100, y, noise))
    assert (H > 0).all() and (H <= math.log(24) + 1e-9).all()


def test_query_map_is_the_row_in_reading_order():
    L, grid = 12, (3, 4)
    maps = torch.arange(2 * L * L, dtype=torch.float32).reshape(2, L, L).softmax(-1)
    m = query_map(maps, 5, grid)
    assert m.shape == (2, 3, 4)
    for k in range(L):
        r, c = divmod(k, 4)
        assert torch.equal(m[:, r, c], maps[:, 5, k])
    with pytest.raises(ValueError, match="0..11"):
        query_map(maps, 12, grid)
    with pytest.raises(ValueError, match="grid"):
        query_map(maps, 0, (4, 4))


def test_distances_and_attention_distance():
    d = token_distances((2, 3))
    assert d.shape == (6, 6) and d[0, 5] == math.sqrt(1 + 4) and torch.equal(d, d.T)
    eye = torch.eye(6)
    assert torch.equal(attention_distance(eye, (2, 3)), torch.zeros(6, dtype=torch.float64))
    uniform = torch.full((6, 6), 1 / 6)
    torch.testing.assert_close(attention_distance(uniform, (2, 3)), d.mean(1))


def test_bad_inputs_raise(model, batch):
    x0, y, noise = batch
    with pytest.raises(ValueError, match="0..999"):
        attention_maps(model, x0, 1000, y, noise)
    with pytest.raises(ValueError, match=r"\(B,\)"):
        attention_maps(model, x0, torch.tensor([1, 2]), y, noise)
    with pytest.raises(ValueError, match="whole numbers"):
        attention_maps(model, x0, torch.tensor([1.5, 2.0, 3.0]), y, noise)
    with pytest.raises(ValueError, match=r"\(L, L\)"):
        attention_entropy(torch.ones(3, 4))
    with pytest.raises(ValueError, match="empty"):
        attention_over_time(model, x0, y, [])


def test_branch_ratio_is_zero_for_a_fresh_dit_and_matches_the_block(model, batch):
    x0, y, noise = batch
    t = torch.tensor([10, 500, 900])
    x_t = create_diffusion().q_sample(x0, t, noise)
    torch.manual_seed(0)
    fresh = DiT_models["DiT-Micro/2"](input_size=(8, 12), in_channels=1, num_classes=10).eval()
    assert torch.equal(attention_branch_ratio(fresh, x_t, t, y), torch.zeros(2, 3, 24))  # adaLN-Zero
    with torch.no_grad():
        r = attention_branch_ratio(model, x_t, t, y)
        # by hand for block 0: remove the MLP branch from the block's output
        blk = model.blocks[0]
        x = model.x_embedder(x_t) + model.pos_embed
        c = model.t_embedder(t) + model.y_embedder(y, False)
        shift, scale, gate = blk.modulation(c)[:3]
        branch = gate.unsqueeze(1) * blk.attn(modulate(blk.norm1(x), shift, scale))
    assert r.shape == (2, 3, 24) and (r > 0).all()
    torch.testing.assert_close(r[0], branch.norm(dim=-1) / x.norm(dim=-1))


def test_branch_ratio_pass_returns_the_models_maps(model, batch):
    x0, y, noise = batch
    t = torch.tensor([0, 300, 999])
    x_t = create_diffusion().q_sample(x0, t, noise)
    r, maps = attention_branch_ratio(model, x_t, t, y, return_maps=True)
    assert torch.equal(maps, attention_maps(model, x0, t, y, noise))  # the same pass, bit for bit
    assert torch.equal(r, attention_branch_ratio(model, x_t, t, y))


def test_offset_profile():
    grid, L = (3, 4), 12
    prof = offset_profile(torch.full((2, L, L), 1 / L), grid)
    assert prof.shape == (2, 5, 7)
    torch.testing.assert_close(prof, torch.full((2, 5, 7), 1 / L, dtype=torch.float64))
    eye = offset_profile(torch.eye(L), grid)
    assert eye[2, 3] == 1 and eye.sum() == 1  # all weight on the query itself
    below = torch.zeros(L, L)  # every query looks one row down
    for q in range(L):
        below[q, q + 4 if q + 4 < L else q] = 1  # (the last row looks at itself)
    prof = offset_profile(below, grid)
    assert prof[3, 3] == 1  # every query that has a key below uses it
    torch.testing.assert_close(prof[2, 3], torch.tensor(4 / 12, dtype=torch.float64))  # self: 4 of 12 queries
    with pytest.raises(ValueError, match="grid"):
        offset_profile(torch.eye(L), (4, 4))

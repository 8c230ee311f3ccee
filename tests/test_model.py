"""The assembled DiT: the "Zero" of adaLN-Zero, shapes, presets and attention paths."""

import dataclasses

import pytest
import torch

from dit_lib.blocks import DiTBlock
from dit_lib.models import DiT, DiT_models, DiTConfig, OFFICIAL_MODELS


def micro(**kw):
    cfg = dict(input_size=8, patch_size=2, in_channels=3, hidden_size=32, depth=2, num_heads=4, num_classes=5)
    cfg.update(kw)
    return DiT(**cfg)


def batch(model, B=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    H, W = model.x_embedder.img_size
    x = torch.randn(B, model.in_channels, H, W, generator=g)
    t = torch.randint(0, 1000, (B,), generator=g)
    y = torch.randint(0, model.num_classes, (B,), generator=g)
    return x, t, y


def test_fresh_model_outputs_exactly_zero():
    torch.manual_seed(0)
    model = micro()
    out = model(*batch(model))
    assert out.shape == (3, 6, 8, 8)
    assert torch.count_nonzero(out) == 0


def test_fresh_block_is_the_identity():
    torch.manual_seed(0)
    model = micro()
    x = torch.randn(2, 16, 32)
    c = torch.randn(2, 32)
    for block in model.blocks:
        assert torch.equal(block(x, c), x)
        assert all(torch.count_nonzero(v) == 0 for v in block.modulation(c))


def test_block_is_not_identity_once_gates_open():
    torch.manual_seed(0)
    block = DiTBlock(32, 4)
    torch.nn.init.normal_(block.adaLN_modulation[-1].weight, std=0.1)
    x, c = torch.randn(2, 16, 32), torch.randn(2, 32)
    assert not torch.allclose(block(x, c), x)


def test_output_channels_follow_learn_sigma():
    assert micro(learn_sigma=True).out_channels == 6
    assert micro(learn_sigma=False).out_channels == 3


def test_non_square_input_round_trips():
    torch.manual_seed(0)
    model = micro(input_size=(8, 12))
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.05) if p.requires_grad else None
    x, t, y = batch(model)
    out = model(x, t, y)
    assert out.shape == (3, 6, 8, 12)
    assert model.x_embedder.grid_size == (4, 6)


def test_explicit_and_fast_attention_paths_agree():
    torch.manual_seed(0)
    model = micro().eval()  # eval: no random label dropout between the two calls
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.05) if p.requires_grad else None
    args = batch(model)
    with torch.no_grad():
        fast = model.set_attention_impl("fast")(*args)
        explicit = model.set_attention_impl("explicit")(*args)
    torch.testing.assert_close(fast, explicit, atol=1e-5, rtol=0)


def test_attention_maps_are_returned_and_rows_sum_to_one():
    torch.manual_seed(0)
    model = micro()
    out, maps = model.forward_with_attention(*batch(model))
    assert len(maps) == 2 and maps[0].shape == (3, 4, 16, 16)
    for a in maps:
        torch.testing.assert_close(a.sum(-1), torch.ones(3, 4, 16))
    assert torch.equal(out, model(*batch(model)))


def test_presets_cover_the_paper_and_cpu_sizes():
    assert set(OFFICIAL_MODELS) == {f"DiT-{s}/{p}" for s in ("S", "B", "L", "XL") for p in (2, 4, 8)}
    assert set(OFFICIAL_MODELS) < set(DiT_models)
    m = DiT_models["DiT-Tiny/2"](input_size=8, in_channels=1, num_classes=10)
    assert (m.config.depth, m.config.hidden_size, m.config.num_heads, m.patch_size) == (4, 128, 4, 2)


def test_config_is_frozen_and_rebuilds_the_model():
    model = micro()
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.config.depth = 3
    again = DiT.from_config(model.config.to_dict())
    assert again.config == model.config
    assert DiTConfig(**{**model.config.to_dict(), "input_size": [8, 12]}).input_size == (8, 12)


def test_label_dropout_uses_the_null_class():
    torch.manual_seed(0)
    model = micro(class_dropout_prob=0.5)
    assert model.null_class == 5
    labels = torch.zeros(4000, dtype=torch.long)
    dropped = model.y_embedder.token_drop(labels)
    frac = (dropped == 5).float().mean().item()
    assert abs(frac - 0.5) < 0.03
    forced = model.y_embedder.token_drop(torch.arange(4), force_drop_ids=torch.tensor([1, 0, 1, 0]))
    assert forced.tolist() == [5, 1, 5, 3]
    assert micro(class_dropout_prob=0.0).null_class is None


def test_seeded_runs_are_identical():
    outs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = micro()
        for p in model.parameters():
            torch.nn.init.normal_(p, std=0.05) if p.requires_grad else None
        outs.append(model(*batch(model)))
    assert torch.equal(*outs)

"""dit_lib.anatomy: the shape trace against a real forward pass, the parameter breakdown against
`count_params`, the activation memory on real and meta models alike."""

import math

import pytest
import torch

from dit_lib.anatomy import PARAM_ROLES, activation_bytes, collapse_blocks, numbers_per_image, param_breakdown, shape_trace
from dit_lib.flops import build_on_meta, count_params
from conftest import small_dit
from dit_lib.models import DiT, DiT_models, OFFICIAL_MODELS


def test_shape_trace_follows_a_real_forward_pass():
    model = small_dit()
    rows = shape_trace(model, batch_size=3)
    keys = [r["key"] for r in rows]
    assert keys == [
        "x",
        "x_embedder",
        "pos_embed",
        "t",
        "t_embedder",
        "y",
        "y_embedder",
        "c",
        "blocks.0",
        "blocks.1",
        "blocks.2",
        "final_layer",
        "unpatchify",
        "eps",
        "v",
    ]
    shape = {r["key"]: r["shape"] for r in rows}
    B, C, H, W, p, D = 3, 3, 8, 8, 2, 32
    L = (H // p) * (W // p)
    assert shape["x"] == (B, C, H, W)
    assert shape["x_embedder"] == shape["pos_embed"] == shape["blocks.2"] == (B, L, D)
    assert shape["t"] == shape["y"] == (B,)
    assert shape["t_embedder"] == shape["y_embedder"] == shape["c"] == (B, D)
    assert shape["final_layer"] == (B, L, p * p * 2 * C)
    out = model(torch.zeros(B, C, H, W), torch.zeros(B, dtype=torch.long), torch.zeros(B, dtype=torch.long))
    assert shape["unpatchify"] == tuple(out.shape) == (B, 2 * C, H, W)
    assert shape["eps"] == shape["v"] == (B, C, H, W)
    assert all(set(r) == {"key", "step", "module", "symbols", "shape"} for r in rows)
    # the hooks are removed afterwards
    assert not any(m._forward_hooks for m in model.modules())


def test_shape_trace_on_meta_nonsquare_and_without_learned_sigma():
    xl = build_on_meta("DiT-XL/2")
    shape = {r["key"]: r["shape"] for r in shape_trace(xl, batch_size=2)}
    assert shape["x_embedder"] == (2, 256, 1152) and shape["unpatchify"] == (2, 8, 32, 32)
    wide = shape_trace(small_dit(input_size=(8, 12), learn_sigma=False), batch_size=1)
    keys = [r["key"] for r in wide]
    assert "eps" not in keys and "v" not in keys
    shape = {r["key"]: r["shape"] for r in wide}
    assert shape["x_embedder"] == (1, 4 * 6, 32) and shape["unpatchify"] == (1, 3, 8, 12)
    assert shape["final_layer"] == (1, 24, 2 * 2 * 3)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        shape_trace(xl, batch_size=0)


def test_collapse_blocks_and_numbers_per_image():
    rows = shape_trace(small_dit(), batch_size=2)
    short = collapse_blocks(rows)
    assert len(short) == len(rows) - 2
    merged = [r for r in short if r["key"] == "blocks"]
    assert len(merged) == 1 and merged[0]["module"] == "blocks.0 … blocks.2"
    assert [r["key"] for r in short if r["key"] != "blocks"] == [r["key"] for r in rows if not r["key"].startswith("blocks.")]
    assert numbers_per_image((2, 4, 32, 32)) == 4096
    assert numbers_per_image((2,)) == 1


@pytest.mark.parametrize("name", ["DiT-S/8", "DiT-XL/2", "DiT-Tiny/2", "DiT-Micro/2"])
def test_param_breakdown_sums_to_count_params(name):
    model = build_on_meta(name)
    parts = param_breakdown(model)
    assert list(parts) == list(PARAM_ROLES)
    assert sum(parts.values()) == count_params(model)
    D, N = model.config.hidden_size, model.config.depth
    assert parts["adaLN-Zero regressions"] == N * (6 * D * D + 6 * D) + 2 * D * D + 2 * D
    assert parts["pos_embed (fixed, frozen)"] == model.x_embedder.num_patches * D


def test_param_breakdown_rejects_other_models():
    with pytest.raises(ValueError, match="belongs to no part of a DiT"):
        param_breakdown(torch.nn.Linear(2, 2))


def test_activation_bytes_real_and_meta_agree():
    model = small_dit()
    real = activation_bytes(model, batch_size=2)
    with torch.device("meta"):
        on_meta = DiT(**model.config.to_dict())
    assert activation_bytes(on_meta, batch_size=2) == real
    L, h, N = 16, 4, 3
    assert real["attention_maps"] == N * 2 * h * L * L * 4
    assert real["largest"][0].endswith("mlp.fc1") and real["largest"][1] == (2, L, 4 * 32)
    assert real["total"] > real["attention_maps"]
    # linear in the batch
    assert activation_bytes(model, batch_size=4)["total"] == 2 * real["total"]
    with pytest.raises(ValueError, match="batch_size"):
        activation_bytes(model, batch_size=-1)


def test_every_official_preset_traces_on_meta_quickly():
    for name in OFFICIAL_MODELS:
        model = build_on_meta(name)
        rows = shape_trace(model, batch_size=1)
        shape = {r["key"]: r["shape"] for r in rows}
        p = model.patch_size
        assert shape["x_embedder"][1] == (32 // p) ** 2 == model.x_embedder.num_patches
        assert math.prod(shape["final_layer"][1:]) == 8 * 32 * 32
    assert set(OFFICIAL_MODELS) <= set(DiT_models)

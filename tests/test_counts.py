"""Parameter and MAC counts: the paper's Table 4, via a closed form checked against PyTorch's counter."""

import pytest

from dit_lib.flops import build_on_meta, count_macs, count_params, measured_macs
from dit_lib.models import DiT
from dit_lib.paper import TABLE4_GFLOPS as PAPER_GFLOPS  # Peebles & Xie (2023), Table 4
from dit_lib.paper import table4_gflops


@pytest.mark.parametrize("name", PAPER_GFLOPS)
def test_macs_reproduce_paper_table_4(name):
    model = build_on_meta(f"DiT-{name}", input_size=32, in_channels=4, num_classes=1000, learn_sigma=True)
    assert model.pos_embed.is_meta
    gmacs = count_macs(model).gmacs
    assert abs(gmacs / PAPER_GFLOPS[name] - 1) < 0.01, (name, gmacs)


def test_dit_xl2_parameter_count():
    model = build_on_meta("DiT-XL/2", input_size=32, num_classes=1000)
    assert count_params(model) == 675_129_632  # the official count, pos_embed included
    assert count_params(model) - count_params(model, trainable_only=True) == 256 * 1152


@pytest.mark.parametrize("name", ["DiT-S/8", "DiT-B/4", "DiT-XL/2"])
def test_closed_form_equals_pytorch_counter_on_meta(name):
    model = build_on_meta(name, input_size=32, num_classes=1000)
    assert count_macs(model).total == measured_macs(model)


def test_closed_form_equals_pytorch_counter_non_square():
    model = DiT(
        input_size=(8, 12), patch_size=2, in_channels=3, hidden_size=64, depth=2, num_heads=4, num_classes=10, learn_sigma=False
    )
    assert count_macs(model).total == measured_macs(model, batch_size=3)


def test_count_params_matches_a_hand_count():
    model = DiT(input_size=8, patch_size=2, in_channels=4, hidden_size=64, depth=2, num_heads=4, num_classes=10)
    D, L, p, C = 64, 16, 2, 4
    block = (D * 3 * D + 3 * D) + (D * D + D) + 2 * (D * 4 * D) + 4 * D + D + (D * 6 * D + 6 * D)
    hand = (
        (L * D)
        + (C * p * p * D + D)
        + (256 * D + D + D * D + D)
        + 11 * D
        + 2 * block
        + (D * p * p * 2 * C + p * p * 2 * C)
        + (D * 2 * D + 2 * D)
    )
    assert count_params(model) == hand


def test_count_macs_rejects_other_types():
    with pytest.raises(TypeError, match="count_macs takes a DiT"):
        count_macs("DiT-XL/2")
    with pytest.raises(ValueError, match="unknown model 'DiT-XXL/2'"):
        build_on_meta("DiT-XXL/2")


def test_paper_table_lookup_and_error():
    assert table4_gflops("DiT-XL/2") == table4_gflops("XL/2") == 118.64
    with pytest.raises(ValueError, match="DiT-Tiny/2.*not in the paper's Table 4"):
        table4_gflops("DiT-Tiny/2")

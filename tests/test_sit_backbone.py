"""The official SiT fixture (tests/fixtures/official_sit_small.pt, see its README) runs on our DiT.

SiT is the DiT backbone trained as a flow: the same state-dict keys and initialisation, continuous
t in [0, 1] instead of integer steps, and its `forward` drops the learned-sigma half of the output.
Only the backbone is checked here; the paths, losses and samplers belong to `dit_lib.transport`.
The fixture was made on an AMD EPYC with AVX2: outputs are compared within a few float32 spacings
(tests/tolerances.py), the seeded initialisation bit for bit.
"""

from pathlib import Path

import pytest
import torch

from dit_lib.models import DiT
from tolerances import assert_within_spacings

FIXTURE = Path(__file__).parent / "fixtures" / "official_sit_small.pt"


@pytest.fixture(scope="module")
def sit():
    if not FIXTURE.exists():
        raise FileNotFoundError(f"reference fixture {FIXTURE} is missing; it is part of the repository")
    return torch.load(FIXTURE, weights_only=True)


@pytest.fixture(scope="module")
def sit_model(sit):
    model = DiT(**sit["config"])
    model.load_state_dict(sit["state_dict"], strict=True)
    return model.eval().set_attention_impl("explicit")


def test_same_keys_and_seeded_initialisation(sit):
    torch.manual_seed(sit["seed"])
    ours = DiT(**sit["config"]).state_dict()
    assert list(ours) == list(sit["init_state_dict"])
    for name, ref in sit["init_state_dict"].items():
        assert torch.equal(ours[name], ref), name


def test_forward_at_continuous_t_is_the_eps_half(sit, sit_model):
    i = sit["inputs"]
    assert i["t"].is_floating_point() and 0 < i["t"].min() and i["t"].max() < 1
    with torch.no_grad():
        out = sit_model(i["x1"], i["t"], i["y"])  # (B, 2C, H, W)
    C = sit["config"]["in_channels"]
    assert out.shape[1] == 2 * C
    assert_within_spacings(out[:, :C], sit["forward"], "SiT forward (sigma half dropped)")


def test_forward_with_cfg_is_the_official_three_channel_guidance(sit, sit_model):
    c = sit["forward_with_cfg"]
    with torch.no_grad():
        out = sit_model.forward_with_cfg(c["x"], c["t"], c["y"], c["cfg_scale"])
    C = sit["config"]["in_channels"]
    assert_within_spacings(out[:, :C], c["out"], "SiT forward_with_cfg")

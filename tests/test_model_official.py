"""Parity with the official DiT code (tests/fixtures/official_dit_small.pt)."""
import pytest
import torch

from dit_lib.embeddings import TimestepEmbedder, timestep_embedding
from dit_lib.models import DiT


def test_state_dict_keys_are_the_official_ones(official):
    model = DiT(**official["config"])
    assert list(model.state_dict()) == list(official["state_dict"])
    model.load_state_dict(official["state_dict"], strict=True)


def test_seeded_init_reproduces_official_initialisation(official):
    torch.manual_seed(official["seed"])
    model = DiT(**official["config"])
    ours = model.state_dict()
    for name, ref in official["init_state_dict"].items():
        assert torch.equal(ours[name], ref), name


@pytest.mark.parametrize("impl, tol", [("explicit", 0.0), ("fast", 1e-5)])
def test_forward_matches_official(official, official_model, impl, tol):
    inp = official["inputs"]
    official_model.set_attention_impl(impl)
    with torch.no_grad():
        out = official_model(inp["x"], inp["t"], inp["y"])
    assert out.shape == official["forward"].shape == (4, 8, 8, 8)
    torch.testing.assert_close(out, official["forward"], atol=tol, rtol=0)


@pytest.mark.parametrize("impl, tol", [("explicit", 0.0), ("fast", 1e-5)])
def test_forward_with_cfg_matches_official(official, official_model, impl, tol):
    inp = official["inputs"]
    official_model.set_attention_impl(impl)
    with torch.no_grad():
        out = official_model.forward_with_cfg(inp["x"], inp["t"], inp["y_cfg"], official["cfg_scale"])
    torch.testing.assert_close(out, official["forward_with_cfg"], atol=tol, rtol=0)


def test_timestep_embedding_matches_official(official):
    t = official["inputs"]["t"]
    torch.testing.assert_close(timestep_embedding(t, 256), official["timestep_embedding"], atol=1e-5, rtol=0)
    # the official call site, a static method on the embedder, is the same function
    assert torch.equal(TimestepEmbedder.timestep_embedding(t, 256), timestep_embedding(t, 256))


def test_official_cfg_guides_only_three_channels(official, official_model):
    """The quirk: channel 3 of eps is left unguided by the official forward_with_cfg."""
    inp = official["inputs"]
    x, t, y = inp["x"], inp["t"], inp["y_cfg"]
    with torch.no_grad():
        half = x[:2]
        raw = official_model(torch.cat([half, half]), t, y)
        off = official_model.forward_with_cfg(x, t, y, 4.0)
        full = official_model.forward_with_cfg(x, t, y, 4.0, channels="all")
    cond, uncond = raw[:2], raw[2:]
    guided = uncond + 4.0 * (cond - uncond)
    torch.testing.assert_close(off[:2, :3], guided[:, :3])
    torch.testing.assert_close(off[:, 3], raw[:, 3])              # unguided, each half its own
    torch.testing.assert_close(full[:2, :4], guided[:, :4])         # all eps channels guided
    torch.testing.assert_close(full[:, 4:], raw[:, 4:])             # variance channels never guided
    torch.testing.assert_close(full[2:, :4], full[:2, :4])         # both halves carry the guided eps

"""Parity with the official DiT diffusion code (tests/fixtures/official_dit_small.pt, see its README).

The fixture was made on another processor: float64 tables must agree within TABLE_ULPS float64
spacings at their scale (max(1, largest value)), float32 outputs within ULPS float32 spacings of
their largest value (tests/tolerances.py derives both). The model runs on the explicit-softmax
attention path, the one the fixture was made with, so that the model's own rounding does not blur
what is tested here (the diffusion).
"""

import pytest
import torch

from dit_lib.diffusion import create_diffusion
from tolerances import TABLE_ULPS, ULPS, assert_within_spacings

TABLES = (
    "betas",
    "alphas_cumprod",
    "alphas_cumprod_prev",
    "alphas_cumprod_next",
    "sqrt_alphas_cumprod",
    "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod",
    "sqrt_recip_alphas_cumprod",
    "sqrt_recipm1_alphas_cumprod",
    "posterior_variance",
    "posterior_log_variance_clipped",
    "posterior_mean_coef1",
    "posterior_mean_coef2",
)


@pytest.fixture(scope="module")
def ref(official):
    """The official fixture (loaded by conftest.py; a missing file is an error, never a skip)."""
    return official


@pytest.fixture(scope="module")
def model(ref):
    """Our own copy (not conftest's shared one), switched to the explicit attention path."""
    from dit_lib.models import DiT

    model = DiT(**ref["config"])
    model.load_state_dict(ref["state_dict"], strict=True)
    return model.eval().set_attention_impl("explicit")


def assert_close(ours: dict, theirs: dict, ulps=ULPS, scale=None):
    assert set(theirs) <= set(ours), f"missing keys {set(theirs) - set(ours)}"
    for key, want in theirs.items():
        assert_within_spacings(ours[key], want, key, ulps=ulps, scale=scale)


@pytest.mark.parametrize(
    "key, respacing, steps", [("buffers_1000", "", 1000), ("buffers_250", "250", 250), ("buffers_ddim50", "ddim50", 50)]
)
def test_buffers(ref, key, respacing, steps):
    diffusion, want = create_diffusion(respacing), ref[key]
    assert diffusion.num_timesteps == want["num_timesteps"] == steps
    assert diffusion.model_mean_type.name == want["model_mean_type"]
    assert diffusion.model_var_type.name == want["model_var_type"]
    assert diffusion.loss_type.name == want["loss_type"]
    assert torch.equal(diffusion.timestep_map, want["timestep_map"])
    assert set(TABLES) <= set(want)
    for name in TABLES:
        assert getattr(diffusion, name).dtype == torch.float64, name
    assert_close({name: getattr(diffusion, name) for name in TABLES}, {n: want[n] for n in TABLES}, ulps=TABLE_ULPS, scale=1.0)


def test_q_sample(ref):
    i = ref["inputs"]
    x_t = create_diffusion("").q_sample(i["x"], i["t"], noise=i["noise"])
    assert_close({"x_t": x_t}, {"x_t": ref["q_sample"]})


def test_q_posterior(ref):
    i = ref["inputs"]
    mean, var, log_var = create_diffusion("").q_posterior_mean_variance(i["x"], ref["q_sample"], i["t"])
    assert_close({"mean": mean, "variance": var, "log_variance": log_var}, ref["q_posterior"])


def test_p_mean_variance(ref, model):
    i = ref["inputs"]
    with torch.no_grad():
        out = create_diffusion("").p_mean_variance(
            model, ref["q_sample"], i["t"], clip_denoised=False, model_kwargs={"y": i["y"]}
        )
    assert_close(out, ref["p_mean_variance"])


def test_p_mean_variance_250_cfg(ref, model):
    """The official guided model on "250": x is the 1000-step q_sample, t taken modulo 250."""
    i = ref["inputs"]
    with torch.no_grad():
        out = create_diffusion("250").p_mean_variance(
            model.forward_with_cfg,
            ref["q_sample"],
            i["t"] % 250,
            clip_denoised=False,
            model_kwargs={"y": i["y_cfg"], "cfg_scale": ref["cfg_scale"]},
        )
    assert_close(out, ref["p_mean_variance_250_cfg"])


def test_training_losses(ref, model):
    i = ref["inputs"]
    with torch.no_grad():
        terms = create_diffusion("").training_losses(model, i["x"], i["t"], model_kwargs={"y": i["y"]}, noise=i["noise"])
    assert_close(terms, ref["training_losses"])


def test_ddim_step(ref, model):
    """One DDIM step (eta 0) on "ddim50" from the 1000-step q_sample, t modulo 50."""
    i = ref["inputs"]
    with torch.no_grad():
        out = create_diffusion("ddim50").ddim_sample(
            model, ref["q_sample"], i["t"] % 50, clip_denoised=False, model_kwargs={"y": i["y"]}, eta=0.0
        )
    assert_close(out, ref["ddim_step"])


def test_p_sample_step_250(ref, model):
    """One ancestral step on "250"; its only random draw is randn_like(x_t) from the global RNG."""
    i = ref["inputs"]
    diffusion = create_diffusion("250")
    with torch.no_grad():
        torch.manual_seed(7)
        out = diffusion.p_sample(model, ref["q_sample"], i["t"] % 250, clip_denoised=False, model_kwargs={"y": i["y"]})
    assert_close(out, ref["p_sample_step_250"])

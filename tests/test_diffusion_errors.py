"""Bad input raises a ValueError / TypeError that names the argument, the value and the fix."""

import pytest
import torch

from dit_lib.diffusion import create_diffusion, space_timesteps


def zeros_model(channels_factor=1):
    return lambda x, t, **kw: torch.zeros(x.shape[0], channels_factor * x.shape[1], *x.shape[2:])


def test_unknown_noise_schedule():
    with pytest.raises(ValueError, match=r"noise_schedule 'quadratic'.*linear.*cosine"):
        create_diffusion("", noise_schedule="quadratic")


@pytest.mark.parametrize("respacing", ["fast", "ddimfast", "10,x", "2.5"])
def test_unknown_respacing_string(respacing):
    with pytest.raises(ValueError, match=rf"timestep_respacing '{respacing}' is not understood") as info:
        create_diffusion(respacing)
    assert "'ddim50'" in str(info.value)


def test_respacing_impossible_counts():
    with pytest.raises(ValueError, match=r"exactly 999 steps .*integer stride"):
        space_timesteps(1000, "ddim999")
    with pytest.raises(ValueError, match=r"cannot keep 2000.*between 1 and 1000"):
        create_diffusion("2000")
    with pytest.raises(TypeError, match="timestep_respacing must be a string"):
        create_diffusion(2.5)


def test_too_few_steps_for_the_linear_schedule():
    with pytest.raises(ValueError, match="diffusion_steps >= 20"):
        create_diffusion("", diffusion_steps=10)
    with pytest.raises(ValueError, match="diffusion_steps must be a positive integer, got 0"):
        create_diffusion("", diffusion_steps=0)


@pytest.mark.parametrize(
    "t, match",
    [(torch.tensor([0, 1000]), r"timestep 1000 .* 1000 steps.*0\.\.999"), (torch.tensor([-1, 3]), r"timestep -1 .*0\.\.999")],
)
def test_timesteps_out_of_range(t, match):
    with pytest.raises(ValueError, match=match):
        create_diffusion("").q_sample(torch.zeros(2, 3, 4, 4), t)


def test_timesteps_out_of_range_on_a_respaced_diffusion():
    with pytest.raises(ValueError, match=r"timestep 250 .*250 steps.*0\.\.249.*respaced"):
        create_diffusion("250").p_mean_variance(zeros_model(2), torch.zeros(1, 3, 4, 4), torch.tensor([250]))


def test_timesteps_wrong_dtype_and_shape():
    d, x = create_diffusion(""), torch.zeros(2, 3, 4, 4)
    with pytest.raises(TypeError, match=r"t must be an integer tensor.*torch.float32.*t.long\(\)"):
        d.q_sample(x, torch.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"t must be a torch.Tensor.*int.*torch.full"):
        d.q_sample(x, 5)
    with pytest.raises(ValueError, match=r"t must have shape \(2,\).*got shape \(3,\)"):
        d.q_sample(x, torch.tensor([1, 2, 3]))


def test_noise_shape_mismatch():
    d, x = create_diffusion(""), torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"noise has shape \(2, 3, 8, 8\) but x has shape \(2, 3, 4, 4\).*randn_like"):
        d.q_sample(x, torch.tensor([1, 2]), noise=torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"noise has shape"):
        d.training_losses(zeros_model(2), x, torch.tensor([1, 2]), noise=torch.zeros(2, 1, 4, 4))
    with pytest.raises(ValueError, match=r"x_start has shape"):
        d.q_posterior_mean_variance(torch.zeros(1, 3, 4, 4), x, torch.tensor([1, 2]))


def test_learned_sigma_model_with_fixed_variance_diffusion():
    d, x, t = create_diffusion("", learn_sigma=False), torch.zeros(2, 4, 4, 4), torch.tensor([1, 2])
    with pytest.raises(
        ValueError,
        match=r"shape \(2, 8, 4, 4\).*FIXED_LARGE diffusion expects 4 channels"
        r".*learn_sigma=True.*learn_sigma=False",
    ):
        d.p_mean_variance(zeros_model(2), x, t)
    with pytest.raises(ValueError, match=r"expects 4 channels"):
        d.training_losses(zeros_model(2), x, t)


def test_fixed_sigma_model_with_learned_variance_diffusion():
    d, x, t = create_diffusion(""), torch.zeros(2, 4, 4, 4), torch.tensor([1, 2])
    with pytest.raises(ValueError, match=r"LEARNED_RANGE diffusion expects 8 channels.*learn_sigma=True"):
        d.p_mean_variance(zeros_model(1), x, t)

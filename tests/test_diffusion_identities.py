"""Identities the diffusion must satisfy, checked without the official code."""

import math

import pytest
import torch

from dit_lib.diffusion import (
    GaussianDiffusion,
    ModelVarType,
    create_diffusion,
    discretized_gaussian_log_likelihood,
    get_named_beta_schedule,
    normal_kl,
    space_timesteps,
)


def test_linear_schedule_endpoints_scale_with_T():
    for T in (1000, 250, 4000):
        betas = get_named_beta_schedule("linear", T)
        assert betas.dtype == torch.float64 and betas.shape == (T,)
        assert betas[0].item() == pytest.approx(1e-4 * 1000 / T, rel=1e-12)
        assert betas[-1].item() == pytest.approx(0.02 * 1000 / T, rel=1e-12)


def test_cosine_schedule_follows_alpha_bar():
    T = 1000
    alphas_cumprod = create_diffusion(noise_schedule="cosine", diffusion_steps=T).alphas_cumprod

    def f(s):
        return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

    want = torch.tensor([f((t + 1) / T) / f(0) for t in range(T)], dtype=torch.float64)
    unclipped = slice(0, 990)  # the last betas are capped at 0.999
    assert torch.allclose(alphas_cumprod[unclipped], want[unclipped], rtol=1e-9, atol=0)
    assert torch.equal(get_named_beta_schedule("cosine", T), get_named_beta_schedule("squaredcos_cap_v2", T))


def test_closed_form_equals_iterated_chain_exactly():
    """q(x_t | x_0) by iterating x_s = sqrt(alpha_s) x_{s-1} + sqrt(beta_s) z has the closed-form moments."""
    d = create_diffusion("")
    mean_coef, var = 1.0, 0.0
    for s in range(d.num_timesteps):
        mean_coef = mean_coef * math.sqrt(1 - d.betas[s].item())
        var = (1 - d.betas[s].item()) * var + d.betas[s].item()  # Var[a X + b Z] = a^2 Var X + b^2
        assert mean_coef == pytest.approx(d.sqrt_alphas_cumprod[s].item(), rel=1e-12)
        assert var == pytest.approx(1 - d.alphas_cumprod[s].item(), rel=1e-10, abs=1e-15)


def test_closed_form_matches_monte_carlo_chain():
    d = create_diffusion("", diffusion_steps=100)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    N, t = 200_000, 60
    x = x0.expand(N, 3).clone()  # (N, 3)
    for s in range(t + 1):  # t = 60 is 61 one-step moves
        x = torch.sqrt(1 - d.betas[s]) * x + torch.sqrt(d.betas[s]) * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    mean, var, log_var = d.q_mean_variance(x0[None, :], torch.tensor([t]))
    assert torch.allclose(log_var.double(), torch.log(var.double()), atol=1e-6)
    std_err = var.sqrt().double() / math.sqrt(N)  # of the sample mean
    assert ((x.mean(0) - mean.double()).abs() < 5 * std_err).all()
    assert ((x.var(0) - var.double()).abs() < 5 * var.double() * math.sqrt(2 / N)).all()


def test_q_sample_moments_with_noise_argument():
    d = create_diffusion("")
    x0, eps, t = torch.randn(3, 2, 4, 4), torch.randn(3, 2, 4, 4), torch.tensor([0, 500, 999])
    a = d.sqrt_alphas_cumprod[t].float().view(3, 1, 1, 1)
    assert torch.allclose(d.q_sample(x0, t, noise=eps), a * x0 + torch.sqrt(1 - a**2) * eps, atol=1e-6)


def test_posterior_mean_in_x0_equals_posterior_mean_in_eps():
    """DDPM eq. 7 (in x_0) and eq. 11 (in eps) give the same mu-tilde_t for x_t = q_sample(x_0, eps)."""
    d = create_diffusion("")
    x0, eps = torch.randn(5, 3, 4, 4, dtype=torch.float64), torch.randn(5, 3, 4, 4, dtype=torch.float64)
    t = torch.tensor([1, 10, 300, 700, 999])
    x_t = d.q_sample(x0, t, noise=eps)
    mean_x0, _, _ = d.q_posterior_mean_variance(x0, x_t, t)
    beta, alpha, abar = (getattr(d, n)[t].view(5, 1, 1, 1) for n in ("betas", "alphas", "alphas_cumprod"))
    mean_eps = (x_t - beta / torch.sqrt(1 - abar) * eps) / torch.sqrt(alpha)  # DDPM eq. 11
    assert torch.allclose(mean_x0, mean_eps, atol=1e-5)


def test_x0_eps_round_trip():
    d = create_diffusion("")
    x0, eps, t = torch.randn(4, 3, 4, 4), torch.randn(4, 3, 4, 4), torch.tensor([0, 3, 400, 998])
    x_t = d.q_sample(x0, t, noise=eps)
    assert torch.allclose(d.predict_xstart_from_eps(x_t, t, eps), x0, atol=1e-4)
    assert torch.allclose(d.predict_eps_from_xstart(x_t, t, x0), eps, atol=1e-3)


def test_posterior_variance_clipped_at_zero():
    d = create_diffusion("")
    assert d.posterior_variance[0] == 0
    assert d.posterior_log_variance_clipped[0] == d.posterior_log_variance_clipped[1] == torch.log(d.posterior_variance[1])


def test_kl_of_gaussian_with_itself_is_zero():
    mean, log_var = torch.randn(100), torch.randn(100)
    assert torch.allclose(normal_kl(mean, log_var, mean, log_var), torch.zeros(100), atol=1e-6)


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    m1, m2, lv1, lv2 = (torch.randn(1000, generator=g, dtype=torch.float64) for _ in range(4))
    P = torch.distributions.Normal(m1, torch.exp(0.5 * lv1))
    Q = torch.distributions.Normal(m2, torch.exp(0.5 * lv2))
    assert torch.allclose(normal_kl(m1, lv1, m2, lv2), torch.distributions.kl_divergence(P, Q), atol=1e-10)
    assert torch.allclose(normal_kl(m1, lv1, 0.0, 0.0), normal_kl(m1, lv1, torch.zeros(1000), torch.zeros(1000)))


def test_discretized_likelihood_sums_to_one_over_the_bins():
    bins = torch.linspace(-1, 1, 256, dtype=torch.float64)[:, None].expand(256, 5)  # every 8-bit level
    means = torch.tensor([-0.9, -0.2, 0.0, 0.3, 0.95], dtype=torch.float64).expand(256, 5)
    log_scales = torch.log(torch.tensor([0.01, 0.1, 0.3, 0.05, 0.2], dtype=torch.float64)).expand(256, 5)
    p = discretized_gaussian_log_likelihood(bins, means=means, log_scales=log_scales).exp()
    assert torch.allclose(p.sum(0), torch.ones(5, dtype=torch.float64), atol=1e-3)  # tanh approximation of Phi


def test_learned_range_interpolates_between_small_and_large():
    d = create_diffusion("")
    x, t = torch.zeros(2, 1, 2, 2), torch.tensor([0, 500])
    lo = d.model_variance(-torch.ones_like(x), x, t)[1]  # v = -1: log beta-tilde_t (clipped)
    hi = d.model_variance(torch.ones_like(x), x, t)[1]  # v = +1: log beta_t
    assert torch.allclose(lo, d.posterior_log_variance_clipped[t].float().view(2, 1, 1, 1).expand_as(x))
    assert torch.allclose(hi, torch.log(d.betas[t]).float().view(2, 1, 1, 1).expand_as(x))


@pytest.mark.parametrize("sigma_small, var_type", [(True, ModelVarType.FIXED_SMALL), (False, ModelVarType.FIXED_LARGE)])
def test_fixed_variances(sigma_small, var_type):
    d = create_diffusion("", learn_sigma=False, sigma_small=sigma_small)
    assert d.model_var_type == var_type
    x, t = torch.randn(2, 3, 4, 4), torch.tensor([0, 600])
    out = d.p_mean_variance(lambda x, t: torch.zeros_like(x), x, t)
    table = d.posterior_variance if sigma_small else torch.cat([d.posterior_variance[1:2], d.betas[1:]])
    assert torch.allclose(out["variance"][:, 0, 0, 0], table[t].float())
    assert torch.allclose(out["log_variance"][1], out["variance"][1].log(), atol=1e-5)
    # at t = 0 the small variance is 0; its log is the clipped one, as in the official code
    assert torch.allclose(out["log_variance"][0], d.posterior_log_variance_clipped[0].float())


def test_vb_term_trains_only_the_variance_channels():
    """The mean is frozen inside the VB term: its gradient reaches only the variance channels."""
    d = create_diffusion("")
    x0, t = torch.rand(2, 3, 4, 4) * 2 - 1, torch.tensor([0, 300])  # t = 0: decoder NLL, t > 0: KL
    out = torch.zeros(2, 6, 4, 4, requires_grad=True)
    d.training_losses(lambda x, t: out, x0, t)["vb"].sum().backward()
    assert out.grad[:, :3].abs().max() == 0 and out.grad[:, 3:].abs().max() > 0


def test_respaced_cumprods_equal_the_originals_at_kept_steps():
    base = create_diffusion("")
    for respacing in ("250", "ddim50", "10,20,30", "1"):
        d = create_diffusion(respacing)
        assert torch.allclose(d.alphas_cumprod, base.alphas_cumprod[d.timestep_map], rtol=1e-12, atol=0)
        assert torch.equal(d.timestep_map, torch.tensor(space_timesteps(1000, respacing)))


def test_space_timesteps_official_examples():
    assert space_timesteps(1000, "ddim50") == list(range(0, 1000, 20))
    steps = space_timesteps(1000, "250")
    assert len(steps) == 250 and steps[0] == 0 and steps[-1] == 999 and steps[1] == 4
    steps = space_timesteps(300, [10, 15, 20])  # the official docstring's example: 100 steps per section
    assert len(steps) == 45 and steps[:2] == [0, 11] and steps[9] == 99 and steps[10] == 100 and steps[-1] == 299
    assert space_timesteps(10, "3") == [0, 4, 9]  # round(4.5) = 4: Python rounds halves to even
    assert create_diffusion(None).num_timesteps == create_diffusion("").num_timesteps == 1000


def test_model_sees_original_timesteps():
    seen = []
    d = create_diffusion("ddim50", learn_sigma=False)

    def model(x, t):  # records the timesteps it is called with
        seen.append(t)
        return torch.zeros_like(x)

    d.p_mean_variance(model, torch.zeros(2, 1, 2, 2), torch.tensor([1, 49]))
    assert seen[0].tolist() == [20, 980]


def test_gaussian_diffusion_direct_construction():
    d = GaussianDiffusion(
        betas=get_named_beta_schedule("linear", 100), model_mean_type="epsilon", model_var_type="fixed_small", loss_type="mse"
    )
    assert d.num_timesteps == 100 and torch.equal(d.timestep_map, torch.arange(100))
    x0 = torch.randn(2, 1, 2, 2)
    terms = d.training_losses(lambda x, t: torch.zeros_like(x), x0, torch.tensor([0, 99]), noise=torch.ones_like(x0))
    assert set(terms) == {"mse", "loss"} and torch.allclose(terms["loss"], torch.ones(2))


def test_create_diffusion_has_the_official_signature_and_methods():
    import inspect

    params = inspect.signature(create_diffusion).parameters
    assert list(params) == [
        "timestep_respacing",
        "noise_schedule",
        "use_kl",
        "sigma_small",
        "predict_xstart",
        "learn_sigma",
        "rescale_learned_sigmas",
        "diffusion_steps",
    ]
    assert [params[n].default for n in list(params)[1:]] == ["linear", False, False, False, True, False, 1000]
    d = create_diffusion("")
    for name in (
        "q_sample",
        "q_mean_variance",
        "q_posterior_mean_variance",
        "p_mean_variance",
        "training_losses",
        "p_sample",
        "p_sample_loop",
        "ddim_sample",
        "ddim_sample_loop",
        "ddim_reverse_sample",
        "_predict_xstart_from_eps",
        "_predict_eps_from_xstart",
    ):
        assert callable(getattr(d, name)), name


def test_kl_loss_is_the_rescaled_vb_term():
    """use_kl trains on the bound alone: loss = T * (the vb term DiT adds to its MSE)."""
    x0, t, noise = torch.rand(3, 2, 4, 4) * 2 - 1, torch.tensor([0, 10, 900]), torch.randn(3, 2, 4, 4)
    out = torch.randn(3, 4, 4, 4)
    vb = create_diffusion("").training_losses(lambda x, t: out, x0, t, noise=noise)["vb"]
    kl = create_diffusion("", use_kl=True).training_losses(lambda x, t: out, x0, t, noise=noise)
    assert set(kl) == {"loss"} and torch.allclose(kl["loss"], 1000 * vb, rtol=1e-5)


def test_predict_xstart_model():
    d = create_diffusion("", predict_xstart=True, learn_sigma=False)
    x, t, x0 = torch.randn(2, 3, 4, 4), torch.tensor([5, 500]), torch.randn(2, 3, 4, 4)
    out = d.p_mean_variance(lambda x, t: x0, x, t)
    assert torch.equal(out["pred_xstart"], x0)
    assert torch.equal(d.p_mean_variance(lambda x, t: x0, x, t, clip_denoised=True)["pred_xstart"], x0.clamp(-1, 1))
    assert torch.allclose(d.training_losses(lambda x, t: x0, x0, t)["mse"], torch.zeros(2))

"""Samplers, classifier-free guidance and the one-call sampler."""

import pytest
import torch

from dit_lib import sampling
from dit_lib.diffusion import create_diffusion
from dit_lib.models import DiT


class GaussianDataEps:
    """The exact eps-prediction for data x_0 ~ N(0, s^2 I), a tiny linear "model":
    E[eps | x_t] = sqrt(1 - abar_t) x_t / (abar_t s^2 + 1 - abar_t)."""

    def __init__(self, s: float):
        self.s, self.alphas_cumprod = s, create_diffusion("").alphas_cumprod  # indexed by original timesteps

    def __call__(self, x, t, **kwargs):
        abar = self.alphas_cumprod[t].view(-1, 1, 1, 1)
        return (torch.sqrt(1 - abar) * x / (abar * self.s**2 + 1 - abar)).to(x.dtype)


@pytest.fixture(scope="module")
def dit(official):
    """The fixture's DiT (10 classes + a null class); our own copy, as some tests switch its mode."""
    model = DiT(**official["config"])
    model.load_state_dict(official["state_dict"], strict=True)
    return model.eval()


# ----------------------------------------------------------------------------- DDIM / DDPM on an exact model


def test_ddim_eta0_is_deterministic():
    d, model, x_T = create_diffusion("ddim20", learn_sigma=False), GaussianDataEps(0.5), torch.randn(2, 3, 4, 4)
    torch.manual_seed(1)
    a = sampling.ddim_sample_loop(d, model, x_T.shape, noise=x_T, progress=False)
    torch.manual_seed(2)
    b = d.ddim_sample_loop(model, x_T.shape, noise=x_T, progress=False)
    assert torch.equal(a, b)


def test_ddim_inversion_returns_to_x_T_up_to_discretisation():
    """x_T -> DDIM -> x_0 -> inverted DDIM -> x_T again; the error shrinks like the step size."""
    model, x_T = GaussianDataEps(0.5), torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    errors = {}
    for steps in (10, 100):
        d = create_diffusion(f"ddim{steps}", learn_sigma=False)
        x_0 = sampling.ddim_sample_loop(d, model, x_T.shape, noise=x_T, progress=False)
        x_T_again = sampling.ddim_reverse_sample_loop(d, model, x_0, progress=False)
        errors[steps] = ((x_T_again - x_T).abs().max() / x_T.abs().max()).item()  # relative
    assert errors[100] < 0.1 and errors[100] < errors[10] / 5, errors


def test_ddim_reaches_the_data_distribution():
    """DDIM (eta 0) with an exact linear model is a linear map x_T -> k x_T: k must be the data std 0.5."""
    d, model = create_diffusion("ddim250", learn_sigma=False), GaussianDataEps(0.5)
    k = sampling.ddim_sample_loop(d, model, (1, 1, 1, 1), noise=torch.ones(1, 1, 1, 1), progress=False).item()
    assert abs(k - 0.5) < 0.01


def test_ddpm_reaches_the_data_distribution():
    """Ancestral sampling with the exact eps of N(0, 0.5^2) data gives samples of std 0.5."""
    d, model = create_diffusion("", learn_sigma=False, sigma_small=True), GaussianDataEps(0.5)
    x_0 = sampling.p_sample_loop(d, model, (32, 4, 8, 8), generator=torch.Generator().manual_seed(0), progress=False)
    assert abs(x_0.std().item() - 0.5) < 0.015 and abs(x_0.mean().item()) < 0.015  # 8192 samples


def test_p_sample_noise_comes_from_the_generator_or_the_global_rng():
    d, model = create_diffusion("250", learn_sigma=False), GaussianDataEps(0.5)
    x, t = torch.randn(2, 3, 4, 4), torch.tensor([100, 100])
    a = d.p_sample(model, x, t, generator=torch.Generator().manual_seed(3))["sample"]
    torch.manual_seed(0)
    b = d.p_sample(model, x, t, generator=torch.Generator().manual_seed(3))["sample"]
    assert torch.equal(a, b)
    torch.manual_seed(5)
    c = d.p_sample(model, x, t)["sample"]
    torch.manual_seed(5)
    assert torch.equal(c, d.p_sample(model, x, t)["sample"]) and not torch.equal(a, c)
    last = d.p_sample(model, x, torch.tensor([0, 0]))  # no noise at t = 0
    assert torch.equal(last["sample"], d.p_mean_variance(model, x, torch.tensor([0, 0]))["mean"])


def test_trajectory_records_every_step():
    d, model = create_diffusion("ddim25", learn_sigma=False), GaussianDataEps(0.5)
    x_T = torch.randn(2, 3, 4, 4)
    x_0, traj = sampling.ddim_sample_loop(d, model, x_T.shape, noise=x_T, progress=False, return_trajectory=True)
    assert traj.x_t.shape == (26, 2, 3, 4, 4) and traj.pred_xstart.shape == (25, 2, 3, 4, 4)
    assert torch.equal(traj.x_t[0], x_T) and torch.equal(traj.x_t[-1], x_0)
    assert traj.timesteps.tolist() == list(range(960, -1, -40))


def test_progress_bar_can_be_switched_off(capsys):
    d, model = create_diffusion("5", learn_sigma=False), GaussianDataEps(0.5)
    sampling.p_sample_loop(d, model, (1, 1, 2, 2), progress=False)
    assert capsys.readouterr().err == ""
    sampling.p_sample_loop(d, model, (1, 1, 2, 2), progress=True)
    assert "p_sample" in capsys.readouterr().err


def test_ddim_eta_errors():
    d, model, x, t = (
        create_diffusion("ddim10", learn_sigma=False),
        GaussianDataEps(0.5),
        torch.zeros(1, 1, 2, 2),
        torch.tensor([3]),
    )
    with pytest.raises(ValueError, match=r"eta must be >= 0.*-0.5"):
        d.ddim_sample(model, x, t, eta=-0.5)
    with pytest.raises(ValueError, match=r"needs eta=0, got eta=0.5"):
        d.ddim_reverse_sample(model, x, t, eta=0.5)


def test_samplers_live_beside_the_diffusion_and_dit_lib_sampling_reexports_them():
    """The step and loop samplers are in dit_lib.diffusion.samplers (GaussianDiffusion's methods call
    them, an import downwards); dit_lib.sampling, one layer up, hands out the very same objects."""
    from dit_lib.diffusion import samplers

    assert set(samplers.__all__) <= set(sampling.__all__)
    for name in samplers.__all__:
        assert getattr(sampling, name) is getattr(samplers, name), name
    d, model, x_T = create_diffusion("4", learn_sigma=False), GaussianDataEps(0.5), torch.randn(1, 1, 2, 2)
    assert torch.equal(
        d.ddim_sample_loop(model, x_T.shape, noise=x_T, progress=False),
        samplers.ddim_sample_loop(d, model, x_T.shape, noise=x_T, progress=False),
    )


def test_sample_loop_shape_errors():
    d, model = create_diffusion("5", learn_sigma=False), GaussianDataEps(0.5)
    with pytest.raises(ValueError, match=r"noise has shape \(1, 1, 2, 2\) but shape is \(2, 1, 2, 2\)"):
        sampling.p_sample_loop(d, model, (2, 1, 2, 2), noise=torch.zeros(1, 1, 2, 2), progress=False)
    with pytest.raises(TypeError, match="shape must be a tuple"):
        sampling.p_sample_loop(d, model, 4, progress=False)


# ----------------------------------------------------------------------------- guidance


def test_guidance_scale_1_is_the_conditional_model_and_0_the_unconditional(dit):
    x, t, y = torch.randn(3, 4, 8, 8), torch.tensor([10, 500, 990]), torch.tensor([1, 7, 3])
    with torch.no_grad():
        cond, uncond = dit(x, t, y), dit(x, t, torch.full_like(y, 10))
        assert torch.allclose(sampling.guided_model(dit, 1.0)(x, t, y), cond, atol=1e-5)
        zero = sampling.guided_model(dit, 0.0)(x, t, y)
        assert torch.allclose(zero[:, :4], uncond[:, :4], atol=1e-5)  # eps: unconditional
        assert torch.allclose(zero[:, 4:], cond[:, 4:], atol=1e-5)  # variance: from the conditional half
        assert torch.allclose(
            sampling.guided_model(dit, 4.0)(x, t, y)[:, :4], uncond[:, :4] + 4.0 * (cond[:, :4] - uncond[:, :4]), atol=1e-5
        )


def test_official_channel_mode_matches_forward_with_cfg(dit):
    x, t, y = torch.randn(2, 4, 8, 8), torch.tensor([10, 500]), torch.tensor([1, 7])
    with torch.no_grad():
        ours = sampling.guided_model(dit, 4.0, channels="official")(x, t, y)
        theirs = dit.forward_with_cfg(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, torch.full_like(y, 10)]), 4.0)[:2]
        all_channels = sampling.guided_model(dit, 4.0)(x, t, y)
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert torch.allclose(ours[:, :3], all_channels[:, :3], atol=1e-6)
    assert not torch.allclose(ours[:, 3], all_channels[:, 3])  # the 4th eps channel differs


def test_official_style_sampling_loop_equals_ours(dit):
    """diffusion.ddim_sample_loop(model.forward_with_cfg, ...) on [z; z], as in the official sample.py."""
    d, z, y = create_diffusion("ddim10"), torch.randn(2, 4, 8, 8), torch.tensor([3, 8])
    kwargs = {"y": torch.cat([y, torch.full_like(y, 10)]), "cfg_scale": 4.0}
    theirs = d.ddim_sample_loop(
        dit.forward_with_cfg, (4, 4, 8, 8), torch.cat([z, z]), clip_denoised=False, model_kwargs=kwargs, progress=False
    )[:2]
    ours = sampling.ddim_sample_loop(
        d, sampling.guided_model(dit, 4.0, channels="official"), z.shape, noise=z, model_kwargs={"y": y}, progress=False
    )
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_guidance_needs_a_null_class():
    model = DiT(
        input_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=1, num_heads=2, num_classes=10, class_dropout_prob=0.0
    )
    assert model.y_embedder.embedding_table.num_embeddings == model.num_classes
    with pytest.raises(ValueError, match=r"needs a null class.*10 rows for num_classes=10.*class_dropout_prob"):
        sampling.guided_model(model, 4.0)
    with pytest.raises(ValueError, match="needs a null class"):
        sampling.sample(model, [1, 2], cfg_scale=4.0, num_steps=2, progress=False)
    assert sampling.sample(model, [1, 2], cfg_scale=1.0, num_steps=2, progress=False).shape == (2, 4, 8, 8)
    with pytest.raises(TypeError, match="pass null_class=... explicitly"):
        sampling.guided_model(lambda x, t, y: x, 4.0)


def test_guidance_argument_errors(dit):
    with pytest.raises(ValueError, match=r"channels must be one of \('all', 'official'\), got 'rgb'"):
        sampling.guided_model(dit, 4.0, channels="rgb")
    with pytest.raises(TypeError, match="cfg_scale must be a number"):
        sampling.guided_model(dit, "4")


def test_guidance_interval_guides_inside_and_is_the_conditional_model_outside(dit):
    """Per sample: t in [lo, hi] gets the guided output, t outside the conditional one (one plain batch)."""
    x, t, y = torch.randn(3, 4, 8, 8), torch.tensor([10, 500, 990]), torch.tensor([1, 7, 3])
    with torch.no_grad():
        cond, full = dit(x, t, y), sampling.guided_model(dit, 4.0)(x, t, y)
        assert torch.equal(sampling.guided_model(dit, 4.0, interval=(0, 999))(x, t, y), full)
        mixed = sampling.guided_model(dit, 4.0, interval=(0, 500))(x, t, y)
        assert torch.equal(mixed[:2], full[:2])  # t = 10 and 500: inside, the same numbers
        torch.testing.assert_close(mixed[2], cond[2], atol=1e-5, rtol=1e-5)  # t = 990: outside
        assert not torch.allclose(mixed[2, :4], full[2, :4], atol=1e-3)
        calls = []
        counted = lambda x, t, y: calls.append(len(x)) or dit(x, t, y)  # noqa: E731
        counted.y_embedder, counted.num_classes = dit.y_embedder, dit.num_classes
        outside = sampling.guided_model(counted, 4.0, interval=(0, 5))(x, t, y)
    assert calls == [3]  # nothing inside: one plain batch, not a doubled one
    assert torch.equal(outside, dit(x, t, y))


def test_sample_with_a_guidance_interval_and_clipping(dit):
    full = sampling.sample(dit, [1, 2], cfg_scale=4.0, method="ddim", num_steps=5, progress=False)
    every = sampling.sample(dit, [1, 2], cfg_scale=4.0, method="ddim", num_steps=5, progress=False, guidance_interval=(0, 999))
    assert torch.equal(full, every)
    low = sampling.sample(dit, [1, 2], cfg_scale=4.0, method="ddim", num_steps=5, progress=False, guidance_interval=(0, 500))
    cond = sampling.sample(dit, [1, 2], cfg_scale=1.0, method="ddim", num_steps=5, progress=False)
    assert not torch.allclose(low, full) and not torch.allclose(low, cond)
    clipped = sampling.sample(dit, [1, 2], cfg_scale=4.0, method="ddim", num_steps=5, progress=False, clip_denoised=True)
    assert clipped.abs().max() <= 1 + 1e-6  # DDIM's last step returns the clamped x_0


@pytest.mark.parametrize("bad", [(500, 0), (-1, 10), (0,), "0-500", (0, True), None.__class__])
def test_guidance_interval_errors_name_the_argument(dit, bad):
    with pytest.raises(ValueError, match=r"interval must be a pair \(lo, hi\).*e\.g\. \(0, 500\)"):
        sampling.guided_model(dit, 4.0, interval=bad)
    with pytest.raises(ValueError, match="interval must be a pair"):
        sampling.sample(dit, [1], cfg_scale=4.0, num_steps=2, progress=False, guidance_interval=bad)


# ----------------------------------------------------------------------------- one call


def test_sample_is_deterministic_for_a_seed(dit):
    dit.train()
    a = sampling.sample(dit, [1, 2, 3], cfg_scale=4.0, method="ddpm", num_steps=10, seed=0, progress=False)
    assert dit.training  # the mode is restored
    b = sampling.sample(dit, torch.tensor([1, 2, 3]), cfg_scale=4.0, method="ddpm", num_steps=10, seed=0, progress=False)
    c = sampling.sample(dit, [1, 2, 3], cfg_scale=4.0, method="ddpm", num_steps=10, seed=1, progress=False)
    dit.eval()
    assert a.shape == (3, 4, 8, 8) and torch.equal(a, b) and not torch.equal(a, c)
    assert torch.isfinite(a).all()


def test_sample_ddim_with_trajectory(dit):
    x, traj = sampling.sample(
        dit, [0, 9], cfg_scale=1.5, method="ddim", num_steps=5, seed=3, progress=False, return_trajectory=True
    )
    y = sampling.sample(dit, [0, 9], cfg_scale=1.5, method="ddim", num_steps=5, seed=3, progress=False)
    assert torch.equal(x, y) and traj.x_t.shape == (6, 2, 4, 8, 8)
    assert traj.timesteps.tolist() == [999, 749, 500, 250, 0]


def test_sample_uses_the_training_schedule(dit):
    """A model trained with 100 cosine steps samples with that diffusion, respaced to num_steps."""
    a = sampling.sample(dit, [1], num_steps=4, noise_schedule="cosine", diffusion_steps=100, progress=False)
    b = sampling.sample(dit, [1], num_steps=4, progress=False)
    assert a.shape == b.shape and not torch.allclose(a, b)
    with pytest.raises(ValueError, match="cannot keep 250"):
        sampling.sample(dit, [1], num_steps=250, diffusion_steps=100, progress=False)


def test_sample_argument_errors(dit):
    with pytest.raises(ValueError, match=r"method must be one of \('ddpm', 'ddim'\), got 'euler'"):
        sampling.sample(dit, [1], method="euler")
    with pytest.raises(ValueError, match="num_steps must be a positive integer"):
        sampling.sample(dit, [1], num_steps=0)

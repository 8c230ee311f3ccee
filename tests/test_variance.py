"""dit_lib.variance (chapter 7): the learned-range variance measured on images.

Checked against the diffusion's own methods (the band position reproduces `p_mean_variance`'s
log-variance, the bound terms reproduce `training_losses`' vb term), against closed forms (the best
single variance minimises the mean KL), and for determinism and clear errors.
"""

import math

import numpy as np
import pytest
import torch

from dit_lib.diffusion import create_diffusion
from dit_lib.variance import band_bounds, band_position, best_constant_variance, raw_output, variance_sweep, vb_terms_for_values


@pytest.fixture(scope="module")
def diffusion():
    return create_diffusion(timestep_respacing="")


@pytest.fixture(scope="module")
def micro():
    from conftest import nudged_micro_dit

    return nudged_micro_dit(8, 0.05)


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.rand(6, 1, 8, 8, generator=g) * 2 - 1, torch.arange(6) % 10


def test_band_position_and_bounds(diffusion):
    o = torch.tensor([-1.0, 0.0, 1.0, 1.5])  # the network's raw output
    assert band_position(o).tolist() == [0.0, 0.5, 1.0, 1.25]  # the weight v, not clamped
    assert raw_output(band_position(o)).tolist() == o.tolist()
    t = torch.tensor([0, 1, 999])
    low, high = band_bounds(diffusion, t, (3, 1, 2, 2))
    assert low.shape == high.shape == (3, 1, 1, 1)
    assert (low <= high).all()
    assert low[0].item() == pytest.approx(math.log(diffusion.posterior_variance[1].item()), rel=1e-6)  # clipped
    assert high[2].item() == pytest.approx(math.log(0.02), rel=1e-6)


def test_vb_terms_for_values_match_training_losses(diffusion, micro, batch):
    x0, y = batch
    t = torch.tensor([0, 1, 5, 100, 500, 999])
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        x_t = diffusion.q_sample(x0, t, noise=noise)
        out = micro(x_t, t, y)
        want = diffusion.training_losses(micro, x0, t, model_kwargs={"y": y}, noise=noise)["vb"]
    got = vb_terms_for_values(diffusion, out[:, :1], band_position(out[:, 1:]), x0, x_t, t)
    torch.testing.assert_close(got, want)
    # a float is one v for every pixel: 0 is beta-tilde, 1 is beta
    small = vb_terms_for_values(diffusion, out[:, :1], 0.0, x0, x_t, t)
    fixed = create_diffusion(timestep_respacing="", learn_sigma=False, sigma_small=True)
    with torch.no_grad():
        want_small = fixed.vb_terms_bpd(fixed.p_mean_variance_from_output(out[:, :1], x_t, t), x0, x_t, t)
    torch.testing.assert_close(small, want_small)


def test_best_constant_variance_minimises_the_mean_kl(diffusion, micro, batch):
    x0, y = batch
    ti = 3
    t = torch.full((len(x0),), ti)
    x_t = diffusion.q_sample(x0, t, noise=torch.randn(x0.shape, generator=torch.Generator().manual_seed(2)))
    with torch.no_grad():
        eps = micro(x_t, t, y)[:, :1]
    best = best_constant_variance(diffusion, eps, x0, x_t, ti)
    assert best > diffusion.posterior_variance[ti].item()
    low, high = (b.item() for b in band_bounds(diffusion, t[:1], (1, 1, 1, 1)))

    def mean_kl(sigma):
        v = (math.log(sigma) - low) / (high - low)  # the weight v that gives this variance
        return vb_terms_for_values(diffusion, eps, v, x0, x_t, t).double().mean().item()

    at_best = mean_kl(best)
    for factor in (0.8, 0.95, 1.05, 1.25):
        assert mean_kl(best * factor) > at_best


def test_variance_sweep_shapes_determinism_and_consistency(diffusion, micro, batch):
    x0, y = batch
    ts = [0, 2, 50, 999]
    a = variance_sweep(micro, x0, y, ts, seed=3, diffusion=diffusion, v_grid=[0.0, 0.5, 1.0])
    b = variance_sweep(micro, x0, y, [50], seed=3, diffusion=diffusion, v_grid=[0.0, 0.5, 1.0])
    n_t, B = len(ts), len(x0)
    assert a.v.shape == a.x_t.shape == (n_t, B, 1, 8, 8)
    assert a.mse.shape == a.vb_learned.shape == a.vb_small.shape == a.vb_large.shape == (n_t, B)
    assert a.vb_curve.shape == (n_t, 3) and a.best_variance.shape == (n_t,)
    # the same t gives the same x_t, whatever the other timesteps of the call
    assert torch.equal(a.x_t[2], b.x_t[0]) and torch.equal(a.v[2], b.v[0])
    # the curve at v = 0 and v = 1 is the fixed-variance term
    np.testing.assert_allclose(a.vb_curve[:, 0], a.vb_small.mean(1), rtol=1e-5)
    np.testing.assert_allclose(a.vb_curve[:, 2], a.vb_large.mean(1), rtol=1e-5)
    # log_variance is p_mean_variance's
    t = torch.full((B,), 2)
    with torch.no_grad():
        p = diffusion.p_mean_variance(micro, a.x_t[1], t, model_kwargs={"y": y})
    torch.testing.assert_close(a.log_variance[1], p["log_variance"])
    assert micro.training is False


def test_variance_sweep_errors(diffusion, micro, batch):
    x0, y = batch
    with pytest.raises(ValueError, match="timesteps"):
        variance_sweep(micro, x0, y, [1000], diffusion=diffusion)
    with pytest.raises(ValueError, match="must match"):
        variance_sweep(micro, x0, y[:3], [1], diffusion=diffusion)
    from dit_lib.models import DiT_models

    plain = DiT_models["DiT-Micro/2"](input_size=8, in_channels=1, num_classes=10, learn_sigma=False).eval()
    with pytest.raises(ValueError, match="learn_sigma"):
        variance_sweep(plain, x0, y, [1], diffusion=diffusion)

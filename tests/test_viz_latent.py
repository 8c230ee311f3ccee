"""Chapter 11's figures and widget helper: the pictures they draw are the data they are given."""

import numpy as np
import pytest
import torch

from dit_book.viz import latent as vl
from dit_book.widgets.latent import reconstruct
from dit_lib.autoencoder import make_vae
from test_latent import SMALL  # the tests' tiny VAE configuration


def test_autoencoder_rows_are_original_reconstruction_error_and_one_channel():
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    recon = x + 0.1
    z = torch.randn(3, 4, 4, 4)
    rows = vl.autoencoder_rows(x, recon, z, 2, amplify=4.0, limit=3.0)
    assert rows.shape == (4, 3, 3, 16, 16)
    assert torch.equal(rows[0], x) and torch.allclose(rows[2], torch.full_like(x, 0.4))
    grey = rows[3, 0, 0]  # channel 2 of image 0, enlarged 4x, value / 3
    torch.testing.assert_close(grey[::4, ::4], (z[0, 2] / 3).clamp(-1, 1))
    with pytest.raises(ValueError, match="channel in 0..3"):
        vl.autoencoder_rows(x, recon, z, 4)
    with pytest.raises(ValueError, match="RGB batches"):
        vl.autoencoder_rows(x[:, :1], recon[:, :1], z, 0)


def test_autoencoder_figure_has_one_slider_step_per_latent_channel():
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    fig = vl.autoencoder_figure(x, x, torch.randn(5, 4, 4, 4), notes=["a", "b", "c", "d"])
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 4 and len({s.args[0]["source"][0] for s in steps}) == 4


def test_scaling_figure_draws_densities_of_area_one():
    z = torch.randn(200, 4, 4, 4) * 3
    fig = vl.scaling_figure(z, 1 / 3)
    assert len(fig.data) == 2 * 5  # 4 channels and N(0, 1), per panel
    edges = np.linspace(-3, 3, 41)
    dens = vl.histogram(torch.randn(5000), edges)
    assert abs(float((dens * (edges[1] - edges[0])).sum()) - 1) < 1e-9


def test_cost_quality_figure_plots_every_model_and_scale():
    models = {
        m: {"gmacs_per_sample_ddim50": g, "train_images_per_s": i} for m, g, i in (("pixel", 2.8, 86), ("latent", 0.7, 383))
    }
    rows = [{"model": m, "guidance": sc, "accuracy": 0.5, "fd": 10.0} for m in models for sc in (1.0, 2.0)]
    fig = vl.cost_quality_figure(models, rows)
    assert len(fig.data) == 2 + 2 * 2 and list(fig.data[0].y) == [2.8, 0.7]
    rows += [{"model": "variant", "guidance": 1.0, "accuracy": 0.4, "fd": 12.0}]
    fig = vl.cost_quality_figure(models, rows, extra=["variant"])
    assert len(fig.data) == 2 + 2 * 3 and list(fig.data[0].x) == ["pixel", "latent"]  # no cost bar for it


def test_widget_reconstruction_feeds_what_it_says():
    vae = make_vae(0, **SMALL).eval()
    x = torch.rand(3, 16, 16) * 2 - 1
    right, z = reconstruct(vae, x, 0.5, "right", seed=0, temperature=1.0)
    mean, _ = reconstruct(vae, x, 0.5, "mean", seed=0, temperature=1.0)
    slip, _ = reconstruct(vae, x, 0.5, "scaled", seed=0, temperature=1.0)
    with torch.no_grad():
        q = vae.encode(x[None]).latent_dist
        torch.testing.assert_close(mean, vae.decode(q.mean).sample[0])
        torch.testing.assert_close(slip, vae.decode(z[None]).sample[0])  # z is the scaled latent: fed as is
    assert z.shape == (4, 8, 8) and not torch.equal(right, slip)
    with pytest.raises(ValueError, match="feed must be one of"):
        reconstruct(vae, x, 0.5, "both", seed=0, temperature=1.0)

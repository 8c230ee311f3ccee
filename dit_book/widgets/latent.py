"""Live widget for chapter 11: pick a test image, a posterior draw and what the decoder is fed, and
see the reconstruction, its error and the latent channels. Needs a kernel (Colab / Jupyter); its
static twin on the site is `dit_book.viz.latent.autoencoder_figure`.
"""
from __future__ import annotations

import torch

from ..plotting import figure_png
from ..viz.latent import autoencoder_mpl

FEEDS = {"z (right)": "right", "z × scale, not divided back (the slip)": "scaled", "posterior mean (no noise)": "mean"}


def reconstruct(vae, x: torch.Tensor, scale_factor: float, feed: str, seed: int, temperature: float):
    """(reconstruction (3, H, W), scaled latent (C_lat, h, w)) of one image x (3, H, W), as the widget draws it."""
    if feed not in FEEDS.values():
        raise ValueError(f"feed must be one of {list(FEEDS.values())}, got {feed!r}.")
    with torch.no_grad():
        q = vae.encode(x[None]).latent_dist
        eps = torch.randn(q.mean.shape, generator=torch.Generator().manual_seed(seed))
        z = q.mean if feed == "mean" else q.mean + temperature * q.std * eps               # (1, C_lat, h, w)
        fed = z * scale_factor if feed == "scaled" else z
        return vae.decode(fed).sample[0], (z * scale_factor)[0]


def autoencoder_explorer(vae, images: torch.Tensor, scale_factor: float, *, index: int = 0, seed: int = 0):
    """A VBox: test image, posterior noise seed and temperature, and what the decoder is fed ->
    original, reconstruction, error x 4 and the latent channels; below, the squared error."""
    import ipywidgets as widgets

    from . import assemble

    style = {"description_width": "initial"}
    pick = widgets.IntSlider(value=index, min=0, max=len(images) - 1, description="test image", style=style,
                             continuous_update=False)
    feed = widgets.Dropdown(options=list(FEEDS.items()), value="right", description="decoder gets", style=style)
    temp = widgets.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.5, description="posterior std ×", style=style,
                               continuous_update=False)
    pick_seed = widgets.IntText(value=seed, description="noise seed", layout=widgets.Layout(width="160px"), style=style)
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))
    readout = widgets.HTML()

    def draw(*_):
        import matplotlib.pyplot as plt

        x = images[pick.value]
        recon, z = reconstruct(vae, x, scale_factor, feed.value, pick_seed.value, temp.value)
        mse = float((recon.clamp(-1, 1) - x).pow(2).mean())
        fig = autoencoder_mpl(x, recon, z, title=f"test image {pick.value}")
        picture.value = figure_png(fig)
        plt.close(fig)
        readout.value = (f"squared error per number {mse:.5f}; scaled latent std {float(z.std()):.3f} "
                         f"(scale factor {scale_factor:.4f})")

    return assemble([pick, feed, temp, pick_seed], picture, readout, draw)

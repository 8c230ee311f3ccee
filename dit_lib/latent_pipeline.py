"""One call from class labels to pictures through a latent DiT, shaped as the official `sample.py`.

    images = generate(model, vae, [3, 0, 7], scale_factor=s, cfg_scale=4.0)     # (3, 3, H, W)

noise latents z (B, 4, h, w) -> doubled batch [z; z] with labels [y; null] -> the sampler, with
the model's guided forward (`forward_with_cfg`) -> keep the first half -> divide by the scale
factor -> VAE decoder -> images in about [-1, 1]. (A common misreading of `sample.py` has the
model's 16x8x32x32 output decoded for 8 labels: the 8 channels are what the network returns at each
step, eps and the variance; the loop returns 16x4x32x32, and the first half of the *batch*,
8x4x32x32, is decoded.) The defaults differ from `sample.py`'s: DDIM-50 instead of DDPM-250, and all
4 latent channels guided; `method="ddpm", num_steps=250, channels="official"` gives its route.
"""
from __future__ import annotations

import torch

from .diffusion import create_diffusion
from .diffusion.samplers import ddim_sample_loop, p_sample_loop
from ._checks import check_positive_int
from .latents import check_scale_factor, decode
from .sampling import METHODS, null_class_of


def check_latent_model(model, vae) -> None:
    """A pixel-space DiT (3 channels) cannot be decoded; a latent DiT must take the VAE's latent channels."""
    C = vae.config.latent_channels
    if model.in_channels != C:
        raise ValueError(f"model takes {model.in_channels}-channel inputs but the VAE's latents have {C}; pass a DiT "
                         f"trained on this VAE's latents (python -m dit_lib.train --latents FILE).")


@torch.no_grad()
def generate(model, vae, class_labels, *, scale_factor: float, cfg_scale: float = 4.0, method: str = "ddim",
             num_steps: int = 50, seed: int = 0, channels: str = "all", progress: bool = False,
             return_latents: bool = False):
    """Images (B, 3, H, W) for labels (B,), seeded; cfg_scale 1 runs the plain batch (no null half).

    The noise z is the first draw of a CPU generator seeded with `seed` (then the sampler's own
    draws for DDPM), so the same call gives the same pictures. `channels`: "all" (the default here)
    or "official" (only the first 3 of the 4 latent channels guided, as the official code does).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    check_positive_int("num_steps", num_steps, example="50")
    if isinstance(cfg_scale, bool) or not isinstance(cfg_scale, (int, float)):
        raise TypeError(f"cfg_scale must be a number (1: no guidance), got {cfg_scale!r}.")
    check_scale_factor(scale_factor)                                                     # before, not after, sampling
    check_latent_model(model, vae)
    y = torch.as_tensor(class_labels, dtype=torch.long).reshape(-1)                      # (B,)
    if len(y) == 0 or int(y.min()) < 0 or int(y.max()) >= model.num_classes:
        raise ValueError(f"class_labels must be a non-empty list of labels in 0..{model.num_classes - 1}, "
                         f"got {y.tolist()}.")
    device = next(model.parameters()).device
    B, shape = len(y), (model.in_channels, *model.x_embedder.img_size)
    g = torch.Generator("cpu").manual_seed(seed)
    z = torch.randn(B, *shape, generator=g).to(device)                                   # (B, 4, h, w)
    y = y.to(device)
    diffusion = create_diffusion(str(num_steps), learn_sigma=model.learn_sigma)
    if cfg_scale == 1:
        fn, x_T, kwargs = model, z, {"y": y}
    else:
        y_null = torch.full((B,), null_class_of(model), device=device)
        x_T, kwargs = torch.cat([z, z]), {"y": torch.cat([y, y_null])}                   # (2B, 4, h, w), (2B,)

        def fn(x, t, y):
            return model.forward_with_cfg(x, t, y, cfg_scale, channels=channels)
        fn.model = model
    loop = p_sample_loop if method == "ddpm" else ddim_sample_loop
    was_training = model.training
    model.eval()
    try:
        out = loop(diffusion, fn, x_T.shape, noise=x_T, model_kwargs=kwargs, progress=progress, generator=g)
    finally:
        model.train(was_training)
    latents = out[:B]                                                                     # the first half
    images = decode(vae, latents.to(vae.device), scale_factor)
    return (images, latents) if return_latents else images

"""One call from class labels to pictures through a latent DiT, shaped as the official `sample.py`.

    images = generate(model, vae, [3, 0, 7], scale_factor=s, cfg_scale=4.0)     # (3, 3, H, W)

noise latents z (B, 4, h, w) -> doubled batch [z; z] with labels [y; null] -> the sampler, with
the model's guided forward (`forward_with_cfg`) -> keep the first half -> divide by the scale
factor -> VAE decoder -> images in about [-1, 1]. (Seed 003 writes the model's output as
16x8x32x32 for 8 labels: 8 channels are what the model returns at each step, eps and the
variance; the loop returns 16x4x32x32, and the first half of the *batch*, 8x4x32x32, is decoded.)
"""
from __future__ import annotations

import torch

from .diffusion import create_diffusion
from .diffusion.samplers import ddim_sample_loop, p_sample_loop
from .latents import check_latents_for, decode
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
    draws for DDPM), so the same call gives the same pictures. `channels` as in `forward_with_cfg`
    ("official" guides only the first 3 of the 4 latent channels, as the official code does).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    check_latent_model(model, vae)
    y = torch.as_tensor(class_labels, dtype=torch.long).reshape(-1)                      # (B,)
    B, shape = len(y), (model.in_channels, *model.x_embedder.img_size)
    g = torch.Generator("cpu").manual_seed(seed)
    z = torch.randn(B, *shape, generator=g)                                              # (B, 4, h, w)
    diffusion = create_diffusion(str(num_steps), learn_sigma=model.learn_sigma)
    if cfg_scale == 1:
        fn, x_T, kwargs = model, z, {"y": y}
    else:
        y_null = torch.full((B,), null_class_of(model))
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
    check_latents_for(vae, latents)
    images = decode(vae, latents, scale_factor)
    return (images, latents) if return_latents else images

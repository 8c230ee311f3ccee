"""The model card of a shipped VAE folder (`vae_<name>/README.md`) and the digest of its weights.

Written by `python -m dit_lib.pretrained.build vae_<name> [--cards]`: data, configuration, training,
held-out reconstruction and the latents' statistics, measured when the card is written.
"""
from __future__ import annotations

import hashlib
import json

import torch

from . import VAE_RECIPES, _folder
from .. import __version__
from ..autoencoder import load_vae
from ..data import load_dataset
from ..machine import describe

# What a card must say that the folder cannot: how the machine was loaded when it was trained.
CONDITIONS = {
    "vae_scenes": "Trained while the one-thread conditioning ablation shared the 2 cores for its first 7 minutes "
                  "(then paused) and tests ran beside it for a few more.",
}


def vae_digest(folder) -> str:
    """sha256 over a VAE folder's weight names, shapes and bytes."""
    h = hashlib.sha256()
    for name, w in load_vae(folder).state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(w.shape)).encode())
        h.update(w.contiguous().numpy().tobytes())
    return h.hexdigest()


@torch.no_grad()
def vae_card(name: str) -> str:
    """The VAE folder's README.md: data, configuration, training, held-out reconstruction, latent statistics."""
    folder = _folder() / name
    vae, rec = load_vae(folder), json.loads((folder / "record.json").read_text())
    recipe, cfg = VAE_RECIPES[name[4:]], rec["config"]
    test = load_dataset(recipe["dataset"], split="test").images                          # (2000, 3, 32, 32)
    z = vae.encode(test).latent_dist.mode()                                              # (2000, 4, 8, 8)
    mse = float((vae.decode(z).sample.clamp(-1, 1) - test).pow(2).mean())
    psnr = 10 * torch.log10(torch.tensor(4.0 / mse)).item()                              # peak-to-peak 2 in [-1, 1]
    n_params = sum(p.numel() for p in vae.parameters())
    KEYS = ("block_out_channels", "layers_per_block", "latent_channels", "norm_num_groups")
    return "\n".join([
        f"# Model card: `{name}`", "",
        f"diffusers' `AutoencoderKL` (the class of Stable Diffusion's VAE) at a tiny configuration, trained by "
        f"`dit_lib.autoencoder.train_vae` (`dit_lib {__version__}`). Load it with `dit_lib.pretrained.load_pretrained_vae"
        f"({name[4:]!r})` or `AutoencoderKL.from_pretrained(this_folder)`.", "",
        f"Data: `load_dataset({recipe['dataset']!r}, split='train')`, {cfg['n_images']:,} images of "
        f"{tuple(test.shape[1:])}.", "",
        "Configuration: " + ", ".join(f"{k}={vae.config[k]}" for k in KEYS)
        + f"; {n_params:,} parameters; {tuple(test.shape[1:])} -> {tuple(z.shape[1:])}, "
        f"{test[0].numel() / z[0].numel():.0f}x fewer numbers.", "",
        f"Training: {cfg['steps']} AdamW steps, batch {cfg['batch_size']}, lr {cfg['lr']}, loss = squared error + "
        f"{cfg['kl_weight']:g} x KL per image, per number; seed {cfg['seed']}; {rec['wall_time']:.0f} s on "
        f"{cfg['threads']} CPU thread(s) ({rec['load_at_end']} when training ended); processor: {describe(rec['processor'])}. "
        f"Final training MSE {rec['mse'][-1]:.5f}, KL {rec['kl'][-1]:.1f} nats per image. {CONDITIONS.get(name, '')}", "",
        f"Held-out reconstruction (the {len(test):,} test images, posterior mean, decoded and clamped to [-1, 1]): "
        f"MSE {mse:.5f}, PSNR {psnr:.1f} dB.", "",
        f"Latents of the test images (posterior mean): std {float(z.std()):.4f}, so the scale factor 1 / std is "
        f"{1 / float(z.std()):.4f}; the config's `scaling_factor`, {vae.config.scaling_factor:.5f}, is 1 / std of one seeded "
        f"draw of the training latents, the factor the latent DiT `scenes_latent` was trained with "
        f"(Stable Diffusion's VAE: 0.18215).", "",
        f"Reproduce: `python -m dit_lib.pretrained.build {name}` (`--check` retrains in a temp dir and compares bit "
        f"for bit, on a processor of the same family). Weights digest: `{vae_digest(folder)[:16]}`.", ""])

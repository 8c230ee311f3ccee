"""The autoencoder of latent diffusion: diffusers' `AutoencoderKL` at a tiny size, trained by our loop.

    from dit_lib.autoencoder import make_vae, train_vae, save_vae, load_vae
    vae = make_vae()                                   # the SD VAE's class; downsampling 4x per side (SD's: 8x)
    vae, record = train_vae(images, steps=1500)        # squared error + kl_weight * KL
    save_vae(vae, "vae_scenes/", record, scaling_factor=s)   # config.json + safetensors: AutoencoderKL.from_pretrained

The DiT paper never models pixels: Stable Diffusion's VAE (`stabilityai/sd-vae-ft-ema`, the same
class) encodes 256x256x3 images into 32x32x4 latents and the DiT denoises those. Here the class is
the same and the configuration tiny (`TINY_VAE`): 3 resolutions (downsampling 4x per side), one
ResNet block per resolution, 16/32/32 channels, the mid-block's single attention at 8x8.

Our loss, per image: sum of squared errors + kl_weight * KL(q(z|x) || N(0, I)), divided by the
image's numbers. LDM (Rombach et al. 2022) uses the same KL weight, 1e-6, but an L1 reconstruction
term plus an LPIPS perceptual loss (scaled by a learned log-variance) and, later in training, a
patch-GAN discriminator, which make 8x-downsampled reconstructions sharp at 256x256. At 32x32 on
flat-coloured shapes the squared error alone reconstructs them (measured in chapter 11), and both
extra losses need networks of their own (LPIPS a pretrained VGG: a download) and a second optimiser.
`diffusers` is imported only when a VAE is built or loaded (it takes seconds).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from ._checks import check_positive_int, check_tensor
from .machine import load_average, processor

# Our tiny VAE: the class and block types of Stable Diffusion's, smaller everywhere.
TINY_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, sample_size=32,
                down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
                block_out_channels=(16, 32, 32), layers_per_block=1, norm_num_groups=8)
# The real one (stabilityai/sd-vae-ft-ema's config.json), for comparison: 8x per side, 83.7M parameters.
SD_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, sample_size=256,
              down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
              block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32)
SD_SCALE_FACTOR = 0.18215          # the SD VAE's `scaling_factor`: about 1 / std of its latents
KL_WEIGHT = 1e-6                   # LDM's weight for its KL-f8 autoencoder


def make_vae(seed: int = 0, **overrides):
    """A fresh `diffusers.AutoencoderKL` with `TINY_VAE` (plus overrides), its weights drawn from `seed`.

    diffusers draws the initial weights from the global generator: it is seeded inside `fork_rng`,
    so the caller's global random state is left as it was."""
    from diffusers import AutoencoderKL
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AutoencoderKL(**{**TINY_VAE, **overrides})


def downsampling(vae) -> int:
    """How many pixels per side one latent covers: 2 ** (number of resolutions - 1)."""
    return 2 ** (len(vae.config.block_out_channels) - 1)


def check_kl_weight(kl_weight) -> None:
    if isinstance(kl_weight, bool) or not isinstance(kl_weight, (int, float)) or not 0 <= kl_weight < 1:
        raise ValueError(f"kl_weight must be a number in [0, 1) (LDM uses 1e-6), got {kl_weight!r}.")


def check_images_for(vae, images, name: str = "images") -> None:
    """Refuse, naming the fix, images the VAE cannot encode: not float, wrong rank, channels, or size."""
    check_tensor(name, images, ndim=4, floating=True)
    C, f = vae.config.in_channels, downsampling(vae)
    if images.shape[1] != C:
        raise ValueError(f"{name} has {images.shape[1]} channels but the VAE encodes {C}; pass (N, {C}, H, W) images "
                         f"(grayscale: images.expand(-1, 3, -1, -1)).")
    H, W = images.shape[-2:]
    if H % f or W % f:
        raise ValueError(f"{name} is {H}x{W} but the VAE downsamples by {f} per side; pad or resize to a multiple "
                         f"of {f} (e.g. {-(-H // f) * f}x{-(-W // f) * f}).")


def vae_loss(vae, x: torch.Tensor, generator: torch.Generator | None = None, kl_weight: float = KL_WEIGHT):
    """(loss, mse, kl) of one batch x (B, C, H, W) in [-1, 1]: (squared error + kl_weight * KL) per image,
    divided by the image's numbers, averaged over the batch; mse is per number, kl the mean nats per image."""
    check_images_for(vae, x, "x")
    check_kl_weight(kl_weight)
    posterior = vae.encode(x).latent_dist                     # diagonal Gaussian q(z|x): mean, logvar (B, 4, h, w)
    z = posterior.sample(generator=generator)                 # reparameterised draw
    recon = vae.decode(z).sample                              # (B, C, H, W)
    sse = (recon - x).pow(2).flatten(1).sum(1)                # (B,) squared error per image
    kl = posterior.kl()                                       # (B,) KL to N(0, I), summed over the latent
    per_number = x[0].numel()
    loss = ((sse + kl_weight * kl) / per_number).mean()
    return loss, (sse / per_number).mean(), kl.mean()


def train_vae(images: torch.Tensor, *, steps: int = 1500, batch_size: int = 64, lr: float = 2e-3,
              kl_weight: float = KL_WEIGHT, seed: int = 0, log_every: int = 25, progress: bool = False):
    """Train `make_vae(seed)` on images (N, C, H, W) in [-1, 1] with AdamW; returns (vae in eval mode, record).

    Batches are drawn with replacement from a generator seeded with `seed`, and so is the
    posterior's noise: the same call gives the same weights bit for bit on the same processor
    family and thread count. The record holds the loss, MSE and KL curves and the wall time.
    """
    for name, value in (("steps", steps), ("batch_size", batch_size), ("log_every", log_every)):
        check_positive_int(name, value)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number (the shipped recipe: 2e-3), got {lr!r}.")
    check_kl_weight(kl_weight)
    vae = make_vae(seed)
    check_images_for(vae, images)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
    record = {"step": [], "loss": [], "mse": [], "kl": [], "config": {"steps": steps, "batch_size": batch_size, "lr": lr,
              "kl_weight": kl_weight, "seed": seed, "n_images": len(images), "threads": torch.get_num_threads()}}
    vae.train()
    start = time.perf_counter()
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(images), (batch_size,), generator=gen)
        loss, mse, kl = vae_loss(vae, images[idx], gen, kl_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % log_every == 0 or step == steps:
            for k, v in (("step", step), ("loss", loss.item()), ("mse", mse.item()), ("kl", kl.item())):
                record[k].append(v)
            if progress:
                print(f"step {step}: loss {loss.item():.5f} mse {mse.item():.5f} kl {kl.item():.1f}", flush=True)
    record.update(wall_time=time.perf_counter() - start, processor=processor(), load_at_end=load_average())
    return vae.eval(), record


def save_vae(vae, folder, record: dict | None = None, scaling_factor: float | None = None) -> Path:
    """`vae.save_pretrained(folder)` (config.json + diffusion_pytorch_model.safetensors) plus record.json.

    `scaling_factor`: written into the config (diffusers' `vae.config.scaling_factor`, which
    diffusers' pipelines multiply latents by); without it the config keeps diffusers' default
    0.18215, SD's factor, which is wrong for any other VAE."""
    folder = Path(folder)
    if scaling_factor is not None:
        if isinstance(scaling_factor, bool) or not isinstance(scaling_factor, (int, float)) or not scaling_factor > 0:
            raise ValueError(f"scaling_factor must be a positive number (1 / std of the latents), got {scaling_factor!r}.")
        vae.register_to_config(scaling_factor=float(scaling_factor))
    vae.save_pretrained(folder, safe_serialization=True)
    if record is not None:
        (folder / "record.json").write_text(json.dumps(record, indent=1) + "\n")
    return folder


def load_vae(folder):
    """An `AutoencoderKL` from a local folder written by `save_vae` (or any diffusers VAE folder), in eval mode.

    Only local files are read (`local_files_only=True`): a model id such as
    "stabilityai/sd-vae-ft-ema" is refused here; online, call `AutoencoderKL.from_pretrained(id)` yourself.
    """
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise ValueError(f"{str(folder)!r} is not a VAE folder (no config.json in it); pass a folder written by "
                         f"save_vae or AutoencoderKL.save_pretrained (online: AutoencoderKL.from_pretrained(model_id)).")
    from diffusers import AutoencoderKL
    return AutoencoderKL.from_pretrained(folder, local_files_only=True, low_cpu_mem_usage=False).eval()


def load_vae_record(folder) -> dict:
    """What `train_vae` recorded (curves, config, wall time), from the folder's record.json."""
    return json.loads((Path(folder) / "record.json").read_text())

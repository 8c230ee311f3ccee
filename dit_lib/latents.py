"""Latents as data: encode a dataset once with a frozen VAE, scale it, store it; decode samples.

    z = encode(vae, images, generator=g)          # (N, 4, H/f, W/f): one draw of q(z|x) per image
    s = scale_factor_of(z)                        # 1 / std(z): how SD's 0.18215 was chosen
    save_latents("scenes_latents.pt", z * s, labels, scale_factor=s, ...)
    python -m dit_lib.train --latents scenes_latents.pt ...      # a DiT on 4-channel latents
    images = decode(vae, samples, s)              # divide by s, then the VAE decoder

Encoding once, before training (as fast-DiT does; the official train.py encodes every batch
on the fly), freezes two random choices the official run redraws at every visit of an image:
the horizontal flip and the posterior's sampling noise z = mean + std * eps. The model then sees
one fixed latent per image. The scale factor is kept in the latents file and, through the
trainer's record of its data, in every checkpoint trained on it.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from ._checks import check_positive_int, check_tensor
from .autoencoder import check_images_for
from .data import ImageDataset

UNSCALED_STD = (0.75, 1.33)   # scaled latents have std 1; outside this range they were most likely not scaled


@torch.no_grad()
def encode(vae, images: torch.Tensor, *, sample: bool = True, generator: torch.Generator | None = None,
           batch_size: int = 500) -> torch.Tensor:
    """Unscaled latents (N, C_lat, H/f, W/f) of images (N, C, H, W) in [-1, 1].

    sample=True draws z = mean + std * eps from q(z|x) (the official train.py's `.sample()`);
    sample=False takes the mean (`.mode()`), which is deterministic.
    """
    check_images_for(vae, images)
    check_positive_int("batch_size", batch_size)
    out = []
    for x in images.split(batch_size):
        q = vae.encode(x).latent_dist
        out.append(q.sample(generator=generator) if sample else q.mode())
    return torch.cat(out)


def scale_factor_of(latents: torch.Tensor) -> float:
    """1 / std of all the latents' numbers: the factor that gives the DiT data of unit variance.

    Rombach et al. (2022) introduced the factor so that latent spaces of any scale have about unit
    variance and can share noise schedules; SD's VAE got 0.18215 that way.
    """
    check_tensor("latents", latents, ndim=4, floating=True)
    std = latents.float().std() if latents.numel() > 1 else torch.tensor(0.0)
    if not float(std) > 0:
        raise ValueError(f"latents of shape {tuple(latents.shape)} have no spread (std {float(std)}); pass many "
                         f"latents (a batch of encoded training images), not one or a constant tensor.")
    return float(1.0 / std)                                   # divided in float32, as the shipped files were


def check_latents_for(vae, latents, name: str = "latents") -> None:
    """Refuse latents whose channel count the VAE's decoder does not take."""
    check_tensor(name, latents, ndim=4, floating=True)
    C = vae.config.latent_channels
    if latents.shape[1] != C:
        raise ValueError(f"{name} has {latents.shape[1]} channels but the VAE's latents have {C}; a pixel-space "
                         f"model's samples are images already (no decoding), a latent DiT must have in_channels={C}.")


def check_scale_factor(scale_factor) -> None:
    if isinstance(scale_factor, bool) or not isinstance(scale_factor, (int, float)) or not scale_factor > 0:
        raise ValueError(f"scale_factor must be a positive number (the one the model's latents were scaled by, "
                         f"e.g. 0.18215 for SD's VAE), got {scale_factor!r}.")


@torch.no_grad()
def decode(vae, latents: torch.Tensor, scale_factor: float, batch_size: int = 500) -> torch.Tensor:
    """Images (N, C, H, W) of scaled latents: the VAE decoder applied to latents / scale_factor (not clamped)."""
    check_latents_for(vae, latents)
    check_scale_factor(scale_factor)
    check_positive_int("batch_size", batch_size)
    return torch.cat([vae.decode(z / scale_factor).sample for z in latents.split(batch_size)])


def save_latents(path, latents: torch.Tensor, labels: torch.Tensor, *, scale_factor: float, class_names,
                 source: dict | None = None) -> Path:
    """Write scaled latents with their labels, class names, scale factor and where they came from."""
    check_tensor("latents", latents, ndim=4, floating=True)
    check_tensor("labels", labels, ndim=1, floating=False)
    check_scale_factor(scale_factor)
    if len(labels) != len(latents):
        raise ValueError(f"latents has {len(latents)} items but labels has {len(labels)}; they must match.")
    std = float(latents.std())
    if not UNSCALED_STD[0] <= std <= UNSCALED_STD[1]:
        raise ValueError(f"latents have std {std:.3g}, far from 1: they look unscaled; save latents * scale_factor "
                         f"(scale_factor_of(latents) = {1 / std:.4g} for these).")
    path = Path(path)
    torch.save({"latents": latents.contiguous(), "labels": labels.long(), "scale_factor": float(scale_factor),
                "class_names": list(class_names), "source": dict(source or {})}, path)
    return path


def load_latents(path) -> tuple[ImageDataset, dict]:
    """(ImageDataset named "latents" whose images are the scaled latents, {"scale_factor", "source"})."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"latents file {str(path)!r} does not exist; write one with "
                         f"`python -m dit_lib.extract_latents --dataset scenes --out {path.name}` (or --data YOUR_IMAGES).")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    missing = {"latents", "labels", "scale_factor", "class_names"} - set(blob)
    if missing:
        raise ValueError(f"{path} lacks {sorted(missing)}: it was not written by dit_lib.latents.save_latents "
                         f"(the scale factor must travel with the latents).")
    ds = ImageDataset("latents", "train", blob["latents"].float(), blob["labels"], tuple(blob["class_names"]))
    return ds, {"scale_factor": blob["scale_factor"], "source": blob["source"]}


def write_latents(path, vae, ds: ImageDataset, data_info: dict, *, seed: int = 0, mode: bool = False,
                  scale_factor: float | None = None, vae_name: str = "") -> tuple[Path, float, torch.Tensor]:
    """Encode `ds` (one seeded draw of q(z|x), or the mean with mode=True), scale, save: (path, scale, unscaled z).

    The scale factor is `scale_factor` if given (0.18215 for SD's VAE), else 1 / std of these latents.
    The file's `source` names the data, the VAE and the sha256 of its weights, the seed and the mode.
    """
    z = encode(vae, ds.images, sample=not mode, generator=torch.Generator().manual_seed(seed))   # (N, C_lat, h, w)
    s = scale_factor if scale_factor is not None else scale_factor_of(z)
    weights = hashlib.sha256(b"".join(v.numpy().tobytes() for v in vae.state_dict().values())).hexdigest()
    path = save_latents(path, z * s, ds.labels, scale_factor=s, class_names=ds.class_names,
                        source={"data": data_info, "vae": vae_name, "vae_sha256": weights, "seed": seed, "mode": mode})
    return path, s, z

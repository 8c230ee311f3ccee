"""Encode a dataset once with a VAE and write its scaled latents (the data of a latent DiT).

    python -m dit_lib.extract_latents --dataset scenes --out scenes_latents.pt     # the shipped tiny VAE
    python -m dit_lib.extract_latents --data my_images.npz --vae my_vae/ --out mine_latents.pt
    python -m dit_lib.train --latents scenes_latents.pt --model DiT-Tiny/2 --out latent.pt

The VAE is a folder of `AutoencoderKL.save_pretrained` (default: the book's, trained on "scenes";
online, save Stable Diffusion's there first: `AutoencoderKL.from_pretrained("stabilityai/sd-vae-ft-ema")
.save_pretrained("sd_vae/")`). One draw of q(z|x) per image (seeded; `--mode` takes the mean instead),
then the latents are multiplied by the scale factor: `--scale-factor` if given (0.18215 for SD's VAE,
as the official code hard-codes), otherwise 1 / std of these latents, which the file keeps.
"""
from __future__ import annotations

import argparse
import os

from ._cli import HelpFormatter
from .autoencoder import load_vae
from .data import DATASETS
from .image_files import load_training_set
from .latents import write_latents
from .pretrained import vae_path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m dit_lib.extract_latents", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=DATASETS, help="a built-in dataset (its train split)")
    source.add_argument("--data", metavar="PATH", help="your own images: an .npz file or a folder of class folders")
    p.add_argument("--image-size", type=int, default=None, help="image size of a built-in dataset")
    p.add_argument("--vae", default=None, help="a VAE folder (default: the shipped one, dit_lib/pretrained/vae_scenes)")
    p.add_argument("--scale-factor", type=float, default=None, help="multiply by this (default: 1 / std of the latents)")
    p.add_argument("--mode", action="store_true", help="encode to the posterior mean instead of one sample")
    p.add_argument("--seed", type=int, default=0, help="seed of the posterior's sampling noise")
    p.add_argument("--out", required=True, help="the latents file to write (.pt)")
    a = p.parse_args(argv)
    if a.vae is None:
        a.vae = str(vae_path("scenes"))
    vae = load_vae(a.vae)
    kind = None if a.data is None else ("folder" if os.path.isdir(a.data) else "npz")
    ds, info = load_training_set(kind or a.dataset, a.data, {"image_size": a.image_size} if a.image_size else {})
    path, s, z = write_latents(a.out, vae, ds, info, seed=a.seed, mode=a.mode, scale_factor=a.scale_factor,
                               vae_name=str(a.vae))
    print(f"wrote {path}: {tuple(z.shape)} latents of {info['n']} images, scale factor {s:.5f} "
          f"(std before {float(z.std()):.4f}, after {float((z * s).std()):.4f})")


if __name__ == "__main__":
    try:
        main()
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None

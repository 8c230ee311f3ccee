"""Small checkpoints trained by our own code, shipped inside the package (no downloads).

    from dit_lib.pretrained import load_pretrained, list_pretrained
    model = load_pretrained("digits")          # a trained DiT in eval mode (EMA weights)
    vae = load_pretrained_vae("scenes")         # diffusers' AutoencoderKL, tiny, trained on "scenes"

Each checkpoint has a model card beside it (`<name>.md`: data, config, steps, wall time,
quality, the processor that trained it). `make checkpoints` retrains them with
`python -m dit_lib.train`, bit for bit on a processor of the same family (the card names it).
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..checkpoint import load_checkpoint, load_model
from ..models import DiT

# name: the recipe that trains it (the arguments of `python -m dit_lib.train`), kept in one place
RECIPES: dict[str, list[str]] = {
    # lr 2e-3 (was 1e-3): best FD about half, 99%+ judge accuracy at guidance 1.5 and 2 (benchmarks/README.md)
    "digits": ["--dataset", "digits", "--model", "DiT-Tiny/2", "--steps", "1200", "--batch-size", "128",
               "--lr", "2e-3", "--sample-at", "50", "150", "300", "600", "1200"],
    # 12x12 (36 tokens): at 16x16 patch 4 reached 51% judge accuracy, patch 2 45% (1,500 steps each); lr 2e-3
    # (was 1e-3): judge accuracy 89% without guidance (was 67%), squares drawn square (benchmarks/README.md)
    "shapes": ["--dataset", "shapes", "--image-size", "12", "--model", "DiT-Tiny/2", "--batch-size", "128",
               "--steps", "3000", "--lr", "2e-3", "--sample-at", "3000"],
    # a latent DiT (chapter 11): 8x8x4 latents of the 32x32 scenes, encoded by the shipped VAE into a
    # temporary file that `build` writes first ("{latents}"); 16 tokens, like the 8x8 digits at patch 2
    "scenes_latent": ["--latents", "{latents}", "--model", "DiT-Tiny/2", "--batch-size", "128", "--steps", "2000",
                      "--lr", "2e-3"],
}

# The shipped autoencoders (`dit_lib.autoencoder.train_vae` keywords, on the train split of `dataset`),
# each a folder `vae_<name>/` that `diffusers.AutoencoderKL.from_pretrained` reads.
VAE_RECIPES: dict[str, dict] = {
    "scenes": {"dataset": "scenes", "steps": 1500, "batch_size": 64, "lr": 2e-3, "kl_weight": 1e-6, "seed": 0,
               "log_every": 100},
}

# CPU threads each recipe trains on: the weights are bit-reproducible only with the same count
THREADS: dict[str, int] = {"digits": 2, "shapes": 1, "scenes_latent": 1, "vae_scenes": 1}


def _folder() -> Path:
    return Path(str(resources.files(__name__)))


def vae_path(name: str = "scenes") -> Path:
    """Folder of the shipped VAE `name` (config.json + diffusion_pytorch_model.safetensors + its card)."""
    path = _folder() / f"vae_{name}"
    if not (path / "config.json").is_file():
        raise ValueError(f"unknown pretrained VAE {name!r}; shipped ones: {sorted(VAE_RECIPES)}.")
    return path


def load_pretrained_vae(name: str = "scenes"):
    """The shipped `diffusers.AutoencoderKL` `name`, in eval mode (read from the package, no download)."""
    from ..autoencoder import load_vae
    return load_vae(vae_path(name))


def list_pretrained() -> list[str]:
    """Names of the shipped checkpoints."""
    return sorted(p.stem for p in _folder().glob("*.pt"))


def checkpoint_path(name: str) -> Path:
    """Path of the shipped checkpoint `name` (e.g. "digits")."""
    path = _folder() / f"{name}.pt"
    if not path.is_file():
        raise ValueError(f"unknown pretrained checkpoint {name!r}; shipped ones: {list_pretrained()} "
                         f"(train your own with `python -m dit_lib.train`).")
    return path


def load_pretrained(name: str) -> DiT:
    """The shipped model `name`, in eval mode."""
    return load_model(checkpoint_path(name))


def load_record(name: str) -> dict:
    """What training recorded for `name`: loss curve, gate magnitudes, sample grids, wall time."""
    ckpt = load_checkpoint(checkpoint_path(name))
    return {"record": ckpt["record"], "train_config": ckpt["train_config"], "model_config": ckpt["model_config"]}


def model_card(name: str) -> str:
    """The markdown model card shipped beside the checkpoint."""
    checkpoint_path(name)
    return (_folder() / f"{name}.md").read_text()

"""Saving and loading DiT checkpoints: weights + the frozen config + what training recorded.

A checkpoint is a plain dict saved with `torch.save` and read back with
`torch.load(..., weights_only=True)`, so loading a file can never run code:

    {"format": "dit_lib.checkpoint", "version": 1,
     "model_config": asdict(DiTConfig), "model": state_dict,
     "ema": state_dict | None, "train_config": dict | None, "record": dict | None,
     "optimizer": state_dict | None, "rng": dict | None, "step": int}

`load_model` rebuilds the network from the stored config, so a reader needs nothing but
the file. Every problem (missing, corrupt, not ours, keys or shapes that do not match the
config) raises a `CheckpointError` that names the file and what is wrong.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .models import DiT, DiTConfig

FORMAT, VERSION = "dit_lib.checkpoint", 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and the problem."""


def save_checkpoint(path, model: DiT, *, ema: DiT | None = None, train_config: dict | None = None,
                    record: dict | None = None, optimizer: torch.optim.Optimizer | None = None,
                    rng: dict | None = None, step: int = 0, weights: str = "both") -> Path:
    """Write a checkpoint atomically (temp file + rename). `weights="ema"` keeps only the EMA weights
    (under "model"), which is what the shipped checkpoints store."""
    if not isinstance(model, DiT):
        raise TypeError(f"model must be a dit_lib DiT, got {type(model).__name__}.")
    if weights not in ("both", "ema"):
        raise ValueError(f"weights must be 'both' or 'ema', got {weights!r}.")
    if weights == "ema" and ema is None:
        raise ValueError("weights='ema' needs the ema model; pass ema=... or use weights='both'.")
    payload = {
        "format": FORMAT, "version": VERSION, "step": int(step),
        "model_config": model.config.to_dict(),
        "model": (ema if weights == "ema" else model).state_dict(),
        "ema": ema.state_dict() if (ema is not None and weights == "both") else None,
        "train_config": train_config, "record": record,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "rng": rng,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path) -> dict:
    """Read a checkpoint dict safely (`weights_only=True`) and check that it is one of ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path "
                              f"(shipped checkpoints: dit_lib.pretrained.checkpoint_path(name)).")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, wrong file type, pickled code, ...
        raise CheckpointError(f"checkpoint {path} could not be read ({type(err).__name__}: "
                              f"{str(err).splitlines()[0][:200]}); the file is corrupt or not a "
                              f"dit_lib checkpoint: re-download or re-train it.") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a dit_lib checkpoint (no format tag "
                              f"{FORMAT!r}); for official DiT weights load the state_dict directly "
                              f"with DiT(...).load_state_dict(torch.load(path)).")
    if ckpt.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {ckpt.get('version')}, "
                              f"this dit_lib reads version {VERSION}.")
    return ckpt


def build_model(ckpt: dict, path="<checkpoint>", key: str = "model") -> DiT:
    """Rebuild the DiT from a checkpoint dict and load its weights with a clear error on mismatch."""
    try:
        config = DiTConfig(**ckpt["model_config"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} has an invalid model_config: {err}") from err
    model = DiT.from_config(config)
    state = ckpt.get(key)
    if state is None:
        raise CheckpointError(f"checkpoint {path} has no {key!r} weights.")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [f"{k}: file {tuple(state[k].shape)} vs config {tuple(v.shape)}"
             for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        raise CheckpointError(f"checkpoint {path}: weights do not match its model_config "
                              f"(missing {missing[:3]}, unexpected {unexpected[:3]}, shape {wrong[:3]}).")
    model.load_state_dict(state, strict=True)
    return model


def load_model(path, *, ema: bool = True) -> DiT:
    """Load a checkpoint file and return the model in eval mode (the EMA weights when the file has them)."""
    ckpt = load_checkpoint(path)
    key = "ema" if ema and ckpt.get("ema") is not None else "model"
    return build_model(ckpt, path, key).eval()

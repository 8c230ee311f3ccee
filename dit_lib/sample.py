"""Sample a trained checkpoint from the command line and save a PNG grid (and the arrays).

    python -m dit_lib.sample --checkpoint mine.pt --per-class 8 --cfg-scale 4 --steps 50 --out grid.png
    python -m dit_lib.sample --checkpoint digits --labels 0 1 2 3 --sampler ddpm --steps 250 --out g.png --npz g.npz

`--checkpoint` is a file written by `python -m dit_lib.train` or the name of a shipped one
(`dit_lib.pretrained.list_pretrained()`). The EMA weights are sampled with the noise schedule the
checkpoint was trained with, by `dit_lib.sampling.sample`; the same `--seed` gives the same images.
Labels are class names or class indices: a token that is one of the checkpoint's class names means
that class (so with folder classes named "1", "0" the token 1 is the class named "1"); any other
token must be an index 0..K-1. The class names are those the checkpoint recorded of its data, or
those of the built-in dataset it was trained on. The grid has one row per class with `--per-class`;
`--npz` saves `images` (uint8, (N, H, W) or (N, H, W, C)), `labels` and `class_names` of the
classes drawn (renumbered 0..k-1 in index order), the layout `python -m dit_lib.train --data` reads.
`--cfg-scale` defaults to 4, or to 1 (no guidance) for a checkpoint with no null class
(trained with `--class-dropout-prob 0`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from ._cli import HelpFormatter
from .checkpoint import build_model, load_checkpoint
from .data import make_grid, shapes_class_names
from .pretrained import checkpoint_path, list_pretrained
from .sampling import METHODS, sample


def resolve_checkpoint(name_or_path) -> Path:
    """A checkpoint file, or the path of the shipped checkpoint of that name."""
    path = Path(name_or_path)
    if path.is_file() or str(name_or_path) not in list_pretrained():
        return path                                  # load_checkpoint names a missing file clearly
    return checkpoint_path(str(name_or_path))


def class_names_of(ckpt: dict) -> list[str]:
    """The class names the checkpoint recorded of its data, else those of the built-in dataset it was
    trained on (train_config["dataset"]), else "0".."K-1"."""
    k = ckpt["model_config"]["num_classes"]
    names = ((ckpt.get("record") or {}).get("dataset") or {}).get("class_names")
    if not names:
        tc = ckpt.get("train_config") or {}
        options = tc.get("data_kwargs") or {}
        if tc.get("dataset") == "shapes":
            names = shapes_class_names(**{key: options[key] for key in ("shapes", "colors") if key in options})
        elif tc.get("dataset") in ("digits", "mnist"):
            names = [str(c) for c in range(10)]
    names = [str(n) for n in names] if names else []
    return names if len(names) == k else [str(c) for c in range(k)]


def parse_labels(tokens, names: list[str]) -> list[int]:
    """Class indices from tokens that are indices ("3") or recorded class names ("cat")."""
    out = []
    for tok in tokens:
        if tok in names:
            out.append(names.index(tok))
        elif tok.lstrip("-").isdigit() and 0 <= int(tok) < len(names):
            out.append(int(tok))
        else:
            raise ValueError(f"label {tok!r} is neither a class index 0..{len(names) - 1} nor a class name of "
                             f"this checkpoint ({', '.join(names[:20])}); pass one of those.")
    return out


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> uint8 (N, H, W) for one channel, else (N, H, W, C)."""
    x = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).movedim(1, -1).numpy()
    return x[..., 0] if x.shape[-1] == 1 else x


def save_png(grid: torch.Tensor, path, zoom: int = 1):
    """A (C, H, W) image in [-1, 1] as a PNG (grayscale or RGB), each pixel `zoom` x `zoom`."""
    from PIL import Image

    pixels = to_uint8(grid[None])[0]
    mode = "L" if pixels.ndim == 2 else {3: "RGB", 4: "RGBA"}.get(pixels.shape[-1])
    if mode is None:
        raise ValueError(f"a PNG holds 1, 3 or 4 channels; these samples have {pixels.shape[-1]}.")
    img = Image.fromarray(pixels, mode=mode)
    if zoom > 1:
        img = img.resize((img.width * zoom, img.height * zoom), Image.Resampling.NEAREST)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def parse_args(argv=None) -> argparse.Namespace:
    """The command line of `python -m dit_lib.sample` (see `--help`)."""
    p = argparse.ArgumentParser(prog="python -m dit_lib.sample", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint file, or a shipped name: " + ", ".join(list_pretrained()))
    which = p.add_mutually_exclusive_group()
    which.add_argument("--labels", nargs="+", default=None, metavar="LABEL", help="class names or indices, one image "
                       "each (a token that is a class name means that class, else an index 0..K-1)")
    which.add_argument("--per-class", type=int, default=None, help="N images of every class, one row per class (default 8)")
    p.add_argument("--cfg-scale", type=float, default=None, help="classifier-free guidance scale (1: none); default 4, "
                   "or 1 for a checkpoint with no null class (trained with --class-dropout-prob 0)")
    p.add_argument("--steps", type=int, default=50, help="sampling steps (evenly respaced; at most the checkpoint's "
                   "diffusion steps)")
    p.add_argument("--sampler", default="ddim", choices=METHODS, help="ddim (eta 0) or ancestral ddpm")
    p.add_argument("--seed", type=int, default=0, help="the initial noise (same seed, same images)")
    p.add_argument("--nrow", type=int, default=None, help="images per grid row (default: --per-class, or 8)")
    p.add_argument("--zoom", type=int, default=1, help="each pixel becomes zoom x zoom in the PNG")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--npz", default=None, help="also save the samples as an .npz (images, labels, class_names)")
    p.add_argument("--device", default="cpu", help="torch device")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    """`python -m dit_lib.sample ...`: sample the checkpoint, write the PNG grid (and the .npz).

    Returns {"images": (N, C, H, W) in [-1, 1], "labels", "class_names", "nrow", "png": path, "cfg_scale"}.
    """
    a = parse_args(argv)
    for name in ("steps", "zoom", "per_class", "nrow"):
        value = getattr(a, name)
        if value is not None and value <= 0:
            raise SystemExit(f"--{name.replace('_', '-')} must be a positive integer, got {value}.")
    path = resolve_checkpoint(a.checkpoint)
    ckpt = load_checkpoint(path)
    model = build_model(ckpt, path, "ema" if ckpt.get("ema") is not None else "model").eval().to(a.device)
    names = class_names_of(ckpt)
    per_class = a.per_class or (8 if a.labels is None else None)
    labels = parse_labels(a.labels, names) if a.labels else [c for c in range(len(names)) for _ in range(per_class)]
    tc = ckpt.get("train_config") or {}
    diffusion_steps = tc.get("diffusion_steps", 1000)
    if a.steps > diffusion_steps:
        raise SystemExit(f"--steps must be <= the checkpoint's diffusion steps ({diffusion_steps}), got {a.steps}.")
    has_null = model.y_embedder.null_class is not None
    cfg_scale = a.cfg_scale if a.cfg_scale is not None else (4.0 if has_null else 1.0)
    if cfg_scale != 1 and not has_null:
        raise SystemExit(f"--cfg-scale {cfg_scale:g} needs a null class, but {path} was trained without one "
                         f"(--class-dropout-prob 0): use --cfg-scale 1 (no guidance).")
    images = sample(model, labels, cfg_scale=cfg_scale, method=a.sampler, num_steps=a.steps, seed=a.seed,
                    noise_schedule=tc.get("noise_schedule", "linear"),
                    diffusion_steps=diffusion_steps, progress=a.progress).cpu()   # (N, C, H, W)
    nrow = a.nrow or per_class or 8
    out = save_png(make_grid(images.clamp(-1, 1), nrow=nrow, padding=1, pad_value=-1.0), a.out, a.zoom)
    if a.npz:
        used = sorted(set(labels))                 # only the classes drawn, so that --data can read the file back
        Path(a.npz).parent.mkdir(parents=True, exist_ok=True)
        np.savez(a.npz, images=to_uint8(images), labels=np.array([used.index(y) for y in labels], dtype=np.int64),
                 class_names=np.array([names[c] for c in used]))
    print(f"sampled {len(labels)} images ({a.sampler}, {a.steps} steps, cfg {cfg_scale:g}, seed {a.seed}) "
          f"from {path}; wrote {out}" + (f" and {a.npz}" if a.npz else ""))
    return {"images": images, "labels": labels, "class_names": names, "nrow": nrow, "png": out, "cfg_scale": cfg_scale}


if __name__ == "__main__":
    try:
        main()
    except ValueError as err:                    # bad data or checkpoint: the message says what to fix
        raise SystemExit(f"error: {err}") from None

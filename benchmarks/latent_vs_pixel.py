"""What latent space buys: a pixel-space DiT and a latent DiT on the same 32x32 scenes, side by side.

    python benchmarks/latent_vs_pixel.py            # ~30 min on one thread; writes dit_lib/pretrained/latent_vs_pixel.json
    python benchmarks/latent_vs_pixel.py --table    # print the table of the shipped JSON

The latent DiT is the shipped `scenes_latent` (DiT-Tiny/2 on the shipped VAE's 8x8x4 latents, 16
tokens). The pixel DiT is DiT-Tiny/4 on the 32x32x3 images (64 tokens; patch 4 so that it stays
affordable: patch 2 would give 256 tokens), trained here with the same recipe (batch, learning
rate, EMA, seed) for the same wall time: its steps are the latent model's steps times the ratio of
the two training speeds, both measured in this run on one thread. Then, for both:

* tokens, parameters, GMACs of one forward (`count_macs`), and of the VAE decoder once per image
  (`torch.utils.flop_counter`, multiply-adds = flops / 2);
* training images/s (one thread, 30 timed steps after 5 warm-up ones, alternating the two models);
* sampling ms/image with DDIM-50 (the latent one including the decoder);
* the slip of chapter 11: the latent recipe trained on unscaled latents (and decoded without dividing);
* quality of DDIM-50 samples without guidance and at guidance 2 (judge accuracy and FD on images,
  the latent ones decoded), next to the VAE's own reconstructions of the test images (the ceiling of
  any latent model) and the real-vs-real floor.
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from dit_lib.checkpoint import load_checkpoint, load_model
from dit_lib.data import load_dataset
from dit_lib.evaluation import evaluate_samples, get_judge
from dit_lib.flops import count_macs, count_params
from dit_lib.latent_pipeline import generate
from dit_lib.latents import decode, write_latents
from dit_lib.machine import describe, load_average, processor
from dit_lib.pretrained import RECIPES, checkpoint_path, load_pretrained_vae
from dit_lib.sampling import sample
from dit_lib.train import main as train_main
from dit_lib.trainer import Trainer, TrainConfig

OUT = Path(__file__).resolve().parents[1] / "dit_lib" / "pretrained" / "latent_vs_pixel.json"
PIXEL_MODEL = "DiT-Tiny/4"
N_SAMPLES = 450  # 50 per class
GUIDANCE = (1.0, 2.0)


def recipe_value(flag: str) -> str:
    args = RECIPES["scenes_latent"]
    return args[args.index(flag) + 1]


def train_speed(images: torch.Tensor, labels: torch.Tensor, model: str, steps: int = 30) -> float:
    """Training images/s of `model` on `images` with the latent recipe's batch, on the current threads."""
    cfg = TrainConfig(
        dataset="npz",
        data="-",
        model=model,
        steps=steps,
        batch_size=int(recipe_value("--batch-size")),
        lr=float(recipe_value("--lr")),
        gate_every=10**9,
        log_every=10**9,
    )
    trainer = Trainer(cfg, images, labels, 9)
    trainer.run(5, progress=False)
    start = time.perf_counter()
    trainer.run(steps, progress=False)
    return steps * cfg.batch_size / (time.perf_counter() - start)


def train_unscaled(vae, train, out: Path, steps: int) -> None:
    """The slip of forgetting the scale factor: the latent recipe on latents of std 1 / s, decoded with s = 1.

    The same encoding as the shipped model's data (`write_latents`, seed 0), multiplied by 1 instead of
    s; written directly, because `save_latents` refuses latents that look unscaled."""
    with tempfile.TemporaryDirectory() as tmp:
        _, _, z = write_latents(Path(tmp) / "scaled.pt", vae, train, {"kind": "builtin", "name": "scenes"})
        torch.save(
            {
                "latents": z,
                "labels": train.labels,
                "scale_factor": 1.0,
                "class_names": list(train.class_names),
                "source": {"note": "unscaled on purpose (benchmarks/latent_vs_pixel.py)"},
            },
            Path(tmp) / "z.pt",
        )
        args = [Path(tmp, "z.pt").as_posix() if a == "{latents}" else a for a in RECIPES["scenes_latent"]]
        train_main(args + ["--steps", str(steps), "--ship", "--no-progress", "--out", str(out)])


def decoder_macs(vae, latent_shape) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        vae.decode(torch.zeros(1, *latent_shape))
    return counter.get_total_flops() // 2


def run(args) -> dict:
    torch.set_num_threads(1)
    vae = load_pretrained_vae("scenes")
    latent_path = checkpoint_path("scenes_latent")
    ckpt = load_checkpoint(latent_path)
    s = ckpt["record"]["dataset"]["scale_factor"]
    train, test = load_dataset("scenes", "train"), load_dataset("scenes", "test")
    with torch.no_grad():
        z_train = vae.encode(train.images[:512]).latent_dist.mode() * s  # only for the speed test
    speeds = {"latent": [], "pixel": []}
    for _ in range(args.speed_rounds):  # alternate: same load for both
        speeds["latent"].append(train_speed(z_train, train.labels[:512], "DiT-Tiny/2"))
        speeds["pixel"].append(train_speed(train.images, train.labels, PIXEL_MODEL))
    ips = {k: float(np.median(v)) for k, v in speeds.items()}
    latent_steps = ckpt["train_config"]["steps"]
    pixel_steps = int(round(latent_steps * ips["pixel"] / ips["latent"] / 50) * 50)  # same wall time, x50
    pixel_ckpt = Path(args.pixel_checkpoint)
    if not pixel_ckpt.is_file() or args.retrain:
        train_main(
            [
                "--dataset",
                "scenes",
                "--model",
                PIXEL_MODEL,
                "--steps",
                str(pixel_steps),
                "--batch-size",
                recipe_value("--batch-size"),
                "--lr",
                recipe_value("--lr"),
                "--ship",
                "--no-progress",
                "--out",
                str(pixel_ckpt),
            ]
        )
    unscaled_ckpt = Path(args.unscaled_checkpoint)
    if not unscaled_ckpt.is_file() or args.retrain:
        train_unscaled(vae, train, unscaled_ckpt, latent_steps)
    pixel, latent, unscaled = load_model(pixel_ckpt), load_model(latent_path), load_model(unscaled_ckpt)
    judge = get_judge("scenes")
    labels = torch.arange(N_SAMPLES) % 9
    real = torch.cat([train.images, test.images]), torch.cat([train.labels, test.labels])
    rows = []
    with torch.no_grad():
        recon = decode(vae, vae.encode(test.images).latent_dist.mode() * s, s).clamp(-1, 1)
    q = evaluate_samples(judge, recon[:N_SAMPLES], test.labels[:N_SAMPLES], *real)
    rows.append(
        {
            "model": "VAE reconstructions of test images",
            "guidance": None,
            "accuracy": q.accuracy,
            "fd": q.fd,
            "fd_real_baseline": q.fd_real_baseline,
            "n": q.n,
            "mse": float((recon - test.images).pow(2).mean()),
        }
    )
    grids = {}
    for cfg_scale in GUIDANCE:
        for name, model in (("pixel", pixel), ("latent", latent), ("latent, unscaled", unscaled)):
            start = time.perf_counter()
            if name.startswith("latent"):
                x = generate(model, vae, labels, scale_factor=s if name == "latent" else 1.0, cfg_scale=cfg_scale, num_steps=50)
            else:
                x = sample(model, labels, cfg_scale=cfg_scale, method="ddim", num_steps=50, progress=False)
            sec = (time.perf_counter() - start) / N_SAMPLES
            x = x.clamp(-1, 1)
            q = evaluate_samples(judge, x, labels, *real)
            rows.append(
                {
                    "model": name,
                    "guidance": cfg_scale,
                    "accuracy": q.accuracy,
                    "fd": q.fd,
                    "fd_real_baseline": q.fd_real_baseline,
                    "n": q.n,
                    "ms_per_image": 1000 * sec,
                }
            )
            first = ((x[:9] + 1) * 127.5).round().to(torch.uint8).contiguous()  # one sample per class, as uint8
            grids[f"{name}@{cfg_scale:g}"] = {
                "shape": list(first.shape),
                "uint8_base64": base64.b64encode(first.numpy().tobytes()).decode(),
            }
            print(rows[-1], flush=True)
    latent_shape = tuple(latent.in_channels for _ in range(1)) + tuple(latent.x_embedder.img_size)
    dec = decoder_macs(vae, latent_shape)
    models = {}
    for name, model, steps in (("pixel", pixel, pixel_steps), ("latent", latent, latent_steps)):
        macs = count_macs(model).total
        models[name] = {
            "model": PIXEL_MODEL if name == "pixel" else "DiT-Tiny/2",
            "tokens": model.x_embedder.num_patches,
            "input": [model.in_channels, *model.x_embedder.img_size],
            "params": count_params(model),
            "gmacs_forward": macs / 1e9,
            "train_images_per_s": ips[name],
            "train_steps": steps,
            "train_seconds_at_measured_speed": steps * int(recipe_value("--batch-size")) / ips[name],
            "gmacs_per_sample_ddim50": (50 * macs + (dec if name == "latent" else 0)) / 1e9,
        }
    return {
        "description": __doc__.split("\n\n")[0],
        "models": models,
        "vae_decoder_gmacs": dec / 1e9,
        "speed_rounds": speeds,
        "rows": rows,
        "grids": grids,
        "judge_test_accuracy": judge.test_accuracy,
        "scale_factor": s,
        "threads": 1,
        "torch": torch.__version__,
        "machine": describe(processor()),
        "load_at_end": load_average(),
    }


def table(result: dict) -> str:
    lines = [
        "| | tokens | GMACs / forward | train images/s | steps in the same time | ms / image (DDIM-50) |",
        "|---|---|---|---|---|---|",
    ]
    ms = {(r["model"], r["guidance"]): r.get("ms_per_image") for r in result["rows"]}
    for name, m in result["models"].items():
        lines.append(
            f"| {name} ({m['model']}) | {m['tokens']} | {m['gmacs_forward']:.4f} | {m['train_images_per_s']:.0f} | "
            f"{m['train_steps']} | {ms[(name, 1.0)]:.1f} |"
        )
    lines += ["", "| samples | guidance | judge accuracy | FD | FD real vs real |", "|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(
            f"| {r['model']} | {r['guidance'] or '-'} | {r['accuracy']:.1%} | {r['fd']:.2f} | {r['fd_real_baseline']:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--pixel-checkpoint", default="benchmarks/scenes_pixel.pt", help="kept between runs (not shipped)")
    p.add_argument("--unscaled-checkpoint", default="benchmarks/scenes_latent_unscaled.pt", help="kept between runs")
    p.add_argument("--retrain", action="store_true", help="retrain the pixel model even if its checkpoint exists")
    p.add_argument("--speed-rounds", type=int, default=3)
    p.add_argument("--table", action="store_true", help="only print the table of --out")
    a = p.parse_args(argv)
    if not a.table:
        Path(a.out).write_text(json.dumps(run(a), indent=1) + "\n")
    print(table(json.loads(Path(a.out).read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

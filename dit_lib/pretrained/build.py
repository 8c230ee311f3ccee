"""Train the shipped checkpoints and write their model cards; or check that they reproduce.

    python -m dit_lib.pretrained.build digits            # train -> dit_lib/pretrained/digits.pt + digits.md
    python -m dit_lib.pretrained.build --all
    python -m dit_lib.pretrained.build digits --check    # retrain in a temp dir, compare weights bit for bit
    python -m dit_lib.pretrained.build --cards           # rewrite the cards (e.g. after benchmarks/quality.py)
    python -m dit_lib.pretrained.build --judges [--check]   # the shipped judges (judge_digits.pth)
    python -m dit_lib.pretrained.build vae_scenes scenes_latent   # the VAE folder, then the latent DiT on it

Training is seeded and runs on the recipe's number of CPU threads (`THREADS` in
`dit_lib/pretrained/__init__.py`), so the same recipe gives the same weights bit for bit on the
same kind of processor: the same architecture and vector extensions (AVX2 and AVX-512 kernels
round differently, and the last-bit differences grow over the steps). The card
names the processor that trained the file (`dit_lib.machine`). The card's quality table comes from
`<name>_quality.json`, written by `benchmarks/quality.py <name>`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import tempfile
from pathlib import Path

import torch

from . import RECIPES, THREADS, VAE_RECIPES, _folder, vae_path
from ..autoencoder import load_vae, save_vae, train_vae
from .vae_card import vae_card, vae_digest  # noqa: F401 (vae_digest: used by the tests through build)
from ..data import load_dataset
from ..image_files import load_training_set
from ..latents import encode, scale_factor_of, write_latents
from ..checkpoint import load_checkpoint
from ..evaluation import SHIPPED_JUDGES, load_judge, save_judge, shipped_judge_path, train_judge
from ..flops import count_params
from ..train import main as train_main
from .. import __version__
from ..machine import describe, processor, same_family

# What a card must say that the file cannot: how the machine was loaded when it was made.
CONDITIONS = {
    "scenes_latent": "Trained with the conditioning ablation paused; short jobs (the scenes judge, tests, a package "
                     "reinstall) ran beside it for a few of its minutes.",
    "digits": "This file was trained while a one-thread benchmark shared the 2 cores, which slows two torch "
              "threads several-fold; the same recipe on a quiet machine took 101 s (benchmarks/README.md). "
              "Trained twice on this machine, it gave the same weights digest both times (the first run also "
              "passed `--ema-decay 0.995`, a cap the EMA's warm-up does not reach in 1,200 steps). The quality "
              "timings below were taken at load 3.",
    "shapes": "This file was trained on one thread while a second one-thread job (the conditioning ablation) "
              "shared the 2 cores; on a quiet machine the same steps ran at 172-194 images/s on one thread "
              "(benchmarks/training_speed.py, the same day), about 33-37 minutes for the 3,000 steps. The recipe "
              "was chosen by `benchmarks/shapes_recipes.py` (the table in "
              "benchmarks/README.md): at learning rate 2e-3 squares come out square (the previous recipe, "
              "1e-3, drew them with round corners). Guidance at every step makes the shapes grow and the FD "
              "with it; guidance only at t <= 500 keeps their size (the rows marked so below; chapter 10, "
              "section 10.6).",
}

# Files trained before the trainer recorded its processor (dit_lib.machine): what is known of it.
UNRECORDED = {
    "digits": "not recorded when the file was trained. `--check` on an AMD EPYC with AVX2 and no AVX-512 "
              "(torch 2.13.0, the recipe's 2 threads) gave different weights (digest b31e449b5b9519aa) and a "
              "final smoothed loss of 0.0887 against the shipped run's 0.0885, so the file was most likely trained "
              "on a processor of another family",
}


def weights_digest(path) -> str:
    """sha256 over the weights' names, shapes and bytes (the file itself also holds timings)."""
    h = hashlib.sha256()
    for name, w in load_checkpoint(path)["model"].items():
        h.update(name.encode())
        h.update(str(tuple(w.shape)).encode())
        h.update(w.contiguous().numpy().tobytes())
    return h.hexdigest()


def judge_digest(path) -> str:
    """sha256 over a saved judge's weight names, shapes and bytes."""
    h = hashlib.sha256()
    for name, w in load_judge(path).net.state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(w.shape)).encode())
        h.update(w.contiguous().numpy().tobytes())
    return h.hexdigest()


def build_judges(check: bool) -> int:
    """Train the default judges with `train_judge` (seed 0, one thread) and write them beside the
    checkpoints; with check, train them in a temp dir and compare with the shipped files bit for bit."""
    status = 0
    for name in SHIPPED_JUDGES:
        if not check:
            save_judge(train_judge(name), shipped_judge_path(name))
            print(f"wrote {shipped_judge_path(name)} ({judge_digest(shipped_judge_path(name))[:16]})")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            save_judge(train_judge(name), Path(tmp) / "judge.pth")
            fresh = judge_digest(Path(tmp) / "judge.pth")
        shipped = judge_digest(shipped_judge_path(name))
        made_on = torch.load(shipped_judge_path(name), weights_only=True).get("processor")
        print(f"judge {name}: {'reproduced bit for bit' if fresh == shipped else 'DIFFERENT'} "
              f"({fresh[:16]} vs shipped {shipped[:16]}) on {describe()}; shipped file made on "
              f"{describe(made_on) if made_on else 'an unrecorded processor'}")
        status |= fresh != shipped
    return status


def train(name: str, out: Path) -> Path:
    """Train `name` into `out` (a .pt file, or a folder for a VAE) on the recipe's threads."""
    torch.set_num_threads(THREADS[name])
    if name.startswith("vae_"):
        recipe = dict(VAE_RECIPES[name[4:]])
        images = load_dataset(recipe.pop("dataset"), split="train").images
        vae, record = train_vae(images, **recipe)
        s = scale_factor_of(encode(vae, images, generator=torch.Generator().manual_seed(0)))   # as write_latents
        return save_vae(vae, out, record, scaling_factor=s)
    args = RECIPES[name]
    with tempfile.TemporaryDirectory() as tmp:
        if "{latents}" in args:                           # encode the data once with the shipped VAE (seed 0)
            vae_name = name.split("_")[0]                 # "scenes_latent" -> vae_scenes, trained on "scenes"
            ds, info = load_training_set(VAE_RECIPES[vae_name]["dataset"])
            write_latents(Path(tmp) / "latents.pt", load_vae(vae_path(vae_name)), ds, info,
                          vae_name=f"dit_lib/pretrained/vae_{vae_name}")
            args = [Path(tmp, "latents.pt").as_posix() if a == "{latents}" else a for a in args]
        train_main(args + ["--ship", "--no-progress", "--out", str(out)])
    return out


def names_in_order() -> list[str]:
    """Every shipped name, the VAEs first (a latent DiT is trained on a shipped VAE's latents)."""
    return [f"vae_{n}" for n in sorted(VAE_RECIPES)] + sorted(RECIPES)


def card(name: str) -> str:
    path = _folder() / f"{name}.pt"
    ckpt = load_checkpoint(path)
    tc, mc, rec = ckpt["train_config"], ckpt["model_config"], ckpt["record"]
    from ..checkpoint import build_model
    n_params = count_params(build_model(ckpt, path))
    lines = [f"# Model card: `{name}`", "",
             f"A tiny class-conditional DiT trained by this repository's own code (`dit_lib {__version__}`).", "",
             "## Data", "",
             ("" if tc["dataset"] == "latents" else f"`dit_lib.data.load_dataset({tc['dataset']!r}, split='train'"
              + "".join(f", {k}={v!r}" for k, v in tc.get("data_kwargs", {}).items()) + ")`: ")
             + {"digits": "scikit-learn's bundled 8x8 handwritten digits (10 classes), scaled to [-1, 1]; "
                          "the book's fixed 80/20 split.",
                "shapes": "procedurally generated coloured shapes (3 shapes x 3 colours = 9 classes), "
                          "random position and size, seed 0, drawn at 12x12.",
                "latents": "the 32x32 scenes (`load_dataset('scenes')`, 9 classes) encoded once by the shipped "
                           "VAE (`dit_lib/pretrained/vae_scenes`, one seeded draw of q(z|x) per image) into 8x8x4 "
                           f"latents, multiplied by the scale factor {rec['dataset'].get('scale_factor', 0):.5f} "
                           "(1 / their std), which the checkpoint keeps in `record['dataset']`."
                }.get(tc["dataset"], ""), "",
             "## Model", "",
             f"`{tc['model']}`: " + ", ".join(f"{k}={v}" for k, v in mc.items()) + f"; {n_params:,} parameters.", "",
             "## Training", "",
             f"`python -m dit_lib.train {' '.join(RECIPES[name])}` (the recipe in `dit_lib/pretrained/__init__.py`"
             + ("; `{latents}` is the latents file `build` writes first" if "{latents}" in RECIPES[name] else "") + "): "
             f"{tc['steps']} steps, batch {tc['batch_size']}, AdamW lr {tc['lr']}, EMA {tc['ema_decay']} with warm-up, "
             f"grad clip {tc['grad_clip']}, label dropout {tc['class_dropout_prob']}, "
             f"{'learned variance (hybrid loss)' if tc['learn_sigma'] else 'fixed variance'}, "
             f"{tc['noise_schedule']} schedule, T = {tc['diffusion_steps']}, seed {tc['seed']}.", "",
             f"Wall time: {rec['wall_time']:.0f} s on {THREADS[name]} CPU thread{'s' if THREADS[name] > 1 else ''} "
             f"({platform.machine()}, torch {torch.__version__}"
             + (f"; {rec['load_at_end']} when training ended" if "load_at_end" in rec else "") + "). "
             f"Final smoothed training loss {rec['loss'][-1]:.4f}. The file stores the EMA weights only."
             + (f" {CONDITIONS[name]}" if name in CONDITIONS else ""), "",
             f"Processor: {describe(rec['processor']) if 'processor' in rec else UNRECORDED.get(name, 'not recorded')}.", "",
             f"Reproduce: `make checkpoints` (or `python -m dit_lib.pretrained.build {name}`); "
             f"`--check` retrains and compares weights bit for bit, which holds only on a processor of the "
             f"same family (architecture and vector extensions); on another one last-bit differences grow "
             f"over the steps and the weights come out different. Weights digest: `{weights_digest(path)[:16]}`.", ""]
    qpath = _folder() / f"{name}_quality.json"
    lines += ["## Quality", ""]
    if qpath.is_file():
        q = json.loads(qpath.read_text())
        lines += [f"Measured by `python benchmarks/quality.py {name}` (samples per setting: {q['rows'][0]['n']}; "
                  f"judge: a small CNN trained on real data only, {q['judge_test_accuracy']:.1%} on the real test split; "
                  f"FD: Fréchet distance of judge features, next to the real-vs-real floor at the same size"
                  + (f"; times on {q['threads']} threads, {q['load_at_end']} at the end" if "load_at_end" in q else "")
                  + ").", "",
                  "| sampler | steps | guidance | judge accuracy | FD | FD real vs real | ms / sample |",
                  "|---|---|---|---|---|---|---|"]
        for r in q["rows"]:
            lo_hi = r.get("interval")   # guidance only at lo <= t <= hi (benchmarks/quality.py --interval-guidance)
            guidance = f"{r['cfg_scale']:g}" + (f" at t <= {lo_hi[1]}" if lo_hi else "")
            lines.append(f"| {r['method'].upper()} | {r['steps']} | {guidance} | {r['accuracy']:.1%} | "
                         f"{r['fd']:.2f} | {r['fd_real_baseline']:.2f} | {1000 * r['seconds_per_sample']:.1f} |")
    elif tc["dataset"] == "latents":
        lines.append("Measured by `benchmarks/latent_vs_pixel.py` (`make latent-bench`) beside a pixel-space DiT trained "
                     "for the same time: `dit_lib/pretrained/latent_vs_pixel.json`, chapter 11, section 11.6.")
    else:
        lines.append(f"Not measured yet: run `python benchmarks/quality.py {name}`.")
    return "\n".join(lines) + "\n"


def build_vae(name: str, check: bool, cards_only: bool) -> int:
    """Train the VAE folder `name` (or retrain it in a temp dir and compare bit for bit), then write its card."""
    folder = _folder() / name
    if check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = vae_digest(train(name, Path(tmp) / name))
        shipped = vae_digest(folder)
        print(f"{name}: {'reproduced bit for bit' if fresh == shipped else 'DIFFERENT'} ({fresh[:16]} vs shipped "
              f"{shipped[:16]}) on {describe()}")
        return int(fresh != shipped)
    if not cards_only:
        train(name, folder)
    (folder / "README.md").write_text(vae_card(name))
    print(f"wrote {folder / 'README.md'}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m dit_lib.pretrained.build", description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", help=f"checkpoints to build: {sorted(RECIPES)}")
    p.add_argument("--all", action="store_true")
    p.add_argument("--check", action="store_true", help="retrain in a temp dir and compare weights")
    p.add_argument("--cards", action="store_true", help="only rewrite the model cards")
    p.add_argument("--judges", action="store_true", help=f"build (or --check) the shipped judges {SHIPPED_JUDGES}")
    a = p.parse_args(argv)
    if a.judges:
        return build_judges(a.check)
    names = names_in_order() if a.all or (a.cards and not a.names) else a.names
    unknown = set(names) - set(names_in_order())
    if unknown or not names:
        p.error(f"name one or more of {names_in_order()} (or --all); got {sorted(unknown) or 'none'}")
    status = 0
    for name in names:
        if name.startswith("vae_"):
            status |= build_vae(name, a.check, a.cards)
            continue
        if a.check:
            with tempfile.TemporaryDirectory() as tmp:
                fresh = weights_digest(train(name, Path(tmp) / f"{name}.pt"))
            shipped = weights_digest(_folder() / f"{name}.pt")
            same = fresh == shipped
            print(f"{name}: {'reproduced bit for bit' if same else 'DIFFERENT'} ({fresh[:16]} vs shipped {shipped[:16]}) "
                  f"on {describe()}")
            made_on = load_checkpoint(_folder() / f"{name}.pt")["record"].get("processor")
            if not same and (made_on is None or not same_family(made_on, processor())):
                print(f"  expected: the file was trained on {describe(made_on) if made_on else 'another processor'}; "
                      f"bit-for-bit reproduction needs the same processor family (see the model card)")
            status |= not same
            continue
        if not a.cards:
            train(name, _folder() / f"{name}.pt")
        (_folder() / f"{name}.md").write_text(card(name))
        print(f"wrote {_folder() / f'{name}.md'}")
    return status


if __name__ == "__main__":
    sys.exit(main())

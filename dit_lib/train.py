"""Training a DiT: AdamW, EMA, gradient clipping, label dropout, the hybrid loss; seeded and resumable.

    python -m dit_lib.train --dataset digits --model DiT-Tiny/2 --steps 2000 --out digits.pt
    python -m dit_lib.train --data my_images.npz --steps 2000 --out mine.pt   # or --data my_folder/
    python -m dit_lib.train --latents scenes_latents.pt --out latent.pt    # a latent DiT (chapter 11)
    torchrun --nproc_per_node 2 -m dit_lib.train ...        # DistributedDataParallel (gloo on CPU)

The command line of the trainer in `dit_lib.trainer`, where the recipe, the EMA and the probes are:
the options are the fields of its `TrainConfig` (`--batch-size` is `batch_size`; see `--help`). The
images are a built-in dataset (`--dataset`) or your own (`--data`, see `dit_lib.image_files`); a
preset whose patch size does not tile them is refused before training starts. `--resume` continues
a full checkpoint bit for bit, `--ship` writes the EMA weights only. Under torchrun every rank
trains on its share of the global batch and rank 0 writes the checkpoint.
"""
from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist

from ._cli import HelpFormatter
from .data import DATASETS
from .models import DiT_models
from .trainer import OWN_KINDS, TrainConfig, Trainer, ema_decay_at, gate_magnitudes, load_training_set, update_ema

# The command's own names, and the trainer's: the machinery lives in dit_lib.trainer and is
# re-exported here, so that `from dit_lib.train import TrainConfig, Trainer` keeps working.
__all__ = ["parse_args", "check_patch_fits", "main",
           "OWN_KINDS", "TrainConfig", "Trainer", "gate_magnitudes", "ema_decay_at", "update_ema", "load_training_set"]


def parse_args(argv=None) -> tuple[TrainConfig, argparse.Namespace]:
    """The command line (`python -m dit_lib.train --help`) as a TrainConfig, plus the other options."""
    d = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m dit_lib.train", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None, choices=DATASETS,   # None: argparse sees "--dataset digits"
                        help=f"a built-in dataset (dit_lib.data; {d.dataset} without --dataset and --data)")
    source.add_argument("--data", default=None, metavar="PATH", help="your own images: an .npz file (images, labels) "
                        "or a folder of class folders of PNGs, classes sorted by name as text: '10' before '2' "
                        "(see dit_lib.image_files)")
    source.add_argument("--latents", default=None, metavar="PATH", help="scaled VAE latents written by `python -m "
                        "dit_lib.extract_latents` (a latent DiT: its checkpoint keeps their scale factor)")
    p.add_argument("--model", default=d.model, choices=sorted(DiT_models), metavar="NAME", help="preset name")
    helps = {"steps": "training steps in all", "batch_size": "global batch size", "seed": "weights, data order, noise",
             "log_every": "loss curve resolution (steps)", "gate_every": "adaLN gate probe every N steps",
             "diffusion_steps": "T, the diffusion steps", "lr": "AdamW learning rate", "weight_decay": "AdamW weight decay",
             "ema_decay": "EMA decay (after its warm-up)", "grad_clip": "max gradient norm (0: none)",
             "class_dropout_prob": "label dropout for classifier-free guidance (0: no null class)"}
    for name, text in helps.items():
        p.add_argument("--" + name.replace("_", "-"), type=type(getattr(d, name)), default=getattr(d, name), help=text)
    p.add_argument("--noise-schedule", default=d.noise_schedule, choices=["linear", "cosine"], help="beta schedule")
    p.add_argument("--no-learn-sigma", dest="learn_sigma", action="store_false", help="fixed variance, MSE loss only")
    p.add_argument("--sample-at", type=int, nargs="*", default=[], help="steps at which to record a sample grid")
    p.add_argument("--image-size", type=int, default=None, help="image size of a built-in dataset (its default if unset)")
    p.add_argument("--out", required=True, help="checkpoint path to write")
    p.add_argument("--resume", default=None, help="checkpoint to resume from (needs a full checkpoint)")
    p.add_argument("--ship", action="store_true", help="write EMA weights only (small file, not resumable)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    a = p.parse_args(argv)
    if (a.data or a.latents) is not None and a.image_size is not None:
        p.error("--image-size resizes a built-in dataset; resize your own images before training (or encoding) instead.")
    data_kwargs = {"image_size": a.image_size} if a.image_size else {}
    kind = None if a.data is None else ("folder" if os.path.isdir(a.data) else "npz")
    kind = "latents" if a.latents is not None else kind
    cfg = TrainConfig(dataset=kind or a.dataset or d.dataset, data=a.latents or a.data, data_kwargs=data_kwargs, model=a.model,
                      learn_sigma=a.learn_sigma, sample_at=tuple(a.sample_at),
                      **{name: getattr(a, name) for name in (*helps, "noise_schedule")})
    return cfg, a


def check_patch_fits(model: str, size: tuple[int, int]) -> None:
    """Refuse, naming --model, a preset whose patch size does not divide the images' height and width."""
    def patch(name: str) -> int:
        return int(name.rsplit("/", 1)[1])                       # "DiT-Tiny/2" -> 2

    H, W = size
    if H % patch(model) or W % patch(model):
        fits = [n for n in sorted(DiT_models, key=lambda n: (patch(n), n)) if not H % patch(n) and not W % patch(n)]
        fix = (f"pass a --model whose patch divides both, e.g. --model {model.rsplit('/', 1)[0]}/{patch(fits[0])}"
               if fits else f"pad or resize the images to multiples of {patch(model)}")
        raise ValueError(f"--model {model} cuts {patch(model)}x{patch(model)} patches, which do not tile the "
                         f"{H}x{W} images; {fix}.")


def main(argv=None) -> None:
    """`python -m dit_lib.train ...`: load the data, train (resuming if asked), write the checkpoint."""
    cfg, args = parse_args(argv)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = 0
    if world_size > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank = dist.get_rank()
    ds, info = load_training_set(cfg)
    check_patch_fits(cfg.model, tuple(ds.images.shape[-2:]))
    trainer = Trainer(cfg, ds.images, ds.labels, ds.num_classes, rank=rank, world_size=world_size, data_info=info)
    if args.resume:
        trainer.load(args.resume)
    trainer.run(cfg.steps - trainer.step, progress=args.progress)
    if rank == 0:
        path = trainer.save(args.out, weights="ema" if args.ship else "both")
        loss = trainer.record.get("running_loss")                 # smoothed; None if no step was taken
        print(f"step {trainer.step}: loss {'-' if loss is None else f'{loss:.4f}'}, "
              f"{trainer.record['wall_time']:.1f}s, wrote {path}")
    if world_size > 1:
        out = os.environ.get("DIT_RANK_STATE_DIR")  # for the DDP test: every rank dumps its weights
        if out:
            torch.save(trainer.model.state_dict(), os.path.join(out, f"rank{rank}.pt"))
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    try:
        main()
    except ValueError as err:                    # bad data or checkpoint: the message says what to fix
        raise SystemExit(f"error: {err}") from None

"""The paper's conditioning ablation (DiT Sec. 3.2, Fig. 5) at toy scale, trained by our own code.

    python benchmarks/conditioning_ablation.py                 # writes dit_lib/pretrained/conditioning_ablation.json
    python benchmarks/conditioning_ablation.py --steps 50 --seeds 0 --out /tmp/a.json   # a quick try

Four variants of `dit_lib.conditioning.ConditioningDiT` (in-context, cross-attention, adaLN,
adaLN-Zero) with the width and depth of DiT-Tiny/2 are trained on the 8x8 digits with one budget:
the same data order, timesteps and noise (one generator, seeded), the same steps, batch, optimizer,
learning rate, EMA, gradient clipping and label dropout as the shipped `digits` checkpoint
(`dit_lib.trainer.TrainConfig` and the recipe in `dit_lib.pretrained.RECIPES`). The training step is
`Trainer.train_step` written out so that the noise-prediction (mse) term can be recorded apart
from the noisy vb term; for adaLN-Zero it reproduces `Trainer` bit for bit (tests/test_conditioning.py).

Recorded per variant and seed: the per-step mse and total loss, the held-out noise-prediction error
of the EMA weights on the real test split at ten fixed timesteps (identical inputs for every
variant), and the judge accuracy and FD of 200 samples (DDIM-25, guidance 2, 20 per class).
Runs on one CPU thread, seeded: the same numbers on every run of the same machine and torch build.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # quality.py, beside this script

from dit_lib.conditioning import LABELS, VARIANTS, ConditioningDiT, heldout_eps_mse  # noqa: E402
from dit_lib.data import load_dataset  # noqa: E402
from dit_lib.diffusion import create_diffusion  # noqa: E402
from dit_lib.flops import build_on_meta  # noqa: E402
from dit_lib.pretrained import RECIPES  # noqa: E402
from dit_lib.train import parse_args  # noqa: E402
from dit_lib.trainer import Trainer, TrainConfig, ema_decay_at, gate_magnitudes, make_optimizer, update_ema  # noqa: E402

OUT = ROOT / "dit_lib" / "pretrained" / "conditioning_ablation.json"
THREADS = 1  # results independent of the core count; for a model this small one thread is as fast, and
# on a busy machine much faster (two threads that wait for each other lose their turns)
EVAL_TIMESTEPS = list(range(50, 1000, 100))  # 50, 150, ..., 950: the held-out mse grid
N_SAMPLES, SAMPLE_STEPS, GUIDANCE = 200, 25, 2.0


def gate_probe_steps(steps: int) -> list[int]:
    """When adaLN-Zero's gates are probed: every step up to 20 (they open fast), then every 10."""
    return [s for s in range(steps + 1) if s <= 20 or s % 10 == 0]


def recipe_config(steps: int, seed: int) -> TrainConfig:
    """The shipped digits recipe (batch, lr, ...), with our number of steps and seed."""
    cfg, _ = parse_args(RECIPES["digits"] + ["--out", "unused"])
    return TrainConfig(**{**cfg.__dict__, "steps": steps, "seed": seed, "sample_at": ()})


def build(variant: str, cfg: TrainConfig, images: torch.Tensor, num_classes: int) -> ConditioningDiT:
    """The variant with the preset's width and depth, seeded exactly as `Trainer` seeds its DiT."""
    probe = build_on_meta(cfg.model, input_size=tuple(images.shape[-2:])).config  # depth, width, heads, p
    torch.manual_seed(cfg.seed)
    return ConditioningDiT(
        variant,
        input_size=tuple(images.shape[-2:]),
        patch_size=probe.patch_size,
        in_channels=images.shape[1],
        hidden_size=probe.hidden_size,
        depth=probe.depth,
        num_heads=probe.num_heads,
        mlp_ratio=probe.mlp_ratio,
        class_dropout_prob=cfg.class_dropout_prob,
        num_classes=num_classes,
        learn_sigma=cfg.learn_sigma,
    )


def train(
    variant: str,
    cfg: TrainConfig,
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    model: torch.nn.Module | None = None,
    on_step=None,
) -> dict:
    """`Trainer.train_step` for cfg.steps steps; returns the model, its EMA and the per-step losses.
    `on_step(step, ema)` is called after every step (for evaluations along the way; it must not
    draw from the global random generator, which holds the label-dropout stream)."""
    model = build(variant, cfg, images, num_classes) if model is None else model
    ema = copy.deepcopy(model).requires_grad_(False).eval()
    diffusion = create_diffusion(
        timestep_respacing="", noise_schedule=cfg.noise_schedule, learn_sigma=cfg.learn_sigma, diffusion_steps=cfg.diffusion_steps
    )
    opt = make_optimizer(model, cfg)
    gen = torch.Generator().manual_seed(cfg.seed * 1000)  # data order, t and noise: as Trainer
    torch.manual_seed(cfg.seed * 1000)  # label dropout inside the model
    mse, loss, gate_steps, gates = [], [], [], []
    probe_at = set(gate_probe_steps(cfg.steps)) if variant == "adaln_zero" else set()
    probe_t, probe_y = torch.tensor(Trainer.GATE_TIMESTEPS), torch.arange(num_classes)

    def probe(step):  # Trainer's probe (no random numbers drawn), at a finer resolution
        if step in probe_at:
            gate_steps.append(step)
            gates.append(
                [[[round(v, 6) for v in br] for br in blk] for blk in gate_magnitudes(model, probe_t, probe_y).tolist()]
            )  # (n_t, depth, 2)

    start = time.perf_counter()
    probe(0)
    for step in range(cfg.steps):
        idx = torch.randint(0, len(images), (cfg.batch_size,), generator=gen)
        x0, y = images[idx], labels[idx]  # (B, C, H, W), (B,)
        t = torch.randint(0, diffusion.num_timesteps, (cfg.batch_size,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        model.train()
        terms = diffusion.training_losses(model, x0, t, model_kwargs=dict(y=y), noise=noise)
        total = terms["loss"].mean()
        opt.zero_grad(set_to_none=True)
        total.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        update_ema(ema, model, ema_decay_at(step, cfg.ema_decay))
        mse.append(terms["mse"].mean().item())
        loss.append(total.item())
        probe(step + 1)
        if on_step is not None:
            on_step(step + 1, ema)
    return {
        "model": model,
        "ema": ema,
        "mse": mse,
        "loss": loss,
        "gate_steps": gate_steps,
        "gates": gates,
        "train_seconds": time.perf_counter() - start,
    }


def quality(ema, judge, real_x, real_y, num_classes: int) -> dict:
    from dit_lib.evaluation import evaluate_samples
    from dit_lib.sampling import sample
    from quality import fd_subset

    labels = torch.arange(N_SAMPLES) % num_classes  # 20 per class
    x = sample(ema, labels, cfg_scale=GUIDANCE, method="ddim", num_steps=SAMPLE_STEPS, seed=0, progress=False).clamp(-1, 1)
    sub = fd_subset(labels, real_y)
    q = evaluate_samples(judge, x[sub], labels[sub], real_x, real_y)
    return {"accuracy": judge.accuracy(x, labels), "fd": q.fd, "fd_real_baseline": q.fd_real_baseline, "n_fd": q.n}


def write_config(a) -> dict:
    cfg = recipe_config(a.steps, a.seeds[0])
    return {k: v for k, v in cfg.__dict__.items() if k not in ("sample_at", "seed", "steps")}


def write(a, judge, runs: list, seconds: float) -> None:
    cfg = recipe_config(a.steps, a.seeds[0])
    result = dict(
        description="DiT conditioning ablation at toy scale (benchmarks/conditioning_ablation.py)",
        variants=list(a.variants),
        labels={v: LABELS[v] for v in a.variants},
        seeds=a.seeds,
        steps=a.steps,
        train_config=write_config(a),
        model=cfg.model,
        eval_timesteps=EVAL_TIMESTEPS,
        gate_timesteps=list(Trainer.GATE_TIMESTEPS),
        sampler=dict(method="ddim", steps=SAMPLE_STEPS, cfg_scale=GUIDANCE, n=N_SAMPLES, seed=0),
        judge_test_accuracy=judge.test_accuracy,
        threads=THREADS,
        torch=torch.__version__,
        machine=platform.machine(),
        wall_seconds=round(seconds, 1),
        complete=len(runs) == len(a.seeds) * len(a.variants),
        runs=runs,
    )
    Path(a.out).write_text(json.dumps(result, indent=1) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    p.add_argument("--eval-every", type=int, default=50, help="held-out mse of the EMA weights every N steps")
    p.add_argument("--quality-every", type=int, default=150, help="judge accuracy and FD every N steps")
    p.add_argument("--out", default=str(OUT))
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the runs already in --out (same steps and recipe) and train only the missing ones",
    )
    a = p.parse_args(argv)
    torch.set_num_threads(THREADS)
    from dit_lib.evaluation import get_judge
    from quality import real_pool

    train_set, test_set = (load_dataset("digits", split=s) for s in ("train", "test"))
    judge = get_judge("digits")
    real_x, real_y = real_pool("digits", {})
    runs, done_seconds = [], 0.0
    if a.resume and Path(a.out).is_file():
        old = json.loads(Path(a.out).read_text())
        same = old["steps"] == a.steps and old["train_config"] == json.loads(json.dumps(write_config(a)))
        if not same:
            p.error(f"--resume: {a.out} holds runs of another budget or recipe ({old['steps']} steps); use a new --out")
        runs, done_seconds = [r for r in old["runs"] if r["seed"] in a.seeds and r["variant"] in a.variants], old["wall_seconds"]
        print(f"resuming: {len(runs)} runs already in {a.out}", flush=True)
    wall = time.perf_counter() - done_seconds  # wall_seconds counts every session's running time
    for seed in a.seeds:
        cfg = recipe_config(a.steps, seed)
        for variant in a.variants:
            if any(r["seed"] == seed and r["variant"] == variant for r in runs):
                continue
            curve = {"steps": [], "heldout_mse": [], "quality_steps": [], "accuracy": [], "fd": []}
            eval_time = [0.0]

            def along_the_way(step, ema, curve=curve, eval_time=eval_time):
                t0 = time.perf_counter()
                if step % a.eval_every == 0:
                    curve["steps"].append(step)
                    curve["heldout_mse"].append(
                        round(heldout_eps_mse(ema, test_set.images, test_set.labels, EVAL_TIMESTEPS, seed=0).mean().item(), 6)
                    )
                if step % a.quality_every == 0 and step < a.steps:
                    with torch.random.fork_rng(devices=[]):
                        q = quality(ema, judge, real_x, real_y, train_set.num_classes)
                    curve["quality_steps"].append(step)
                    curve["accuracy"].append(round(q["accuracy"], 4))
                    curve["fd"].append(round(q["fd"], 3))
                eval_time[0] += time.perf_counter() - t0

            r = train(variant, cfg, train_set.images, train_set.labels, train_set.num_classes, on_step=along_the_way)
            t0 = time.perf_counter()
            held = heldout_eps_mse(r["ema"], test_set.images, test_set.labels, EVAL_TIMESTEPS, seed=0)
            q = quality(r["ema"], judge, real_x, real_y, train_set.num_classes)
            curve["quality_steps"].append(a.steps)
            curve["accuracy"].append(round(q["accuracy"], 4))
            curve["fd"].append(round(q["fd"], 3))
            n_params = sum(w.numel() for w in r["model"].parameters())
            runs.append(
                dict(
                    variant=variant,
                    seed=seed,
                    params=n_params,
                    mse=[round(v, 6) for v in r["mse"]],
                    loss=[round(v, 6) for v in r["loss"]],
                    heldout_mse=[round(v, 6) for v in held.tolist()],
                    heldout_mse_mean=round(held.mean().item(), 6),
                    gate_steps=r["gate_steps"],
                    gates=r["gates"],
                    curve=curve,
                    train_seconds=round(r["train_seconds"] - eval_time[0], 2),
                    eval_seconds=round(time.perf_counter() - t0 + eval_time[0], 2),
                    **q,
                )
            )
            write(a, judge, runs, time.perf_counter() - wall)  # after every run: a kill keeps what is done
            print(
                f"seed {seed} {LABELS[variant]:>15}: final mse (mean of last 50) "
                f"{sum(r['mse'][-50:]) / min(50, len(r['mse'])):.4f}  held-out mse {held.mean():.4f}  "
                f"judge acc {q['accuracy']:.1%}  FD {q['fd']:.2f}  train {r['train_seconds'] - eval_time[0]:.0f} s",
                flush=True,
            )
    print(f"wrote {a.out} ({time.perf_counter() - wall:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sample quality of a shipped checkpoint, judged by a classifier trained on real data only.

    python benchmarks/quality.py digits            # ~1,000 samples per setting; prints a table
    python benchmarks/quality.py shapes --guidance 1 1.5 2 4 --interval-guidance 1.5 2 4   # + guidance at t <= 500
    python benchmarks/quality.py run.pt --guidance 1 1.25 1.5 2 --out run_quality.json   # any checkpoint

For each setting (guidance scale 1, 1.5, 2, 4, 6 with DDIM-50; DDIM 10/25/50 and DDPM 250 at
guidance 2) it samples n images (classes balanced, seed 0) and reports:

* judge accuracy: share of samples the judge labels with their conditioning class
  (ceiling: the judge's accuracy on the real test split, printed first);
* FD: Fréchet distance between judge features of samples and of a real reference set A,
  next to the real-vs-real floor FD(B, A) with B disjoint from A and of the same classes.
  FD depends on the sample size, so both use the same n_fd (= 2 x n_fd real images must
  exist per class; for the 1,797 digits that caps n_fd below 1,000);
* seconds per sample on this machine.

Results go to `dit_lib/pretrained/<name>_quality.json` (the book plots them) and stdout.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from dit_lib.data import load_dataset
from dit_lib.evaluation import evaluate_samples, get_judge
from dit_lib.machine import describe, load_average, processor
from dit_lib.checkpoint import load_checkpoint, load_model
from dit_lib.pretrained import checkpoint_path
from dit_lib.sampling import sample

GUIDANCE = [1.0, 1.5, 2.0, 4.0, 6.0]
STEPS = [("ddim", 10), ("ddim", 25), ("ddim", 50), ("ddpm", 250)]


def real_pool(dataset: str, data_kwargs: dict):
    """All real images (train + test) as the FD reference pool."""
    parts = [load_dataset(dataset, split=s, **data_kwargs) for s in ("train", "test")]
    return torch.cat([p.images for p in parts]), torch.cat([p.labels for p in parts])


def fd_subset(labels: torch.Tensor, real_labels: torch.Tensor) -> torch.Tensor:
    """Indices of the first m samples of every class, m as large as two disjoint real sets allow."""
    per_class = min(int((labels == c).sum()) for c in labels.unique())
    m = min(per_class, min(int((real_labels == c).sum()) for c in labels.unique()) // 2)
    return torch.cat([torch.nonzero(labels == c).flatten()[:m] for c in labels.unique()]).sort().values


def resolve(name: str) -> Path:
    """A shipped checkpoint's name ("digits") or a path to any checkpoint file."""
    return Path(name) if name.endswith(".pt") else checkpoint_path(name)


def evaluate(name: str, n: int, settings) -> dict:
    path = resolve(name)
    tc = load_checkpoint(path)["train_config"]
    model = load_model(path)
    judge = get_judge(tc["dataset"], **{k: v for k, v in tc.get("data_kwargs", {}).items() if k == "image_size"})
    real_x, real_y = real_pool(tc["dataset"], tc.get("data_kwargs", {}))
    labels = torch.arange(n) % judge.num_classes  # balanced classes
    sub = fd_subset(labels, real_y)
    rows = []
    for method, steps, scale, *interval in settings:
        interval = interval[0] if interval else None
        start = time.perf_counter()
        x = sample(
            model,
            labels,
            cfg_scale=scale,
            method=method,
            num_steps=steps,
            seed=0,
            progress=False,
            noise_schedule=tc["noise_schedule"],
            diffusion_steps=tc["diffusion_steps"],
            guidance_interval=interval,
        )
        seconds = time.perf_counter() - start
        q = evaluate_samples(judge, x[sub].clamp(-1, 1), labels[sub], real_x, real_y)
        acc = judge.accuracy(x.clamp(-1, 1), labels)
        rows.append(
            dict(
                method=method,
                steps=steps,
                cfg_scale=scale,
                interval=list(interval) if interval else None,
                n=n,
                accuracy=acc,
                n_fd=q.n,
                fd=q.fd,
                fd_real_baseline=q.fd_real_baseline,
                seconds_per_sample=seconds / n,
            )
        )
        r = rows[-1]
        print(
            f"{method:>5} {steps:>4} steps  cfg {guidance_label(r):>4}:  acc {acc:6.1%}   FD {q.fd:7.2f} "
            f"(real {q.fd_real_baseline:.2f}, n_fd {q.n})   {1000 * r['seconds_per_sample']:.2f} ms/sample",
            flush=True,
        )
    return dict(
        checkpoint=name,
        judge_test_accuracy=judge.test_accuracy,
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        rows=rows,
    )


def guidance_label(row: dict) -> str:
    """'2', or '2 at t <= 500' for guidance in a limited interval."""
    lo_hi = row.get("interval")
    return f"{row['cfg_scale']:g}" + (
        f" at {lo_hi[0]} <= t <= {lo_hi[1]}" if lo_hi and lo_hi[0] > 0 else f" at t <= {lo_hi[1]}" if lo_hi else ""
    )


def markdown(result: dict) -> str:
    lines = [
        f"Judge accuracy on the real test split: {result['judge_test_accuracy']:.1%}",
        "",
        "| sampler | steps | guidance | judge acc. | FD | FD real-vs-real | n (FD) | ms / sample |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['method'].upper()} | {r['steps']} | {guidance_label(r)} | {r['accuracy']:.1%} | "
            f"{r['fd']:.2f} | {r['fd_real_baseline']:.2f} | {r['n_fd']} | "
            f"{1000 * r['seconds_per_sample']:.2f} |"
        )
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("name", help="shipped checkpoint name (e.g. digits) or a path to a .pt checkpoint")
    p.add_argument("--n", type=int, default=1000, help="samples per setting")
    p.add_argument("--quick", action="store_true", help="only DDIM-50 at guidance 2")
    p.add_argument(
        "--guidance",
        type=float,
        nargs="+",
        default=GUIDANCE,
        metavar="S",
        help=f"guidance scales of the DDIM-50 sweep (default: {' '.join(f'{g:g}' for g in GUIDANCE)})",
    )
    p.add_argument(
        "--interval-guidance",
        type=float,
        nargs="*",
        default=[],
        metavar="S",
        help="also DDIM-50 at these scales with guidance only at t <= --interval-max (guided_model's interval)",
    )
    p.add_argument("--interval-max", type=int, default=500)
    p.add_argument("--out", default=None, help="JSON path (default: next to the checkpoint)")
    a = p.parse_args()
    settings = [("ddim", 50, s) for s in a.guidance] + [(m, k, 2.0) for m, k in STEPS if (m, k) != ("ddim", 50)]
    settings += [("ddim", 50, s, (0, a.interval_max)) for s in a.interval_guidance]
    if a.quick:
        settings = [("ddim", 50, 2.0)]
    result = evaluate(a.name, a.n, settings)
    result["processor"], result["load_at_end"] = processor(), load_average()
    print(f"{describe()}, {load_average()} at the end")
    print("\n" + markdown(result))
    if not a.quick:
        out = Path(a.out) if a.out else resolve(a.name).with_name(f"{resolve(a.name).stem}_quality.json")
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"\nwrote {out}")


if __name__ == "__main__":
    main()

"""Why classifier-free guidance hurts the shapes model's FD, and what helps (issue 16, chapter 10).

    python benchmarks/guidance_colour.py          # writes dit_lib/pretrained/shapes_guidance.json
    python benchmarks/guidance_colour.py --n 90 --out /tmp/g.json   # a quick try

For the shipped `shapes` checkpoint, DDIM-25 samples (n per setting, classes balanced, seed 0,
the same starting noise for every setting) are scored by the judge (accuracy), the Fréchet
distance of judge features (next to the real-vs-real floor at the same size), and three
measurements that say what guidance does to the pictures:

* `lit`: pixels per image whose brightest channel is above 0 (the shape's area), against the
  real images' mean: guidance that makes shapes grow shows here;
* `outside`: share of values the sampler leaves outside [-1, 1] before the final clamp;
* `off_colour`: mean brightness of the two channels that are not the class's colour, on lit
  pixels (0 = pure colour, as every real shape; colours bleeding show here).

Settings: no fix, the predicted x_0 clipped to [-1, 1] at every step (`clip_denoised`, static
thresholding), guidance only in the low-noise half t <= 500 (`guidance_interval=(0, 500)`), and
both, for guidance 1 to 4; then guidance 4 applied in one quarter of the timesteps at a time,
to find where the harm comes from. One CPU thread, seeded: the same numbers on every run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # quality.py, beside this script

from quality import fd_subset, real_pool  # noqa: E402

from dit_lib.checkpoint import load_checkpoint, load_model  # noqa: E402
from dit_lib.distances import lit_pixels  # noqa: E402
from dit_lib.evaluation import evaluate_samples, get_judge  # noqa: E402
from dit_lib.machine import describe, load_average  # noqa: E402
from dit_lib.pretrained import checkpoint_path  # noqa: E402
from dit_lib.sampling import sample  # noqa: E402

OUT = ROOT / "dit_lib" / "pretrained" / "shapes_guidance.json"
SCALES = (1.0, 1.5, 2.0, 3.0, 4.0)
FIXES = {  # name: sample() keywords
    "none": {},
    "clip x0": {"clip_denoised": True},
    "interval t<=500": {"guidance_interval": (0, 500)},
    "interval + clip": {"guidance_interval": (0, 500), "clip_denoised": True},
}
QUARTERS = ((0, 249), (250, 499), (500, 749), (750, 999))


def off_colour(x: torch.Tensor, labels: torch.Tensor, n_colors: int = 3) -> float:
    """Mean of the two non-class channels on lit pixels, mapped to [0, 1] (0: pure colour)."""
    lit = x.max(dim=1).values > 0  # (B, H, W)
    other = torch.ones_like(x, dtype=torch.bool)
    other[torch.arange(len(x)), labels % n_colors] = False  # (B, 3, H, W): the channels that should be dark
    vals = ((x + 1) / 2)[other & lit[:, None]]
    return vals.mean().item() if vals.numel() else 0.0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default=str(checkpoint_path("shapes")))
    p.add_argument("--n", type=int, default=270, help="samples per setting (a multiple of 9)")
    p.add_argument("--steps", type=int, default=25, help="DDIM steps")
    p.add_argument("--out", default=str(OUT))
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    tc = load_checkpoint(a.checkpoint)["train_config"]
    model = load_model(a.checkpoint)
    judge = get_judge("shapes", image_size=tc["data_kwargs"]["image_size"])
    real_x, real_y = real_pool("shapes", tc["data_kwargs"])
    labels = torch.arange(a.n) % judge.num_classes
    sub = fd_subset(labels, real_y)
    settings = [(g, "none") for g in SCALES] + [(g, "interval t<=500") for g in SCALES[1:]]
    settings += [(g, fix) for fix in ("clip x0", "interval + clip") for g in (2.0, 4.0)]
    settings += [(4.0, f"only t in [{lo}, {hi}]") for lo, hi in QUARTERS]
    rows, wall = [], time.perf_counter()
    for g, fix in settings:
        kw = FIXES[fix] if fix in FIXES else {"guidance_interval": next(q for q in QUARTERS if f"{list(q)}" in fix)}
        x = sample(model, labels, cfg_scale=g, method="ddim", num_steps=a.steps, seed=0, progress=False, **kw)
        outside = (x.abs() > 1 + 1e-6).float().mean().item()
        x = x.clamp(-1, 1)
        q = evaluate_samples(judge, x[sub], labels[sub], real_x, real_y)
        rows.append(
            dict(
                cfg_scale=g,
                fix=fix,
                accuracy=round(judge.accuracy(x, labels), 4),
                fd=round(q.fd, 3),
                fd_real_baseline=round(q.fd_real_baseline, 3),
                n_fd=q.n,
                lit=round(lit_pixels(x).mean().item(), 2),
                outside=round(outside, 4),
                off_colour=round(off_colour(x, labels), 4),
            )
        )
        r = rows[-1]
        print(
            f"g {g:g} {fix:>18}: acc {r['accuracy']:.1%}  FD {r['fd']:.2f} (floor {r['fd_real_baseline']:.2f})  "
            f"lit {r['lit']:.1f}  outside {r['outside']:.3f}  off-colour {r['off_colour']:.3f}",
            flush=True,
        )
    real = real_x[: len(real_x) // 2]
    result = dict(
        description="classifier-free guidance on the shapes model (benchmarks/guidance_colour.py)",
        checkpoint=Path(a.checkpoint).name,
        sampler=dict(method="ddim", steps=a.steps, n=a.n, seed=0),
        judge_test_accuracy=judge.test_accuracy,
        real=dict(lit=round(lit_pixels(real).mean().item(), 2), off_colour=round(off_colour(real, real_y[: len(real)]), 4)),
        threads=1,
        processor=describe(),
        load_at_end=load_average(),
        wall_seconds=round(time.perf_counter() - wall, 1),
        rows=rows,
    )
    Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"real: lit {result['real']['lit']}, off-colour {result['real']['off_colour']}; wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

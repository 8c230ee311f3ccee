"""The search for a `shapes` recipe (issue 16): train candidate recipes, judge their samples.

    python benchmarks/shapes_recipes.py                    # every recipe below not yet in the JSON
    python benchmarks/shapes_recipes.py lr2e-3 --force     # (re)run one recipe
    python benchmarks/shapes_recipes.py --table            # print the table from the JSON

Each recipe is trained exactly as `python -m dit_lib.pretrained.build` trains a shipped file
(`dit_lib.train` with `--ship`, one CPU thread, seeded), so the winner's file is the shipped one
bit for bit. Each is judged the same way, cheaper than `benchmarks/quality.py`: 450 samples
(50 per class, seed 0), DDIM-25 at guidance 1, 1.5, 2 and 3; judge accuracy (also per shape) and
the Fréchet distance of judge features next to the real-vs-real floor at the same size.
Results go to `benchmarks/shapes_recipes.json`, one entry per recipe, with the wall time and
the machine's load average when training ended.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # quality.py, beside this script

from quality import fd_subset, real_pool  # noqa: E402

from dit_lib.checkpoint import load_checkpoint, load_model  # noqa: E402
from dit_lib.evaluation import evaluate_samples, get_judge  # noqa: E402
from dit_lib.machine import describe  # noqa: E402
from dit_lib.sampling import sample  # noqa: E402
from dit_lib.train import main as train_main  # noqa: E402

OUT = ROOT / "benchmarks" / "shapes_recipes.json"
CKPT = Path("/tmp/shapes_recipes")
# candidate files; the winner is copied into dit_lib/pretrained. OLD_FILE: the file shipped before issue 16
# (git show e0cdf2d:dit_lib/pretrained/shapes.pt > /tmp/shapes_recipes/shapes_before_issue16.pt)
OLD_FILE = CKPT / "shapes_before_issue16.pt"
BASE = ["--dataset", "shapes", "--image-size", "12", "--model", "DiT-Tiny/2", "--batch-size", "128"]
# name: (what changes, the arguments of python -m dit_lib.train)
RECIPES = {
    "lr 1e-3 (shipped before)": (
        "the recipe shipped until issue 16 (its file is judged, not retrained)",
        BASE + ["--steps", "3000", "--lr", "1e-3"],
    ),
    "lr 2e-3": ("the digits lesson: twice the learning rate", BASE + ["--steps", "3000", "--lr", "2e-3"]),
    "lr 2e-3, 6000 steps": ("twice the steps", BASE + ["--steps", "6000", "--lr", "2e-3"]),
    "lr 3e-3": ("three times the learning rate", BASE + ["--steps", "3000", "--lr", "3e-3"]),
}
# (guidance, interval): plain guidance, and guidance only at t <= 500 (benchmarks/guidance_colour.py)
SETTINGS = ((1.0, None), (1.5, None), (2.0, None), (3.0, None), (2.0, (0, 500)), (4.0, (0, 500)))
SAMPLER, N = ("ddim", 25), 270


def judge_recipe(path: Path) -> dict:
    tc = load_checkpoint(path)["train_config"]
    model = load_model(path)
    judge = get_judge("shapes", image_size=tc["data_kwargs"]["image_size"])
    real_x, real_y = real_pool("shapes", tc["data_kwargs"])
    labels = torch.arange(N) % judge.num_classes
    sub = fd_subset(labels, real_y)
    rows = []
    for g, interval in SETTINGS:
        x = sample(
            model,
            labels,
            cfg_scale=g,
            method=SAMPLER[0],
            num_steps=SAMPLER[1],
            seed=0,
            progress=False,
            guidance_interval=interval,
        )
        outside = (x.abs() > 1).float().mean().item()  # share of values the sampler left outside [-1, 1]
        x = x.clamp(-1, 1)
        pred = judge.predict(x)
        q = evaluate_samples(judge, x[sub], labels[sub], real_x, real_y)
        per_shape = {
            name: round((pred[labels // 3 == i] == labels[labels // 3 == i]).float().mean().item(), 4)
            for i, name in enumerate(("square", "circle", "triangle"))
        }
        rows.append(
            dict(
                cfg_scale=g,
                interval=interval,
                accuracy=round((pred == labels).float().mean().item(), 4),
                per_shape=per_shape,
                fd=round(q.fd, 3),
                fd_real_baseline=round(q.fd_real_baseline, 3),
                n_fd=q.n,
                outside=round(outside, 4),
            )
        )
        print(
            f"  guidance {g:g}: acc {rows[-1]['accuracy']:.1%} {per_shape}  FD {q.fd:.2f} (floor {q.fd_real_baseline:.2f})",
            flush=True,
        )
    return dict(rows=rows, judge_test_accuracy=judge.test_accuracy)


def table(results: dict) -> str:
    lines = [
        "| recipe | steps | train s (load) | acc. g1 | g1.5 | g2 | g3 | g2, t<=500 | g4, t<=500 "
        "| best FD (g) | FD floor | squares, g1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        acc = {(row["cfg_scale"], row["interval"] and tuple(row["interval"])): row["accuracy"] for row in r["rows"]}
        best = min(r["rows"], key=lambda row: row["fd"])
        plain = next(row for row in r["rows"] if row["cfg_scale"] == 1)
        lines.append(
            f"| {name} | {r['steps']} | {r['wall_seconds']:.0f} ({r['load_at_end'].split(' (')[0]}) | "
            + " | ".join(f"{acc[g, i]:.1%}" for g, i in SETTINGS)
            + f" | {best['fd']:.2f} ({best['cfg_scale']:g}{', t<=500' if best['interval'] else ''})"
            + f" | {best['fd_real_baseline']:.2f} | {plain['per_shape']['square']:.0%} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", help=f"recipes to run (default: those not in the JSON): {list(RECIPES)}")
    p.add_argument("--force", action="store_true", help="run the named recipes even if the JSON has them")
    p.add_argument("--table", action="store_true", help="only print the table")
    p.add_argument("--reuse", action="store_true", help="judge a recipe's file from an earlier run instead of training")
    a = p.parse_args(argv)
    results = json.loads(OUT.read_text()) if OUT.is_file() else {}
    if a.table:
        print(table(results))
        return 0
    unknown = set(a.names) - set(RECIPES)
    if unknown:
        p.error(f"unknown recipes {sorted(unknown)}; known: {list(RECIPES)}")
    torch.set_num_threads(1)  # as dit_lib.pretrained.THREADS["shapes"]: the shipped file is bit-reproducible
    CKPT.mkdir(exist_ok=True)
    for name in a.names or [n for n in RECIPES if n not in results]:
        if name in results and not a.force:
            continue
        what, args = RECIPES[name]
        path = CKPT / (name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "") + ".pt")
        print(f"{name}: {' '.join(args)}", flush=True)
        if name == "lr 1e-3 (shipped before)":  # its file (trained on one thread at load 4 to 11, its card says)
            path = OLD_FILE
        elif not (a.reuse and path.is_file()):
            train_main(args + ["--ship", "--no-progress", "--out", str(path)])
        record = load_checkpoint(path)["record"]
        wall, load = record["wall_time"], record.get("load_at_end", "load 4 to 11 (model card)")
        entry = dict(
            what=what,
            args=args,
            steps=int(args[args.index("--steps") + 1]),
            wall_seconds=round(wall, 1),
            load_at_end=load,
            processor=describe(),
            **judge_recipe(path),
        )
        results = json.loads(OUT.read_text()) if OUT.is_file() else {}  # another run may have written meanwhile
        results[name] = entry
        OUT.write_text(json.dumps(results, indent=1) + "\n")
    print(table(json.loads(OUT.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

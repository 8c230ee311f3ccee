"""The trainer of a DiT: AdamW, EMA, gradient clipping, label dropout, the hybrid loss; seeded and resumable.

    from dit_lib.trainer import TrainConfig, Trainer, load_training_set
    cfg = TrainConfig(dataset="digits", steps=2000)
    ds, info = load_training_set(cfg)
    trainer = Trainer(cfg, ds.images, ds.labels, ds.num_classes, data_info=info)
    record = trainer.run(cfg.steps)             # loss curve, adaLN gates, sample grids
    trainer.save("digits.pt")                   # resumable: Trainer(...).load("digits.pt")

One training step is the DiT paper's recipe (Sec. 4; official `train.py`):

    t ~ U{0..T-1}, eps ~ N(0, I), x_t = q_sample(x_0, t, eps)          (DDPM eq. 4)
    loss = ||eps - eps_theta(x_t, t, y)||^2 + L_vlb                     (IDDPM hybrid loss)
    AdamW step, then ema <- decay * ema + (1 - decay) * weights      (with a warm-up of the decay)

Every random draw comes from seeded generators whose states go into the checkpoint, so a run
that is saved and resumed gives the same weights as one that never stopped. Along the way the
trainer records what the book plots: the loss curve, the adaLN-Zero gate magnitudes of every
block, and small grids of samples. The command `python -m dit_lib.train` (dit_lib/train.py) is
this trainer behind a command line.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from ._checks import check_positive_int
from .checkpoint import build_model, load_checkpoint, save_checkpoint
from .diffusion import create_diffusion
from .image_files import describe_tensors
from .machine import load_average, processor
from .models import DiT, DiT_models

OWN_KINDS = ("npz", "folder", "latents")


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = "digits"        # a built-in dataset, or "npz" / "folder" / "latents" with `data` (dit_lib.image_files)
    model: str = "DiT-Tiny/2"
    steps: int = 2000
    batch_size: int = 128          # global batch (split across ranks under torchrun)
    lr: float = 1e-3               # official: 1e-4 at batch 256 for the big models; tiny ones like more
    weight_decay: float = 0.0      # official: 0
    ema_decay: float = 0.999       # official: 0.9999 over 400K steps; ours runs ~1000x shorter
    grad_clip: float = 1.0         # max global grad norm (official: none); 0 disables
    class_dropout_prob: float = 0.1
    learn_sigma: bool = True
    noise_schedule: str = "linear"
    diffusion_steps: int = 1000
    seed: int = 0
    log_every: int = 10            # loss curve resolution (steps)
    gate_every: int = 50           # adaLN gate probe every N steps
    sample_at: tuple[int, ...] = field(default_factory=tuple)   # steps at which to draw a sample grid
    data_kwargs: dict = field(default_factory=dict)              # passed to dit_lib.data.load_dataset
    data: str | None = None        # path of your own .npz file or folder of class folders

    def __post_init__(self):
        if (self.data is None) == (self.dataset in OWN_KINDS):
            raise ValueError(f"dataset={self.dataset!r} with data={self.data!r}: pass a built-in dataset name "
                             f"without data, or dataset='npz' / 'folder' / 'latents' with data=<path> "
                             f"(python -m dit_lib.train --data PATH, or --latents PATH).")
        if self.model not in DiT_models:
            raise ValueError(f"model must be one of {sorted(DiT_models)}, got {self.model!r}.")
        for name in ("steps", "batch_size", "log_every", "gate_every"):
            check_positive_int(name, getattr(self, name))
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}.")
        object.__setattr__(self, "sample_at", tuple(int(s) for s in self.sample_at))


# ----------------------------------------------------------------------------- probes


@torch.no_grad()
def gate_magnitudes(model: DiT, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean |gate| of every block's attention and MLP branch, per probe timestep: (len(t), depth, 2).

    Each timestep in `t` is paired with every label in `y`; the mean runs over labels and the D
    gate entries. At initialisation all gates are exactly 0 (the "Zero" of adaLN-Zero).
    """
    out = []
    for ti in t.tolist():
        tt = torch.full((len(y),), ti, dtype=torch.long)
        c = model.t_embedder(tt) + model.y_embedder(y, train=False)                 # (B, D)
        per_block = []
        for block in model.blocks:
            _, _, gate_msa, _, _, gate_mlp = block.modulation(c)                    # each (B, D)
            per_block.append(torch.stack([gate_msa.abs().mean(), gate_mlp.abs().mean()]))
        out.append(torch.stack(per_block))                                          # (depth, 2)
    return torch.stack(out)                                                         # (n_t, depth, 2)


def ema_decay_at(step: int, decay: float) -> float:
    """EMA decay with warm-up: min(decay, (1 + n) / (10 + n)) after n updates.

    The official run uses a fixed 0.9999 over 400K steps, where the initial weights' share
    0.9999^400000 is nil. Over a CPU run of a few thousand steps a fixed 0.999 would leave
    0.999^n of the *random initial* weights in the average (30% after 1,200 steps, 13.5% after
    2,000) and ruin the samples; the warm-up averages over the whole run early on and reaches
    `decay` later. The formula is diffusers' EMAModel's, counted from our first update (decay 0.1,
    a tenth of the initial weights kept); diffusers gives its first update decay 0 instead.
    """
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: DiT, model: DiT, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, for every parameter (as the official train.py).

    The official loop `p_ema.mul_(decay).add_(p, alpha=1 - decay)`, done for all parameters at
    once by the `_foreach` kernels: the same two operations per number, so the same bits
    (tests/test_train.py), in fewer kernel launches (benchmarks/training_speed.py)."""
    ema_params = list(ema.parameters())
    torch._foreach_mul_(ema_params, decay)
    torch._foreach_add_(ema_params, [p.detach() for p in model.parameters()], alpha=1 - decay)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW as the official train.py (lr, weight decay), with the multi-tensor (`foreach`) update:
    on the CPU torch would pick the per-parameter loop, which gives the same bits more slowly
    (tests/test_train.py, benchmarks/training_speed.py)."""
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)


# ----------------------------------------------------------------------------- trainer


class Trainer:
    """Holds model, EMA, optimizer, diffusion, data and generators; `run(n)` trains n more steps."""

    GATE_TIMESTEPS = (25, 250, 500, 750, 975)

    def __init__(self, cfg: TrainConfig, images: torch.Tensor, labels: torch.Tensor, num_classes: int,
                 rank: int = 0, world_size: int = 1, data_info: dict | None = None):
        self.cfg, self.rank, self.world_size = cfg, rank, world_size
        if cfg.batch_size % world_size:
            raise ValueError(f"batch_size {cfg.batch_size} is not divisible by the {world_size} ranks.")
        self.images, self.labels, self.num_classes = images, labels, num_classes
        torch.manual_seed(cfg.seed)                               # same initial weights on every rank
        self.model = DiT_models[cfg.model](input_size=tuple(images.shape[-2:]), in_channels=images.shape[1],
                                           num_classes=num_classes, class_dropout_prob=cfg.class_dropout_prob,
                                           learn_sigma=cfg.learn_sigma)
        self.ema = copy.deepcopy(self.model).requires_grad_(False).eval()
        self.net = DDP(self.model) if world_size > 1 else self.model
        self.diffusion = create_diffusion(timestep_respacing="", noise_schedule=cfg.noise_schedule,
                                          learn_sigma=cfg.learn_sigma, diffusion_steps=cfg.diffusion_steps)
        self.opt = make_optimizer(self.model, cfg)
        self.gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank)   # data order, t and noise
        torch.manual_seed(cfg.seed * 1000 + rank)                 # label dropout inside the model
        self.step = 0
        self.record = {"loss": [], "loss_steps": [], "gate_steps": [], "gates": [],
                       "gate_timesteps": list(self.GATE_TIMESTEPS), "samples": {}, "wall_time": 0.0,
                       "processor": processor(),        # bit-for-bit resumes/retrains need the same kind
                       "dataset": data_info or describe_tensors(images, labels, num_classes)}
        self.probe_y = torch.arange(num_classes)
        self._probe_gates()

    # one step of the recipe in the module docstring
    def train_step(self) -> float:
        B = self.cfg.batch_size // self.world_size
        idx = torch.randint(0, len(self.images), (B,), generator=self.gen)
        x0, y = self.images[idx], self.labels[idx]                                  # (B, C, H, W), (B,)
        t = torch.randint(0, self.diffusion.num_timesteps, (B,), generator=self.gen)
        noise = torch.randn(x0.shape, generator=self.gen)
        self.model.train()
        loss = self.diffusion.training_losses(self.net, x0, t, model_kwargs=dict(y=y), noise=noise)["loss"].mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.opt.step()
        update_ema(self.ema, self.model, ema_decay_at(self.step, self.cfg.ema_decay))
        self.step += 1
        return loss.item()

    def _probe_gates(self) -> None:
        self.record["gate_steps"].append(self.step)
        g = gate_magnitudes(self.model, torch.tensor(self.GATE_TIMESTEPS), self.probe_y)
        self.record["gates"].append(g.tolist())

    def _sample_grid(self) -> None:
        from .sampling import sample
        y = torch.arange(self.num_classes).repeat_interleave(max(1, 16 // self.num_classes))[:16]
        imgs = sample(self.ema, y, cfg_scale=2.0, method="ddim", num_steps=25, seed=0, progress=False,
                      noise_schedule=self.cfg.noise_schedule, diffusion_steps=self.cfg.diffusion_steps)
        self.record["samples"][str(self.step)] = ((imgs.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)

    def run(self, steps: int, progress: bool = True) -> dict:
        """Train `steps` more steps; returns the training record."""
        from tqdm.auto import tqdm

        bar = tqdm(range(steps), desc="train", disable=not progress or self.rank != 0, leave=False)
        start, running = time.perf_counter(), self.record.get("running_loss")
        for _ in bar:
            loss = self.train_step()
            running = loss if running is None else 0.9 * running + 0.1 * loss   # smoothed for the curve
            self.record["running_loss"] = running
            if self.step % self.cfg.log_every == 0:
                self.record["loss_steps"].append(self.step)
                self.record["loss"].append(running)
                bar.set_postfix(loss=f"{running:.4f}")
            if self.step % self.cfg.gate_every == 0:
                self._probe_gates()
            if self.step in self.cfg.sample_at and self.rank == 0:
                self._sample_grid()
        self.record["wall_time"] += time.perf_counter() - start
        self.record["load_at_end"] = load_average()      # what else the machine did while wall_time ran
        return self.record

    # ------------------------------------------------------------------ save / resume

    def save(self, path, weights: str = "both"):
        rng = {"gen": self.gen.get_state(), "torch": torch.get_rng_state()}
        return save_checkpoint(path, self.model, ema=self.ema, train_config=asdict(self.cfg), record=self.record,
                               optimizer=self.opt if weights == "both" else None,
                               rng=rng if weights == "both" else None, step=self.step, weights=weights)

    def load(self, path) -> "Trainer":
        """Restore model, EMA, optimizer, generators, step and record from `save(path)`."""
        ckpt = load_checkpoint(path)
        if ckpt.get("optimizer") is None or ckpt.get("rng") is None or ckpt.get("ema") is None:
            raise ValueError(f"checkpoint {path} has no optimizer/RNG/EMA state (saved with weights='ema'?); "
                             f"it can be sampled from but not resumed.")
        self.model.load_state_dict(build_model(ckpt, path, "model").state_dict())
        self.ema.load_state_dict(build_model(ckpt, path, "ema").state_dict())
        self.opt.load_state_dict(ckpt["optimizer"])
        self.gen.set_state(ckpt["rng"]["gen"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        old, new = ckpt["record"].get("dataset") or {}, self.record["dataset"]
        if old.get("sha256") not in (None, new["sha256"]):
            raise ValueError(f"checkpoint {path} was trained on other data ({old.get('kind')} {old.get('path') or ''}, "
                             f"sha256 {old['sha256'][:12]}) than {new['kind']} {new['path'] or ''} (sha256 "
                             f"{new['sha256'][:12]}); resume with the same data or start a new run.")
        self.step, self.record = ckpt["step"], ckpt["record"]
        return self


def load_training_set(cfg: TrainConfig):
    """(ImageDataset, description for the checkpoint) of `cfg.data`, or of the train split of `cfg.dataset`."""
    from .image_files import load_training_set as load

    return load(cfg.dataset, cfg.data, cfg.data_kwargs)    # the data seed of a built-in set is 0 unless given

"""The trainer: falling loss, gates that open, seeded determinism, save/resume = one straight run, DDP."""

import os
import subprocess
import sys

import pytest
import torch

from dit_lib.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from dit_lib.models import DiT
from dit_lib.train import parse_args
from dit_lib.trainer import Trainer, TrainConfig, gate_magnitudes


def toy_data(n=256, seed=0):
    """Two classes with opposite constant images: easy to learn, quick to test."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    images = (labels.float() * 2 - 1).view(n, 1, 1, 1).expand(n, 1, 4, 4).clone()
    return images, labels


def tiny_cfg(**kw):
    base = dict(model="DiT-Micro/2", steps=20, batch_size=16, lr=3e-3, log_every=5, gate_every=10)
    base.update(kw)
    return TrainConfig(**base)


def test_gates_start_at_zero_and_open_during_training():
    images, labels = toy_data()
    tr = Trainer(tiny_cfg(), images, labels, num_classes=2)
    first = torch.tensor(tr.record["gates"][0])  # (n_t, depth, 2)
    assert first.shape == (5, 2, 2) and torch.count_nonzero(first) == 0
    tr.run(20, progress=False)
    last = torch.tensor(tr.record["gates"][-1])
    assert (last > 0).all()
    assert tr.record["gate_steps"] == [0, 10, 20] and tr.record["loss_steps"] == [5, 10, 15, 20]


def test_gate_magnitudes_by_hand():
    torch.manual_seed(0)
    model = DiT(input_size=4, patch_size=2, in_channels=1, hidden_size=32, depth=2, num_heads=4, num_classes=3)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.1) if p.requires_grad else None
    t, y = torch.tensor([10, 500]), torch.arange(3)
    g = gate_magnitudes(model, t, y)
    c = model.t_embedder(torch.full((3,), 500)) + model.y_embedder(y, train=False)
    mods = model.blocks[1].adaLN_modulation(c).chunk(6, dim=1)
    torch.testing.assert_close(g[1, 1, 0], mods[2].abs().mean())  # gate_msa is the 3rd vector
    torch.testing.assert_close(g[1, 1, 1], mods[5].abs().mean())  # gate_mlp the 6th


def test_seeded_training_is_deterministic():
    images, labels = toy_data()
    a = Trainer(tiny_cfg(), images, labels, 2)
    a.run(10, progress=False)
    b = Trainer(tiny_cfg(), images, labels, 2)
    b.run(10, progress=False)
    for (k, v), w in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(v, w), k
    assert a.record["loss"] == b.record["loss"]


def test_resume_equals_training_straight(tmp_path):
    images, labels = toy_data()
    straight = Trainer(tiny_cfg(steps=20), images, labels, 2)
    straight.run(20, progress=False)

    first = Trainer(tiny_cfg(steps=20), images, labels, 2)
    first.run(10, progress=False)
    first.save(tmp_path / "half.pt")
    resumed = Trainer(tiny_cfg(steps=20), images, labels, 2).load(tmp_path / "half.pt")
    assert resumed.step == 10
    resumed.run(10, progress=False)

    for name, ref in straight.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], ref), name
    for name, ref in straight.ema.state_dict().items():
        assert torch.equal(resumed.ema.state_dict()[name], ref), name
    assert resumed.record["loss"] == straight.record["loss"]


def test_shipped_style_checkpoint_loads_ema_and_refuses_resume(tmp_path):
    images, labels = toy_data()
    tr = Trainer(tiny_cfg(), images, labels, 2)
    tr.run(5, progress=False)
    path = tr.save(tmp_path / "ship.pt", weights="ema")
    model = load_model(path)
    for name, ref in tr.ema.state_dict().items():
        assert torch.equal(model.state_dict()[name], ref)
    assert not model.training
    ckpt = load_checkpoint(path)
    assert ckpt["train_config"]["model"] == "DiT-Micro/2" and ckpt["record"]["loss_steps"] == [5]
    with pytest.raises(ValueError, match="can be sampled from but not resumed"):
        Trainer(tiny_cfg(), images, labels, 2).load(path)


def test_bad_checkpoints_name_the_file(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(CheckpointError, match=f"checkpoint {missing} does not exist"):
        load_model(missing)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a zip file at all")
    with pytest.raises(CheckpointError, match=f"checkpoint {corrupt} could not be read.*corrupt"):
        load_model(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(1)}, foreign)
    with pytest.raises(CheckpointError, match=f"checkpoint {foreign} is not a dit_lib checkpoint"):
        load_model(foreign)
    torch.manual_seed(0)
    model = DiT(input_size=4, patch_size=2, in_channels=1, hidden_size=32, depth=2, num_heads=4, num_classes=3)
    good = save_checkpoint(tmp_path / "good.pt", model)
    ckpt = torch.load(good, weights_only=True)
    ckpt["model_config"]["depth"] = 3  # config says 3 blocks, weights have 2
    torch.save(ckpt, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match=r"mismatch.pt: weights do not match its model_config \(missing \['blocks.2"):
        load_model(tmp_path / "mismatch.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="truncated.pt could not be read"):
        load_model(truncated)


def test_train_config_validates():
    with pytest.raises(ValueError, match=r"model must be one of .* got 'DiT-Huge/2'"):
        TrainConfig(model="DiT-Huge/2")
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="batch_size 15 is not divisible by the 2 ranks"):
        Trainer(tiny_cfg(batch_size=15), *toy_data(), 2, rank=0, world_size=2)


def test_command_line_help_and_parsing():
    out = subprocess.run([sys.executable, "-m", "dit_lib.train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--resume" in out.stdout and "--model" in out.stdout
    cfg, args = parse_args(["--out", "x.pt", "--steps", "7", "--lr", "0.01", "--sample-at", "3", "7"])
    assert (cfg.steps, cfg.lr, cfg.sample_at, args.out) == (7, 0.01, (3, 7), "x.pt")


@pytest.mark.slow
def test_torchrun_two_cpu_ranks_end_with_identical_weights(tmp_path):
    """DistributedDataParallel over gloo: each rank sees other data, all-reduced gradients keep them equal."""
    env = {**os.environ, "DIT_RANK_STATE_DIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "dit_lib.train",
        "--dataset",
        "digits",
        "--model",
        "DiT-Micro/2",
        "--steps",
        "4",
        "--batch-size",
        "16",
        "--log-every",
        "2",
        "--gate-every",
        "2",
        "--no-progress",
        "--out",
        str(tmp_path / "ddp.pt"),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    torch.manual_seed(0)
    init = DiT(input_size=8, patch_size=2, in_channels=1, hidden_size=64, depth=2, num_heads=4, num_classes=10)
    moved = False
    for name, w in r0.items():
        assert torch.equal(w, r1[name]), name
        moved |= not torch.equal(w, init.state_dict()[name])
    assert moved, "the weights never changed: no training happened"
    assert load_checkpoint(tmp_path / "ddp.pt")["step"] == 4


def test_ema_warmup_forgets_the_initial_weights():
    from dit_lib.trainer import ema_decay_at

    assert ema_decay_at(0, 0.999) == 0.1 and ema_decay_at(10**6, 0.999) == 0.999
    # share of the initial weights left in the average after n updates: prod of the decays
    share = 1.0
    for n in range(2000):
        share *= ema_decay_at(n, 0.999)
    assert share < 1e-3 < 0.999**2000  # a fixed decay would keep 13.5 % of the random init


def test_foreach_optimizer_and_ema_give_the_official_loops_bits():
    """The trainer's multi-tensor AdamW and EMA (faster: benchmarks/training_speed.py) against the
    official per-parameter loops: AdamW with torch's CPU default and `p_ema.mul_(d).add_(p, alpha=1 - d)`."""
    from dit_lib.trainer import ema_decay_at

    images, labels = toy_data()
    cfg = tiny_cfg(steps=15)
    fast = Trainer(cfg, images, labels, 2)  # each run in turn: the label dropout draws from the global RNG
    assert fast.opt.defaults["foreach"] is True
    for _ in range(cfg.steps):
        fast.train_step()
    ref = Trainer(cfg, images, labels, 2)
    ref.opt = torch.optim.AdamW(ref.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)  # foreach=None
    assert ref.opt.defaults["foreach"] is None  # on the CPU: the per-parameter loop

    def official_step(tr):  # Trainer.train_step with the official EMA loop
        B = tr.cfg.batch_size
        idx = torch.randint(0, len(tr.images), (B,), generator=tr.gen)
        t = torch.randint(0, tr.diffusion.num_timesteps, (B,), generator=tr.gen)
        noise = torch.randn(tr.images[idx].shape, generator=tr.gen)
        tr.model.train()
        loss = tr.diffusion.training_losses(tr.model, tr.images[idx], t, model_kwargs=dict(y=tr.labels[idx]), noise=noise)
        tr.opt.zero_grad(set_to_none=True)
        loss["loss"].mean().backward()
        torch.nn.utils.clip_grad_norm_(tr.model.parameters(), tr.cfg.grad_clip)
        tr.opt.step()
        d = ema_decay_at(tr.step, tr.cfg.ema_decay)
        with torch.no_grad():
            for p_ema, p in zip(tr.ema.parameters(), tr.model.parameters()):
                p_ema.mul_(d).add_(p.detach(), alpha=1 - d)
        tr.step += 1

    for _ in range(cfg.steps):
        official_step(ref)
    for name, w in ref.ema.state_dict().items():
        assert torch.equal(fast.ema.state_dict()[name], w), name
    for name, w in ref.model.state_dict().items():
        assert torch.equal(fast.model.state_dict()[name], w), name
    assert not torch.equal(
        ref.ema.state_dict()["final_layer.linear.weight"],
        Trainer(cfg, images, labels, 2).ema.state_dict()["final_layer.linear.weight"],
    )

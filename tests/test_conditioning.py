"""The four conditioning variants of the DiT paper (dit_lib.conditioning) and the ablation's training loop.

adaLN-Zero must be `DiT` itself (same weights for the same seed, same outputs); every variant starts
at output 0; a fresh adaLN-Zero block is the identity and a fresh adaLN block is not; the compute of
each variant is checked against closed forms and against the paper's "Gflops" statements; the gate
hook changes exactly the gates; the benchmark's loop reproduces `Trainer` bit for bit.
"""

import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from dit_lib.blocks import DiTBlock, modulate
from dit_lib.conditioning import VARIANTS, AdaLNBlock, ConditioningDiT, CrossAttention, heldout_eps_mse, scaled_gates
from dit_lib.flops import count_macs, measured_macs
from dit_lib.models import DiT

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(input_size=8, patch_size=2, in_channels=3, hidden_size=32, depth=3, num_heads=4, num_classes=5)


def make(variant, seed=0, **kw):
    torch.manual_seed(seed)
    return ConditioningDiT(variant, **{**SMALL, **kw})


def inputs(B=4, C=3, H=8, W=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(B, C, H, W, generator=g),
        torch.randint(0, 1000, (B,), generator=g),
        torch.randint(0, 5, (B,), generator=g),
    )


def perturb(model, seed=2, std=0.05):
    """Move every trainable weight off its initial value (a stand-in for training)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for w in model.parameters():
            if w.requires_grad:
                w.add_(std * torch.randn(w.shape, generator=g))
    return model


# ----------------------------------------------------------------------------- adaLN-Zero is DiT


@pytest.mark.parametrize("input_size", [8, (8, 12)])
def test_adaln_zero_is_dit_number_for_number(input_size):
    torch.manual_seed(0)
    ref = DiT(**{**SMALL, "input_size": input_size})
    ours = make("adaln_zero", input_size=input_size)
    a, b = ref.state_dict(), ours.state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    perturb(ref), perturb(ours)
    x, t, y = inputs(W=input_size if isinstance(input_size, int) else input_size[1])
    ref.eval(), ours.eval()
    with torch.no_grad():
        assert torch.equal(ref(x, t, y), ours(x, t, y))


def test_variants_have_the_expected_parts():
    names = {v: set(dict(make(v).named_parameters())) for v in VARIANTS}
    assert not any("adaLN" in n for n in names["in_context"] | names["cross_attention"])
    assert any("cross_attn" in n for n in names["cross_attention"])
    assert not any("cross_attn" in n for n in names["adaln"] | names["adaln_zero"])
    D = SMALL["hidden_size"]
    assert make("adaln").blocks[0].adaLN_modulation[-1].out_features == 4 * D  # shift, scale x 2; no gates
    assert make("adaln_zero").blocks[0].adaLN_modulation[-1].out_features == 6 * D


@pytest.mark.parametrize("variant", VARIANTS)
def test_fresh_model_outputs_exactly_zero_and_every_input_matters_later(variant):
    model = make(variant).eval()
    x, t, y = inputs()
    with torch.no_grad():
        out = model(x, t, y)
    assert out.shape == (4, 6, 8, 8)
    assert torch.equal(out, torch.zeros_like(out))
    perturb(model)
    with torch.no_grad():
        base = model(x, t, y)
        assert not torch.equal(base, model(x, (t + 300) % 1000, y)), "t has no effect"
        assert not torch.equal(base, model(x, t, (y + 1) % 5)), "y has no effect"
        assert not torch.equal(base, model(x.flip(-1), t, y)), "x has no effect"


def test_in_context_blocks_see_two_more_tokens():
    model = make("in_context")
    seen = []
    model.blocks[0].register_forward_hook(lambda m, a, out: seen.append(out.shape))
    x, t, y = inputs()
    model(x, t, y)
    L = (8 // 2) ** 2
    assert seen == [torch.Size([4, L + 2, SMALL["hidden_size"]])]


def test_cross_attention_by_hand_and_against_sdpa():
    torch.manual_seed(0)
    xa = CrossAttention(32, 4)
    x, ctx = torch.randn(3, 16, 32), torch.randn(3, 2, 32)  # (B, L, D), (B, M, D)
    q = xa.q(x).reshape(3, 16, 4, 8).transpose(1, 2)
    k, v = xa.kv(ctx).reshape(3, 2, 2, 4, 8).permute(2, 0, 3, 1, 4).unbind(0)
    ref = xa.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(3, 16, 32))
    torch.testing.assert_close(xa(x, ctx), ref)


def test_unknown_variant_is_a_clear_error():
    with pytest.raises(ValueError, match="variant must be one of"):
        ConditioningDiT("film", **SMALL)


# ----------------------------------------------------------------------------- identity at initialisation


def test_fresh_adaln_zero_block_is_the_identity_but_fresh_adaln_block_is_not():
    x, c = torch.randn(4, 16, 32), torch.randn(4, 32)
    block = make("adaln_zero").blocks[1]
    assert isinstance(block, DiTBlock)
    assert torch.equal(block(x, c), x)
    other = make("adaln").blocks[1]
    assert isinstance(other, AdaLNBlock)
    assert (other(x, c) - x).abs().max() > 0.1


def test_adaln_block_by_hand():
    block = perturb(make("adaln")).blocks[0]
    x, c = torch.randn(2, 16, 32), torch.randn(2, 32)
    s1, g1, s2, g2 = (block.adaLN_modulation[1](F.silu(c))).chunk(4, dim=1)
    h = x + block.attn(modulate(F.layer_norm(x, (32,), eps=1e-6), s1, g1))
    h = h + block.mlp(modulate(F.layer_norm(h, (32,), eps=1e-6), s2, g2))
    torch.testing.assert_close(block(x, c), h)


# ----------------------------------------------------------------------------- compute


def xl2(variant):
    with torch.device("meta"):
        return ConditioningDiT(variant, input_size=32, patch_size=2, in_channels=4, hidden_size=1152, depth=28, num_heads=16)


def test_macs_match_closed_forms_and_the_papers_statements():
    macs = {v: measured_macs(xl2(v)) for v in VARIANTS}
    dit = count_macs(xl2("adaln_zero").config)
    N, D, L, F_ = 28, 1152, 256, 4 * 1152
    assert macs["adaln_zero"] == dit.total
    assert macs["adaln"] == dit.total - N * D * 2 * D  # 4D outputs, not 6D
    cross = N * (L * D * D + 2 * 2 * D * D + 2 * L * 2 * D + L * D * D)  # q, kv, q k^T, A v, proj
    assert macs["cross_attention"] == dit.total - dit.adaln + cross
    Lc = L + 2  # two more tokens
    in_context = dit.patch_embed + dit.conditioning + N * (4 * Lc * D * D + 2 * Lc * Lc * D + 2 * Lc * D * F_) + dit.final_linear
    assert macs["in_context"] == in_context
    overhead = macs["cross_attention"] / macs["adaln_zero"] - 1
    assert 0.14 < overhead < 0.17  # the paper: "roughly a 15% overhead"
    assert macs["adaln"] == min(macs.values())  # "adaLN adds the least Gflops"
    assert macs["adaln_zero"] / macs["adaln"] - 1 < 1e-3  # "adds negligible Gflops"


# ----------------------------------------------------------------------------- gates of a trained model


def test_scaled_gates():
    model = perturb(make("adaln_zero")).eval()
    x, t, y = inputs()
    with torch.no_grad():
        base = model(x, t, y)
        with scaled_gates(model, {0: 1.0, 2: (1.0, 1.0)}):
            assert torch.equal(model(x, t, y), base)  # factor 1: bit for bit
        with scaled_gates(model, {i: 0.0 for i in range(3)}):
            closed = model(x, t, y)
        assert torch.equal(model(x, t, y), base)  # hooks gone afterwards
        # every gate 0: the blocks are skipped, the final layer reads the embedded patches
        h = model.x_embedder(x) + model.pos_embed
        c = model.t_embedder(t) + model.y_embedder(y, False)
        torch.testing.assert_close(closed, model.unpatchify(model.final_layer(h, c)))
        # gate_msa only: chunk 2 of 6 is scaled, nothing else
        block = model.blocks[1]
        c6 = block.adaLN_modulation(c)
        with scaled_gates(model, {1: (0.5, 1.0)}):
            c6_half = block.adaLN_modulation(c)
        D = SMALL["hidden_size"]
        torch.testing.assert_close(c6_half[:, 2 * D : 3 * D], 0.5 * c6[:, 2 * D : 3 * D], rtol=0, atol=0)
        assert torch.equal(c6_half[:, : 2 * D], c6[:, : 2 * D]) and torch.equal(c6_half[:, 3 * D :], c6[:, 3 * D :])


def test_scaled_gates_per_image_factors_hold_several_settings_in_one_batch():
    model = perturb(make("adaln_zero")).eval()
    x, t, y = inputs(B=3)
    f = torch.tensor([[1.0, 1.0], [0.0, 1.0], [0.5, 0.0]])  # (b, 2): one setting per image
    with torch.no_grad():
        with scaled_gates(model, {1: f}):
            batched = model(x, t, y)
            doubled = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, y]))  # [x; x] repeats them
        for i in range(3):
            with scaled_gates(model, {1: tuple(f[i].tolist())}):
                one = model(x[i : i + 1], t[i : i + 1], y[i : i + 1])
            torch.testing.assert_close(batched[i : i + 1], one)
        torch.testing.assert_close(doubled, torch.cat([batched, batched]))
        with scaled_gates(model, {1: torch.ones(2)}), pytest.raises(ValueError, match="do not divide"):
            model(x, t, y)


def test_scaled_gates_errors():
    model = make("adaln_zero")
    with pytest.raises(ValueError, match="out of range"):
        with scaled_gates(model, {3: 0.0}):
            pass
    with pytest.raises(ValueError, match="must be a number"):
        with scaled_gates(model, {0: "off"}):
            pass
    assert not any(m._forward_hooks for m in model.modules())
    with pytest.raises(TypeError, match="DiTBlocks"):
        with scaled_gates(make("adaln"), {0: 0.0}):
            pass


def test_heldout_eps_mse_of_a_fresh_model_is_the_noise_power():
    model = make("adaln_zero")
    images, labels = torch.rand(10, 3, 8, 8) * 2 - 1, torch.arange(10) % 5
    mse = heldout_eps_mse(model, images, labels, [10, 500], seed=3, batch_size=4)
    g = torch.Generator().manual_seed(3)
    expected = [torch.randn(images.shape, generator=g).double().pow(2).mean().item() for _ in range(2)]
    torch.testing.assert_close(mse, torch.tensor(expected, dtype=torch.float64))
    assert torch.equal(mse, heldout_eps_mse(model, images, labels, [10, 500], seed=3))
    assert model.training  # mode restored


# ----------------------------------------------------------------------------- the ablation's loop


def load_benchmark():
    spec = importlib.util.spec_from_file_location("conditioning_ablation", ROOT / "benchmarks" / "conditioning_ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ablation_loop_reproduces_the_trainer_bit_for_bit():
    from dit_lib.trainer import Trainer

    bench = load_benchmark()
    cfg = bench.recipe_config(steps=3, seed=0)
    assert (cfg.batch_size, cfg.lr, cfg.ema_decay, cfg.model) == (128, 2e-3, 0.999, "DiT-Tiny/2")
    g = torch.Generator().manual_seed(0)
    images, labels = torch.rand(200, 1, 8, 8, generator=g) * 2 - 1, torch.arange(200) % 10
    trainer = Trainer(cfg, images, labels, 10)
    trainer.run(3, progress=False)
    ours = bench.train("adaln_zero", cfg, images, labels, 10)
    for name, w in trainer.model.state_dict().items():
        assert torch.equal(w, ours["model"].state_dict()[name]), name
    for name, w in trainer.ema.state_dict().items():
        assert torch.equal(w, ours["ema"].state_dict()[name]), name
    assert len(ours["mse"]) == 3 and all(mse < loss for mse, loss in zip(ours["mse"], ours["loss"]))

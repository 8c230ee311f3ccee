"""Figures and the widget of chapter 4 (viz.conditioning, widgets.conditioning): adaLN-Zero.

The arrays behind each figure are checked against the numbers they were given (bars are the mean
over timesteps, heatmaps the reshaped gates, curves the bias-corrected moving average); each figure
has a title and one control step per precomputed value; the widget constructs, reacts and reports
bad input.
"""

import numpy as np
import pytest
import torch

pytest.importorskip("plotly")

from dit_book.viz import ablation as vab
from dit_book.viz import conditioning as vc

from conftest import nudged_small_dit, title_of


@pytest.fixture(scope="module")
def gates():
    g = np.random.default_rng(0).random((3, 2, 4, 2))  # (steps, t, depth, 2)
    g[0] = 0
    return g


def fake_runs(n=40, seeds=(0, 1)):
    rng = np.random.default_rng(1)
    runs = []
    for v_i, v in enumerate(("adaln_zero", "in_context")):
        for s in seeds:
            mse = (1 + v_i) * np.exp(-np.arange(n) / 10) + 0.01 * rng.random(n)
            runs.append(
                dict(
                    variant=v,
                    seed=s,
                    mse=mse.tolist(),
                    heldout_mse_mean=0.1 + v_i,
                    accuracy=0.9 - v_i / 10,
                    fd=1.0 + v_i,
                    fd_real_baseline=0.5,
                    curve=dict(
                        steps=[10, 20, 30, 40],
                        heldout_mse=[0.5, 0.3, 0.2 + v_i, 0.1 + v_i],
                        quality_steps=[20, 40],
                        accuracy=[0.5, 0.9],
                        fd=[3.0, 1.0 + v_i],
                    ),
                )
            )
    return runs


# ----------------------------------------------------------------------------- gates


def test_gate_opening_figure(gates):
    fig = vc.gate_opening_figure([0, 50, 100], [25, 975], gates)
    assert "gates" in title_of(fig)
    steps = fig.layout.sliders[0].steps
    bars_attn, bars_mlp, heat = fig.data
    assert fig.layout.sliders[0].active == 1  # the first probe after step 0
    np.testing.assert_allclose(bars_attn.y, gates[1].mean(0)[:, 0], atol=1e-4)
    np.testing.assert_allclose(bars_mlp.y, gates[1].mean(0)[:, 1], atol=1e-4)
    np.testing.assert_allclose(np.array(heat.z), gates[1].reshape(2, 8), atol=1e-4)
    np.testing.assert_allclose(steps[2].args[0]["z"][2], gates[2].reshape(2, 8), atol=1e-4)
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["0", "50", "100"]
    assert steps[0].args[0]["y"][0] == [0, 0, 0, 0] and list(steps[0].args[0]["y"][2]) == ["t = 25", "t = 975"]
    assert "exactly 0" in steps[0].args[1]["title.text"]
    with pytest.raises(ValueError, match="shape"):
        vc.gate_opening_figure([0], [25], np.zeros((1, 1, 4)))
    with pytest.raises(ValueError, match="steps has 2 entries"):
        vc.gate_opening_figure([0, 50], [25, 975], gates)


def test_gate_curves_figure(gates):
    fig = vc.gate_curves_figure([0, 50, 100], [25, 975], gates, log_x=True)
    title_of(fig)
    assert len(fig.data) == 4 * 2
    assert list(fig.data[0].x) == [1, 50, 100]  # step 0 drawn at 1 on the log axis
    np.testing.assert_allclose(fig.data[1].y, gates.mean(1)[:, 0, 1], atol=1e-4)  # block 1, MLP
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["mean over t", "t = 25", "t = 975"]
    np.testing.assert_allclose(buttons[2].args[0]["y"][7], gates[:, 1, 3, 1], atol=1e-4)


# ----------------------------------------------------------------------------- ablation


def test_smooth_is_a_bias_corrected_ema():
    np.testing.assert_allclose(vab.smooth([2.0] * 5, 0.9), [2.0] * 5)
    np.testing.assert_allclose(vab.smooth([1.0, 3.0], 0.0), [1.0, 3.0])
    np.testing.assert_allclose(vab.smooth([1.0, 3.0], 0.5), [1.0, (0.25 * 1 + 0.5 * 3) / 0.75])
    with pytest.raises(ValueError):
        vab.smooth([1.0], 1.0)


def test_ablation_figures_and_summary():
    runs = fake_runs()
    fig = vab.ablation_curves_figure(runs, decay=0.9)
    title_of(fig)
    thick = [d for d in fig.data if d.line.width == 3]
    assert len(thick) == 2 and "mean of 2 seeds" in thick[0].name
    mean = np.mean([vab.smooth(r["mse"], 0.9) for r in runs[:2]], axis=0)
    np.testing.assert_allclose(thick[0].y, mean, atol=1e-4)
    assert len(fig.layout.updatemenus[0].buttons) == 2

    q = vab.ablation_quality_figure(runs, fd_floor=0.5)
    buttons = q.layout.updatemenus[0].buttons
    assert len(buttons) == len(vab.QUALITY)
    shown = [d for d, on in zip(q.data, buttons[0].args[0]["visible"]) if on]
    assert all(list(d.x) == [10, 20, 30, 40] for d in shown)
    assert "0.50" in buttons[1].args[1]["title.text"]  # the FD floor is named

    s = vab.ablation_summary(runs, last=5)
    assert s["in_context"]["fd"]["mean"] == 2.0 and s["adaln_zero"]["seeds"] == [0, 1]
    np.testing.assert_allclose(s["adaln_zero"]["final_mse"]["seeds"][0], np.mean(runs[0]["mse"][-5:]))
    with pytest.raises(ValueError):
        vab.ablation_curves_figure([])


def test_gradient_flow_figure():
    norms = np.array([[1.0, 2.0], [0.0, 0.5]])
    fig = vc.gradient_flow_figure(["a", "b"], [0, 1], norms)
    title_of(fig)
    heat = fig.data[0]
    assert heat.z[1][0] is None and heat.text[1][0] == "0"
    assert heat.z[0][1] == pytest.approx(np.log10(2.0), abs=1e-3)
    with pytest.raises(ValueError, match="shape"):
        vc.gradient_flow_figure(["a"], [0, 1], norms)
    with pytest.raises(ValueError, match="non-negative"):
        vc.gradient_flow_figure(["a", "b"], [0, 1], -norms)


def test_knockout_figure():
    ratio = 1 + np.arange(12, dtype=float).reshape(3, 2, 2)
    fig = vc.knockout_figure(ratio, [100, 900], baseline=[0.2, 0.4], active=0)
    np.testing.assert_allclose(fig.data[0].y, ratio[:, 0, 0])
    assert fig.data[1].text[0] == "×3" and fig.layout.yaxis.type == "log"
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["t = 100", "t = 900"]
    np.testing.assert_allclose(buttons[1].args[0]["y"][1], ratio[:, 1, 1])
    assert "2.00e-01" in title_of(fig) and "4.00e-01" in buttons[1].args[1]["title.text"]
    with pytest.raises(ValueError, match="shape"):
        vc.knockout_figure(np.ones((3, 3, 2)), [1, 2])
    with pytest.raises(ValueError, match="positive"):
        vc.knockout_figure(np.zeros((3, 2, 2)), [1, 2])
    with pytest.raises(ValueError, match="baseline has 1"):
        vc.knockout_figure(ratio, [1, 2], baseline=[0.1])


# ----------------------------------------------------------------------------- samples


def test_gate_scale_samples_figure_and_mpl():
    samples = {f: [torch.rand(4, 1, 8, 8) * 2 - 1 for _ in range(2)] for f in (0.0, 1.0)}
    fig = vc.gate_scale_samples_figure([0.0, 1.0], ["block 1", "all"], samples)
    title_of(fig)
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["0", "1"] and fig.layout.sliders[0].active == 1
    assert steps[0].args[0]["source"][0].startswith("data:image/png;base64,")
    assert list(fig.layout.yaxis.ticktext) == ["block 1", "all"]
    with pytest.raises(ValueError):
        vc.gate_scale_samples_figure([0.5], ["block 1"], samples)
    mpl = vc.samples_mpl({"a": samples[0.0][0], "b": samples[1.0][0]}, title="x")
    assert len(mpl.axes) == 1


def test_gate_explorer_widget():
    from dit_book.widgets.conditioning import gate_explorer, gate_factors

    model = nudged_small_dit()
    images, labels = torch.rand(6, 1, 8, 8) * 2 - 1, torch.arange(6) % 3
    box = gate_explorer(
        model, ["a", "b", "c"], num_steps=2, block=0, factor=0.0, test_images=images, test_labels=labels, eval_timesteps=(10, 500)
    )
    (pick, branch, scale), picture, readout = box.children[0].children, box.children[1], box.children[2]
    assert picture.value[:4] == b"\x89PNG"
    first = readout.value
    assert "held-out" in first
    scale.value = 1.0
    assert "+0.0%" in readout.value and "0.000" in readout.value
    pick.value = "all"
    branch.value = "MLP gate only (gate_mlp)"
    assert gate_factors(2, "all", "MLP gate only (gate_mlp)", 0.5) == {0: (1.0, 0.5), 1: (1.0, 0.5)}
    assert gate_factors(2, 1, "both gates", 0.0) == {1: (0.0, 0.0)}
    with pytest.raises(ValueError, match="block must be"):
        gate_factors(2, 2, "both gates", 0.0)
    with pytest.raises(ValueError, match="branch must be"):
        gate_factors(2, 0, "neither", 0.0)

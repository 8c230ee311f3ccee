"""Figures and the widget of chapter 8 (viz.training, widgets.training): training a tiny DiT.

The arrays behind each figure are checked against the numbers they were given (the loss curve,
the per-block gate means, the slider's pictures and marks); each figure has a title and one slider
step per precomputed setting; the widget trains with the library's Trainer, reacts to its button
and reports bad input.
"""

import numpy as np
import pytest
import torch

pytest.importorskip("plotly")

from dit_lib.data import load_dataset
from dit_book.viz import ema as vema
from dit_book.viz import training as vt

from conftest import title_of


@pytest.fixture(scope="module")
def run():
    """A fake record: loss every 10 steps, gates every 50, samples at three steps."""
    gen = torch.Generator().manual_seed(0)
    loss_steps = list(range(10, 310, 10))
    loss = (np.exp(-np.arange(30) / 8) + 0.1).tolist()
    gates = np.random.default_rng(0).random((7, 5, 4, 2))  # (probes, t, depth, 2)
    gates[0] = 0
    samples = {s: torch.rand(10, 1, 8, 8, generator=gen) * 2 - 1 for s in (50, 150, 300)}
    judged = {50: [1] * 10, 150: [0, 1, 2, 3, 4, 5, 6, 7, 9, 9], 300: list(range(10))}
    return loss_steps, loss, list(range(0, 350, 50)), gates, samples, judged


def test_from_uint8_inverts_the_trainers_storage():
    x = torch.linspace(-1, 1, 64).reshape(1, 1, 8, 8)
    stored = ((x + 1) * 127.5).round().to(torch.uint8)  # as Trainer._sample_grid stores it
    torch.testing.assert_close(vt.from_uint8(stored), x, atol=0.5 / 127.5, rtol=0)
    with pytest.raises(ValueError, match="uint8"):
        vt.from_uint8(x)


def test_training_record_figure(run):
    loss_steps, loss, gate_steps, gates, samples, judged = run
    fig = vt.training_record_figure(
        loss_steps, loss, gate_steps, gates, samples, judged=judged, class_names=[str(i) for i in range(10)]
    )
    assert "step 50" in title_of(fig) and "1 of 10 as asked" in title_of(fig)  # column 1 asked for 1 and reads 1
    image, loss_trace, *gate_traces = fig.data
    np.testing.assert_allclose(loss_trace.y, loss, atol=1e-5)
    assert len(gate_traces) == 4
    np.testing.assert_allclose(gate_traces[2].y, gates.mean(axis=(1, 3))[:, 2], atol=1e-4)
    slider = fig.layout.sliders[0]
    assert [s.label for s in slider.steps] == ["50", "150", "300"] and slider.active == 0
    sources = [s.args[0]["source"][0] for s in slider.steps]
    assert len(set(sources)) == 3 and image.source == sources[0]  # a different picture per step
    last = slider.steps[-1].args[1]
    assert "10 of 10 as asked" in last["title.text"] and "9 of 10" in slider.steps[1].args[1]["title.text"]
    assert [sh["x0"] for sh in last["shapes"]] == [300, 300]  # the mark on both curves
    assert list(slider.steps[-1].args[2]) == [0]  # only the picture is restyled
    with pytest.raises(ValueError, match="same length"):
        vt.training_record_figure(loss_steps[:-1], loss, gate_steps, gates, samples)
    with pytest.raises(ValueError, match="gates must have shape"):
        vt.training_record_figure(loss_steps, loss, gate_steps, gates[..., 0], samples)
    with pytest.raises(ValueError, match="active"):
        vt.training_record_figure(loss_steps, loss, gate_steps, gates, samples, active=3)


def test_loss_by_t_figure():
    t = [0, 10, 100, 500, 999]
    mse, vb = [0.8, 0.5, 0.25, 0.015, 0.0003], [1.5, 0.06, 0.004, 1e-4, 0.0]
    fig = vt.loss_by_t_figure(t, mse, vb, cum_share=[0.1, 0.3, 0.6, 0.95, 1.0], mse_null=[0.8, 0.5, 0.3, 0.02, 0.0003])
    title_of(fig)
    assert len(fig.data) == 4 and fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(fig.data[0].y, mse)
    assert min(fig.data[1].y) > 0  # a zero cannot be drawn on a log axis
    np.testing.assert_allclose(fig.data[2].y, [0.8, 0.5, 0.3, 0.02, 0.0003])
    assert fig.data[3].yaxis == "y2"
    np.testing.assert_allclose(fig.data[3].y, [10, 30, 60, 95, 100])
    with pytest.raises(ValueError, match="mse_null has 2 entries"):
        vt.loss_by_t_figure(t, mse, vb, mse_null=[1, 2])
    with pytest.raises(ValueError, match="same length"):
        vt.loss_by_t_figure(t, mse[:-1], vb)


def test_ema_profile_figure():
    n_final = 20
    d = 0.9
    fixed_w = [d**n_final] + [(1 - d) * d ** (n_final - k) for k in range(1, n_final + 1)]
    assert abs(sum(fixed_w) - 1) < 1e-12
    recipes = {
        "fixed 0.9": {"share": [d**n for n in (0, 10, 20)], "weights": fixed_w},
        "uniform": {"share": [1.0, 1 / 11, 1 / 21], "weights": [1 / 21] * 21},
    }
    fig = vema.ema_profile_figure([0, 10, 20], recipes, n_final)
    title_of(fig)
    assert len(fig.data) == 3 * 2
    np.testing.assert_allclose(fig.data[1].y, fixed_w[1:], rtol=1e-3)  # iterates 1..n
    assert fig.data[2].x == (0,) and abs(fig.data[2].y[0] - fixed_w[0]) < 1e-3  # theta_0, a diamond
    with pytest.raises(ValueError, match="n_final \\+ 1"):
        vema.ema_profile_figure([0, 10, 20], {"x": {"share": [1, 1, 1], "weights": [1.0]}}, n_final)
    with pytest.raises(ValueError, match="empty"):
        vema.ema_profile_figure([0], {}, 1)


def test_init_share_figure():
    gen = torch.Generator().manual_seed(1)
    names = ["warm-up", "fixed 0.999"]
    samples = {k: torch.rand(20, 1, 8, 8, generator=gen) * 2 - 1 for k in names}
    fig = vema.init_share_figure(names, [0.0, 0.3], samples, [0.98, 0.15], class_names=[str(i) for i in range(10)])
    assert "warm-up" in title_of(fig)
    slider = fig.layout.sliders[0]
    assert [s.label for s in slider.steps] == names and slider.active == 0
    assert slider.steps[0].args[0]["source"][0] != slider.steps[1].args[0]["source"][0]
    assert slider.steps[1].args[1]["shapes"][0]["x0"] == pytest.approx(30.0)
    assert slider.steps[1].args[1]["shapes"][1]["y0"] == pytest.approx(10.0)  # guessing: 1 in 10
    np.testing.assert_allclose(fig.data[1].y, [98, 15])
    with pytest.raises(ValueError, match="one entry per name"):
        vema.init_share_figure(names, [0.0, 0.3], {"warm-up": samples["warm-up"]}, [0.98, 0.15])
    with pytest.raises(ValueError, match="same length"):
        vema.init_share_figure(names, [0.0], samples, [0.98, 0.15])


def test_live_run_mpl():
    rows = {"raw weights": torch.zeros(20, 1, 8, 8), "EMA weights": torch.ones(20, 1, 8, 8)}
    fig = vt.live_run_mpl([1, 2, 3], [1.0, 0.5, 0.3], rows, class_names=[str(i) for i in range(10)], title="x")
    ax_loss, ax_img = fig.axes
    assert ax_loss.get_yscale() == "log"
    # two lines of ten per entry, the name between them
    assert [t.get_text() for t in ax_img.get_yticklabels()] == list(rows)
    assert ax_img.get_yticks()[1] - ax_img.get_yticks()[0] == pytest.approx(2 * (8 * vt.SCALE + vt.GAP))
    assert len(ax_img.get_xticklabels()) == 10
    with pytest.raises(ValueError, match="empty"):
        vt.live_run_mpl([1], [1.0], {})
    judged = {"raw weights": [j % 10 for j in range(20)], "EMA weights": [3] + [j % 10 for j in range(1, 20)]}
    fig = vt.live_run_mpl([1, 2, 3], [1.0, 0.5, 0.3], rows, class_names=[str(i) for i in range(10)], judged=judged)
    (frame,) = fig.axes[1].patches  # only EMA sample 0 (read as 3) is misread
    step = 8 * vt.SCALE + vt.GAP
    assert frame.get_xy() == pytest.approx((vt.GAP - 1.5, vt.GAP + 2 * step - 1.5))  # column 0, the third line
    with pytest.raises(ValueError, match="one class per sample"):
        vt.live_run_mpl([1], [1.0], rows, judged={"EMA weights": [0]})


# ----------------------------------------------------------------------------- the widget


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", n=256)


def test_train_and_sample_uses_the_trainer(digits):
    from dit_lib.trainer import TrainConfig, Trainer
    from dit_book.widgets.training import train_and_sample

    res = train_and_sample(digits.images, digits.labels, 10, steps=6, batch_size=8, samples_per_class=1, num_steps=2)
    assert set(res["samples"]) == {"raw weights", "EMA weights"} and res["guided"]
    assert res["samples"]["raw weights"].shape == (10, 1, 8, 8) and res["labels"].tolist() == list(range(10))
    cfg = TrainConfig(model="DiT-Micro/2", steps=6, batch_size=8, lr=2e-3, log_every=1, gate_every=6)
    ref = Trainer(cfg, digits.images, digits.labels, 10)
    ref.run(6, progress=False)
    assert res["record"]["loss"] == ref.record["loss"]  # the same run, step for step
    off = train_and_sample(
        digits.images, digits.labels, 10, steps=2, batch_size=8, class_dropout_prob=0.0, samples_per_class=1, num_steps=2
    )
    assert not off["guided"] and off["cfg_scale"] == 1.0  # no null label: no guidance


def test_train_explorer_reacts(digits):
    pytest.importorskip("ipywidgets")
    from dit_book.widgets.training import train_explorer

    box = train_explorer(digits.images, digits.labels, digits.class_names, steps=20, batch_size=16)
    controls, bar, picture, readout = box.children
    assert picture.value == b"" and readout.value == "" and bar.value == 0  # trains only when asked
    n_steps = controls.children[1]
    n_steps.value = 20
    controls.children[-1].click()  # the Train button
    assert picture.value[:4] == b"\x89PNG" and "trained 20 steps" in readout.value
    assert bar.value == bar.max == 20
    controls.children[4].value = 0.0  # label dropout off
    controls.children[-1].click()
    assert "no null label" in readout.value
    with pytest.raises(ValueError, match="model must be one of"):
        train_explorer(digits.images, digits.labels, digits.class_names, model="DiT-XL/2", run_now=False)


def test_train_explorer_opens_on_a_given_run_with_its_settings(digits):
    pytest.importorskip("ipywidgets")
    from dit_lib.trainer import TrainConfig, Trainer
    from dit_book.widgets.training import LIVE_RECIPE, summarize, train_explorer

    trainer = Trainer(
        TrainConfig(model="DiT-Micro/2", steps=20, batch_size=16, lr=5e-3, ema_decay=0.99, log_every=1),
        digits.images,
        digits.labels,
        10,
    )
    trainer.run(20, progress=False)
    shown = summarize(trainer, 1.0, samples_per_class=1, num_steps=2)
    assert shown["record"] is trainer.record and shown["samples"]["EMA weights"].shape == (10, 1, 8, 8)
    box = train_explorer(digits.images, digits.labels, digits.class_names, shown=shown)
    controls, bar, picture, readout = box.children
    assert picture.value[:4] == b"\x89PNG" and "trained 20 steps in <b>1.0 s</b>" in readout.value
    assert [w.value for w in controls.children[1:4]] == [20, 16, pytest.approx(5e-3)]
    assert controls.children[5].value == 0.99 and bar.value == 20
    fresh = train_explorer(digits.images, digits.labels, digits.class_names)  # defaults: the chapter's live run
    assert [w.value for w in fresh.children[0].children[:4]] == [
        LIVE_RECIPE["model"],
        LIVE_RECIPE["steps"],
        LIVE_RECIPE["batch_size"],
        pytest.approx(LIVE_RECIPE["lr"]),
    ]

"""Figures and the widget of chapter 6 (viz.forward, widgets.forward): the forward process.

The arrays behind each figure are checked against the numbers they were given (schedules, log-SNR,
histograms against the closed form's bin probabilities, the picture grid pixel for pixel); each
figure has a title and one control step per precomputed value, and its first slider changes the
data; the widget constructs, reacts to its controls and reports bad input.
"""

import math

import numpy as np
import pytest
import torch

pytest.importorskip("plotly")

from dit_lib.data import load_dataset
from dit_lib.diffusion import create_diffusion, diffusion_tables, get_named_beta_schedule
from dit_book.viz import forward as vf
from dit_book.viz import remains as vr

from conftest import title_of


@pytest.fixture(scope="module")
def tables():
    return {name: diffusion_tables(get_named_beta_schedule(name, 1000)) for name in ("linear", "cosine")}


@pytest.fixture(scope="module")
def diffusions():
    return {"linear": create_diffusion(""), "cosine": create_diffusion("", noise_schedule="cosine")}


# ----------------------------------------------------------------------------- small helpers


def test_log_snr_and_crossing():
    ab = torch.tensor([0.9, 0.5, 0.1], dtype=torch.float64)
    np.testing.assert_allclose(vf.log_snr(ab), [math.log(9), 0.0, -math.log(9)], atol=1e-12)
    assert vf.crossing([10, 20, 30], [1.0, 0.5, 0.0], 0.75) == pytest.approx(15.0)
    assert vf.crossing([10, 20], [0.2, 0.1], 0.5) == 10.0  # already below at the start
    assert math.isnan(vf.crossing([10, 20], [0.9, 0.8], 0.5))  # never


def test_ks_normal_and_cdf():
    np.testing.assert_allclose(vf.normal_cdf([0.0, 1.959963984540054]), [0.5, 0.975], atol=1e-12)
    z = torch.randn(20000, generator=torch.Generator().manual_seed(0))
    assert vf.ks_normal(z) < 1.95 / math.sqrt(len(z))  # a normal sample passes
    assert vf.ks_normal(z + 0.2) > 0.05  # a shifted one does not
    assert vf.ks_normal(torch.tensor([0.0])) == pytest.approx(0.5)  # one point at the median
    with pytest.raises(ValueError, match="empty"):
        vf.ks_normal(torch.tensor([]))


# ----------------------------------------------------------------------------- schedules and log-SNR


def test_schedule_figure(tables):
    fig = vf.schedule_figure(tables)
    assert "schedule" in title_of(fig)
    beta_lin, ab_lin, beta_cos, ab_cos = fig.data
    assert list(beta_lin.x[:2]) == [1, 2] and len(beta_lin.x) == 1000  # the paper's steps 1..T
    np.testing.assert_allclose(beta_lin.y, tables["linear"]["betas"].numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ab_cos.y, tables["cosine"]["alphas_cumprod"].numpy(), atol=1e-6)
    assert fig.layout.yaxis.type == "log"
    with pytest.raises(ValueError, match="lacks"):
        vf.schedule_figure({"linear": {"betas": tables["linear"]["betas"]}})
    with pytest.raises(ValueError, match="empty"):
        vf.schedule_figure({})


def test_log_snr_figure_marks_snr_one(tables):
    fig = vf.log_snr_figure(tables)
    title_of(fig)
    line, mark = fig.data[0], fig.data[1]
    np.testing.assert_allclose(line.y, vf.log_snr(tables["linear"]["alphas_cumprod"]), atol=1e-4)
    ab = tables["linear"]["alphas_cumprod"]
    first_below = int(torch.nonzero(ab < 0.5)[0]) + 1  # paper step
    assert first_below - 1 <= mark.x[0] <= first_below and mark.y == (0,)
    assert fig.data[3].x[0] > mark.x[0]  # cosine crosses later


# ----------------------------------------------------------------------------- chain histograms


def test_chain_histogram_figure_matches_the_closed_form():
    steps = [1, 100, 1000]
    mu, sd = torch.tensor([1.0, 0.5, 0.01]), torch.tensor([0.01, 0.8, 1.0])
    samples = mu[:, None] + sd[:, None] * torch.randn(3, 50000, generator=torch.Generator().manual_seed(0))
    fig = vf.chain_histogram_figure(steps, {"ink": dict(samples=samples, mean=mu, std=sd)}, active=1, note={1: "ᾱ = 0.25"})
    assert "t = 100: ᾱ = 0.25" in title_of(fig)
    bars, line = fig.data
    width = np.diff(np.arange(-4.05, 4.0501, 0.1))
    # histograms and closed-form bin densities both integrate to (almost) 1 inside [-4.05, 4.05]
    assert np.sum(np.array(bars.y) * width) == pytest.approx(1.0, abs=1e-3)
    assert np.sum(np.array(line.y) * width) == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(bars.y, line.y, atol=0.03)  # the sample follows its law
    slider = fig.layout.sliders[0]
    assert [s.label for s in slider.steps] == ["1", "100", "1000"] and slider.active == 1
    spike = slider.steps[0].args[0]["y"][1]  # t = 1: one bin holds all
    assert max(spike) == pytest.approx(10.0, rel=1e-3)
    assert slider.steps[-1].args[0]["y"] != slider.steps[slider.active].args[0]["y"]  # the last step changes data
    with pytest.raises(ValueError, match="samples must be"):
        vf.chain_histogram_figure(steps, {"ink": dict(samples=samples[:2], mean=mu, std=sd)})
    with pytest.raises(ValueError, match="active"):
        vf.chain_histogram_figure(steps, {"ink": dict(samples=samples, mean=mu, std=sd)}, active=3)


# ----------------------------------------------------------------------------- pictures


def test_image_grid_enlarges_and_places_every_image():
    digits = load_dataset("digits", n=3).images  # (3, 1, 8, 8)
    shapes = load_dataset("shapes", split="test", n=3).images  # (3, 3, 16, 16)
    grid = vr.image_grid([digits, shapes], cell=32, gap=2)
    assert grid.shape == (2 * 34 + 2, 3 * 34 + 2, 3) and grid.dtype == np.uint8
    from dit_book.plotting import to_rgb_uint8

    d1 = grid[2:34, 2 + 34 : 2 + 34 + 32]  # row 0, image 1, enlarged 4x
    np.testing.assert_array_equal(d1[::4, ::4], to_rgb_uint8(digits[1]))
    s2 = grid[2 + 34 : 2 + 34 + 32, 2 + 68 : 2 + 68 + 32]  # row 1, image 2, enlarged 2x
    np.testing.assert_array_equal(s2[::2, ::2], to_rgb_uint8(shapes[2]))
    assert (grid[0] == vf.GAP).all()
    with pytest.raises(ValueError, match="multiple"):
        vr.image_grid([digits], cell=12)
    with pytest.raises(ValueError, match="C = 1 or 3"):
        vr.image_grid([torch.zeros(2, 2, 8, 8)])


def test_forward_grid_figure(diffusions):
    x = load_dataset("digits", n=4).images  # (4, 1, 8, 8)
    eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    steps = [0, 10, 500, 1000]
    frames = {
        name: [torch.stack([x if t == 0 else d.q_sample(x, torch.full((4,), t - 1), noise=eps) for t in steps])]
        for name, d in diffusions.items()
    }
    fig = vr.forward_grid_figure(steps, frames, row_names=["digits"], active=1, info={"linear": ["a", "b", "c", "d"]})
    assert "t = 10; linear: b" in title_of(fig)
    assert list(fig.layout.yaxis.ticktext) == ["digits, linear", "digits, cosine"]
    slider = fig.layout.sliders[0]
    assert [s.label for s in slider.steps] == ["0", "10", "500", "1000"]
    sources = [s.args[0]["source"][0] for s in slider.steps]
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    assert len(set(sources)) == 4 and fig.data[0].source == sources[1]  # every step its own picture
    with pytest.raises(ValueError, match="rows but row_names"):
        vr.forward_grid_figure(steps, frames, row_names=["a", "b"])
    with pytest.raises(ValueError, match="n_t = 3"):
        vr.forward_grid_figure(steps[:3], frames, row_names=["digits"])


def test_remains_figure_switches_to_log_snr():
    steps = [0, 500, 1000]
    acc = {"linear": [1.0, 0.3, 0.1], "cosine": [1.0, 0.6, 0.1]}
    corr = {"linear": [1.0, 0.2, 0.0], "cosine": [1.0, 0.7, 0.0]}
    snr = {"linear": [math.inf, -2.5, -10.1], "cosine": [math.inf, 0.0, -19.8]}
    fig = vr.remains_figure(steps, acc, corr, predicted=corr, log_snr=snr, chance=0.1)
    title_of(fig)
    assert len(fig.data) == 2 + 2 * 2
    np.testing.assert_allclose(fig.data[1].y, acc["cosine"])
    to_t, to_snr = fig.layout.updatemenus[0].buttons
    assert to_snr.args[0]["x"][0] == [None, -2.5, -10.1]  # t = 0 has no finite log SNR
    assert to_snr.args[0]["x"][4] == [None, 0.0, -19.8]  # cosine, measured correlation
    assert to_snr.args[1]["xaxis.autorange"] == "reversed" and to_t.args[0]["x"][0] == [0.0, 500.0, 1000.0]
    with pytest.raises(ValueError, match="3 timesteps"):
        vr.remains_figure(steps, {"linear": [1.0]}, corr)
    with pytest.raises(ValueError, match="lacks"):
        vr.remains_figure(steps, acc, corr, log_snr={"linear": snr["linear"]})


def test_every_t_axis_and_slider_says_paper_step(tables):
    """Chapter 6 plots the paper's step t = 1..T (chapters 7-10 the array index): every t axis and
    t slider of its figures says which."""
    for fig in (vf.schedule_figure(tables), vf.log_snr_figure(tables)):
        titles = [fig.layout[k].title.text for k in fig.layout if k.startswith("xaxis")]
        assert titles and all(t == vf.T_AXIS and "paper step" in t for t in titles)
    fig = vr.remains_figure([0, 1000], {"linear": [1.0, 0.1]}, {"linear": [1.0, 0.0]}, log_snr={"linear": [math.inf, -10.0]})
    assert fig.layout.xaxis.title.text == fig.layout.xaxis2.title.text == vf.T_AXIS_0
    assert fig.layout.updatemenus[0].buttons[0].args[1]["xaxis.title.text"] == vf.T_AXIS_0
    x = torch.zeros(2, 1, 8, 8)
    grid = vr.forward_grid_figure([0, 1], {"linear": [torch.stack([x, x + 1])]}, row_names=["digits"])
    hist = vf.chain_histogram_figure([1, 2], {"g": dict(samples=torch.zeros(2, 10), mean=torch.zeros(2), std=torch.ones(2))})
    for fig in (grid, hist):
        assert fig.layout.sliders[0].currentvalue.prefix == vf.T_SLIDER and "paper step" in vf.T_SLIDER


def test_forward_mpl():
    from matplotlib.figure import Figure

    x = load_dataset("shapes", n=1).images[0]
    fig = vr.forward_mpl(x, torch.randn_like(x), {"linear": x, "cosine": -x}, captions={"linear": "√ᾱ = 0.5"})
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert fig.axes[1].get_title() == "x_t, linear" and fig.axes[1].get_xlabel() == "√ᾱ = 0.5"
    with pytest.raises(ValueError, match="empty"):
        vr.forward_mpl(x, x, {})


# ----------------------------------------------------------------------------- the widget


def test_step_numbers_and_noisy(diffusions):
    from dit_book.widgets.forward import noisy, step_numbers

    d = diffusions["linear"]
    assert step_numbers(d, 0)["snr"] == math.inf and step_numbers(d, 0)["signal"] == 1.0
    num = step_numbers(d, 1000)
    assert num["abar"] == d.alphas_cumprod[-1].item() and num["beta"] == pytest.approx(0.02)
    assert num["signal"] == pytest.approx(math.sqrt(num["abar"]))
    assert num["log_snr"] == pytest.approx(math.log(num["snr"]))
    x = load_dataset("digits", n=2).images
    eps = torch.randn_like(x)
    assert torch.equal(noisy(d, x, 0, eps), x)
    assert torch.equal(noisy(d, x, 1, eps), d.q_sample(x, torch.zeros(2, dtype=torch.long), noise=eps))
    for bad in (-1, 1001, 2.0, True):
        with pytest.raises(ValueError, match="0..1000"):
            step_numbers(d, bad)


def test_forward_explorer_widget(diffusions):
    from dit_book.widgets.forward import forward_explorer

    data = {"digits": load_dataset("digits", split="test", n=5), "shapes": load_dataset("shapes", split="test", n=3)}

    class FakeJudge:  # always reads class 1, with certainty
        def logits(self, x):
            out = torch.full((len(x), 10), -20.0)
            out[:, 1] = 20.0
            return out

    box = forward_explorer(data, diffusions, judges={"digits": FakeJudge()}, t=500, index=4)
    controls, picture, readout = box.children
    pick_data, pick_sched, pick_img, pick_seed, play, t_slider = controls.children
    assert picture.value[:4] == b"\x89PNG"
    first = readout.value
    assert "<b>linear</b>" in first and "<b>cosine</b>" in first and "reads <b>1</b>" in first
    pick_sched.value = "cosine"
    assert "<b>linear</b>" not in readout.value
    t_slider.value = 0  # the clean image: correlation 1, SNR inf
    assert "corr(x_t, x_0) = 1.000" in readout.value and "SNR = inf" in readout.value
    pick_data.value = "shapes"  # 3 images: the image slider shrinks and clamps
    assert pick_img.max == 2 and pick_img.value == 2
    assert "classifier" not in readout.value  # no judge for the shapes
    with pytest.raises(ValueError, match="schedule must be"):
        forward_explorer(data, diffusions, schedule="quadratic")
    with pytest.raises(ValueError, match="same number of steps"):
        forward_explorer(data, {"a": diffusions["linear"], "b": create_diffusion("", diffusion_steps=500)})
    with pytest.raises(ValueError, match="not one of"):
        forward_explorer(data, diffusions, dataset="mnist")

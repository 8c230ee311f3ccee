"""Figures and the widget of chapter 9 (viz.sampling, widgets.sampling): sampling.

The arrays behind each figure are checked against the tensors they were given (frames of a
trajectory, the distance curve, the variances of a respaced chain, the quality rows), each figure
has a title and one control step per precomputed value, the first slider changes the figure, and
the widget constructs, reacts and reports bad input.
"""

import base64
import io

import numpy as np
import pytest
import torch

pytest.importorskip("plotly")

from dit_lib.sampling import Trajectory
from dit_book.viz import quality as vqual
from dit_book.viz import sampling as vs

from conftest import nudged_small_dit, title_of


def decode(uri: str) -> np.ndarray:
    from PIL import Image

    assert uri.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def fake_trajectory(S=4, B=3, seed=0, timesteps=None):
    g = torch.Generator().manual_seed(seed)
    x_t = torch.rand((S + 1, B, 1, 8, 8), generator=g) * 2 - 1
    x0 = torch.rand((S, B, 1, 8, 8), generator=g) * 2 - 1
    x0[-1] = x_t[-1]  # the samplers output their last prediction
    ts = torch.tensor(timesteps if timesteps is not None else [999, 666, 333, 0][:S])
    return Trajectory(x_t, x0, ts)


# ----------------------------------------------------------------------------- pictures


def test_grid_uri_is_grayscale_and_places_images():
    a, b = torch.full((2, 1, 4, 4), -1.0), torch.full((2, 1, 4, 4), 1.0)
    pic = decode(vs.grid_uri([a, b]))
    assert pic.ndim == 2  # one channel: grayscale PNG
    s, g = vs.SCALE, vs.GAP
    assert pic.shape == (2 * (4 * s + g) + g, 2 * (4 * s + g) + g)
    assert (pic[g : g + 4 * s, g : g + 4 * s] == 0).all() and (pic[2 * g + 4 * s + 1, g + 1] == 255)
    rgb = decode(vs.grid_uri([torch.zeros(1, 3, 4, 4)]))
    assert rgb.ndim == 3 and rgb.shape[-1] == 3  # colour images stay RGB


def test_frame_views_and_settle_distance():
    tr = fake_trajectory()
    x_t, x0 = vs.frame_views(tr)
    assert x_t.shape == x0.shape == (5, 3, 1, 8, 8)
    assert torch.equal(x0[-1], x0[-2]) and torch.equal(x0[:4], tr.pred_xstart)
    d = vs.settle_distance(tr)
    assert d.shape == (5,) and d[-1] == 0 and d[-2] == 0
    k = 1
    want = (tr.pred_xstart[k] - tr.x_t[-1]).pow(2).flatten(1).mean(1).sqrt().mean().item()
    assert d[k] == pytest.approx(want, rel=1e-6)
    with pytest.raises(ValueError, match="S \\+ 1 states"):
        vs.frame_views(Trajectory(tr.x_t, tr.pred_xstart[:2], tr.timesteps))


# ----------------------------------------------------------------------------- trajectory figure


def test_trajectory_figure_slider_changes_picture_title_and_line():
    runs = {"DDPM": fake_trajectory(seed=0), "DDIM": fake_trajectory(seed=1)}
    abar = torch.linspace(0.9999, 4e-5, 1000, dtype=torch.float64)
    fig = vs.trajectory_figure(runs, class_names=["a", "b", "c"], alphas_cumprod=abar, active=1)
    assert "trajectory" in title_of(fig)
    slider = fig.layout.sliders[0]
    assert slider.active == 1 and [s.label for s in slider.steps] == ["0", "1", "2", "3", "4"]
    first, last = slider.steps[0].args, slider.steps[-1].args
    assert first[0]["source"][0] != last[0]["source"][0]  # the picture changes
    assert first[1]["title.text"] != last[1]["title.text"]  # and the title
    assert "the samples" in last[1]["title.text"] and "t = 999" in first[1]["title.text"]
    assert "√(1 − ᾱ) = 1.000" in first[1]["title.text"]
    assert last[1]["shapes[0].x0"] == 4 and list(first[2]) == [0]
    # rows: DDPM x_t, DDPM x_0, DDIM x_t, DDIM x_0; picture of frame 2 = those four rows
    pic = decode(last[0]["source"][0])
    s, g = vs.SCALE, vs.GAP
    assert pic.shape == (4 * (8 * s + g) + g, 3 * (8 * s + g) + g)
    assert list(fig.layout.yaxis.ticktext) == ["DDPM x_t", "DDPM pred. x_0", "DDIM x_t", "DDIM pred. x_0"]
    curves = [d for d in fig.data if d.type == "scatter"]
    assert [c.name for c in curves] == ["DDPM", "DDIM"]
    np.testing.assert_allclose(curves[1].y, vs.settle_distance(runs["DDIM"]), atol=1e-4)


def test_trajectory_figure_rejects_mismatched_runs():
    a = fake_trajectory()
    b = fake_trajectory(timesteps=[999, 500, 250, 0])
    with pytest.raises(ValueError, match="same steps"):
        vs.trajectory_figure({"a": a, "b": b})
    with pytest.raises(ValueError, match="class_names"):
        vs.trajectory_figure({"a": a}, class_names=["x"])
    with pytest.raises(ValueError, match="active"):
        vs.trajectory_figure({"a": a}, active=9)
    with pytest.raises(ValueError, match="empty"):
        vs.trajectory_figure({})


# ----------------------------------------------------------------------------- respacing


def spacing(S, seed=0):
    g = torch.Generator().manual_seed(seed)
    betas = torch.linspace(0.01, 0.5, S, dtype=torch.float64)
    post = betas * 0.5
    post[0] = 0
    learned = torch.stack([post * 1.1, post * 1.5, betas * 0.9], 1) + 1e-6 * torch.rand(S, 3, generator=g, dtype=torch.float64)
    return dict(timesteps=torch.linspace(0, 999, S).round().long(), betas=betas, posterior_variance=post, learned=learned)


def test_respacing_figure():
    data = {"5": spacing(5), "80": spacing(80)}
    original = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    fig = vs.respacing_figure(data, original, active=0)
    title_of(fig)
    assert len(fig.data) == 2 * 6
    shown = [d for d in fig.data if d.visible]
    assert len(shown) == 6
    by_name = {d.name: d for d in shown}
    np.testing.assert_allclose(by_name["β′ (respaced): upper bound"].y, data["5"]["betas"][1:], rtol=1e-6)
    np.testing.assert_allclose(by_name["learned Σ_θ: median"].y, data["5"]["learned"][1:, 1], rtol=1e-4)
    dashed = by_name["β_τ of the 1000-step chain (not respaced)"]
    np.testing.assert_allclose(dashed.y, original[data["5"]["timesteps"][1:]], rtol=1e-6)
    assert list(dashed.x) == data["5"]["timesteps"][1:].tolist()  # index 0 left out
    assert fig.layout.xaxis.title.text == "t (array index)"  # Part II's t convention
    assert fig.layout.yaxis.type == "log" and fig.layout.xaxis.type in (None, "linear", "-")
    assert by_name["β′ (respaced): upper bound"].mode == "lines+markers"
    assert fig.data[6 + 2].mode == "lines"  # 80 steps: no markers
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ['"5"', '"80"']
    assert sum(buttons[1].args[0]["visible"]) == 6 and "80 kept steps" in buttons[1].args[1]["title.text"]
    bad = dict(spacing(5), learned=torch.zeros(5, 2))
    with pytest.raises(ValueError, match="learned"):
        vs.respacing_figure({"x": bad}, original)
    with pytest.raises(ValueError, match="at least 2"):
        vs.respacing_figure({"x": spacing(1)}, original)


# ----------------------------------------------------------------------------- quality


def test_quality_figure():
    bench = [
        dict(method="ddim", steps=s, n=1000, accuracy=0.99, fd=f, ms_per_sample=m)
        for s, f, m in [(10, 17.0, 30.0), (50, 15.0, 100.0)]
    ] + [dict(method="ddpm", steps=250, n=1000, accuracy=0.997, fd=13.0, ms_per_sample=600.0)]
    live = [dict(method="ddim", steps=10, n=50, accuracy=1.0, ms_per_sample=8.0)]
    fig = vqual.quality_figure(bench, live, fd_floor=1.1, accuracy_ceiling=0.98)
    title_of(fig)
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == [v[0] for v in vqual.QUALITY_VIEWS.values()]
    visible = [d for d in fig.data if d.visible]
    assert {d.name for d in visible} == {"DDIM (benchmark)", "DDPM (benchmark)", "DDIM (this kernel)", "real test digits"}
    fd_view = [d for d, on in zip(fig.data, buttons[1].args[0]["visible"]) if on]
    assert {d.name for d in fd_view} == {"DDIM (benchmark)", "DDPM (benchmark)", "two sets of real digits"}
    ddim_fd = next(d for d in fd_view if d.name == "DDIM (benchmark)")
    assert list(ddim_fd.x) == [10, 50] and list(ddim_fd.y) == [17.0, 15.0]
    assert buttons[2].args[1]["yaxis.type"] == "log"
    with pytest.raises(ValueError):
        vqual.quality_figure([])


def test_samples_figure():
    grids = {"a": torch.rand(4, 1, 8, 8) * 2 - 1, "b": torch.rand(4, 1, 8, 8) * 2 - 1}
    fig = vqual.samples_figure(grids, class_names=list("wxyz"), title="t")
    assert title_of(fig).startswith("t")
    assert list(fig.layout.yaxis.ticktext) == ["a", "b"] and list(fig.layout.xaxis.ticktext) == list("wxyz")
    s, g = vs.SCALE, vs.GAP
    assert decode(fig.data[0].source).shape == (2 * (8 * s + g) + g, 4 * (8 * s + g) + g)
    with pytest.raises(ValueError, match="same shape"):
        vqual.samples_figure({"a": torch.zeros(4, 1, 8, 8), "b": torch.zeros(3, 1, 8, 8)})
    with pytest.raises(ValueError, match="class_names"):
        vqual.samples_figure(grids, class_names=["w"])


# ----------------------------------------------------------------------------- widget picture and widget


def test_pick_frames():
    assert vs.pick_frames(50, 8)[0] == 0 and vs.pick_frames(50, 8)[-1] == 50 and len(vs.pick_frames(50, 8)) == 8
    assert vs.pick_frames(3, 8) == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        vs.pick_frames(0)


def test_sampler_mpl():
    tr = fake_trajectory()
    fig = vs.sampler_mpl(tr.x_t[-1], tr, sample_labels=["a", "b", "c"], title="x")
    assert len(fig.axes) == 2
    labels = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert labels[0] == "0 steps\nt = 999" and labels[-1] == "4 steps\ndone"
    with pytest.raises(ValueError, match="frames"):
        vs.sampler_mpl(tr.x_t[-1], tr, frames=[0, 9])


def test_sampler_explorer_widget():
    from dit_book.widgets.sampling import ALL_CLASSES, sampler_explorer, widget_labels

    model = nudged_small_dit()
    box = sampler_explorer(model, ["a", "b", "c"], method="ddpm", num_steps=5, n=3)
    (method, steps, eta, pick, seed), picture, readout = box.children[0].children, box.children[1], box.children[2]
    assert picture.value[:4] == b"\x89PNG" and eta.disabled
    assert "999" in readout.value and "ms per sample" in readout.value
    first = picture.value
    method.value = "ddim"
    assert not eta.disabled and picture.value != first
    eta.value = 1.0
    pick.value = 2
    seed.value = 3
    steps.value = 10
    assert "10 network calls" in readout.value
    assert widget_labels(ALL_CLASSES, 3, 5).tolist() == [0, 1, 2, 0, 1]
    assert widget_labels(1, 3, 2).tolist() == [1, 1]
    with pytest.raises(ValueError, match="class must be"):
        widget_labels(3, 3, 2)

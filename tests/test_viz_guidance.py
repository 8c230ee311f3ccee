"""Figures and the widget of chapter 10 (viz.guidance, widgets.guidance), and the two diversity
measures it adds to dit_lib.evaluation.

The pictures are checked pixel by pixel (images in their cells, red frames where asked); each
figure has a title and one slider step per precomputed scale whose data and title differ; the
trade-off figure plots the numbers it was given; the widget constructs, reacts and reports bad input.
"""

import numpy as np
import pytest
import torch

pytest.importorskip("plotly")

from conftest import nudged_micro_dit
from dit_lib.distances import within_class_distance, within_class_variance
from dit_book.viz import guidance as vg
from dit_book.plotting import NOT_TO_SCALE, to_rgb_uint8

from conftest import title_of


def images(R=2, N=3, C=1, H=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(R, N, C, H, H, generator=g) * 2 - 1


# ----------------------------------------------------------------------------- diversity measures


def test_within_class_distance_is_the_mean_over_pairs():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [1.0, 1.0], [0.0, 2.0]])
    y = torch.tensor([0, 0, 1, 1, 1])
    # class 0: one pair at distance 5; class 1: pairs at 0, sqrt(2), sqrt(2)
    want = (5.0 + (0 + 2 * 2**0.5) / 3) / 2
    assert within_class_distance(x, y) == pytest.approx(want)
    # the same for images (N, C, H, W): flattened
    assert within_class_distance(x.reshape(5, 1, 1, 2), y) == pytest.approx(want)
    # identical samples: no diversity at all
    same = torch.randn(1, 16).repeat(4, 1)
    assert within_class_distance(same, torch.zeros(4, dtype=torch.long)) == 0.0


def test_within_class_variance_is_the_mean_trace():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g)
    y = torch.arange(40) % 2
    want = np.mean([np.trace(np.cov(x[y == c].numpy(), rowvar=False)) for c in (0, 1)])
    assert within_class_variance(x, y) == pytest.approx(want, rel=1e-6)


def test_diversity_measures_reject_bad_input():
    with pytest.raises(ValueError, match="at least 2 per class"):
        within_class_distance(torch.zeros(3, 2), torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="one row per label"):
        within_class_variance(torch.zeros(3, 2), torch.tensor([0, 1]))


# ----------------------------------------------------------------------------- pictures


def test_framed_grid_places_images_and_frames():
    x = images()
    wrong = np.array([[False, True, False], [False, False, False]])
    pic = vg.framed_grid(x, wrong, scale=2, pad=3, ring=2)
    cell = 8 * 2 + 2 * 3
    assert pic.shape == (2 * cell, 3 * cell, 3) and pic.dtype == np.uint8
    # image (1, 2) enlarged twice, at its cell's offset
    want = to_rgb_uint8(x[1, 2]).repeat(2, axis=0).repeat(2, axis=1)
    np.testing.assert_array_equal(pic[cell + 3 : cell + 3 + 16, 2 * cell + 3 : 2 * cell + 3 + 16], want)
    # red ring around (0, 1) only, background elsewhere
    assert tuple(pic[1, cell + 1]) == vg.WRONG_RGB and tuple(pic[2, cell + 11]) == vg.WRONG_RGB
    assert tuple(pic[0, cell]) != vg.WRONG_RGB  # the outermost pixel stays background
    assert tuple(pic[1, 1]) != vg.WRONG_RGB
    with pytest.raises(ValueError, match="shape"):
        vg.framed_grid(x, np.zeros((1, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"\(R, N, C, H, W\)"):
        vg.framed_grid(x[0])


def test_guidance_sweep_figure_slider_changes_picture_and_title():
    scales = [0.0, 1.0, 4.0]
    grids = {s: images(seed=k) for k, s in enumerate(scales)}
    wrong = {s: np.zeros((2, 3), dtype=bool) for s in scales}
    fig = vg.guidance_sweep_figure(scales, grids, wrong=wrong, notes={1.0: "judge 90%"}, class_names=["a", "b", "c"], active=1)
    assert "unconditional" not in title_of(fig) and "judge 90%" in title_of(fig)
    slider = fig.layout.sliders[0]
    assert slider.active == 1 and [s.label for s in slider.steps] == ["0", "1", "4"]
    sources = [s.args[0]["source"][0] for s in slider.steps]
    titles = [s.args[1]["title.text"] for s in slider.steps]
    assert len(set(sources)) == 3 and len(set(titles)) == 3  # the last step changes data and title
    assert fig.data[0].source == sources[1]
    assert "unconditional" in titles[0] and "no guidance" in titles[1] and "scale 4" in titles[2]
    # the measured numbers get a line of their own (on one line with s = 0's they overflowed the figure)
    assert titles[1].endswith("no guidance</sup><br><sup>judge 90%</sup>")
    # 0, 1, 4 sit evenly on the slider: it says that its stops are not to scale
    assert slider.currentvalue.suffix == NOT_TO_SCALE
    assert list(fig.layout.xaxis.ticktext) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="one"):
        vg.guidance_sweep_figure([0.0, 2.0], grids)
    with pytest.raises(ValueError, match="same shape"):
        vg.guidance_sweep_figure([0.0, 1.0], {0.0: images(), 1.0: images(R=3)})


def test_tradeoff_figure_plots_the_numbers():
    live = {"scale": [0, 1, 2], "accuracy": [0.1, 0.9, 1.0], "distance": [5.0, 4.0, 3.0], "fd": [60.0, 20.0, 25.0]}
    bench = {"scale": [1, 2], "accuracy": [0.85, 0.99], "fd": [6.0, 15.0]}
    fig = vg.tradeoff_figure(
        live, bench, {1.0: 9.62, 1.5: 2.27}, judge_ceiling=0.98, real_distance=4.5, fd_floor_live=7.5, fd_floor_benchmark=1.1
    )
    title_of(fig)
    by_axis = {}
    for tr in fig.data:
        by_axis.setdefault((tr.xaxis, tr.yaxis), []).append(tr)
    acc = [tr for tr in by_axis[("x", "y")] if tr.mode == "lines+markers"]
    assert [list(tr.y) for tr in acc] == [[0.1, 0.9, 1.0], [0.85, 0.99]]
    paper = by_axis[("x4", "y4")][0]
    assert list(paper.x) == [1.0, 1.5] and list(paper.y) == [9.62, 2.27]
    assert fig.layout.yaxis3.type == "log"
    refs = [tr for tr in fig.data if tr.line.dash == "dash"]
    assert sorted(tr.y[0] for tr in refs) == [0.98, 4.5, 7.5]
    with pytest.raises(ValueError, match="missing"):
        vg.tradeoff_figure({"scale": [1]}, bench, {}, judge_ceiling=1, real_distance=1, fd_floor_live=1, fd_floor_benchmark=1)
    with pytest.raises(ValueError, match="one value per scale"):
        vg.tradeoff_figure(
            {**live, "fd": [1.0]}, bench, {}, judge_ceiling=1, real_distance=1, fd_floor_live=1, fd_floor_benchmark=1
        )


def test_channel_quirk_figure_moves_only_the_guided_rows():
    g = torch.Generator().manual_seed(0)
    u, c = torch.randn(4, 8, 8, generator=g), torch.randn(4, 8, 8, generator=g)
    scales = [1.0, 4.0]
    guided = {s: {"all": u + s * (c - u), "official": torch.cat([u[:3] + s * (c[:3] - u[:3]), c[3:]])} for s in scales}
    fig = vg.channel_quirk_figure(scales, u, c, guided, active=1)
    assert "s = 4" in title_of(fig)
    assert len(fig.data) == 16
    np.testing.assert_allclose(np.array(fig.data[15].z), c[3].numpy(), atol=1e-3)  # official, channel 3
    step = fig.layout.sliders[0].steps[0]
    assert list(step.args[2]) == list(range(8, 16))  # rows 3 and 4 move
    np.testing.assert_allclose(np.array(step.args[0]["z"][0]), guided[1.0]["all"][0].numpy(), atol=1e-3)
    assert step.args[1]["title.text"] != fig.layout.sliders[0].steps[1].args[1]["title.text"]
    with pytest.raises(ValueError, match="official"):
        vg.channel_quirk_figure(scales, u, c, {1.0: {"all": u}, 4.0: guided[4.0]})
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        vg.channel_quirk_figure(scales, u[0], c, guided)


def test_guidance_mpl_draws_rows():
    rows = {"s = 1": images(R=1)[0], "s = 4": images(R=1, seed=1)[0]}
    fig = vg.guidance_mpl(rows, wrong={"s = 1": [True, False, False], "s = 4": [False] * 3}, title="t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["s = 1", "s = 4"]
    with pytest.raises(ValueError, match="empty"):
        vg.guidance_mpl({})


# ----------------------------------------------------------------------------- widget


@pytest.fixture(scope="module")
def tiny_model():
    return nudged_micro_dit(8, 0.05)


def test_class_samples_share_the_noise(tiny_model):
    from dit_book.widgets.guidance import class_samples, describe

    a = class_samples(tiny_model, 3, 1.0, n=4, num_steps=2, seed=0)
    b = class_samples(tiny_model, 3, 1.0, n=4, num_steps=2, seed=0)
    assert a.shape == (4, 1, 8, 8) and torch.equal(a, b) and a.abs().max() <= 1
    out = describe(a, 3)
    assert set(out) == {"distance"} and out["distance"] > 0
    with pytest.raises(ValueError, match="n must be"):
        class_samples(tiny_model, 3, 1.0, n=1)


def test_guidance_explorer_reacts(tiny_model):
    pytest.importorskip("ipywidgets")
    from dit_book.widgets.guidance import guidance_explorer

    box = guidance_explorer(tiny_model, [str(k) for k in range(10)], label=2, cfg_scale=2.0, n=3, num_steps=2)
    controls, picture, readout = box.children
    first = picture.value
    assert first[:4] == b"\x89PNG" and "s = 2" in readout.value
    controls.children[1].value = 0.0  # the guidance scale
    assert picture.value != first and "s = 0" in readout.value


def test_guidance_sweep_figure_names_its_rows():
    scales = [1.0, 4.0]
    grids = {s: images(R=2, C=3, seed=k) for k, s in enumerate(scales)}
    fig = vg.guidance_sweep_figure(scales, grids, row_names=["every step", "t ≤ 500"])
    assert list(fig.layout.yaxis.ticktext) == ["every step", "t ≤ 500"]
    assert list(vg.guidance_sweep_figure(scales, grids).layout.yaxis.ticktext) == ["noise 1", "noise 2"]
    with pytest.raises(ValueError, match="one name per row of the grids \\(2\\), got 3"):
        vg.guidance_sweep_figure(scales, grids, row_names=["a", "b", "c"])


def colour_rows():
    rows = [dict(cfg_scale=1.0, fix="none", accuracy=0.9, fd=6.0, lit=37.0)]
    for k, s in enumerate((2.0, 4.0)):
        rows.append(dict(cfg_scale=s, fix="none", accuracy=0.95 + k / 50, fd=40.0 * (k + 1), lit=45.0 + 10 * k))
        rows.append(dict(cfg_scale=s, fix="interval t<=500", accuracy=0.94 + k / 50, fd=5.0 + k, lit=38.0 + k))
    rows.append(dict(cfg_scale=4.0, fix="only t in [0, 249]", accuracy=0.9, fd=7.0, lit=37.0))  # not drawn
    return rows


def test_colour_guidance_figure_plots_the_numbers_per_fix():
    from dit_book.viz.guidance_colour import colour_guidance_figure

    fig = colour_guidance_figure(colour_rows(), real_lit=36.5, fd_floor=0.9, judge_ceiling=0.99, title="T")
    assert title_of(fig).startswith("T")
    lines = {(tr.name, tr.xaxis): tr for tr in fig.data}
    every, half = lines["guidance at every step", "x2"], lines["guidance only at t ≤ 500", "x3"]
    assert list(every.x) == [1.0, 2.0, 4.0] and list(every.y) == [6.0, 40.0, 80.0]  # FD panel, s = 1 first
    assert list(half.x) == [1.0, 2.0, 4.0] and list(half.y) == [37.0, 38.0, 39.0]  # lit panel
    assert fig.layout.yaxis2.type == "log"
    assert lines["real images", "x3"].y == (36.5, 36.5) and lines["real vs real", "x2"].y == (0.9, 0.9)
    assert not any("only t in" in (tr.name or "") for tr in fig.data)  # the quarter windows are a table's
    with pytest.raises(ValueError, match="exactly one row at cfg_scale 1"):
        colour_guidance_figure(colour_rows()[1:], real_lit=36.5, fd_floor=0.9, judge_ceiling=0.99)
    with pytest.raises(ValueError, match="keys"):
        colour_guidance_figure([{"cfg_scale": 1.0}], real_lit=36.5, fd_floor=0.9, judge_ceiling=0.99)


def test_lit_pixels_counts_the_shape_on_a_black_background():
    from dit_lib.distances import lit_pixels

    x = -torch.ones(2, 3, 4, 4)
    x[0, 0, :2, :3] = 1.0  # a red 2x3 block
    x[1, 2, 1, 1] = 0.5  # one dim blue pixel
    x[1, 1, 0, 0] = -0.2  # below 0: dark
    assert lit_pixels(x).tolist() == [6.0, 1.0]
    with pytest.raises(ValueError, match="x"):
        lit_pixels(torch.ones(3, 4, 4))

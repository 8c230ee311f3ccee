"""Figures and widget of chapter 3 (viz.attention, widgets.attention).

Each figure is built from real attention maps (a small nudged DiT on digits) without error, has a
title, and its sliders or dropdowns have one step per precomputed value; the arrays a control
writes into the figure are the maps' own numbers (rounded to 3 decimals), and two controls of
one figure change different properties, so neither undoes the other. The widget constructs and
reacts to its controls.
"""

import math

import numpy as np
import pytest
import torch

pytest.importorskip("plotly")

from dit_lib.attention_maps import attention_entropy, attention_over_time
from dit_lib.data import load_dataset
from dit_lib.models import DiT_models
from dit_book.viz import attention as va
from dit_book.viz import query_maps as vq

from conftest import nudged_micro_dit

from conftest import title_of

T_SHOW = [0, 250, 999]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "test", n=6)


@pytest.fixture(scope="module")
def model():
    return nudged_micro_dit(8, 0.1)


@pytest.fixture(scope="module")
def one(model, digits):
    maps, xs = attention_over_time(model, digits.images[:1], digits.labels[:1], T_SHOW, seed=0)
    return digits.images[0], xs[:, 0], maps[:, :, 0]  # (C, H, W), (n_t, C, H, W), (n_t, depth, h, L, L)


def test_default_zmax_is_a_rounded_quantile():
    maps = torch.full((2, 16, 16), 1 / 16)
    assert va.default_zmax(maps) == 0.1  # 0.0625 rounded up to 0.05 steps
    assert va.default_zmax(torch.eye(16)) == 1.0


def test_cost_figure():
    fig = va.attention_cost_figure(
        {"DiT-S": ([16, 64], [0.01, 0.03])}, [dict(label="DiT-XL/2", L=256, share=0.036)], title="cost"
    )
    assert title_of(fig) == "cost" and len(fig.data) == 2
    assert list(fig.data[0].y) == [1.0, 3.0]  # percent
    with pytest.raises(ValueError, match="one share per L"):
        va.attention_cost_figure({"x": ([16], [0.1, 0.2])})


def test_matrices_figure_slider_writes_every_map(one):
    x0, xs, maps = one
    depth, h = maps.shape[1], maps.shape[2]
    fig = va.attention_matrices_figure(maps, T_SHOW, x0=x0, xs=xs, grid_width=4)
    title_of(fig)
    heat = [tr for tr in fig.data if tr.type == "heatmap"]
    assert len(heat) == depth * h
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == [str(t) for t in T_SHOW]
    z = steps[2].args[0]["z"]  # t = 999: x_t image, then every map
    assert len(z) == 1 + depth * h
    np.testing.assert_allclose(np.array(z[1 + 1 * h + 1]), maps[2, 1, 1].numpy(), atol=5e-4)
    assert steps[2].args[2][0] == 1  # the x_t image trace is rewritten too
    with pytest.raises(ValueError, match="n_t"):
        va.attention_matrices_figure(maps[:2], T_SHOW)


def test_query_figure_controls_change_different_properties(one):
    x0, xs, maps = one
    depth, h, L = maps.shape[1], maps.shape[2], maps.shape[3]
    fig = vq.query_maps_figure(x0, xs, maps, T_SHOW, (4, 4), 2, active_query=5)
    title_of(fig)
    t_slider, q_slider = fig.layout.sliders
    assert len(t_slider.steps) == len(T_SHOW) and len(q_slider.steps) == L
    assert t_slider.steps[0].method == "restyle" and set(t_slider.steps[0].args[0]) == {"visible"}
    assert set(q_slider.steps[0].args[0]) == {"z"}  # the query slider never touches visibility
    # query 9 at t = 250 (group 1), layer 0, head 1: its row on the 4 x 4 grid
    idx = q_slider.steps[9].args[2]
    z = q_slider.steps[9].args[0]["z"]
    k = 1 * depth * h + 0 * h + 1
    assert fig.data[idx[k]].type == "heatmap"
    np.testing.assert_allclose(np.array(z[k]), maps[1, 0, 1, 9].reshape(4, 4).numpy(), atol=5e-4)
    # exactly one timestep group visible at a time, and the red frames follow the query
    vis = t_slider.steps[2].args[0]["visible"]
    assert sum(v for v, tr in zip(vis, fig.data) if tr.type == "heatmap") == depth * h
    frames = q_slider.steps[9].args[1]["shapes"]
    assert len(frames) == 2 + depth * h and frames[-1]["x0"] == 1 - 0.5 and frames[-1]["y0"] == 2 - 0.5
    with pytest.raises(ValueError, match="queries"):
        vq.query_maps_figure(x0, xs, maps, T_SHOW, (4, 4), 2, queries=[16])
    with pytest.raises(ValueError, match="grid"):
        vq.query_maps_figure(x0, xs, maps, T_SHOW, (2, 8), 2)


def test_layer_curves_figure_dropdown(one):
    _, _, maps = one
    ent = attention_entropy(maps).mean(dim=(2, 3))  # (n_t, depth)
    views = {
        "entropy": dict(trained=ent, fresh=ent * 0 + math.log(16), reference=(math.log(16), "log L"), y_title="nats"),
        "other": dict(trained=ent * 2, y_title="x"),
    }
    fig = va.layer_curves_figure(views, T_SHOW, title="curves")
    title_of(fig)
    depth = ent.shape[1]
    assert len(fig.data) == depth + depth + 1 + depth
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["entropy", "other"]
    assert sum(buttons[1].args[0]["visible"]) == depth
    np.testing.assert_allclose(fig.data[0].y, ent[:, 0].numpy(), atol=1e-4)
    with pytest.raises(ValueError, match="n_t"):
        va.layer_curves_figure({"v": dict(trained=ent[:2])}, T_SHOW)


def test_attention_mpl(one):
    x0, xs, maps = one
    fig = vq.attention_mpl(x0, xs[1], maps[1, 0, 0], 5, (4, 4), 2, title="t")
    assert len(fig.axes) == 5  # four panels and a colour bar
    with pytest.raises(ValueError, match="0..15"):
        vq.attention_mpl(x0, xs[1], maps[1, 0, 0], 16, (4, 4), 2)


def test_widget_builds_and_reacts(model, digits):
    pytest.importorskip("ipywidgets")
    from dit_book.widgets.attention import attention_explorer

    torch.manual_seed(0)
    other = DiT_models["DiT-Micro/2"](input_size=8, in_channels=1, num_classes=10).eval()
    box = attention_explorer({"nudged": (model, digits), "fresh": (other, digits)}, t=100, query=3)
    (pick, _idx, t_slider), (layer, head, query) = box.children[0].children, box.children[1].children
    picture, readout = box.children[2], box.children[3]
    first = picture.value
    assert first and "entropy" in readout.value and "log L = 2.773" in readout.value
    query.value = 7
    assert picture.value != first and "query 7" in readout.value
    t_slider.value = 999
    layer.value, head.value = 1, 3
    pick.value = "fresh"
    assert "query 7" in readout.value and "row sum 1.0000" in readout.value
    with pytest.raises(ValueError, match="pair each model"):
        attention_explorer({"bad": (model, load_dataset("shapes", "test", n=2))})


def test_offset_profiles_figure(one):
    from dit_lib.attention_maps import offset_profile

    _, _, maps = one
    prof = offset_profile(maps, (4, 4))  # (n_t, depth, h, 7, 7)
    fig = va.offset_profiles_figure(prof, T_SHOW, active=1)
    title_of(fig)
    depth, h = prof.shape[1], prof.shape[2]
    assert len(fig.data) == depth * h and len(fig.layout.shapes) == depth * h
    assert list(fig.data[0].x) == list(range(-3, 4))
    z = fig.layout.sliders[0].steps[2].args[0]["z"]
    np.testing.assert_allclose(np.array(z[h + 2]), prof[2, 1, 2].numpy(), atol=5e-4)
    with pytest.raises(ValueError, match="n_t"):
        va.offset_profiles_figure(prof[:1], T_SHOW)

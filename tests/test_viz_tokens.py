"""Figures and widgets of chapters 1-2 (viz.tokens, viz.embeddings, widgets.tokens, widgets.embeddings).

Each figure is built from real tensors without error, has a title, and its sliders or dropdowns
have one step per precomputed value; the static arrays it draws are checked against the library;
each widget constructs and reacts to its controls.
"""

import math

import numpy as np
import pytest
import torch

pytest.importorskip("plotly")

from dit_lib.data import load_dataset
from dit_lib.embeddings import LabelEmbedder, TimestepEmbedder, get_2d_sincos_pos_embed, timestep_embedding
from dit_lib.flops import build_on_meta, count_macs
from dit_lib.patchify import patchify
from dit_book.plotting import MAC_PARTS, figure_png
from dit_book.viz import embeddings as ve
from dit_book.viz import positions as vpos
from dit_book.viz import tokens as vt

from conftest import title_of


# ----------------------------------------------------------------------------- arrays behind the figures


def test_divisors():
    assert vt.divisors(16) == [1, 2, 4, 8, 16]
    assert vt.divisors(12) == [1, 2, 3, 4, 6, 12]


def test_token_strip_holds_the_patches_in_reading_order(images):
    x, p = images["shape"], 4
    strip = vt.token_strip(x, p, per_line=64, thumb=16, gap=4)  # one line of 16 thumbnails
    assert strip.shape == (16 + 8, 16 * 20 + 4, 3)
    tokens = patchify(x[None], p)[0]  # (L, p*p*C) in [-1, 1]
    for k in (0, 5, 15):
        thumb = strip[4:20, 4 + 20 * k : 20 + 20 * k]  # (16, 16, 3): patch k enlarged 4x
        patch = thumb[::4, ::4].astype(np.float64) / 127.5 - 1  # back to (p, p, C) in [-1, 1]
        np.testing.assert_allclose(patch.reshape(-1), tokens[k].numpy(), atol=1 / 127.5)


def test_token_strip_wraps_and_rejects_bad_patch_size(images):
    strip = vt.token_strip(images["digit"], 1, per_line=64, thumb=16, gap=4)  # 256 tokens -> 4 lines
    assert strip.shape[0] == 4 * 20 + 4
    with pytest.raises(ValueError, match="divisors that work: \\[1, 2, 4, 8, 16\\]"):
        vt.token_strip(images["digit"], 3)


# ----------------------------------------------------------------------------- chapter 1 figures


def test_patch_grid_figure_slider_and_traces(images):
    sizes = [1, 2, 4, 8, 16]
    fig = vt.patch_grid_figure(images, sizes, active=2)
    assert "p = 4" in title_of(fig)
    (slider,) = fig.layout.sliders
    assert len(slider.steps) == len(sizes) and slider.active == 2
    assert [s.label for s in slider.steps] == [str(p) for p in sizes]
    per_step = 5 * len(images)
    assert len(fig.data) == per_step * len(sizes)
    for i, step in enumerate(slider.steps):
        visible = step.args[0]["visible"]
        assert sum(visible) == per_step and all(visible[per_step * i : per_step * (i + 1)])
        assert f"p = {sizes[i]}" in step.args[1]["title.text"]
    assert sum(bool(t.visible) for t in fig.data) == per_step  # only the active step shows


def test_patch_grid_figure_rejects_bad_input(images):
    with pytest.raises(ValueError, match="patch size 3"):
        vt.patch_grid_figure(images, [2, 3])
    with pytest.raises(ValueError, match="images is empty"):
        vt.patch_grid_figure({}, [2])


def test_patch_tokens_mpl_and_png(images):
    fig = vt.patch_tokens_mpl(images["shape"], 4, title="a shape")
    assert fig._suptitle.get_text() == "a shape"
    assert "4x4 grid" in fig.axes[0].get_title()
    assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_pos_embed_figure_dropdown_orders():
    table = get_2d_sincos_pos_embed(32, (3, 4))  # non-square grid
    fig = vpos.pos_embed_figure(table, (3, 4))
    title_of(fig)
    (menu,) = fig.layout.updatemenus
    assert len(menu.buttons) == 2 and len(fig.data) == 2
    reading, by_column = (np.array(t.z) for t in fig.data)
    np.testing.assert_allclose(reading, table.numpy(), atol=0.005)  # rounded to 2 decimals
    # column by column: the first half (the column code) is constant over runs of h = 3 lines
    assert np.array_equal(by_column[0, :16], by_column[2, :16])
    assert not np.array_equal(by_column[0, 16:], by_column[2, 16:])
    with pytest.raises(ValueError, match="grid"):
        vpos.pos_embed_figure(table, (4, 4))


def test_position_similarity_figure_steps():
    table = get_2d_sincos_pos_embed(64, 6)
    fig = vpos.position_similarity_figure(table, (6, 6))
    (slider,) = fig.layout.sliders
    assert len(slider.steps) == 9  # every other row and column
    assert "token 0" in title_of(fig)
    z0 = np.array(fig.data[0].z)
    assert z0.shape == (6, 6) and z0[0, 0] == 1.0
    fig = vpos.position_similarity_figure(table, (6, 6), tokens=[7, 14])
    assert [s.label for s in fig.layout.sliders[0].steps] == ["7", "14"]
    assert np.array(fig.layout.sliders[0].steps[1].args[0]["z"][0])[2, 2] == 1.0  # token 14 = (2, 2)
    with pytest.raises(ValueError, match="tokens"):
        vpos.position_similarity_figure(table, (6, 6), tokens=[36])


def test_macs_vs_patch_figure_dropdown():
    counts = {m: {p: count_macs(build_on_meta(f"{m}/{p}")) for p in (8, 4, 2)} for m in ("DiT-S", "DiT-XL")}
    paper = {"DiT-XL": {8: 7.39, 4: 29.05, 2: 118.64}}
    fig = vt.macs_vs_patch_figure(counts, paper, active="DiT-XL")
    assert "DiT-XL" in title_of(fig)
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["DiT-S", "DiT-XL"] and menu.active == 1
    per_model = len(MAC_PARTS) + 1
    assert len(fig.data) == 2 * per_model
    bars = [t for t in fig.data[per_model:] if t.type == "bar"]
    total = sum(np.array(t.y) for t in bars)
    np.testing.assert_allclose(total, [counts["DiT-XL"][p].gmacs for p in (2, 4, 8)])


# ----------------------------------------------------------------------------- chapter 2 figures


def test_timestep_vector_figure_slider():
    t = [0, 10, 999]
    fig = ve.timestep_vector_figure(t, timestep_embedding(torch.tensor(t, dtype=torch.float32)))
    title_of(fig)
    (slider,) = fig.layout.sliders
    assert [s.label for s in slider.steps] == ["0", "10", "999"]
    assert np.array(fig.data[0].y)[:128].tolist() == [1.0] * 128  # t = 0: every cosine is 1
    with pytest.raises(ValueError, match="rows"):
        ve.timestep_vector_figure([0, 1], timestep_embedding(torch.zeros(3)))


def test_timestep_curves_figure_slider():
    t = torch.arange(50, dtype=torch.float32)
    tables = {str(P): timestep_embedding(t, max_period=P) for P in (100, 10000)}
    fig = ve.timestep_curves_figure(t, tables, [0, 5, 200], labels=["a", "b", "c"], prefix="P = ", notes={"100": "short"})
    title_of(fig)
    assert len(fig.data) == 3 and len(fig.layout.sliders[0].steps) == 2
    assert "short" in fig.layout.sliders[0].steps[0].args[1]["title.text"]
    with pytest.raises(ValueError, match="labels"):
        ve.timestep_curves_figure(t, tables, [0, 5], labels=["a"])


def test_similarity_matrix_is_toeplitz_for_raw_features():
    t = torch.arange(0, 1000, 50, dtype=torch.float32)
    raw = ve.cosine_similarity_matrix(timestep_embedding(t))
    assert torch.allclose(torch.diagonal(raw, 3), torch.diagonal(raw, 3)[0].expand(len(t) - 3), atol=1e-5)
    torch.manual_seed(0)
    mlp = ve.cosine_similarity_matrix(TimestepEmbedder(32)(t).detach())
    fig = ve.similarity_matrix_figure(t, {"raw": raw, "mlp": mlp})
    title_of(fig)
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["raw", "mlp"]
    assert [b.args[0]["visible"] for b in menu.buttons] == [[True, False], [False, True]]
    with pytest.raises(ValueError, match="shape"):
        ve.similarity_matrix_figure(t[:3], {"raw": raw})


def test_similarity_profile_figure():
    gap = torch.arange(1, 10)
    fig = ve.similarity_profile_figure(gap, {"a": torch.ones(9), "b": torch.zeros(9)})
    title_of(fig)
    assert len(fig.data) == 2 and fig.layout.xaxis.type == "log"


def test_label_dropout_figure_matches_binomial():
    torch.manual_seed(0)
    emb = LabelEmbedder(num_classes=10, hidden_size=8, dropout_prob=0.1)
    labels = torch.arange(64) % 10
    dropped = {B: torch.stack([(emb.token_drop(labels[:B]) == 10).sum() for _ in range(300)]) for B in (16, 64)}
    fig = ve.label_dropout_figure(dropped, 0.1)
    title_of(fig)
    (slider,) = fig.layout.sliders
    assert [s.label for s in slider.steps] == ["16", "64"]
    k, pmf = slider.steps[0].args[0]["x"][1], slider.steps[0].args[0]["y"][1]
    for kk, pp in zip(k, pmf):
        assert pp == pytest.approx(math.comb(16, kk) * 0.1**kk * 0.9 ** (16 - kk), abs=1e-5)
    assert sum(slider.steps[1].args[0]["y"][0]) == pytest.approx(1, abs=1e-3)  # measured shares sum to 1
    with pytest.raises(ValueError, match="prob"):
        ve.label_dropout_figure(dropped, 1.5)


def test_conditioning_figure_and_mpl():
    c = torch.randn(3, 4, 8)
    fig = ve.conditioning_figure([0, 500, 999], ["a", "b", "c", "null"], c)
    title_of(fig)
    assert len(fig.layout.sliders[0].steps) == 3
    with pytest.raises(ValueError, match="shape"):
        ve.conditioning_figure([0, 1], ["a"], c)
    mfig = ve.conditioning_mpl(torch.randn(8), torch.randn(8), t_label="5", y_label="a")
    assert len(mfig.axes) == 3 and "t = 5" in mfig.axes[0].get_title(loc="left")
    with pytest.raises(ValueError, match="same size"):
        ve.conditioning_mpl(torch.randn(8), torch.randn(4))


# ----------------------------------------------------------------------------- widgets


def test_patch_explorer_constructs_and_reacts():
    pytest.importorskip("ipywidgets")
    from dit_book.widgets.tokens import patch_explorer

    data = {"shapes": load_dataset("shapes", n=4), "digits": load_dataset("digits", n=4)}
    box = patch_explorer(data, index=1, patch_size=4)
    (pick, idx, size), picture, readout = box.children[0].children, box.children[1], box.children[2]
    assert list(size.options) == [1, 2, 4, 8, 16] and size.value == 4
    assert picture.value[:4] == b"\x89PNG" and "(1, 16, 48)" in readout.value and "exact" in readout.value
    pick.value = "digits"  # 8x8: the patch sizes follow
    assert list(size.options) == [1, 2, 4, 8] and idx.max == 3
    size.value = 2
    assert "(1, 16, 4)" in readout.value
    with pytest.raises(ValueError, match="empty"):
        patch_explorer({})


def test_conditioning_explorer_constructs_and_reacts():
    pytest.importorskip("ipywidgets")
    from dit_book.widgets.embeddings import conditioning_explorer

    torch.manual_seed(0)
    t_emb, y_emb = TimestepEmbedder(16), LabelEmbedder(num_classes=3, hidden_size=16, dropout_prob=0.1)
    box = conditioning_explorer(t_emb, y_emb, ["a", "b", "c"], num_timesteps=100, t=10, label=1)
    (_play, t_slider, y_pick), picture, readout = box.children[0].children, box.children[1], box.children[2]
    assert [v for _, v in y_pick.options] == [0, 1, 2, 3]  # the null label is offered
    assert t_slider.max == 99 and picture.value[:4] == b"\x89PNG"
    before = readout.value
    y_pick.value = 3
    assert readout.value != before
    with pytest.raises(ValueError, match="class_names"):
        conditioning_explorer(t_emb, y_emb, ["a"])

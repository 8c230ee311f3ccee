"""Figures and the widget of chapter 5 (viz.model, widgets.model): the assembled DiT.

The arrays behind each figure are checked against the library (the breakdowns against
`count_params` / `count_macs`; the shape trace itself is tested in test_anatomy.py); each figure
has a title and one control step per precomputed value; the widget constructs, reacts, and
reports bad input.
"""

import pytest

pytest.importorskip("plotly")

from dit_lib.anatomy import collapse_blocks, param_breakdown, shape_trace
from dit_lib.flops import build_on_meta, count_macs, count_params
from conftest import small_dit
from dit_book.viz import model as vm


# ----------------------------------------------------------------------------- shape tables


def test_shape_table_html():
    html = vm.shape_table_html(collapse_blocks(shape_trace(small_dit())))
    assert "x_embedder.proj" in html and "(2, 16, 32)" in html


def test_shape_table_figure_has_one_table_per_model_and_a_dropdown():
    traces = {n: collapse_blocks(shape_trace(build_on_meta(n), batch_size=1)) for n in ("DiT-S/8", "DiT-XL/2")}
    fig = vm.shape_table_figure(traces, active="DiT-XL/2", title="T")
    assert len(fig.data) == 2 and [d.visible for d in fig.data] == [False, True]
    assert fig.layout.title.text.startswith("T") and "(1, 256, 1152)" in fig.layout.title.text
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == list(traces)
    assert buttons[0].args[0]["visible"] == [True, False]
    assert "(1, 16, 384)" in buttons[0].args[1]["title.text"]
    cells = fig.data[1].cells.values
    assert cells[3][1] == "(1, 256, 1152)" and cells[4][1] == "294,912"
    with pytest.raises(ValueError, match="traces is empty"):
        vm.shape_table_figure({})
    with pytest.raises(ValueError, match="active 'nope'"):
        vm.shape_table_figure(traces, active="nope")


# ----------------------------------------------------------------------------- parameters


def test_params_breakdown_figure():
    breakdowns = {n: param_breakdown(build_on_meta(n)) for n in ("DiT-S/2", "DiT-XL/2")}
    fig = vm.params_breakdown_figure(breakdowns)
    assert fig.layout.title.text and fig.layout.barmode == "stack" and fig.layout.barnorm == "percent"
    assert len(fig.data) == len(vm.PARAM_PARTS)
    adaln = next(d for d in fig.data if d.name == "adaLN-Zero regressions")
    assert list(adaln.y) == ["DiT-S/2", "DiT-XL/2"]
    assert adaln.x[1] == pytest.approx(breakdowns["DiT-XL/2"]["adaLN-Zero regressions"] / 1e6)
    share = adaln.customdata[1][1]
    assert share == pytest.approx(100 * breakdowns["DiT-XL/2"]["adaLN-Zero regressions"] / 675_129_632)
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.args[0]["barnorm"] for b in buttons] == ["percent", ""]
    with pytest.raises(ValueError, match="breakdowns is empty"):
        vm.params_breakdown_figure({})


# ----------------------------------------------------------------------------- compute


def test_macs_breakdown_figure_slider_steps_hold_the_counts():
    names = ["DiT-S/8", "DiT-XL/2"]
    counts = {f"{8 * s}x{8 * s}": {n: count_macs(build_on_meta(n, input_size=s)) for n in names} for s in (16, 32, 64)}
    fig = vm.macs_breakdown_figure(counts, active="256x256")
    assert fig.layout.barnorm == "percent" and "L² attention products" in fig.layout.title.text
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == list(counts)
    assert fig.layout.sliders[0].active == 1
    from dit_book.plotting import MAC_PARTS

    fields = list(MAC_PARTS)
    assert [d.name for d in fig.data] == list(MAC_PARTS.values())
    for step, label in zip(steps, counts):
        xs = step.args[0]["x"]
        for field, x in zip(fields, xs):
            assert x == pytest.approx([getattr(counts[label][n], field) / 1e9 for n in names])
    # the data drawn first is the active size
    attn = fig.data[0]
    assert attn.x[1] == pytest.approx(counts["256x256"]["DiT-XL/2"].attention_matmul / 1e9)
    # the attention share grows with the image
    share = [counts[k]["DiT-XL/2"].attention_matmul / counts[k]["DiT-XL/2"].total for k in counts]
    assert share == sorted(share)
    with pytest.raises(ValueError, match="same models in the same order"):
        vm.macs_breakdown_figure({"a": counts["128x128"], "b": {"DiT-S/8": counts["128x128"]["DiT-S/8"]}})
    with pytest.raises(ValueError, match="counts is empty"):
        vm.macs_breakdown_figure({})


def test_fid_gflops_figure():
    gflops = {
        f"DiT-{s}/{p}": g
        for (s, p), g in zip([(s, p) for s in ("S", "XL") for p in (8, 4, 2)], [0.36, 1.41, 6.06, 7.39, 29.05, 118.64])
    }
    fid = dict(zip(gflops, [153.6, 100.41, 68.4, 106.41, 43.01, 19.47]))
    params = {n: count_params(build_on_meta(n)) for n in gflops}
    fig = vm.fid_gflops_figure(gflops, fid, params)
    assert fig.layout.xaxis.type == "log" and fig.layout.title.text
    sizes = [d for d in fig.data if d.name and d.name.startswith("DiT-")]
    assert [d.name for d in sizes] == ["DiT-S", "DiT-XL"]
    assert list(sizes[1].x) == [7.39, 29.05, 118.64] and list(sizes[1].y) == [106.41, 43.01, 19.47]
    assert list(sizes[1].marker.symbol) == ["circle", "square", "diamond"]
    assert "675 M parameters" in sizes[1].hovertext[2]
    for b in fig.layout.updatemenus[0].buttons:
        assert len(b.args[0]["visible"]) == len(b.args[0]["mode"]) == len(fig.data)
    with pytest.raises(ValueError, match="must name the same models"):
        vm.fid_gflops_figure({"DiT-S/8": 1.0}, {"DiT-S/4": 2.0})


# ----------------------------------------------------------------------------- widget


def test_model_explorer_reacts_and_reports_bad_input():
    pytest.importorskip("ipywidgets")
    from dit_book.widgets.model import model_explorer

    box = model_explorer(size="XL", patch_size=2, input_size=32, in_channels=4, batch_size=8)
    readout, table = box.children[2], box.children[3]
    assert "675,129,632" in readout.value and "118.621 GMACs" in readout.value
    assert "(8, 8, 32, 32)" in table.value
    size, patch, side = box.children[0].children
    patch.value = 8
    assert "DiT with N = 28" in readout.value and "<b>16</b>" in readout.value
    side.value = 28  # 28 is not divisible by 8
    assert "ValueError" in readout.value and "not divisible by patch_size 8" in readout.value
    assert table.value == ""
    patch.value = 1  # no preset: built from the size's config
    assert "p = 1" in readout.value and f"<b>{28 * 28:,}</b>" in readout.value
    size.value = "Tiny"
    assert "N = 4, D = 128" in readout.value
    with pytest.raises(ValueError, match="size must be one of"):
        model_explorer(size="XXL")

"""dit_book.plotting, the book's shared plotting, tested once for its contract: the registered
template is plotly's own with the book's look on top, every figure helper carries it, the control
builders make the dicts plotly takes, the picture and table helpers round-trip, and no chapter's
figure module imports another chapter's."""

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("plotly")

import plotly.io as pio

from dit_book import plotting
from dit_book.plotting import (
    COLORWAY,
    FONT,
    GRID,
    LOG_SCALE,
    NOT_TO_SCALE,
    PAPER,
    figure,
    grid_lines,
    html_table,
    menu,
    png_data_uri,
    rounded,
    sample_grid,
    slider,
    spacing_note,
    step,
    subplots,
    subtitle,
    to_rgb_uint8,
)

VIZ = Path(plotting.__file__).parent / "viz"


# ----------------------------------------------------------------------------- the look


def test_template_is_plotly_with_the_books_look():
    name = plotting.template()
    look = pio.templates[name]
    assert name == "dit_book" and plotting.template() == name  # registered once, by name
    assert look.layout.paper_bgcolor == look.layout.plot_bgcolor == PAPER
    assert look.layout.font.to_plotly_json() == FONT and list(look.layout.colorway) == COLORWAY
    assert look.layout.title.x == 0.02
    assert (look.layout.margin.l, look.layout.margin.r, look.layout.margin.t, look.layout.margin.b) == (60, 30, 60, 50)
    for axis in (look.layout.xaxis, look.layout.yaxis):
        assert axis.gridcolor == axis.zerolinecolor == GRID and axis.linecolor == plotting.FRAME
    assert look.data == pio.templates["plotly"].data  # trace defaults: plotly's own
    assert pio.templates.default == "plotly"  # nothing global changes


def test_figure_and_subplots_carry_the_template():
    fig = figure(height=300, title="T")
    assert fig.layout.template == pio.templates["dit_book"] and fig.layout.height == 300
    grid = subplots(rows=1, cols=2, subplot_titles=["a", "b"])
    assert grid.layout.template == pio.templates["dit_book"] and len(grid.layout.annotations) == 2


# ----------------------------------------------------------------------------- controls


def test_subtitle_step_slider_and_menu_build_what_plotly_takes():
    assert subtitle("T", "a", "", "b") == "T<br><sup>a</sup><br><sup>b</sup>"
    s = step("1", {"visible": [True, False]}, {"title.text": "x"})
    assert s == dict(label="1", method="update", args=[{"visible": [True, False]}, {"title.text": "x"}])
    assert step("a", {"barnorm": ""}, method="relayout")["method"] == "relayout"
    bar = slider([s], active=0, prefix="t = ", pad=20, y=0)
    assert bar == dict(active=0, currentvalue=dict(prefix="t = "), pad=dict(t=20), steps=[s], y=0)
    assert slider([s]) == dict(active=0, steps=[s])
    drop = menu([s], active=0, x=1.0)
    assert drop == dict(type="dropdown", buttons=[s], active=0, x=1.0)
    assert menu([s], kind="buttons")["type"] == "buttons"
    fig = figure([dict(type="bar", y=[1]), dict(type="bar", y=[2])], sliders=[bar], updatemenus=[drop])
    assert fig.layout.sliders[0].steps[0].args[1] == {"title.text": "x"}
    assert fig.layout.updatemenus[0].buttons[0].label == "1"


def test_a_slider_over_unevenly_spaced_numbers_says_so():
    def bar(labels, **kwargs):
        return slider([step(label, {}) for label in labels], **kwargs)

    # chapter 10's guidance scales: drawn evenly, so the current value carries the warning
    uneven = bar(["0", "1", "1.5", "2", "4", "6"], prefix="s = ")
    assert uneven["currentvalue"] == dict(prefix="s = ", suffix=NOT_TO_SCALE)
    assert bar(["0", "1", "2", "5", "10"])["currentvalue"] == dict(suffix=NOT_TO_SCALE)  # no prefix
    assert spacing_note(["999", "500", "100", "0"]) == NOT_TO_SCALE  # decreasing
    # powers: evenly spaced on a log scale, and the slider says that
    assert bar(["1", "2", "4", "8", "16"], prefix="p = ")["currentvalue"] == dict(prefix="p = ", suffix=LOG_SCALE)
    assert spacing_note(["100", "1000", "10000"]) == LOG_SCALE
    # evenly spaced numbers (up to 10% of a gap), names, two stops, and numbers that name things: no note
    assert bar(["0", "0.5", "1", "1.5"], prefix="s = ")["currentvalue"] == dict(prefix="s = ")
    assert "currentvalue" not in bar(["0", "100", "200", "300", "400", "500", "600", "700", "800", "900", "999"])
    assert spacing_note(["DiT-S/2", "DiT-B/2", "DiT-L/2"]) == spacing_note(["1", "7"]) == ""
    assert spacing_note(["250", "200", "150"]) == "" and spacing_note(["0", "1", "1.2"], tolerance=0.5)
    assert "currentvalue" not in bar(["0", "2", "4", "32", "34"], names=True)  # token indices
    fig = figure([dict(type="bar", y=[1])], sliders=[uneven])
    assert fig.layout.sliders[0].currentvalue.suffix == NOT_TO_SCALE


# the figure modules of one chapter, where there are several (a module may import its chapter's first)
CHAPTERS = {
    "tokens": ["positions"],
    "attention": ["query_maps"],
    "conditioning": ["ablation"],
    "forward": ["remains"],
    "posterior": ["band", "bound"],
    "training": ["ema"],
    "sampling": ["quality"],
}


def test_chapter_modules_import_shared_helpers_only_from_plotting():
    """...and the repository constants that tools/colab_cell.py generates (dit_book/_repository.py)."""
    first = {m: head for head, rest in CHAPTERS.items() for m in rest}
    for path in sorted(VIZ.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                shared = node.level == 2 and node.module in ("plotting", "_repository")
                own_chapter = node.level == 1 and node.module == first.get(path.stem)
                assert shared or own_chapter, f"{path.name} imports {'.' * node.level}{node.module}"


# ----------------------------------------------------------------------------- pictures and tables


def test_to_rgb_uint8_gray_and_colour(images):
    gray, rgb = to_rgb_uint8(images["digit"]), to_rgb_uint8(images["shape"])
    assert gray.shape == rgb.shape == (16, 16, 3) and gray.dtype == np.uint8
    assert (gray[..., 0] == gray[..., 2]).all()  # gray stays gray
    with pytest.raises(ValueError, match="C = 1 or 3"):
        to_rgb_uint8(torch.zeros(2, 4, 4))


def test_grid_lines_count():
    xs, ys = grid_lines(8, 12, 4)
    assert xs.count(None) == ys.count(None) == (12 // 4 + 1) + (8 // 4 + 1)


def test_png_data_uri_round_trip():
    from base64 import b64decode
    from io import BytesIO

    from PIL import Image

    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    uri = png_data_uri(rgb)
    assert uri.startswith("data:image/png;base64,")
    back = np.asarray(Image.open(BytesIO(b64decode(uri.split(",", 1)[1]))).convert("RGB"))
    assert np.array_equal(back, rgb)


def test_rounded_is_short_json():
    assert rounded(np.float32([0.41]), 2) == [0.41]


def test_sample_grid_places_every_image():
    rows = [torch.full((3, 1, 4, 4), -1.0), torch.full((3, 1, 4, 4), 1.0)]
    rows[0][1] = 1.0
    pic = sample_grid(rows, scale=2, gap=1)
    assert pic.shape == (2 * (8 + 1) + 1, 3 * (8 + 1) + 1, 3)
    assert (pic[1:9, 1:9] == 0).all() and (pic[1:9, 10:18] == 255).all() and (pic[10:18, 1:9] == 255).all()
    assert (pic[0] == 228).all()
    with pytest.raises(ValueError, match="every row"):
        sample_grid([torch.zeros(3, 1, 4, 4), torch.zeros(2, 1, 4, 4)])


def test_html_table_escapes_and_checks_its_rows():
    out = html_table(["a", "b"], [("<x>", 1)], caption="c & d")
    assert "&lt;x&gt;" in out and "<caption>c &amp; d</caption>" in out and out.count("<tr>") == 2
    with pytest.raises(ValueError, match="a row has 1 cells but the header has 2"):
        html_table(["a", "b"], [("only",)])
    with pytest.raises(ValueError, match="align has 1 entries for 2 columns"):
        html_table(["a", "b"], [], align=["left"])

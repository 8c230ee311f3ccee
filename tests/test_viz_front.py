"""Figures and the widget of the front page (viz.front, widgets.front).

The sample figure: one slider step per guidance scale, labelled with it; each step swaps in the
pictures of that scale for every panel (checked pixel by pixel after a PNG round trip, samples
outside [-1, 1] clamped) and its own title. The map: every chapter number links its chapter, the
chapter list agrees with _toc.yml and the notebooks' titles, Part III has no links, text is escaped.
"""

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("plotly")

from conftest import nudged_micro_dit, title_of
from dit_book.plotting import to_rgb_uint8
from dit_book.viz import front

ROOT = Path(__file__).resolve().parents[1]
SCALES = [0.0, 1.0, 2.0]


def grids(N, C, H, R=2, seed=0):
    """scale -> (R, N, C, H, H): a different random grid per scale, some values outside [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    return {s: torch.rand(R, N, C, H, H, generator=g) * 3 - 1.5 for s in SCALES}


def decode(uri: str) -> np.ndarray:
    from PIL import Image

    assert uri.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))


@pytest.fixture(scope="module")
def panels():
    return {"digits": grids(3, 1, 8, seed=1), "shapes": grids(2, 3, 12, seed=2)}


NAMES = {"digits": ["0", "1", "2"], "shapes": ["red<br>square", "blue<br>circle"]}


def test_sweep_pictures_place_every_sample(panels):
    pics = front.sweep_pictures(panels["shapes"], SCALES, cell=24, gap=2)
    assert list(pics) == SCALES
    x = panels["shapes"][2.0]  # (R, N, C, H, W) = (2, 2, 3, 12, 12)
    k = 2  # 24 px / 12 px
    pic = pics[2.0]
    assert pic.shape == (2 + 2 * (12 * k + 2), 2 + 2 * (12 * k + 2), 3) and pic.dtype == np.uint8
    for r in range(2):
        for n in range(2):
            top, left = 2 + r * (12 * k + 2), 2 + n * (12 * k + 2)
            expected = to_rgb_uint8(x[r, n].clamp(-1, 1))  # (12, 12, 3)
            np.testing.assert_array_equal(pic[top : top + 12 * k : k, left : left + 12 * k : k], expected)
    assert pic[0, 0].tolist() == [228, 228, 228]  # the gap


def test_samples_figure_one_step_per_scale(panels):
    titles = {f"{n}: panel": panels[n] for n in panels}
    names = {f"{n}: panel": NAMES[n] for n in panels}
    notes = {1.0: "judge accuracy 90%"}
    fig = front.samples_figure(SCALES, titles, names, notes=notes, active=1, title="Samples")
    assert [tr.type for tr in fig.data] == ["image", "image"]
    (sl,) = fig.layout.sliders
    assert [s.label for s in sl.steps] == ["0", "1", "2"] and sl.active == 1
    assert "not to scale" not in (sl.currentvalue.suffix or "")  # evenly spaced scales
    pictures = []
    for i, s in enumerate(SCALES):
        data, layout, traces = sl.steps[i].args
        assert list(traces) == [0, 1] and len(data["source"]) == 2
        for j, n in enumerate(panels):  # every panel shows its samples at scale s
            pic = decode(data["source"][j])
            np.testing.assert_array_equal(pic, front.sweep_pictures(panels[n], SCALES)[s])
            assert pic.min() >= 0 and pic.max() <= 255
        assert f"s = {s:g}" in layout["title.text"]
        pictures.append(data["source"])
    assert len({tuple(p) for p in pictures}) == len(SCALES)  # the pictures differ between steps
    assert "judge accuracy 90%" in sl.steps[1].args[1]["title.text"]
    assert "judge accuracy 90%" not in sl.steps[0].args[1]["title.text"]
    assert [tr.source for tr in fig.data] == list(sl.steps[1].args[0]["source"])  # the active step is drawn
    assert title_of(fig).startswith("Samples")
    assert list(fig.layout.xaxis.ticktext) == NAMES["digits"] and list(fig.layout.xaxis2.ticktext) == NAMES["shapes"]
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis2.scaleanchor == "x2"  # square pixels


def test_samples_figure_clamps_out_of_range_samples():
    x = torch.full((1, 1, 1, 8, 8), 5.0)
    x[..., 0, 0] = -7.0
    fig = front.samples_figure([1.0], {"p": {1.0: x}}, {"p": ["a"]})
    pic = decode(fig.data[0].source)
    assert pic.max() == 255 and pic.min() == 0


def test_samples_figure_rejects_bad_input(panels):
    titles, names = {"d": panels["digits"]}, {"d": NAMES["digits"]}
    with pytest.raises(ValueError, match="scales is empty"):
        front.samples_figure([], titles, names)
    with pytest.raises(ValueError, match="distinct"):
        front.samples_figure([1.0, 1.0], titles, names)
    with pytest.raises(ValueError, match="no samples for the scales"):
        front.samples_figure([1.0, 5.0], titles, names)
    with pytest.raises(ValueError, match="active"):
        front.samples_figure(SCALES, titles, names, active=3)
    with pytest.raises(ValueError, match="class_names"):
        front.samples_figure(SCALES, titles, {"d": ["0", "1"]})
    with pytest.raises(ValueError, match=r"\(R, N, C, H, W\)"):
        front.samples_figure(SCALES, {"d": {s: torch.zeros(3, 1, 8, 8) for s in SCALES}}, names)
    bad = dict(panels["digits"])
    bad[2.0] = torch.zeros(2, 3, 1, 12, 12)
    with pytest.raises(ValueError, match="one shape"):
        front.samples_figure(SCALES, {"d": bad}, names)


# ----------------------------------------------------------------------------- the map


def toc_chapters() -> list[str]:
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return re.findall(r"^\s*-\s*file:\s*notebooks/(\S+)", toc, flags=re.MULTILINE)


def test_chapter_list_matches_the_toc_and_the_titles():
    assert [front.CHAPTERS[n] for n in sorted(front.CHAPTERS)] == toc_chapters()
    import nbformat

    for n, stem in front.CHAPTERS.items():
        nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
        first = next(c.source for c in nb.cells if c.cell_type == "markdown")
        assert first.startswith(f"# {n}. "), (stem, first.splitlines()[0])


def test_map_links_every_chapter_once_per_stage():
    page = front.book_map_html(links="site")
    links = re.findall(r'<a class="dit-map-ch" href="([^"]+)"[^>]*>(\d+)</a>', page)
    for href, number in links:
        assert href == f"../notebooks/{front.CHAPTERS[int(number)]}.html"
    assert {int(n) for _, n in links} == set(front.CHAPTERS)  # every chapter is on the map
    stages = [*front.MODEL, *front.DIFFUSION, *front.COMING]
    assert len(links) == sum(len(s.chapters) for s in stages)
    for stage in stages:
        assert stage.name in page
    coming = [s for s in front.COMING if not s.chapters]  # Part III: greyed until written
    assert coming and page.count('class="dit-map-box dit-map-coming"') == len(coming)


def test_map_options_and_escaping():
    page = front.book_map_html(
        base="https://example.org/", suffix=".ipynb", model=[front.Stage("a < b & c", "x", (1,))], diffusion=[], coming=[]
    )
    assert 'href="https://example.org/01_images_as_tokens.ipynb"' in page
    assert "a &lt; b &amp; c" in page and "a < b & c" not in page
    with pytest.raises(ValueError, match="chapters"):
        front.book_map_html(model=[front.Stage("x", "y", (99,))])
    with pytest.raises(TypeError, match="base"):
        front.book_map_html(base=3, suffix=".html")
    with pytest.raises(TypeError, match="together"):
        front.book_map_html(base="../")
    with pytest.raises(ValueError, match="links"):
        front.book_map_html(links="github")


def test_map_links_outside_the_site_open_the_reader_notebooks_in_colab(monkeypatch):
    from dit_book import _repository

    def hrefs(**kw):
        return re.findall(r'class="dit-map-ch" href="([^"]+)"', front.book_map_html(**kw))

    slug = _repository.REPOSITORY_URL.removeprefix("https://github.com/")
    colab = [
        f"https://colab.research.google.com/github/{slug}/blob/{_repository.COLAB_BRANCH}/notebooks/"
        f"{front.CHAPTERS[int(n)]}.ipynb"
        for n in re.findall(r'class="dit-map-ch"[^>]*>(\d+)<', front.book_map_html())
    ]
    assert hrefs(links="colab") == colab and "/blob/colab/" in colab[0]
    site = hrefs(links="site")
    assert all(h.startswith("../notebooks/") and h.endswith(".html") for h in site)
    # the automatic choice: the site's links where MyST-NB (the book build) runs the page, else Colab's
    real_find_spec = front.importlib.util.find_spec
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.setattr(front.importlib.util, "find_spec", lambda name: object() if name == "myst_nb" else real_find_spec(name))
    assert hrefs() == site
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-1")  # Colab, even with MyST-NB installed
    assert hrefs() == colab
    monkeypatch.delenv("COLAB_RELEASE_TAG")
    monkeypatch.setattr(front.importlib.util, "find_spec", lambda name: None if name == "myst_nb" else real_find_spec(name))
    assert hrefs() == colab  # a Jupyter without the book build


# ----------------------------------------------------------------------------- the widget


@pytest.fixture(scope="module")
def tiny_model():
    return nudged_micro_dit(8, 0.05)


def test_png_bytes_round_trip():
    x = torch.linspace(-1, 1, 2 * 64).reshape(2, 1, 8, 8)
    png = front_widget().png_bytes(x, cell=16, gap=1)
    from PIL import Image

    pic = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert pic.shape == (1 + 16 + 1, 1 + 2 * (16 + 1), 3)
    np.testing.assert_array_equal(pic[1:17:2, 1:17:2], to_rgb_uint8(x[0]))
    with pytest.raises(ValueError, match="N, C, H, W"):
        front_widget().png_bytes(torch.zeros(1, 8, 8))


def front_widget():
    from dit_book.widgets import front as widget

    return widget


def test_sampler_reacts(tiny_model):
    pytest.importorskip("ipywidgets")
    names = [str(k) for k in range(10)]
    box = front_widget().sampler({"tiny": tiny_model}, {"tiny": names}, cfg_scale=2.0, num_steps=5)
    controls, picture, readout = box.children
    first = picture.value
    assert first[:4] == b"\x89PNG" and "guidance s = 2" in readout.value and "DDIM-5" in readout.value
    controls.children[1].value = 0.0  # the guidance scale
    assert picture.value != first and "guidance s = 0" in readout.value
    with pytest.raises(ValueError, match="same models"):
        front_widget().sampler({"tiny": tiny_model}, {"other": names})

"""The slide-cell convention of tools/make_slides.py (issue 15), on a small notebook built here.

Slide cells (markdown, tagged "slide" + "remove-cell") start slides; other markdown becomes the speaker
notes of the slide before it; code cells are dropped except "slide-figure" (its figures only: no code,
no printed text) and "slide-code" (code and output); "slide-demo" gets the Colab link; --reuse fills
outputs from the build's executed copy by cell id and refuses changed code. Which notebooks get a deck
is one rule (book/_ext/teaching.py, ``has_deck``: every notebook unless its metadata says
``{"dit": {"lecture_slides": false}}``), which the site's slides link follows too; a notebook that
gets a deck but has no slide cells is refused (there is no deck cut from the prose).
"""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_slides  # noqa: E402
import myst_markdown  # noqa: E402
import teaching  # noqa: E402  (book/_ext, on the path through make_slides)
from colab_cell import toc_files  # noqa: E402

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


def slide(text, *extra):
    return nbformat.v4.new_markdown_cell(
        text, metadata={"tags": ["slide", "remove-cell", *extra], "slideshow": {"slide_type": "slide"}}
    )


def code(source, tags=(), outputs=()):
    return nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)}, outputs=list(outputs), execution_count=1)


def small_notebook():
    """A chapter in miniature, with the outputs its execution would have."""
    figure_out = [
        nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
        nbformat.v4.new_output("stream", name="stdout", text="$ python -m a_long_command --printed-by-the-figure-cell\n"),
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
    ]
    cells = [
        nbformat.v4.new_markdown_cell("# 3. A chapter\n\nThe chapter's opening prose."),  # 0 notes of slide 1
        code("import math", outputs=[nbformat.v4.new_output("stream", text="HIDDEN_OUTPUT\n")]),  # 1 dropped
        slide("# 3. A chapter\n\n- Learn {glue:text}`loss`"),  # 2 slide 1
        nbformat.v4.new_markdown_cell("## 3.1 The loss\n\nProse with {glue:text}`loss:.1%`."),  # 3 notes of 1
        slide("## The loss is small\n\n$$\nL = 1\n$$"),  # 4 slide 2
        code("plot()", ["hide-input", "slide-figure"], figure_out),  # 5 figure of 2
        nbformat.v4.new_markdown_cell("Notes after the figure."),  # 6 notes of 2
        nbformat.v4.new_markdown_cell("SOLUTION_TEXT", metadata={"tags": ["remove-cell"]}),  # 7 dropped
        slide("## Three lines do it"),  # 8 slide 3
        code(
            "x = 1\nx", ["slide-code"], [nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1)]
        ),  # 9 code of 3
        code("not_shown()", ["hide-input"], [nbformat.v4.new_output("stream", text="NO_OUTPUT\n")]),  # 10 dropped
        slide("## Demo: move the slider", "slide-demo"),  # 11 slide 4
    ]
    return nbformat.v4.new_notebook(cells=cells, metadata={"widgets": WIDGETS})


WIDGETS = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2, "version_minor": 0}}
GLUE = {"loss": {"text/plain": "0.125"}}
BIB = myst_markdown.Bibliography(ROOT / "book" / "references.bib")


def colab_link_from_config() -> str:
    """The reader notebook's Colab address, from _config.yml directly (not through tools/colab_cell.py)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo = config["repository"]["url"].rstrip("/").removesuffix(".git").removeprefix("https://github.com/")
    branch = config["sphinx"]["config"]["html_theme_options"]["repository_branch"]
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/notebooks/03_small.ipynb"


def deck_of(nb):
    myst_markdown.MISSING_GLUE.clear()
    deck = make_slides.convention_deck(nb, "notebooks/03_small", ROOT / "notebooks", BIB, GLUE, 3)
    assert not myst_markdown.MISSING_GLUE
    return deck


def test_slide_cells_need_both_tags():
    nb = small_notebook()
    assert [k for k, c in enumerate(nb.cells) if make_slides.is_slide_cell(c)] == [2, 4, 8, 11]
    only_slide = nbformat.v4.new_markdown_cell("## x", metadata={"tags": ["slide"]})
    assert not make_slides.is_slide_cell(only_slide) and not make_slides.has_slide_cells(
        nbformat.v4.new_notebook(cells=[only_slide, code("1", ["remove-cell"])])
    )
    assert make_slides.has_slide_cells(nb)


def test_the_convention_on_a_small_notebook():
    nb = small_notebook()
    deck = deck_of(nb)
    kinds = [(c.cell_type, c.metadata["slideshow"]["slide_type"], c.get("id")) for c in deck.cells]
    ids = [c.get("id") for c in nb.cells]
    assert kinds == [
        ("markdown", "slide", ids[2]),
        ("markdown", "notes", ids[0]),
        ("markdown", "notes", ids[3]),
        ("markdown", "slide", ids[4]),
        ("code", "-", ids[5]),
        ("markdown", "notes", ids[6]),
        ("markdown", "slide", ids[8]),
        ("code", "-", ids[9]),
        ("markdown", "slide", ids[11]),
    ]
    text = [c.source for c in deck.cells]
    assert text[0] == "# 3. A chapter\n\n- Learn 0.125"  # glue on the slide, from the code
    assert text[2] == "## 3.1 The loss\n\nProse with 12.5%."  # MyST -> Markdown in the notes
    assert text[3] == "## The loss is small\n\n$$\nL = 1\n$$"
    # the figure: its picture only (no warning, no printed text), its input removed; slide-code keeps its input
    figure, shown_code = deck.cells[4], deck.cells[7]
    assert figure.metadata["tags"] == ["slide-figure", "remove-input"]
    assert [o.output_type for o in figure.outputs] == ["display_data"]
    assert shown_code.metadata["tags"] == ["slide-code"] and shown_code.source == "x = 1\nx"
    # the demo cue ends with the chapter's Colab link (the reader notebook on the Colab branch)
    link = re.search(r'<a href="([^"]+)"', text[8])
    assert link and link[1] == colab_link_from_config()
    assert text[8].startswith('## Demo: move the slider\n\n<p class="dit-demo">')
    # the source notebook is untouched
    assert nb.cells[5].outputs[0].output_type == "stream" and nb.cells[2].source.endswith("{glue:text}`loss`")


def test_a_figure_before_the_first_slide_is_an_error():
    nb = small_notebook()
    nb.cells.insert(0, code("early()", ["slide-figure"]))
    with pytest.raises(SystemExit, match="before the first slide cell"):
        deck_of(nb)


class Sections(HTMLParser):
    """The deck's innermost <section>s (the slides): for each, its text, its notes' text, its figure
    cells (ids), code inputs and images."""

    def __init__(self):
        super().__init__()
        self.all, self.open, self.in_notes = [], [], 0

    @property
    def slides(self):
        return [s for s in self.all if not s["parent"]]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            if self.open:
                self.open[-1]["parent"] = True
            self.open.append({"text": "", "notes": "", "figures": [], "inputs": 0, "imgs": 0, "parent": False})
            self.all.append(self.open[-1])
            return
        if tag == "aside":
            self.in_notes += 1
        if self.open:
            cur, classes = self.open[-1], (attrs.get("class") or "").split()
            if "celltag_slide-figure" in classes:
                cur["figures"].append(attrs.get("id", "").removeprefix("cell-id="))
            cur["inputs"] += "highlight" in classes  # pygments: a code cell's input
            cur["imgs"] += tag == "img"

    def handle_endtag(self, tag):
        if tag == "section" and self.open:
            self.open.pop()
        elif tag == "aside":
            self.in_notes -= 1

    def handle_data(self, data):
        if self.open:
            self.open[-1]["notes" if self.in_notes else "text"] += data


def test_the_deck_html_has_one_section_per_slide_cell():
    nb = small_notebook()
    body, _ = make_slides.exporter().from_notebook_node(
        deck_of(nb), resources={"metadata": {"name": "03_small"}, "dit": {"page": "../x.html"}}
    )
    parser = Sections()
    parser.feed(body)
    slides = parser.slides
    assert len(slides) == 4
    assert "The chapter's opening prose" in slides[0]["notes"] and "Prose with 12.5%" in slides[0]["notes"]
    assert "opening prose" not in slides[0]["text"]
    assert slides[1]["figures"] == [nb.cells[5].id] and slides[1]["imgs"] == 1 and slides[1]["inputs"] == 0
    assert "Notes after the figure" in slides[1]["notes"] and "a warning" not in body and "a_long_command" not in body
    assert slides[2]["inputs"] == 1 and "x = 1" in slides[2]["text"]
    for left_out in ("not_shown", "NO_OUTPUT", "HIDDEN_OUTPUT", "import math", "SOLUTION_TEXT"):
        assert left_out not in body
    # the 1280x720 frame, slide numbers, the notes plugin, no CDN, no scrolling slides (the old cut's)
    assert "width: 1280," in body and "height: 720," in body and 'slideNumber: "c/t"' in body
    assert "setScrollingSlide" not in body and "var scroll = " not in body
    assert "plugin/notes/notes.js" in body and not re.search(r'src="https?://|<link[^>]*href="https?://', body)
    assert body.count('href="https://') == 1  # the one outside address is the demo cue's Colab link


def test_reuse_fills_outputs_by_cell_id_and_refuses_changed_code():
    executed = small_notebook()
    source = small_notebook()
    for cell, done in zip(source.cells, executed.cells):
        cell.id = done.id
        if cell.cell_type == "code":
            cell.outputs = []
    source.cells[3].source += "\n\nA markdown edit since the build."  # markdown edits are what --reuse is for
    filled = make_slides.with_outputs(source, executed, "notebooks/03_small")
    assert [c.get("outputs") for c in filled.cells] == [c.get("outputs") for c in executed.cells]
    assert filled.cells[3].source.endswith("since the build.") and filled.metadata["widgets"] == WIDGETS
    assert source.cells[5].outputs == [], "the source notebook was changed"

    source.cells[9].source = "x = 2\nx"
    source.cells.append(code("new_cell()"))
    with pytest.raises(ValueError) as err:
        make_slides.with_outputs(source, executed, "notebooks/03_small")
    message = str(err.value)
    assert source.cells[9].id in message and "changed since it was executed" in message
    assert source.cells[-1].id in message and "is new" in message and "make book" in message


# --- which notebooks get a deck: one rule ---------------------------------------------------------


def write_notebook(path: Path, nb) -> Path:
    nbformat.write(nb, path)
    return path


def test_a_notebook_without_slide_cells_is_refused():
    prose_only = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# A page\n\n## A heading\n\nProse."), code("x = 1")]
    )
    with pytest.raises(ValueError) as err:
        make_slides.refuse_without_slide_cells(prose_only, "book/a_page")
    message = str(err.value)
    assert "book/a_page.ipynb has no slide cells" in message
    assert '"slide" and "remove-cell"' in message and '{"dit": {"lecture_slides": false}}' in message
    make_slides.refuse_without_slide_cells(small_notebook(), "notebooks/03_small")  # slide cells: accepted


def test_has_deck_reads_the_notebook_metadata(tmp_path):
    taught = write_notebook(tmp_path / "taught.ipynb", small_notebook())
    untaught = small_notebook()
    untaught.metadata["dit"] = {"lecture_slides": False}
    untaught = write_notebook(tmp_path / "untaught.ipynb", untaught)
    assert teaching.has_deck(taught) and not teaching.has_deck(untaught)
    other = small_notebook()
    other.metadata["dit"] = {"something_else": 1}  # only an explicit false takes the deck away
    assert teaching.has_deck(write_notebook(tmp_path / "other.ipynb", other))


def page_context(tmp_path, nb) -> tuple[dict, SimpleNamespace]:
    """What Sphinx gives teaching.add_slides_link for the page of NB (a notebook written to tmp_path)."""
    path = write_notebook(tmp_path / "page.ipynb", nb)
    env = SimpleNamespace(found_docs={"book/page"}, doc2path=lambda name: str(path))
    context = {"pathto": lambda target, _: f"../{target}", "header_buttons": [], "body": "<h1>A page</h1><p>text</p>"}
    return context, SimpleNamespace(env=env)


def test_the_slides_link_follows_the_same_rule(tmp_path):
    context, app = page_context(tmp_path, small_notebook())
    teaching.add_slides_link(app, "book/page", "page.html", context, doctree=object())
    assert 'href="../slides/page.slides.html">Lecture slides for this page' in context["body"]
    assert context["header_buttons"][0]["url"] == "../slides/page.slides.html"

    untaught = small_notebook()
    untaught.metadata["dit"] = {"lecture_slides": False}
    context, app = page_context(tmp_path, untaught)
    teaching.add_slides_link(app, "book/page", "page.html", context, doctree=object())
    assert context["body"] == "<h1>A page</h1><p>text</p>" and context["header_buttons"] == []


def test_every_notebook_of_the_book_has_slide_cells_or_no_deck():
    """The book's own notebooks: each one in _toc.yml has a deck cut from slide cells, or says it has
    none; the build report is the page without a deck."""
    notebooks = [ROOT / f"{n}.ipynb" for n in toc_files(ROOT) if (ROOT / f"{n}.ipynb").is_file()]
    untaught = sorted(p.relative_to(ROOT).as_posix() for p in notebooks if not teaching.has_deck(p))
    assert untaught == ["book/build_info.ipynb"]
    for path in notebooks:
        if teaching.has_deck(path):
            make_slides.refuse_without_slide_cells(nbformat.read(path, as_version=4), path.with_suffix("").name)
    meta = json.loads((ROOT / "book" / "build_info.ipynb").read_text(encoding="utf-8"))["metadata"]
    assert meta["dit"] == {"lecture_slides": False}

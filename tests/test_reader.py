"""The reader notebooks (tools/make_reader.py; published on the Colab branch): no MyST syntax left in
their prose, the values glued in, and the code exactly the source notebook's.

The tests on `_build/reader/` read what `make book` wrote (`make test` builds it first); they skip,
saying so, when it is absent. The unit tests build a small notebook of their own.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
READER = ROOT / "_build" / "reader"
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402  (tools/ is not a package)
import make_reader  # noqa: E402
import myst_markdown  # noqa: E402

# MyST that Colab and plain Jupyter would show as raw text
MYST = {
    "a role": re.compile(r"\{[a-z][\w:.-]*\}`"),
    "a directive fence": re.compile(r"^\s*(?::{3,}|`{3,})\s*\{[\w:.-]+\}", flags=re.MULTILINE),
    "a (label)= target": re.compile(r"^\s*\([\w:.-]+\)=\s*$", flags=re.MULTILINE),
    "a labelled $$ (label)": re.compile(r"\$\$[ \t]*\([\w:.-]+\)[ \t]*$", flags=re.MULTILINE),
    "a glue name": re.compile(r"\{glue"),
    "a directive option": re.compile(r"^\s*:(?:label|class|name):\s", flags=re.MULTILINE),
    "a MyST comment": re.compile(r"^%", flags=re.MULTILINE),
}


def myst_left(nb) -> list[str]:
    return [
        f"cell {i}: {kind}: {m.group(0).strip()!r}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for kind, pattern in MYST.items()
        for m in [pattern.search(cell.source)]
        if m
    ]


@pytest.mark.parametrize(
    "text",
    [
        "the {glue:text}`loss`",
        "{cite:p}`key`",
        "{eq}`eq-1`",
        ":::{admonition} Slips",
        "```{exercise}",
        "(sec-a)=",
        "$$ (eq-1)",
        ":label: ex-1",
        "% a comment",
        "::::{note}",
    ],
)
def test_the_detector_catches_myst(text):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"Some prose.\n{text}\nMore.")])
    assert myst_left(nb), text


def test_the_detector_passes_plain_markdown():
    plain = (
        "# 3. Title\n\nThe loss is 0.125 (Peebles and Xie 2023), see (3.1) and Exercise 3.1.\n\n"
        "> **Common slips**\n>\n> - *a slip*\n\n```python\nx = {'a': 1}\n```\n\n"
        "<details>\n<summary>Solution to Exercise 3.1</summary>\n\nDone.\n\n</details>\n\n"
        "$$\nx\n\\tag{3.1}$$\n\n50% of the labels"
    )
    assert myst_left(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(plain)])) == []


# --- a small notebook, converted ----------------------------------------------------------------

SOURCE = [
    ("markdown", "# 3. A chapter\n\n**Prerequisites.** {chapter}`Images as tokens <01>` and {doc}`../book/notation`."),
    ("code", "from dit_book.notebook import glue\nglue('loss', 0.125)"),
    (
        "markdown",
        "(sec-loss)=\n## 3.1 The loss\n\nThe loss is {glue:text}`loss` {cite:p}`peebles2023dit`, as\n"
        "{cite:t}`peebles2023dit` write:\n\n$$\nL = 1\n$$ (eq-03-loss)\n\nso {eq}`eq-03-loss` holds "
        "({ref}`ex-03-b`).\n% a comment for authors",
    ),
    ("markdown", ':::{admonition} Common slips\n:class: warning\n- *"The loss is 1."* It is {glue:text}`loss:.1%`.\n:::'),
    ("markdown", ":::{exercise} First\n:label: ex-03-a\nDo it.\n:::"),
    ("markdown", ":::{solution} ex-03-a\n:class: dropdown\nDone with {eq}`eq-03-loss`.\n:::"),
    ("markdown", ":::{exercise}\n:label: ex-03-b\nAgain.\n:::\n:::{solution} ex-03-b\n:class: dropdown\nAgain done.\n:::"),
    ("slide", "## A slide cell: for the deck, not for readers\n\n- the loss is {glue:text}`loss`"),
]


@pytest.fixture
def small():
    cells = []
    for kind, text in SOURCE:
        if kind == "code":
            cell = nbformat.v4.new_code_cell(
                text,
                execution_count=3,
                metadata={"tags": ["hide-input"]},
                outputs=[nbformat.v4.new_output("stream", text="printed\n")],
            )
        elif kind == "slide":
            cell = nbformat.v4.new_markdown_cell(
                text, metadata={"tags": ["slide", "remove-cell"], "slideshow": {"slide_type": "slide"}}
            )
        else:
            cell = nbformat.v4.new_markdown_cell(text, metadata={"slideshow": {"slide_type": "slide"}})
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


def test_a_small_notebook_reads_right(small):
    bib = myst_markdown.Bibliography(ROOT / "book" / "references.bib")
    titles = {"book/notation": "Notation"}
    reader = make_reader.reader_notebook(small, "notebooks/03_small", {"loss": {"text/plain": "0.125"}}, bib, titles)
    assert not myst_markdown.MISSING_GLUE
    assert myst_left(reader) == []
    nbformat.validate(reader)
    text = [c.source for c in reader.cells]
    assert text[0] == "# 3. A chapter\n\n**Prerequisites.** Images as tokens and Notation."
    assert text[2] == (
        "## 3.1 The loss\n\nThe loss is 0.125 (Peebles and Xie 2023), as\nPeebles and Xie (2023) write:"
        "\n\n$$\nL = 1\n\\tag{3.1}$$\n\nso (3.1) holds (Exercise 3.2)."
    )
    assert text[3] == '> **Common slips**\n>\n> - *"The loss is 1."* It is 12.5%.'
    assert text[4] == "**Exercise 3.1 (First)**\n\nDo it."
    assert text[5] == "<details>\n<summary>Solution to Exercise 3.1</summary>\n\nDone with (3.1).\n\n</details>"
    assert text[6] == (
        "**Exercise 3.2**\n\nAgain.\n\n\n<details>\n<summary>Solution to Exercise 3.2</summary>\n\nAgain done.\n\n</details>"
    )
    # the code cell is the source's, without its outputs; metadata (tags, slides) stays
    code = reader.cells[1]
    assert (code.source, code.metadata, code.outputs, code.execution_count) == (SOURCE[1][1], {"tags": ["hide-input"]}, [], None)
    assert all(c.metadata == s.metadata and c.get("id") == s.get("id") for c, s in zip(reader.cells, small.cells))
    # the slide cell (tagged "slide") is left out, and only it
    assert len(reader.cells) == len(small.cells) - 1 and "A slide cell" not in "".join(text)
    assert small.cells[1].outputs and len(small.cells) == len(SOURCE), "the source notebook was changed"


def test_a_missing_glue_value_is_recorded(small):
    myst_markdown.MISSING_GLUE.clear()
    make_reader.reader_notebook(small, "notebooks/03_small", {}, myst_markdown.Bibliography(Path("/absent.bib")))
    assert myst_markdown.MISSING_GLUE == {"loss"}
    myst_markdown.MISSING_GLUE.clear()


def test_page_titles_are_the_pages_headings():
    titles = make_reader.page_titles(ROOT)
    assert titles["book/notation"] == "Notation" and titles["book/bibliography"] == "Bibliography"
    assert re.fullmatch(r"10\. .+", titles["notebooks/10_guidance"]), titles["notebooks/10_guidance"]


# --- what `make book` wrote ---------------------------------------------------------------------

TOC_NOTEBOOKS = [n for n in colab_cell.toc_files(ROOT) if (ROOT / f"{n}.ipynb").is_file()]
needs_build = pytest.mark.skipif(
    not READER.is_dir(), reason=f"no reader notebooks in {READER.relative_to(ROOT)}: run `make book` first (`make test` does)"
)


@needs_build
def test_every_notebook_has_a_reader_version():
    missing = [n for n in TOC_NOTEBOOKS if not (READER / f"{n}.ipynb").is_file()]
    assert not missing, f"no reader notebook for {missing} (tools/make_reader.py)"


@needs_build
@pytest.mark.parametrize("name", TOC_NOTEBOOKS)
def test_reader_notebook_has_no_myst_and_the_same_code(name):
    path = READER / f"{name}.ipynb"
    if not path.is_file():
        pytest.skip(f"{path.relative_to(ROOT)} was not written")
    reader, source = nbformat.read(path, as_version=4), nbformat.read(ROOT / f"{name}.ipynb", as_version=4)
    left = myst_left(reader)
    assert not left, f"{path.relative_to(ROOT)} still holds MyST:\n" + "\n".join(left)
    source.cells = [c for c in source.cells if not make_reader.is_slide(c)]  # the deck's slides are left out
    assert not any("slide" in c.metadata.get("tags", []) for c in reader.cells if c.cell_type == "markdown")
    assert [c.cell_type for c in reader.cells] == [c.cell_type for c in source.cells], "cells differ (stale build?)"
    for r, s in zip(reader.cells, source.cells):
        if s.cell_type == "code":
            assert (r.source, r.metadata, r.outputs) == (s.source, s.metadata, []), f"code cell {s.get('id')} differs"

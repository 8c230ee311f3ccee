"""Cut a reveal.js lecture deck from every notebook of the book, for the published site.

Usage: python tools/make_slides.py [--site _build/html] [--execute]      (make slides; make book runs it)

For each notebook listed in ``_toc.yml`` it writes ``<site>/slides/<name>.slides.html``
(the Sphinx extension ``book/_ext/teaching.py`` links every notebook page to it).

* **No second execution.** It reads the notebook the site build executed
  (``_build/jupyter_execute/<path>.ipynb``). Only when that copy is missing or older than the
  notebook (``make slides`` without a site build), or with ``--execute``, does it run the notebook
  itself, in a fresh ``python3`` kernel from an empty temporary folder.
* **Slides come from cell metadata** (``slideshow.slide_type``: slide, subslide, fragment, skip,
  notes). A markdown cell without it that starts with a heading opens a new slide (``#``/``##``)
  or sub-slide (``###``), so a notebook with no slide metadata still gives a usable deck.
  Cells tagged ``remove-cell``/``hide-cell`` (solutions) are left out; ``hide-input``/``remove-input``
  cells show their output only; stderr (warnings) is dropped.
* **MyST is turned into plain Markdown** (reveal.js does not know it; ``tools/myst_markdown.py``): ``{glue:}`name``` becomes
  the glued value, ``{cite:p}`key``` becomes "(Author Year)" from ``book/references.bib``, other
  roles their text, ``:::{note} Title`` and the other admonitions a block quote with a bold title,
  ``{math}`` a ``$$`` block, ``{literalinclude}`` the code it includes, ``{exercise}`` and
  ``{solution}`` are dropped (they belong on the page), and so are labels and comments.
* **Offline**, like the site: reveal.js 4, MathJax 2, require.js, jQuery, the widget manager and
  plotly.js come from ``<site>/_static/vendor/`` (``make vendor``), never from a CDN.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
sys.path.insert(0, str(ROOT / "tools"))
from colab_cell import toc_files  # noqa: E402
from myst_markdown import (  # noqa: E402  (the one MyST -> Markdown converter, shared with make_reader.py)
    GLUE_PREFIX,
    MISSING_GLUE,
    Bibliography,
    chapter_number,
    equation_numbers,
    glue_json_values,
    glue_values,
    myst_to_markdown,
    reference_texts,
)
from offline_assets import localise_plotly  # noqa: E402

TEMPLATE_DIR = ROOT / "tools" / "slides_template"
VENDOR = "../_static/vendor"  # from <site>/slides/ to the vendored assets


# --- notebook -> deck ---------------------------------------------------------------------------

HEADING = re.compile(r"^\s*(#{1,6})\s")
SKIP_TAGS = {"remove-cell", "hide-cell"}
INPUT_TAGS = {"remove-input", "hide-input"}
OUTPUT_TAGS = {"remove-output", "hide-output"}


def only_glue(source: str) -> bool:
    """True for a code cell whose statements are all glue(...) calls (or loops of them): it only
    feeds numbers to the prose, so the slides, which show those numbers inline, skip it."""
    def is_glue(node) -> bool:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            return isinstance(node.value.func, ast.Name) and node.value.func.id == "glue"
        return isinstance(node, ast.For) and all(is_glue(n) for n in node.body)

    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and all(is_glue(n) for n in body)


def prepare(nb, base: Path, bib: Bibliography, glue_json: dict | None = None, chapter: int | None = None):
    """The slide version of an executed notebook (a copy; NB is untouched). `glue_json`: glued
    values myst-nb stored beside the executed notebook (see glue_json_values); `chapter`: the
    chapter's number, so that equations read "(10.3)" as on the site."""
    nb = copy.deepcopy(nb)
    glue = {**(glue_json or {}), **glue_values(nb)}
    equations = equation_numbers(nb, chapter)
    labels = reference_texts(nb)
    for cell in nb.cells:
        slideshow = cell.metadata.setdefault("slideshow", {})
        tags = set(cell.metadata.get("tags", []))
        if tags & SKIP_TAGS or (cell.cell_type == "code" and only_glue(cell.source)):
            slideshow["slide_type"] = "skip"      # a cell that only glues numbers for the prose
        if cell.cell_type == "markdown":
            cell.source = myst_to_markdown(cell.source, base, glue, bib, equations, labels)
            heading = HEADING.match(cell.source)
            if "slide_type" not in slideshow and heading:
                slideshow["slide_type"] = "slide" if len(heading[1]) <= 2 else "subslide"
        elif cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    continue
                data = out.get("data", {})
                if data and all(k.startswith(GLUE_PREFIX) for k in data):
                    continue  # glue(..., display=False): shown in the prose, not as an output
                outputs.append(out)
            cell.outputs = outputs
        if not slideshow:
            del cell.metadata["slideshow"]
    first = next((c for c in nb.cells if c.metadata.get("slideshow", {}).get("slide_type") != "skip"), None)
    if first is not None and first.metadata.get("slideshow", {}).get("slide_type") in (None, "-", "fragment", "notes"):
        first.metadata.setdefault("slideshow", {})["slide_type"] = "slide"
    return nb


def exporter() -> SlidesExporter:
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell"}
    c.TagRemovePreprocessor.remove_input_tags = INPUT_TAGS
    c.TagRemovePreprocessor.remove_all_outputs_tags = OUTPUT_TAGS
    ex = SlidesExporter(
        config=c,
        template_name="dit_reveal",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        reveal_url_prefix=f"{VENDOR}/reveal.js",
        reveal_theme="white",
        reveal_transition="none",
        reveal_scroll=True,
        reveal_number="c/t",
        reveal_width="1280",
        reveal_height="800",
        mathjax_url=f"{VENDOR}/mathjax2/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
        require_js_url=f"{VENDOR}/requirejs/require.js",
        jquery_url=f"{VENDOR}/jquery/jquery.min.js",
        widget_renderer_url=f"{VENDOR}/html-manager/embed-amd.js",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    return ex


def executed_copy(name: str, build: Path) -> Path | None:
    return build / "jupyter_execute" / f"{name}.ipynb"


def execute(path: Path):
    from nbclient import NotebookClient

    os.environ.setdefault("PLOTLY_RENDERER", "notebook_connected")  # as the site build: offline-safe HTML
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as cwd:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html", help="the built site (default _build/html)")
    parser.add_argument("--execute", action="store_true", help="execute every notebook instead of reusing the build's")
    args = parser.parse_args(argv)
    site, build = args.site.resolve(), args.site.resolve().parent
    if not (site / "_static" / "vendor" / "reveal.js" / "dist" / "reveal.js").is_file():
        if (ROOT / "book" / "_static" / "vendor" / "reveal.js").is_dir():
            # no site build yet (make slides alone): bring the vendored assets along
            shutil.copytree(ROOT / "book" / "_static", site / "_static", dirs_exist_ok=True)
        else:
            sys.exit("make_slides: no vendored reveal.js; run `make vendor` first")
    out_dir = site / "slides"
    if out_dir.exists():
        shutil.rmtree(out_dir)  # decks of removed chapters go too
    out_dir.mkdir(parents=True)
    bib = Bibliography(ROOT / "book" / "references.bib")
    ex = exporter()
    decks = []
    for name in toc_files(ROOT):
        source = ROOT / f"{name}.ipynb"
        if not source.is_file():
            continue
        start = time.perf_counter()
        done = executed_copy(name, build)
        if not args.execute and done.is_file() and done.stat().st_mtime >= source.stat().st_mtime:
            nb, origin = nbformat.read(done, as_version=4), "the site build's execution"
        else:
            nb, origin = execute(source), "a fresh execution"
        deck = prepare(nb, source.parent, bib, glue_json_values(done.with_suffix(".glue.json")),
                       chapter_number(source.stem))
        page = "../" + name + ".html"
        body, _ = ex.from_notebook_node(deck, resources={"metadata": {"name": source.stem}, "dit": {"page": page}})
        body = localise_plotly(body, f"{VENDOR}/plotly/plotly.min.js")
        target = out_dir / f"{source.stem}.slides.html"
        if target.exists():
            sys.exit(f"make_slides: two notebooks are named {source.stem}; deck names must be unique")
        target.write_text(body, encoding="utf-8")
        decks.append(target)
        if MISSING_GLUE:
            sys.exit(f"make_slides: {source.name} glues no value for {sorted(MISSING_GLUE)}; the deck would "
                     f"show those names instead of numbers (is each name glued in the notebook?)")
        print(f"make_slides: {target.relative_to(build.parent) if target.is_relative_to(build.parent) else target}"
              f" from {origin} ({time.perf_counter() - start:.1f} s)")
    if not decks:
        print("make_slides: no notebooks in _toc.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())

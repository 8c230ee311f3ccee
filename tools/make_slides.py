"""Cut a reveal.js lecture deck from every taught notebook of the book, for the published site.

Usage: python tools/make_slides.py [--site _build/html] [--execute | --reuse] [NAME ...]
       (make slides; make book runs it; NAME: e.g. notebooks/04_adaln_zero, default every deck)

  Quick rebuild after editing MARKDOWN cells only (slide cells, prose), in seconds, no execution:

      .venv/bin/python tools/make_slides.py --site _build/html --reuse notebooks/04_adaln_zero

  ``--reuse`` takes the SOURCE notebook's cells and fills each code cell's outputs from the copy the
  site build executed (``_build/jupyter_execute/<name>.ipynb``, matched by cell id; glued values from
  it and its ``.glue.json``). A code cell that is new or whose source changed since that execution is
  an error (run ``make book``, or this script without ``--reuse``, which executes it). With NAMEs, only
  those decks are rewritten (the others stay).

For each notebook listed in ``_toc.yml`` it writes ``<site>/slides/<name>.slides.html``
(the Sphinx extension ``book/_ext/teaching.py`` links the notebook's page to it, and to the PDF
``tools/deck_pdf.py`` prints from it).

* **Which notebooks get a deck**: every notebook of ``_toc.yml``, except those whose notebook
  metadata says ``{"dit": {"lecture_slides": false}}`` (a page that is not taught: the build
  report); the rule is ``teaching.has_deck``, which the site's slides link follows too. A stale deck
  of such a notebook is removed. A notebook that gets a deck must have slide cells: one without
  any is refused, with a message naming it and both ways out.
* **The slide-cell convention** (issue 15): a *slide cell* is a markdown cell tagged
  both ``slide`` and ``remove-cell`` (the site and the reader notebooks leave it out). Each slide cell
  starts a slide (the first is the title slide); every other markdown cell becomes the speaker notes
  (``aside.notes``, key ``s``) of the slide before it (cells before the first slide: of the first);
  code cells are left out, except ``slide-figure`` (its figures, images and HTML, without the code
  or printed text, on the current slide, fitted under the headline by the template) and
  ``slide-code`` (code and output). A slide cell also tagged ``slide-demo`` gets the notebook's
  "Open in Colab" link (the reader notebook on the Colab branch, as the site's launch button). The
  frame is 1280x720, body text 28 px, slide numbers shown. Warnings (stderr) never reach a slide.
* **No second execution.** It reads the notebook the site build executed
  (``_build/jupyter_execute/<path>.ipynb``). Only when that copy is missing or older than the
  notebook (``make slides`` without a site build), or with ``--execute``, does it run the notebook
  itself, in a fresh ``python3`` kernel from an empty temporary folder.
* **MyST is turned into plain Markdown** (reveal.js does not know it; ``tools/myst_markdown.py``): ``{glue:}`name```
  becomes the glued value, ``{cite:p}`key``` becomes "(Author Year)" from ``book/references.bib``, other
  roles their text, ``:::{note} Title`` and the other admonitions a block quote with a bold title,
  ``{math}`` a ``$$`` block, ``{literalinclude}`` the code it includes, ``{exercise}`` and
  ``{solution}`` are dropped (they belong on the page), and so are labels and comments.
* **Offline**, like the site: reveal.js 4 (and its notes plugin, for the speaker view), MathJax 2,
  require.js, jQuery, the widget manager and plotly.js come from ``<site>/_static/vendor/``
  (``make vendor``), never from a CDN.
"""

from __future__ import annotations

import argparse
import copy
import os
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
from colab_cell import COLAB, colab_branch, repository, toc_files  # noqa: E402
from myst_markdown import (  # noqa: E402  (the one MyST -> Markdown converter, shared with make_reader.py)
    GLUE_PREFIX,
    MISSING_GLUE,
    Bibliography,
    chapter_number,
    executed_glue,
    glue_values,
    notebook_converter,
)
from offline_assets import localise_plotly  # noqa: E402
from teaching import DECK_FLAG, has_deck  # noqa: E402  (the one rule: which notebooks get a deck)

TEMPLATE_DIR = ROOT / "tools" / "slides_template"
VENDOR = "../_static/vendor"  # from <site>/slides/ to the vendored assets


# --- the slide-cell convention (issue 15) -------------------------------------------------------

SLIDE_TAG, FIGURE_TAG, CODE_TAG, DEMO_TAG = "slide", "slide-figure", "slide-code", "slide-demo"
SKIP_TAGS = {"remove-cell", "hide-cell"}  # markdown hidden on the page (solutions, ...): not in the notes either


def tags_of(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def is_slide_cell(cell) -> bool:
    """A markdown cell tagged both "slide" and "remove-cell": a slide of the deck, not on the page."""
    return cell.cell_type == "markdown" and {SLIDE_TAG, "remove-cell"} <= tags_of(cell)


def has_slide_cells(nb) -> bool:
    return any(is_slide_cell(c) for c in nb.cells)


def refuse_without_slide_cells(nb, name: str) -> None:
    """A notebook that gets a deck (teaching.has_deck) must have slide cells; raise ValueError naming
    it and the two ways out otherwise (there is no deck cut from the prose)."""
    if not has_slide_cells(nb):
        key, value = DECK_FLAG
        raise ValueError(
            f"{name}.ipynb has no slide cells, so make_slides has no deck to cut from it. Either add slide "
            'cells (markdown cells tagged "slide" and "remove-cell": a title slide, one slide per idea, a '
            'summary; see CONTRIBUTING.md, "Slides"), or, for a page that is not taught, give the notebook '
            f'the metadata {{"{key}": {{"{value}": false}}}} (no deck, and no slides link on its page)'
        )


def colab_url(name: str, root: Path = ROOT) -> str:
    """The chapter's reader notebook in Colab (the Colab branch, same path), as the site's launch button."""
    url = repository(root)[0]
    return f"{COLAB}/{url.removeprefix('https://github.com/')}/blob/{colab_branch(root)}/{name}.ipynb"


def slide_outputs(cell, printed: bool = True) -> list:
    """A code cell's outputs as a slide shows them: no stderr (warnings), no glue-only records;
    PRINTED=False (a slide-figure cell): no printed text at all, only its figures, images and HTML."""
    outputs = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and (out.get("name") == "stderr" or not printed):
            continue
        data = out.get("data", {})
        if data and all(k.startswith(GLUE_PREFIX) for k in data):
            continue
        outputs.append(out)
    return outputs


def convention_deck(nb, name: str, base: Path, bib: Bibliography, glue: dict, chapter: int | None = None):
    """The deck of a notebook with slide cells (a new notebook; NB, executed or filled, is untouched):
    slide cells start slides, other markdown becomes the notes of the slide before it, code cells are
    dropped except slide-figure (its figures: no code, no printed text) and slide-code (code and
    output). `name`: the docname
    (notebooks/04_adaln_zero), for the Colab link of slide-demo cells."""
    convert = notebook_converter(nb, base, glue, bib, chapter)
    deck = nbformat.v4.new_notebook(metadata=copy.deepcopy(nb.metadata))
    early_notes, seen_slide = [], False

    def markdown(cell, slide_type: str, extra: str = ""):
        text = convert(cell.source).strip("\n") + extra
        new = nbformat.v4.new_markdown_cell(text, metadata={"slideshow": {"slide_type": slide_type}})
        new.id = cell.get("id", new.id)
        return new

    for cell in nb.cells:
        tags = tags_of(cell)
        if is_slide_cell(cell):
            extra = ""
            if DEMO_TAG in tags:
                extra = (
                    f'\n\n<p class="dit-demo"><a href="{colab_url(name)}" target="_blank" rel="noopener">Open in Colab</a></p>'
                )
            deck.cells.append(markdown(cell, "slide", extra))
            if not seen_slide:
                deck.cells.extend(early_notes)  # prose before the title slide: its notes
                seen_slide = True
        elif cell.cell_type == "markdown":
            if tags & SKIP_TAGS:
                continue  # hidden from the page (solutions, ...): not for the notes either
            (deck.cells if seen_slide else early_notes).append(markdown(cell, "notes"))
        elif cell.cell_type == "code" and tags & {FIGURE_TAG, CODE_TAG}:
            if not seen_slide:
                raise SystemExit(
                    f"make_slides: {name}: the {sorted(tags & {FIGURE_TAG, CODE_TAG})} cell {cell.get('id')} "
                    f"comes before the first slide cell; put a slide cell before it"
                )
            new = nbformat.v4.new_code_cell(cell.source, metadata={"slideshow": {"slide_type": "-"}})
            new.id = cell.get("id", new.id)
            kind = FIGURE_TAG if FIGURE_TAG in tags else CODE_TAG
            new.metadata["tags"] = [kind] + (["remove-input"] if kind == FIGURE_TAG else [])
            new.outputs = slide_outputs(cell, printed=kind == CODE_TAG)
            new.execution_count = cell.get("execution_count")
            deck.cells.append(new)
    return deck


# --- outputs: the build's execution, reused --------------------------------------------------------


def with_outputs(source, executed, name: str):
    """SOURCE's cells with the outputs of EXECUTED (matched by cell id), and its widget state.
    Raise ValueError naming every code cell that is new or changed since that execution."""
    done = {c.get("id"): c for c in executed.cells if c.cell_type == "code"}
    nb = copy.deepcopy(source)
    stale = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        old = done.get(cell.get("id"))
        if old is None:
            stale.append(f"cell {cell.get('id')} is new (no cell with that id was executed)")
        elif old.source != cell.source:
            stale.append(f"cell {cell.get('id')} changed since it was executed: {cell.source.strip()[:60]!r}...")
        else:
            cell.outputs, cell.execution_count = copy.deepcopy(old.outputs), old.get("execution_count")
    if stale:
        raise ValueError(
            f"{name}: code changed since the site build executed it, so its outputs cannot be reused:\n  "
            + "\n  ".join(stale)
            + "\nrun `make book` (or make_slides.py without --reuse) to execute it"
        )
    if "widgets" in executed.metadata:
        nb.metadata["widgets"] = copy.deepcopy(executed.metadata["widgets"])
    return nb


def exporter() -> SlidesExporter:
    """nbconvert's reveal exporter with the book's template: the 1280x720 frame of the slide-cell decks."""
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = {"remove-input"}  # slide-figure cells: the figure, not the code
    ex = SlidesExporter(
        config=c,
        template_name="dit_reveal",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        reveal_url_prefix=f"{VENDOR}/reveal.js",
        reveal_theme="white",
        reveal_transition="none",
        reveal_number="c/t",
        reveal_width="1280",
        reveal_height="720",
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


def filled(name: str, source: Path, build: Path, mode: str):
    """(the source notebook with outputs, glued values, where the outputs came from). MODE: "build"
    (the build's execution if it is newer than the notebook, else a fresh one), "reuse" (the build's
    execution, whatever its age; changed code is an error), "execute" (a fresh execution)."""
    done = executed_copy(name, build)
    src = nbformat.read(source, as_version=4)
    if mode == "reuse":
        if not done.is_file():
            raise ValueError(f"{name}: --reuse needs the site build's execution {done}; run `make book` first")
        executed = nbformat.read(done, as_version=4)
        return with_outputs(src, executed, name), executed_glue(executed, done), "the build's outputs (--reuse)"
    if mode == "build" and done.is_file() and done.stat().st_mtime >= source.stat().st_mtime:
        executed = nbformat.read(done, as_version=4)
        try:
            return with_outputs(src, executed, name), executed_glue(executed, done), "the site build's execution"
        except ValueError:
            pass  # the executed copy is not of this notebook's code: execute it
    executed = execute(source)
    return executed, glue_values(executed), "a fresh execution"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="docnames (notebooks/04_adaln_zero); default every deck")
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html", help="the built site (default _build/html)")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--execute", action="store_true", help="execute every notebook instead of reusing the build's")
    how.add_argument(
        "--reuse", action="store_true", help="never execute: the source's cells with the build's outputs (markdown edits only)"
    )
    args = parser.parse_args(argv)
    site, build = args.site.resolve(), args.site.resolve().parent
    if not (site / "_static" / "vendor" / "reveal.js" / "dist" / "reveal.js").is_file():
        if (ROOT / "book" / "_static" / "vendor" / "reveal.js").is_dir():
            # no site build yet (make slides alone): bring the vendored assets along
            shutil.copytree(ROOT / "book" / "_static", site / "_static", dirs_exist_ok=True)
        else:
            sys.exit("make_slides: no vendored reveal.js; run `make vendor` first")
    notebooks = [n for n in toc_files(ROOT) if (ROOT / f"{n}.ipynb").is_file()]
    names = [n for n in notebooks if has_deck(ROOT / f"{n}.ipynb")]  # the rule (teaching.has_deck)
    if args.names:
        unknown = sorted(set(args.names) - set(notebooks))
        if unknown:
            sys.exit(f"make_slides: {unknown} are not notebooks of _toc.yml (pass docnames like notebooks/04_adaln_zero)")
        untaught = sorted(set(args.names) - set(names))
        if untaught:
            key, value = DECK_FLAG
            sys.exit(f'make_slides: {untaught} have no deck (their notebook metadata sets {{"{key}": {{"{value}": false}}}})')
        names = [n for n in names if n in args.names]
    out_dir = site / "slides"
    if out_dir.exists() and not args.names:
        shutil.rmtree(out_dir)  # decks of removed chapters go too
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in notebooks:  # a deck left from before its notebook was marked as not taught
        if not has_deck(ROOT / f"{name}.ipynb"):
            for stale in out_dir.glob(f"{Path(name).name}.slides.*"):
                stale.unlink()
    bib = Bibliography(ROOT / "book" / "references.bib")
    ex = exporter()
    mode = "execute" if args.execute else "reuse" if args.reuse else "build"
    written, failed = set(), []
    for name in names:
        source = ROOT / f"{name}.ipynb"
        start = time.perf_counter()
        try:
            refuse_without_slide_cells(nbformat.read(source, as_version=4), name)
            nb, glue, origin = filled(name, source, build, mode)
        except ValueError as err:
            failed.append(str(err))  # the other decks are still written
            continue
        MISSING_GLUE.clear()
        deck = convention_deck(nb, name, source.parent, bib, glue, chapter_number(source.stem))
        if MISSING_GLUE:
            sys.exit(
                f"make_slides: {source.name} glues no value for {sorted(MISSING_GLUE)}; the deck would "
                f"show those names instead of numbers (is each name glued in the notebook?)"
            )
        page = "../" + name + ".html"
        body, _ = ex.from_notebook_node(deck, resources={"metadata": {"name": source.stem}, "dit": {"page": page}})
        body = localise_plotly(body, f"{VENDOR}/plotly/plotly.min.js")
        target = out_dir / f"{source.stem}.slides.html"
        if target in written:
            sys.exit(f"make_slides: two notebooks are named {source.stem}; deck names must be unique")
        written.add(target)
        target.write_text(body, encoding="utf-8")
        slides = sum(1 for c in deck.cells if c.metadata.get("slideshow", {}).get("slide_type") == "slide")
        print(
            f"make_slides: {target.relative_to(build.parent) if target.is_relative_to(build.parent) else target}"
            f": {slides} slides from slide cells, outputs from {origin} ({time.perf_counter() - start:.1f} s)"
        )
    if not names:
        print("make_slides: no notebooks with a deck in _toc.yml")
    if failed:
        sys.exit("make_slides: no deck written for:\n" + "\n".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())

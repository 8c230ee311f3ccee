"""Write the reader version of every notebook of the book: its MyST as plain Markdown, for Colab and Jupyter.

Usage: python tools/make_reader.py [--build _build] [--out _build/reader] [--execute] [NAME ...]
       (make book runs it; NAME: e.g. notebooks/10_guidance, default every notebook of _toc.yml)

For each notebook of ``_toc.yml`` it writes ``<out>/<name>.ipynb`` (``_build/reader/notebooks/10_guidance.ipynb``),
which the Pages workflow publishes on the ``colab`` branch (the repository's tree with these notebooks in
place of the sources), where every Colab badge and launch button points:

* **Prose that reads right outside the book** (``tools/myst_markdown.py``, the converter the lecture slides
  use): ``{glue:text}`` roles carry the value the site build glued, citations read "(Author Year)" or
  "Author (Year)", ``{eq}`` the equation number the site shows ("(10.3)"; the equation gets a ``\\tag``),
  chapter and page references their title, admonitions ("Live in Colab / Jupyter", "Common slips") a bold
  title over a block quote, exercises "**Exercise 10.2 (title)**" and solutions a folded
  ``<details><summary>Solution to Exercise 10.2</summary>``; labels and comments go.
* **The same code**: code cells, cell ids, tags and slide metadata are the source notebook's, outputs
  empty (a reader runs them); only markdown cells change, and the *slide cells* (markdown cells tagged
  ``slide``: the lecture deck's slides, see ``tools/make_slides.py``) are left out (a reader has the prose).
* **No second execution**: the values come from the notebook the site build executed
  (``<build>/jupyter_execute/<name>.ipynb`` and the ``.glue.json`` MyST-NB writes beside it). Only when that
  copy is missing or older than the notebook, or with ``--execute``, is the notebook run here (as
  ``tools/make_slides.py`` does). A glue name no execution provides fails the run.
"""

from __future__ import annotations

import argparse
import copy
import posixpath
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from colab_cell import notebook_title, toc_files  # noqa: E402
from make_slides import execute  # noqa: E402  (one way to run a notebook without the site build)
from myst_markdown import (  # noqa: E402  (the one MyST -> Markdown converter)
    MISSING_GLUE,
    Bibliography,
    chapter_number,
    executed_glue,
    notebook_converter,
)

EXERCISE_OPEN = re.compile(r"^\s*(?::{3,}|`{3,})\{exercise\}[^\n]*\n((?:[ \t]*:[\w-]+:[^\n]*\n?)*)", flags=re.MULTILINE)


def page_titles(root: Path = ROOT) -> dict[str, str]:
    """docname (``book/notation``) -> the title its page shows: a notebook's or a Markdown file's first heading."""
    titles = {}
    for name in toc_files(root):
        notebook, markdown = root / f"{name}.ipynb", root / f"{name}.md"
        if notebook.is_file():
            titles[name] = notebook_title(notebook)
        elif markdown.is_file():
            heading = re.search(r"^#\s+(.+?)\s*$", markdown.read_text(encoding="utf-8"), flags=re.MULTILINE)
            titles[name] = heading[1] if heading else markdown.stem
    return titles


def exercise_numbers(nb, chapter: int | None) -> dict[str, str]:
    """label -> "Exercise 10.2": the notebook's exercises in order, numbered per chapter as on the site."""
    numbers, k = {}, 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for m in EXERCISE_OPEN.finditer(cell.source):
            k += 1
            label = re.search(r"^\s*:label:\s*(\S+)", m[1], flags=re.MULTILINE)
            if label:
                numbers[label[1]] = f"Exercise {'' if chapter is None else f'{chapter}.'}{k}"
    return numbers


def is_slide(cell) -> bool:
    """A slide cell of the lecture deck (tools/make_slides.py): a markdown cell tagged "slide"."""
    return cell.cell_type == "markdown" and "slide" in cell.metadata.get("tags", [])


def reader_notebook(nb, name: str, glue: dict, bib: Bibliography, titles: dict[str, str] | None = None, base: Path | None = None):
    """The reader version of notebook NB (its source, not the executed copy; NB is untouched).
    `name`: its docname (``notebooks/10_guidance``); `glue`: name -> mime bundle of the glued values."""
    nb = copy.deepcopy(nb)
    titles = titles or {}
    chapter = chapter_number(name)
    exercises = exercise_numbers(nb, chapter)
    folder = posixpath.dirname(name)
    seen = iter(range(1, 10_000))

    def doc_title(target: str) -> str | None:
        docname = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        return titles.get(docname.removesuffix(".ipynb").removesuffix(".md"))

    def exercise(arg: str, options: dict, body: str) -> str:
        k = next(seen)
        number = exercises.get(options.get("label", ""), f"Exercise {'' if chapter is None else f'{chapter}.'}{k}")
        title = f"{number} ({arg})" if arg else number
        return f"\n**{title}**\n\n{body.strip()}\n"  # blank lines: a block of its own

    def solution(arg: str, options: dict, body: str) -> str:
        summary = f"Solution to {exercises[arg]}" if arg in exercises else "Solution"
        return f"\n<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>\n"

    handlers = {"exercise": exercise, "solution": solution}
    convert = notebook_converter(nb, base or ROOT / folder, glue, bib, chapter, exercises, handlers, doc_title)
    nb.cells = [c for c in nb.cells if not is_slide(c)]  # the deck's slides: not for readers
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = convert(cell.source).strip("\n")
        elif cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="docnames to convert (default: every notebook of _toc.yml)")
    parser.add_argument("--build", type=Path, default=ROOT / "_build", help="the build folder (default _build)")
    parser.add_argument("--out", type=Path, help="where to write (default <build>/reader)")
    parser.add_argument("--execute", action="store_true", help="execute every notebook instead of reusing the build's")
    args = parser.parse_args(argv)
    build = args.build.resolve()
    out_dir = (args.out or build / "reader").resolve()
    names = [n for n in toc_files(ROOT) if (ROOT / f"{n}.ipynb").is_file()]
    if args.names:
        unknown = sorted(set(args.names) - set(names))
        if unknown:
            sys.exit(f"make_reader: {unknown} are not notebooks of _toc.yml (pass docnames like notebooks/10_guidance)")
        names = [n for n in names if n in args.names]
    elif out_dir.exists():
        shutil.rmtree(out_dir)  # reader notebooks of removed chapters go too
    bib, titles = Bibliography(ROOT / "book" / "references.bib"), page_titles(ROOT)
    for name in names:
        start = time.perf_counter()
        source = ROOT / f"{name}.ipynb"
        done = build / "jupyter_execute" / f"{name}.ipynb"
        if not args.execute and done.is_file() and done.stat().st_mtime >= source.stat().st_mtime:
            executed, origin = nbformat.read(done, as_version=4), "the site build's execution"
        else:
            executed, origin = execute(source), "a fresh execution"
        glue = executed_glue(executed, done)
        MISSING_GLUE.clear()
        reader = reader_notebook(nbformat.read(source, as_version=4), name, glue, bib, titles)
        if MISSING_GLUE:
            sys.exit(
                f"make_reader: {source.name} glues no value for {sorted(MISSING_GLUE)}; the reader notebook "
                f"would show those names instead of numbers (is each name glued in the notebook?)"
            )
        nbformat.validate(reader)
        target = out_dir / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(reader, target)
        shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
        print(f"make_reader: {shown} from {origin} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

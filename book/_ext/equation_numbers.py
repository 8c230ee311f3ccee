"""Equation numbers per chapter, "(10.3)", as the book numbers its figures (a local Sphinx extension).

Sphinx numbers labelled display equations with its figure counter (``numfig`` and ``math_numfig``,
both on in Jupyter Book). That counter restarts only at numbered sections, and the book's toctree
is not numbered (chapter titles carry their number, "# 10. Classifier-free guidance"), so it ran on
across the whole book: chapter 10 showed (51). After Sphinx has counted, this renumbers each page's
equations from 1, in page order, prefixed with the chapter number of a page named
``notebooks/NN_*``; other pages (the lecturer's guide, ...) get (1), (2), ... . Both the number
beside an equation and every ``{eq}`` reference to it, on its page or another, read this table.
The lecture slides and reader notebooks number the same way (``tools/make_slides.py``).
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

CHAPTER_DOC = re.compile(r"(?:^|/)(\d+)_[^/]+$")


def chapter_number(docname: str) -> int | None:
    """The NN of ``notebooks/NN_name``, else None."""
    match = CHAPTER_DOC.search(docname)
    return int(match[1]) if match else None


def number_per_chapter(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Runs after Sphinx's own numbering (``env-get-updated``, later priority)."""
    for docname, fignumbers in env.toc_fignumbers.items():
        equations = fignumbers.get("displaymath")
        if not equations:
            continue
        chapter = chapter_number(docname)
        prefix = () if chapter is None else (chapter,)
        in_page_order = sorted(equations, key=equations.__getitem__)
        fignumbers["displaymath"] = {node_id: (*prefix, k) for k, node_id in enumerate(in_page_order, start=1)}
    return []


def setup(app: Sphinx) -> dict:
    app.connect("env-get-updated", number_per_chapter, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

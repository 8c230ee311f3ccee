"""Teaching machinery that every chapter gets for free (a local Sphinx extension, see _config.yml).

1. **Lecture slides link.** Every page built from a notebook that has a deck (``has_deck``) gets,
   under its title, a line "Lecture slides for this page" and a header button (a chalkboard icon)
   pointing at ``slides/<notebook name>.slides.html``, and the line links the deck's PDF
   (``slides/<notebook name>.slides.pdf``). The decks themselves are written after the Sphinx build
   by ``tools/make_slides.py`` (``make book`` runs it), from the notebooks the build executed, and
   printed to PDF by ``tools/deck_pdf.py``.

   **Which notebooks have a deck** is decided here, once (``has_deck``; make_slides and the tests
   ask it too): every notebook, unless its notebook-level metadata says
   ``{"dit": {"lecture_slides": false}}``, a page that is not taught (the build report).
2. **The ``{chapter}`` role**, for pages that talk about chapters which may not exist yet (the
   lecturer's guide): ``{chapter}`Images as tokens <01>``` links to ``notebooks/01_*`` when that
   notebook is part of the build, and is plain text otherwise, so the ``-W`` build stays green
   while chapters are being written and links appear by themselves when they land.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

SLIDES_DIR = "slides"  # under the HTML output folder; tools/make_slides.py writes there
DECK_FLAG = ("dit", "lecture_slides")  # notebook metadata {"dit": {"lecture_slides": false}}: no deck


def has_deck(notebook: str | Path) -> bool:
    """The one rule for lecture decks: the notebook at NOTEBOOK (an .ipynb) has a deck and a slides link
    unless its notebook-level metadata sets {"dit": {"lecture_slides": false}} (a page not taught)."""
    metadata = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata") or {}
    key, value = DECK_FLAG
    return (metadata.get(key) or {}).get(value, True) is not False
H1_END = re.compile(r"</h1>")


def slides_name(docname: str) -> str:
    """The deck of a notebook page: notebooks/01_patchify -> 01_patchify.slides.html."""
    return f"{PurePosixPath(docname).name}.slides.html"


def is_notebook(app: Sphinx, pagename: str) -> bool:
    if pagename not in app.env.found_docs:
        return False
    return str(app.env.doc2path(pagename)).endswith(".ipynb")


def add_slides_link(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if doctree is None or not is_notebook(app, pagename) or not has_deck(app.env.doc2path(pagename)):
        return
    url = context["pathto"](f"{SLIDES_DIR}/{slides_name(pagename)}", 1)
    buttons = context.get("header_buttons")
    if isinstance(buttons, list):
        buttons.append({
            "type": "link",
            "url": url,
            "tooltip": "Lecture slides (reveal.js)",
            "icon": "fas fa-person-chalkboard",
            "label": "lecture-slides-button",
        })
    body = context.get("body") or ""
    pdf = url.removesuffix(".html") + ".pdf"
    line = (
        f'<p class="dit-slides-link"><a class="reference external" href="{url}">Lecture slides for this page</a>'
        " (reveal.js, cut from this notebook: arrows to move, <kbd>S</kbd> for the speaker notes;"
        f' <a class="reference external dit-slides-pdf" href="{pdf}">PDF</a>)</p>'
    )
    new, count = H1_END.subn(lambda m: m.group(0) + line, body, count=1)
    if count == 0:  # a notebook without a title: put the line on top
        new = line + body
    context["body"] = new


def chapter_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """{chapter}`Title <NN>`: a link to notebooks/NN_*.ipynb if it is built, else the title as text."""
    match = re.fullmatch(r"\s*(.*?)\s*<\s*(\d+)\s*>\s*", text, flags=re.DOTALL)
    if not match:
        msg = inliner.reporter.error(f"chapter role: write {{chapter}}`Title <NN>`, not {text!r}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    title, number = match[1], match[2].zfill(2)
    env = inliner.document.settings.env
    docs = sorted(d for d in env.found_docs if re.fullmatch(rf"notebooks/{number}_[^/]+", d))
    if not docs:
        return [nodes.inline(rawtext, title, classes=["dit-chapter-pending"])], []
    ref = addnodes.pending_xref(
        rawtext, refdomain="std", reftype="doc", reftarget=f"/{docs[0]}", refexplicit=True, refwarn=True,
        refdoc=env.docname,
    )
    ref += nodes.inline(rawtext, title, classes=["xref", "std", "std-doc"])
    return [ref], []


def setup(app: Sphinx) -> dict:
    app.add_role("chapter", chapter_role)
    # after sphinx-book-theme's header buttons (priority 501), before the page is written
    app.connect("html-page-context", add_slides_link, priority=502)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}

"""Docstrings on the API reference page (book/api.md) as they read in `help()`: preformatted text.

dit_lib's docstrings are written for the terminal, not in reStructuredText: aligned columns,
shapes such as `(B, L, D)`, formulas such as `|x_t - x_0|` and `eps * sigma`. Read as reST those
become substitution references, emphasis and "unexpected indentation" errors (the book builds with
`-W`). This local extension turns every docstring that `sphinx.ext.autodoc` inserts into a literal
block, so the page shows each one exactly as written, whatever characters it holds.
"""
from __future__ import annotations

from sphinx.application import Sphinx


def as_literal_block(app, what, name, obj, options, lines: list[str]) -> None:
    """Replace the docstring's lines (already dedented by autodoc) with one literal block."""
    while lines and not lines[-1].strip():
        lines.pop()
    if not any(line.strip() for line in lines):
        return
    lines[:] = ["::", ""] + [f"    {line}" if line.strip() else "" for line in lines] + [""]


def setup(app: Sphinx) -> dict:
    app.connect("autodoc-process-docstring", as_literal_block)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

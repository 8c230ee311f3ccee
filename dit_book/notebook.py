"""Helpers for the book's notebooks (in dit_book, above the library: nothing in dit_lib imports this).

* `glue(name, value, display=False)`: put a computed number into the prose. In the book build it
  is MyST-NB's glue (`{glue:}` roles in markdown cells); everywhere else it does nothing, because
  the reader notebooks (Colab, plain Jupyter; ``tools/make_reader.py``) already carry the values
  in their prose.
* `show_source(obj)`: display the library's own source of a function or class (never re-typed).
* `in_colab()`: whether a notebook runs in Google Colab.
"""
from __future__ import annotations

import inspect
import os
import sys


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def _myst_glue():
    """MyST-NB's glue, where a book build may be reading: MyST-NB importable and not in Colab."""
    if in_colab():
        return None
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return None
    return myst_glue


def glue(name: str, value, display: bool = False):
    """Glue `value` under `name` for the book build (MyST-NB's glue); elsewhere, silent.

    The rule: MyST-NB's glue runs where ``myst_nb`` imports and the kernel is not Colab's; the
    site build (``make book``, the ``book`` extra) always has it. Its output, with
    ``display=False``, carries only MyST-NB's own MIME types (``application/papermill.record/...``),
    which JupyterLab, Notebook 7 and nbconvert's HTML do not render: a local Jupyter with the book
    extra installed shows nothing either. In Colab, or wherever MyST-NB is missing, nothing is
    output at all (with ``display=True``, the value itself is displayed). The reader notebooks
    carry the values in their prose, so nothing is lost.

    Returns None, so a glue() on a cell's last line leaves no stray output on the page."""
    myst_glue = _myst_glue()
    if myst_glue is not None:
        myst_glue(name, value, display=display)
    elif display:
        try:
            from IPython.display import display as ipy_display
        except ImportError:  # not in IPython
            print(value)
            return None
        ipy_display(value)


def source(obj) -> str:
    """The source text of a dit_lib function, class or method."""
    return inspect.getsource(obj)


def show_source(obj):
    """Display the source of `obj` with syntax highlighting (falls back to plain text)."""
    text = source(obj)
    try:
        from IPython.display import Code, display
    except ImportError:  # not in IPython
        print(text)
        return None
    display(Code(text, language="python"))
    return None


def agreement(gap: float, digits: int = 1) -> str:
    """How two routes to the same numbers compare on this machine, for the prose: "agree exactly"
    when the largest difference is 0, else "differ by at most 4.8e-07". Whether the last bits
    differ depends on the CPU and the thread count, so a sentence must read right either way."""
    return "agree exactly" if gap == 0 else f"differ by at most {gap:.{digits}e}"

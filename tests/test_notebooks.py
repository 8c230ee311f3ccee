"""Every notebook of the book is committed clean and listed in the table of contents.

Notebooks: notebooks/*.ipynb (the chapters) and book/*.ipynb (the intro). `make test` executes
each once, in the site build (`make book`, in this environment's ``python3`` kernel, checked
below, from an empty temporary folder); tests/test_colab.py runs the reader versions of two of
them again from a wheel, as Colab would (see its docstring).
"""

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("book/*.ipynb")])
KERNEL = "python3"
TIMEOUT = 600  # seconds per cell, as in _config.yml

# The same renderer as the site build (see Makefile), so the tests run what the build runs.
os.environ.setdefault("PLOTLY_RENDERER", "notebook_connected")
os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def run(nb, cwd: Path):
    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name=KERNEL, resources={"metadata": {"path": str(cwd)}})
    return client.execute()


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/ or book/"


def test_every_notebook_is_in_the_toc():
    """Only files listed in _toc.yml are built (only_build_toc_files), so a missing entry
    would silently leave a chapter out of the site."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s*-?\s*(?:file|root):\s*(\S+)", toc, flags=re.MULTILINE))
    missing = [rel(p) for p in NOTEBOOKS if rel(p).removesuffix(".ipynb") not in listed]
    assert not missing, f"notebooks not listed in _toc.yml (add `- file: <path without .ipynb>`): {missing}"


def test_kernel_is_this_environment(tmp_path):
    """The `python3` kernel must be this virtual environment's Python, not another one on the machine."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.prefix)")])
    out = run(nb, tmp_path).cells[0].outputs[0]["text"].strip()
    assert Path(out) == Path(sys.prefix), (
        f"kernel {KERNEL!r} runs in {out}, tests run in {sys.prefix}; "
        "install this environment's kernel: python -m ipykernel install --sys-prefix --name python3"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_notebook_has_no_outputs(path):
    """Notebooks are committed without outputs; the build and these tests execute them."""
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{rel(path)}: code cells {dirty} carry outputs or execution counts; clear them with "
        f"`jupyter nbconvert --clear-output --inplace {rel(path)}`"
    )

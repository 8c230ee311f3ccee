"""Every notebook of the book runs top to bottom in a fresh kernel, and is committed clean.

Notebooks: notebooks/*.ipynb (the chapters) and book/*.ipynb (the intro). Each runs with
nbclient in a new ``python3`` kernel, from its own folder, with a 600 s limit per cell; a
cell that raises fails the test with the cell's traceback. `make test` prints the time each
notebook took (pytest --durations).
"""

import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

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
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{rel(path)}: code cells {dirty} carry outputs or execution counts; clear them with "
        f"`jupyter nbconvert --clear-output --inplace {rel(path)}`"
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_notebook_executes(path, record_property):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    try:
        run(nb, path.parent)
    except CellExecutionError as err:
        pytest.fail(f"{rel(path)} failed after {time.perf_counter() - start:.1f} s:\n{err}", pytrace=False)
    seconds = time.perf_counter() - start
    record_property("seconds", round(seconds, 2))
    print(f"{rel(path)}: executed in {seconds:.1f} s")

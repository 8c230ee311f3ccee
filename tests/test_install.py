"""The reader's local install, tried cold: ``pip install torch==2.13.0`` first, then
``pip install "dit_lib[notebooks]"``, then Jupyter runs a chapter (README "Run a chapter on your
computer"), and the places that tell a reader how.

* ``test_install_commands_use_the_repository_address`` / ``test_conda_and_binder_environment_is_the_readers_install``:
  the commands of README.md and book/how_to_use.md name _config.yml's repository and branches and put
  torch first; environment.yml installs the Makefile's torch pin, then ``-e .[notebooks]``.
* ``test_notebooks_extra_covers_every_import``: every third-party module that ``dit_lib``,
  ``dit_book`` or a notebook imports is provided by ``dit_lib``'s requirements or its ``notebooks``
  extra (walked through their own requirements, as pip would install them). An import inside
  ``try: ... except ImportError`` is optional and not counted. Fast, and it covers every chapter.
* ``test_wheel_with_notebooks_extra_runs_a_chapter``: the same thing for real, in the order the
  README gives. A wheel of the distribution (built from a copy of the package files, so no
  ``build/`` or ``*.egg-info`` lands in the checkout) goes into a new virtual environment of its
  own (nothing borrowed from the test environment, unlike tests/test_colab.py): first the torch
  pin of the Makefile, then ``<wheel>[notebooks]`` from the package index (pip's cache, where it works,
  is warm after ``make setup``), both with ``--no-compile``; ``tools/check_env.py`` then checks it.
  That environment's own ``jupyter nbconvert --execute`` then runs chapter 1 from
  an empty folder outside the checkout, as a fresh user (``HOME`` is a new folder: no user kernels
  or settings) and without the build's ``PLOTLY_RENDERER``. A cell appended to the chapter reports
  what the kernel imported: no module may come from the checkout (its ``.venv`` included), and the
  chapter must have used plotly, Pillow, matplotlib and ipywidgets, so the run proves the extra.
  About 2 to 5 min on 2 cores, most of it pip; ``pytest -s -k wheel tests/test_install.py`` prints the parts.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import nbformat
import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from _wheel import build_wheel  # tests/_wheel.py

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402  (tools/ is not a package; it reads the repository address from _config.yml)

CHAPTER = ROOT / "notebooks" / "01_images_as_tokens.ipynb"  # the fastest chapter that uses all four below
USED_BY_CHAPTER = {"plotly", "PIL", "matplotlib", "ipywidgets"}  # what a bare `pip install .` lacked (issue 14)
OPTIONAL = {"myst_nb"}  # dit_book.notebook.glue falls back to print() without it (only the site build has it)


def torch_pin() -> str:
    """The torch version the Makefile installs first (TORCH_VERSION ?= ...): one place for the pin."""
    m = re.search(r"^TORCH_VERSION \?= *(\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert m, "Makefile has no `TORCH_VERSION ?= X` line"
    return m.group(1)


# --- every import is declared -------------------------------------------------------------------


def _optional(node: ast.AST, parents: dict) -> bool:
    """Whether an import sits in a `try:` body whose handlers catch ImportError."""
    while node in parents:
        node, child = parents[node], node
        if isinstance(node, ast.Try) and child in node.body:
            names = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if names & {"ImportError", "ModuleNotFoundError", "(ImportError, ModuleNotFoundError)"}:
                return True
    return False


def imported_modules(source: str) -> set[str]:
    """Top-level names of the absolute, non-optional imports in `source`."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        else:
            continue
        if not _optional(node, parents):
            found |= {n.split(".")[0] for n in names}
    return found


def sources() -> dict[str, str]:
    """The code of dit_lib, dit_book and every notebook's code cells (IPython magics dropped)."""
    out = {str(p.relative_to(ROOT)): p.read_text() for pkg in ("dit_lib", "dit_book") for p in (ROOT / pkg).rglob("*.py")}
    for path in sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("book/*.ipynb")]):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                code = "\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in cell.source.splitlines())
                out[f"{path.relative_to(ROOT)} cell {i}"] = code
    return out


def closure(requirements: list[str]) -> set[str]:
    """The distributions pip installs for `requirements` (names canonicalised), walked through the
    installed distributions' own requirements with their markers and extras."""
    env = default_environment()
    seen: set[str] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        for ex in [""] + sorted(req.extras):
            key = f"{canonicalize_name(req.name)}[{ex}]"
            if key in seen:
                continue
            seen.add(key)
            try:
                dist = distribution(req.name)
            except PackageNotFoundError:
                continue  # not installed here: whatever it would provide is not counted
            todo += [(Requirement(r), ex) for r in dist.requires or []]
    return {k.split("[")[0] for k in seen}


def test_notebooks_extra_covers_every_import():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    provided = closure([*project["dependencies"], *project["optional-dependencies"]["notebooks"]])
    module_dists = packages_distributions()
    ours = {"dit_lib", "dit_book"}
    missing = {}
    for where, code in sources().items():
        for module in imported_modules(code) - set(sys.stdlib_module_names) - ours - OPTIONAL:
            dists = {canonicalize_name(d) for d in module_dists.get(module, [])}
            if not dists & provided:
                missing.setdefault(module, []).append(where)
    assert not missing, "imported but not provided by dit_lib's requirements + its `notebooks` extra:\n" + "\n".join(
        f"  {m} (from {sorted(module_dists.get(m, ['nothing installed']))}): {w[:3]}" for m, w in sorted(missing.items())
    )


def test_the_scan_sees_optional_and_required_imports():
    code = "import plotly.express as px\nfrom PIL import Image\ntry:\n    import myst_nb\nexcept ImportError:\n    pass\n"
    assert imported_modules(code) == {"plotly", "PIL"}
    assert imported_modules("from . import x\nimport a.b, c") == {"a", "c"}


# --- the install commands the reader copies --------------------------------------------------------

INSTALL_DOCS = ("README.md", "book/how_to_use.md")


def test_install_commands_use_the_repository_address():
    """The pip and git commands of the README and "How to use this book" name the repository of
    _config.yml: the source branch for `pip install ...@branch`, the Colab branch for the clone."""
    url, branch = colab_cell.repository(ROOT)
    colab = colab_cell.colab_branch(ROOT)
    for name in INSTALL_DOCS:
        text = (ROOT / name).read_text(encoding="utf-8")
        pips = re.findall(r'"dit_lib\[notebooks\] @ git\+(\S+?)@([\w.-]+)"', text)
        clones = re.findall(r"git clone [^\n]*?--branch (\S+) (\S+)", text)
        assert pips and clones, f'{name}: no `pip install "dit_lib[notebooks] @ git+..."` or `git clone` command'
        assert set(pips) == {(url, branch)}, f"{name}: {pips} should all be ({url!r}, {branch!r}) as in _config.yml"
        assert set(clones) == {(colab, url)}, f"{name}: clone {clones}, expected branch {colab!r} of {url}"
        assert re.search(r"pip install torch==" + re.escape(torch_pin()), text), f"{name}: no `pip install torch=={torch_pin()}`"
        assert text.index("pip install torch==") < text.index("dit_lib[notebooks] @"), f"{name}: torch must come first"


def test_conda_and_binder_environment_is_the_readers_install():
    """environment.yml (conda users, Binder): the Makefile's torch pin, then dit_lib with the `notebooks` extra."""
    import yaml

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    requirements = [line for line in pip if not line.startswith("-") or line.startswith("-e ")]
    assert requirements == [f"torch=={torch_pin()}", "-e .[notebooks]"], requirements
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "notebooks" in extras and "dit_lib[notebooks]" in extras["book"], "the book extra builds on notebooks"


# --- the install, for real ------------------------------------------------------------------------


def run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


REPORT = """\
import json as _json, pathlib as _pl, sys as _sys
_files = [getattr(_m, "__file__", None) for _m in list(_sys.modules.values())]
print(_json.dumps({"prefix": _sys.prefix, "cwd": str(_pl.Path.cwd()),
                   "modules": sorted({_n.split(".")[0] for _n in _sys.modules}),
                   "files": sorted({str(_pl.Path(_f).resolve()) for _f in _files if _f})}))
"""


@pytest.mark.slow
def test_wheel_with_notebooks_extra_runs_a_chapter(tmp_path):
    assert not tmp_path.resolve().is_relative_to(ROOT), f"{tmp_path} must be outside the checkout"
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PLOTLY_RENDERER"}
        and not k.startswith("JUPYTER")
    }
    seconds = {}
    start = time.perf_counter()
    # 1. the wheel, from a copy of what the distribution is built from
    wheel = build_wheel(tmp_path)
    seconds["wheel"] = time.perf_counter() - start
    # 2. a new virtual environment: the torch pin first and alone, then the wheel with the extra
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], env=clean)
    # --no-compile: no .pyc for the ~20,000 files of torch & co. (about a minute on 2 cores); the
    # kernel compiles what it imports. Everything else is what a reader types.
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    run([*pip, f"torch=={torch_pin()}"], env=clean)
    seconds["venv + torch"] = time.perf_counter() - start - sum(seconds.values())
    run([*pip, f"{wheel}[notebooks]"], env=clean)
    seconds["extra"] = time.perf_counter() - start - sum(seconds.values())
    # the Makefile's rules hold here too: torch is the pin, no torchvision/torchaudio, no CUDA wheels
    run([venv / "bin" / "python", ROOT / "tools" / "check_env.py", torch_pin()], env=clean, cwd=tmp_path)
    # 3. chapter 1 (and a report cell) in an empty folder, run by that environment's Jupyter
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    nb = nbformat.read(CHAPTER, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    nbformat.write(nb, work / CHAPTER.name)
    env = {**clean, "HOME": str(home), "PATH": f"{venv / 'bin'}{os.pathsep}{clean.get('PATH', '')}"}
    run(
        [
            venv / "bin" / "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=600",
            "--output",
            "executed.ipynb",
            CHAPTER.name,
        ],
        cwd=work,
        env=env,
    )
    seconds["chapter"] = time.perf_counter() - start - sum(seconds.values())
    out = nbformat.read(work / "executed.ipynb", as_version=4).cells[-1].outputs
    report = json.loads(next(o["text"] for o in out if o.get("name") == "stdout"))
    # the kernel was the new environment's, in the empty folder, and nothing came from the checkout
    assert Path(report["prefix"]).resolve() == venv.resolve(), f"the kernel ran in {report['prefix']}, not {venv}"
    assert Path(report["cwd"]).resolve() == work.resolve(), report["cwd"]
    from_checkout = [f for f in report["files"] if Path(f).is_relative_to(ROOT)]
    assert not from_checkout, f"the kernel imported files from the checkout: {from_checkout[:5]}"
    dit_lib_file = next(f for f in report["files"] if re.search(r"/dit_lib/__init__\.py$", f))
    assert Path(dit_lib_file).is_relative_to(venv.resolve()), dit_lib_file
    assert USED_BY_CHAPTER <= set(report["modules"]), f"the chapter no longer uses {USED_BY_CHAPTER - set(report['modules'])}"
    print(
        "fresh-venv install and chapter 1: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
        + f", total {time.perf_counter() - start:.1f} s"
    )

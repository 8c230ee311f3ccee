"""Every notebook runs as it would in Colab: in a fresh kernel, from an empty folder outside the
checkout, with ``dit_lib`` installed from a wheel (not the editable install of the checkout).

The environment (built once per test session, about 5 s):

* a wheel of the ``dit_lib`` distribution (both its packages, ``dit_lib`` and ``dit_book``),
  built from a copy of the package files (so no ``build/`` or
  ``*.egg-info`` appears in the checkout), installed into a new, empty virtual environment;
* the rest (torch, numpy, plotly, ipywidgets, ipykernel, ...) is borrowed from the test
  environment: a ``.pth`` file in the new environment names the test environment's
  site-packages folder as a plain path. Python appends that folder to ``sys.path`` *after* the
  new environment's own site-packages, and does not process the ``.pth`` files inside it, so
  the editable finder of the checkout (``__editable__.dit_lib-*.pth``) never runs and the wheel's
  ``dit_lib`` is the only one the kernel can import. This is what Colab is like (its own torch and
  plotly, dit_lib from a package) at the cost of a file copy, instead of a second 1 GB
  installation of torch and the notebook stack (half a minute or more on every fresh machine).
  The kernel checks it: ``dit_lib.__file__`` (and ``dit_book.__file__``) is not in the checkout, ``sys.path`` does not hold
  the checkout, and its working folder starts empty.

What runs where, so that no notebook runs twice in ``make test``:

* the **site build** executes every notebook once, each in a fresh kernel from an empty temporary
  folder outside the checkout (``_config.yml``: ``run_in_temp: true``, checked below);
* what the build cannot show is the **wheel**: ``test_wheel_holds_every_file_of_both_packages``
  compares its contents with the checkout's package files (a file the wheel lacks, such as a shipped
  checkpoint missing from ``package-data``, is what breaks a chapter in Colab and not in the build);
* the **reader notebooks** of ``COLAB_RUNS`` (what a Colab link opens: ``tools/make_reader.py``'s
  plain-Markdown version) run here in the Colab-like kernel with nbclient (600 s per cell, as in the
  site build), with guard cells that check the folder, ``sys.path`` and where ``dit_lib`` comes from;
  ``tests/test_install.py`` runs chapter 1 once more in a real fresh virtual environment.

Static checks keep notebooks Colab-friendly: no ``os.chdir``/``sys.path`` edits, no paths into the
repository, only core ipywidgets (no ``FigureWidget``, ``anywidget``, ``ipympl``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets import default

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402  (tools/ is not a package)
from _wheel import build_wheel  # noqa: E402  (tests/_wheel.py)

NOTEBOOKS = colab_cell.notebooks(ROOT)
TIMEOUT = 600  # seconds per cell, as in _config.yml
KERNEL = "dit-book-colab"

os.environ.setdefault("PLOTLY_RENDERER", "notebook_connected")  # as in the site build


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def code_cells(path: Path) -> list[tuple[int, str]]:
    nb = nbformat.read(path, as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


# --- static checks: what Colab cannot do ------------------------------------------------------

REPO_PATH = r"""["'](?:\.\./|\./)?(?:dit_lib|dit_book|book|notebooks|tests|tools|benchmarks)/"""
FORBIDDEN = {
    r"\bos\.chdir\(": "os.chdir: a notebook runs from whatever folder Colab gives it",
    r"\bsys\.path\.(?:insert|append|extend)\(": "sys.path edits: import the installed dit_lib",
    REPO_PATH: "a path into the repository: Colab has no checkout",
    r"""["']\.\./""": "a relative path out of the notebook's folder: Colab has no checkout",
    r"\bFigureWidget\b": "plotly FigureWidget does not render on the site nor in a fresh Colab: use fig.show()",
    r"\banywidget\b|\bipympl\b|%matplotlib\s+widget": "only core ipywidgets (with Output) render on the site",
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_notebook_is_colab_friendly(path):
    problems = [
        f"cell {i}: {why} ({m.group(0)!r})"
        for i, source in code_cells(path)
        for pattern, why in FORBIDDEN.items()
        for m in [re.search(pattern, source)]
        if m
    ]
    assert not problems, f"{rel(path)}:\n" + "\n".join(problems)


def test_setup_cells_and_readme_table_are_in_sync():
    """The first code cell of every notebook and the README's Colab table follow _config.yml."""
    stale = colab_cell.run(ROOT, check=True)
    assert not stale, "\n".join(stale) + "\nrun `make colab-cells` (python tools/colab_cell.py)"


def test_setup_cell_never_reinstalls_torch():
    """pip leaves an installed requirement alone when it satisfies the range; dit_lib asks for
    torch with a lower bound only, so Colab's torch stays, and the cell never forces a reinstall."""
    from packaging.requirements import Requirement

    url, branch = colab_cell.repository(ROOT)
    source = colab_cell.setup_source(url, branch)
    pip_lines = [line for line in source.splitlines() if "pip install" in line]
    assert pip_lines and not any("torch" in line for line in pip_lines), pip_lines
    assert not re.search(r"--upgrade|\s-U\b|--force-reinstall|--ignore-installed", source)
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch = next(Requirement(d) for d in deps if Requirement(d).name == "torch")
    assert all(s.operator in (">=", ">") for s in torch.specifier), (
        f"dit_lib requires {torch}: an upper bound or pin would make pip replace Colab's torch"
    )


# --- the Colab-like environment ----------------------------------------------------------------


@pytest.fixture(scope="session")
def colab_env(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("colab")
    assert not base.resolve().is_relative_to(ROOT), f"{base} must be outside the checkout"
    # 1. a wheel, from a copy of what the package is built from
    wheel = build_wheel(base)
    # 2. an empty virtual environment, with the wheel installed into its site-packages
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True,
    )
    # 3. everything else from the test environment, as a plain path (see the module docstring)
    borrowed = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    (site / "zz-borrow-test-environment.pth").write_text("\n".join(borrowed) + "\n")
    # 4. a kernel spec for that Python, in a folder of its own
    kernels = base / "kernels"
    (kernels / KERNEL).mkdir(parents=True)
    (kernels / KERNEL / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Colab-like (dit_lib from a wheel)",
                "language": "python",
                "env": {"PYTHONNOUSERSITE": "1"},
            }
        )
    )

    class ColabKernelManager(KernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return KernelSpecManager(kernel_dirs=[str(kernels)])

    return {"base": base, "wheel": wheel, "python": python, "manager": ColabKernelManager}


def fresh_dir(env: dict, name: str) -> Path:
    cwd = env["base"] / "run" / name
    cwd.mkdir(parents=True)
    return cwd


def execute(nb, env: dict, cwd: Path):
    client = NotebookClient(
        nb,
        timeout=TIMEOUT,
        kernel_name=KERNEL,
        kernel_manager_class=env["manager"],
        resources={"metadata": {"path": str(cwd)}},
    )
    return client.execute()


def guard_cells() -> tuple:
    """Cells the test adds: the folder is empty and outside the checkout at the start; after the
    set-up cell, dit_lib and dit_book are the wheel's."""
    root = repr(str(ROOT))
    first = nbformat.v4.new_code_cell(
        "import os as _os, sys as _sys, pathlib as _pl\n"
        f"_root = _pl.Path({root})\n"
        "assert not _pl.Path.cwd().resolve().is_relative_to(_root), f'cwd {_pl.Path.cwd()} is in the checkout'\n"
        "assert _os.listdir('.') == [], f'the working folder is not empty: {_os.listdir(\".\")}'\n"
        "assert not any(p and _pl.Path(p).resolve() == _root for p in _sys.path), f'the checkout is on sys.path'\n"
    )
    after_setup = nbformat.v4.new_code_cell(
        "import dit_lib as _dl, dit_book as _db, pathlib as _pl\n"
        f"_root = _pl.Path({root})\n"
        "assert not _pl.Path(_dl.__file__).resolve().is_relative_to(_root), f'dit_lib comes from the checkout: {_dl.__file__}'\n"
        "assert not _pl.Path(_db.__file__).resolve().is_relative_to(_root), f'dit_book comes from the checkout: {_db.__file__}'\n"
        "print('dit_lib from', _dl.__file__)\n"
    )
    return first, after_setup


def test_kernel_sees_the_wheel_not_the_checkout(colab_env):
    nb = nbformat.v4.new_notebook(
        cells=[
            *guard_cells(),
            nbformat.v4.new_code_cell(
                "import dit_lib, sys, importlib.metadata as md\n"
                "print(dit_lib.__file__); print(sys.prefix); print(md.distribution('dit_lib')._path)"
            ),
        ]
    )
    out = execute(nb, colab_env, fresh_dir(colab_env, "probe")).cells[-1].outputs[0]["text"].splitlines()
    assert Path(out[0]).resolve().is_relative_to(colab_env["base"].resolve()), out
    assert Path(out[1]) == colab_env["python"].parent.parent, f"kernel runs in {out[1]}, not the Colab-like venv"
    assert "site-packages" in out[2] and not Path(out[2]).resolve().is_relative_to(ROOT), out


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/ or book/"


def test_site_build_runs_each_notebook_from_an_empty_folder_outside_the_checkout():
    """The build's execution is the Colab-like run of every notebook: fresh kernel, temp folder."""
    import yaml

    execute = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["execute"]
    assert execute["run_in_temp"] is True, "_config.yml execute: run_in_temp must stay true (see this module's docstring)"
    assert execute["execute_notebooks"] == "force", execute


def package_files() -> set[str]:
    """Every file of dit_lib/ and dit_book/ that git tracks (the folders as they are, without git)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "dit_lib", "dit_book"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = [rel(p) for package in ("dit_lib", "dit_book") for p in (ROOT / package).rglob("*") if p.is_file()]
    return {name for name in listed if "__pycache__" not in name and not name.endswith(".pyc")}


def test_wheel_holds_every_file_of_both_packages(colab_env):
    import zipfile

    with zipfile.ZipFile(colab_env["wheel"]) as wheel:
        inside = {name for name in wheel.namelist() if name.startswith(("dit_lib/", "dit_book/"))}
    missing = sorted(package_files() - inside)
    assert not missing, (
        f"the wheel lacks {missing}: a reader who installs dit_lib does not get them; "
        "add them to [tool.setuptools.package-data] in pyproject.toml"
    )
    assert any(name.endswith(".pt") for name in inside), "no shipped checkpoint in the wheel"


# The reader notebooks run here (see the module docstring): the front page, and chapter 11 (the one
# chapter that needs a package beyond torch and the notebook stack: diffusers, a dependency of dit_lib).
# Chapter 1 runs in tests/test_install.py, from a fresh reader's install.
COLAB_RUNS = ["book/intro", "notebooks/11_latent_space"]


@pytest.mark.slow
@pytest.mark.parametrize("name", COLAB_RUNS)
def test_reader_notebook_runs_like_in_colab(name, colab_env, record_property, monkeypatch, tmp_path):
    import make_reader  # tools/, on sys.path above

    monkeypatch.delenv("PYTHONPATH", raising=False)
    assert (ROOT / f"{name}.ipynb").is_file(), f"{name}.ipynb is not a notebook of the book"
    # the reader version: from the notebook the site build executed when it is current, else run here
    assert make_reader.main(["--build", str(ROOT / "_build"), "--out", str(tmp_path), name]) == 0
    path = tmp_path / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    first, after_setup = guard_cells()
    setup_at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    assert colab_cell.is_setup_cell(nb.cells[setup_at]), f"{name}: run `make colab-cells`"
    nb.cells.insert(setup_at + 1, after_setup)
    nb.cells.insert(0, first)
    cwd = fresh_dir(colab_env, path.stem)
    start = time.perf_counter()
    try:
        execute(nb, colab_env, cwd)
    except CellExecutionError as err:
        pytest.fail(
            f"{name} (reader notebook) failed in the Colab-like kernel after {time.perf_counter() - start:.1f} s "
            f"(cwd {cwd}):\n{err}",
            pytrace=False,
        )
    seconds = time.perf_counter() - start
    record_property("seconds", round(seconds, 2))
    made = sorted(p.name for p in cwd.iterdir())
    print(f"{name} (reader notebook): ran like in Colab in {seconds:.1f} s, from {cwd}" + (f" (it wrote {made})" if made else ""))


# --- the Colab branch: reader notebooks that every Colab link opens ----------------------------


def test_colab_links_open_the_colab_branch_and_the_setup_cell_installs_from_main():
    """README badges and the site's launch buttons open the reader notebooks on the Colab branch;
    the package itself is installed from the source branch, where it lives."""
    url, branch = colab_cell.repository(ROOT)
    colab = colab_cell.colab_branch(ROOT)
    assert colab != branch, f"the Colab branch ({colab}) must not be the source branch ({branch})"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split(colab_cell.TABLE_START, 1)[1].split(colab_cell.TABLE_END, 1)[0]
    links = re.findall(r"\]\((https://colab\.research\.google\.com/github/[^)]+)\)", table)
    slug = url.removeprefix("https://github.com/")
    expected = [
        f"{colab_cell.COLAB}/{slug}/blob/{colab}/{n}.ipynb" for n in colab_cell.toc_files(ROOT) if (ROOT / f"{n}.ipynb").is_file()
    ]
    assert links == expected, "README Colab links do not open the Colab branch: run `make colab-cells`"
    assert f"git+{url}@{branch}" in colab_cell.setup_source(url, branch)
    # the site: sphinx-book-theme builds its Colab and Binder links from repository_branch
    from jupyter_book.config import get_final_config

    config, _ = get_final_config(user_yaml=ROOT / "_config.yml", sourcedir=ROOT, cli_config={"latex_individualpages": False})
    options = config["html_theme_options"]
    assert (options["repository_url"], options["repository_branch"]) == (url, colab)
    assert options["launch_buttons"].get("colab_url"), "no Colab launch button"


def test_installed_package_knows_the_repository(tmp_path):
    """dit_book/_repository.py (what the front page and its map read in a fresh Colab, with no
    _config.yml near) holds _config.yml's address and branches; --check fails when it is stale."""
    import shutil

    from dit_book import _repository

    url, branch = colab_cell.repository(ROOT)
    assert (_repository.REPOSITORY_URL, _repository.MAIN_BRANCH, _repository.COLAB_BRANCH) == (
        url,
        branch,
        colab_cell.colab_branch(ROOT),
    )
    assert "generated by tools/colab_cell.py from _config.yml; do not edit" in (ROOT / colab_cell.CONSTANTS).read_text()
    # a copy whose _config.yml moved the repository: the constants are reported stale, then rewritten
    for name in ("_config.yml", "_toc.yml", "README.md", colab_cell.CONSTANTS):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    config = tmp_path / "_config.yml"
    config.write_text(config.read_text(encoding="utf-8").replace(url, "https://github.com/someone/fork"), encoding="utf-8")
    stale = colab_cell.run(tmp_path, check=True)
    assert any(line.startswith(colab_cell.CONSTANTS) for line in stale), stale
    assert (tmp_path / colab_cell.CONSTANTS).read_text() == (ROOT / colab_cell.CONSTANTS).read_text()  # check wrote nothing
    colab_cell.run(tmp_path)
    namespace: dict = {}
    exec((tmp_path / colab_cell.CONSTANTS).read_text(), namespace)
    assert namespace["REPOSITORY_URL"] == "https://github.com/someone/fork"
    assert not any(line.startswith(colab_cell.CONSTANTS) for line in colab_cell.run(tmp_path, check=True))


WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"


def test_pages_workflow_publishes_the_reader_notebooks(tmp_path):
    """The workflow uploads _build/reader after `make book`, and its `colab` job (contents: write)
    replaces each notebook of main by its reader version and force-pushes that tree to the Colab
    branch. Its script runs here against a scratch repository and a bare 'origin'."""
    import yaml

    jobs = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]
    build_steps = jobs["build"]["steps"]
    assert any(s.get("run") == "make book" for s in build_steps)
    upload = next(s for s in build_steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "_build/reader"
    assert "tools/colab_cell.py --colab-branch" in next(s["run"] for s in build_steps if s.get("id") == "colab")
    job = jobs["colab"]
    assert job["needs"] == "build" and job["permissions"] == {"contents": "write"}
    assert "refs/heads/main" in job["if"]
    script = next(s["run"] for s in job["steps"] if "git push" in s.get("run", ""))

    def git(*args, cwd):
        return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout

    origin, work, reader = tmp_path / "origin.git", tmp_path / "work", tmp_path / "reader"
    git("init", "--quiet", "--bare", str(origin), cwd=tmp_path)
    (work / "notebooks").mkdir(parents=True)
    (work / "notebooks" / "01_a.ipynb").write_text("source")
    (work / "README.md").write_text("readme")
    git("init", "--quiet", "-b", "main", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", "-A", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "main", cwd=work)
    git("remote", "add", "origin", str(origin), cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)
    (reader / "notebooks").mkdir(parents=True)
    (reader / "notebooks" / "01_a.ipynb").write_text("reader")
    env = {**os.environ, "BRANCH": "colab", "READER": str(reader), "GITHUB_SHA": "0123abc"}
    subprocess.run(["bash", "-e", "-c", script], cwd=work, env=env, check=True, capture_output=True)
    assert git("show", "colab:notebooks/01_a.ipynb", cwd=origin) == "reader"
    assert git("show", "colab:README.md", cwd=origin) == "readme"  # the rest of main's tree
    assert git("show", "main:notebooks/01_a.ipynb", cwd=origin) == "source"  # main untouched
    assert git("rev-list", "--count", "colab", cwd=origin).strip() == "1"  # one snapshot commit
    # a reader notebook without a source fails the job instead of adding a path
    (reader / "notebooks" / "99_new.ipynb").write_text("stray")
    git("checkout", "--quiet", "main", cwd=work)
    failed = subprocess.run(["bash", "-e", "-c", script], cwd=work, env=env, capture_output=True, text=True)
    assert failed.returncode != 0 and "no source for reader notebook" in failed.stdout

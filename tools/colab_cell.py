"""Keep the Colab set-up cell of every notebook, the README's Colab table and dit_book/_repository.py in sync with _config.yml.

Usage:
    python tools/colab_cell.py           rewrite what is out of date (make colab-cells)
    python tools/colab_cell.py --check   list what is out of date and exit 1 (a test runs this)
    python tools/colab_cell.py --colab-branch   print the branch Colab opens (the Pages workflow asks)

The repository address lives in ONE place, ``repository: url:`` (and ``branch:``, the source
branch, main) in ``_config.yml``; the site's launch and repository buttons read it there. The
branch that Colab (and Binder) open is ``repository_branch`` under ``sphinx: config:
html_theme_options:`` (``colab``): the reader notebooks that ``.github/workflows/pages.yml``
publishes there from main (``tools/make_reader.py``: MyST turned into plain Markdown). This tool
copies both into

1. the first code cell of every notebook (``book/*.ipynb``, ``notebooks/*.ipynb``): the set-up
   cell below, tagged ``hide-input`` (folded on the site) and ``slide_type: skip`` (not in the
   lecture slides). It installs ``dit_lib`` from the source branch of the repository (the package
   lives on main) only where it is missing (a fresh Colab), never torch: the package asks for
   ``torch>=2.1``, which Colab's own torch satisfies.
   A notebook whose first code cell is not a set-up cell gets one inserted before that cell.
2. the table of "Open in Colab" links in README.md, one row per notebook listed in ``_toc.yml``,
   between ``<!-- colab-table:start -->`` and ``<!-- colab-table:end -->``; the links open the
   reader notebooks on the Colab branch.
3. ``dit_book/_repository.py``: the address and both branches as constants (``REPOSITORY_URL``,
   ``MAIN_BRANCH``, ``COLAB_BRANCH``), so that an installed package (a fresh Colab, with no
   _config.yml next to the notebook) still knows where the book lives: the front page's Colab
   link, its install command and the links of its map of the book read them.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_GLOBS = ("book/*.ipynb", "notebooks/*.ipynb")
MARKER = "# Set-up: install dit_lib if it is missing"
# earlier wordings of the set-up cell, recognised so that they are replaced rather than kept
LEGACY_MARKERS = ("install the book's package first",)
TAG = "hide-input"
TABLE_START, TABLE_END = "<!-- colab-table:start -->", "<!-- colab-table:end -->"
COLAB = "https://colab.research.google.com/github"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
CONSTANTS = "dit_book/_repository.py"


def repository(root: Path = ROOT) -> tuple[str, str]:
    """(url, branch) from ``repository:`` in _config.yml, the one place they are written."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repo = config.get("repository") or {}
    url, branch = str(repo.get("url", "")).rstrip("/"), str(repo.get("branch") or "main")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise SystemExit(f"colab_cell: repository.url in _config.yml must be https://github.com/OWNER/NAME, not {url!r}")
    return url.removesuffix(".git"), branch


def colab_branch(root: Path = ROOT) -> str:
    """The branch Colab opens: ``repository_branch`` of ``sphinx.config.html_theme_options`` in
    _config.yml (what the site's launch buttons use), else the source branch."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    options = ((config.get("sphinx") or {}).get("config") or {}).get("html_theme_options") or {}
    branch = str(options.get("repository_branch") or repository(root)[1])
    if not re.fullmatch(r"[\w./-]+", branch) or branch.startswith(("-", "/")) or ".." in branch:
        raise SystemExit(f"colab_cell: html_theme_options.repository_branch in _config.yml is not a branch name: {branch!r}")
    return branch


def setup_source(url: str, branch: str) -> str:
    """The canonical text of the set-up cell."""
    return (
        f"{MARKER} (Colab, a fresh environment). torch is never reinstalled.\n"
        "try:\n"
        "    import dit_lib\n"
        "except ImportError:\n"
        f'    %pip install --quiet "dit_lib @ git+{url}@{branch}"\n'
        "    import dit_lib"
    )


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted(p for pattern in NOTEBOOK_GLOBS for p in root.glob(pattern) if ".ipynb_checkpoints" not in p.parts)


def is_setup_cell(cell) -> bool:
    text = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    return cell.cell_type == "code" and (MARKER in text or any(m in text for m in LEGACY_MARKERS))


def cell_in_sync(cell, source: str) -> bool:
    metadata = cell.get("metadata", {})
    return (
        cell.source == source
        and TAG in metadata.get("tags", [])
        and metadata.get("slideshow", {}).get("slide_type") == "skip"
        and not cell.get("outputs")
        and cell.get("execution_count") is None
    )


def sync_notebook(nb, source: str) -> bool:
    """Make the first code cell of NB the set-up cell; return whether NB changed."""
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None)
    if first is not None and is_setup_cell(nb.cells[first]):
        cell = nb.cells[first]
        if cell_in_sync(cell, source):
            return False
    else:
        cell = nbformat.v4.new_code_cell()
        if nb.nbformat_minor < 5:  # cell ids arrived in nbformat 4.5
            nb.nbformat_minor = 5
        # before the first code cell (after the title and the introduction); at the end if there is none
        nb.cells.insert(len(nb.cells) if first is None else first, cell)
    cell.source = source
    cell.outputs, cell.execution_count = [], None
    tags = cell.metadata.setdefault("tags", [])
    if TAG not in tags:
        tags.append(TAG)
    cell.metadata.setdefault("slideshow", {})["slide_type"] = "skip"
    return True


def toc_files(root: Path = ROOT) -> list[str]:
    """Every file of _toc.yml, in reading order (root, then parts, chapters and their sections)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files: list[str] = []

    def walk(entry):
        if isinstance(entry, dict):
            for key in ("root", "file"):
                if key in entry:
                    files.append(str(entry[key]))
            for key in ("parts", "chapters", "sections"):
                for child in entry.get(key) or []:
                    walk(child)
        elif isinstance(entry, list):
            for child in entry:
                walk(child)

    walk(toc)
    return files


def notebook_title(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+?)\s*$", cell.source, flags=re.MULTILINE)
            if match:
                return match[1]
    return path.stem


def colab_table(root: Path = ROOT) -> str:
    """The README's table: one "Open in Colab" row per notebook of _toc.yml."""
    url, branch = repository(root)[0], colab_branch(root)
    slug = url.removeprefix("https://github.com/")
    rows = [
        "| chapter | notebook | Colab |",
        "| --- | --- | --- |",
    ]
    for name in toc_files(root):
        path = root / f"{name}.ipynb"
        if not path.is_file():
            continue  # a markdown page
        rel = path.relative_to(root).as_posix()
        link = f"{COLAB}/{slug}/blob/{branch}/{rel}"
        title = notebook_title(path).replace("|", "\\|")
        rows.append(f"| {title} | [`{rel}`]({rel}) | [![Open In Colab]({BADGE})]({link}) |")
    return "\n".join(rows)


def sync_readme(text: str, table: str) -> str:
    pattern = re.compile(re.escape(TABLE_START) + r".*?" + re.escape(TABLE_END), flags=re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"colab_cell: README.md has no {TABLE_START} ... {TABLE_END} block to fill")
    return pattern.sub(lambda _: f"{TABLE_START}\n{table}\n{TABLE_END}", text, count=1)


def constants_source(url: str, branch: str, colab: str) -> str:
    """The text of dit_book/_repository.py."""
    return (
        '"""Where the book lives: generated by tools/colab_cell.py from _config.yml; do not edit.\n\n'
        "Run `make colab-cells` (python tools/colab_cell.py) after changing ``repository:`` or\n"
        "``html_theme_options: repository_branch`` in _config.yml; tests/test_colab.py fails until then.\n"
        '"""\n\n'
        f"REPOSITORY_URL = {url!r}   # repository: url\n"
        f"MAIN_BRANCH = {branch!r}   # repository: branch (the sources; the package installs from here)\n"
        f"COLAB_BRANCH = {colab!r}   # html_theme_options: repository_branch (the reader notebooks)\n"
    )


def run(root: Path = ROOT, check: bool = False) -> list[str]:
    """Bring everything in sync (or, with check, only say what is not); return what was or is out of date."""
    url, branch = repository(root)
    source = setup_source(url, branch)
    stale = []
    for path in notebooks(root):
        nb = nbformat.read(path, as_version=4)
        if sync_notebook(nb, source):
            stale.append(f"{path.relative_to(root).as_posix()}: first code cell is not the current set-up cell")
            if not check:
                nbformat.write(nb, path)
    constants = root / CONSTANTS
    wanted = constants_source(url, branch, colab_branch(root))
    if not constants.is_file() or constants.read_text(encoding="utf-8") != wanted:
        stale.append(f"{CONSTANTS}: REPOSITORY_URL / MAIN_BRANCH / COLAB_BRANCH do not match _config.yml")
        if not check:
            constants.write_text(wanted, encoding="utf-8")
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = sync_readme(text, colab_table(root))
    if new != text:
        stale.append("README.md: the Colab table does not match _toc.yml / _config.yml")
        if not check:
            readme.write_text(new, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is out of date")
    parser.add_argument("--colab-branch", action="store_true", help="print the branch Colab opens and change nothing")
    args = parser.parse_args(argv)
    if args.colab_branch:
        print(colab_branch())
        return 0
    stale = run(check=args.check)
    for line in stale:
        print(("out of date: " if args.check else "updated: ") + line)
    if args.check and stale:
        print("run `make colab-cells` (python tools/colab_cell.py) and commit the result", file=sys.stderr)
        return 1
    if not stale:
        print(f"colab_cell: {len(notebooks())} notebooks, the README table and {CONSTANTS} are in sync with _config.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())

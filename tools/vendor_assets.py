"""Vendor the browser assets of the book so that no page loads anything from a CDN.

Usage: python tools/vendor_assets.py [DEST]      (DEST defaults to book/_static/vendor)

What lands in DEST (git-ignored, rebuilt by `make vendor`):

    mathjax/       MathJax 3 ``es5`` bundle        <- npm ``mathjax``                (mathjax_path)
    requirejs/     require.js                       <- npm ``requirejs``              (nb_ipywidgets_js)
    html-manager/  embed-amd.js and its fonts       <- npm ``@jupyter-widgets/html-manager``
    plotly/        plotly.min.js                    <- the installed ``plotly`` Python package
    MANIFEST.json  what was copied, from which version

npm packages are fetched with ``npm pack`` (the npm registry only); plotly.js comes from
the Python package, so it always matches the plotly that wrote the figures. A second run
with the same versions copies nothing and takes well under a second.
"""

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# npm package -> (version, folder inside the tarball to copy, destination folder, files to skip)
NPM_ASSETS = {
    "mathjax": ("3.2.2", "package/es5", "mathjax", ()),
    "requirejs": ("2.3.8", "package", "requirejs", ("bin", "README.md", "package.json")),
    # html-manager 1.x renders the widget state of ipywidgets 8 (ipywidgets 7 used 0.20.x)
    "@jupyter-widgets/html-manager": (
        "1.0.15",
        "package/dist",
        "html-manager",
        ("embed.js", "embed.js.map", "libembed-amd.js"),
    ),
}


def manifest_wanted() -> dict:
    wanted = {name: ver for name, (ver, *_rest) in NPM_ASSETS.items()}
    wanted["plotly.js (python plotly)"] = version("plotly")
    return wanted


def npm_fetch(name: str, ver: str, workdir: Path) -> Path:
    """Download NAME@VER from the npm registry and unpack it; return the unpack root."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("vendor_assets: npm is needed to fetch MathJax/require.js/html-manager (apt-get install npm)")
    out = subprocess.run(
        [npm, "pack", "--silent", "--ignore-scripts", "--pack-destination", str(workdir), f"{name}@{ver}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip().splitlines()[-1]
    unpacked = workdir / (out.removesuffix(".tgz"))
    with tarfile.open(workdir / out) as tar:
        tar.extractall(unpacked, filter="data")
    return unpacked


def copy_tree(src: Path, dest: Path, skip: tuple) -> int:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    n = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if rel.parts[0] in skip or rel.name.endswith(".map") or not path.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        n += 1
    return n


def main(dest: Path) -> None:
    wanted = manifest_wanted()
    manifest_path = dest / "MANIFEST.json"
    have = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if have.get("versions") == wanted and all((dest / f).is_file() for f in have.get("entry_points", [])):
        print(f"vendor_assets: {dest} is up to date")
        manifest_path.touch()  # newer than its make prerequisites
        return

    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (ver, inner, folder, skip) in NPM_ASSETS.items():
            if have.get("versions", {}).get(name) == ver and (dest / folder).is_dir():
                continue
            root = npm_fetch(name, ver, Path(tmp))
            n = copy_tree(root / inner, dest / folder, skip)
            print(f"vendor_assets: {name}@{ver}: {n} files -> {dest / folder}")

    import plotly

    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    (dest / "plotly").mkdir(exist_ok=True)
    shutil.copy2(plotly_js, dest / "plotly" / "plotly.min.js")
    print(f"vendor_assets: plotly.min.js from plotly {wanted['plotly.js (python plotly)']} -> {dest / 'plotly'}")

    entry_points = [
        "mathjax/tex-mml-chtml.js",
        "requirejs/require.js",
        "html-manager/embed-amd.js",
        "plotly/plotly.min.js",
    ]
    missing = [f for f in entry_points if not (dest / f).is_file()]
    if missing:
        sys.exit(f"vendor_assets: missing after vendoring: {missing}")
    manifest_path.write_text(json.dumps({"versions": wanted, "entry_points": entry_points}, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "book" / "_static" / "vendor")

"""Vendor the browser assets of the book so that no page loads anything from a CDN.

Usage: python tools/vendor_assets.py [DEST]      (DEST defaults to book/_static/vendor)

What lands in DEST (git-ignored, rebuilt by `make vendor`):

    mathjax/       MathJax 3 ``es5`` bundle        <- npm ``mathjax``                (mathjax_path)
    requirejs/     require.js                       <- npm ``requirejs``              (nb_ipywidgets_js)
    html-manager/  embed-amd.js and its fonts       <- npm ``@jupyter-widgets/html-manager``
    plotly/        plotly.min.js                    <- the installed ``plotly`` Python package
    reveal.js/     reveal.js 4 (dist/, plugin/)     <- npm ``reveal.js``      (lecture slides, tools/make_slides.py)
    mathjax2/      MathJax 2, CommonHTML + TeX only <- npm ``mathjax@2``      (the slides' template calls MathJax 2's API)
    jquery/        jquery.min.js                    <- npm ``jquery``         (nbconvert's reveal template loads it)
    MANIFEST.json  what was copied, from which version

npm packages are fetched with ``npm pack`` (the npm registry only); plotly.js comes from
the Python package, so it always matches the plotly that wrote the figures. A second run
with the same versions copies nothing and takes well under a second.
"""

import fnmatch
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# npm package -> (version, folder inside the tarball to copy, destination folder, paths to skip)
# A path to skip is a file or folder relative to the copied folder ("fonts/HTML-CSS/STIX-Web", or a
# glob: "config/*"); one that starts with "!" is kept although an earlier entry skips it.
MATHJAX2_UNUSED_FONTS = tuple(
    f"fonts/HTML-CSS/{font}" for font in ("Asana-Math", "Gyre-Pagella", "Gyre-Termes", "Latin-Modern", "Neo-Euler", "STIX-Web")
)
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
    # Lecture slides (nbconvert's reveal template): reveal.js 4 loaded through require.js, MathJax 2
    # (its update hook calls MathJax.Hub), jQuery (nbconvert's reveal base template loads it).
    "reveal.js": ("4.6.1", "package", "reveal.js", ("css", "js", "demo.html", "index.html", "README.md", "package.json")),
    "mathjax@2": (
        "2.7.9",
        "package",
        "mathjax2",
        # CommonHTML output with the TeX woff fonts is all that config=TeX-AMS_CHTML-full uses
        (
            "unpacked",
            "test",
            "docs",
            "jax/output/SVG",
            "jax/output/HTML-CSS",
            "fonts/HTML-CSS/TeX/eot",
            "fonts/HTML-CSS/TeX/otf",
            "fonts/HTML-CSS/TeX/svg",
            "fonts/HTML-CSS/TeX/png",
            *MATHJAX2_UNUSED_FONTS,
            "extensions/a11y",
            "localization/*",
            "!localization/en",
            "config/*",
            "!config/TeX-AMS_CHTML-full.js",
            "!config/Safe.js",
            "!config/local",
        ),
    ),
    "jquery": ("3.7.1", "package/dist", "jquery", ()),
}


def manifest_wanted() -> dict:
    wanted = {name: ver for name, (ver, *_rest) in NPM_ASSETS.items()}
    wanted["plotly.js (python plotly)"] = version("plotly")
    return wanted


def npm_fetch(name: str, ver: str, workdir: Path) -> Path:
    """Download NAME@VER from the npm registry and unpack it; return the unpack root.

    NAME may carry a major-version suffix that tells two majors apart ("mathjax@2")."""
    if "@" in name[1:]:
        name = name[: name.rindex("@")]
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("vendor_assets: npm is needed to fetch MathJax/require.js/html-manager (apt-get install npm)")
    out = (
        subprocess.run(
            [npm, "pack", "--silent", "--ignore-scripts", "--pack-destination", str(workdir), f"{name}@{ver}"],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    unpacked = workdir / (out.removesuffix(".tgz"))
    with tarfile.open(workdir / out) as tar:
        tar.extractall(unpacked, filter="data")
    return unpacked


def is_skipped(rel: str, skip: tuple) -> bool:
    """Whether REL (a posix path) falls under the skip list; the last entry that matches wins.

    An entry matches REL or any folder above it, exactly or as a glob."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    skipped = False
    for entry in skip:
        pattern = entry.removeprefix("!")
        if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes):
            skipped = not entry.startswith("!")
    return skipped


def copy_tree(src: Path, dest: Path, skip: tuple) -> int:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    n = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if is_skipped(rel.as_posix(), skip) or rel.name.endswith(".map") or not path.is_file():
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
        "reveal.js/dist/reveal.js",
        "reveal.js/plugin/notes/notes.js",
        "mathjax2/MathJax.js",
        "mathjax2/config/TeX-AMS_CHTML-full.js",
        "jquery/jquery.min.js",
    ]
    missing = [f for f in entry_points if not (dest / f).is_file()]
    if missing:
        sys.exit(f"vendor_assets: missing after vendoring: {missing}")
    manifest_path.write_text(json.dumps({"versions": wanted, "entry_points": entry_points}, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "book" / "_static" / "vendor")

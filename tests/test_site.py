"""The built site (_build/html) works offline: every script, style sheet, font and image it
loads is a file of the site itself.

These tests read the output of `make book` (`make test` builds it first). They skip, saying
so, when no site has been built.
"""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
# the site's pages; _static/ also holds theme template fragments (*.html) that are not pages
PAGES = sorted(p for p in SITE.rglob("*.html") if "_static" not in p.relative_to(SITE).parts) if SITE.is_dir() else []

pytestmark = pytest.mark.skipif(
    not (SITE / "index.html").is_file(),
    reason=f"no built site in {SITE.relative_to(ROOT)}: run `make book` first (`make test` does)",
)

# (tag, attribute) pairs that make a browser fetch something when the page loads
LOADING = {
    ("script", "src"),
    ("link", "href"),
    ("img", "src"),
    ("iframe", "src"),
    ("source", "src"),
    ("audio", "src"),
    ("video", "src"),
    ("embed", "src"),
    ("object", "data"),
}
MODULE_IMPORT = re.compile(r"""\bimport\s*\(?\s*["']((?:https?:)?//[^"']+)""")
CSS_URL = re.compile(r"""url\(\s*["']?((?:https?:)?//[^"')]+)""")


class Loads(HTMLParser):
    """Collect the URLs a page loads: src/href of loading tags, module imports, CSS url()."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str]] = []
        self._tag = None

    def handle_starttag(self, tag, attrs):
        self._tag = tag
        for name, value in attrs:
            if (tag, name) in LOADING and value:
                if tag == "link" and dict(attrs).get("rel") in ("canonical", "alternate"):
                    continue  # a link to a page, not a load
                self.urls.append((tag, value))
        style = dict(attrs).get("style") or ""
        self.urls += [("style", u) for u in CSS_URL.findall(style)]

    def handle_data(self, data):
        if self._tag == "script":
            self.urls += [("script import", u) for u in MODULE_IMPORT.findall(data)]
        elif self._tag == "style":
            self.urls += [("style", u) for u in CSS_URL.findall(data)]


def loads(page: Path) -> list[tuple[str, str]]:
    parser = Loads()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    return parser.urls


def is_external(url: str) -> bool:
    return url.startswith("//") or urlsplit(url).scheme in ("http", "https")


def test_no_page_loads_from_another_host():
    bad = [f"{p.relative_to(SITE)}: <{tag}> {url}" for p in PAGES for tag, url in loads(p) if is_external(url)]
    assert not bad, "pages load from other hosts (vendor the file, see tools/vendor_assets.py):\n" + "\n".join(bad)


def test_every_local_script_and_stylesheet_exists():
    missing = []
    for page in PAGES:
        for tag, url in loads(page):
            parts = urlsplit(url)
            if tag not in ("script", "link", "img") or parts.scheme or url.startswith("//") or not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.is_file():
                missing.append(f"{page.relative_to(SITE)}: <{tag}> {url}")
    assert not missing, "pages load files the site does not have:\n" + "\n".join(missing)


def test_intro_shows_figure_math_and_widget_offline():
    intro = (SITE / "book" / "intro.html").read_text(encoding="utf-8")
    assert "plotly-graph-div" in intro, "the intro's plotly figure is missing"
    assert "_static/vendor/plotly/plotly.min.js" in intro, "plotly.js is not loaded from the vendored copy"
    assert "cdn.plot.ly" not in intro and "cdnjs.cloudflare.com" not in intro
    assert "application/vnd.jupyter.widget-state+json" in intro, "the intro's widget state is missing"
    assert "_static/vendor/html-manager/embed-amd.js" in intro and "_static/vendor/requirejs/require.js" in intro
    assert "_static/vendor/mathjax/tex-mml-chtml.js" in intro, "MathJax is not loaded from the vendored copy"
    assert "launch-buttons" in intro or "colab.research.google.com" in intro, "launch buttons are missing"

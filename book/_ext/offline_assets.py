"""Keep the built book offline: no page may load a script, style sheet or image from another host.

A local Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``). It

1. sets ``PLOTLY_RENDERER=notebook_connected`` for the notebook kernels (unless already set),
   so that plotly figures arrive as ``text/html``, which myst-nb keeps;
2. rewrites what that renderer writes into each page: plotly.js comes from the vendored
   ``_static/vendor/plotly/plotly.min.js`` (once per page) instead of ``cdn.plot.ly``, and
   the MathJax ``<script>`` plotly adds from cdnjs is dropped (the page has its own local
   MathJax wherever it has math);
3. fails the build (a warning, and the build runs with ``-W``) when the vendored assets are
   missing or when any built page still loads something from an ``http(s)://`` or ``//`` URL;
4. drops exact duplicates from a page's ``<script>`` list: with Sphinx 7.4, Jupyter Book 1.0
   writes the inline scripts of sphinx-thebe and sphinx-togglebutton twice, and the second
   ``const THEBE_JS_URL`` is a JavaScript error on every page.

The vendored files come from ``tools/vendor_assets.py`` (``make vendor``).
"""

import os
import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

VENDOR = "vendor"  # folder under html_static_path
PLOTLY_LOCAL = f"_static/{VENDOR}/plotly/plotly.min.js"
REQUIRED = [
    "mathjax/tex-mml-chtml.js",
    "requirejs/require.js",
    "html-manager/embed-amd.js",
    "plotly/plotly.min.js",
]

# plotly >= 7, renderer notebook_connected: one global init, then per figure a MathJax and a plotly.js tag.
PLOTLY_INIT_MODULE = re.compile(r'<script type="module">\s*import\s+"https://cdn\.plot\.ly/[^"]*"\s*;?\s*</script>')
PLOTLY_MATHJAX_TAG = re.compile(r'<script src="https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/[^"]*"></script>')
PLOTLY_JS_TAG = re.compile(r'<script[^>]*\ssrc="https://cdn\.plot\.ly/plotly-[^"]*\.js"[^>]*></script>')
# plotly 5/6 (require.js based): requirejs.config({paths: {'plotly': ['https://cdn.plot.ly/plotly-X.min']}})
PLOTLY_REQUIRE_PATH = re.compile(r"""(['"])https://cdn\.plot\.ly/plotly-[0-9.]+(?:\.min)?\1""")

# Anything that makes the browser fetch: src= on script/img/iframe/source/audio/video/embed,
# href= on link, and ES module imports in inline scripts.
EXTERNAL_LOAD = re.compile(
    r"""<(?:script|img|iframe|source|audio|video|embed|input)\b[^>]*?\ssrc=["'](?P<src>(?:https?:)?//[^"']+)"""
    r"""|<link\b[^>]*?\shref=["'](?P<href>(?:https?:)?//[^"']+)"""
    r"""|\bimport\s*\(?\s*["'](?P<imp>(?:https?:)?//[^"']+)""",
    re.IGNORECASE,
)


def external_loads(html: str) -> list[str]:
    """URLs on other hosts that this HTML would make a browser load."""
    return [next(g for g in m.groups() if g) for m in EXTERNAL_LOAD.finditer(html)]


def localise_plotly(body: str, plotly_url: str) -> str:
    """Point plotly's CDN references in a page body at the vendored copy."""
    body = PLOTLY_INIT_MODULE.sub("", body)
    body = PLOTLY_MATHJAX_TAG.sub("", body)
    seen = False

    def one_plotly_tag(match: re.Match) -> str:
        nonlocal seen
        if seen:
            return ""  # window.Plotly already exists: later figures on the page reuse it
        seen = True
        return f'<script charset="utf-8" src="{plotly_url}"></script>'

    body = PLOTLY_JS_TAG.sub(one_plotly_tag, body)
    return PLOTLY_REQUIRE_PATH.sub(lambda m: f"{m[1]}{plotly_url.removesuffix('.js')}{m[1]}", body)


def check_vendor(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    roots = [Path(app.confdir, p) for p in app.config.html_static_path]
    for f in REQUIRED:
        if not any((r / VENDOR / f).is_file() for r in roots):
            raise ExtensionError(
                f"offline_assets: {VENDOR}/{f} is missing from html_static_path {app.config.html_static_path}; "
                "run `make vendor` (or `python tools/vendor_assets.py`)"
            )


def script_key(js) -> tuple:
    attributes = getattr(js, "attributes", {})
    return (str(getattr(js, "filename", js) or ""), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def rewrite_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts, seen = context.get("script_files"), set()
    if scripts:
        unique = []
        for js in scripts:
            if script_key(js) not in seen:
                seen.add(script_key(js))
                unique.append(js)
        scripts[:] = unique
    body = context.get("body")
    if not body:
        return
    new = localise_plotly(body, context["pathto"](PLOTLY_LOCAL, 1))
    for url in external_loads(new):
        logger.warning(f"offline_assets: page {pagename} loads {url} from another host", location=pagename)
    context["body"] = new


def check_site(app: Sphinx, exception) -> None:
    """After the build: no written HTML page may load from another host."""
    if exception is not None or app.builder.format != "html":
        return
    for page in sorted(Path(app.outdir).rglob("*.html")):
        if "_static" in page.relative_to(app.outdir).parts:
            continue  # theme template fragments, not pages
        for url in external_loads(page.read_text(encoding="utf-8", errors="replace")):
            logger.warning(f"offline_assets: {page.relative_to(app.outdir)} loads {url} from another host")


def setup(app: Sphinx) -> dict:
    os.environ.setdefault("PLOTLY_RENDERER", "notebook_connected")
    app.connect("builder-inited", check_vendor)
    app.connect("html-page-context", rewrite_page)
    app.connect("build-finished", check_site)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}

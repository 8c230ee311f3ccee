"""The built site and its lecture decks, checked in a real browser (headless Debian chromium).

`make test` builds the site (`make book`), installs chromium if it is missing (`make browser`),
serves ``_build/html`` on 127.0.0.1 and loads every page and every deck, driving Debian's
chromium with Playwright (``playwright.sync_api``; Playwright's own browser downloads are never
used: ``executable_path`` is the chromium that ``CHROMIUM`` or ``PATH`` names). Per page it asserts:

* **offline**: every request the page makes goes to the site itself (127.0.0.1), none elsewhere;
  the browser also blocks any other request (``context.route``), so nothing ever leaves;
* **no console error** (uncaught exceptions, ``console.error``, failed loads) outside ALLOWED;
* **figures drawn**: every plotly figure has its SVG, and a title; every image in the text has
  alt text or a caption;
* **math typeset**: every formula became MathJax output, no TeX error, and no raw ``$$``,
  ``\\(``, ``\\[`` or ``$x$`` is left in the visible text;
* **widgets rendered** from their saved state, and the page says they are live only with a
  kernel ("live in Colab / Jupyter");
* on notebook pages: the launch menu has a Colab link, the ``.ipynb`` download and the lecture
  slides link answer (no slides link on a page without a deck: ``teaching.has_deck``, the
  notebook metadata ``{"dit": {"lecture_slides": false}}``);
* on pages with a plotly slider: a real click on its last step changes the figure
  (``<page>-slider.png``); the introduction and one chapter of each part (``DARK_PAGES``) are also
  shot in dark mode (``<page>-dark.png``), where their text, widgets and figures must keep a legible contrast;
* decks: reveal.js initialised, math typeset by MathJax 2, no MyST left as raw text, the slide
  with the first figure drawn;
* every deck (the chapters, the front page, the own-data page: all cut by the slide-cell
  convention of ``tools/make_slides.py``), EVERY slide shown at 1280x720 and measured
  (``tools/deck_stats.py``): one slide per slide cell, none overflows the 1280x720 frame, at most
  WORD_LIMIT words (headline included; figures, typeset math and slide-code left out) and
  CODE_LINE_LIMIT lines of slide-code, body text >= 24 px, each ``slide-figure`` cell's output on
  the slide of the slide cell before it, speaker notes on every idea slide (all but the title, the
  demo cues, "Common slips" and "Summary"), the Colab link on demo cues, and the deck's PDF with
  one page per slide. A contact sheet of every deck (``slides__<deck>-sheet.png``) shows all its
  slides. The decks are exactly the notebook pages that have one (``teaching.has_deck``).

``DIT_DECKS=DIR`` checks the decks in DIR instead of ``_build/html/slides`` (served in their
place), e.g. an older set of decks kept for comparison.

Screenshots go to ``artifacts/screenshots/`` (git-ignored; CI keeps the folder), and the last
test prints the list of pages checked with their screenshots.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import deck_stats  # noqa: E402  (the per-slide measurement, shared with tools/deck_stats.py)
from deck_pdf import page_count  # noqa: E402
from make_slides import CODE_TAG, DEMO_TAG, FIGURE_TAG, is_slide_cell  # noqa: E402
from teaching import has_deck  # noqa: E402  (book/_ext, on the path through make_slides: which pages have a deck)

SITE = ROOT / "_build" / "html"
DECKS_DIR = Path(os.environ["DIT_DECKS"]).resolve() if os.environ.get("DIT_DECKS") else SITE / "slides"
WORD_LIMIT = 45  # words on a slide (headline included); the convention aims at <= 40 outside figures and math
CODE_LINE_LIMIT = 12  # lines of a slide-code cell on a slide (its words are not in WORD_LIMIT)
MIN_FONT_PX = 24  # body text at 1280x720
SHOTS = ROOT / "artifacts" / "screenshots"
REQUIRED = os.environ.get("DIT_BROWSER_REQUIRED") == "1"  # set by `make test`: skipping is failing
VIEWPORT = {"width": 1280, "height": 900}

# The flags every run uses: headless, as root in a container (no sandbox), no GPU, and none of
# Chromium's own background connections (updates, sync, safe browsing, ...), which would leave
# the machine. Playwright adds its own automation flags to these.
FLAGS = [*deck_stats.FLAGS, "--window-size=1280,900"]  # tools/deck_stats.py lists them once


def find_chromium() -> str | None:
    """Debian's chromium (or the one $CHROMIUM names); never a browser that Playwright downloads."""
    for name in (os.environ.get("CHROMIUM") or "", "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def site_pages() -> list[str]:
    if not SITE.is_dir():
        return []
    pages = []
    for p in sorted(SITE.rglob("*.html")):
        rel = p.relative_to(SITE).as_posix()
        if rel.split("/")[0] in ("_static", "_sources", "slides", "_images"):
            continue
        if re.search(r'http-equiv="refresh"', p.read_text(encoding="utf-8", errors="replace")[:2000], re.I):
            continue  # index.html: a redirect to the root page, which is checked itself
        pages.append(rel)
    return pages


PAGES = site_pages()
DECKS = sorted(f"slides/{p.name}" for p in DECKS_DIR.glob("*.slides.html")) if SITE.is_dir() else []
NOTEBOOK_PAGES = {p for p in PAGES if (ROOT / p).with_suffix(".ipynb").is_file()}
DECK_PAGES = {p for p in NOTEBOOK_PAGES if has_deck((ROOT / p).with_suffix(".ipynb"))}  # the rest: no deck, no link
CHROMIUM = find_chromium()
# Dark mode: the theme switch and the figure template are the same on every page, so the dark check
# (a second load and a full-page shot, about 10 s a chapter) runs on the front page and on one chapter
# of each part; every chapter in dark mode would put `make test` past its 30 minutes on 2 cores.
DARK_PAGES = [p for p in NOTEBOOK_PAGES if p.startswith(("book/intro", "notebooks/01_", "notebooks/06_", "notebooks/11_"))]

# Console errors we accept, each with the reason. Keep this list short.
ALLOWED: dict[str, str] = {
    # (empty: the site and the decks link their icon, _static/favicon.svg, so the browser asks
    # for no /favicon.ico)
}

RESULTS: list[tuple[str, list[str]]] = []  # (page, screenshots), printed by the last test


def skip_or_fail(reason: str):
    if REQUIRED:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def on_this_machine(url: str) -> bool:
    """The only places a page may load from: the site on 127.0.0.1, and the page's own data."""
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"


def leaves_machine(url: str) -> bool:
    return not on_this_machine(url)


# --- the browser: one chromium with one tab for the module, on the site served on 127.0.0.1 -------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


@pytest.fixture(scope="module")
def site():
    """``_build/html`` served on 127.0.0.1 (a free port) in a background thread; yields its URL."""
    if not (SITE / "index.html").is_file():
        skip_or_fail(f"no built site in {SITE.relative_to(ROOT)}: run `make book` first (`make test` does)")
    with tempfile.TemporaryDirectory() as tmp:
        root = SITE
        if DECKS_DIR != SITE / "slides":  # DIT_DECKS: the site, with those decks as its slides/
            root = Path(tmp)
            for entry in SITE.iterdir():
                if entry.name != "slides":
                    (root / entry.name).symlink_to(entry)
            (root / "slides").symlink_to(DECKS_DIR)
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
        httpd.shutdown()
        httpd.server_close()


@dataclass
class Seen:
    """What the page did since its last load: every request it made, every error reported.
    Watching a page also blocks every request that would leave 127.0.0.1 (it is still recorded)."""

    requests: list[str] = field(default_factory=list)  # URLs, websockets included
    errors: list[str] = field(default_factory=list)  # console, exceptions, failed loads
    http_errors: list[tuple[int, str]] = field(default_factory=list)  # (status >= 400, URL)

    def watch(self, page: Page) -> Seen:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", lambda ws: self.requests.append(ws.url))
        # what would leave 127.0.0.1 is recorded above, and blocked here (a blocked websocket never
        # reaches the "websocket" event: block_websocket records it)
        page.route(leaves_machine, lambda route: route.abort("blockedbyclient"))
        page.route_web_socket(leaves_machine, self.block_websocket)
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.errors.append(f"exception: {error.stack or error.message}"))
        page.on("requestfailed", self.failed)
        page.on("response", self.response)
        return self

    def block_websocket(self, ws) -> None:
        self.requests.append(ws.url)
        ws.close(reason="blocked: not 127.0.0.1")

    def console(self, msg) -> None:
        """console.error / console.assert, and chromium's own error log (failed loads, CSP, ...)."""
        if msg.type in ("error", "assert"):
            self.errors.append(f"console.{msg.type}: {msg.text} {msg.location.get('url', '')}".strip())

    def failed(self, request) -> None:
        if request.failure != "net::ERR_ABORTED":  # cancelled (by a navigation, say), not failed
            self.errors.append(f"load failed: {request.failure} ({request.url})")

    def response(self, response) -> None:
        if response.status >= 400:
            self.http_errors.append((response.status, response.url))

    def clear(self) -> None:
        self.requests.clear()
        self.errors.clear()
        self.http_errors.clear()


@pytest.fixture(scope="module")
def seen() -> Seen:
    return Seen()


@pytest.fixture(scope="module")
def page(site, seen):
    """One tab of Debian's chromium for the whole module (a fresh tab per test costs seconds a page);
    `seen` records what it does, and it cannot reach any host but 127.0.0.1. Playwright's own
    browsers are never downloaded: `executable_path` is the system's chromium."""
    if CHROMIUM is None:
        skip_or_fail("chromium is not installed: `make browser` (apt-get install chromium) installs it")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_context(base_url=site, viewport=VIEWPORT).new_page()
        seen.watch(page)
        yield page
        browser.close()


def shot_name(page: str, suffix: str = "") -> Path:
    return SHOTS / (page.removesuffix(".html").replace("/", "__") + suffix + ".png")


def shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def screenshot(page: Page, path: Path, max_height: int = 16000) -> Path:
    """A PNG of the whole page (its top max_height pixels). The viewport is made as tall as the
    page for the shot (a full-page capture beyond the viewport shifts very tall pages), then set back."""
    height = min(page.evaluate("document.documentElement.scrollHeight"), max_height)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, 100)})
    try:
        page.wait_for_timeout(300)  # relayout after the resize
        page.screenshot(path=path, clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})
    finally:
        page.set_viewport_size(VIEWPORT)
        page.wait_for_timeout(200)
    return path


# --- what the page looks like once it has settled -------------------------------------------------

SETTLE = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const t0 = Date.now(), limit = 20000;
  const all = s => [...document.querySelectorAll(s)];
  // MathJax 3 (site) or 2 (slides), if the page loads it
  if (document.querySelector('script[src*="mathjax" i]')) {
    while (Date.now() - t0 < limit) {
      const MJ = window.MathJax;
      if (MJ && MJ.startup && MJ.startup.promise) { await MJ.startup.promise; break; }
      if (MJ && MJ.Hub && MJ.Hub.Queue) { await new Promise(r => MJ.Hub.Queue(r)); break; }
      await sleep(100);
    }
  }
  const views = all('script[type="application/vnd.jupyter.widget-view+json"]');
  const rendered = () => views.filter(s => s.parentElement.querySelector('.jupyter-widgets')).length;
  const drawn = () => all('.plotly-graph-div').filter(d => d.querySelector('.main-svg')).length;
  while (Date.now() - t0 < limit && (drawn() < all('.plotly-graph-div').length || rendered() < views.length)) {
    await sleep(100);
  }
  await sleep(300);   // widget layout, fonts
  // the visible text, without code, scripts and typeset math
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('script, style, pre, code, textarea, .highlight, mjx-container, mjx-assistive-mml, aside.notes, '
    + '.MathJax, .MathJax_CHTML, .MathJax_Preview, .MathJax_Display, .mjx-chtml, .plotly-graph-div, .jupyter-widgets'
  ).forEach(e => e.remove());
  const text = clone.textContent;
  const plots = all('.plotly-graph-div').map(d => ({
    id: d.id, drawn: !!d.querySelector('.main-svg'),
    title: (d.layout && d.layout.title
            && (d.layout.title.text || (typeof d.layout.title === 'string' ? d.layout.title : ''))) || '',
    sliders: (d.layout && d.layout.sliders || []).length,
  }));
  const article = document.querySelector('article') || document.body;
  // images of the text; widget images (ipywidgets.Image) and plotly's own are parts of their figure
  const images = [...article.querySelectorAll('img')].filter(img => !img.closest('.jupyter-widgets, .plotly-graph-div'))
                                                     .map(img => ({
    src: img.getAttribute('src') || '', alt: (img.getAttribute('alt') || '').trim(),
    caption: !!(img.closest('figure') && img.closest('figure').querySelector('figcaption')),
  }));
  return {
    title: document.title, text: text.slice(0, 200000), plots, images,
    mathSources: all('.math').length,
    mathTypesetInSources: all('.math').filter(e => e.querySelector('mjx-container')).length,
    mjx: all('mjx-container').length, mj2: all('.MathJax_CHTML, .MathJax_CHTML_Display, .mjx-chtml').length,
    mj2Sources: all('script[type^="math/tex"]').length,
    mathErrors: all('mjx-merror, .MathJax_Error, .mjx-merror, merror').map(e => e.textContent.slice(0, 80)),
    widgetViews: views.length, widgetsRendered: rendered(),
    colab: all('a[href*="colab.research.google.com"]').map(a => a.getAttribute('href')),
    ipynb: all('a[href*="_sources/"][href$=".ipynb"]').map(a => a.href),
    slides: all('a[href*="slides/"][href$=".slides.html"]').map(a => a.href),
    slidesPdf: all('a.dit-slides-pdf[href$=".slides.pdf"]').map(a => a.href),
    reveal: document.querySelector('.reveal') ? document.querySelector('.reveal').className : null,
    deckSlides: all('.reveal .slides > section').length,
    theme: document.documentElement.dataset.theme,
  };
})()
"""

RAW_MATH = [r"\$\$", r"\\\(", r"\\\)", r"\\\[", r"\\\]", r"\\begin\{", r"(?<![\w$])\$[^$\s][^$\n]{0,80}?\$(?![\w$])"]
RAW_MYST = [
    r"\{glue[:\w]*\}`",
    r"\{cite[:\w]*\}`",
    r"\{(?:doc|ref|numref|eq|chapter|math)\}`",
    r"^:::",
    r"```\{",
    r":::\{",
    r"\{exercise\}",
    r"\{solution\}",
]


def settle(page: Page, seen: Seen, url: str) -> dict:
    """Load URL (forgetting what earlier loads did), wait until it has settled, and describe it."""
    seen.clear()
    page.goto(url)
    return page.evaluate(SETTLE)


def allowed(text: str) -> bool:
    return any(re.search(pattern, text) for pattern in ALLOWED)


def offline_problems(seen: Seen) -> list[str]:
    return [f"request to another host: {url}" for url in seen.requests if not on_this_machine(url)]


def console_problems(seen: Seen) -> list[str]:
    """Console errors, uncaught exceptions, failed loads and HTTP errors, outside ALLOWED."""
    return [f"console: {err[:500]}" for err in seen.errors if not allowed(err)] + [
        f"HTTP {status}: {url}" for status, url in seen.http_errors if not allowed(url)
    ]


def drawing_problems(state: dict) -> list[str]:
    """Plotly figures drawn, widgets rendered and said to be live in Colab only, math typeset."""
    out = []
    for plot in state["plots"]:
        if not plot["drawn"]:
            out.append(f"plotly figure {plot['id']} is not drawn (no .main-svg)")
    if state["widgetsRendered"] < state["widgetViews"]:
        out.append(f"only {state['widgetsRendered']} of {state['widgetViews']} widgets rendered")
    if state["widgetViews"] and not re.search(r"live (only )?in Colab", state["text"], re.I):
        out.append("the page shows widgets but never says they are live in Colab / Jupyter only")
    if state["mathErrors"]:
        out.append(f"MathJax could not typeset: {state['mathErrors']}")
    for pattern in RAW_MATH:
        m = re.search(pattern, state["text"])
        if m:
            around = state["text"][max(0, m.start() - 60) : m.end() + 60].replace("\n", " ")
            out.append(f"raw math left in the text ({pattern}): ...{around}...")
    return out


def problems_common(seen: Seen, state: dict) -> list[str]:
    return offline_problems(seen) + console_problems(seen) + drawing_problems(state)


# --- the site's pages -------------------------------------------------------------------------------


def slider_check(page: Page, name: str) -> tuple[list[str], list[Path]]:
    """Click the last step of the first plotly slider; the figure must change."""
    where = page.evaluate(r"""() => {
      const gd = [...document.querySelectorAll('.plotly-graph-div')].find(d => d.layout && (d.layout.sliders || []).length);
      gd.id = gd.id || 'dit-slider-figure';
      window.__ditSliderEvents = 0;
      gd.on('plotly_sliderchange', () => { window.__ditSliderEvents += 1; });
      return {id: gd.id, before: JSON.stringify([gd.data.map(t => t.visible), gd.layout.title, gd.layout.sliders[0].active])};
    }""")
    figure = page.locator(f'[id="{where["id"]}"]')
    before = figure.screenshot()  # PNG bytes, compared with the shot after the click
    where.update(
        page.evaluate(
            r"""id => {
      const gd = document.getElementById(id);
      const railEl = gd.querySelector('.slider-container .slider-rail-rect');
      // the slider to the middle of the window (vertical scroll only: the page must not shift sideways)
      const r0 = railEl.getBoundingClientRect();
      window.scrollTo(0, Math.max(0, r0.top + window.scrollY - window.innerHeight / 2));
      const ticks = [...gd.querySelectorAll('.slider-container .slider-tick-rect')];
      const rail = railEl.getBoundingClientRect(), last = ticks[ticks.length - 1].getBoundingClientRect();
      return {steps: ticks.length, x: last.left + last.width / 2, y: rail.top + rail.height / 2};
    }""",
            where["id"],
        )
    )
    page.mouse.click(where["x"], where["y"])
    page.wait_for_timeout(1000)
    after_state = page.evaluate(
        r"""id => { const gd = document.getElementById(id);
      return {events: window.__ditSliderEvents, active: gd.layout.sliders[0].active,
              after: JSON.stringify([gd.data.map(t => t.visible), gd.layout.title, gd.layout.sliders[0].active])}; }""",
        where["id"],
    )
    after = shot_name(name, "-slider")
    after_png = figure.screenshot(path=after)
    out = []
    if after_state["events"] < 1 or after_state["active"] != where["steps"] - 1:
        out.append(
            f"clicking the slider's last step did not move it (active {after_state['active']}, "
            f"{where['steps']} steps, {after_state['events']} slider events)"
        )
    if after_state["after"] == where["before"]:
        out.append("moving the slider did not change the figure's data or title")
    if before == after_png:
        out.append("moving the slider did not change the figure's pixels")
    return out, [after]


CONTRAST = r"""
(() => {
  const norm = c => { const e = document.createElement('span'); e.style.color = c; document.body.appendChild(e);
    const v = getComputedStyle(e).color; e.remove(); return v; };   // any CSS colour -> rgb()/rgba()
  const lum = c => { const m = norm(c).match(/[\d.]+/g).map(Number); const [r, g, b] = m.slice(0, 3).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const alpha = c => { const m = norm(c).match(/[\d.]+/g); return m.length > 3 ? Number(m[3]) : 1; };
  const bg = el => { for (let e = el; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
      if (alpha(c) > 0.5) return c; } return getComputedStyle(document.documentElement).backgroundColor; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const worst = [];
  const sel = 'article p, article li, article h1, article h2, .widget-label, .widget-readout, '
            + '.widget-html-content, .widget-inline-hbox label, article .admonition-title';
  for (const el of document.querySelectorAll(sel)) {
    if (!el.textContent.trim() || !el.offsetParent) continue;
    const r = ratio(getComputedStyle(el).color, bg(el));
    if (r < 4.5) worst.push({el: el.className || el.tagName, text: el.textContent.trim().slice(0, 50), ratio: +r.toFixed(2)});
  }
  for (const gd of document.querySelectorAll('.plotly-graph-div')) {
    const fl = gd._fullLayout; if (!fl) continue;
    const paper = alpha(fl.paper_bgcolor) > 0.5 ? fl.paper_bgcolor : bg(gd);
    const r = ratio(fl.font.color, paper);
    if (r < 4.5) worst.push({el: 'plotly ' + gd.id, text: 'font ' + fl.font.color + ' on ' + paper, ratio: +r.toFixed(2)});
  }
  return worst;
})()
"""


def dark_check(page: Page, seen: Seen, name: str) -> tuple[list[str], list[Path]]:
    """Switch the theme to dark as the theme's own switch does (stored mode), reload, look."""
    page.evaluate("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark'); true")
    page.goto("about:blank")  # a fresh load, not a reload that keeps the scroll position
    try:
        state = settle(page, seen, name)
        out = [] if state["theme"] == "dark" else [f"dark mode did not apply (data-theme={state['theme']!r})"]
        out += [f"dark mode: low contrast {w['ratio']} for {w['el']} ({w['text']!r})" for w in page.evaluate(CONTRAST)]
        path = screenshot(page, shot_name(name, "-dark"))
    finally:
        page.evaluate("localStorage.removeItem('mode'); localStorage.removeItem('theme'); true")
    return out, [path]


def link_problems(page: Page, site: str, name: str, state: dict) -> list[str]:
    """A notebook page: a Colab link for this notebook, and .ipynb / slides links that answer (a page
    without a deck: no slides links at all)."""
    problems = []
    colab = [u for u in state["colab"] if "/blob/" in u]
    if not any(u.endswith(name.removesuffix(".html") + ".ipynb") for u in colab):
        problems.append(f"the launch menu has no Colab link for this notebook ({state['colab']})")
    links = [("the .ipynb download", state["ipynb"])]
    if name in DECK_PAGES:
        links += [("the lecture slides", state["slides"]), ("the lecture slides' PDF", state["slidesPdf"])]
    elif state["slides"] or state["slidesPdf"]:
        problems.append(f"a page without a deck links lecture slides: {state['slides'] + state['slidesPdf']}")
    for kind, urls in links:
        urls = [u for u in urls if u.startswith(site)]  # never fetch from another host
        if not urls:
            problems.append(f"no link to {kind} on this site")
            continue
        status = page.evaluate("url => fetch(url, {method: 'HEAD'}).then(r => r.status)", urls[0])
        if status != 200:
            problems.append(f"{kind} link {urls[0]} answers {status}")
    return problems


@pytest.mark.parametrize("name", PAGES)
def test_page_in_browser(page, seen, site, name):
    state = settle(page, seen, name)
    problems = problems_common(seen, state)
    if state["mathSources"] and state["mathTypesetInSources"] < state["mathSources"]:
        problems.append(f"only {state['mathTypesetInSources']} of {state['mathSources']} formulas typeset by MathJax")
    for plot in state["plots"]:
        if not plot["title"].strip():
            problems.append(f"plotly figure {plot['id']} has no title (every figure has a title and a caption)")
    for img in state["images"]:
        alt = img["alt"]
        if not img["caption"] and (not alt or alt == img["src"] or re.search(r"\.(png|jpe?g|svg|gif)$", alt)):
            problems.append(
                f"image {img['src']} has no alt text or caption: give the cell metadata "
                '{"mystnb": {"image": {"alt": "..."}}} or {"mystnb": {"figure": {"caption": "..."}}}'
            )
    if name in NOTEBOOK_PAGES:
        problems += link_problems(page, site, name, state)
    shots = [screenshot(page, shot_name(name))]
    if any(p["sliders"] for p in state["plots"]):
        more, paths = slider_check(page, name)
        problems += more
        shots += paths
    if name in DARK_PAGES:  # the introduction and one chapter of each part, in dark mode too
        more, paths = dark_check(page, seen, name)
        problems += more
        shots += paths
    RESULTS.append((name, [shown(p) for p in shots]))
    assert not problems, f"{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("deck", DECKS)
def test_slides_in_browser(page, seen, deck):
    state = settle(page, seen, deck)
    problems = problems_common(seen, state)
    if not state["reveal"] or "ready" not in state["reveal"].split():
        problems.append(f"reveal.js did not initialise (.reveal class: {state['reveal']!r})")
    if state["deckSlides"] < 2:
        problems.append(f"the deck has {state['deckSlides']} slide(s)")
    if state["mj2Sources"] and state["mj2"] < state["mj2Sources"]:
        problems.append(f"only {state['mj2']} of {state['mj2Sources']} formulas typeset by MathJax 2")
    for pattern in RAW_MYST:
        m = re.search(pattern, state["text"], flags=re.MULTILINE)
        if m:
            problems.append(f"MyST syntax left as raw text: ...{state['text'][max(0, m.start() - 60) : m.end() + 60]}...")
    shots = [screenshot(page, shot_name(deck), max_height=900)]
    # the slide with the first figure, drawn when it is shown
    where = page.evaluate(r"""() => {
        const tops = [...document.querySelectorAll('.reveal .slides > section')];
        const h = tops.findIndex(x => x.querySelector('.plotly-graph-div'));
        if (h < 0) return null;
        const subs = [...tops[h].querySelectorAll(':scope > section')];
        return {h, v: Math.max(0, subs.findIndex(x => x.querySelector('.plotly-graph-div')))}; }""")
    if where is not None:
        page.evaluate("([h, v]) => { location.hash = `#/${h}/${v}`; }", [where["h"], where["v"]])
        page.wait_for_timeout(1000)
        ok = page.evaluate(r"""() => { const cur = [...document.querySelectorAll('.reveal .slides section.present')]
              .filter(s => !s.querySelector('section')).pop();
            const d = cur && cur.querySelector('.plotly-graph-div');
            return !!(d && d.querySelector('.main-svg') && d.getBoundingClientRect().width > 100); }""")
        if not ok:
            problems.append(f"the figure on slide {where} is not drawn when the slide is shown")
        shots.append(screenshot(page, shot_name(deck, "-figure"), max_height=900))
    RESULTS.append((deck, [shown(p) for p in shots]))
    assert not problems, f"{deck}:\n" + "\n".join(problems)


def deck_source(deck: str) -> Path:
    """The notebook a deck was cut from: slides/04_adaln_zero.slides.html -> notebooks/04_adaln_zero.ipynb."""
    stem = Path(deck).name.removesuffix(".slides.html")
    found = [p for p in (*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("book/*.ipynb")) if p.stem == stem]
    assert len(found) == 1, f"{deck}: {len(found)} notebooks named {stem}.ipynb ({found})"
    return found[0]


def expected_slides(deck: str) -> list[dict]:
    """What the notebook asks of its deck, slide by slide (1 = the title slide): the ids of the
    slide-figure cells after each slide cell, and whether it is a demo cue."""
    source = deck_source(deck)
    slides = []
    for cell in nbformat.read(source, as_version=4).cells:
        tags = set(cell.metadata.get("tags", []))
        if is_slide_cell(cell):
            slides.append({"figures": [], "demo": DEMO_TAG in tags, "code": 0})
        elif cell.cell_type == "code" and slides and FIGURE_TAG in tags:
            slides[-1]["figures"].append(cell.get("id"))
        elif cell.cell_type == "code" and slides and CODE_TAG in tags:
            slides[-1]["code"] += 1
    return slides


def is_idea_slide(number: int, slide: dict) -> bool:
    """Slides that explain one idea, so the lecturer needs notes: all but the title, demo cues, the
    common slips and the summary."""
    return number > 1 and not slide["demo"] and not re.match(r"\s*(Common slips|Summary)\b", slide["title"], re.I)


def slide_problems(slides: list[dict], expected: list[dict]) -> list[str]:
    """Every slide of a deck (measured by deck_stats.measure) against the rules of issue 15."""
    out = []
    if len(slides) != len(expected):
        out.append(f"{len(slides)} slides, but the notebook has {len(expected)} slide cells")
    for k, slide in enumerate(slides, start=1):
        where = f"slide {k} ({slide['title'][:50]!r})"
        if slide["overflow"]:
            out.append(f"{where} overflows the {slide['frame'][0]}x{slide['frame'][1]} frame by {slide['overPx']} px")
        if slide["words"] - slide["codeWords"] > WORD_LIMIT:
            out.append(
                f"{where} has {slide['words'] - slide['codeWords']} words (limit {WORD_LIMIT}; figures, "
                "typeset math and slide-code left out)"
            )
        if slide["codeLines"] > CODE_LINE_LIMIT:
            out.append(f"{where} shows {slide['codeLines']} lines of code (limit {CODE_LINE_LIMIT}: a few lines)")
        if slide["fontPx"] < MIN_FONT_PX:
            out.append(f"{where}: body text {slide['fontPx']:.1f} px at 1280x720 (at least {MIN_FONT_PX})")
        if tuple(slide["frame"]) != (1280, 720):
            out.append(f"{where}: the deck's frame is {slide['frame']}, not 1280x720")
        if is_idea_slide(k, slide) and not slide["notes"]:
            out.append(f"{where} has no speaker notes (a markdown cell after its slide cell)")
        if k <= len(expected):
            missing = [i for i in expected[k - 1]["figures"] if i not in slide["figureIds"]]
            if missing:
                out.append(f"{where} lacks the output of its slide-figure cell(s) {missing} (shows {slide['figureIds']})")
            if expected[k - 1]["demo"] and not slide["demo"]:
                out.append(f"{where} is a demo cue (slide-demo) without its Colab link")
    return out


@pytest.mark.parametrize("deck", DECKS)
def test_every_slide_of_a_deck(page, seen, deck):
    """Every slide at 1280x720: fits, few words, large type, its figure, notes; a contact sheet; the PDF."""
    page.set_viewport_size(deck_stats.WINDOW)
    try:
        shots: list[bytes] = []
        slides = deck_stats.measure(page, deck, shots)
    finally:
        page.set_viewport_size(VIEWPORT)
    sheet = deck_stats.contact_sheet(shots, shot_name(deck, "-sheet"))
    problems = slide_problems(slides, expected_slides(deck))
    pdf = DECKS_DIR / Path(deck).name.replace(".slides.html", ".slides.pdf")
    if not pdf.is_file():
        problems.append(f"no PDF of the deck ({pdf.name}: tools/deck_pdf.py, run by make book)")
    elif page_count(pdf.read_bytes()) != len(slides):
        problems.append(f"{pdf.name} has {page_count(pdf.read_bytes())} pages for {len(slides)} slides")
    RESULTS.append((deck + " (every slide)", [shown(sheet)]))
    stats = deck_stats.summary(slides)
    assert not problems, (
        f"{deck} ({stats['slides']} slides, {stats['mean_words']:.0f} words a slide on average, "
        f"max {stats['max_words']}; contact sheet {shown(sheet)}):\n" + "\n".join(problems)
    )


def test_search_finds_pages(page):
    page.goto("search.html?q=diffusion")
    try:
        page.wait_for_function("document.querySelectorAll('#search-results li').length > 0", timeout=10_000)
    except PlaywrightError:
        pass  # the assertion below says what went wrong
    found = page.locator("#search-results li").count()
    assert found > 0, "the site's search found nothing for 'diffusion'"


def test_the_decks_are_the_pages_that_have_one():
    """A deck for every notebook page with one (teaching.has_deck), and none for the others."""
    if not SITE.is_dir():
        skip_or_fail(f"no built site in {SITE.relative_to(ROOT)}: run `make book` first (`make test` does)")
    missing = sorted(p for p in DECK_PAGES if f"slides/{Path(p).stem}.slides.html" not in DECKS)
    assert not missing, f"notebook pages without lecture slides (make slides): {missing}"
    extra = sorted(d for d in DECKS if d not in {f"slides/{Path(p).stem}.slides.html" for p in DECK_PAGES})
    assert not extra, f"decks of pages that have none (their notebook metadata says no lecture slides): {extra}"


def test_zz_list_of_pages_checked(capsys):
    """Print what the browser tests looked at (runs last in this module)."""
    if not RESULTS:
        skip_or_fail("no page was checked in the browser")
    SHOTS.mkdir(parents=True, exist_ok=True)
    lines = [f"{page:<40} {'  '.join(shots)}" for page, shots in RESULTS]
    (SHOTS / "pages-checked.txt").write_text("\n".join(lines) + "\n")
    with capsys.disabled():
        print(f"\n\nbrowser test: {len(RESULTS)} pages and decks checked in {CHROMIUM}; screenshots:")
        for line in lines:
            print("  " + line)

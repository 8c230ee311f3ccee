"""Measure the lecture decks of a built site in headless Chromium, slide by slide, and print a table.

Usage: python tools/deck_stats.py [--site _build/html] [--slides DIR] [--json FILE] [DECK ...]

Every deck (``<site>/slides/*.slides.html``, or the decks in ``--slides DIR``, which are served
beside the site's ``_static/`` so they load as on the site) is opened at 1280x720 in Debian's
chromium (Playwright, ``executable_path``; Playwright's own browsers are never downloaded), each
innermost slide (a ``<section>`` without sections inside) is shown in turn, and measured:

* **words**: the slide's visible text (speaker notes, figures (``.plotly-graph-div``, ``img``,
  ``svg``, widgets) and typeset math (MathJax 2 and 3 output, TeX sources) left out, code
  included), counted as whitespace-separated tokens holding a letter or digit; ``codeWords`` and
  ``codeLines`` say how much of it is the code of a ``slide-code`` cell;
* **figure**: the slide carries a plotly figure, an image, an SVG or a widget;
* **overflow**: the slide's content is taller or wider than the deck's frame (reveal's
  ``width`` x ``height``, shown in the 1280x720 window), by more than 2 px;
* **notes**: the slide has speaker notes (``aside.notes``), and the ids of the code cells whose
  output it shows (``.celltag_slide-figure``, written by tools/make_slides.py).

The table (markdown) has one row per deck: slides, words per slide (mean, max), slides with a
figure, slides that overflow. ``tests/test_browser.py`` uses the same measurement (``measure``).
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WINDOW = {"width": 1280, "height": 720}
FIGURES = ".plotly-graph-div, img, svg, .jupyter-widgets"
LEFT_OUT = (
    "script, style, aside.notes, .plotly-graph-div, img, svg, .jupyter-widgets, mjx-container, "
    "mjx-assistive-mml, .MathJax, .MathJax_CHTML, .MathJax_Display, .MathJax_Preview, .mjx-chtml, "
    ".MJX_Assistive_MathML"
)

# The deck's reveal.js object: tools/make_slides.py's template sets window.Reveal; older decks
# (nbconvert's template) only have it as a require.js module.
REVEAL = r"""(window.Reveal && window.Reveal.getConfig ? window.Reveal
  : Object.values((window.require && require.s && require.s.contexts._.defined) || {}).find(m => m && m.getConfig))"""

WAIT_READY = (
    r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const t0 = Date.now();
  while (Date.now() - t0 < 20000) {
    const R = %s;
    if (R && R.isReady && R.isReady()) break;
    await sleep(100);
  }
  const MJ = window.MathJax;
  if (MJ && MJ.Hub && MJ.Hub.Queue) await new Promise(r => MJ.Hub.Queue(r));
  await sleep(300);
  const all = [...document.querySelectorAll('.reveal .slides section')].filter(s => !s.querySelector('section'));
  return all.map(s => {
    const parent = s.parentElement.closest('section');
    const tops = [...document.querySelectorAll('.reveal .slides > section')];
    if (!parent) return [tops.indexOf(s), 0];
    return [tops.indexOf(parent), [...parent.querySelectorAll(':scope > section')].indexOf(s)];
  });
})()
"""
    % REVEAL
)

MEASURE = (
    r"""
async ([h, v, leftOut, figures]) => {
  const R = %s;
  R.slide(h, v);
  await new Promise(r => setTimeout(r, 150));   // layout, MathJax rerender
  if (window.ditFitSlides) {   // figures fitted once the text above them has its final size
    await window.ditFitSlides(); await new Promise(r => setTimeout(r, 300));
    await window.ditFitSlides(); await new Promise(r => setTimeout(r, 100));
  }
  const s = R.getCurrentSlide();
  const cfg = R.getConfig();
  const clone = s.cloneNode(true);
  clone.querySelectorAll(leftOut).forEach(e => e.remove());
  const count = t => (t.match(/\S+/g) || []).filter(w => /[\p{L}\p{N}]/u.test(w)).length;
  const words = count(clone.textContent);
  const pres = [...clone.querySelectorAll('.jp-InputArea pre')];
  const code = pres.filter(e => !pres.some(o => o !== e && o.contains(e)));   // outermost only
  const codeWords = code.reduce((n, e) => n + count(e.textContent), 0);
  const codeLines = code.reduce((n, e) => n + e.textContent.replace(/\n+$/, '').split('\n').length, 0);
  const heading = s.querySelector('h1, h2, h3');
  const overH = s.scrollHeight - cfg.height, overW = s.scrollWidth - cfg.width;
  // content that sticks out of the frame inside the slide (e.g. a wide figure in a clipped box)
  const scale = R.getScale();
  const frame = document.querySelector('.reveal .slides').getBoundingClientRect();
  let out = 0;
  for (const e of s.querySelectorAll('.plotly-graph-div, img, pre, table, .jp-OutputArea-output')) {
    const r = e.getBoundingClientRect();
    if (!r.width) continue;
    out = Math.max(out, (r.right - frame.right) / scale, (frame.left - r.left) / scale,
                   (r.bottom - frame.bottom) / scale, (frame.top - r.top) / scale);
  }
  return {
    h, v, words, codeWords, codeLines, title: heading ? heading.textContent.trim().slice(0, 80) : '',
    figure: !!s.querySelector(figures),
    figureIds: [...s.querySelectorAll('.celltag_slide-figure')].map(e => e.id.replace(/^cell-id=/, '')),
    demo: !!s.querySelector('.dit-demo'),
    notes: (s.querySelector('aside.notes') || {textContent: ''}).textContent.trim().length,
    overflow: Math.max(overH, overW, out) > 2, overPx: Math.round(Math.max(overH, overW, out)),
    frame: [cfg.width, cfg.height], fontPx: parseFloat(getComputedStyle(s.querySelector('p, li') || s).fontSize) * scale,
  };
}
"""
    % REVEAL
)


def find_chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM") or "", "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
]


def measure(page, url: str, shots: list | None = None) -> list[dict]:
    """Every innermost slide of the deck at URL (loaded in PAGE, a Playwright page of 1280x720);
    with SHOTS (a list), a PNG (bytes) of each slide as shown is appended to it."""
    page.goto(url)
    page.wait_for_function("document.querySelector('.reveal') !== null")
    positions = page.evaluate(WAIT_READY)
    slides = []
    for h, v in positions:
        slides.append(page.evaluate(MEASURE, [h, v, LEFT_OUT, FIGURES]))
        if shots is not None:
            shots.append(page.screenshot())
    return slides


def contact_sheet(shots: list[bytes], path: Path, columns: int = 4, width: int = 400) -> Path:
    """One PNG with every slide of a deck, numbered, COLUMNS to a row (Pillow)."""
    import io

    from PIL import Image, ImageDraw

    images = [Image.open(io.BytesIO(b)).convert("RGB") for b in shots]
    if not images:
        raise ValueError(f"contact_sheet: no slides to draw for {path}")
    height = round(width * images[0].height / images[0].width)
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (columns * (width + 8) + 8, rows * (height + 8) + 8), "#888888")
    draw = ImageDraw.Draw(sheet)
    for k, img in enumerate(images):
        x, y = 8 + (k % columns) * (width + 8), 8 + (k // columns) * (height + 8)
        sheet.paste(img.resize((width, height)), (x, y))
        draw.rectangle([x, y + height - 20, x + 30, y + height], fill="#000000")
        draw.text((x + 5, y + height - 16), str(k + 1), fill="#ffffff")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def summary(slides: list[dict]) -> dict:
    words = [s["words"] for s in slides] or [0]
    return {
        "slides": len(slides),
        "mean_words": sum(words) / len(words),
        "max_words": max(words),
        "figures": sum(s["figure"] for s in slides),
        "overflow": sum(s["overflow"] for s in slides),
    }


def table(results: dict[str, list[dict]]) -> str:
    lines = [
        "| deck | slides | words/slide mean | words/slide max | slides with a figure | slides overflowing |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for deck, slides in results.items():
        s = summary(slides)
        lines.append(f"| {deck} | {s['slides']} | {s['mean_words']:.0f} | {s['max_words']} | {s['figures']} | {s['overflow']} |")
    return "\n".join(lines)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def served(site: Path, slides: Path | None):
    """SITE over http on 127.0.0.1; with SLIDES, a copy of the site's frame whose slides/ is SLIDES."""
    with tempfile.TemporaryDirectory() as tmp:
        root = site
        if slides is not None:
            root = Path(tmp)
            (root / "_static").symlink_to(site / "_static")
            (root / "slides").symlink_to(slides.resolve())
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
        finally:
            httpd.shutdown()
            httpd.server_close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--slides", type=Path, help="decks to measure instead of <site>/slides")
    parser.add_argument("--json", type=Path, help="also write every slide's numbers here")
    parser.add_argument("--sheets", type=Path, help="also save a contact sheet per deck here (<deck>.png)")
    parser.add_argument("decks", nargs="*", help="deck names (01_images_as_tokens); default all")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        sys.exit("deck_stats: chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    results = {}
    with served(args.site.resolve(), args.slides) as (url, root), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        page = browser.new_context(viewport=WINDOW).new_page()
        page.route(
            lambda u: not u.startswith(url) and not u.startswith(("data:", "blob:", "about:")),
            lambda route: route.abort("blockedbyclient"),
        )
        for path in sorted((root / "slides").glob("*.slides.html")):
            name = path.name.removesuffix(".slides.html")
            if args.decks and name not in args.decks:
                continue
            shots = [] if args.sheets else None
            results[name] = measure(page, f"{url}slides/{path.name}", shots)
            if shots:
                contact_sheet(shots, args.sheets / f"{name}.png")
        browser.close()
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

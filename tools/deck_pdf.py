"""Print every lecture deck of a built site to PDF, one page per slide (reveal.js ``?print-pdf``).

Usage: python tools/deck_pdf.py [--site _build/html] [DECK ...]     (make book runs it after make_slides)

Each ``<site>/slides/NN_name.slides.html`` is opened with ``?print-pdf`` in Debian's headless
chromium (Playwright, ``executable_path``; Playwright's browsers are never downloaded), served
from 127.0.0.1 (nothing else is reachable: every other request is blocked, so it works offline),
and printed to ``<site>/slides/NN_name.slides.pdf`` at 1280x720 px per page. The deck's template
prints with reveal's margin at 0 and ``pdfMaxPagesPerSlide: 1``; the script checks that the PDF
has exactly one page per slide (innermost ``<section>``) and fails otherwise. DECK: deck names
(``04_adaln_zero``), default every deck.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from deck_stats import FLAGS, REVEAL, WINDOW, find_chromium, served  # noqa: E402

PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")

READY = (
    r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const t0 = Date.now();
  let R = null;
  while (Date.now() - t0 < 30000) {
    R = %s;
    if (R && R.isReady && R.isReady() && document.querySelector('.reveal .slides .pdf-page')) break;
    await sleep(100);
  }
  if (!R || !R.isReady()) return {error: 'reveal.js did not start in print mode within 30 s'};
  const MJ = window.MathJax;
  if (MJ && MJ.Hub && MJ.Hub.Queue) await new Promise(r => MJ.Hub.Queue(r));
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  while (Date.now() - t0 < 30000 && ([...document.querySelectorAll('.plotly-graph-div')].some(d => !d.querySelector('.main-svg'))
         || views.some(s => !s.parentElement.querySelector('.jupyter-widgets')))) await sleep(100);
  if (window.ditFitSlides) await window.ditFitSlides();
  await sleep(500);
  return {pages: document.querySelectorAll('.reveal .slides .pdf-page').length,
          slides: R.getTotalSlides()};
})()
"""
    % REVEAL
)


def page_count(pdf: bytes) -> int:
    """The number of page objects in a PDF (chromium writes them uncompressed)."""
    try:
        import pypdf  # noqa: PLC0415  (not a dependency; used where installed)
    except ImportError:
        return len(PAGE.findall(pdf))
    import io

    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def print_deck(page, url: str, target: Path) -> tuple[int, int]:
    """Print the deck at URL to TARGET; (slides, PDF pages)."""
    page.goto(url + "?print-pdf")
    state = page.evaluate(READY)
    if "error" in state:
        raise SystemExit(f"deck_pdf: {url}: {state['error']}")
    pdf = page.pdf(width=f"{WINDOW['width']}px", height=f"{WINDOW['height']}px", print_background=True, prefer_css_page_size=True)
    target.write_bytes(pdf)
    return state["slides"], page_count(pdf)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("decks", nargs="*", help="deck names (04_adaln_zero); default every deck")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    decks = sorted((site / "slides").glob("*.slides.html"))
    if args.decks:
        decks = [d for d in decks if d.name.removesuffix(".slides.html") in args.decks]
    if not decks:
        sys.exit(f"deck_pdf: no decks to print in {site / 'slides'} (run make_slides first)")
    chromium = find_chromium()
    if chromium is None:
        sys.exit("deck_pdf: chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    bad = []
    with served(site, None) as (url, _root), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        page = browser.new_context(viewport=WINDOW).new_page()
        page.route(
            lambda u: not u.startswith(url) and not u.startswith(("data:", "blob:", "about:")),
            lambda route: route.abort("blockedbyclient"),
        )  # offline: nothing leaves 127.0.0.1
        for deck in decks:
            start = time.perf_counter()
            target = deck.with_suffix(".pdf")
            slides, pages = print_deck(page, f"{url}slides/{deck.name}", target)
            shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
            print(f"deck_pdf: {shown}: {pages} pages for {slides} slides ({time.perf_counter() - start:.1f} s)")
            if pages != slides:
                bad.append(f"{deck.name}: {pages} PDF pages for {slides} slides")
        browser.close()
    if bad:
        sys.exit("deck_pdf: a slide spilled over a page (or pages are missing):\n  " + "\n  ".join(bad))
    return 0


if __name__ == "__main__":
    sys.exit(main())

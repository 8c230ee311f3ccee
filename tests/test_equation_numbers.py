"""Equations are numbered per chapter, (10.1), (10.2), ..., by book/_ext/equation_numbers.py."""

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import equation_numbers as en  # noqa: E402  (a local Sphinx extension, not a package)


def test_chapter_number_from_the_page_name():
    assert en.chapter_number("notebooks/10_guidance") == 10
    assert en.chapter_number("notebooks/01_images_as_tokens") == 1
    assert en.chapter_number("book/lecturer_guide") is None
    assert en.chapter_number("book/intro") is None


def test_renumbers_the_book_wide_counter_per_page_in_page_order():
    # what Sphinx leaves without a numbered toctree: one counter across the book
    env = SimpleNamespace(
        toc_fignumbers={
            "book/lecturer_guide": {"displaymath": {"equation-g": (1,)}},
            "notebooks/01_images_as_tokens": {"displaymath": {"equation-b": (3,), "equation-a": (2,)}},
            "notebooks/10_guidance": {
                "displaymath": {"equation-z": (51,), "equation-y": (50,), "equation-x": (52,)},
                "figure": {"fig-1": (7,)},
            },
            "book/notation": {},
        }
    )
    assert en.number_per_chapter(None, env) == []
    assert env.toc_fignumbers["book/lecturer_guide"]["displaymath"] == {"equation-g": (1,)}
    assert env.toc_fignumbers["notebooks/01_images_as_tokens"]["displaymath"] == {"equation-a": (1, 1), "equation-b": (1, 2)}
    assert env.toc_fignumbers["notebooks/10_guidance"]["displaymath"] == {
        "equation-y": (10, 1),
        "equation-z": (10, 2),
        "equation-x": (10, 3),
    }
    assert env.toc_fignumbers["notebooks/10_guidance"]["figure"] == {"fig-1": (7,)}  # only equations change


CHAPTERS = sorted(SITE.glob("notebooks/[0-9][0-9]_*.html")) if SITE.is_dir() else []


@pytest.mark.skipif(not CHAPTERS, reason="no built site: run `make book` first (`make test` does)")
@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.stem)
def test_built_chapter_numbers_its_equations_from_one(page):
    html = page.read_text(encoding="utf-8")
    chapter = int(page.stem[:2])
    shown = re.findall(r'<span class="eqno">\((\d+(?:\.\d+)*)', html)
    assert shown == [f"{chapter}.{k}" for k in range(1, len(shown) + 1)], shown
    own_refs = re.findall(r'href="#equation-[^"]+">\(([\d.]+)\)<', html)
    assert set(own_refs) <= set(shown), f"a reference on {page.name} names an equation the page does not number"

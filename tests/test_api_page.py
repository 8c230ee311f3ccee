"""The API reference page (book/api.md): every public module of dit_lib is on it, and the docstrings
go in as literal blocks (book/_ext/api_docstrings.py), so no docstring can break the -W build."""

import pkgutil
import re
import sys
from pathlib import Path

import dit_lib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from api_docstrings import as_literal_block  # noqa: E402


def public_modules() -> set[str]:
    names = {m.name for m in pkgutil.walk_packages(dit_lib.__path__, "dit_lib.")}
    return {n for n in names if not any(part.startswith("_") for part in n.split("."))} - {"dit_lib.pretrained.build"}


def test_every_public_module_is_on_the_page():
    page = (ROOT / "book" / "api.md").read_text()
    documented = set(re.findall(r"^\.\. automodule:: (\S+)$", page, flags=re.M))
    assert documented == public_modules(), (sorted(public_modules() - documented), sorted(documented - public_modules()))


def test_docstrings_become_one_literal_block():
    lines = ["x | y and *z", "", "    (B, L, D) `a", "", ""]
    as_literal_block(None, "function", "f", None, {}, lines)
    assert lines == ["::", "", "    x | y and *z", "", "        (B, L, D) `a", ""]
    empty = ["", ""]
    as_literal_block(None, "function", "f", None, {}, empty)
    assert empty == []

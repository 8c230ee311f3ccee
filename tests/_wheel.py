"""The reader's wheel, built the way pip builds it from the repository, for the tests that install it
(tests/test_colab.py, tests/test_install.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_wheel(base: Path) -> Path:
    """A wheel of the one distribution (both packages, dit_lib and dit_book) in base/wheels, built
    offline from a copy of the package files in base/src, so no build/ or *.egg-info appears in the
    checkout."""
    src = base / "src"
    for package in ("dit_lib", "dit_book"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    wheels = base / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["-w", str(wheels), str(src)],
        check=True,
    )
    (wheel,) = wheels.glob("dit_lib-*.whl")
    return wheel

"""Check the virtual environment that `make setup` just built (tests/test_install.py also runs it
in the fresh environment of the reader's install: torch first, then `dit_lib[notebooks]`).

Usage: python tools/check_env.py TORCH_VERSION

Fails (exit 1) when torch is not the pinned CPU version, when torchvision or
torchaudio crept in, or when CUDA wheels were pulled (gigabytes we never want).
"""

import sys
from importlib.metadata import distributions, version


def main(expected_torch: str) -> int:
    problems = []
    torch_version = version("torch")
    if torch_version.split("+")[0] != expected_torch:
        problems.append(
            f"torch {torch_version} is installed, expected {expected_torch}; "
            f"run `pip install torch=={expected_torch}` before the package"
        )
    names = sorted({(d.metadata["Name"] or "").lower() for d in distributions()})
    for name in ("torchvision", "torchaudio"):
        if name in names:
            problems.append(f"{name} is installed; the book never uses it: `pip uninstall {name}`")
    cuda = [n for n in names if n.startswith("nvidia-")]
    if cuda:
        problems.append(
            f"CUDA wheels were installed ({', '.join(cuda[:3])}, ...): torch was resolved "
            "before torch==" + expected_torch + " was installed; recreate the venv"
        )
    for p in problems:
        print(f"check_env: {p}", file=sys.stderr)
    if not problems:
        print(f"check_env: torch {torch_version}, no torchvision/torchaudio, no CUDA wheels")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tools/check_env.py TORCH_VERSION")
    sys.exit(main(sys.argv[1]))

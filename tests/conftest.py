"""Shared test fixtures. The official reference numbers live in tests/fixtures (see its README)."""

from pathlib import Path

import pytest
import torch

FIXTURE = Path(__file__).parent / "fixtures" / "official_dit_small.pt"


def load_official() -> dict:
    """The official DiT fixture; a missing file is an error, never a skip."""
    if not FIXTURE.exists():
        shown = FIXTURE.relative_to(Path.cwd()) if FIXTURE.is_relative_to(Path.cwd()) else FIXTURE
        raise FileNotFoundError(
            f"reference fixture {FIXTURE} is missing; it is part of the repository (restore it with `git checkout -- {shown}`)."
        )
    return torch.load(FIXTURE, weights_only=True)


@pytest.fixture(scope="session")
def official():
    return load_official()


@pytest.fixture(scope="session")
def official_model(official):
    """The fixture's DiT with the official (perturbed) weights, in eval mode."""
    from dit_lib.models import DiT

    model = DiT(**official["config"])
    model.load_state_dict(official["state_dict"], strict=True)
    return model.eval()


def title_of(fig) -> str:
    """The plotly figure's title; every figure of the book must have one."""
    assert fig.layout.title.text, "figure has no title"
    return fig.layout.title.text


def nudged_micro_dit(input_size, scale: float):
    """A seeded DiT-Micro/2 on 1-channel images, 10 classes, with every trainable weight nudged by
    `scale` x N(0, 1) noise: a fresh DiT's blocks are the identity, a nudged one's all differ."""
    from dit_lib.models import DiT_models

    torch.manual_seed(0)
    m = DiT_models["DiT-Micro/2"](input_size=input_size, in_channels=1, num_classes=10).eval()
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        for w in m.parameters():
            if w.requires_grad:
                w.add_(scale * torch.randn(w.shape, generator=g))
    return m


def nudged_small_dit(num_classes: int = 3, scale: float = 0.05):
    """A seeded 2-block DiT on 1x8x8 images (patch 4, width 32), every trainable weight nudged by
    `scale` x N(0, 1): small enough for widget tests, with gates that are open."""
    from dit_lib.models import DiT

    torch.manual_seed(0)
    model = DiT(input_size=8, patch_size=4, in_channels=1, hidden_size=32, depth=2, num_heads=4, num_classes=num_classes).eval()
    with torch.no_grad():
        for w in model.parameters():
            if w.requires_grad:
                w.add_(scale * torch.randn_like(w))
    return model


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tests' tensors are tiny: one thread is fastest, and a busy machine cannot stall OpenMP workers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_dit(**kw):
    """A seeded 3-block DiT on 3x8x8 images with 5 classes, in eval mode (the model-anatomy tests)."""
    from dit_lib.models import DiT

    torch.manual_seed(0)
    cfg = dict(input_size=8, patch_size=2, in_channels=3, hidden_size=32, depth=3, num_heads=4, num_classes=5)
    cfg.update(kw)
    return DiT(**cfg).eval()


@pytest.fixture(scope="session")
def images():
    """One coloured shape (3x16x16) and one digit (1x16x16), for the figure tests."""
    from dit_lib.data import load_dataset

    shapes = load_dataset("shapes", n=4)
    digits = load_dataset("digits", image_size=16, n=4)
    return {"shape": shapes.images[0], "digit": digits.images[0]}

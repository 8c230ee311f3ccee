import sys
import types

import pytest

from dit_book import notebook
from dit_lib.models import DiT


def test_source_is_the_library_text():
    text = notebook.source(DiT.forward_with_cfg)
    assert text.lstrip().startswith("def forward_with_cfg(") and "channels" in text


@pytest.fixture
def not_colab(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)


@pytest.fixture
def fake_myst_nb(monkeypatch):
    """A stand-in myst_nb whose glue records its calls."""
    calls = []
    module = types.ModuleType("myst_nb")
    module.glue = lambda name, value, display=True: calls.append((name, value, display))
    monkeypatch.setitem(sys.modules, "myst_nb", module)
    return calls


def test_glue_is_silent_without_myst_nb(monkeypatch, capsys, not_colab):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import fails, as in Colab or a plain install
    assert notebook.glue("answer", 42) is None  # nothing left on a cell's last line
    assert capsys.readouterr() == ("", "")


def test_glue_is_silent_in_colab_even_with_myst_nb(monkeypatch, capsys, fake_myst_nb):
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-20260101")
    assert notebook.in_colab()
    assert notebook.glue("answer", 42) is None
    assert fake_myst_nb == [] and capsys.readouterr() == ("", "")


def test_glue_goes_through_myst_nb_in_the_build(capsys, not_colab, fake_myst_nb):
    assert notebook.glue("answer", 42) is None
    assert fake_myst_nb == [("answer", 42, False)]
    assert capsys.readouterr() == ("", "")


def test_myst_nb_glue_outputs_only_its_own_mime_types(monkeypatch, not_colab):
    """What a local Jupyter with the book extra receives: MyST-NB's glue with display=False sends a
    bundle of application/papermill.record/* types only, which front ends do not render."""
    glue_module = pytest.importorskip("myst_nb.ext.glue")
    shown = []
    monkeypatch.setattr(glue_module, "ipy_display", lambda bundle, **kw: shown.append((bundle, kw)))
    notebook.glue("ratio", 0.25)
    ((bundle, kw),) = shown
    assert bundle and all(k.startswith("application/papermill.record/") for k in bundle), bundle
    assert kw["metadata"]["scrapbook"]["name"] == "ratio"


def test_glue_with_display_shows_the_value_without_myst_nb(monkeypatch, capsys, not_colab):
    monkeypatch.setitem(sys.modules, "myst_nb", None)
    notebook.glue("answer", 42, display=True)
    assert capsys.readouterr().out.strip() == "42"


def test_agreement_reads_right_either_way():
    assert notebook.agreement(0.0) == "agree exactly"
    assert notebook.agreement(4.8e-7) == "differ by at most 4.8e-07"
    assert notebook.agreement(1.234e-5, digits=2) == "differ by at most 1.23e-05"

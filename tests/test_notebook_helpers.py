import sys

from dit_book import notebook
from dit_lib.models import DiT


def test_source_is_the_library_text():
    text = notebook.source(DiT.forward_with_cfg)
    assert text.lstrip().startswith("def forward_with_cfg(") and "channels" in text


def test_glue_prints_without_myst_nb(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "myst_nb", None)   # import fails as in Colab
    assert notebook.glue("answer", 42) is None          # nothing left on a cell's last line
    assert capsys.readouterr().out.strip() == "answer = 42"


def test_agreement_reads_right_either_way():
    assert notebook.agreement(0.0) == "agree exactly"
    assert notebook.agreement(4.8e-7) == "differ by at most 4.8e-07"
    assert notebook.agreement(1.234e-5, digits=2) == "differ by at most 1.23e-05"

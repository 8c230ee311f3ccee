"""tools/myst_markdown.py, the one MyST -> Markdown converter (lecture slides and reader notebooks):
each role and directive kind against the Markdown written out by hand."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import myst_markdown as mm  # noqa: E402  (tools/ is not a package)

BIB = """
@article{solo2020, author = {Ada Lovelace}, title = {One}, year = {2020}}
@article{duo2021, author = {Peebles, William and Xie, Saining}, title = {Two}, year = {2021}}
@article{trio2022, author = {Ho, Jonathan and Jain, Ajay and Abbeel, Pieter}, title = {Three}, year = {2022}}
"""
GLUE = {
    "loss": {"text/plain": "0.125"},
    "name": {"text/plain": "'digits'"},  # a glued str: myst-nb shows it without quotes
    "table": {"text/html": "<b>T</b>", "text/plain": "T"},
    "pic": {"image/png": "AAAA", "text/plain": "<Figure>"},
}


@pytest.fixture
def bib(tmp_path) -> mm.Bibliography:
    path = tmp_path / "refs.bib"
    path.write_text(BIB)
    return mm.Bibliography(path)


@pytest.fixture(autouse=True)
def no_missing_glue():
    mm.MISSING_GLUE.clear()
    yield
    mm.MISSING_GLUE.clear()


def md(text: str, bib, tmp_path=Path("."), **kw) -> str:
    return mm.myst_to_markdown(text, tmp_path, GLUE, bib, **kw)


# --- roles --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, expected",
    [
        ("loss {glue:text}`loss`.", "loss 0.125."),
        ("loss {glue:text}`loss:.1%`.", "loss 12.5%."),
        ("loss {glue:text}`loss:.2e`", "loss 1.25e-01"),
        ("data {glue:}`name`", "data digits"),
        ("data {glue}`name`", "data digits"),
        ("{glue:}`table`", "<b>T</b>"),
        ("{glue:}`pic`", '<img alt="pic" src="data:image/png;base64,AAAA">'),
    ],
)
def test_glue_roles_carry_the_value(bib, source, expected):
    assert md(source, bib) == expected
    assert not mm.MISSING_GLUE


def test_missing_glue_is_recorded(bib):
    assert md("{glue:text}`nowhere`", bib) == "`nowhere`"
    assert mm.MISSING_GLUE == {"nowhere"}


@pytest.mark.parametrize(
    "source, expected",
    [
        ("as shown {cite:p}`solo2020`", "as shown (Lovelace 2020)"),
        ("{cite:p}`duo2021,trio2022`", "(Peebles and Xie 2021; Ho et al. 2022)"),
        ("{cite:t}`duo2021` show", "Peebles and Xie (2021) show"),
        ("{cite:t}`trio2022`", "Ho et al. (2022)"),
        ("{cite:p}`unknown`", "(unknown)"),
    ],
)
def test_citations_read_author_year(bib, source, expected):
    assert md(source, bib) == expected


def test_equations_get_their_number_and_tag(bib):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("$$\na = b\n$$ (eq-a)\n\nthen\n\n$$\nc\n$$ (eq-c)"),
            nbformat.v4.new_markdown_cell("```{math}\n:label: eq-d\nd\n```"),
        ]
    )
    assert mm.equation_numbers(nb) == {"eq-a": 1, "eq-c": 2, "eq-d": 3}
    numbers = mm.equation_numbers(nb, chapter=10)
    assert numbers == {"eq-a": "10.1", "eq-c": "10.2", "eq-d": "10.3"}
    out = md(nb.cells[0].source + "\n\nBy {eq}`eq-c` and {eq}`eq-a`.", bib, equations=numbers)
    assert out == "$$\na = b\n\\tag{10.1}$$\n\nthen\n\n$$\nc\n\\tag{10.2}$$\n\nBy (10.2) and (10.1)."
    assert md("{eq}`elsewhere`", bib, equations=numbers) == "(elsewhere)"


@pytest.mark.parametrize(
    "source, expected",
    [
        ("see {chapter}`The forward process <06>`", "see The forward process"),
        ("see {doc}`the notation <../book/notation>`", "see the notation"),
        ("see {doc}`02_time_and_class`", "see chapter 2"),  # no title known: as the slides say
        ("see {doc}`../book/notation`", "see *notation*"),
        ("in {ref}`ex-1`", "in Exercise 3.1"),  # a label the caller knows
        ("in {numref}`fig-x`", "in *fig-x*"),
        ("inline {math}`x^2`", "inline $x^2$"),
    ],
)
def test_cross_references_read_as_text(bib, source, expected):
    assert md(source, bib, labels={"ex-1": "Exercise 3.1"}) == expected


def test_doc_titles_come_from_the_caller(bib):
    titles = {"../book/notation": "Notation", "02_time_and_class": "2. Telling the model the time"}
    out = md("{doc}`../book/notation` and {doc}`02_time_and_class`", bib, doc_title=titles.get)
    assert out == "Notation and 2. Telling the model the time"


def test_targets_comments_and_block_breaks_go(bib):
    out = md("(sec-one)=\n## One\n% a comment\ntext\n+++\nmore", bib)
    assert out == "## One\ntext\nmore"


# --- directives ---------------------------------------------------------------------------------


def test_titled_admonition_is_a_block_quote(bib):
    source = ":::{admonition} Common slips\n:class: warning\n- one {glue:text}`loss`\n\n- two\n:::"
    assert md(source, bib) == "> **Common slips**\n>\n> - one 0.125\n>\n> - two"


def test_untitled_admonition_takes_its_kind(bib):
    assert md("```{note}\nRead this.\n```", bib) == "> **Note**\n>\n> Read this."
    assert md(":::{tip}\n:::", bib) == "> **Tip**"


def test_nested_directives(bib):
    source = "::::{admonition} Outer\n:::{note}\ninner\n:::\nafter\n::::"
    assert md(source, bib) == "> **Outer**\n>\n> > **Note**\n> >\n> > inner\n> after"


def test_math_code_and_figure_directives(bib):
    assert md("```{math}\n:label: eq-x\nx = 1\n```", bib) == "$$\nx = 1\n$$"
    assert md("```{code-block} python\nprint(1)\n```", bib) == "```python\nprint(1)\n```"
    assert md(":::{figure} a.png\n---\nname: fig-a\nwidth: 50%\n---\nA caption.\n:::", bib) == "*A caption.*"


def test_literalinclude_includes_the_code(bib, tmp_path):
    (tmp_path / "mod.py").write_text("import os\n\n\ndef f(x):\n    return x + 1\n\n\ndef g():\n    pass\n")
    out = mm.myst_to_markdown("```{literalinclude} mod.py\n:pyobject: f\n```", tmp_path, GLUE, bib)
    assert out == "```python\ndef f(x):\n    return x + 1\n```"


def test_glue_directive(bib):
    assert md("```{glue:} loss\n```", bib) == "0.125"


def test_exercises_are_dropped_unless_handled(bib):
    source = "before\n:::{exercise} Title\n:label: ex-a\nDo it.\n:::\n:::{solution} ex-a\n:class: dropdown\nDone.\n:::\nafter"
    assert md(source, bib) == "before\nafter"
    seen = []

    def exercise(arg, options, body):
        seen.append((arg, options))
        return f"**Exercise ({arg})** {body}"

    handlers = {"exercise": exercise, "solution": lambda arg, options, body: f"<details>{arg}: {body}</details>"}
    out = md(source, bib, handlers=handlers)
    assert out == "before\n**Exercise (Title)** Do it.\n<details>ex-a: Done.</details>\nafter"
    assert seen == [("Title", {"label": "ex-a"})]


def test_reference_texts(bib):
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("(sec-a)=\n## A section\n\n:::{exercise} Find it\n:label: ex-find\nGo.\n:::")]
    )
    assert mm.reference_texts(nb) == {"sec-a": '"A section"', "ex-find": 'the exercise "Find it"'}


# --- glued values from an executed notebook ------------------------------------------------------


def test_glue_values_from_outputs_and_json(tmp_path):
    out = nbformat.v4.new_output(
        "display_data",
        data={mm.GLUE_PREFIX + "text/plain": "3"},
        metadata={"scrapbook": {"name": "n", "mime_prefix": mm.GLUE_PREFIX}},
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("glue('n', 3)", outputs=[out])])
    assert mm.glue_values(nb) == {"n": {"text/plain": "3"}}
    path = tmp_path / "nb.glue.json"
    path.write_text(json.dumps({"n": out}))
    assert mm.glue_json_values(path) == {"n": {"text/plain": "3"}}
    assert mm.glue_json_values(tmp_path / "absent.glue.json") == {}


def test_chapter_number():
    assert mm.chapter_number("notebooks/10_guidance") == 10
    assert mm.chapter_number("03_attention") == 3
    assert mm.chapter_number("book/intro") is None

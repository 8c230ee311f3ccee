"""Cut a reveal.js lecture deck from every notebook of the book, for the published site.

Usage: python tools/make_slides.py [--site _build/html] [--execute]      (make slides; make book runs it)

For each notebook listed in ``_toc.yml`` it writes ``<site>/slides/<name>.slides.html``
(the Sphinx extension ``book/_ext/teaching.py`` links every notebook page to it).

* **No second execution.** It reads the notebook the site build executed
  (``_build/jupyter_execute/<path>.ipynb``). Only when that copy is missing or older than the
  notebook (``make slides`` without a site build), or with ``--execute``, does it run the notebook
  itself, in a fresh ``python3`` kernel from an empty temporary folder.
* **Slides come from cell metadata** (``slideshow.slide_type``: slide, subslide, fragment, skip,
  notes). A markdown cell without it that starts with a heading opens a new slide (``#``/``##``)
  or sub-slide (``###``), so a notebook with no slide metadata still gives a usable deck.
  Cells tagged ``remove-cell``/``hide-cell`` (solutions) are left out; ``hide-input``/``remove-input``
  cells show their output only; stderr (warnings) is dropped.
* **MyST is turned into plain Markdown** (reveal.js does not know it): ``{glue:}`name``` becomes
  the glued value, ``{cite:p}`key``` becomes "(Author Year)" from ``book/references.bib``, other
  roles their text, ``:::{note} Title`` and the other admonitions a block quote with a bold title,
  ``{math}`` a ``$$`` block, ``{literalinclude}`` the code it includes, ``{exercise}`` and
  ``{solution}`` are dropped (they belong on the page), and so are labels and comments.
* **Offline**, like the site: reveal.js 4, MathJax 2, require.js, jQuery, the widget manager and
  plotly.js come from ``<site>/_static/vendor/`` (``make vendor``), never from a CDN.
"""

from __future__ import annotations

import argparse
import ast
import copy
import html
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import yaml
from nbconvert import SlidesExporter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
sys.path.insert(0, str(ROOT / "tools"))
from colab_cell import toc_files  # noqa: E402
from offline_assets import localise_plotly  # noqa: E402

TEMPLATE_DIR = ROOT / "tools" / "slides_template"
VENDOR = "../_static/vendor"  # from <site>/slides/ to the vendored assets
ADMONITIONS = {"note", "warning", "tip", "important", "caution", "attention", "danger", "error", "hint",
               "seealso", "admonition", "margin", "sidebar", "topic", "dropdown", "card"}
DROPPED = {"exercise", "solution", "toctree", "bibliography", "nb-exec-table", "tableofcontents", "glossary"}
GLUE_PREFIX = "application/papermill.record/"


# --- MyST -> Markdown ---------------------------------------------------------------------------

class Bibliography:
    """Author-year labels from references.bib: (Peebles and Xie 2023), (Ho et al. 2020)."""

    def __init__(self, path: Path):
        self.entries = {}
        if path.is_file():
            from pybtex.database import parse_file

            for key, entry in parse_file(str(path)).entries.items():
                names = [" ".join(p.last_names) for p in entry.persons.get("author", [])]
                names = [re.sub(r"[{}]", "", n) for n in names]
                if len(names) > 2:
                    authors = f"{names[0]} et al."
                elif names:
                    authors = " and ".join(names)
                else:
                    authors = key
                self.entries[key] = (authors, entry.fields.get("year", "n.d."))

    def cite(self, keys: str, textual: bool) -> str:
        found = [self.entries.get(k.strip(), (k.strip(), "")) for k in keys.split(",")]
        if textual:
            return "; ".join(f"{a} ({y})" if y else a for a, y in found)
        return "(" + "; ".join(f"{a} {y}".strip() for a, y in found) + ")"


def plain(text: str) -> str:
    """As myst-nb shows a glued text/plain value: a quoted string loses its quotes."""
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        return text
    return str(value)


def glue_values(nb) -> dict[str, dict]:
    """name -> mime bundle of every myst-nb glue() in the executed notebook."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            meta = out.get("metadata", {}).get("scrapbook")
            if meta:
                n = len(meta.get("mime_prefix", ""))
                values[meta["name"]] = {k[n:]: v for k, v in out.get("data", {}).items()}
    return values


MISSING_GLUE: set[str] = set()   # glue names a deck asked for and no execution provided


def render_glue(bundle: dict | None, name: str, fmt: str = "") -> str:
    if bundle is None:
        MISSING_GLUE.add(name)
        return f"`{name}`"
    if "image/png" in bundle:
        return f'<img alt="{html.escape(name)}" src="data:image/png;base64,{bundle["image/png"]}">'
    if "text/html" in bundle and not fmt:
        return "".join(bundle["text/html"])
    text = plain("".join(bundle.get("text/plain", name)))
    if fmt:
        try:
            value = float(text) if fmt[-1] in "eEfFgGn%" else int(float(text)) if fmt[-1] in "dbcoxX" else text
            text = format(value, fmt)
        except ValueError:
            pass
    return text


ROLE = re.compile(r"\{(?P<name>[\w:.-]*)\}`(?P<text>[^`]*)`")


EQ_LABEL = re.compile(r"\$\$[ \t]*\((?P<label>[\w:.-]+)\)[ \t]*$", flags=re.MULTILINE)


def equation_numbers(nb) -> dict[str, int]:
    """label -> number of the labelled display equations, in order, as Sphinx numbers them on the page."""
    labels = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            labels += [m["label"] for m in EQ_LABEL.finditer(cell.source)]
            labels += re.findall(r"^\s*```\{math\}.*?^\s*:label:\s*(\S+)", cell.source, flags=re.MULTILINE | re.DOTALL)
    return {label: i for i, label in enumerate(dict.fromkeys(labels), start=1)}


def convert_roles(text: str, glue: dict, bib: Bibliography, equations: dict | None = None,
                  labels: dict | None = None) -> str:
    equations, labels = equations or {}, labels or {}

    def one(m: re.Match) -> str:
        name, content = m["name"], m["text"]
        if name.startswith("glue"):
            key, _, fmt = content.partition(":") if name in ("glue:text",) else (content, "", "")
            return render_glue(glue.get(key.strip()), key.strip(), fmt)
        if name in ("cite", "cite:p", "cite:ps", "cite:alp"):
            return bib.cite(content, textual=False)
        if name in ("cite:t", "cite:ts", "cite:author"):
            return bib.cite(content, textual=True)
        if name == "math":
            return f"${content}$"
        if name == "eq":
            return f"({equations.get(content.strip(), content)})"
        explicit = re.fullmatch(r"(.*?)\s*<[^<>]*>", content, flags=re.DOTALL)
        if explicit and explicit[1]:
            return explicit[1]
        if name in ("ref", "numref") and content.strip() in labels:
            return labels[content.strip()]
        if name == "doc":
            chapter = re.search(r"(?:^|/)(\d\d)_[\w-]+$", content.strip())
            return f"chapter {int(chapter[1])}" if chapter else f"*{Path(content.strip()).name}*"
        return f"*{content}*" if name in ("doc", "ref", "numref", "chapter", "term") else content

    return ROLE.sub(one, text)


FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>:{3,}|`{3,})\{(?P<name>[\w:.-]+)\}\s*(?P<arg>.*)$")


def literalinclude(arg: str, options: dict, base: Path) -> str:
    path = (base / arg.strip()).resolve()
    if not path.is_file():
        return f"*(code from {arg.strip()})*"
    text = path.read_text(encoding="utf-8")
    if "pyobject" in options:
        tree = ast.parse(text)
        lines = text.splitlines()
        for node in ast.walk(tree):
            if getattr(node, "name", None) == options["pyobject"].split(".")[-1] and hasattr(node, "end_lineno"):
                start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
                text = "\n".join(lines[start - 1: node.end_lineno])
                break
    return f"```{options.get('language', 'python')}\n{text.rstrip()}\n```"


def convert_directives(text: str, base: Path, glue: dict) -> str:
    """Rewrite MyST directives (colon or backtick fences, nested or not) into Markdown."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = FENCE_OPEN.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        fence, name, arg = m["fence"], m["name"], m["arg"].strip()
        # the block ends at a line that is the same fence (or longer, for colons)
        j, depth = i + 1, 0
        while j < len(lines):
            stripped = lines[j].strip()
            if FENCE_OPEN.match(lines[j]) and FENCE_OPEN.match(lines[j])["fence"] == fence:
                depth += 1
            elif stripped == fence or (fence[0] == ":" and stripped and set(stripped) == {":"} and len(stripped) == len(fence)):
                if depth == 0:
                    break
                depth -= 1
            j += 1
        body = lines[i + 1: j]
        options = {}
        while body and re.match(r"^\s*:[\w-]+:", body[0]):
            key, _, value = body.pop(0).strip()[1:].partition(":")
            options[key] = value.strip()
        if body and body[0].strip() == "---":  # YAML options block
            end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), None)
            if end is not None:
                options.update(yaml.safe_load("\n".join(body[1:end])) or {})
                body = body[end + 1:]
        inner = convert_directives("\n".join(body), base, glue)
        i = j + 1
        if name in DROPPED:
            continue
        if name in ADMONITIONS or name.startswith("admonition"):
            title = arg or name.capitalize()
            quoted = "\n".join("> " + line if line.strip() else ">" for line in inner.strip().splitlines())
            out.append(f"> **{title}**\n>\n{quoted}" if inner.strip() else f"> **{title}**")
        elif name in ("math",):
            out.append(f"$$\n{inner.strip()}\n$$")
        elif name in ("code", "code-block", "sourcecode", "code-cell"):
            out.append(f"```{arg}\n{inner}\n```")
        elif name == "literalinclude":
            out.append(literalinclude(arg, options, base))
        elif name.startswith("glue"):
            out.append(render_glue(glue.get(arg), arg))
            if inner.strip():
                out.append(f"\n*{inner.strip()}*")
        elif name in ("figure", "image"):
            if inner.strip():
                out.append(f"*{inner.strip()}*")
        else:  # tab-set, tab-item, grid, epigraph, ...: keep the text
            if arg and name not in ("tab-set", "grid"):
                out.append(f"**{arg}**\n")
            out.append(inner)
    return "\n".join(out)


def myst_to_markdown(text: str, base: Path, glue: dict, bib: Bibliography, equations: dict | None = None,
                     labels: dict | None = None) -> str:
    equations = equations or {}
    # $$ ... $$ (label): the page's equation number, as a \tag the slides show
    text = EQ_LABEL.sub(lambda m: f"\\tag{{{equations[m['label']]}}}$$" if m["label"] in equations else "$$", text)
    text = convert_directives(text, base, glue)
    text = "\n".join(
        line for line in text.splitlines()
        if not re.match(r"^\s*\([\w:.-]+\)=\s*$", line)  # (label)= targets
        and not re.match(r"^%", line)  # MyST comments
        and line.strip() != "+++"  # block breaks
    )
    return convert_roles(text, glue, bib, equations, labels)


EXERCISE = re.compile(r"^:{3,}\{exercise\}[ \t]*(?P<title>[^\n]*)\n(?P<options>(?::\w+:[^\n]*\n)+)", flags=re.MULTILINE)
TARGET = re.compile(r"^\((?P<label>[\w:.-]+)\)=\s*\n+#+\s*(?P<heading>[^\n]+)", flags=re.MULTILINE)


def reference_texts(nb) -> dict[str, str]:
    """label -> what a {ref} to it shows on a slide: 'exercise "title"' or the section heading."""
    texts = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for m in EXERCISE.finditer(cell.source):
            label = re.search(r"^:label:\s*(\S+)", m["options"], flags=re.MULTILINE)
            if label:
                texts[label[1]] = f'the exercise "{m["title"].strip()}"' if m["title"].strip() else "an exercise below"
        for m in TARGET.finditer(cell.source):
            texts[m["label"]] = f'"{m["heading"].strip()}"'
    return texts


def glue_json_values(path: Path) -> dict[str, dict]:
    """name -> mime bundle from the `<name>.glue.json` that myst-nb writes beside an executed notebook
    (it keeps the glued values there and strips them from the notebook's outputs)."""
    if not path.is_file():
        return {}
    values = {}
    for name, out in json.loads(path.read_text(encoding="utf-8")).items():
        n = len(out.get("metadata", {}).get("scrapbook", {}).get("mime_prefix", ""))
        values[name] = {(k[n:] if k.startswith(GLUE_PREFIX) else k): v for k, v in out.get("data", {}).items()}
    return values


# --- notebook -> deck ---------------------------------------------------------------------------

HEADING = re.compile(r"^\s*(#{1,6})\s")
SKIP_TAGS = {"remove-cell", "hide-cell"}
INPUT_TAGS = {"remove-input", "hide-input"}
OUTPUT_TAGS = {"remove-output", "hide-output"}


def only_glue(source: str) -> bool:
    """True for a code cell whose statements are all glue(...) calls (or loops of them): it only
    feeds numbers to the prose, so the slides, which show those numbers inline, skip it."""
    def is_glue(node) -> bool:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            return isinstance(node.value.func, ast.Name) and node.value.func.id == "glue"
        return isinstance(node, ast.For) and all(is_glue(n) for n in node.body)

    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and all(is_glue(n) for n in body)


def prepare(nb, base: Path, bib: Bibliography, glue_json: dict | None = None):
    """The slide version of an executed notebook (a copy; NB is untouched). `glue_json`: glued
    values myst-nb stored beside the executed notebook (see glue_json_values)."""
    nb = copy.deepcopy(nb)
    glue = {**(glue_json or {}), **glue_values(nb)}
    equations = equation_numbers(nb)
    labels = reference_texts(nb)
    for cell in nb.cells:
        slideshow = cell.metadata.setdefault("slideshow", {})
        tags = set(cell.metadata.get("tags", []))
        if tags & SKIP_TAGS or (cell.cell_type == "code" and only_glue(cell.source)):
            slideshow["slide_type"] = "skip"      # a cell that only glues numbers for the prose
        if cell.cell_type == "markdown":
            cell.source = myst_to_markdown(cell.source, base, glue, bib, equations, labels)
            heading = HEADING.match(cell.source)
            if "slide_type" not in slideshow and heading:
                slideshow["slide_type"] = "slide" if len(heading[1]) <= 2 else "subslide"
        elif cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    continue
                data = out.get("data", {})
                if data and all(k.startswith(GLUE_PREFIX) for k in data):
                    continue  # glue(..., display=False): shown in the prose, not as an output
                outputs.append(out)
            cell.outputs = outputs
        if not slideshow:
            del cell.metadata["slideshow"]
    first = next((c for c in nb.cells if c.metadata.get("slideshow", {}).get("slide_type") != "skip"), None)
    if first is not None and first.metadata.get("slideshow", {}).get("slide_type") in (None, "-", "fragment", "notes"):
        first.metadata.setdefault("slideshow", {})["slide_type"] = "slide"
    return nb


def exporter() -> SlidesExporter:
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell"}
    c.TagRemovePreprocessor.remove_input_tags = INPUT_TAGS
    c.TagRemovePreprocessor.remove_all_outputs_tags = OUTPUT_TAGS
    ex = SlidesExporter(
        config=c,
        template_name="dit_reveal",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        reveal_url_prefix=f"{VENDOR}/reveal.js",
        reveal_theme="white",
        reveal_transition="none",
        reveal_scroll=True,
        reveal_number="c/t",
        reveal_width="1280",
        reveal_height="800",
        mathjax_url=f"{VENDOR}/mathjax2/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
        require_js_url=f"{VENDOR}/requirejs/require.js",
        jquery_url=f"{VENDOR}/jquery/jquery.min.js",
        widget_renderer_url=f"{VENDOR}/html-manager/embed-amd.js",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    return ex


def executed_copy(name: str, build: Path) -> Path | None:
    return build / "jupyter_execute" / f"{name}.ipynb"


def execute(path: Path):
    from nbclient import NotebookClient

    os.environ.setdefault("PLOTLY_RENDERER", "notebook_connected")  # as the site build: offline-safe HTML
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as cwd:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html", help="the built site (default _build/html)")
    parser.add_argument("--execute", action="store_true", help="execute every notebook instead of reusing the build's")
    args = parser.parse_args(argv)
    site, build = args.site.resolve(), args.site.resolve().parent
    if not (site / "_static" / "vendor" / "reveal.js" / "dist" / "reveal.js").is_file():
        if (ROOT / "book" / "_static" / "vendor" / "reveal.js").is_dir():
            # no site build yet (make slides alone): bring the vendored assets along
            shutil.copytree(ROOT / "book" / "_static", site / "_static", dirs_exist_ok=True)
        else:
            sys.exit("make_slides: no vendored reveal.js; run `make vendor` first")
    out_dir = site / "slides"
    if out_dir.exists():
        shutil.rmtree(out_dir)  # decks of removed chapters go too
    out_dir.mkdir(parents=True)
    bib = Bibliography(ROOT / "book" / "references.bib")
    ex = exporter()
    decks = []
    for name in toc_files(ROOT):
        source = ROOT / f"{name}.ipynb"
        if not source.is_file():
            continue
        start = time.perf_counter()
        done = executed_copy(name, build)
        if not args.execute and done.is_file() and done.stat().st_mtime >= source.stat().st_mtime:
            nb, origin = nbformat.read(done, as_version=4), "the site build's execution"
        else:
            nb, origin = execute(source), "a fresh execution"
        deck = prepare(nb, source.parent, bib, glue_json_values(done.with_suffix(".glue.json")))
        page = "../" + name + ".html"
        body, _ = ex.from_notebook_node(deck, resources={"metadata": {"name": source.stem}, "dit": {"page": page}})
        body = localise_plotly(body, f"{VENDOR}/plotly/plotly.min.js")
        target = out_dir / f"{source.stem}.slides.html"
        if target.exists():
            sys.exit(f"make_slides: two notebooks are named {source.stem}; deck names must be unique")
        target.write_text(body, encoding="utf-8")
        decks.append(target)
        if MISSING_GLUE:
            sys.exit(f"make_slides: {source.name} glues no value for {sorted(MISSING_GLUE)}; the deck would "
                     f"show those names instead of numbers (is each name glued in the notebook?)")
        print(f"make_slides: {target.relative_to(build.parent) if target.is_relative_to(build.parent) else target}"
              f" from {origin} ({time.perf_counter() - start:.1f} s)")
    if not decks:
        print("make_slides: no notebooks in _toc.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())

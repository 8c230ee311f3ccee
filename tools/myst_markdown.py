"""MyST -> plain Markdown, for readers that do not know MyST (the one converter of the book).

Used by ``tools/make_slides.py`` (reveal.js lecture decks) and ``tools/make_reader.py`` (reader
notebooks for Colab and plain Jupyter); tested in ``tests/test_myst_markdown.py``. Both convert a
notebook the same way: ``executed_glue`` collects the values its execution glued, and
``notebook_converter`` numbers its equations and names its labels once, then converts each markdown cell.

* ``{glue:text}`name``` / ``{glue:}`name``` / ``{glue}`name``` become the value glued in the
  executed notebook (``glue_values``, ``glue_json_values``); a name glued nowhere is recorded in
  ``MISSING_GLUE`` so that the caller can fail loudly;
* ``{cite:p}`key``` becomes "(Author Year)", ``{cite:t}`key``` "Author (Year)" (``Bibliography``,
  from ``book/references.bib``);
* ``{eq}`label``` the equation's number "(n)" (``equation_numbers``; ``$$ ... $$ (label)`` gets a
  ``\\tag{n}``), roles with an explicit title (``{chapter}`Title <04>```) their title, other
  cross-references their label text or what the caller's ``labels`` / ``doc_title`` say;
* directives (colon or backtick fences, nested or not): admonitions become a block quote with a
  bold title, ``{math}`` a ``$$`` block, ``{literalinclude}`` the code it includes, and
  ``{exercise}`` / ``{solution}`` are dropped unless the caller passes ``handlers`` for them;
  ``(label)=`` targets, ``%`` comments and ``+++`` block breaks go.
"""

from __future__ import annotations

import ast
import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import yaml

ADMONITIONS = {
    "note",
    "warning",
    "tip",
    "important",
    "caution",
    "attention",
    "danger",
    "error",
    "hint",
    "seealso",
    "admonition",
    "margin",
    "sidebar",
    "topic",
    "dropdown",
    "card",
}
DROPPED = {"exercise", "solution", "toctree", "bibliography", "nb-exec-table", "tableofcontents", "glossary"}
GLUE_PREFIX = "application/papermill.record/"
CHAPTER_NAME = re.compile(r"(?:^|/)(\d+)_[^/]+$")

# a directive's own renderer: (argument, options, converted body) -> Markdown
Handler = Callable[[str, dict, str], str]


def chapter_number(name: str) -> int | None:
    """The NN of ``notebooks/NN_name`` (or ``NN_name``), else None."""
    match = CHAPTER_NAME.search(name)
    return int(match[1]) if match else None


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


# --- glued values -------------------------------------------------------------------------------


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


def executed_glue(executed, done: Path) -> dict[str, dict]:
    """name -> mime bundle of every value glued in the EXECUTED notebook: those myst-nb kept in the
    ``.glue.json`` beside the site build's copy DONE (``<build>/jupyter_execute/<name>.ipynb``), and,
    over them, those still in EXECUTED's outputs."""
    return {**glue_json_values(done.with_suffix(".glue.json")), **glue_values(executed)}


MISSING_GLUE: set[str] = set()  # glue names a conversion asked for and no execution provided


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


# --- roles --------------------------------------------------------------------------------------

ROLE = re.compile(r"\{(?P<name>[\w:.-]*)\}`(?P<text>[^`]*)`")
EQ_LABEL = re.compile(r"\$\$[ \t]*\((?P<label>[\w:.-]+)\)[ \t]*$", flags=re.MULTILINE)


def equation_numbers(nb, chapter: int | None = None) -> dict[str, int | str]:
    """label -> number of the labelled display equations, in order: 1, 2, ... or, for a chapter,
    "10.1", "10.2", ... (as the site numbers them, book/_ext/equation_numbers.py)."""
    labels = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            labels += [m["label"] for m in EQ_LABEL.finditer(cell.source)]
            labels += re.findall(r"^\s*```\{math\}.*?^\s*:label:\s*(\S+)", cell.source, flags=re.MULTILINE | re.DOTALL)
    return {label: (i if chapter is None else f"{chapter}.{i}") for i, label in enumerate(dict.fromkeys(labels), start=1)}


def convert_roles(
    text: str,
    glue: dict,
    bib: Bibliography,
    equations: dict | None = None,
    labels: dict | None = None,
    doc_title: Callable[[str], str | None] | None = None,
) -> str:
    """`labels`: label -> text of a {ref}/{numref}; `doc_title`: {doc} target -> the page's title
    (None: "chapter N" for a chapter, else the file name in italics)."""
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
            title = doc_title(content.strip()) if doc_title else None
            if title:
                return title
            chapter = re.search(r"(?:^|/)(\d\d)_[\w-]+$", content.strip())
            return f"chapter {int(chapter[1])}" if chapter else f"*{Path(content.strip()).name}*"
        return f"*{content}*" if name in ("doc", "ref", "numref", "chapter", "term") else content

    return ROLE.sub(one, text)


# --- directives ---------------------------------------------------------------------------------

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
                text = "\n".join(lines[start - 1 : node.end_lineno])
                break
    return f"```{options.get('language', 'python')}\n{text.rstrip()}\n```"


def directive_options(body: list[str]) -> tuple[dict, list[str]]:
    """The `:key: value` lines (or a `---` YAML block) that open a directive's body, and the rest."""
    options = {}
    while body and re.match(r"^\s*:[\w-]+:", body[0]):
        key, _, value = body.pop(0).strip()[1:].partition(":")
        options[key] = value.strip()
    if body and body[0].strip() == "---":  # YAML options block
        end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), None)
        if end is not None:
            options.update(yaml.safe_load("\n".join(body[1:end])) or {})
            body = body[end + 1 :]
    return options, body


def convert_directives(text: str, base: Path, glue: dict, handlers: dict[str, Handler] | None = None) -> str:
    """Rewrite MyST directives (colon or backtick fences, nested or not) into Markdown. `handlers`:
    directive name -> its own renderer, consulted first (e.g. the reader's exercises)."""
    handlers = handlers or {}
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
        options, body = directive_options(lines[i + 1 : j])
        inner = convert_directives("\n".join(body), base, glue, handlers)
        i = j + 1
        if name in handlers:
            out.append(handlers[name](arg, options, inner))
        elif name in DROPPED:
            continue
        elif name in ADMONITIONS or name.startswith("admonition"):
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


def myst_to_markdown(
    text: str,
    base: Path,
    glue: dict,
    bib: Bibliography,
    equations: dict | None = None,
    labels: dict | None = None,
    handlers: dict[str, Handler] | None = None,
    doc_title: Callable[[str], str | None] | None = None,
) -> str:
    """One markdown cell's MyST as plain Markdown (`base`: the notebook's folder, for includes)."""
    equations = equations or {}
    # $$ ... $$ (label): the page's equation number, as a \tag
    text = EQ_LABEL.sub(lambda m: f"\\tag{{{equations[m['label']]}}}$$" if m["label"] in equations else "$$", text)
    text = convert_directives(text, base, glue, handlers)
    text = "\n".join(
        line
        for line in text.splitlines()
        if not re.match(r"^\s*\([\w:.-]+\)=\s*$", line)  # (label)= targets
        and not re.match(r"^%", line)  # MyST comments
        and line.strip() != "+++"  # block breaks
    )
    return convert_roles(text, glue, bib, equations, labels, doc_title)


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


def notebook_converter(
    nb,
    base: Path,
    glue: dict,
    bib: Bibliography,
    chapter: int | None = None,
    labels: dict | None = None,
    handlers: dict[str, Handler] | None = None,
    doc_title: Callable[[str], str | None] | None = None,
) -> Callable[[str], str]:
    """``myst_to_markdown`` for the markdown cells of notebook NB, with what all of them share worked out
    once: its equations numbered as the site numbers them (``equation_numbers``; `chapter`: "(10.3)")
    and what a {ref} to one of its exercises or sections shows (``reference_texts``, then `labels`).
    `glue`: name -> mime bundle of the glued values (``executed_glue``); `base`: the notebook's folder."""
    equations = equation_numbers(nb, chapter)
    labels = {**reference_texts(nb), **(labels or {})}

    def convert(text: str) -> str:
        return myst_to_markdown(text, base, glue, bib, equations, labels, handlers, doc_title)

    return convert

"""The documentation's executable examples: finding them, running them, drawing their graphs.

Every fenced ``python`` block of a page is an example that ``tests/test_docs.py`` runs; the
blocks of one page run in order, in one namespace. An HTML comment on the line before a block
says how to treat it:

* ``<!-- skip: REASON -->`` never runs the block (the test reports REASON);
* ``<!-- requires: torch, scipy -->`` runs it only where those modules import (``cuda``: only
  where a GPU allocates; ``dot``: where Graphviz is installed); a block that imports one of
  ``OPTIONAL`` needs no comment;
* ``<!-- draw -->`` makes the docs build run the page's blocks up to this one and show the
  graph the block's last expression evaluates to (an ``anygrad.graph(...)`` drawing) under
  it: an SVG picture where Graphviz's ``dot`` is installed, the DOT source otherwise.

MkDocs loads this file as a hook (``hooks:`` in ``mkdocs.yml``); ``on_page_markdown`` adds the
drawings.
"""

from __future__ import annotations

import ast
import contextlib
import html
import importlib.util
import inspect
import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: Optional dependencies: a block importing one of them runs only where it is installed.
OPTIONAL = ("cupy", "torch", "jax", "dask", "sklearn", "scipy", "graphviz", "matplotlib",
            "array_api_strict", "array_api_extra", "numexpr")

_FENCE = re.compile(r"^(?P<indent>[ ]*)(?P<fence>```+|~~~+)[ ]*(?P<info>[^\n]*)$")
_MARK = re.compile(r"^\s*<!--\s*(skip|requires|draw)\s*:?\s*(.*?)\s*-->\s*$")
_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


@dataclass
class Block:
    """One fenced Python block of a page.

    Attributes:
        line: The 1-based line number of its opening fence.
        end: The 1-based line number of its closing fence.
        code: Its source, dedented to the fence's indentation.
        skip: Why it never runs (``<!-- skip: ... -->``), or None.
        requires: The modules it needs (marked, or imported from ``OPTIONAL``).
        draw: Whether the docs build shows the graph it evaluates to.
    """

    line: int
    end: int
    code: str
    skip: str | None = None
    requires: list[str] = field(default_factory=list)
    draw: bool = False

    def missing(self) -> str | None:
        """Say why this block cannot run here, or return None when it can.

        Returns:
            The ``skip`` reason, the first required module that does not import, or None.
        """
        if self.skip is not None:
            return self.skip
        for name in self.requires:
            if name == "cuda":
                if not _cuda():
                    return "needs a GPU (CuPy with a CUDA device)"
            elif name == "dot":
                if shutil.which("dot") is None:
                    return "needs Graphviz's dot program"
            elif importlib.util.find_spec(name) is None:
                return f"needs {name}"
        return None


def _cuda() -> bool:
    import anygrad

    return anygrad.cuda_is_available()


def python_blocks(text: str) -> list[Block]:
    """Find the fenced Python blocks of a Markdown text, with the marks before each.

    Args:
        text: The Markdown source of a page.

    Returns:
        The ``python`` blocks (info string ``python`` or ``py``), in order.

    Raises:
        ValueError: When a fence is not closed or a mark comment is malformed.
    """
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        lang = m["info"].split()[0].lower() if m["info"].split() else ""
        j = i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence)
                                      and lines[j].strip().strip(fence[0]) == ""):
            j += 1
        if j == len(lines):
            raise ValueError(f"line {i + 1}: the code block is not closed")
        if lang in ("python", "py"):
            code = "\n".join(line[indent:] for line in lines[i + 1:j]) + "\n"
            block = Block(line=i + 1, end=j + 1, code=code)
            k = i - 1
            while k >= 0 and (mark := _MARK.match(lines[k])):
                kind, arg = mark.groups()
                if kind == "skip":
                    if not arg:
                        raise ValueError(f"line {k + 1}: a skip needs a reason")
                    block.skip = arg
                elif kind == "requires":
                    block.requires += [n.strip() for n in arg.split(",") if n.strip()]
                else:
                    block.draw = True
                k -= 1
            block.requires += [n for n in _IMPORT.findall(code)
                               if n in OPTIONAL and n not in block.requires]
            blocks.append(block)
        i = j + 1
    return blocks


@contextlib.contextmanager
def scratch_directory() -> Iterator[str]:
    """Run a block of code in a fresh, empty working directory (examples write files).

    Yields:
        The directory's path; the previous working directory is restored on exit.
    """
    before = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="anygrad-docs-") as where:
        os.chdir(where)
        try:
            yield where
        finally:
            os.chdir(before)


def run_block(block: Block, namespace: dict[str, Any], where: str = "<docs>") -> Any:
    """Run one block in ``namespace``.

    Args:
        block: The block to run.
        namespace: The page's globals, shared by its blocks.
        where: A file name for tracebacks (the page's path).

    Returns:
        The value of the block's last statement when it is an expression, else None.
    """
    tree = ast.parse(block.code, filename=where)
    ast.increment_lineno(tree, block.line)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, where, "exec"), namespace)
    return None if last is None else eval(compile(last, where, "eval"), namespace)


def run_page(path: str, where: str | None = None) -> list[dict[str, str]]:
    """Run every Python block of a Markdown file in order, in one namespace, and report each.

    Meant for a fresh interpreter (``python docs/hooks.py PAGE``), so that no page sees what
    another imported, registered or set. The blocks run in a scratch directory, with
    ``anygrad.random.seed(0)``; their printed output is discarded.

    Args:
        path: The Markdown file.
        where: The name used in tracebacks and reports (default: ``path``).

    Returns:
        One dict per block: ``{"line": ..., "status": "ok" | "skip" | "fail" | "after",
        "detail": ...}``; ``skip`` gives the reason (a block that needs a name an earlier,
        skipped block defines is skipped too), ``fail`` the traceback, ``after`` (not run)
        the earlier block that failed.
    """
    import traceback
    import warnings

    where = where or path
    with open(path, encoding="utf-8") as f:
        blocks = python_blocks(f.read())
    results: list[dict[str, str]] = []
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    failed: str | None = None
    import anygrad

    anygrad.random.seed(0)
    with scratch_directory(), contextlib.redirect_stdout(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's nan warnings in examples
        skipped: str | None = None  # why an earlier block was skipped (a missing module)
        for block in blocks:
            why = block.missing()
            if why is not None:
                if block.skip is None:  # (a module this machine lacks, not a sketch)
                    skipped = why
                results.append({"line": str(block.line), "status": "skip", "detail": why})
            elif failed is not None:
                results.append({"line": str(block.line), "status": "after", "detail": failed})
            else:
                try:
                    run_block(block, namespace, where)
                except NameError as exc:
                    if skipped is None:
                        failed = f"{where}:{block.line}"
                        results.append({"line": str(block.line), "status": "fail",
                                        "detail": traceback.format_exc()})
                    else:  # it builds on a block that could not run here
                        results.append({"line": str(block.line), "status": "skip",
                                        "detail": f"{exc} (defined by an earlier block, "
                                                  f"skipped: {skipped})"})
                except Exception:
                    failed = f"{where}:{block.line}"
                    results.append({"line": str(block.line), "status": "fail",
                                    "detail": traceback.format_exc()})
                else:
                    results.append({"line": str(block.line), "status": "ok", "detail": ""})
    return results


def picture(drawn: Any) -> str:
    """The Markdown that shows a drawing: inline SVG from ``dot``, or its DOT source.

    Args:
        drawn: An ``anygrad.drawing.Graph`` (anything with a ``source`` holding DOT text).

    Returns:
        An HTML ``<div>`` holding the SVG picture where Graphviz's ``dot`` is installed,
        else a fenced ``dot`` block with the source.

    Raises:
        TypeError: When ``drawn`` is not a drawing.
    """
    source = getattr(drawn, "source", None)
    if not isinstance(source, str):
        raise TypeError(f"a <!-- draw --> block must end with a graph, not {type(drawn)}")
    dot = shutil.which("dot")
    if dot is None:  # a folded box holding the source
        body = "\n".join("    " + line for line in ["```dot", *source.rstrip("\n").split("\n"),
                                                     "```"])
        return ('??? note "The DOT source of this drawing (Graphviz was not installed where '
                'this page was built)"\n\n' + body + "\n")
    svg = subprocess.run([dot, "-Tsvg"], input=source.encode(), capture_output=True,
                         check=True).stdout.decode()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.DOTALL)  # keep Markdown off the text
    label = html.escape("a graph drawn by anygrad.graph")
    return f'<div class="anygrad-graph" role="img" aria-label="{label}">\n{svg}</div>\n'


def draw_page(markdown: str, where: str = "<docs>") -> str:
    """Insert, after each ``<!-- draw -->`` block, the picture of the graph it evaluates to.

    The page's runnable blocks run in order in one namespace, in a scratch directory.

    Args:
        markdown: The page's Markdown source.
        where: The page's path, for error messages.

    Returns:
        The Markdown with the pictures inserted (unchanged when nothing is marked).

    Raises:
        RuntimeError: When a marked block cannot run here, or a block before it fails.
    """
    blocks = python_blocks(markdown)
    if not any(b.draw for b in blocks):
        return markdown
    lines = markdown.split("\n")
    inserts: list[tuple[int, str]] = []
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    with scratch_directory(), contextlib.redirect_stdout(io.StringIO()):
        for block in blocks:
            why = block.missing()
            if why is not None:
                if block.draw:
                    raise RuntimeError(f"{where}:{block.line}: a drawn block cannot run: {why}")
                continue
            try:
                value = run_block(block, namespace, where)
            except Exception as exc:
                raise RuntimeError(f"{where}:{block.line}: the example raised {exc!r}") from exc
            if block.draw:
                inserts.append((block.end, picture(value)))
    for end, text in reversed(inserts):
        lines[end:end] = ["", text]
    return "\n".join(lines)


#: The op families of ``anygrad``'s namespace, in the order the reference lists them.
_FAMILIES = (
    ("creation", "Creating tensors"),
    ("numpy_names", "NumPy's and MyGrad's names"),
    ("elementwise", "Elementwise functions"),
    ("reductions", "Reductions"),
    ("shape", "Shape and layout"),
    ("indexing", "Indexing"),
    ("sorting", "Sorting, searching and sets"),
    ("linalg", "Products"),
    ("einsum", "einsum"),
    ("data_types", "Data-type functions"),
    ("transfer", "Devices"),
    ("api", "The rest of the Array API"),
)
_REFERENCE = re.compile(r"^<!-- reference: ([A-Za-z_.]+) -->$", re.MULTILINE)


def _family(name: str, obj: Any) -> str:
    """The section of ``anygrad``'s reference that lists ``obj``."""
    import importlib

    where = getattr(obj, "__module__", "") or ""
    if where == "anygrad.autograd.function" or where.startswith("anygrad.ops"):
        for family, title in _FAMILIES:
            if getattr(importlib.import_module(f"anygrad.ops.{family}"), name, None) is obj:
                return title
        return "Other functions"
    if where == "anygrad._tensor":
        return "Tensor"
    if where in ("anygrad.modes", "anygrad.lazy"):
        return "Modes: gradients, devices, lazy"
    if where.startswith("anygrad.backends") or name == "device":
        return "Devices"
    if where == "anygrad.errors":
        return "Errors"
    return "Drawing, checkpoints, anomalies"


def _signature(name: str, obj: Any) -> str:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        text = "(...)"
    return f"{name}{text}".replace("'", "")


def _markdown_docstring(doc: str | None) -> list[str]:
    """A Google-style docstring as Markdown: its text, then its sections as tables."""
    import griffe

    if not doc:
        return ["*No docstring.*", ""]
    out: list[str] = []
    for section in griffe.Docstring(inspect.cleandoc(doc), parser="google").parse(
            warnings=False):
        kind = section.kind.value
        if kind == "text":
            out += [section.value, ""]
        elif kind in ("parameters", "other parameters", "raises", "returns", "yields",
                      "attributes"):
            head = {"parameters": "Parameters", "other parameters": "Other parameters",
                    "raises": "Raises", "returns": "Returns", "yields": "Yields",
                    "attributes": "Attributes"}[kind]
            out += [f"**{head}:**", "", "| | |", "| --- | --- |"]
            for item in section.value:
                label = getattr(item, "name", "") or str(getattr(item, "annotation", "") or "")
                text = " ".join(str(item.description).split()).replace("|", "\\|")
                out.append(f"| `{label}` | {text} |" if label else f"| | {text} |")
            out.append("")
        elif kind == "admonition":
            out += [f"**{section.title}:** " + " ".join(str(section.value.description).split()),
                    ""]
        else:
            out += [str(getattr(section, "value", "")), ""]
    return out


def namespace_reference(module_name: str) -> str:
    """The API reference of a namespace whose functions are made at run time.

    Every name in ``module.__all__`` is listed with its signature and docstring (read from
    the imported objects, since the ops are built when anygrad is imported); for
    ``anygrad`` itself, one section per op family, modules linked, dtypes and constants in a
    table.

    Args:
        module_name: ``anygrad`` or one of its modules (``anygrad.linalg``).

    Returns:
        The reference as Markdown.
    """
    import importlib

    module = importlib.import_module(module_name)
    top = module_name == "anygrad"
    sections: dict[str, list[str]] = {}
    values: list[str] = []
    for name in dict.fromkeys(module.__all__):
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            continue
        if not callable(obj):
            values.append(name)
            continue
        sections.setdefault(_family(name, obj) if top else "", []).append(name)
    order = ["", "Tensor", *[t for _, t in _FAMILIES], "Modes: gradients, devices, lazy",
             "Devices", "Drawing, checkpoints, anomalies", "Errors", "Other functions"]
    out: list[str] = []
    for title in sorted(sections, key=order.index):
        if title:
            out += [f"## {title}", ""]
        for name in sections[title]:
            obj = getattr(module, name)
            kind = "class" if inspect.isclass(obj) else "function"
            out += [f"### `{module_name}.{name}` {{ #{module_name}.{name} }}", "",
                    f"<small>{kind}</small>", "", "```python", _signature(name, obj), "```", ""]
            out += _markdown_docstring(obj.__doc__)
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not (callable(member) or isinstance(
                            member, (property, staticmethod, classmethod))):
                        continue
                    func = member.fget if isinstance(member, property) else member
                    func = getattr(func, "__func__", func)
                    out += [f"#### `{name}.{attr}` {{ #{module_name}.{name}.{attr} }}", ""]
                    if not isinstance(member, property):
                        out += ["```python", _signature(attr, func), "```", ""]
                    out += _markdown_docstring(getattr(func, "__doc__", None))
    if values:
        out += ["## Data types and constants", "", "| name | value |", "| --- | --- |"]
        out += [f"| `{module_name}.{name}` | `{getattr(module, name)!r}` |" for name in values]
    return "\n".join(out) + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs hook: draw the graphs of the page's ``<!-- draw -->`` blocks.

    ``<!-- reference: MODULE -->`` on a line of its own becomes the reference of every name
    in ``MODULE.__all__`` (``namespace_reference()``).

    Args:
        markdown: The page's Markdown source.
        page: The MkDocs page.
        config: The MkDocs configuration (unused).
        files: The site's files (unused).

    Returns:
        The Markdown with the drawings inserted.
    """
    markdown = _REFERENCE.sub(lambda m: namespace_reference(m.group(1)), markdown)
    return draw_page(markdown, page.file.src_uri)


if __name__ == "__main__":  # python docs/hooks.py PAGE [NAME]: run a page, print JSON
    import json
    import sys

    print(json.dumps(run_page(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)))

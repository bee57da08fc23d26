"""Drawing a tensor's graph (Graphviz DOT), with labels and named groups, as simplegrad does.

``graph(t)`` walks the graph that computed ``t`` (deferred tensors too, without computing
them) and returns its DOT source; ``graph(t, "out.svg")`` also renders it with Graphviz's
``dot``. Tensors show their ``label``, shape and dtype; every call of a function decorated with
``compound_op`` (or every ``with graph_group(name):`` block) is drawn as one labelled box.

A group costs nothing while ops run: it remembers the range of sequence numbers the ops it
saw were given (every recorded tensor gets the next one), and drawing looks tensors up in it.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import shutil
import subprocess
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from ._tensor import Tensor
from .autograd.function import _sequence

_groups: deque[tuple[int, int, str, int]] = deque(maxlen=1 << 16)  # (first, last, name, id)
_ids = itertools.count(1)


@contextlib.contextmanager
def graph_group(name: str) -> Iterator[None]:
    """Draw the tensors the block computes as one box labelled ``name`` (boxes nest)."""
    first, gid = next(_sequence), next(_ids)
    try:
        yield
    finally:
        _groups.append((first, next(_sequence), name, gid))


def compound_op(func: Callable) -> Callable:
    """Decorate a function built of anygrad ops: each call is drawn as one box labelled with
    its name (a ``graph_group`` around the call, at the cost of three counter reads)."""
    name = func.__name__

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        first, gid = next(_sequence), next(_ids)
        try:
            return func(*args, **kwargs)
        finally:
            _groups.append((first, next(_sequence), name, gid))
    return wrapper


def group_of(t: Tensor) -> tuple[str, int] | None:
    """``(name, id)`` of the innermost group that computed ``t``; None outside any."""
    return _innermost(getattr(t, "_seq", None), list(_groups))


def _nest(clusters: dict[int, list[str]], groups: list) -> list[str]:
    """DOT subgraphs for the groups that hold tensors, each inside the groups around it."""
    spans = {gid: (first, last, name) for first, last, name, gid in groups}
    parent: dict[int, int | None] = {}
    for gid in clusters:  # each drawn group, and every group around it, to the outermost
        while gid not in parent:
            first, last, _ = spans[gid]
            around = [(b - a, g) for a, b, _, g in groups if a < first and last < b]
            parent[gid] = min(around)[1] if around else None
            gid = parent[gid] if parent[gid] is not None else gid
    children: dict[int | None, list[int]] = {}
    for gid in sorted(parent):
        children.setdefault(parent[gid], []).append(gid)
    out: list[str] = []
    todo: list = [(g, 1) for g in reversed(children.get(None, []))]
    while todo:  # depth first, without recursion; a None entry closes a subgraph
        gid, depth = todo.pop()
        pad = "  " * depth
        if gid is None:
            out.append(pad + "}")
            continue
        out.append(f"{pad}subgraph cluster_{gid} {{ label={_quote(spans[gid][2])}; "
                   f"style=rounded;")
        out += ["  " * depth + line for line in clusters.get(gid, [])]
        todo.append((None, depth))
        todo += [(g, depth + 1) for g in reversed(children.get(gid, []))]
    return out


def _innermost(seq: int | None, groups: list) -> tuple[str, int] | None:
    best = None
    if seq is not None:
        for first, last, name, gid in groups:
            if first < seq < last and (best is None or last - first < best[0]):
                best = (last - first, name, gid)
    return None if best is None else best[1:]


class Graph:
    """A drawn graph: ``source`` is its DOT text; ``render`` writes an image with ``dot``."""

    def __init__(self, source: str):
        self.source = source

    def __str__(self) -> str:
        return self.source

    def render(self, path: str, format: str | None = None) -> str:
        """Write the graph to ``path`` (``.dot``: the source; else an image of the format its
        suffix names, or ``format``) and return the path."""
        fmt = format or os.path.splitext(path)[1].lstrip(".") or "svg"
        if fmt in ("dot", "gv"):
            with open(path, "w") as f:
                f.write(self.source)
            return path
        with open(path, "wb") as f:
            f.write(_dot(self.source, fmt))
        return path

    def _repr_svg_(self) -> str | None:  # Jupyter shows the picture where Graphviz is installed
        return _dot(self.source, "svg").decode() if shutil.which("dot") else None


def _dot(source: str, fmt: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("drawing needs Graphviz's `dot` program (apt install graphviz, brew "
                           "install graphviz, conda install graphviz); Graph.source has the DOT "
                           "text, and render('graph.dot') writes it")
    return subprocess.run([exe, f"-T{fmt}"], input=source.encode(), capture_output=True,
                          check=True).stdout


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _describe(x: Any) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{getattr(x.dtype, 'name', x.dtype)} {list(x.shape)}"
    return repr(x)


def _inputs(t: Any) -> list[tuple[Any, bool]]:
    """What ``t`` (a tensor, or the node of a deferred result nobody holds) was computed from:
    ``(item, True)`` for each input in the graph, ``(value, False)`` for constants."""
    from .lazy.graph import LazyTensor, Node
    if type(t) is Node or type(t) is LazyTensor:  # deferred: the node holds what it reads
        args: Any = []
        for x in (t if type(t) is Node else t._args).inputs:
            if type(x) is Node:
                held = x.ref()
                x = held if held is not None else x if x.value is None else x.value
            args.append(x)
    elif t._op is not None:
        args = t._args or ()  # None once backward() has freed the graph
    else:
        return []
    parents = t._parents if type(t) is not Node and t._op is not None else None
    out: list[tuple[Any, bool]] = []
    for i in range(len(parents) if parents is not None else len(args)):
        p = parents[i] if parents is not None else None
        if p is not None:
            out.append((p, True))
        elif i < len(args):
            out.append((args[i], isinstance(args[i], Tensor) or type(args[i]) is Node))
    return out


def graph(t: Tensor, path: str | None = None) -> Graph:
    """The graph that computed ``t``, as DOT; rendered to ``path`` too when given (the format
    from its suffix: ``.svg``, ``.png``, ``.pdf``, or ``.dot`` for the source alone).

    Leaves are salmon, computed tensors steel blue (dashed while deferred), ops gold, and
    constants grey; each ``compound_op`` call or ``graph_group`` block is a labelled box.
    Drawing computes nothing.
    """
    from .lazy.graph import LazyTensor, Node
    if not isinstance(t, Tensor):
        raise TypeError(f"graph() takes a Tensor, not {type(t).__name__} {t!r:.60}")
    reached: dict[int, tuple[Any, list]] = {}  # id -> (tensor or dropped node, its inputs)
    stack: list[Any] = [t]
    while stack:  # every tensor (and dropped deferred node) the graph reaches, no recursion
        x = stack.pop()
        if id(x) not in reached:
            reached[id(x)] = x, _inputs(x)
            stack.extend(p for p, in_graph in reached[id(x)][1] if in_graph)
    seqs = [x.seq if type(x) is Node else x._seq for x, _ in reached.values()
            if type(x) in (Node, LazyTensor) or x._op is not None]
    groups = [g for g in _groups if seqs and g[0] < max(seqs) and g[1] > min(seqs)]
    font = 'fontname="monospace", fontsize=10'
    lines = ["digraph anygrad {", f"  rankdir=LR; graph [{font}]; node [{font}];"]
    clusters: dict[int, list[str]] = {}  # group id -> the DOT lines of its tensors
    edges = []
    for x, inputs in reached.values():
        name = f"t{id(x)}"
        node = x if type(x) is Node else x._args if type(x) is LazyTensor else None
        computed = node is not None or x._op is not None
        label = getattr(x, "label", None)
        text = (f"{label}\n" if label else "") + _describe(x)
        style = "rounded,filled" + (",dashed" if node is not None else "")
        color = "lightsteelblue" if computed else "lightsalmon"
        nodes = [f"  {name} [shape=box, style={_quote(style)}, fillcolor={color}, "
                 f"label={_quote(text)}];"]
        if computed:
            op = (node.op if node is not None else x._op).name
            nodes.append(f"  {name}_op [shape=box, style=\"rounded,filled\", "
                         f"fillcolor=lightgoldenrodyellow, label={_quote(op)}];")
            edges.append(f"  {name}_op -> {name};")
            for k, (inp, in_graph) in enumerate(inputs):
                if in_graph:
                    edges.append(f"  t{id(inp)} -> {name}_op;")
                else:
                    nodes.append(f"  {name}_c{k} [shape=box, style=filled, fillcolor=gray90, "
                                 f"fontsize=8, label={_quote(_describe(inp))}];")
                    edges.append(f"  {name}_c{k} -> {name}_op;")
        group = _innermost(node.seq if node is not None else x._seq, groups) if computed else None
        if group is None:
            lines += nodes
        else:
            clusters.setdefault(group[1], []).extend(nodes)
    lines += _nest(clusters, groups)
    lines += edges
    lines.append("}")
    drawn = Graph("\n".join(lines) + "\n")
    if path is not None:
        drawn.render(path)
    return drawn

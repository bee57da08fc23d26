"""Drawing a tensor's graph (Graphviz DOT), with labels and named groups, as simplegrad does.

``graph(t)`` walks the graph that computed ``t`` (deferred tensors too, without computing
them) and returns its DOT source; ``graph(t, "out.svg")`` also renders it with Graphviz's
``dot``. Tensors show their ``label``, shape and dtype; every call of a function decorated with
``compound_op`` (or every ``with graph_group(name):`` block) is drawn as one labelled box,
named after the function, around the ops it ran and the leaves it created. Ops are drawn by
their public names; in-place writes, views and deferred tensors by what the user wrote
(``setitem``, ``in-place``, ``getitem``, ``deferred load_batch``).

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
    name = _callable_name(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        first, gid = next(_sequence), next(_ids)
        try:
            return func(*args, **kwargs)
        finally:
            _groups.append((first, next(_sequence), name, gid))
    return wrapper


def _callable_name(func: Callable) -> str:
    """The name a user gave ``func``: its ``__name__`` (a ``functools.partial``'s function's,
    a callable object's class name)."""
    while isinstance(func, functools.partial):
        func = func.func
    return getattr(func, "__name__", None) or type(func).__name__


def _op_label(op: Any, params: dict | None) -> str:
    """What a drawing calls ``op``: its public name, or, for the internal ops of in-place
    writes, views and deferred tensors, what the user wrote."""
    name = op.name
    params = params or {}
    if name == "write":  # ``x[k] = v`` (a key, or a write through a view) or ``x += v``
        return "setitem" if params.get("key") is not None or params.get("chain") else "in-place"
    if name == "view":  # a view derived anew from its written base: the ops that made it
        return ", ".join(_op_label(o, p) for o, p in params.get("chain", ())) or "view"
    if name == "pass":
        return "in-place (no_grad)"
    if name == "deferred" and "fn" in params:  # Tensor.deferred(forward_fn, ...)
        return f"deferred {_callable_name(params['fn'])}"
    return name


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


def _seq_of(x: Any) -> int | None:
    """The sequence number that orders ``x`` (a tensor or a dropped deferred node) among
    the ops and groups: when it was computed, or for a leaf that has one, created."""
    from .lazy.graph import Node
    if type(x) is Node:
        return x.seq
    seq = getattr(x, "_seq", None)
    return seq if seq is not None and seq >= 0 else None  # (-1: a leaf's overwritten version)


def graph(t: Tensor, path: str | None = None) -> Graph:
    """The graph that computed ``t``, as DOT; rendered to ``path`` too when given (the format
    from its suffix: ``.svg``, ``.png``, ``.pdf``, or ``.dot`` for the source alone).

    Leaves are salmon, computed tensors steel blue (dashed while deferred), ops gold, and
    constants grey; each ``compound_op`` call or ``graph_group`` block is a labelled box
    holding what it computed and the leaves made inside it that carry a creation number.
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
    seqs = [s for s in map(_seq_of, (x for x, _ in reached.values())) if s is not None]
    groups = [g for g in _groups if seqs and g[0] < max(seqs) and g[1] > min(seqs)]
    font = 'fontname="monospace", fontsize=10'
    lines = ["digraph anygrad {", f"  rankdir=LR; graph [{font}]; node [{font}];"]
    clusters: dict[int, list[str]] = {}  # group id -> the DOT lines of its tensors
    edges = []
    for x, inputs in reached.values():
        name = f"t{id(x)}"
        node = x if type(x) is Node else x._args if type(x) is LazyTensor else None
        op = node.op if node is not None else x._op
        computed = op is not None
        label = getattr(x, "label", None)
        text = (f"{label}\n" if label else "") + _describe(x)
        style = "rounded,filled" + (",dashed" if node is not None else "")
        color = "lightsteelblue" if computed else "lightsalmon"
        nodes = [f"  {name} [shape=box, style={_quote(style)}, fillcolor={color}, "
                 f"label={_quote(text)}];"]
        if computed:
            text = _op_label(op, node.params if node is not None else getattr(x, "_params", None))
            nodes.append(f"  {name}_op [shape=box, style=\"rounded,filled\", "
                         f"fillcolor=lightgoldenrodyellow, label={_quote(text)}];")
            edges.append(f"  {name}_op -> {name};")
            for k, (inp, in_graph) in enumerate(inputs):
                if in_graph:
                    edges.append(f"  t{id(inp)} -> {name}_op;")
                else:
                    nodes.append(f"  {name}_c{k} [shape=box, style=filled, fillcolor=gray90, "
                                 f"fontsize=8, label={_quote(_describe(inp))}];")
                    edges.append(f"  {name}_c{k} -> {name}_op;")
        group = _innermost(_seq_of(x), groups)  # leaves too: where they were created
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

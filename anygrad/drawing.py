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
    """Draw the tensors a ``with`` block computes as one box labelled ``name``.

    Boxes nest; leaves created inside the block are drawn inside its box. The block costs
    two counter reads: drawing finds its tensors afterwards by their sequence numbers.

    Args:
        name: The box's label.

    Yields:
        Nothing; the tensors computed inside the block belong to the group.
    """
    first, gid = next(_sequence), next(_ids)
    try:
        yield
    finally:
        _groups.append((first, next(_sequence), name, gid))


def compound_op(func: Callable) -> Callable:
    """Decorate a function built of anygrad ops so that each call is drawn as one box.

    The box is labelled with the function's name (a ``functools.partial``'s function, a
    callable object's class name); it is a ``graph_group`` around the call, at the cost of
    three counter reads per call.

    Args:
        func: The function (or callable object) to wrap.

    Returns:
        A wrapper with ``func``'s name and docstring that calls it inside a group.
    """
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
    """The name a user gave ``func``.

    Its ``__name__``: a ``functools.partial``'s function's, a callable object's class name.
    """
    while isinstance(func, functools.partial):
        func = func.func
    return getattr(func, "__name__", None) or type(func).__name__


def _op_label(op: Any, params: dict | None) -> str:
    """What a drawing calls ``op``.

    Its public name, or, for the internal ops of in-place writes, views and deferred tensors,
    what the user wrote.
    """
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
    """Find the innermost ``compound_op`` call or ``graph_group`` block that computed a tensor.

    ``Tensor.group`` calls this.

    Args:
        t: A tensor.

    Returns:
        ``(name, id)`` of the group (``id`` tells two calls of one function apart), or None
        when ``t`` was computed (or, for a leaf, created) outside any group.
    """
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
    """A drawn graph, as returned by ``graph()``.

    Attributes:
        source: The graph's Graphviz DOT text.
    """

    def __init__(self, source: str):
        self.source = source

    def __str__(self) -> str:
        return self.source

    def render(self, path: str, format: str | None = None) -> str:
        """Write the graph to a file.

        Args:
            path: The file to write.
            format: The format; by default the suffix of ``path`` (``svg`` without one).
                ``dot`` or ``gv`` writes the DOT source; any other is an image format of
                Graphviz's ``dot`` (``svg``, ``png``, ``pdf``, ...).

        Returns:
            ``path``.

        Raises:
            RuntimeError: When an image is asked for and ``dot`` is not installed.
            subprocess.CalledProcessError: When ``dot`` fails (an unknown format).
        """
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
    """What ``t`` (a tensor, or the node of a deferred result nobody holds) was computed from.

    ``(item, True)`` for each input in the graph, ``(value, False)`` for constants.
    """
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
    """The sequence number that orders ``x`` (a tensor or a dropped deferred node).

    It orders tensors among the ops and groups: when ``x`` was computed, or for a leaf that
    has one, created.
    """
    from .lazy.graph import Node
    if type(x) is Node:
        return x.seq
    seq = getattr(x, "_seq", None)
    return seq if seq is not None and seq >= 0 else None  # (-1: a leaf's overwritten version)


def _outermost(seq: int | None, groups: list) -> tuple[str, int] | None:
    """``(name, id)`` of the widest group whose span holds ``seq``; None outside any."""
    best = None
    if seq is not None:
        for first, last, name, gid in groups:
            if first < seq < last and (best is None or last - first > best[0]):
                best = (last - first, name, gid)
    return None if best is None else best[1:]


def _grad_text(x: Any) -> str | None:
    """``grad <dtype> [shape] norm <2-norm>`` for a tensor that holds a gradient, else None."""
    if not isinstance(x, Tensor):
        return None
    g = x.grad
    if g is None:
        return None
    from . import linalg
    from .modes import mode, no_grad
    with no_grad(), mode("eager"):
        norm = float(linalg.vector_norm(g.detach()).item())
    return f"grad {_describe(g)}\nnorm {norm:.4g}"


def graph(t: Tensor, path: str | None = None, *, show_grads: bool = False,
          collapse: bool = False) -> Graph:
    """Draw the graph that computed a tensor, as Graphviz DOT.

    Leaves are salmon, computed tensors steel blue (dashed while deferred), ops gold, and
    constants grey; each ``compound_op`` call or ``graph_group`` block is a labelled box
    holding what it computed and the leaves made inside it that carry a creation number.
    Drawing computes nothing (``show_grads`` reads gradients that exist already).

    Args:
        t: The tensor whose graph to draw (deferred tensors are drawn without computing).
        path: Where to render the drawing too, in the format its suffix names (``.svg``,
            ``.png``, ``.pdf``; ``.dot`` or ``.gv`` for the source alone).
        show_grads: Add to each tensor that holds a gradient (``t.grad`` is not None: leaves,
            and intermediates that ``retain_grad()``) its gradient's dtype, shape and 2-norm.
            ``backward()`` frees the graph it walks: call it with ``retain_graph=True`` to
            draw more than the tensor itself afterwards.
        collapse: Draw each outermost ``compound_op`` call or ``graph_group`` block as one
            box (named after it, with the number of ops it ran) between the tensors it reads
            and the tensors it returns; what it computed inside is left out.

    Returns:
        The drawing: ``source`` holds the DOT text, ``render(path)`` writes a file.

    Raises:
        TypeError: When ``t`` is not a Tensor.
        RuntimeError: When ``path`` asks for an image and Graphviz's ``dot`` is not installed.
        subprocess.CalledProcessError: When ``dot`` fails (an unknown format).
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
    names = {key: f"t{i}" for i, key in enumerate(reached)}  # short, stable node names
    seqs = [s for s in map(_seq_of, (x for x, _ in reached.values())) if s is not None]
    groups = [g for g in _groups if seqs and g[0] < max(seqs) and g[1] > min(seqs)]
    boxed: dict[int, tuple[str, int]] = {}  # collapse: tensor id -> the group drawn as a box
    shown: set[int] = set()  # collapse: tensors of a boxed group that are drawn (its outputs)
    if collapse:
        for key, (x, _) in reached.items():
            group = _outermost(_seq_of(x), groups)
            if group is not None:
                boxed[key] = group
        shown = {key for key in boxed if reached[key][0] is t}
        for key, (_, inputs) in reached.items():
            for inp, in_graph in inputs:
                if in_graph and id(inp) in boxed and boxed.get(key) != boxed[id(inp)]:
                    shown.add(id(inp))  # read outside its group: one of the group's results
    font = 'fontname="monospace", fontsize=10'
    lines = ["digraph anygrad {", f"  rankdir=LR; graph [{font}]; node [{font}];"]
    clusters: dict[int, list[str]] = {}  # group id -> the DOT lines of its tensors
    edges = []
    box_ops: dict[int, int] = {}  # collapse: group id -> the number of ops drawn in its box
    box_edges: set[str] = set()
    box_consts: dict[tuple[str, int], str] = {}  # collapse: (box, constant) -> its node name
    for key, (x, inputs) in reached.items():
        name = names[key]
        node = x if type(x) is Node else x._args if type(x) is LazyTensor else None
        op = node.op if node is not None else x._op
        computed = op is not None
        group = boxed.get(key)
        if group is not None:  # inside a collapsed box: its inputs from outside go to the box
            box = f"g{group[1]}"
            if computed:
                box_ops[group[1]] = box_ops.get(group[1], 0) + 1
            for inp, in_graph in inputs:
                if in_graph and boxed.get(id(inp)) != group:
                    box_edges.add(f"  {names[id(inp)]} -> {box};")
                elif not in_graph and hasattr(inp, "shape"):  # an array, not a number
                    const = box_consts.setdefault((box, id(inp)), f"{box}_c{len(box_consts)}")
                    if f"  {const} -> {box};" not in box_edges:
                        lines.append(f"  {const} [shape=box, style=filled, fillcolor=gray90, "
                                     f"fontsize=8, label={_quote(_describe(inp))}];")
                    box_edges.add(f"  {const} -> {box};")
            if key not in shown:
                continue
        label = getattr(x, "label", None)
        text = (f"{label}\n" if label else "") + _describe(x)
        if show_grads and (gtext := _grad_text(x)) is not None:
            text += "\n" + gtext
        style = "rounded,filled" + (",dashed" if node is not None else "")
        color = "lightsteelblue" if computed else "lightsalmon"
        nodes = [f"  {name} [shape=box, style={_quote(style)}, fillcolor={color}, "
                 f"label={_quote(text)}];"]
        if group is not None:
            box_edges.add(f"  g{group[1]} -> {name};" if computed else f"  {name} -> g{group[1]};")
            lines += nodes
            continue
        if computed:
            text = _op_label(op, node.params if node is not None else getattr(x, "_params", None))
            nodes.append(f"  {name}_op [shape=box, style=\"rounded,filled\", "
                         f"fillcolor=lightgoldenrodyellow, label={_quote(text)}];")
            edges.append(f"  {name}_op -> {name};")
            for k, (inp, in_graph) in enumerate(inputs):
                if in_graph:
                    edges.append(f"  {names[id(inp)]} -> {name}_op;")
                else:
                    nodes.append(f"  {name}_c{k} [shape=box, style=filled, fillcolor=gray90, "
                                 f"fontsize=8, label={_quote(_describe(inp))}];")
                    edges.append(f"  {name}_c{k} -> {name}_op;")
        group = _innermost(_seq_of(x), groups)  # leaves too: where they were created
        if group is None:
            lines += nodes
        else:
            clusters.setdefault(group[1], []).extend(nodes)
    for gname, gid in dict.fromkeys(boxed.values()):
        count = box_ops.get(gid, 0)
        text = f"{gname}\n{count} op{'s' if count != 1 else ''}"
        lines.append(f"  g{gid} [shape=box3d, style=filled, fillcolor=khaki, "
                     f"label={_quote(text)}];")
    lines += _nest(clusters, groups)
    lines += edges
    lines += sorted(box_edges)
    lines.append("}")
    drawn = Graph("\n".join(lines) + "\n")
    if path is not None:
        drawn.render(path)
    return drawn

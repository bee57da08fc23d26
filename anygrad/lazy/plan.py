"""Planning a realization: shared sub-expressions, fusion groups, buffer lifetimes.

A plan depends only on the graph's *signature* (see ``schedule.trace``): per node its op,
parameter key, inputs and whether a tensor still holds it, plus the leaves' shapes and dtypes.
So one plan serves every graph of the same structure (the plan cache), and executing it only
reads the current values. Input references are ints: ``i >= 0`` the result of node ``i``,
``i < 0`` leaf array ``-1 - i``; a ``(type, value)`` tuple is a Python scalar.
"""

from __future__ import annotations

import math
from collections import defaultdict
from operator import itemgetter
from typing import Any

from .abstract import REDUCTIONS
from .fusion import find_groups, program
from .keys import Unkeyed

# Ops whose result is always a new array, never a view of an input: a buffer read only by
# them can be recycled after its last reader (the others, reshape or getitem say, may
# return views that outlive the read).
FRESH = frozenset({
    "add", "subtract", "multiply", "divide", "pow", "negative", "positive", "abs", "exp", "log",
    "sqrt", "tanh", "sin", "cos", "tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh",
    "atanh", "atan2", "log1p", "expm1", "log2", "log10", "square", "maximum", "minimum",
    "logaddexp", "sign", "less", "less_equal", "greater", "greater_equal", "equal", "not_equal",
    "where", "matmul", "concat", "stack", *REDUCTIONS})
# Merging two equal nodes is safe for these families (pure functions of their inputs).
PURE = FRESH | {
    "reshape", "permute_dims", "broadcast_to", "astype", "getitem", "flip", "roll", "sort",
    "argsort", "tril", "triu", "cumulative_sum", "cumulative_prod", "diagonal", "take",
    "take_along_axis", "searchsorted", "isin", "repeat", "fftn", "ifftn", "rfftn", "irfftn",
    "inv", "det", "slogdet", "solve", "cholesky", "pinv", "matrix_rank", "qr", "svd", "eigh",
    "eig"}


class Step:
    """Compute one node (``kernel`` None) or one fused group, then release buffers. ``params``
    are the node's as planned (none holding arrays), for runs that have no node of their own
    (see ``schedule.execute``)."""

    __slots__ = ("node", "op", "params", "args", "kernel", "out_key", "frees", "fills", "slots",
                 "gather", "call")

    def __init__(self, node: int, op: Any, params: dict, args: tuple, kernel: Any = None):
        self.node, self.op, self.params, self.args, self.kernel = node, op, params, args, kernel
        self.slots: tuple = ()  # where each arg lies in the run's values (see ``Plan.consts``)
        self.gather: Any = None  # values -> the args tuple (an itemgetter of ``slots``)
        self.call: Any = None  # ``xp.<name>`` for an op that is exactly that (``Op.xp_name``)
        self.out_key: tuple | None = None  # (shape, dtype) of a recycled buffer to write into
        # (node, (shape, dtype) of its buffer to recycle, or None): results to let go of after
        # the step (not before: NumPy's sign written over its own input runs 7x slower)
        self.frees: list[tuple[int, tuple | None]] = []
        self.fills: list[tuple[int, bool]] = []  # (node, saves its inputs) tensors to fill


class Plan:
    """The steps of a realization. A run keeps its values in one list: the ``n`` nodes'
    results, then the leaf arrays, then ``consts`` (the Python scalars the nodes read)."""

    __slots__ = ("steps", "fused", "merged", "n", "consts", "canon")

    def __init__(self, steps: list[Step], fused: int, merged: int, n: int, consts: tuple,
                 canon: list[int]):
        self.steps, self.fused, self.merged, self.n = steps, fused, merged, n
        self.consts = consts
        self.canon = canon  # node -> the node whose value it shares (itself, unless merged)


def _gatherer(slots: tuple) -> Any:
    """A function taking a run's values to the tuple of ``slots``' values."""
    if len(slots) == 1:
        k, = slots
        return lambda vals: (vals[k],)
    return itemgetter(*slots) if slots else lambda vals: ()


_NEUTRAL = {"subtract": 0, "multiply": 1, "divide": 1}  # x op n is x for every float x


def _identity(name: str, crefs: tuple, nodes: list, i: int) -> bool:
    """Whether node ``i`` gives its first input's value unchanged (the right operand a
    Python number that leaves every value, even -0.0 and nan, as it is; the same dtype)."""
    n = _NEUTRAL.get(name)
    if n is None or len(crefs) != 2:
        return False
    x, y = crefs
    return (type(x) is int and x >= 0 and type(y) is tuple and y[0] in (int, float)
            and y[1] == n and nodes[x].dtype == nodes[i].dtype)


class GraphView:
    """The graph as planning sees it (after merging equal nodes)."""

    def __init__(self, descs: tuple, leaf_meta: tuple, nodes: list, backend: Any):
        n = len(descs)
        name = lambda d: backend.dtype_of(d).name
        self.ops = [d[0] for d in descs]
        self.shapes = [node.shape for node in nodes]
        self.dtypes = [name(node.dtype) for node in nodes]
        self.leaf_dtypes = [name(d) for _, d in leaf_meta]
        self.canon = list(range(n))
        self.crefs: list[tuple] = [()] * n
        seen: dict = {}
        for i, (op, pkey, refs, held) in enumerate(descs):
            crefs = tuple(self.canon[r] if type(r) is int and r >= 0 else r for r in refs)
            self.crefs[i] = crefs
            if not held and _identity(op.name, crefs, nodes, i):
                self.canon[i] = crefs[0]  # x - 0, x * 1, x / 1: x itself, to the bit
            elif type(pkey) is not Unkeyed and (op.elementwise or op.name in PURE):
                self.canon[i] = seen.setdefault((op, pkey, crefs), i)
        self.flags = [0] * n  # 0: no tensor holds it, 1: held, 2: held and saves its inputs
        self.fills: dict[int, list[tuple[int, bool]]] = defaultdict(list)
        for i, d in enumerate(descs):
            j = self.canon[i]
            self.flags[j] = max(self.flags[j], d[3])
            if d[3]:
                self.fills[j].append((i, d[3] == 2))
        self.live = [i for i in range(n) if self.canon[i] == i]
        self.uses: list[dict[int, int]] = [{} for _ in range(n)]
        for i in self.live:
            for r in self.crefs[i]:
                if type(r) is int and r >= 0:
                    self.uses[r][i] = self.uses[r].get(i, 0) + 1

    def dtype_of_ref(self, r: int) -> str:
        return self.dtypes[r] if r >= 0 else self.leaf_dtypes[-1 - r]


def build(signature: tuple, nodes: list, backend: Any) -> Plan:
    _, descs, leaf_meta = signature
    g = GraphView(descs, leaf_meta, nodes, backend)
    fuser = backend.fuser()
    groups = find_groups(g, fuser) if fuser is not None else {}
    inner = set()
    kernels = {}
    for root, members in groups.items():
        prog, refs = program(g, members)
        kernel = fuser.compile(prog)
        if kernel is not None:  # else the fuser declined: the ops run one by one
            kernels[root] = kernel, refs
            inner.update(members[:-1])
    steps: list[Step] = []
    kinds: dict[int, str] = {}  # node -> "fused" | "fresh" | "other": who made its buffer

    def params(i: int) -> dict:  # (not arrays: a plan must not keep a graph's data alive)
        return {} if type(descs[i][1]) is Unkeyed else nodes[i].params

    for i in g.live:
        if i in kernels:
            kernel, refs = kernels[i]
            steps.append(Step(i, g.ops[i], params(i), refs, kernel))
            kinds[i] = "fused"
            continue
        if i in inner:
            continue
        steps.append(Step(i, g.ops[i], params(i), g.crefs[i]))
        op = g.ops[i]
        kinds[i] = "fresh" if op.xp_name and op.name in FRESH else "other"
    # buffer lifetimes: free a result no tensor holds after its last reader
    last: dict[int, int] = {}
    for s, step in enumerate(steps):
        for r in step.args:
            if type(r) is int and r >= 0:
                last[r] = s

    def recyclable(i: int) -> bool:  # a buffer of its own, worth an ``out=``
        if not backend.supports_out or kinds[i] == "other" or g.shapes[i] == ():
            return False
        return math.prod(g.shapes[i]) * nodes[i].dtype.itemsize >= backend.recycle_from

    for r, s in last.items():
        if g.flags[r]:
            continue
        recycle = recyclable(r) and all(
            g.ops[c].name in FRESH and g.flags[c] != 2 for c in g.uses[r])
        steps[s].frees.append((r, (g.shapes[r], nodes[r].dtype) if recycle else None))
    for step in steps:
        i = step.node
        step.fills = g.fills.get(i, [])
        if recyclable(i):
            step.out_key = (g.shapes[i], nodes[i].dtype)
    n, first_const = len(descs), len(descs) + len(leaf_meta)
    consts: list = []
    for step in steps:
        slots = []
        for r in step.args:
            if type(r) is tuple:  # a Python scalar
                slots.append(first_const + len(consts))
                consts.append(r[1])
            else:
                slots.append(r if r >= 0 else n - 1 - r)
        step.slots = tuple(slots)
        step.gather = _gatherer(step.slots)
        op = g.ops[step.node]
        if step.kernel is None and op.xp_name:
            step.call = getattr(backend.xp, op.xp_name)
    merged = sum(1 for i, c in enumerate(g.canon) if c != i)
    return Plan(steps, sum(1 for s in steps if s.kernel is not None), merged, n, tuple(consts),
                g.canon)

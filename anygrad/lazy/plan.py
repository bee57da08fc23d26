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
from .fusion import find_groups, find_regions, program, region_program
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
                 "gather", "call", "outs")

    def __init__(self, node: int, op: Any, params: dict, args: tuple, kernel: Any = None):
        self.node, self.op, self.params, self.args, self.kernel = node, op, params, args, kernel
        self.slots: tuple = ()  # where each arg lies in the run's values (see ``Plan.consts``)
        self.gather: Any = None  # values -> the args tuple (an itemgetter of ``slots``)
        self.call: Any = None  # ``xp.<name>`` for an op that is exactly that (``Op.xp_name``)
        self.out_key: tuple | None = None  # (shape, dtype) of a recycled buffer to write into
        # (node, (shape, dtype) of its buffer to recycle, or None): results to let go of after
        # the step (not before: NumPy's sign written over its own input runs 7x slower)
        self.frees: list[tuple[int, tuple | None]] = []
        # (node, saves its inputs, the node whose value it gets) tensors to fill
        self.fills: list[tuple[int, bool, int]] = []
        self.outs: tuple | None = None  # a region's kernel: the nodes of its results, in order


class Plan:
    """The steps of a realization. A run keeps its values in one list: the ``n`` nodes'
    results, then the leaf arrays, then ``consts`` (the Python scalars the nodes read)."""

    __slots__ = ("steps", "fused", "merged", "n", "consts", "canon", "unkeyed", "replay",
                 "dtypes")

    def __init__(self, steps: list[Step], fused: int, merged: int, n: int, consts: tuple,
                 canon: list[int], unkeyed: bool = False, dtypes: tuple = ()):
        self.steps, self.fused, self.merged, self.n = steps, fused, merged, n
        self.consts = consts
        self.canon = canon  # node -> the node whose value it shares (itself, unless merged)
        self.unkeyed = unkeyed  # some node's parameters hold arrays: it needs its own node
        self.replay: Any = None  # generated code running it without nodes (anygrad.compile)
        self.dtypes = dtypes  # each node's native dtype


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
    """The graph as planning sees it (after merging equal nodes).

    Args:
        descs: The signature's node descriptions: ``(op, parameter key, input references,
            held)`` per node.
        leaf_meta: The leaves' ``(shape, native dtype)``.
        nodes: The graph's nodes (their shapes and dtypes).
        backend: The backend (to name the dtypes).
    """

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
        """The dtype name of input reference ``r``: node ``r``'s, or leaf ``-1 - r``'s."""
        return self.dtypes[r] if r >= 0 else self.leaf_dtypes[-1 - r]


def build(signature: tuple, nodes: list, backend: Any) -> Plan:
    """Plan the graph of ``signature`` (see ``schedule.trace``): merge equal nodes, fuse
    what ``backend``'s fuser compiles, and order the steps and buffer releases.

    Args:
        signature: The graph's signature: its backend, node descriptions and leaf metadata.
        nodes: The graph's nodes, in signature order (their shapes, dtypes and parameters).
        backend: The backend the plan runs on.

    Returns:
        The :class:`Plan`, valid for every graph of this signature.
    """
    _, descs, leaf_meta = signature
    g = GraphView(descs, leaf_meta, nodes, backend)
    fuser = backend.fuser()

    def params(i: int) -> dict:  # (not arrays: a plan must not keep a graph's data alive)
        return {} if type(descs[i][1]) is Unkeyed else nodes[i].params

    inner = set()
    kernels: dict[int, tuple] = {}  # first node of a kernel -> (kernel, input refs, outputs)
    unit: dict[int, int] = {}  # node -> the first node of its kernel
    if fuser is not None and getattr(fuser, "regions", False):
        for region in find_regions(g, fuser, params):
            prog, refs = region_program(g, region)
            kernel = fuser.compile(prog)
            if kernel is None:
                continue
            outs = tuple(region.outs) + tuple(s for s, *_ in region.sums)
            first = region.members[0]
            kernels[first] = kernel, refs, outs
            for m in (*region.members, *(s for s, *_ in region.sums)):
                unit[m] = first
            inner.update(m for m in region.members if m != first)
            inner.update(s for s, *_ in region.sums)
    elif fuser is not None:
        for root, members in find_groups(g, fuser).items():
            prog, refs = program(g, members)
            kernel = fuser.compile(prog)
            if kernel is not None:  # else the fuser declined: the ops run one by one
                kernels[root] = kernel, refs, None
                inner.update(members[:-1])
    steps: list[Step] = []
    kinds: dict[int, str] = {}  # node -> "fused" | "fresh" | "other": who made its buffer
    for i in _order(g, kernels, unit):
        if i in kernels:
            kernel, refs, outs = kernels[i]
            step = Step(i if outs is None else outs[0], g.ops[i], params(i), refs, kernel)
            step.outs = outs
            steps.append(step)
            for o in outs or (i,):
                kinds[o] = "fused"
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
        step.fills = [(i, saves, o) for o in (step.outs or (step.node,))
                      for i, saves in g.fills.get(o, [])]
        if step.outs is None and recyclable(step.node):
            step.out_key = (g.shapes[step.node], nodes[step.node].dtype)
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
                g.canon, any(type(d[1]) is Unkeyed for d in descs),
                tuple(node.dtype for node in nodes))


def _order(g: GraphView, kernels: dict, unit: dict[int, int]) -> list[int]:
    """The live nodes in an order that runs each region's kernel (named by its first node)
    after everything it reads, and before any reader of its results: the graph's own order,
    a region pulling forward what it reads (no recursion)."""
    if not unit:
        return g.live
    reads: dict[int, set] = {}
    for i in g.live:
        u = unit.get(i, i)
        reads.setdefault(u, set()).update(
            unit.get(r, r) for r in g.crefs[i] if type(r) is int and r >= 0)
    done: set = set()
    order = []
    for i in g.live:
        stack = [unit.get(i, i)]
        while stack:
            u = stack[-1]
            if u in done:
                stack.pop()
                continue
            todo = [r for r in reads[u] if r not in done and r != u]
            if todo:
                stack += todo
                continue
            done.add(u)
            order.append(u)
            stack.pop()
    return order

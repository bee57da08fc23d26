"""A plan as straight-line Python: one line per step, no interpreter loop.

Lazy mode runs a plan by walking its steps (``schedule.execute``). A compiled function
replays the same plans every call, so each becomes a generated function instead: a line per
step calling the backend's function (or the fused kernel) on local variables, the buffers to
recycle (``out=``) chosen once, here, by playing the executor's pool, and a ``del`` where the
executor releases a result. Its values are the executor's to the bit: the same calls on the
same arrays in the same order. An error falls back to the executor, which names the op.

On NumPy and CuPy, where an operator is the very ufunc (``a * b`` is ``multiply(a, b)``) but
skips its argument parsing, arithmetic becomes operators, and a Python number beside a float
array becomes that dtype's scalar once (what NumPy converts it to on every call anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..lazy import schedule
from ..lazy.plan import Plan

_OPERATORS = {"add": "{} + {}", "subtract": "{} - {}", "multiply": "{} * {}",
              "divide": "{} / {}", "negative": "-{}"}
_NUMPY_LIKE = frozenset({"numpy", "cupy"})


def replayer(plan: Plan, backend: Any, leaf_dtypes: tuple, needed: tuple[int, ...]) -> Callable:
    """``run(leaves) -> values of needed``: ``plan`` on leaf arrays of ``leaf_dtypes``,
    returning the results of the nodes ``needed`` (nodes a tensor held while tracing: never
    released).

    Args:
        plan: The plan to replay; the generated functions are cached on it.
        backend: The backend whose functions the code calls.
        leaf_dtypes: The dtypes of the leaf arrays ``run`` will be given, in order.
        needed: The nodes whose values ``run`` returns, in order.

    Returns:
        ``run``, taking the list of leaf arrays and returning a tuple of the needed values
        (its generated source is its ``source`` attribute). Should the generated code raise,
        ``run`` runs the plan on the executor, which raises the op's error.
    """
    cache = plan.replay if plan.replay is not None else {}
    plan.replay = cache
    key = (backend, leaf_dtypes, needed)
    fn = cache.get(key)
    if fn is None:
        fn = cache[key] = _generate(plan, backend, leaf_dtypes, needed)
    return fn


def _generate(plan: Plan, backend: Any, leaf_dtypes: tuple, needed: tuple[int, ...]) -> Callable:
    n, n_leaves = plan.n, len(leaf_dtypes)
    numpy_like = backend.name in _NUMPY_LIKE and len(plan.dtypes) == n
    first_const = n + n_leaves
    ns: dict[str, Any] = {"xp": backend.xp}
    lines = []
    if n_leaves:
        lines.append(f"    {''.join(f'l{j}, ' for j in range(n_leaves))}= leaves")
    for k, c in enumerate(plan.consts):
        ns[f"c{k}"] = c
    pool: dict[tuple, list[str]] = {}
    keep = set(needed)
    indent = "    "
    if backend.context is not None:
        ns["context"] = backend.context
        lines.append("    with context:")
        indent = "        "
    def dtype(slot: int) -> Any:
        return plan.dtypes[slot] if slot < n else leaf_dtypes[slot - n]

    for s, step in enumerate(plan.steps):
        op = step.op
        args = []
        arrays = [dtype(slot) for slot in step.slots if slot < first_const]
        for slot in step.slots:
            if slot < first_const:
                args.append(f"v{slot}" if slot < n else f"l{slot - n}")
                continue
            name = f"c{slot - first_const}"
            c = ns[name]
            if (numpy_like and step.call is not None and op.name in _OPERATORS
                    and type(c) in (int, float) and arrays
                    and getattr(arrays[0], "kind", "") == "f"):
                name = f"s{s}_{len(args)}"  # the float array's dtype: what NumPy casts it to
                ns[name] = arrays[0].type(c)
            args.append(name)
        free = pool.get(step.out_key) if step.out_key is not None else None
        buf = None
        if free and (step.kernel is not None or (
                step.call is not None and (backend, op) not in schedule._no_out)):
            buf = free.pop()
        if step.kernel is not None:
            ns[f"k{s}"] = step.kernel
            call = f"k{s}(({''.join(a + ', ' for a in args)}), {buf or 'None'})"
        elif (numpy_like and buf is None and op.name in _OPERATORS and op.xp_name == op.name
              and step.call is not None and any(slot < first_const for slot in step.slots)):
            call = _OPERATORS[op.name].format(*args)
        elif step.call is not None:
            ns[f"f{s}"] = step.call
            call = f"f{s}({', '.join(args)}{', out=' + buf if buf else ''})"
        else:
            ns[f"f{s}"], ns[f"p{s}"] = op.forward, step.params
            call = f"f{s}(xp, {''.join(a + ', ' for a in args)}**p{s})"
        if step.outs is None:
            lines.append(f"{indent}v{step.node} = {call}")
        else:
            lines.append(f"{indent}{''.join(f'v{o}, ' for o in step.outs)}= {call}")
        if buf is not None:
            lines.append(f"{indent}del {buf}")
        for r, key in step.frees:
            if r in keep:
                continue
            if key is not None:
                pool.setdefault(key, []).append(f"v{r}")
            else:
                lines.append(f"{indent}del v{r}")
    lines.append(f"    return ({''.join(f'v{j}, ' for j in needed)})")
    source = "def run(leaves):\n" + "\n".join(lines) + "\n"
    exec(compile(source, f"<anygrad plan of {len(plan.steps)} steps>", "exec"), ns)  # noqa: S102
    fast = ns["run"]
    fast.source = source  # type: ignore[attr-defined]  (for the curious, and for tests)

    def run(leaves: list) -> tuple:
        try:
            return fast(leaves)
        except Exception:  # the executor raises the op's error, naming it and its operands
            vals = _interpret(plan, leaves, backend)
            return tuple(vals[j] for j in needed)

    run.source = source  # type: ignore[attr-defined]
    return run


def _interpret(plan: Plan, leaves: list, backend: Any) -> list:
    """The executor on this plan, without nodes (as a compiled backward's replay runs it)."""
    if backend.context is not None:
        with backend.context:
            return schedule.execute(plan, [None] * plan.n, list(leaves), backend)
    return schedule.execute(plan, [None] * plan.n, list(leaves), backend)

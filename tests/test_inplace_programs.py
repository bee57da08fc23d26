"""Random programs of views and in-place writes (Hypothesis), on every test backend.

A program starts from a leaf ``w`` (random shape) and a 0-d leaf ``c``, makes ``x = w * 1``
and then does a random sequence of: take a view of any tensor so far (basic indexing with
steps of either sign, integers, ``None``; reshape, permute_dims, expand_dims, squeeze, flip,
moveaxis, broadcast_to), write into a writable one (``[...] =``, ``[k] =``, ``+=``, ``*=``;
constants, values computed from ``c``, values read from other tensors of the program), and
add a value read now into the loss. The same program runs on NumPy arrays; it must give
NumPy's values for every tensor, share memory where NumPy does, and give the gradients of the
NumPy program (by central differences: the reference needs no autograd).

Where the backend's library copies (torch's flip), the NumPy side copies there too, so both
sides run the same program.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anygrad as ag

from .test_views import central_differences, has_views, num, shares

# ANYGRAD_PROGRAM_EXAMPLES=500 for a longer hunt
EXAMPLES = int(os.environ.get("ANYGRAD_PROGRAM_EXAMPLES", "30"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,  # backend: fixed
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass
class Node:
    array: np.ndarray      # its value on the NumPy side, while the program is drawn
    writable: bool         # not a broadcast view (NumPy's are read-only), nor made from one
    root: int              # the node owning its memory (itself, for x and for copies)


@dataclass
class Program:
    steps: list[Callable[[Any, list, list], None]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # for the failure report

    def run(self, ns: Any, w: Any, c: Any) -> tuple[Any, list]:
        nodes = [w * 1.0]
        loss = [0.0]
        env = {"c": c}
        for step in self.steps:
            step(ns, nodes, loss, env)
        return loss[0], nodes


def _slice(draw, n: int) -> slice:
    start = draw(st.integers(0, n - 1))
    step = draw(st.sampled_from([1, 2, -1, -2]))
    if step > 0:
        return slice(start, draw(st.integers(start + 1, n)), step)
    stop = draw(st.integers(-1, start - 1))
    return slice(start, None if stop < 0 else stop, step)


def _view(draw, shape: tuple[int, ...]) -> tuple[str, Callable[[Any, Any], Any], bool]:
    """A view op that applies to ``shape`` (never giving a 0-d result), and whether it
    flips an axis (torch copies there)."""
    nd = len(shape)
    options = ["slice", "permute", "expand_dims", "flip", "reshape", "broadcast_to"]
    if nd >= 2:
        options += ["integer", "moveaxis"]
    if nd >= 2 and 1 in shape:
        options.append("squeeze")
    if nd <= 3:
        options.append("None")
    kind = draw(st.sampled_from(options))
    if kind == "slice":
        axis = draw(st.integers(0, nd - 1))
        key = (slice(None),) * axis + (_slice(draw, shape[axis]),)
        if draw(st.booleans()):
            key += (Ellipsis,)
        return f"[{key}]", lambda ns, t: t[key], key[axis].step < 0
    if kind == "integer":
        axis = draw(st.integers(0, nd - 1))
        i = draw(st.integers(-shape[axis], shape[axis] - 1))
        key = (slice(None),) * axis + (i, Ellipsis)
        return f"[{key}]", lambda ns, t: t[key], False
    if kind == "None":
        at = draw(st.integers(0, nd))
        key = (slice(None),) * at + (None, Ellipsis)
        return f"[{key}]", lambda ns, t: t[key], False
    if kind == "permute":
        axes = tuple(draw(st.permutations(range(nd))))
        return f"permute_dims({axes})", lambda ns, t: ns.permute_dims(t, axes), False
    if kind == "expand_dims":
        axis = draw(st.integers(-nd - 1, nd))
        return f"expand_dims({axis})", lambda ns, t: ns.expand_dims(t, axis=axis), False
    if kind == "squeeze":
        axis = draw(st.sampled_from([i for i, n in enumerate(shape) if n == 1]))
        return f"squeeze({axis})", lambda ns, t: ns.squeeze(t, axis=axis), False
    if kind == "flip":
        axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1)))
        return f"flip({axis})", lambda ns, t: ns.flip(t, axis=axis), True
    if kind == "moveaxis":
        src, dst = draw(st.integers(-nd, nd - 1)), draw(st.integers(-nd, nd - 1))
        return f"moveaxis({src}, {dst})", lambda ns, t: ns.moveaxis(t, src, dst), False
    if kind == "reshape":
        size = int(np.prod(shape))
        targets = [(size,), (-1,), tuple(reversed(shape)), (1, *shape), (*shape, 1)]
        targets += [(a, size // a) for a in range(2, size) if size % a == 0]
        new = draw(st.sampled_from(targets))
        return f"reshape({new})", lambda ns, t: ns.reshape(t, new), False
    lead = draw(st.integers(1, 2))
    new = (lead, *shape)
    return f"broadcast_to({new})", lambda ns, t: ns.broadcast_to(t, new), False


def _constant(draw, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(draw(st.lists(st.sampled_from([-1.5, -1.0, -0.5, 0.5, 1.0, 2.0]),
                                    min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                      dtype=np.float64).reshape(shape)


def _value(draw, ns_shape: tuple[int, ...], nodes: list[Node]) -> tuple[str, Callable]:
    """A value of shape ``ns_shape`` (or broadcastable to it): ``(text, fn(ns, nodes, env))``."""
    kind = draw(st.sampled_from(["constant", "c times constant", "read", "c"]))
    if kind == "constant":
        k = draw(st.sampled_from([-2.0, 0.0, 0.5, 3.0]))
        return f"{k}", lambda ns, t, env: k
    if kind == "c":
        return "c", lambda ns, t, env: env["c"]
    if kind == "c times constant":
        arr = _constant(draw, ns_shape)
        return f"c * {arr.tolist()}", lambda ns, t, env: env["c"] * ns.asarray(arr)
    j = draw(st.integers(0, len(nodes) - 1))  # a fresh value read from another tensor
    return f"sum(v{j}) * c * 0.25", lambda ns, t, env: ns.sum(t[j]) * env["c"] * 0.25


@st.composite
def programs(draw, copies_flip: bool) -> tuple[Program, tuple[int, ...]]:
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    w0 = np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape)
    prog = Program()
    nodes = [Node(w0 * 1.0, True, 0)]
    env_np = {"c": 0.7}

    def replay(step):  # learn the shapes (and what is a view) on the NumPy side
        arrays = [n.array for n in nodes]
        loss = [0.0]
        step(np, arrays, loss, env_np)
        return arrays

    for _ in range(draw(st.integers(2, 7))):
        what = draw(st.sampled_from(["view", "view", "write", "write", "read"]))
        if what == "view":
            p = draw(st.integers(0, len(nodes) - 1))
            text, fn, flips = _view(draw, nodes[p].array.shape)
            copy_here = copies_flip and flips

            def step(ns, t, loss, env, p=p, fn=fn, copy_here=copy_here):
                v = fn(ns, t[p])
                if ns is np and copy_here:
                    v = v.copy()  # the backend's library copies here (torch's flip)
                t.append(v)

            arrays = replay(step)
            new = arrays[-1]
            root = nodes[p].root
            if not np.shares_memory(new, nodes[root].array):
                root = len(nodes)  # a copy: it owns its memory
            nodes.append(Node(new, nodes[p].writable and "broadcast_to" not in text, root))
            prog.steps.append(step)
            prog.text.append(f"v{len(nodes) - 1} = v{p}{'' if text[0] == '[' else '.'}{text}")
            continue
        if what == "read":
            j = draw(st.integers(0, len(nodes) - 1))
            weight = _constant(draw, nodes[j].array.shape)
            square = draw(st.booleans())

            def step(ns, t, loss, env, j=j, weight=weight, square=square):
                v = t[j] * t[j] if square else t[j]
                loss[0] = loss[0] + ns.sum(v * ns.asarray(weight))

            prog.steps.append(step)
            read = f"v{j}**2" if square else f"v{j}"
            prog.text.append(f"loss += sum({read} * w)")
            continue
        writable = [i for i, n in enumerate(nodes) if n.writable]
        i = draw(st.sampled_from(writable))
        target_shape = nodes[i].array.shape
        how = draw(st.sampled_from(["[...] =", "[k] =", "+=", "*="]))
        if how == "[k] =":
            k = draw(st.integers(-target_shape[0], target_shape[0] - 1))
            vtext, vfn = _value(draw, target_shape[1:], nodes)

            def step(ns, t, loss, env, i=i, k=k, vfn=vfn):
                t[i][k] = vfn(ns, t, env)

            prog.text.append(f"v{i}[{k}] = {vtext}")
        else:
            vtext, vfn = _value(draw, target_shape, nodes)

            def step(ns, t, loss, env, i=i, how=how, vfn=vfn):
                value = vfn(ns, t, env)
                if how == "[...] =":
                    t[i][...] = value
                elif how == "+=":
                    t[i] += value
                else:
                    t[i] *= value

            prog.text.append(f"v{i} {how} {vtext}")
        prog.steps.append(step)
        for n, a in zip(nodes, replay(step), strict=True):  # (in place: keep the arrays)
            assert n.array is a

    # the end: every tensor's final value counts, the base's squared
    finals = [_constant(draw, n.array.shape) for n in nodes]

    def last(ns, t, loss, env):
        for v, weight in zip(t, finals, strict=True):
            loss[0] = loss[0] + ns.sum(v * ns.asarray(weight))
        loss[0] = loss[0] + ns.sum(t[0] * t[0])

    prog.steps.append(last)
    prog.text.append("loss += sum(v_i * w_i) for all i; loss += sum(v0 ** 2)")
    return prog, shape, [n.root for n in nodes]


@SETTINGS
@given(data=st.data())
def test_random_programs_of_views_and_writes(backend, data):
    copies_flip = backend.name == "torch"  # torch has no negative strides
    prog, shape, roots = data.draw(programs(copies_flip), label="program")
    note = "\n".join(["v0 = w * 1", *prog.text])
    rng = np.random.default_rng(int(np.prod(shape)) + len(prog.steps))
    w0 = rng.uniform(-1.0, 1.0, shape)
    c0 = np.asarray(0.7)

    w, c = backend.tensor(w0), backend.tensor(c0)
    loss, tensors = prog.run(ag, w, c)
    want_loss, arrays = prog.run(np, w0.copy(), c0.copy())
    for k, (t, a) in enumerate(zip(tensors, arrays, strict=True)):
        assert t.shape == a.shape, f"v{k}: shape {t.shape}, NumPy {a.shape}\n{note}"
        np.testing.assert_allclose(num(t), a, rtol=1e-12, atol=1e-12,
                                   err_msg=f"value of v{k}\n{note}")
        if has_views(backend):
            r = roots[k]
            if r != k:
                assert t.base is tensors[r], f"v{k} should be a view of v{r}\n{note}"
                assert shares(t, tensors[r]), f"v{k} should share v{r}'s memory\n{note}"
            else:
                assert t.base is None, f"v{k} owns its memory: its base must be None\n{note}"
    np.testing.assert_allclose(num(loss), want_loss, rtol=1e-11, atol=1e-11,
                               err_msg=f"loss\n{note}")

    loss.backward()
    gw, gc = central_differences(lambda a, b: prog.run(np, a, b)[0], [w0, c0])
    scale = 1.0 + max(float(np.abs(gw).max()), float(np.abs(gc).max()))
    got_w = num(w.grad) if w.grad is not None else np.zeros(shape)
    got_c = num(c.grad) if c.grad is not None else np.zeros(())
    np.testing.assert_allclose(got_w, gw, rtol=1e-5, atol=1e-6 * scale,
                               err_msg=f"gradient of w\n{note}")
    np.testing.assert_allclose(got_c, gc, rtol=1e-5, atol=1e-6 * scale,
                               err_msg=f"gradient of c\n{note}")

"""Views and in-place writes: NumPy's values and memory sharing, MyGrad's gradients.

What is tested (docs/views.md; MyGrad's ``docs/source/views.rst``):

1. Views (basic indexing, reshape without a copy, permute_dims, .T, .mT, matrix_transpose,
   expand_dims, squeeze, moveaxis, broadcast_to, flip) share memory with ``base`` (the root);
   copies (advanced indexing, masks, a reshape that must copy, torch's flip) have no base. A
   view's gradient is that view of its base's.
2. Writes (``x[k] = v``, ``+= -= *= /= **= @=``), also into a view, change the memory: every
   view of the same base and the base see NumPy's values, and still share memory afterwards.
3. Gradients of programs with views and writes equal those of the same program without
   in-place ops (central differences of the NumPy program).
4. A write never corrupts a gradient: an op that saved an input (or its output) before the
   write differentiates at the values it saw.
5. Leaves that require grad may be written (MyGrad's doc example); under ``no_grad`` a write
   changes only the value (an SGD step).
6. ``retain_grad()`` keeps an intermediate's gradient (PyTorch's semantics).
7. 1,000 scalar writes into 10^6 elements copy nothing (tracemalloc, NumPy backend).

Every test body runs on each CPU test backend and, with ``ANYGRAD_TEST_MODE=lazy``, inside
``anygrad.lazy()``: values are always read through ``.numpy()``.
"""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import anygrad as ag
from anygrad._tensor import Tensor

# -- helpers ----------------------------------------------------------------------------------


def shares(a: Tensor, b: Tensor) -> bool:
    """Whether the native arrays of two tensors share memory (asked of the library itself,
    not of anygrad's backend)."""
    da, db = a.data, b.data
    if isinstance(da, np.ndarray):
        return bool(np.shares_memory(da, db))
    inner = getattr(da, "_array", None)  # array-api-strict wraps a NumPy array
    if isinstance(inner, np.ndarray):
        return bool(np.shares_memory(inner, db._array))
    lib = type(da).__module__.split(".")[0]
    if lib == "torch":
        return da.untyped_storage().data_ptr() == db.untyped_storage().data_ptr()
    if lib == "cupy":
        import cupy
        return bool(cupy.shares_memory(da, db))
    raise AssertionError(f"no memory check for {type(da)}")


def has_views(backend) -> bool:
    return backend.name in ("numpy", "strict", "torch", "cupy")


def num(t: Tensor) -> np.ndarray:
    return np.asarray(t.numpy())


def grad_of(t: Tensor) -> np.ndarray:
    assert t.grad is not None, "no gradient reached this tensor"
    return num(t.grad)


def central_differences(fn: Callable[..., float], arrays: list[np.ndarray],
                        eps: float = 1e-6) -> list[np.ndarray]:
    """d fn / d each array, by central differences on float64 NumPy arrays."""
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a, dtype=np.float64)
        for i in np.ndindex(a.shape):
            vals = []
            for step in (eps, -eps):
                args = [b.copy() for b in arrays]
                args[k][i] += step
                vals.append(float(fn(*args)))
            g[i] = (vals[0] - vals[1]) / (2 * eps)
        grads.append(g)
    return grads


def check_program(backend, program: Callable[..., Any], *leaves: np.ndarray,
                  rtol: float = 1e-6, atol: float = 1e-6) -> None:
    """Run ``program(ns, *leaves)`` (returns the loss, written once for ``ns`` = NumPy and
    anygrad) on the backend: the loss equals NumPy's, and the leaves' gradients equal the
    central differences of the NumPy program (which needs no autograd to be right)."""
    leaves = tuple(np.asarray(a, dtype=np.float64) for a in leaves)
    tensors = [backend.tensor(a) for a in leaves]
    loss = program(ag, *tensors)
    want = program(np, *(a.copy() for a in leaves))
    np.testing.assert_allclose(num(loss), want, rtol=1e-12, atol=1e-12)
    loss.backward()
    expected = central_differences(lambda *a: program(np, *a), list(leaves))
    for k, (t, g) in enumerate(zip(tensors, expected, strict=True)):
        got = np.zeros_like(g) if t.grad is None else grad_of(t)
        np.testing.assert_allclose(got, g, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of leaf {k}")


# -- 1. views -----------------------------------------------------------------------------------

# name -> (the view, written once for NumPy and anygrad; the base's shape)
VIEWS: dict[str, tuple[Callable[[Any, Any], Any], tuple[int, ...]]] = {
    "slice": (lambda ns, x: x[1:3], (4, 3)),
    "step": (lambda ns, x: x[::2], (5,)),
    "slice of an axis": (lambda ns, x: x[:, 1:], (3, 4)),
    "negative step": (lambda ns, x: x[::-1], (4,)),
    "negative step, axis 1": (lambda ns, x: x[:, ::-2], (2, 5)),
    "integer": (lambda ns, x: x[1], (3, 4)),
    "integer and slice": (lambda ns, x: x[1, 1:], (3, 4)),
    "None": (lambda ns, x: x[None], (2, 3)),
    "None in the middle": (lambda ns, x: x[:, None, 1:], (2, 3)),
    "ellipsis": (lambda ns, x: x[..., 0], (2, 3, 4)),
    "ellipsis, None": (lambda ns, x: x[..., None], (2, 3)),
    "reshape": (lambda ns, x: ns.reshape(x, (3, 2)), (2, 3)),
    "reshape method, -1": (lambda ns, x: x.reshape(-1), (2, 3)),
    "permute_dims": (lambda ns, x: ns.permute_dims(x, (2, 0, 1)), (2, 3, 4)),
    ".T": (lambda ns, x: x.T, (2, 3)),
    ".mT": (lambda ns, x: x.mT, (2, 3, 4)),
    "matrix_transpose": (lambda ns, x: ns.matrix_transpose(x), (2, 3, 4)),
    "expand_dims": (lambda ns, x: ns.expand_dims(x, axis=1), (2, 3)),
    "squeeze": (lambda ns, x: ns.squeeze(x, axis=1), (2, 1, 3)),
    "moveaxis": (lambda ns, x: ns.moveaxis(x, 0, -1), (2, 3, 4)),
    "broadcast_to": (lambda ns, x: ns.broadcast_to(x, (2, 3, 4)), (3, 4)),
    "flip": (lambda ns, x: ns.flip(x, axis=0), (3, 2)),
    "flip all": (lambda ns, x: ns.flip(x), (3, 2)),
}
READ_ONLY = {"broadcast_to"}  # NumPy's broadcast views cannot be written
#: torch has no negative strides: its flip (and so a negative step) copies
TORCH_COPIES = {"negative step", "negative step, axis 1", "flip", "flip all"}


def copies_here(backend, name: str) -> bool:
    return not has_views(backend) or (backend.name == "torch" and name in TORCH_COPIES)


def arange(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(1.0, 1.0 + int(np.prod(shape))).reshape(shape)


@pytest.mark.parametrize("name", list(VIEWS))
def test_a_view_shares_memory_with_its_base(backend, name):
    fn, shape = VIEWS[name]
    a = arange(shape)
    x = backend.tensor(a)
    y = fn(ag, x)
    want = fn(np, a)
    assert y.shape == want.shape
    np.testing.assert_array_equal(num(y), want)
    assert x.base is None  # x owns its memory
    if copies_here(backend, name):
        assert y.base is None, f"{name} copies on {backend.name}: no base"
        assert not shares(x, y)
    else:
        assert y.base is x, f"{name}: base is {y.base!r}"
        assert shares(x, y), f"{name}: the view does not share the base's memory"


@pytest.mark.parametrize("name", list(VIEWS))
def test_a_view_of_a_non_leaf_has_it_as_base(backend, name):
    fn, shape = VIEWS[name]
    w = backend.tensor(arange(shape))
    x = w * 2.0
    y = fn(ag, x)
    np.testing.assert_array_equal(num(y), fn(np, arange(shape) * 2.0))
    if not copies_here(backend, name):
        assert y.base is x and shares(x, y)
    assert w.base is None and x.base is None


def test_a_view_of_a_view_has_the_root_as_base(backend):
    a = arange((4, 6))
    x = backend.tensor(a)
    y = x[1:]
    z = y[:, ::2].T
    u = ag.reshape(z[None], (-1, 3))[1:]  # z is not contiguous: this reshape may copy
    np.testing.assert_array_equal(num(z), a[1:][:, ::2].T)
    assert y.base is x and z.base is x
    assert shares(x, z) and shares(y, z)
    want = np.reshape(a[1:][:, ::2].T[None], (-1, 3))[1:]
    np.testing.assert_array_equal(num(u), want)
    if np.shares_memory(a, np.reshape(a[1:][:, ::2].T[None], (-1, 3))):  # NumPy: a view?
        assert u.base is x
    else:
        assert u.base is None and not shares(x, u)


COPIES: dict[str, tuple[Callable[[Any, Any], Any], tuple[int, ...]]] = {
    "integer list": (lambda ns, x: x[[0, 2]], (5,)),
    "integer tensor": (lambda ns, x: x[ns.asarray([0, 2, 2])], (5,)),
    "mask": (lambda ns, x: x[x > x[1, 0]], (3, 4)),
    "arithmetic": (lambda ns, x: x * 1.0, (3, 4)),
    "reshape that needs a copy": (lambda ns, x: x.T.reshape(-1), (3, 4)),
    "reshape of a partial slice": (lambda ns, x: ns.reshape(x[:, :2], (-1,)), (3, 4)),
    "asarray copy": (lambda ns, x: ns.asarray(x, copy=True), (3, 4)),
}


@pytest.mark.parametrize("name", list(COPIES))
def test_copies_have_no_base(backend, name):
    fn, shape = COPIES[name]
    a = arange(shape)
    x = backend.tensor(a)
    y = fn(ag, x)
    want = fn(np, a)
    assert not np.shares_memory(a, want)  # (NumPy copies too)
    np.testing.assert_array_equal(num(y), want)
    assert y.base is None, f"{name} is a copy: its base must be None"
    assert not shares(x, y)
    y[...] = 0.0  # and writing the copy leaves x alone
    np.testing.assert_array_equal(num(x), a)
    np.testing.assert_array_equal(num(y), np.zeros_like(want))


@pytest.mark.parametrize("name", list(COPIES))
def test_writes_into_copies_and_their_gradients(backend, name):
    fn, shape = COPIES[name]

    def program(ns, w, c):
        x = w * 1.0
        y = fn(ns, x)
        y *= c            # a write into the copy: x keeps its values
        y[0] = c * 2.0
        return (x * x).sum() + (y * y * y).sum()

    check_program(backend, program, arange(shape) / 8.0, np.array(-1.5))


@pytest.mark.parametrize("before", [True, False], ids=["view made before", "view made after"])
@pytest.mark.parametrize("scalar", [True, False], ids=["sum().backward()", "backward()"])
def test_a_views_gradient_is_that_view_of_its_bases(backend, before, scalar):
    a = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    x = backend.tensor(a)
    views = {"x[:1]": lambda t: t[:1], "x[:, ::2]": lambda t: t[:, ::2],
             "x.T": lambda t: t.T, "x[1]": lambda t: t[1], "x[None]": lambda t: t[None],
             "reshape": lambda t: t.reshape(3, 2)}
    made = {k: f(x) for k, f in views.items()} if before else {}
    if before:
        assert all(v.grad is None for v in made.values())  # no gradient yet
    loss = x ** 2 * 1.5
    (loss.sum() if scalar else loss).backward()
    np.testing.assert_allclose(grad_of(x), 3.0 * a)
    made = made or {k: f(x) for k, f in views.items()}
    for k, v in made.items():
        np.testing.assert_allclose(grad_of(v), views[k](3.0 * a), err_msg=k)


def test_a_views_gradient_shares_memory_with_the_bases_gradient(backend):
    if not has_views(backend):
        pytest.skip("no views on this backend")
    x = backend.tensor([1.0, 2.0, 3.0, 4.0])
    y = x[1:3]
    (x ** 2).backward()
    assert shares(x.grad, y.grad), "MyGrad: y.grad is a view of x.grad"


def test_a_views_gradient_follows_the_bases_accumulation(backend):
    x = backend.tensor([1.0, 2.0, 3.0])
    y = x[::2]
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()  # gradients accumulate until zero_grad()
    np.testing.assert_array_equal(grad_of(x), [5, 5, 5])
    np.testing.assert_array_equal(grad_of(y), [5, 5])
    x.zero_grad()
    assert x.grad is None and y.grad is None


# -- 2. writes really write ------------------------------------------------------------------

WRITES: dict[str, Callable[[Any, Any], Any]] = {  # (target, a value of the target's shape)
    "[...] =": lambda t, v: t.__setitem__(Ellipsis, v),
    "[0] =": lambda t, v: t.__setitem__(0, v[0]),
    "[-1] = scalar": lambda t, v: t.__setitem__(-1, 7.5),
    "+=": lambda t, v: t.__iadd__(v),
    "-=": lambda t, v: t.__isub__(v),
    "*=": lambda t, v: t.__imul__(v),
    "/=": lambda t, v: t.__itruediv__(v),
    "**=": lambda t, v: t.__ipow__(2.0),
    "*= scalar": lambda t, v: t.__imul__(-1.0),
}


def _kinds(backend, a: np.ndarray) -> dict[str, Callable[[], Tensor]]:
    """The tensors a write may go into: a constant, a non-leaf, a leaf under no_grad."""
    return {"constant": lambda: backend.tensor(a, requires_grad=False),
            "non-leaf": lambda: backend.tensor(a) * 1.0,
            "leaf": lambda: backend.tensor(a)}


@pytest.mark.parametrize("kind", ["constant", "non-leaf", "leaf"])
@pytest.mark.parametrize("op", list(WRITES))
def test_a_write_into_a_view_changes_the_base_and_every_view(backend, op, kind):
    a = arange((3, 4)) / 4.0
    v_host = np.linspace(0.5, 2.0, 4)
    x = _kinds(backend, a)[kind]()
    y, other, whole = x[1], x[:, 1:3], x[...]  # y and other overlap at x[1, 1:3]
    WRITES[op](y, backend.tensor(v_host, requires_grad=False))
    xa = a.copy()
    ya, oa = xa[1], xa[:, 1:3]
    WRITES[op](ya, v_host.copy())
    np.testing.assert_allclose(num(x), xa, rtol=1e-15)
    np.testing.assert_allclose(num(y), ya, rtol=1e-15)
    np.testing.assert_allclose(num(other), oa, rtol=1e-15)
    np.testing.assert_allclose(num(whole), xa, rtol=1e-15)
    if has_views(backend):
        assert y.base is x and other.base is x
        assert shares(x, y) and shares(x, other) and shares(y, other)


@pytest.mark.parametrize("kind", ["constant", "non-leaf", "leaf"])
@pytest.mark.parametrize("op", list(WRITES))
def test_a_write_into_the_base_is_seen_by_its_views(backend, op, kind):
    a = arange((2, 4)) / 4.0
    v_host = np.linspace(0.5, 2.0, 8).reshape(2, 4)
    x = _kinds(backend, a)[kind]()
    views = [x[0], x[:, ::2], x.T, x[None, 1:]]
    WRITES[op](x, backend.tensor(v_host, requires_grad=False))
    xa = a.copy()
    WRITES[op](xa, v_host.copy())
    np.testing.assert_allclose(num(x), xa, rtol=1e-15)
    for got, want in zip(views, [xa[0], xa[:, ::2], xa.T, xa[None, 1:]], strict=True):
        np.testing.assert_allclose(num(got), want, rtol=1e-15)
        if has_views(backend):
            assert got.base is x and shares(x, got)


@pytest.mark.parametrize("name", sorted(set(VIEWS) - READ_ONLY))
def test_writes_through_every_kind_of_view(backend, name):
    fn, shape = VIEWS[name]
    a = arange(shape)
    copies = copies_here(backend, name)
    x = backend.tensor(a) * 1.0
    y = fn(ag, x)
    xa = a.copy()
    ya = fn(np, xa)
    if copies:
        ya = ya.copy()  # the library copied: writes into y stay in y
    y *= -1.0
    ya *= -1.0
    y[0] = 100.0
    ya[0] = 100.0
    np.testing.assert_array_equal(num(y), ya)
    np.testing.assert_array_equal(num(x), xa)
    if not copies:
        assert shares(x, y) and y.base is x

    def program(ns, w, c):
        x = w * 1.0
        y = fn(ns, x)
        if copies and ns is np:
            y = y.copy()
        y *= c
        y[0] = c * c
        return (x * x * ns.reshape(ns.arange(1.0, 1.0 + x.size), x.shape)).sum() + (
            y * y * y).sum()

    check_program(backend, program, a / 4.0, np.array(-1.5))


def test_writes_into_a_view_of_a_view(backend):
    a = arange((4, 5))
    x = backend.tensor(a, requires_grad=False)
    y = x[1:]
    z = y[:, ::2]
    z[...] = 0.0
    z[1] += 5.0
    xa = a.copy()
    xa[1:][:, ::2] = 0.0
    xa[1:][:, ::2][1] += 5.0
    np.testing.assert_array_equal(num(x), xa)
    np.testing.assert_array_equal(num(y), xa[1:])
    np.testing.assert_array_equal(num(z), xa[1:][:, ::2])


def test_the_mygrad_doc_view_example(backend):
    x = backend.tensor([1.0, 2.0, 3.0, 4.0])
    y = x[:2]
    assert y.base is x
    if has_views(backend):
        assert shares(x, y)
    y *= -1
    np.testing.assert_array_equal(num(x), [-1, -2, 3, 4])
    np.testing.assert_array_equal(num(y), [-1, -2])
    if has_views(backend):
        assert shares(x, y)  # still after the write
    (x ** 2).backward()
    np.testing.assert_array_equal(grad_of(x), [-2, -4, 6, 8])
    np.testing.assert_array_equal(grad_of(y), [-2, -4])


def test_matmul_in_place(backend):
    a = np.array([[1.0, 2.0], [3.0, -1.0]])
    m = np.array([[0.5, -1.0], [2.0, 1.5]])

    def program(ns, w, m):
        x = w * 1.0
        row = x[0]
        x @= m
        return (x * x).sum() + (row * 3.0).sum()

    check_program(backend, program, a, m)
    x = backend.tensor(a, requires_grad=False)
    col = x[:, 1]
    x @= backend.tensor(m, requires_grad=False)
    np.testing.assert_allclose(num(x), a @ m)
    np.testing.assert_allclose(num(col), (a @ m)[:, 1])


def test_a_write_keeps_dtype_shape_and_identity(backend):
    x = backend.tensor([1.0, 2.0, 3.0]) * 1.0
    y = x[1:]
    x0, y0 = x, y
    y += 1  # an int written into a float tensor: NumPy's cast
    x[0] = 1  # and an int into the base
    assert x is x0 and y is y0  # the same objects, as NumPy's in-place operators keep
    assert x.dtype == ag.float64 and y.dtype == ag.float64 and x.shape == (3,)
    np.testing.assert_array_equal(num(x), [1, 3, 4])
    i = backend.tensor([1, 2, 3])
    iv = i[1:]
    iv *= 2
    np.testing.assert_array_equal(num(i), [1, 4, 6])


def test_a_written_value_is_copied_not_aliased(backend):
    a = backend.tensor([1.0, 2.0])
    v = a * 1.0
    x = ag.zeros(4, device=backend.device)
    x[:2] = v
    v[0] = 100.0  # writing the value afterwards leaves x alone, as in NumPy
    np.testing.assert_array_equal(num(x), [1, 2, 0, 0])
    np.testing.assert_array_equal(num(v), [100, 2])
    x.sum().backward()
    np.testing.assert_array_equal(grad_of(a), [1, 1])


# -- 3. gradients of in-place programs = gradients of the functional program --------------------

def flipped(ns, x, axis, copies: bool):
    """``flip(x, axis)``; on the NumPy side, a copy where the backend's flip copies
    (torch's), so that both sides mean the same program."""
    f = ns.flip(x, axis=axis)
    return f.copy() if copies and ns is np else f


def _program_slices(ns, copies, w, a, b):
    x = w * 1.0
    y = x[1:3]
    y *= a                 # a leaf-derived factor, into a view
    x[0] = b * 2.0         # a 0-d leaf into the base
    z = flipped(ns, x, 0, copies)  # x[::-1]
    z[0] += x[1] * b       # reads x (a fresh value), writes the flipped view (x[3])
    return (x ** 2 * ns.asarray([1.0, 2.0, 3.0, 4.0])).sum()


def _program_transpose(ns, copies, w, a):
    x = w + 0.0
    t = x.T
    t[0] += a              # x[:, 0] += a
    r = x[1]
    r *= r[0]              # a write whose factor is read from the same view (0-d, fresh)
    x[:, 2] = x[:, 1] * a
    return (x * x).sum() + x[0].sum()


def _program_reshape(ns, copies, w, a):
    x = w * 1.0
    flat = ns.reshape(x, (-1,))       # contiguous: a view
    flat[1::2] -= a
    e = ns.expand_dims(x, axis=0)
    e[0, 0] /= ns.asarray([2.0, 4.0, 5.0])
    s = ns.squeeze(e, axis=0)
    s **= 2.0
    return (x * ns.asarray([[1.0, -1.0, 2.0], [0.5, 3.0, 1.0]])).sum()


def _program_read_then_write(ns, copies, w, a):
    x = w * 1.0
    early = (x * x).sum()  # reads x before the writes
    v = x[:2]
    x[1:] = a * 3.0
    v += 1.0
    late = (x ** 3).sum()
    return early + late + (v * a[:2]).sum()


def _program_moveaxis(ns, copies, w, a):
    x = w * 1.0                       # (2, 2, 3)
    m = ns.moveaxis(x, -1, 0)         # (3, 2, 2)
    m[1] *= a                         # a: (2, 2)
    p = ns.permute_dims(x, (1, 0, 2))
    p[0, 1] = p[1, 0] + m[2, 0, 0]
    f = flipped(ns, x, 2, copies)
    f[..., 0] += 1.0
    return (x ** 2).sum() + (m * m * m).sum()


PROGRAMS = {
    "slices": (_program_slices, [(4,), (2,), ()]),
    "transpose": (_program_transpose, [(3, 3), (3,)]),
    "reshape, expand_dims, squeeze": (_program_reshape, [(2, 3), (3,)]),
    "read, then write": (_program_read_then_write, [(4,), (3,)]),
    "moveaxis, permute, flip": (_program_moveaxis, [(2, 2, 3), (2, 2)]),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_gradients_of_in_place_programs_equal_the_functional_ones(backend, name):
    program, shapes = PROGRAMS[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    leaves = [rng.uniform(0.5, 1.5, s) * rng.choice([-1.0, 1.0], s) for s in shapes]
    copies = backend.name == "torch"
    check_program(backend, lambda ns, *a: program(ns, copies, *a), *leaves)


def test_an_in_place_program_matches_the_same_program_with_where_and_concat(backend):
    w0 = np.array([0.5, -1.0, 2.0, 1.5])
    a0 = np.array([3.0, -2.0])

    def in_place(w, a):
        x = w * 1.0
        y = x[1:3]
        y *= a
        x[3] = x[0] * 2.0
        return ag.sum(ag.sin(x))

    def functional(w, a):
        mid = w[1:3] * a
        return ag.sum(ag.sin(ag.concat([w[:1], mid, w[:1] * 2.0])))

    w1, a1 = backend.tensor(w0), backend.tensor(a0)
    w2, a2 = backend.tensor(w0), backend.tensor(a0)
    l1, l2 = in_place(w1, a1), functional(w2, a2)
    np.testing.assert_allclose(num(l1), num(l2), rtol=1e-15)
    l1.backward()
    l2.backward()
    np.testing.assert_allclose(grad_of(w1), grad_of(w2), rtol=1e-14)
    np.testing.assert_allclose(grad_of(a1), grad_of(a2), rtol=1e-14)


# -- 4. a write never corrupts a gradient ---------------------------------------------------------

def test_a_write_into_a_saved_input(backend):
    w = backend.tensor([1.0, 2.0, 3.0])
    x = w * 1
    y = x * x
    x[0] = 5.0
    np.testing.assert_array_equal(num(y), [1, 4, 9])  # y was computed before the write
    y.sum().backward()
    np.testing.assert_array_equal(grad_of(w), [2, 4, 6])


def test_a_write_into_a_saved_output(backend):
    a = np.array([1.0, 2.0, 3.0])
    w = backend.tensor(a)
    y = ag.exp(w)
    y[1] = 0.0
    np.testing.assert_allclose(num(y), [np.e, 0, np.exp(3.0)])
    y.sum().backward()  # exp's rule reads its output: the values before the write
    np.testing.assert_allclose(grad_of(w), [np.e, 0, np.exp(3.0)], rtol=1e-14)
    w.zero_grad()
    y = ag.exp(w)
    y[1] = 0.0
    (y * y).sum().backward()
    np.testing.assert_allclose(grad_of(w), 2 * np.exp(2 * a) * [1, 0, 1], rtol=1e-14)


@pytest.mark.parametrize("op", ["tanh", "sqrt", "exp"])
def test_in_place_operators_on_outputs_that_their_op_reads(backend, op):
    a = np.array([0.3, 1.2, 2.0])
    fn = getattr(ag, op)
    d = {"tanh": lambda v: 1 - np.tanh(v) ** 2, "sqrt": lambda v: 0.5 / np.sqrt(v),
         "exp": np.exp}[op]
    w = backend.tensor(a)
    y = fn(w)
    y *= 3.0
    y += 1.0
    y.sum().backward()
    np.testing.assert_allclose(grad_of(w), 3.0 * d(a), rtol=1e-13)


def test_a_write_into_a_view_of_a_saved_input(backend):
    a = np.array([1.0, 2.0, 3.0])
    w = backend.tensor(a)
    x = w * 1.0
    y = x * x
    v = x[1:]
    v *= 10.0
    (y + x).sum().backward()
    np.testing.assert_array_equal(num(y), a * a)
    np.testing.assert_allclose(grad_of(w), 2 * a + [1, 10, 10])


def test_a_write_into_the_base_of_a_saved_view(backend):
    a = np.array([1.0, 2.0, 3.0])
    w = backend.tensor(a)
    x = w * 1.0
    v = x[:2]
    p = v * v  # saves the view
    x[...] = 0.0
    np.testing.assert_array_equal(num(v), [0, 0])
    p.sum().backward()
    np.testing.assert_array_equal(grad_of(w), [2, 4, 0])


def test_a_write_into_a_saved_matmul_operand(backend):
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    m = np.array([[0.5, 1.0], [-1.0, 2.0]])
    w, mt = backend.tensor(a), backend.tensor(m)
    x = w * 1.0
    y = x @ mt
    x[0, 0] = 9.0
    mt_view = mt[0]
    with ag.no_grad():
        mt_view *= 0.0  # a leaf the product saved, written under no_grad
    y.sum().backward()
    np.testing.assert_allclose(grad_of(w), np.ones((2, 2)) @ m.T)
    np.testing.assert_allclose(grad_of(mt), a.T @ np.ones((2, 2)))


def test_a_no_grad_write_into_a_tensor_a_consumer_saved(backend):
    a = np.array([1.0, 2.0, 3.0])
    w = backend.tensor(a)
    x = w * 1.0
    y = x * x
    with ag.no_grad():
        x[0] = 100.0
        x[1:] *= 2.0
    np.testing.assert_array_equal(num(x), [100, 4, 6])
    (y.sum() + x.sum()).backward()  # x's gradient passes on as if its value had not changed
    np.testing.assert_array_equal(grad_of(w), 2 * a + 1)


# -- 5. leaves that require grad may be written -------------------------------------------------

def test_writes_into_a_leaf_are_differentiable(backend):
    x = backend.tensor([1.0, 2.0, 3.0])
    a = backend.tensor([2.0, -1.0])
    x[0] = 5.0
    v = x[1:]
    v *= a
    assert x.requires_grad
    (x ** 2).sum().backward()
    np.testing.assert_array_equal(num(x), [5, 4, -3])
    np.testing.assert_array_equal(grad_of(x), [10, 8, -6])  # the gradient of its new value
    np.testing.assert_array_equal(grad_of(a), [2 * 4 * 2, 2 * -3 * 3])  # d/da (x_old * a)^2
    np.testing.assert_array_equal(grad_of(v), [8, -6])


def test_a_written_leaf_drops_what_was_read_before_the_write(backend):
    x = backend.tensor([1.0, 2.0, 3.0])
    z = x * 2.0  # reads x's old value
    x[0] = 5.0
    (z + x).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [1, 1, 1])  # MyGrad's answer


def test_a_written_leaf_keeps_accumulating(backend):
    x = backend.tensor([1.0, 2.0, 3.0, 4.0])
    y = x[:2]
    y *= -1
    (x ** 2).backward()
    (x ** 2).backward()  # a second graph from the written leaf
    np.testing.assert_array_equal(grad_of(x), [-4, -8, 12, 16])
    x.zero_grad()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [3, 3, 3, 3])
    np.testing.assert_array_equal(grad_of(y), [3, 3])


def test_an_sgd_step_under_no_grad(backend):
    a = np.array([1.0, -2.0, 3.0])
    w = backend.tensor(a)
    head = w[:2]
    (w ** 2).sum().backward()
    with ag.no_grad():
        w -= 0.1 * w.grad
    want = a - 0.1 * 2 * a
    np.testing.assert_allclose(num(w), want)
    np.testing.assert_allclose(num(head), want[:2])
    assert w.is_leaf and w.requires_grad and w.op is None
    np.testing.assert_allclose(grad_of(w), 2 * a)  # the step leaves the gradient alone
    w.zero_grad()
    (w ** 2).sum().backward()
    np.testing.assert_allclose(grad_of(w), 2 * want)
    with ag.no_grad():
        head[...] = 0.0
        w[2] += 1.0
    np.testing.assert_allclose(num(w), [0, 0, want[2] + 1])
    assert w.is_leaf


# -- 6. retain_grad -----------------------------------------------------------------------------

def test_retain_grad_keeps_an_intermediates_gradient(backend):
    a = np.array([1.0, -2.0, 3.0])
    w = backend.tensor(a)
    h = w * 2.0
    k = h + 1.0
    h.retain_grad()
    assert h.retains_grad and not k.retains_grad
    (k ** 2).sum().backward()
    np.testing.assert_allclose(grad_of(h), 2 * (2 * a + 1))
    assert k.grad is None  # PyTorch: only leaves and retained tensors keep .grad
    np.testing.assert_allclose(grad_of(w), 4 * (2 * a + 1))
    w.retain_grad()  # a no-op on a leaf
    assert w.is_leaf


def test_retain_grad_with_views_and_writes(backend):
    a = np.array([1.0, 2.0, 3.0])
    w = backend.tensor(a)
    x = w * 1.0
    x.retain_grad()
    y = x[1:]
    x[0] = 5.0
    (x ** 2).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [10, 4, 6])  # of x's latest value
    np.testing.assert_array_equal(grad_of(y), [4, 6])
    np.testing.assert_array_equal(grad_of(w), [0, 4, 6])


def test_retain_grad_on_a_constant_raises(backend):
    c = backend.tensor([1.0, 2.0], requires_grad=False)
    with pytest.raises(ag.GraphError):
        c.retain_grad()


# -- 7. performance: scalar writes copy nothing ----------------------------------------------

N = 10 ** 6
BIG = N * 8 // 2  # half a copy of the tensor's memory, in bytes


def _copies_during(writes: Callable[[int], None], count: int) -> int:
    """How many of ``count`` writes allocated at least half the tensor's size (tracemalloc:
    NumPy reports its buffers to it). Stops early once a copy per write is evident."""
    copies = 0
    tracemalloc.start()
    try:
        for i in range(count):
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            writes(i)
            if tracemalloc.get_traced_memory()[1] - before >= BIG:
                copies += 1
                if copies > 10:
                    break
    finally:
        tracemalloc.stop()
    return copies


@pytest.fixture
def numpy_backend(backend):
    if backend.name != "numpy":
        pytest.skip("allocations are traced on the NumPy backend")
    return backend


@pytest.mark.parametrize("kind", ["constant", "non-leaf", "leaf under no_grad", "view"])
def test_scalar_writes_into_a_big_tensor_do_not_copy_it(numpy_backend, kind):
    w = ag.zeros(N, device="cpu", requires_grad=kind in ("non-leaf", "leaf under no_grad"))
    x = w * 1.0 if kind == "non-leaf" else w
    target = x[:1000] if kind == "view" else x
    x[0] = -1.0  # the first write may realize or settle the tensor

    def one(i: int) -> None:
        if kind == "leaf under no_grad":
            with ag.no_grad():
                target[i] = float(i)
        else:
            target[i] = float(i)

    copies = _copies_during(one, 1000)
    assert copies <= 1, f"{copies} of 1,000 scalar writes copied the 10^6-element tensor"
    got = num(x[:1000])
    np.testing.assert_array_equal(got, np.arange(1000.0))


def test_scalar_writes_then_backward_give_the_right_gradient(backend):
    n = 2000
    w = ag.ones(n, device=backend.device, requires_grad=True)
    x = w * 2.0
    for i in range(0, 200):
        x[i] = float(i)
    (x * x).sum().backward()
    want = np.full(n, 8.0)
    want[:200] = 0.0
    np.testing.assert_array_equal(grad_of(w), want)


def test_zero_grad_of_a_view(backend):
    """A view's zero_grad() hides its base's gradient until the base gets a new one."""
    x = backend.tensor([1.0, 2.0, 3.0])
    v = x[:2]
    (x * x).sum().backward()
    assert np.array_equal(v.grad.numpy(), [2.0, 4.0])
    v.zero_grad()
    assert v.grad is None and x.grad is not None
    (x * x).sum().backward()
    assert np.array_equal(v.grad.numpy(), [4.0, 8.0])


def test_create_graph_seed_on_another_device(backend, two_devices):
    """A Tensor seed on another device is refused, with create_graph as without."""
    x = backend.tensor([1.0, 2.0])
    seed = ag.Tensor(np.ones(2), device=two_devices[1])
    for create_graph in (False, True):
        with pytest.raises(ag.DeviceError):
            (x * x).backward(seed, create_graph=create_graph)
        with pytest.raises(ag.DeviceError):
            ag.autograd.grad(x * x, x, seed, create_graph=create_graph)
    assert x.grad is None


def test_device_of_unhashable_kind():
    with pytest.raises(ag.DeviceError):
        ag.backends.Device(["cuda"])
    with pytest.raises(ag.DeviceError):
        ag.backends.Device("cuda", [0])

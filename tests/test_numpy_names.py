"""MyGrad's and NumPy's names: ``copy=False`` on Python data, ``tensor``/``astensor``/
``constant``, ``constant=`` beside ``requires_grad=``, NumPy's aliases (values against NumPy,
gradients against the same program in Array API names), the ndarray methods on Tensor, and
anygrad dtypes that NumPy understands."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

import anygrad as ag
from anygrad import backends

RNG = np.random.default_rng(7)


def _host(shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape)


# -- 1. copy=False on Python data ---------------------------------------------------------------
def test_python_data_with_copy_false_is_copied_on_every_backend(backend):
    assert ag.exp(2.0).item() == pytest.approx(math.exp(2.0))
    assert ag.sum([1.0, 2.0]).item() == 3.0
    assert ag.sum((1, 2, 3)).item() == 6
    assert ag.Tensor(1, copy=False).item() == 1
    t = ag.Tensor([1.0, 2.0], copy=False)
    assert t.device == ag.device(backend.device) and t.requires_grad
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(ag.asarray([[1, 2]], copy=False).numpy(), [[1, 2]])
    assert ag.asarray(np.float32(1.5), copy=False).dtype == ag.float32
    b = backends.get()
    for data in (3.0, [1, 2], (1.0, 2.0), True, 2 + 1j, np.int8(3)):
        arr, got = backends.from_data(data, copy=False)
        assert got is b
        np.testing.assert_array_equal(b.to_numpy(arr), np.asarray(data))
        np.testing.assert_array_equal(b.to_numpy(b.asarray(data, copy=False)), np.asarray(data))


def test_numpy_array_with_copy_false_is_shared_on_numpy():
    a = np.arange(4.0)
    t = ag.Tensor(a, copy=False)
    assert np.shares_memory(t.data, a)
    assert np.shares_memory(ag.asarray(a, copy=False).data, a)
    assert ag.Tensor(a, copy=False, requires_grad=False).data is a
    assert not np.shares_memory(ag.Tensor(a).data, a)  # the default still copies


# -- 2. MyGrad's and PyTorch's creation functions --------------------------------------------
def test_tensor_function(backend):
    t = ag.tensor([1.0, 2.0], label="w")
    assert t.requires_grad and t.is_leaf and t.label == "w"
    assert t.device == ag.device(backend.device)
    assert not ag.tensor([1, 2]).requires_grad
    assert not ag.tensor([1.0], constant=True).requires_grad
    assert not ag.tensor([1.0], requires_grad=False).requires_grad
    assert ag.tensor([1.0], constant=False, requires_grad=True).requires_grad
    assert ag.tensor([1], dtype=ag.float32, constant=False).dtype == ag.float32
    with pytest.raises(TypeError, match="contradicts"):
        ag.tensor([1.0], requires_grad=True, constant=True)
    with pytest.raises(TypeError, match="contradicts"):
        ag.tensor([1.0], requires_grad=False, constant=False)
    with pytest.raises(ag.DTypeError):
        ag.tensor([1, 2], constant=False)
    # a tensor given is copied out of its graph: no gradient flows back to it
    x = backend.tensor([1.0, 2.0])
    y = ag.tensor(x * 2)
    assert y.is_leaf and y.requires_grad
    ag.sum(y * y).backward()
    assert x.grad is None
    np.testing.assert_allclose(y.grad.numpy(), [4.0, 8.0])


def test_tensor_copies_by_default_and_shares_when_asked():
    a = np.arange(3.0)
    assert not np.shares_memory(ag.tensor(a).data, a)
    assert np.shares_memory(ag.tensor(a, copy=False).data, a)


def test_astensor(backend):
    x = backend.tensor([1.0, 2.0]) * 3  # in a graph
    assert ag.astensor(x) is x
    assert ag.astensor(x, dtype=ag.float64) is x
    assert ag.astensor(x, dtype="float64", constant=False) is x
    assert ag.astensor(x, device=backend.device) is x
    c = ag.astensor(x, constant=True)
    assert c is not x and c.constant and c.is_leaf
    np.testing.assert_array_equal(c.numpy(), [3.0, 6.0])
    f = ag.astensor(x, dtype=ag.float32)
    assert f.dtype == ag.float32 and f.requires_grad and f.is_leaf
    i = ag.astensor(x, dtype=ag.int64)  # integer tensors are constants
    assert i.dtype == ag.int64 and i.constant
    k = ag.astensor(backend.tensor([1, 2]))
    assert k.constant and ag.astensor(k, constant=True) is k
    v = ag.astensor(ag.astensor([1.0, 2.0], constant=True), constant=False)
    assert v.requires_grad
    assert ag.astensor([1.0, 2.0]).requires_grad
    assert ag.astensor([1, 2]).constant
    assert ag.astensor([1.0], constant=True).constant
    with pytest.raises(ag.DTypeError):
        ag.astensor(k, constant=False)


def test_astensor_shares_memory_where_it_can():
    a = np.arange(3.0)
    t = ag.astensor(a)
    assert np.shares_memory(t.data, a) and t.requires_grad
    c = ag.astensor(t, constant=True)
    assert np.shares_memory(c.data, a)
    v = ag.astensor(c, constant=False)  # a variable made of a constant: a copy, as in MyGrad
    assert not np.shares_memory(v.data, a) and v.requires_grad


def test_constant(backend):
    x = backend.tensor([1.0, 2.0])
    c = ag.constant(x * 2)
    assert c.constant and c.is_leaf and not c.requires_grad
    np.testing.assert_array_equal(c.numpy(), [2.0, 4.0])
    assert ag.constant([1, 2]).dtype == ag.int64
    assert ag.constant(3.0, dtype=ag.float32).dtype == ag.float32
    y = ag.sum(x * ag.constant([5.0, 7.0]))
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 7.0])
    a = np.arange(3.0)
    if backend.name == "numpy":
        assert np.shares_memory(ag.constant(a).data, a)
        assert not np.shares_memory(ag.constant(a, copy=True).data, a)


def test_array_and_identity(backend):
    x = backend.tensor([1.0, 2.0])
    y = ag.array(x)
    assert y is not x and y.requires_grad  # a copy in the graph, as asarray(copy=True)
    ag.sum(y * 3).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(ag.array([[1, 2]], dtype=ag.float32).numpy(), [[1, 2]])
    np.testing.assert_array_equal(ag.identity(3).numpy(), np.identity(3))
    assert ag.identity(2, ag.int32).dtype == ag.int32


# -- 3. constant= wherever requires_grad= is accepted ------------------------------------------
CREATORS = {
    "zeros": lambda **kw: ag.zeros((2, 3), **kw),
    "ones": lambda **kw: ag.ones(3, **kw),
    "empty": lambda **kw: ag.empty(2, **kw),
    "full": lambda **kw: ag.full((2,), 1.5, **kw),
    "eye": lambda **kw: ag.eye(3, **kw),
    "arange": lambda **kw: ag.arange(0.0, 3.0, **kw),
    "linspace": lambda **kw: ag.linspace(0, 1, 5, **kw),
    "zeros_like": lambda **kw: ag.zeros_like(ag.ones(2), **kw),
    "ones_like": lambda **kw: ag.ones_like(ag.ones(2), **kw),
    "empty_like": lambda **kw: ag.empty_like(ag.ones(2), **kw),
    "full_like": lambda **kw: ag.full_like(ag.ones(2), 4.0, **kw),
    "rand": lambda **kw: ag.random.rand(2, **kw),
    "randn": lambda **kw: ag.random.randn(2, **kw),
    "uniform": lambda **kw: ag.random.uniform(size=2, **kw),
    "normal": lambda **kw: ag.random.normal(size=2, **kw),
}


@pytest.mark.parametrize("name", list(CREATORS))
def test_creation_functions_take_constant(backend, name):
    make = CREATORS[name]
    assert not make().requires_grad  # creation functions make constants by default
    assert make(constant=False).requires_grad
    assert make(requires_grad=True).requires_grad
    assert not make(constant=True).requires_grad
    assert make(constant=False, requires_grad=True).requires_grad
    t = make(constant=False)
    assert t.is_leaf and t.device == ag.device(backend.device)
    ag.sum(t * 2).backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.full(t.shape, 2.0))
    with pytest.raises(TypeError, match="contradicts"):
        make(constant=True, requires_grad=True)


@pytest.mark.parametrize("make", [lambda **kw: ag.zeros(2, dtype=ag.int64, **kw),
                                  lambda **kw: ag.arange(3, **kw),
                                  lambda **kw: ag.full(2, True, **kw)])
def test_integer_and_bool_creations_never_require_grad(backend, make):
    assert not make().requires_grad and not make(constant=True).requires_grad
    with pytest.raises(ag.DTypeError):
        make(constant=False)
    with pytest.raises(ag.DTypeError):
        make(requires_grad=True)


def test_astype_constant(backend):
    x = backend.tensor([1.5, -2.0])
    y = x.astype(ag.float32, constant=True)
    assert y.dtype == ag.float32 and y.constant
    np.testing.assert_array_equal(y.numpy(), np.float32([1.5, -2.0]))
    z = x.astype(ag.float32)  # still differentiable by default
    ag.sum(z * z).backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, -4.0])
    w = x.astype(ag.float32, constant=False)
    assert w.requires_grad and not w.is_leaf  # x requires grad: w stays in its graph
    i = backend.tensor([1, 2])
    f = i.astype(ag.float64, constant=False)  # from an integer tensor: a new leaf
    assert f.requires_grad and f.is_leaf
    ag.sum(f * 3).backward()
    np.testing.assert_array_equal(f.grad.numpy(), [3.0, 3.0])
    assert ag.astype(i, ag.float64).constant
    assert i.astype(ag.int32, constant=True).constant
    assert x.astype(ag.float64, copy=False) is x
    assert x.astype(ag.float64, copy=False, constant=False) is x
    assert x.astype(ag.float64, copy=False, constant=True).constant
    with pytest.raises(ag.DTypeError):
        x.astype(ag.int32, constant=False)


# -- 4. NumPy's aliases: values against NumPy, gradients against the Array API names ------------
def _weighted_sum(out, seed=3):
    """A scalar of ``out`` (a tensor or a sequence of them) with distinct weights per element."""
    outs = out if isinstance(out, list | tuple) else [out]
    rng = np.random.default_rng(seed)
    total = 0.0
    for o in outs:
        w = ag.Tensor(rng.normal(size=o.shape), device=o.device, requires_grad=False)
        total = total + ag.sum(o * w)
    return total


def _values(out):
    return [o.numpy() for o in out] if isinstance(out, list | tuple) else out.numpy()


def _run(fn, arrays, backend):
    tensors = [backend.tensor(a) for a in arrays]
    out = fn(*tensors)
    loss = _weighted_sum(out)
    grads = None
    if getattr(loss, "requires_grad", False):
        loss.backward()
        grads = [t.grad.numpy() if t.grad is not None else None for t in tensors]
    return _values(out), grads


A23, B23, A234, A34 = _host((2, 3)), _host((2, 3)), _host((2, 3, 4)), _host((3, 4))
V3, W3 = _host(3), _host(3)
POS23 = _host((2, 3), 0.5, 2.0)
ACOSH = _host((2, 3), 1.1, 3.0)
UNIT = _host((2, 3), -0.9, 0.9)

# name: (anygrad with NumPy's names, NumPy, anygrad with the Array API names, inputs)
ALIASES = {
    "concatenate": (lambda a, b: ag.concatenate([a, b], 1),
                    lambda a, b: np.concatenate([a, b], 1),
                    lambda a, b: ag.concat([a, b], axis=1), (A23, B23)),
    "concatenate_none": (lambda a, b: ag.concatenate((a, b), axis=None),
                         lambda a, b: np.concatenate((a, b), axis=None),
                         lambda a, b: ag.concat([a, b], axis=None), (A23, A34)),
    "transpose": (lambda a: ag.transpose(a), np.transpose,
                  lambda a: ag.permute_dims(a, (2, 1, 0)), (A234,)),
    "transpose_axes": (lambda a: ag.transpose(a, (1, 0, 2)),
                       lambda a: np.transpose(a, (1, 0, 2)),
                       lambda a: ag.permute_dims(a, (1, 0, 2)), (A234,)),
    "swapaxes": (lambda a: ag.swapaxes(a, 0, -1), lambda a: np.swapaxes(a, 0, -1),
                 lambda a: ag.permute_dims(a, (2, 1, 0)), (A234,)),
    "ravel": (ag.ravel, np.ravel, lambda a: ag.reshape(a, (-1,)), (A234,)),
    "power": (ag.power, np.power, ag.pow, (POS23, B23)),
    "true_divide": (ag.true_divide, np.true_divide, ag.divide, (A23, POS23)),
    "mod": (ag.mod, np.mod, ag.remainder, (A23, POS23)),
    "absolute": (ag.absolute, np.absolute, ag.abs, (A23,)),
    "fabs": (ag.fabs, np.fabs, ag.abs, (A23,)),
    "arccos": (ag.arccos, np.arccos, ag.acos, (UNIT,)),
    "arcsin": (ag.arcsin, np.arcsin, ag.asin, (UNIT,)),
    "arctan": (ag.arctan, np.arctan, ag.atan, (A23,)),
    "arctan2": (ag.arctan2, np.arctan2, ag.atan2, (A23, B23)),
    "arccosh": (ag.arccosh, np.arccosh, ag.acosh, (ACOSH,)),
    "arcsinh": (ag.arcsinh, np.arcsinh, ag.asinh, (A23,)),
    "arctanh": (ag.arctanh, np.arctanh, ag.atanh, (UNIT,)),
    "exp2": (ag.exp2, np.exp2, lambda a: ag.pow(2.0, a), (A23,)),
    "deg2rad": (ag.deg2rad, np.deg2rad, lambda a: a * (ag.pi / 180), (A23,)),
    "radians": (ag.radians, np.radians, lambda a: a * (ag.pi / 180), (A23,)),
    "rad2deg": (ag.rad2deg, np.rad2deg, lambda a: a * (180 / ag.pi), (A23,)),
    "degrees": (ag.degrees, np.degrees, lambda a: a * (180 / ag.pi), (A23,)),
    "rint": (ag.rint, np.rint, ag.round, (A23 * 3,)),
    "fix": (ag.fix, np.fix, ag.trunc, (A23 * 3,)),
    "around": (lambda a: ag.around(a, 2), lambda a: np.around(a, 2),
               lambda a: ag.round(a * 100) / 100, (A23,)),
    "amax": (lambda a: ag.amax(a, 1), lambda a: np.amax(a, 1),
             lambda a: ag.max(a, axis=1), (A234,)),
    "amin": (lambda a: ag.amin(a, (0, 2), True), lambda a: np.amin(a, (0, 2), keepdims=True),
             lambda a: ag.min(a, axis=(0, 2), keepdims=True), (A234,)),
    "cumsum": (ag.cumsum, np.cumsum, lambda a: ag.cumulative_sum(ag.reshape(a, (-1,))),
               (A23,)),
    "cumsum_axis": (lambda a: ag.cumsum(a, 1), lambda a: np.cumsum(a, 1),
                    lambda a: ag.cumulative_sum(a, axis=1), (A23,)),
    "cumprod": (lambda a: ag.cumprod(a, axis=0), lambda a: np.cumprod(a, axis=0),
                lambda a: ag.cumulative_prod(a, axis=0), (POS23,)),
    "cumprod_flat": (ag.cumprod, np.cumprod,
                     lambda a: ag.cumulative_prod(ag.reshape(a, (-1,))), (POS23,)),
    "dot_1d": (ag.dot, np.dot, ag.vecdot, (V3, W3)),
    "dot_2d": (ag.dot, np.dot, ag.matmul, (A23, A34)),
    "dot_2d_1d": (ag.dot, np.dot, ag.matmul, (A34, _host(4))),
    "dot_nd": (ag.dot, np.dot, lambda a, b: ag.tensordot(a, b, axes=((2,), (1,))),
               (A234, _host((2, 4, 5)))),
    "dot_scalar": (ag.dot, np.dot, ag.multiply, (np.float64(1.5), A23)),
    "inner": (ag.inner, np.inner, lambda a, b: ag.tensordot(a, b, axes=((1,), (1,))),
              (A23, B23)),
    "outer": (ag.outer, np.outer,
              lambda a, b: ag.reshape(a, (-1, 1)) * ag.reshape(b, (1, -1)), (A23, V3)),
    "vdot": (ag.vdot, np.vdot, lambda a, b: ag.sum(a * b), (A23, B23)),
    "diagonal": (lambda a: ag.diagonal(a, 1, 0, 2), lambda a: np.diagonal(a, 1, 0, 2),
                 lambda a: ag.linalg.diagonal(ag.permute_dims(a, (1, 0, 2)), offset=1),
                 (A234,)),
    "trace": (ag.trace, np.trace, lambda a: ag.linalg.trace(a), (A34,)),
    "trace_axes": (lambda a: ag.trace(a, axis1=1, axis2=2), lambda a: np.trace(a, axis1=1,
                                                                               axis2=2),
                   lambda a: ag.linalg.trace(a), (A234,)),
    "atleast_1d": (ag.atleast_1d, np.atleast_1d, lambda a: ag.reshape(a, (1,)),
                   (np.float64(2.0),)),
    "atleast_2d": (ag.atleast_2d, np.atleast_2d, lambda a: ag.reshape(a, (1, 3)), (V3,)),
    "atleast_3d_1d": (ag.atleast_3d, np.atleast_3d, lambda a: ag.reshape(a, (1, 3, 1)), (V3,)),
    "atleast_3d_2d": (ag.atleast_3d, np.atleast_3d, lambda a: ag.reshape(a, (2, 3, 1)),
                      (A23,)),
    "atleast_3d_many": (lambda a, b: ag.atleast_3d(a, b), lambda a, b: np.atleast_3d(a, b),
                        lambda a, b: (ag.reshape(a, (1, 1, 1)), ag.reshape(b, (2, 3, 1))),
                        (np.float64(1.0), A23)),
    "vstack": (lambda a, b: ag.vstack([a, b]), lambda a, b: np.vstack([a, b]),
               lambda a, b: ag.stack([a, b]), (V3, W3)),
    "hstack": (lambda a, b: ag.hstack((a, b)), lambda a, b: np.hstack((a, b)),
               lambda a, b: ag.concat([a, b], axis=1), (A23, B23)),
    "hstack_1d": (lambda a, b: ag.hstack((a, b)), lambda a, b: np.hstack((a, b)),
                  lambda a, b: ag.concat([a, b]), (V3, W3)),
    "dstack": (lambda a, b: ag.dstack((a, b)), lambda a, b: np.dstack((a, b)),
               lambda a, b: ag.stack([a, b], axis=2), (A23, B23)),
    "split": (lambda a: ag.split(a, 2, axis=2), lambda a: np.split(a, 2, axis=2),
              lambda a: (a[:, :, :2], a[:, :, 2:]), (A234,)),
    "split_at": (lambda a: ag.split(a, [1, 3]), lambda a: np.split(a, [1, 3]),
                 lambda a: (a[:1], a[1:3], a[3:]), (_host((5, 2)),)),
}


@pytest.mark.parametrize("name", list(ALIASES))
def test_numpy_alias(backend, name):
    fn, np_fn, ref, inputs = ALIASES[name]
    got, grads = _run(fn, inputs, backend)
    want = np_fn(*inputs)
    if isinstance(want, list | tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    ref_values, ref_grads = _run(ref, inputs, backend)
    assert (grads is None) == (ref_grads is None)
    if grads is not None:
        for g, r in zip(grads, ref_grads, strict=True):
            np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


def test_aliases_are_the_array_api_functions():
    assert ag.power is ag.pow and ag.absolute is ag.abs and ag.arccos is ag.acos
    assert ag.true_divide is ag.divide and ag.mod is ag.remainder and ag.conjugate is ag.conj
    assert ag.invert is ag.bitwise_invert and ag.left_shift is ag.bitwise_left_shift
    assert ag.right_shift is ag.bitwise_right_shift
    for name in ("tensor", "astensor", "constant", "concatenate", "transpose", "amax",
                 "atleast_2d", "vstack", "hstack", "dot", "outer", "cumsum"):
        assert name in ag.__all__ and callable(getattr(ag, name))


def test_numpy_alias_errors(backend):
    x = backend.tensor(_host((2, 3)))
    with pytest.raises(ag.ShapeError):
        ag.split(x, 4, axis=1)
    with pytest.raises(ag.ShapeError):
        ag.swapaxes(x, 0, 2)
    with pytest.raises(ag.ShapeError):
        ag.diagonal(backend.tensor([1.0, 2.0]))
    with pytest.raises(TypeError):
        ag.fabs(ag.asarray([1 + 1j]))


def test_clip_takes_numpy_positional_bounds(backend):
    a = _host((2, 3))
    x = backend.tensor(a)
    y = ag.clip(x, -0.5, 0.5)
    np.testing.assert_array_equal(y.numpy(), np.clip(a, -0.5, 0.5))
    ag.sum(y).backward()
    np.testing.assert_array_equal(x.grad.numpy(), ((a > -0.5) & (a < 0.5)).astype(float))


# -- 5. Tensor methods -----------------------------------------------------------------------
def test_copy_method(backend):
    x = backend.tensor([1.0, 2.0])
    y = x * 3
    y.backward(backend.tensor([1.0, 1.0]))
    c = y.copy()
    assert c.is_leaf and c.op is None and c.requires_grad and c is not y
    np.testing.assert_array_equal(c.numpy(), [3.0, 6.0])
    assert (c.grad is None) == (y.grad is None)
    assert not y.copy(constant=True).requires_grad
    assert y.copy(constant=True).device == y.device
    k = backend.tensor([1, 2])
    assert k.copy().constant
    with pytest.raises(ag.DTypeError):
        k.copy(constant=False)
    x.zero_grad()
    ag.sum(c * c).backward()  # the copy is out of x's graph
    assert x.grad is None
    np.testing.assert_array_equal(c.grad.numpy(), [6.0, 12.0])
    # MyGrad's semantics: the gradient is copied too
    w = backend.tensor([1.0, 2.0])
    ag.sum(w * w).backward()
    wc = w.copy()
    np.testing.assert_array_equal(wc.grad.numpy(), [2.0, 4.0])
    assert wc.grad is not w.grad
    assert w.copy(constant=True).constant


def test_copy_method_copies_the_data():
    a = np.arange(3.0)
    t = ag.Tensor(a, copy=False)
    assert not np.shares_memory(t.copy().data, a)


def _method_grads(backend, a, method, reference):
    x, y = backend.tensor(a), backend.tensor(a)
    got, want = method(x), reference(y)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    if got.requires_grad:
        _weighted_sum(got).backward()
        _weighted_sum(want).backward()
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-12)
    return got


def test_shape_methods(backend):
    a = _host((2, 1, 3))
    m = lambda f, r: _method_grads(backend, a, f, r)  # noqa: E731
    assert m(lambda t: t.flatten(), lambda t: ag.reshape(t, (-1,))).shape == (6,)
    assert m(lambda t: t.ravel(), lambda t: ag.reshape(t, (-1,))).shape == (6,)
    rev = lambda t: ag.permute_dims(t, (2, 1, 0))  # noqa: E731
    assert m(lambda t: t.transpose(), rev).shape == (3, 1, 2)
    assert m(lambda t: t.transpose(2, 1, 0), rev).shape == (3, 1, 2)
    assert m(lambda t: t.transpose((2, 1, 0)), rev).shape == (3, 1, 2)
    assert m(lambda t: t.transpose([1, 0, 2]),
             lambda t: ag.permute_dims(t, (1, 0, 2))).shape == (1, 2, 3)
    assert m(lambda t: t.swapaxes(0, 2), rev).shape == (3, 1, 2)
    assert m(lambda t: t.squeeze(), lambda t: ag.reshape(t, (2, 3))).shape == (2, 3)
    assert m(lambda t: t.squeeze(1), lambda t: ag.squeeze(t, 1)).shape == (2, 3)
    assert backend.tensor(np.ones((1, 1))).squeeze().shape == ()
    with pytest.raises(ag.ShapeError):
        backend.tensor(a).squeeze(0)
    np.testing.assert_array_equal(backend.tensor(a).flatten().numpy(), a.flatten())
    np.testing.assert_array_equal(backend.tensor(a).transpose().numpy(), a.transpose())


def test_flatten_is_a_copy():
    a = np.arange(4.0)
    t = ag.Tensor(a, copy=False)
    assert not np.shares_memory(t.flatten().data, a)


def test_math_methods(backend):
    a = _host((2, 3))
    m = lambda f, r: _method_grads(backend, a, f, r)  # noqa: E731
    m(lambda t: t.clip(-0.5, 0.5), lambda t: ag.clip(t, -0.5, 0.5))
    m(lambda t: t.clip(max=0.0), lambda t: ag.minimum(t, 0.0))
    m(lambda t: t.cumsum(), lambda t: ag.cumulative_sum(ag.reshape(t, (-1,))))
    m(lambda t: t.cumsum(axis=1), lambda t: ag.cumulative_sum(t, axis=1))
    m(lambda t: t.cumprod(0), lambda t: ag.cumulative_prod(t, axis=0))
    m(lambda t: t.dot(t.T), lambda t: ag.matmul(t, ag.matrix_transpose(t)))
    m(lambda t: t.diagonal(), lambda t: ag.linalg.diagonal(t))
    m(lambda t: t.trace(offset=1), lambda t: ag.linalg.trace(t, offset=1))
    m(lambda t: t.repeat(2, axis=1), lambda t: ag.repeat(t, 2, axis=1))
    idx = ag.asarray([2, 0])
    m(lambda t: t.take(idx), lambda t: ag.take(ag.reshape(t, (-1,)), idx))
    m(lambda t: t.take(idx, axis=1), lambda t: ag.take(t, idx, axis=1))
    x = backend.tensor(a)
    np.testing.assert_array_equal(x.round().numpy(), np.round(a))
    np.testing.assert_allclose(x.round(1).numpy(), np.round(a, 1))
    np.testing.assert_array_equal(x.any().numpy(), a.any())
    np.testing.assert_array_equal((x > 0).all(0).numpy(), (a > 0).all(0))
    np.testing.assert_array_equal((x > 0).any(axis=1, keepdims=True).numpy(),
                                  (a > 0).any(axis=1, keepdims=True))
    np.testing.assert_array_equal(x.argsort().numpy(), a.argsort())
    np.testing.assert_array_equal(x.argsort(0).numpy(), a.argsort(0))
    np.testing.assert_array_equal(x.argsort(axis=None).numpy(), a.argsort(axis=None))
    for got, want in zip((x > 0).nonzero(), (a > 0).nonzero(), strict=True):
        np.testing.assert_array_equal(got.numpy(), want)
    s = np.sort(a[0])
    np.testing.assert_array_equal(backend.tensor(s).searchsorted(backend.tensor([0.0])).numpy(),
                                  s.searchsorted([0.0]))
    # existing methods stay
    assert x.sum(axis=0).shape == (3,) and x.reshape(3, 2).shape == (3, 2)
    assert x.permute_dims((1, 0)).shape == (3, 2) and x.mean().shape == ()


def test_sort_method_sorts_in_place_differentiably(backend):
    a = _host((2, 4))
    x = backend.tensor(a)
    y = x * 1.0
    assert y.sort() is None
    np.testing.assert_array_equal(y.numpy(), np.sort(a))
    _weighted_sum(y).backward()
    x2 = backend.tensor(a)
    _weighted_sum(ag.sort(x2)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), x2.grad.numpy())
    z = backend.tensor(a, requires_grad=False)
    z.sort(axis=0)
    np.testing.assert_array_equal(z.numpy(), np.sort(a, axis=0))


def test_conj_real_imag_methods(backend):
    c = ag.Tensor(np.array([1 + 2j, 3 - 1j]), device=backend.device)
    np.testing.assert_array_equal(c.conj().numpy(), [1 - 2j, 3 + 1j])
    np.testing.assert_array_equal(c.conjugate().numpy(), [1 - 2j, 3 + 1j])
    np.testing.assert_array_equal(c.real.numpy(), [1.0, 3.0])
    np.testing.assert_array_equal(c.imag.numpy(), [2.0, -1.0])
    ag.sum(c.real * 2 + c.imag * 3).backward()
    np.testing.assert_array_equal(c.grad.numpy(), [2 + 3j, 2 + 3j])


def test_iteration_over_the_first_axis(backend):
    a = _host((3, 2))
    x = backend.tensor(a)
    rows = list(x)
    assert len(rows) == 3
    for row, want in zip(rows, a, strict=True):
        np.testing.assert_array_equal(row.numpy(), want)
    total = 0.0
    for i, row in enumerate(x):
        total = total + ag.sum(row) * (i + 1)
    total.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1], [2, 2], [3, 3]])
    assert [r.item() for r in backend.tensor([4, 5])] == [4, 5]
    with pytest.raises(TypeError, match="0-d"):
        iter(backend.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        list(backend.tensor(1.0))


# -- 6. dtypes NumPy understands ------------------------------------------------------------
@pytest.mark.parametrize("dtype", ag.dtypes.ALL, ids=lambda d: d.name)
def test_numpy_understands_anygrad_dtypes(dtype):
    assert np.dtype(dtype) == np.dtype(dtype.name)
    assert np.zeros(2, dtype=dtype).dtype == np.dtype(dtype.name)
    assert np.dtype(dtype.name) == dtype and dtype == np.dtype(dtype.name)
    assert dtype == np.dtype(dtype.name).type and np.dtype(dtype.name).type == dtype
    others = [d for d in ag.dtypes.ALL if d is not dtype]
    assert all(np.dtype(d.name) != dtype and dtype != np.dtype(d.name).type for d in others)


def test_tensor_dtypes_compare_with_numpy(backend):
    x = backend.tensor(np.ones(2, np.float32))
    assert x.dtype == np.float32 and np.float32 == x.dtype
    assert x.dtype != np.float64 and np.float64 != x.dtype
    assert x.dtype == np.dtype("float32") and np.dtype("float32") == x.dtype
    assert np.issubdtype(x.dtype, np.floating)
    assert np.asarray(x.numpy(), dtype=x.dtype).dtype == np.float32
    assert np.dtype(backend.tensor([1, 2]).dtype) == np.int64


def test_torch_dtypes_still_compare_equal():
    torch = pytest.importorskip("torch")
    assert ag.float32 == torch.float32 and torch.float32 == ag.float32
    assert ag.float32 != torch.float64 and ag.int64 == torch.int64


def test_dtypes_module_imports_no_array_library():
    source = Path(ag.dtypes.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & {"numpy", "cupy", "torch", "array_api_strict", "jax"}


def test_ridge_cv_takes_tensors():
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = x @ np.array([1.0, 2.0, 3.0]) + 0.01 * rng.normal(size=40)
    want = linear_model.RidgeCV(alphas=[0.1, 1.0]).fit(x, y)
    got = linear_model.RidgeCV(alphas=[0.1, 1.0]).fit(ag.Tensor(x), ag.Tensor(y))
    np.testing.assert_allclose(np.asarray(got.coef_), want.coef_, rtol=1e-10)
    assert got.alpha_ == want.alpha_

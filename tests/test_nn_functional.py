"""``anygrad.nn.functional``: every layer and loss against PyTorch (or its formula) forward,
and against float64 central differences backward, on every test backend."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anygrad as ag
from anygrad import nn
from anygrad.nn import functional as F
from anygrad.testing import gradcheck
from tests.strategies import shapes, values

SETTINGS = settings(max_examples=8, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def _torch():
    """PyTorch, the reference where installed (tests needing it skip otherwise)."""
    return pytest.importorskip("torch")


def _t(a):
    return _torch().tensor(np.asarray(a))


def xps_integers(shape, high):
    """int64 arrays of ``shape`` with values in [0, high)."""
    return st.lists(st.integers(0, high - 1), min_size=int(np.prod(shape)),
                    max_size=int(np.prod(shape))).map(
        lambda v: np.asarray(v, dtype=np.int64).reshape(shape))


def close(got, want, tol=1e-6):
    got = got.numpy() if isinstance(got, ag.Tensor) else np.asarray(got)
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# -- activations ----------------------------------------------------------------------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _erf(x):
    return np.vectorize(math.erf)(x)


ACTIVATIONS = {  # name: (anygrad function, reference formula on NumPy)
    "relu": (F.relu, lambda x: np.maximum(x, 0)),
    "sigmoid": (F.sigmoid, _sigmoid),
    "silu": (F.silu, lambda x: x * _sigmoid(x)),
    "softplus": (F.softplus, lambda x: np.log1p(np.exp(x))),
    "tanh": (F.tanh, np.tanh),
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    "gelu_tanh": (lambda x: F.gelu(x, "tanh"), lambda x: 0.5 * x * (1 + np.tanh(
        math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@SETTINGS
@given(data=st.data())
def test_activation_forward_and_gradient(backend, name, data):
    fn, ref = ACTIVATIONS[name]
    x = data.draw(values(data.draw(shapes(max_dims=3)), low=-4, high=4, away_from=0.0))
    close(fn(backend.tensor(x)), ref(x), tol=3e-7)
    gradcheck(fn, backend.tensor(x))


def test_activations_keep_float32_and_do_not_overflow(backend):
    x = backend.tensor(np.array([-1000.0, -1.0, 0.5, 1000.0], dtype=np.float32))
    for fn in (F.sigmoid, F.silu, F.softplus, F.gelu, F.relu):
        y = fn(x)
        assert y.dtype == ag.float32 and np.isfinite(y.numpy()).all()
        y.sum().backward()
        assert x.grad.dtype == ag.float32 and np.isfinite(x.grad.numpy()).all()
        x.zero_grad()
    np.testing.assert_allclose(F.sigmoid(x).numpy(), [0, _sigmoid(-1.0), _sigmoid(0.5), 1],
                               rtol=1e-6)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@SETTINGS
@given(data=st.data())
def test_softmax_forward_and_gradient(backend, fn, data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(values(shape, low=-5, high=5))
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    want = e / e.sum(axis=axis, keepdims=True)
    f = getattr(F, fn)
    close(f(backend.tensor(x), axis), want if fn == "softmax" else np.log(want), tol=1e-10)
    gradcheck(lambda t: f(t, axis), backend.tensor(x))


def test_log_softmax_is_stable_for_huge_logits(backend):
    x = backend.tensor([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(F.log_softmax(x).numpy(), [[0.0, -1000.0, -2000.0]])
    loss = F.cross_entropy(x, backend.tensor(np.array([2])))
    assert loss.item() == pytest.approx(2000.0)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, 0.0, -1.0]], atol=1e-12)


# -- convolution and pooling ------------------------------------------------------------------
@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    h = draw(st.integers(dilation[0] * (k[0] - 1) + 1, 6))
    w = draw(st.integers(dilation[1] * (k[1] - 1) + 1, 6))
    n = draw(st.integers(1, 2))
    return dict(x=(n, cin, h, w), w=(cout, cin // groups, *k), groups=groups, stride=stride,
                padding=padding, dilation=dilation, bias=draw(st.booleans()))


@SETTINGS
@given(case=conv_cases(), seed=st.integers(0, 2 ** 16))
def test_conv2d_matches_torch_and_gradcheck(backend, case, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(case["x"]), rng.standard_normal(case["w"])
    b = rng.standard_normal(case["w"][0]) if case["bias"] else None
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    args = [backend.tensor(x), backend.tensor(w)] + ([backend.tensor(b)] if b is not None else [])
    fn = lambda x, w, b=None: F.conv2d(x, w, b, **kw)
    tf = _torch().nn.functional
    close(fn(*args), tf.conv2d(_t(x), _t(w), None if b is None else _t(b), **kw), tol=1e-10)
    gradcheck(fn, *args)


def test_conv2d_padding_same_and_valid(backend):
    tf = _torch().nn.functional
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((3, 2, 3, 3))
    for padding in ("same", "valid"):
        close(F.conv2d(backend.tensor(x), backend.tensor(w), padding=padding),
              tf.conv2d(_t(x), _t(w), padding=padding), tol=1e-10)


def test_conv2d_float32_gradients_stay_float32(backend):
    conv = nn.Conv2d(2, 3, 3, padding=1, device=backend.device)
    x = backend.tensor(np.ones((2, 2, 4, 4), dtype=np.float32))
    out = conv(x)
    assert out.dtype == ag.float32
    out.sum().backward()
    for t in (x, conv.weight, conv.bias):
        assert t.grad.dtype == ag.float32 and t.grad.device == t.device


def test_conv2d_bad_shapes_raise_shape_error(backend):
    x = backend.tensor(np.zeros((1, 3, 5, 5)))
    with pytest.raises(ag.ShapeError, match="conv2d.*3 channels"):
        F.conv2d(x, backend.tensor(np.zeros((2, 2, 3, 3))))
    with pytest.raises(ag.ShapeError, match="conv2d.*shape \\(N, C, H, W\\)"):
        F.conv2d(backend.tensor(np.zeros((3, 5, 5))), backend.tensor(np.zeros((2, 3, 3, 3))))
    with pytest.raises(ag.ShapeError, match="windows.*does not fit"):
        F.conv2d(x, backend.tensor(np.zeros((2, 3, 7, 7))))


@st.composite
def pool_cases(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.sampled_from([None, 1, 2]))
    padding = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    h, w = draw(st.integers(k[0], 6)), draw(st.integers(k[1], 6))
    return dict(shape=(draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w),
                kernel_size=k, stride=stride, padding=padding)


@pytest.mark.parametrize("kind", ["max", "avg"])
@SETTINGS
@given(case=pool_cases(), data=st.data())
def test_pooling_matches_torch_and_gradcheck(backend, kind, case, data):
    x = data.draw(values(case["shape"], distinct=True))  # no ties: max is differentiable
    kw = {k: case[k] for k in ("kernel_size", "stride", "padding")}
    fn = (lambda t: F.max_pool2d(t, **kw)) if kind == "max" else (lambda t: F.avg_pool2d(t, **kw))
    ref = getattr(_torch().nn.functional, f"{kind}_pool2d")(_t(x), **kw)
    close(fn(backend.tensor(x)), ref, tol=1e-12)
    gradcheck(fn, backend.tensor(x))


def test_max_pool_gives_each_window_gradient_to_its_first_maximum(backend):
    torch = _torch()
    x = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 0.0, 0.0], [5.0, 5.0, 1.0, 1.0],
                    [5.0, 5.0, 1.0, 1.0]]]])
    for kw in ({"kernel_size": 2}, {"kernel_size": 2, "stride": 1},
               {"kernel_size": 3, "stride": 1, "padding": 1}):
        t = backend.tensor(x)
        F.max_pool2d(t, **kw).sum().backward()
        tt = torch.tensor(x, requires_grad=True)
        torch.nn.functional.max_pool2d(tt, **kw).sum().backward()
        np.testing.assert_array_equal(t.grad.numpy(), tt.grad.numpy())
    with pytest.raises(ag.ShapeError, match="max_pool.*does not fit"):
        F.max_pool2d(backend.tensor(np.zeros((1, 1, 2, 2))), 3)


def test_avg_pool_without_padded_counts(backend):
    x = np.arange(2 * 5 * 5, dtype=np.float64).reshape(1, 2, 5, 5)
    fn = lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False)
    close(fn(backend.tensor(x)), _torch().nn.functional.avg_pool2d(
        _t(x), 3, 2, 1, count_include_pad=False), tol=1e-12)
    gradcheck(fn, backend.tensor(x))


def test_max_pool_dilation_and_3d_input(backend):
    x = np.random.default_rng(2).permutation(2 * 7 * 7).reshape(2, 7, 7).astype(np.float64)
    tf = _torch().nn.functional
    close(F.max_pool2d(backend.tensor(x), 2, 1, 0, dilation=2),
          tf.max_pool2d(_t(x), 2, 1, 0, dilation=2))
    close(F.max_pool2d(backend.tensor(x), 2), tf.max_pool2d(_t(x), 2))


@SETTINGS
@given(data=st.data())
def test_pad_forward_and_gradient(backend, data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    k = data.draw(st.integers(1, len(shape)))
    pads = tuple(data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2))) for _ in range(k))
    x = data.draw(values(shape))
    out = F.pad(backend.tensor(x), pads, value=-1.0)
    want = np.pad(x, ((0, 0),) * (len(shape) - k) + pads, constant_values=-1.0)
    np.testing.assert_array_equal(out.numpy(), want)
    gradcheck(lambda t: F.pad(t, pads), backend.tensor(x))


def test_pad_errors(backend):
    with pytest.raises(ag.ShapeError, match="pad"):
        F.pad(backend.tensor(np.zeros((2, 3))), ((1, 1),) * 3)
    with pytest.raises(ag.ShapeError, match="pad"):
        F.pad(backend.tensor(np.zeros((2, 3))), ((-1, 1),))


# -- normalisation, dropout, embedding -------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_batch_norm_training_forward_and_gradient(backend, data):
    shape = data.draw(st.sampled_from([(4, 3), (3, 2, 4), (2, 3, 2, 2)]))
    x = data.draw(values(shape, distinct=True))
    c = shape[1]
    w, b = np.linspace(0.5, 1.5, c), np.linspace(-1, 1, c)
    fn = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)
    want = _torch().nn.functional.batch_norm(_t(x), None, None, _t(w), _t(b), training=True)
    close(fn(backend.tensor(x), backend.tensor(w), backend.tensor(b)), want, tol=1e-10)
    gradcheck(fn, backend.tensor(x), backend.tensor(w), backend.tensor(b))


@SETTINGS
@given(data=st.data())
def test_layer_norm_forward_and_gradient(backend, data):
    shape = data.draw(shapes(min_dims=2, max_dims=3, max_side=4).filter(lambda s: s[-1] > 1))
    x = data.draw(values(shape, distinct=True))
    norm = shape[-1:]
    w, b = np.linspace(0.5, 1.5, norm[0]), np.linspace(-1, 1, norm[0])
    fn = lambda x, w, b: F.layer_norm(x, norm, w, b)
    close(fn(backend.tensor(x), backend.tensor(w), backend.tensor(b)),
          _torch().nn.functional.layer_norm(_t(x), norm, _t(w), _t(b)), tol=1e-10)
    gradcheck(fn, backend.tensor(x), backend.tensor(w), backend.tensor(b))


def test_dropout_scales_survivors_and_is_identity_in_eval(backend):
    ag.random.seed(0)
    x = backend.tensor(np.ones((200, 50), dtype=np.float32))
    y = F.dropout(x, 0.3)
    values_ = np.unique(y.numpy())
    np.testing.assert_allclose(values_, [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((y.numpy() == 0).mean() - 0.3) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())  # the same mask, scaled
    assert F.dropout(x, 0.3, training=False) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all()
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(x, 1.5)


@SETTINGS
@given(data=st.data())
def test_embedding_forward_and_gradient(backend, data):
    vocab, dim = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 3))
    idx_shape = data.draw(shapes(min_dims=1, max_dims=2))
    idx = data.draw(xps_integers(idx_shape, vocab))
    w = data.draw(values((vocab, dim)))
    out = F.embedding(backend.tensor(idx), backend.tensor(w))
    np.testing.assert_array_equal(out.numpy(), w[idx])
    gradcheck(lambda w: F.embedding(backend.tensor(idx), w), backend.tensor(w))


def test_embedding_padding_row_gets_no_gradient(backend):
    w = backend.tensor(np.ones((5, 3)))
    idx = backend.tensor(np.array([[0, 2, 2], [4, 1, 2]]))
    F.embedding(idx, w, padding_idx=2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [1, 1, 0, 0, 1])


# -- losses ----------------------------------------------------------------------------------
def _torch_loss(name, *args, **kw):
    tf = _torch().nn.functional
    return getattr(tf, name)(*[_t(a) if isinstance(a, np.ndarray) else a for a in args],
                             **{k: _t(v) if isinstance(v, np.ndarray) else v
                                for k, v in kw.items()})


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_cross_entropy_with_labels(backend, reduction, data):
    n, c = data.draw(st.integers(1, 5)), data.draw(st.integers(2, 4))
    logits = data.draw(values((n, c), low=-4, high=4))
    y = data.draw(xps_integers((n,), c))
    y[0] = 0  # a label that ignore_index=1 keeps: the mean is never 0 / 0
    weight = np.linspace(0.5, 2.0, c)
    for kw in ({}, {"weight": weight}, {"ignore_index": 1}, {"label_smoothing": 0.1}):
        fn = lambda t: F.cross_entropy(t, backend.tensor(y), reduction=reduction, **{
            k: backend.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
        close(fn(backend.tensor(logits)),
              _torch_loss("cross_entropy", logits, y, reduction=reduction, **kw), tol=1e-10)
        gradcheck(fn, backend.tensor(logits))


def test_cross_entropy_with_probabilities_and_spatial_labels(backend):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((3, 4))
    p = rng.random((3, 4))
    p /= p.sum(axis=1, keepdims=True)
    fn = lambda t: F.cross_entropy(t, backend.tensor(p))
    close(fn(backend.tensor(logits)), _torch_loss("cross_entropy", logits, p), tol=1e-12)
    gradcheck(fn, backend.tensor(logits))
    logits = rng.standard_normal((2, 3, 2, 2))  # (N, C, H, W) with (N, H, W) labels
    y = rng.integers(0, 3, (2, 2, 2))
    close(F.cross_entropy(backend.tensor(logits), backend.tensor(y)),
          _torch_loss("cross_entropy", logits, y), tol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_of_one_sample(backend, reduction):
    x = np.array([0.5, -1.0, 2.0])
    fn = lambda t: F.cross_entropy(t, backend.tensor(np.array(2)), reduction=reduction)
    out = fn(backend.tensor(x))
    assert out.shape == ()
    close(out, _torch_loss("cross_entropy", x, np.array(2), reduction=reduction), tol=1e-12)
    gradcheck(fn, backend.tensor(x))


def test_nll_loss_and_errors(backend):
    rng = np.random.default_rng(2)
    logp = np.log(rng.dirichlet(np.ones(3), size=4))
    y = np.array([2, 0, 1, 1])
    fn = lambda t: F.nll_loss(t, backend.tensor(y))
    close(fn(backend.tensor(logp)), _torch_loss("nll_loss", logp, y), tol=1e-12)
    gradcheck(fn, backend.tensor(logp))
    with pytest.raises(ag.ShapeError, match="nll_loss"):
        F.nll_loss(backend.tensor(logp), backend.tensor(np.array([1, 2])))
    with pytest.raises(ag.DTypeError, match="one_hot"):
        F.nll_loss(backend.tensor(logp), backend.tensor(y.astype(np.float64)))
    with pytest.raises(ValueError, match="reduction"):
        F.nll_loss(backend.tensor(logp), backend.tensor(y), reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_and_binary_losses(backend, reduction):
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((3, 4)) * 3, rng.random((3, 4))
    pw = np.array([0.5, 1.0, 2.0, 3.0])
    cases = {
        "mse_loss": (lambda a: F.mse_loss(a, backend.tensor(t), reduction), {}),
        "l1_loss": (lambda a: F.l1_loss(a, backend.tensor(t), reduction), {}),
        "binary_cross_entropy_with_logits": (
            lambda a: F.binary_cross_entropy_with_logits(a, backend.tensor(t), reduction=reduction,
                                                         pos_weight=backend.tensor(pw)),
            {"pos_weight": pw}),
    }
    for name, (fn, kw) in cases.items():
        close(fn(backend.tensor(x)), _torch_loss(name, x, t, reduction=reduction, **kw),
              tol=1e-10)
        gradcheck(fn, backend.tensor(x))
    p = _sigmoid(x / 3)  # away from 0 and 1, where finite differences lose accuracy
    fn = lambda a: F.binary_cross_entropy(a, backend.tensor(t), reduction=reduction)
    close(fn(backend.tensor(p)), _torch_loss("binary_cross_entropy", p, t, reduction=reduction),
          tol=1e-10)
    gradcheck(fn, backend.tensor(p))


def test_bce_with_logits_is_stable(backend):
    x = backend.tensor([-1000.0, 1000.0])
    loss = F.binary_cross_entropy_with_logits(x, backend.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1000.0, 1000.0])


# -- lazy mode -------------------------------------------------------------------------------
def test_layers_defer_in_lazy_mode_and_match_eager(backend):
    if not hasattr(ag, "lazy"):
        pytest.skip("this anygrad has no lazy mode")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 6, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    y = np.array([0, 2])

    def loss(x, w):
        h = F.max_pool2d(F.relu(F.conv2d(x, w, padding=1)), 2)
        h = F.avg_pool2d(F.gelu(F.pad(h, ((1, 0), (0, 1)))), 2)
        return F.cross_entropy(F.flatten(h, 1)[:, :3], backend.tensor(y))

    eager = [backend.tensor(x), backend.tensor(w)]
    loss(*eager).backward()
    lazy = [backend.tensor(x), backend.tensor(w)]
    with ag.lazy():
        out = loss(*lazy)
        assert ag.lazy.pending(out)
        out.backward()
    for a, b in zip(eager, lazy, strict=True):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-12)

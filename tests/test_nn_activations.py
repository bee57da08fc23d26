"""ELU, SELU, LeakyReLU, Hardtanh, Softsign, GLU; asymmetric Conv2d padding; cross entropy
over any class axis: values and gradients against torch on every test backend (float32 and
float64, dtypes kept), gradients against central differences, argument checks, reprs."""

from __future__ import annotations

import math

import numpy as np
import pytest

import anygrad as ag
from anygrad import nn
from anygrad.errors import AxisError, DTypeError, ShapeError
from anygrad.nn import functional as F
from anygrad.testing import gradcheck

TOL = {np.float32: 2e-6, np.float64: 1e-12}


def _torch():
    return pytest.importorskip("torch")


def _host(t):
    return t.detach().numpy() if hasattr(t, "detach") else t.numpy()


# name: (anygrad function, torch function (of torch and a tensor), kinks to probe)
ACTS = {
    "elu": (F.elu, lambda T, x: T.nn.functional.elu(x), (0.0,)),
    "elu_alpha": (lambda x: F.elu(x, 0.4), lambda T, x: T.nn.functional.elu(x, 0.4), (0.0,)),
    "elu_negative_alpha": (lambda x: F.elu(x, alpha=-0.7),
                           lambda T, x: T.nn.functional.elu(x, -0.7), (0.0,)),
    "selu": (F.selu, lambda T, x: T.nn.functional.selu(x), (0.0,)),
    "leaky_relu": (F.leaky_relu, lambda T, x: T.nn.functional.leaky_relu(x), (0.0,)),
    "leaky_relu_slope": (lambda x: F.leaky_relu(x, negative_slope=0.2),
                         lambda T, x: T.nn.functional.leaky_relu(x, 0.2), (0.0,)),
    "hardtanh": (F.hardtanh, lambda T, x: T.nn.functional.hardtanh(x), (-1.0, 1.0)),
    "hardtanh_bounds": (lambda x: F.hardtanh(x, -2.0, 0.5),
                        lambda T, x: T.nn.functional.hardtanh(x, -2.0, 0.5), (-2.0, 0.5)),
    "softsign": (F.softsign, lambda T, x: T.nn.functional.softsign(x), (0.0,)),
    "glu": (F.glu, lambda T, x: T.nn.functional.glu(x), ()),
    "glu_dim0": (lambda x: F.glu(x, dim=0), lambda T, x: T.nn.functional.glu(x, 0), ()),
    "glu_dim1": (lambda x: F.glu(x, 1), lambda T, x: T.nn.functional.glu(x, 1), ()),
}


def _inputs(kinks, dtype, seed=0, shape=(4, 6)):
    """Values in [-3, 3] with the kinks themselves (and both sides of each) among them."""
    x = np.random.default_rng(seed).uniform(-3, 3, size=shape)
    flat = x.reshape(-1)
    for i, k in enumerate(kinks):
        flat[3 * i:3 * i + 3] = (k, k - 1e-3, k + 1e-3)
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(ACTS))
def test_values_and_gradients_match_torch(backend, name, dtype):
    torch = _torch()
    fn, ref, kinks = ACTS[name]
    x = _inputs(kinks, dtype)
    xt = backend.tensor(x, requires_grad=True)
    out = fn(xt)
    assert out.dtype == xt.dtype and out.device == xt.device
    tx = torch.tensor(x, requires_grad=True)
    want = ref(torch, tx)
    np.testing.assert_allclose(out.numpy(), _host(want), rtol=TOL[dtype], atol=TOL[dtype])
    w = np.random.default_rng(1).normal(size=want.shape).astype(dtype)
    out.backward(backend.tensor(w))
    want.backward(torch.tensor(w))
    assert xt.grad.dtype == xt.dtype and xt.grad.shape == xt.shape
    # at the kinks too: PyTorch's one-sided choices (elu and leaky_relu take the x <= 0 side
    # at 0, hardtanh passes nothing at its bounds)
    np.testing.assert_allclose(xt.grad.numpy(), _host(tx.grad), rtol=TOL[dtype],
                               atol=TOL[dtype])


@pytest.mark.parametrize("name", sorted(ACTS))
def test_gradients_match_central_differences(backend, name):
    fn, _, kinks = ACTS[name]
    x = np.random.default_rng(2).uniform(-3, 3, size=(4, 6))
    for k in kinks:  # keep clear of the kinks, where the derivative jumps
        x = np.where(np.abs(x - k) < 0.05, k + 0.1, x)
    gradcheck(fn, backend.tensor(x, requires_grad=True))


def test_second_derivatives_compose(backend):
    x = backend.tensor(np.array([-1.5, -0.2, 0.3, 2.0]), requires_grad=True)
    for fn in (F.elu, F.selu, F.softsign):
        gradcheck(lambda t, fn=fn: ag.sum(fn(t) * fn(t)), x)


def test_float32_extremes_stay_finite(backend):
    x = backend.tensor(np.array([-1e4, -90.0, -1.0, 0.0, 1.0, 90.0, 1e4, 3e38],
                                dtype=np.float32), requires_grad=True)
    for fn in (F.elu, F.selu, F.leaky_relu, F.hardtanh, F.softsign):
        x.zero_grad()
        y = fn(x)
        y.sum().backward()
        assert y.dtype == ag.float32 and x.grad.dtype == ag.float32
        assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all(), fn
    np.testing.assert_array_equal(F.elu(x).numpy()[:2], [-1.0, -1.0])
    np.testing.assert_array_equal(F.hardtanh(x).numpy(), [-1, -1, -1, 0, 1, 1, 1, 1])


def test_selu_constants_and_formulas():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    np.testing.assert_allclose(F.selu(ag.Tensor(x)).numpy(),
                               scale * np.where(x > 0, x, alpha * np.expm1(x)), rtol=1e-15)
    np.testing.assert_allclose(F.elu(ag.Tensor(x), 2.0).numpy(),
                               np.where(x > 0, x, 2.0 * np.expm1(x)), rtol=1e-15)
    np.testing.assert_allclose(F.softsign(ag.Tensor(x)).numpy(), x / (1 + np.abs(x)))
    np.testing.assert_allclose(F.glu(ag.Tensor(np.arange(4.0))).numpy(),
                               [0.0, 1 / (1 + np.exp(-3.0))])


def test_hardtanh_keeps_integers_and_allows_equal_bounds(backend):
    y = F.hardtanh(backend.tensor(np.array([-3, 0, 2])), -1.5, 1.5)
    assert y.dtype == ag.int64
    np.testing.assert_array_equal(y.numpy(), [-1, 0, 1])
    x = backend.tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    y = F.hardtanh(x, 0.5, 0.5)  # PyTorch's functional form allows min_val == max_val
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("fn", [F.elu, F.selu, F.leaky_relu, F.hardtanh])
def test_inplace_writes_the_input_and_keeps_gradients(backend, fn):
    x = np.array([-2.0, -0.5, 0.5, 2.0])
    a = backend.tensor(x, requires_grad=True)
    h = a * 3
    out = fn(h, inplace=True)
    assert out is h
    (out * out).sum().backward()
    b = backend.tensor(x, requires_grad=True)
    ref = fn(b * 3)
    (ref * ref).sum().backward()
    np.testing.assert_allclose(h.numpy(), ref.numpy(), rtol=1e-15)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-15)


# -- modules --------------------------------------------------------------------------------
MODULES = [  # (anygrad module, torch module (of torch), repr)
    (lambda: nn.ELU(), lambda T: T.nn.ELU(), "ELU(alpha=1.0)"),
    (lambda: nn.ELU(0.5, inplace=True), lambda T: T.nn.ELU(0.5), "ELU(alpha=0.5, inplace=True)"),
    (lambda: nn.SELU(), lambda T: T.nn.SELU(), "SELU()"),
    (lambda: nn.SELU(True), lambda T: T.nn.SELU(), "SELU(inplace=True)"),
    (lambda: nn.LeakyReLU(), lambda T: T.nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"),
    (lambda: nn.LeakyReLU(0.3, True), lambda T: T.nn.LeakyReLU(0.3),
     "LeakyReLU(negative_slope=0.3, inplace=True)"),
    (lambda: nn.Hardtanh(), lambda T: T.nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)"),
    (lambda: nn.Hardtanh(-2, 0.5), lambda T: T.nn.Hardtanh(-2, 0.5),
     "Hardtanh(min_val=-2.0, max_val=0.5)"),
    (lambda: nn.Softsign(), lambda T: T.nn.Softsign(), "Softsign()"),
    (lambda: nn.GLU(), lambda T: T.nn.GLU(), "GLU(dim=-1)"),
    (lambda: nn.GLU(dim=0), lambda T: T.nn.GLU(0), "GLU(dim=0)"),
]


@pytest.mark.parametrize("case", range(len(MODULES)))
def test_modules_match_torch_and_repr(backend, case):
    torch = _torch()
    make, make_torch, text = MODULES[case]
    module = make()
    assert repr(module) == text
    assert list(module.parameters()) == []
    x = _inputs((0.0, -1.0, 1.0), np.float32, seed=case)
    a = backend.tensor(x, requires_grad=True)
    out = module(a * 1)
    tx = torch.tensor(x, requires_grad=True)
    want = make_torch(torch)(tx * 1)
    np.testing.assert_allclose(out.numpy(), _host(want), rtol=2e-6, atol=2e-6)
    out.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), _host(tx.grad), rtol=2e-6, atol=2e-6)


def test_exported_with_pytorch_names():
    for name in ("ELU", "SELU", "LeakyReLU", "Hardtanh", "Softsign", "GLU"):
        assert name in nn.__all__ and isinstance(getattr(nn, name)(), nn.Module)
    for name in ("elu", "selu", "leaky_relu", "hardtanh", "softsign", "glu"):
        assert name in F.__all__ and callable(getattr(F, name))
    model = nn.Sequential(nn.Linear(4, 8), nn.GLU(), nn.ELU(), nn.Linear(4, 2), nn.SELU())
    assert model(ag.Tensor(np.ones((3, 4), dtype=np.float32))).shape == (3, 2)


BAD = [
    (lambda: nn.ELU("1"), TypeError, "ELU: alpha must be a real number"),
    (lambda: nn.ELU(math.inf), ValueError, "ELU: alpha must be finite"),
    (lambda: nn.ELU(inplace=1), TypeError, "ELU: inplace must be a bool"),
    (lambda: nn.SELU(inplace="yes"), TypeError, "SELU: inplace must be a bool"),
    (lambda: nn.LeakyReLU(True), TypeError, "LeakyReLU: negative_slope"),
    (lambda: nn.LeakyReLU(0.1, None), TypeError, "LeakyReLU: inplace"),
    (lambda: nn.Hardtanh(1, 1), ValueError,
     "Hardtanh: max_val (1.0) must be greater than min_val (1.0)"),
    (lambda: nn.Hardtanh(max_val=math.nan), ValueError, "Hardtanh: max_val must be finite"),
    (lambda: nn.Hardtanh(min_val=None), TypeError, "Hardtanh: min_val must be a real number"),
    (lambda: nn.GLU(dim=1.0), TypeError, "GLU: dim must be an int"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_module_arguments_are_checked(case):
    make, error, match = BAD[case]
    with pytest.raises(error, match=match.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_functional_arguments_and_inputs_are_checked(backend):
    x = backend.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="elu: alpha must be finite"):
        F.elu(x, math.nan)
    with pytest.raises(ValueError, match="leaky_relu: negative_slope"):
        F.leaky_relu(x, -math.inf)
    with pytest.raises(ValueError, match=r"hardtanh: max_val \(1.0\) must be at least min_val"):
        F.hardtanh(x, 2, 1)
    with pytest.raises(TypeError, match="selu: inplace must be a bool"):
        F.selu(x, inplace=0)
    with pytest.raises(ShapeError, match=r"glu: .*dimension -1 of input shape \(2, 3\) has "
                                         r"size 3"):
        F.glu(x)
    with pytest.raises(AxisError, match="glu: axis 2 is out of range"):
        F.glu(x, 2)
    with pytest.raises(ShapeError, match="glu: a 0-d input"):
        F.glu(backend.tensor(np.array(1.0)))
    with pytest.raises(TypeError, match="glu: dim must be an int"):
        F.glu(x, "0")
    ints = backend.tensor(np.array([1, 2]))
    for fn in (F.elu, F.selu, F.leaky_relu, F.softsign, F.glu):
        with pytest.raises(DTypeError, match=f"{fn.__name__}: expects a real floating-point "
                                             f"input, not int64"):
            fn(ints)
    with pytest.raises(DTypeError, match="hardtanh: expects a real"):
        F.hardtanh(backend.tensor(np.array([True])))


# -- Conv2d: padding=(top, bottom, left, right) --------------------------------------------
@pytest.mark.parametrize("pads", [(1, 0, 2, 1), (0, 2, 0, 0), (3, 1, 0, 2), (1, 1, 1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_conv2d_four_sided_padding_matches_torch_pad_then_conv(backend, pads, dtype):
    torch = _torch()
    rng = np.random.default_rng(sum(pads))
    x = rng.normal(size=(2, 3, 5, 6)).astype(dtype)
    w = rng.normal(size=(4, 3, 2, 3)).astype(dtype)
    b = rng.normal(size=4).astype(dtype)
    xs, ws, bs = (backend.tensor(v, requires_grad=True) for v in (x, w, b))
    out = F.conv2d(xs, ws, bs, stride=(1, 2), padding=pads)
    assert out.dtype == xs.dtype
    top, bottom, left, right = pads
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    want = torch.nn.functional.conv2d(torch.nn.functional.pad(tx, (left, right, top, bottom)),
                                      tw, tb, stride=(1, 2))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.numpy(), _host(want), rtol=tol, atol=tol)
    g = rng.normal(size=want.shape).astype(dtype)
    out.backward(backend.tensor(g))
    want.backward(torch.tensor(g))
    for ours, theirs in ((xs, tx), (ws, tw), (bs, tb)):
        assert ours.grad.dtype == ours.dtype
        np.testing.assert_allclose(ours.grad.numpy(), _host(theirs.grad), rtol=tol, atol=tol)


def test_conv2d_four_sided_padding_gradcheck(backend):
    rng = np.random.default_rng(5)
    x = backend.tensor(rng.normal(size=(1, 2, 3, 4)), requires_grad=True)
    w = backend.tensor(rng.normal(size=(2, 1, 2, 2)), requires_grad=True)
    gradcheck(lambda a, b: F.conv2d(a, b, padding=(0, 2, 1, 0), groups=2), x, w)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's, for the even kernel
@pytest.mark.parametrize("padding", [0, 1, (2, 1), [1, 0], "same", "valid"])
def test_conv2d_pytorch_padding_forms_unchanged(backend, padding):
    torch = _torch()
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(1, 2, 5, 5)), rng.normal(size=(3, 2, 3, 2))
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w),
                                      padding=tuple(padding) if isinstance(padding, list)
                                      else padding)
    got = F.conv2d(backend.tensor(x), backend.tensor(w), padding=padding)
    np.testing.assert_allclose(got.numpy(), _host(want), rtol=1e-12, atol=1e-12)


def test_conv2d_module_four_sided_padding(backend):
    torch = _torch()
    conv = nn.Conv2d(2, 3, 3, padding=(2, 0, 1, 3), dtype="float64")
    assert conv.padding == (2, 0, 1, 3)
    assert repr(conv) == "Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), padding=(2, 0, 1, 3))"
    assert repr(nn.Conv2d(2, 3, 3, padding=(0, 0, 0, 0))) == \
        "Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1))"
    assert nn.Conv2d(2, 3, 3, padding=1).padding == (1, 1)
    x = np.random.default_rng(4).normal(size=(1, 2, 4, 4))
    out = conv.to(backend.device)(backend.tensor(x))
    assert out.shape == (1, 3, 4, 6)
    tw, tb = (torch.tensor(p.numpy()) for p in (conv.weight, conv.bias))
    want = torch.nn.functional.conv2d(torch.nn.functional.pad(torch.tensor(x), (1, 3, 2, 0)),
                                      tw, tb)
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


BAD_PADDING = [
    ((1, 2, 3), ValueError, "padding must be an int, a pair (height, width), a 4-tuple"),
    ((1, 2, 3, 4, 5), ValueError, "padding must be an int, a pair"),
    ((1, 2, 3, -1), ValueError, "padding must be >= 0, not -1"),
    ((1, 2, 3, 1.0), TypeError, "padding must be an int"),
    ((1, 2, True, 0), TypeError, "padding must be an int"),
]


@pytest.mark.parametrize("case", range(len(BAD_PADDING)))
def test_conv2d_bad_padding(backend, case):
    padding, error, match = BAD_PADDING[case]
    match = match.replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(error, match="Conv2d: " + match):
        nn.Conv2d(1, 1, 2, padding=padding)
    x, w = backend.tensor(np.zeros((1, 1, 4, 4))), backend.tensor(np.zeros((1, 1, 2, 2)))
    with pytest.raises(error, match="conv2d: " + match):
        F.conv2d(x, w, padding=padding)


# -- cross_entropy and nll_loss over a class axis given by dim ------------------------------
CE_OPTIONS = [
    {},
    {"weight": True},
    {"ignore_index": 1},
    {"label_smoothing": 0.2},
    {"weight": True, "ignore_index": 2, "label_smoothing": 0.3},
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", range(len(CE_OPTIONS)))
@pytest.mark.parametrize("dim", [-1, 0, 2])
def test_cross_entropy_dim_matches_torch(backend, dim, case, reduction):
    torch = _torch()
    kw = dict(CE_OPTIONS[case])
    rng = np.random.default_rng(case)
    shape = [3, 5, 4]  # classes (4, or 3 on dim 0, 5 on dim 2) on axis ``dim``
    c = shape[dim]
    x = rng.normal(size=shape)
    y = rng.integers(0, c, size=shape[:dim % 3] + shape[dim % 3 + 1:])
    tkw = dict(kw, reduction=reduction)
    if kw.pop("weight", None):
        wt = rng.uniform(0.5, 2.0, size=c)
        kw["weight"], tkw["weight"] = backend.tensor(wt), torch.tensor(wt)
    xs = backend.tensor(x, requires_grad=True)
    out = F.cross_entropy(xs, backend.tensor(y), dim=dim, reduction=reduction, **kw)
    tx = torch.tensor(x, requires_grad=True)
    want = torch.nn.functional.cross_entropy(torch.movedim(tx, dim, 1), torch.tensor(y), **tkw)
    assert out.shape == tuple(want.shape)
    np.testing.assert_allclose(out.numpy(), _host(want), rtol=1e-12, atol=1e-12)
    g = rng.normal(size=want.shape)
    out.backward(backend.tensor(g))
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(xs.grad.numpy(), _host(tx.grad), rtol=1e-12, atol=1e-12)
    nll = F.nll_loss(F.log_softmax(backend.tensor(x), dim), backend.tensor(y), dim=dim,
                     reduction=reduction, **{k: v for k, v in kw.items()
                                             if k != "label_smoothing"})
    tnll = torch.nn.functional.nll_loss(torch.log_softmax(torch.movedim(torch.tensor(x), dim, 1),
                                                          1), torch.tensor(y),
                                        **{k: v for k, v in tkw.items()
                                           if k != "label_smoothing"})
    np.testing.assert_allclose(nll.numpy(), tnll.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_dim_with_probability_targets(backend, smoothing):
    torch = _torch()
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 3, 5)).astype(np.float32)
    p = rng.dirichlet(np.ones(5), size=(2, 3)).astype(np.float32)
    wt = rng.uniform(0.5, 2, size=5).astype(np.float32)
    xs = backend.tensor(x, requires_grad=True)
    out = F.cross_entropy(xs, backend.tensor(p), backend.tensor(wt), label_smoothing=smoothing,
                          dim=-1)
    assert out.dtype == ag.float32
    tx = torch.tensor(x, requires_grad=True)
    want = torch.nn.functional.cross_entropy(tx.permute(0, 2, 1),
                                             torch.tensor(p).permute(0, 2, 1),
                                             torch.tensor(wt), label_smoothing=smoothing)
    np.testing.assert_allclose(out.numpy(), _host(want), rtol=1e-5)
    out.backward()
    want.backward()
    assert xs.grad.dtype == ag.float32
    np.testing.assert_allclose(xs.grad.numpy(), _host(tx.grad), rtol=1e-5, atol=1e-7)


def test_cross_entropy_dim_gradcheck_and_default(backend):
    rng = np.random.default_rng(8)
    x = backend.tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    y = backend.tensor(rng.integers(0, 4, size=(2, 3)))
    gradcheck(lambda t: F.cross_entropy(t, y, dim=2, label_smoothing=0.1), x)
    y1 = backend.tensor(rng.integers(0, 3, size=(2, 4)))
    np.testing.assert_array_equal(F.cross_entropy(x, y1).numpy(),
                                  F.cross_entropy(x, y1, dim=1).numpy())
    np.testing.assert_allclose(F.cross_entropy(x, y1, dim=-2).numpy(),
                               F.cross_entropy(x, y1).numpy(), rtol=1e-15)


def test_cross_entropy_one_sample_takes_any_of_its_axes(backend):
    x = backend.tensor(np.array([0.5, -1.0, 2.0]))
    y = backend.tensor(np.array(2))
    want = F.cross_entropy(x, y).item()
    assert want == pytest.approx(-math.log(math.exp(2) / (math.exp(0.5) + math.exp(-1) +
                                                          math.exp(2))))
    for dim in (0, -1):
        assert F.cross_entropy(x, y, dim=dim).item() == want
    with pytest.raises(AxisError, match="cross_entropy: axis 2 is out of range"):
        F.cross_entropy(x, y, dim=2)


def test_cross_entropy_dim_errors(backend):
    x = backend.tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ShapeError, match=r"cross_entropy: input of shape \(2, 3, 4\) \(classes "
                                         r"on dim 2\) needs targets of shape \(2, 3\), got "
                                         r"\(2, 4\)"):
        F.cross_entropy(x, backend.tensor(np.zeros((2, 4), dtype=np.int64)), dim=-1)
    with pytest.raises(IndexError, match="nll_loss: label 4 is out of range for C=4"):
        F.nll_loss(x, backend.tensor(np.full((2, 3), 4)), dim=2)
    with pytest.raises(AxisError, match="nll_loss: axis 3 is out of range"):
        F.nll_loss(x, backend.tensor(np.zeros((2, 3), dtype=np.int64)), dim=3)
    with pytest.raises(TypeError, match="cross_entropy: dim must be an int"):
        F.cross_entropy(x, backend.tensor(np.zeros((2, 4), dtype=np.int64)), dim=1.0)
    with pytest.raises(ShapeError, match="cross_entropy: expects input of shape"):
        F.cross_entropy(backend.tensor(np.array(1.0)), backend.tensor(np.array(0)))
    with pytest.raises(ShapeError, match=r"cross_entropy: weight must have shape \(4,\)"):
        F.cross_entropy(x, backend.tensor(np.zeros((2, 3), dtype=np.int64)),
                        backend.tensor(np.ones(3)), dim=2)


def test_loss_modules_take_the_class_axis(backend):
    rng = np.random.default_rng(0)
    x = backend.tensor(rng.standard_normal((4, 3, 5)))
    t = backend.tensor(rng.integers(0, 5, (4, 3)), requires_grad=False)
    moved = ag.moveaxis(x, -1, 1)
    np.testing.assert_allclose(nn.CrossEntropyLoss(dim=-1)(x, t).numpy(),
                               F.cross_entropy(moved, t).numpy(), rtol=1e-12)
    logp = F.log_softmax(x, axis=-1)
    np.testing.assert_allclose(nn.NLLLoss(dim=2)(logp, t).numpy(),
                               F.nll_loss(ag.moveaxis(logp, -1, 1), t).numpy(), rtol=1e-12)

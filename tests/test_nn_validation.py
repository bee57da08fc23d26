"""Nothing silently wrong in ``anygrad.nn`` and ``anygrad.optim`` (issue 11): labels out of
range raise instead of leaving the loss, losses refuse to broadcast their target, garbage
arguments raise typed errors naming the layer or optimizer and the argument, and
``load_state_dict`` is all or nothing. ``ignore_index`` is compared with PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import anygrad as ag
from anygrad import nn, optim
from anygrad.nn import functional as F


def _torch():
    return pytest.importorskip("torch")


def close(got, want, tol=1e-10):
    got = got.numpy() if isinstance(got, ag.Tensor) else np.asarray(got)
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# -- 1. labels outside [0, C) ----------------------------------------------------------------
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [3, 7, -1, -5])
def test_label_out_of_range_raises_naming_label_and_classes(backend, loss, bad):
    x = backend.tensor(np.log(np.full((4, 3), 1 / 3)))
    y = backend.tensor(np.array([0, bad, 2, 1]))
    with pytest.raises(IndexError, match=f"{loss}: label {bad} is out of range for C=3"):
        getattr(F, loss)(x, y)


def test_all_bad_labels_raise_instead_of_nan(backend):
    x = backend.tensor(np.zeros((2, 3)))
    with pytest.raises(IndexError, match="label 5"):
        F.cross_entropy(x, backend.tensor(np.array([5, 5])))
    with pytest.raises(IndexError, match="label -1"):  # spatial labels too
        F.cross_entropy(backend.tensor(np.zeros((1, 3, 2, 2))),
                        backend.tensor(np.array([[[0, 1], [-1, 2]]])))
    with pytest.raises(IndexError, match="label 3"):  # one sample
        F.cross_entropy(backend.tensor(np.zeros(3)), backend.tensor(np.array(3)))


def test_loss_modules_check_labels_too():
    x = ag.Tensor(np.zeros((2, 3)))
    with pytest.raises(IndexError, match="cross_entropy: label 3"):
        nn.CrossEntropyLoss()(x, ag.Tensor(np.array([0, 3])))
    with pytest.raises(IndexError, match="nll_loss: label -2"):
        nn.NLLLoss()(x, ag.Tensor(np.array([-2, 0])))


def test_unsigned_and_narrow_labels(backend):
    x = np.random.default_rng(0).standard_normal((3, 4))
    for dtype in (np.uint8, np.int8, np.int32):
        y = np.array([0, 3, 1], dtype=dtype)
        want = F.cross_entropy(backend.tensor(x), backend.tensor(y.astype(np.int64)))
        close(F.cross_entropy(backend.tensor(x), backend.tensor(y)), want.numpy())
    with pytest.raises(IndexError, match="label 4"):
        F.cross_entropy(backend.tensor(x), backend.tensor(np.array([0, 4, 1], dtype=np.uint8)))
    y8 = np.array([0, -100, 1], dtype=np.int8)  # -100 fits in int8: ignored
    close(F.cross_entropy(backend.tensor(x), backend.tensor(y8)),
          F.cross_entropy(backend.tensor(x[[0, 2]]), backend.tensor(np.array([0, 1]))).numpy())


CASES = [  # (labels, keyword arguments): ignore_index default, in range, with weight, smoothing
    (np.array([0, -100, 2, 1, -100]), {}),
    (np.array([0, 1, 2, 1, 1]), {"ignore_index": 1}),
    (np.array([0, 7, 2, 7, 1]), {"ignore_index": 7}),
    (np.array([0, -100, 2, 1, -100]), {"weight": np.array([0.5, 2.0, 1.5])}),
    (np.array([2, 1, 2, 1, 0]), {"weight": np.array([0.5, 2.0, 1.5]), "ignore_index": 1}),
    (np.array([0, -100, 2, 1, -100]), {"label_smoothing": 0.2}),
    (np.array([0, 1, 2, 1, 0]), {"label_smoothing": 0.3, "ignore_index": 0}),
    (np.array([0, -100, 2, 1, 1]), {"label_smoothing": 0.1, "weight": np.array([0.5, 2.0, 1.5])}),
    (np.array([2, 1, 2, 1, 0]), {"label_smoothing": 0.1, "weight": np.array([0.5, 2.0, 1.5]),
                                 "ignore_index": 2}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_ignore_index_matches_torch(backend, reduction, case):
    torch = _torch()
    y, kw = CASES[case]
    logits = np.random.default_rng(case).standard_normal((5, 3))
    x = backend.tensor(logits, requires_grad=True)
    ours = F.cross_entropy(x, backend.tensor(y), reduction=reduction,
                           **{k: backend.tensor(v) if isinstance(v, np.ndarray) else v
                              for k, v in kw.items()})
    tx = torch.tensor(logits, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(
        tx, torch.tensor(y), reduction=reduction,
        **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    close(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    close(x.grad, tx.grad)
    ignored = y == kw.get("ignore_index", -100)
    np.testing.assert_array_equal(x.grad.numpy()[ignored], 0)  # ignored: no gradient at all


def test_ignore_index_nll_loss_and_spatial_match_torch(backend):
    torch = _torch()
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((2, 3, 2, 2))
    y = np.array([[[0, -100], [2, 1]], [[-100, -100], [1, 2]]])
    x = backend.tensor(logits, requires_grad=True)
    ours = F.cross_entropy(x, backend.tensor(y))
    tx = torch.tensor(logits, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(tx, torch.tensor(y))
    close(ours, theirs)
    ours.backward()
    theirs.backward()
    close(x.grad, tx.grad)
    logp = np.log(rng.dirichlet(np.ones(3), size=4))
    y = np.array([2, -100, 1, 2])
    close(F.nll_loss(backend.tensor(logp), backend.tensor(y), ignore_index=-100),
          torch.nn.functional.nll_loss(torch.tensor(logp), torch.tensor(y)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's 0 / 0
def test_every_sample_ignored_gives_torchs_nan():
    y = np.array([-100, -100])
    out = F.cross_entropy(ag.Tensor(np.zeros((2, 3))), ag.Tensor(y))
    assert math.isnan(out.item())  # mean over no samples: 0 / 0, as PyTorch
    assert F.cross_entropy(ag.Tensor(np.zeros((2, 3))), ag.Tensor(y), reduction="sum").item() == 0


def test_ignore_index_must_be_an_int():
    with pytest.raises(TypeError, match="cross_entropy: ignore_index must be an int"):
        F.cross_entropy(ag.Tensor(np.zeros((2, 3))), ag.Tensor(np.array([0, 1])),
                        ignore_index=1.5)
    with pytest.raises(TypeError, match="NLLLoss: ignore_index"):
        nn.NLLLoss(ignore_index="1")


@pytest.mark.parametrize("bad", [10, 11, -1])
def test_embedding_index_out_of_range_raises(backend, bad):
    w = backend.tensor(np.ones((10, 2)))
    with pytest.raises(IndexError, match=f"index {bad} is out of range for num_embeddings=10"):
        F.embedding(backend.tensor(np.array([[0, bad]])), w)
    emb = nn.Embedding(10, 2, padding_idx=0, device=backend.device)
    with pytest.raises(IndexError, match=f"index {bad} .*num_embeddings=10"):
        emb(backend.tensor(np.array([bad, 0])))


def test_embedding_padding_idx(backend):
    w = backend.tensor(np.ones((5, 2)), requires_grad=True)
    F.embedding(backend.tensor(np.array([4, 1, 4, 0])), w, padding_idx=-1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [1, 1, 0, 0, 0])  # -1 is row 4
    emb = nn.Embedding(5, 2, padding_idx=-2)
    assert emb.padding_idx == 3
    np.testing.assert_array_equal(emb(ag.Tensor(np.array([3]))).numpy(), 0)  # padding: valid
    with pytest.raises(ValueError, match="Embedding: padding_idx must be >= -5 and <= 4, not 5"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="embedding: padding_idx"):
        F.embedding(backend.tensor(np.array([0])), w, padding_idx=-6)
    with pytest.raises(ag.DTypeError, match="embedding: indices must be integers"):
        F.embedding(backend.tensor(np.array([0.0])), w)


def test_one_hot_label_out_of_range(backend):
    np.testing.assert_array_equal(
        F.one_hot(backend.tensor(np.array([2, 0])), 3).numpy(), [[0, 0, 1], [1, 0, 0]])
    for bad in (3, -1):
        with pytest.raises(IndexError, match=f"one_hot: label {bad} .*num_classes=3"):
            F.one_hot(backend.tensor(np.array([0, bad])), 3)
    with pytest.raises(ValueError, match="one_hot: num_classes"):
        F.one_hot(backend.tensor(np.array([0])), 0)


def test_label_check_is_one_device_reduction(monkeypatch):
    """Labels are checked by min/max on the backend, then one host transfer (no loop)."""
    backend = ag.Tensor([0]).backend
    monkeypatch.setattr("anygrad.lazy.schedule.check", None)  # (compile mode's replays compare
    calls = []                                                 # arrays through to_numpy too)
    real = type(backend).to_numpy
    monkeypatch.setattr(type(backend), "to_numpy",
                        lambda self, a: calls.append(a.shape) or real(self, a))
    F.cross_entropy(ag.Tensor(np.zeros((1000, 3))), ag.Tensor(np.zeros(1000, dtype=np.int64)))
    assert calls == [(2,)]


# -- 2. losses refuse to broadcast their target -------------------------------------------------
LOSSES = {
    "mse_loss": F.mse_loss, "l1_loss": F.l1_loss,
    "binary_cross_entropy": F.binary_cross_entropy,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
}


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("shapes", [((3,), (3, 1)), ((3, 1), (3,)), ((2, 3), (3,)), ((3,), ())])
def test_losses_refuse_different_shapes(backend, name, shapes):
    a, b = shapes
    x = backend.tensor(np.full(a, 0.5))
    t = backend.tensor(np.full(b, 0.25))
    want = f"{name}: input shape {a!r} and target shape {b!r} differ"
    with pytest.raises(ag.ShapeError, match=want.replace("(", r"\(").replace(")", r"\)")):
        LOSSES[name](x, t)


@pytest.mark.parametrize("module", [nn.MSELoss, nn.L1Loss, nn.BCELoss, nn.BCEWithLogitsLoss])
def test_loss_modules_refuse_different_shapes(module):
    with pytest.raises(ag.ShapeError, match=r"\(3,\) and target shape \(3, 1\)"):
        module()(ag.Tensor(np.full(3, 0.5)), ag.Tensor(np.full((3, 1), 0.5)))


def test_same_shape_losses_still_match_torch(backend):
    torch = _torch()
    x, t = np.array([0.2, 0.7, 0.4]), np.array([0.0, 1.0, 0.5])
    close(F.mse_loss(backend.tensor(x), backend.tensor(t)),
          torch.nn.functional.mse_loss(torch.tensor(x), torch.tensor(t)))
    close(F.l1_loss(backend.tensor(x), t), torch.nn.functional.l1_loss(torch.tensor(x),
                                                                       torch.tensor(t)))


# -- 3. garbage arguments -------------------------------------------------------------------
def _p():
    return nn.Parameter(ag.Tensor([1.0, 2.0]))


BAD_SETTINGS = [  # (optimizer, setting, bad value, error)
    *[(opt, "lr", v, err) for opt in ("SGD", "Adam", "AdamW")
      for v, err in (("0.1", TypeError), (None, TypeError), (True, TypeError),
                     (math.nan, ValueError), (math.inf, ValueError), (-0.1, ValueError))],
    *[("SGD", k, v, err) for k in ("momentum", "weight_decay")
      for v, err in (("0.9", TypeError), (math.nan, ValueError), (-1.0, ValueError))],
    ("SGD", "dampening", math.inf, ValueError), ("SGD", "nesterov", "yes", TypeError),
    *[(opt, k, v, err) for opt in ("Adam", "AdamW") for k in ("eps", "weight_decay")
      for v, err in (([1e-8], TypeError), (math.nan, ValueError), (-1e-8, ValueError))],
    *[(opt, "betas", v, err) for opt in ("Adam", "AdamW")
      for v, err in ((0.9, TypeError), ((0.9,), ValueError), ((0.9, math.nan), ValueError),
                     ((1.0, 0.999), ValueError), ((-0.1, 0.9), ValueError),
                     (("0.9", 0.9), TypeError))],
    ("Adam", "amsgrad", 1, TypeError), ("AdamW", "maximize", "no", TypeError),
]


@pytest.mark.parametrize("opt,key,value,error", BAD_SETTINGS)
def test_optimizer_settings_are_checked(opt, key, value, error):
    p = _p()
    with pytest.raises(error, match=f"{opt}: {key} must"):
        getattr(optim, opt)([p], **{key: value})
    good = getattr(optim, opt)([p])
    with pytest.raises(error, match=rf"{opt} \(parameter group 1\): {key} must"):
        good.add_param_group({"params": [_p()], key: value})
    assert len(good.param_groups) == 1
    with pytest.raises(error, match=rf"{opt} \(parameter group 0\): {key} must"):
        getattr(optim, opt)([{"params": [_p()], key: value}])


def test_nan_learning_rate_no_longer_destroys_parameters():
    p = _p()
    with pytest.raises(ValueError, match="SGD: lr must be finite"):
        optim.SGD([p], lr=float("nan"))
    np.testing.assert_array_equal(p.numpy(), [1.0, 2.0])


def test_optimizer_settings_are_normalised():
    opt = optim.Adam([_p()], lr=1, betas=[0.5, 0.25], weight_decay=0)
    group = opt.param_groups[0]
    assert group["lr"] == 1.0 and isinstance(group["lr"], float)
    assert group["betas"] == (0.5, 0.25)
    with pytest.raises(TypeError, match="parameter group is a dict"):
        opt.add_param_group([_p()])
    with pytest.raises(ValueError, match=r"SGD \(parameter group 0\): Nesterov"):
        optim.SGD([{"params": [_p()], "nesterov": True}], momentum=0.9, dampening=0.1)


@pytest.mark.parametrize("make,error,match", [
    (lambda: optim.lr_scheduler.StepLR(optim.SGD([_p()]), step_size=0), ValueError,
     "StepLR: step_size"),
    (lambda: optim.lr_scheduler.StepLR(optim.SGD([_p()]), 2, gamma="0.1"), TypeError,
     "StepLR: gamma"),
    (lambda: optim.lr_scheduler.CosineAnnealingLR(optim.SGD([_p()]), T_max=0), ValueError,
     "CosineAnnealingLR: T_max"),
    (lambda: optim.lr_scheduler.ReduceLROnPlateau(optim.SGD([_p()]), factor=math.nan),
     ValueError, "ReduceLROnPlateau: factor"),
    (lambda: optim.lr_scheduler.ReduceLROnPlateau(optim.SGD([_p()]), patience=1.5),
     TypeError, "ReduceLROnPlateau: patience"),
    (lambda: optim.lr_scheduler.ReduceLROnPlateau(optim.SGD([_p()]), min_lr=[0.0, 0.0]),
     ValueError, "ReduceLROnPlateau: min_lr"),
])
def test_scheduler_settings_are_checked(make, error, match):
    with pytest.raises(error, match=match):
        make()


BAD_LAYERS = [  # (constructor, error, message)
    (lambda: nn.Linear(-1, 2), ValueError, "Linear: in_features must be >= 1, not -1"),
    (lambda: nn.Linear(2.5, 2), TypeError, "Linear: in_features must be an int"),
    (lambda: nn.Linear(2, 0), ValueError, "Linear: out_features"),
    (lambda: nn.Conv2d(1, 2, 3, stride=0), ValueError, "Conv2d: stride must be >= 1, not 0"),
    (lambda: nn.Conv2d(1, 2, 3, stride=(1, -1)), ValueError, "Conv2d: stride"),
    (lambda: nn.Conv2d(1, 2, 3, padding=-1), ValueError, "Conv2d: padding must be >= 0"),
    (lambda: nn.Conv2d(1, 2, 3, padding="full"), ValueError, "Conv2d: padding must be one of"),
    (lambda: nn.Conv2d(1, 2, 3, stride=2, padding="same"), ValueError,
     "Conv2d: padding='same' needs stride 1"),
    (lambda: nn.Conv2d(1, 2, 0), ValueError, "Conv2d: kernel_size must be >= 1"),
    (lambda: nn.Conv2d(1, 2, (3, 3, 3)), ValueError, "Conv2d: kernel_size must be an int or"),
    (lambda: nn.Conv2d(1, 2, 3.0), TypeError, "Conv2d: kernel_size"),
    (lambda: nn.Conv2d(1, 2, 3, dilation=0), ValueError, "Conv2d: dilation"),
    (lambda: nn.Conv2d(2, 2, 3, groups=0), ValueError, "Conv2d: groups"),
    (lambda: nn.Conv2d(0, 2, 3), ValueError, "Conv2d: in_channels"),
    (lambda: nn.MaxPool2d(kernel_size=0), ValueError, "MaxPool2d: kernel_size must be >= 1"),
    (lambda: nn.MaxPool2d(2, stride=0), ValueError, "MaxPool2d: stride"),
    (lambda: nn.MaxPool2d(2, padding=-1), ValueError, "MaxPool2d: padding"),
    (lambda: nn.MaxPool2d(2, padding=2), ValueError, "MaxPool2d: padding 2 should be at most"),
    (lambda: nn.MaxPool2d(2, dilation=0), ValueError, "MaxPool2d: dilation"),
    (lambda: nn.AvgPool2d("2"), TypeError, "AvgPool2d: kernel_size"),
    (lambda: nn.Dropout(p=2), ValueError, "Dropout: p must be finite and >= 0.0 and <= 1.0"),
    (lambda: nn.Dropout(p=math.nan), ValueError, "Dropout: p"),
    (lambda: nn.Dropout(p="0.5"), TypeError, "Dropout: p must be a real number"),
    (lambda: nn.Embedding(0, 2), ValueError, "Embedding: num_embeddings"),
    (lambda: nn.BatchNorm2d(3, momentum=2.0), ValueError, "BatchNorm2d: momentum"),
    (lambda: nn.BatchNorm1d(3, eps=-1e-5), ValueError, "BatchNorm1d: eps"),
    (lambda: nn.BatchNorm1d(-3), ValueError, "BatchNorm1d: num_features"),
    (lambda: nn.LayerNorm((3, 0)), ValueError, "LayerNorm: normalized_shape"),
    (lambda: nn.LayerNorm(3, eps=math.inf), ValueError, "LayerNorm: eps"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=2), ValueError,
     "CrossEntropyLoss: label_smoothing must be finite and >= 0.0 and <= 1.0, not 2"),
    (lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError, "CrossEntropyLoss: reduction"),
    (lambda: nn.MSELoss(reduction=None), ValueError, "MSELoss: reduction"),
    (lambda: nn.GELU("fast"), ValueError, "GELU: approximate"),
    (lambda: nn.LeakyReLU(math.nan), ValueError, "LeakyReLU: negative_slope"),
    (lambda: nn.Softmax(dim=1.0), TypeError, "Softmax: dim"),
    (lambda: nn.Flatten("1"), TypeError, "Flatten: start_dim"),
]


@pytest.mark.parametrize("case", range(len(BAD_LAYERS)))
def test_layer_arguments_are_checked(case):
    make, error, match = BAD_LAYERS[case]
    with pytest.raises(error, match=match.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_functional_arguments_are_checked(backend):
    x = backend.tensor(np.zeros((1, 1, 4, 4)))
    w = backend.tensor(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="conv2d: stride must be >= 1"):
        F.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match="conv2d: padding must be >= 0"):
        F.conv2d(x, w, padding=-1)
    with pytest.raises(ValueError, match="conv2d: groups"):
        F.conv2d(x, w, groups=0)
    with pytest.raises(ValueError, match="max_pool2d: kernel_size"):
        F.max_pool2d(x, 0)
    with pytest.raises(ValueError, match="avg_pool2d: stride"):
        F.avg_pool2d(x, 2, stride=-1)
    with pytest.raises(ValueError, match="dropout: p"):
        F.dropout(x, p=1.5)
    y = backend.tensor(np.array([0]))
    for bad, error in ((2, ValueError), (-0.1, ValueError), (math.nan, ValueError),
                       ("0.1", TypeError)):
        with pytest.raises(error, match="cross_entropy: label_smoothing"):
            F.cross_entropy(backend.tensor(np.zeros((1, 3))), y, label_smoothing=bad)


# -- 4. load_state_dict: all or nothing ---------------------------------------------------------
def _net():
    ag.random.seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.Linear(2, 2))


def _snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def _unchanged(module, before):
    after = _snapshot(module)
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)


@pytest.mark.parametrize("corrupt,error,match", [
    (lambda sd: sd.update({"2.weight": np.zeros((3, 2))}), ag.ShapeError,
     r"2.weight has shape \(3, 2\) in the state dict, \(2, 2\) in the module"),
    (lambda sd: sd.update({"1.num_batches_tracked": np.array(1.5)}), ag.DTypeError,
     "1.num_batches_tracked holds float64"),
    (lambda sd: sd.update({"2.bias": np.array([1 + 2j, 3j])}), ag.DTypeError,
     "2.bias holds complex128"),
    (lambda sd: sd.update({"2.bias": "not an array"}), ag.DTypeError, "2.bias"),
    (lambda sd: sd.pop("2.bias"), KeyError, r"missing keys \['2.bias'\]"),
    (lambda sd: sd.update({"3.weight": np.zeros(2)}), KeyError, r"unexpected keys \['3.weight'\]"),
])
def test_module_load_state_dict_is_all_or_nothing(corrupt, error, match):
    net = _net()
    before = _snapshot(net)
    sd = {k: v + 1 for k, v in before.items()}  # every value differs: any write would show
    corrupt(sd)
    with pytest.raises(error, match=match):
        net.load_state_dict(sd)
    _unchanged(net, before)


def test_module_load_state_dict_still_loads_and_converts(backend):
    net = _net().to(backend.device)
    sd = {k: v + 1 for k, v in _snapshot(net).items()}
    sd["1.num_batches_tracked"] = np.array(4, dtype=np.int32)  # int into int64: lossless
    sd["0.weight"] = sd["0.weight"].astype(np.float64)          # float64 into float32
    net.load_state_dict(sd)
    assert net[1].num_batches_tracked.item() == 4 and net[0].weight.dtype == ag.float32
    np.testing.assert_allclose(net[0].weight.numpy(), sd["0.weight"], rtol=1e-6)
    with pytest.raises(TypeError, match="load_state_dict: expects a dict"):
        net.load_state_dict([("0.weight", sd["0.weight"])])


def _trained(make, steps=2):
    ps = [nn.Parameter(ag.Tensor([1.0, -2.0, 3.0])), nn.Parameter(ag.Tensor([[0.5, 0.25]]))]
    opt = make(ps)
    for _ in range(steps):
        opt.zero_grad()
        sum((p * p).sum() for p in ps).backward()
        opt.step()
    return ps, opt


def _opt_snapshot(opt):
    sd = opt.state_dict()
    return ({i: {k: v.numpy().copy() if isinstance(v, ag.Tensor) else v for k, v in s.items()}
             for i, s in sd["state"].items()},
            [dict(g) for g in sd["param_groups"]])


MAKERS = {"SGD": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
          "Adam": lambda ps: optim.Adam(ps, lr=0.1, amsgrad=True),
          "AdamW": lambda ps: optim.AdamW(ps, lr=0.1)}


def _bad_state(sd):
    sd["state"][5] = sd["state"].pop(1)


def _bad_key(sd):
    sd["state"]["x"] = sd["state"][0]


def _bad_shape(sd):
    s = sd["state"][1]
    k = next(k for k, v in s.items() if isinstance(v, ag.Tensor))
    s[k] = np.zeros((3, 3))


def _bad_lr(sd):
    sd["param_groups"][0]["lr"] = "0.1"


def _nan_lr(sd):
    sd["param_groups"][0]["lr"] = math.nan


def _bad_group_index(sd):
    sd["param_groups"][0]["params"] = [0, 0]


def _bad_size(sd):
    sd["param_groups"][0]["params"] = [0]


@pytest.mark.parametrize("name", sorted(MAKERS))
@pytest.mark.parametrize("corrupt,error,match", [
    (_bad_state, IndexError, "state for parameter index 5"),
    (_bad_key, TypeError, "parameter index"),
    (_bad_shape, ag.ShapeError, r"state\[1\]\[.*\] has shape \(3, 3\)"),
    (_bad_lr, TypeError, r"parameter group 0\): lr must be a real number"),
    (_nan_lr, ValueError, r"lr must be finite"),
    (_bad_group_index, ValueError, "parameter index 0 appears twice"),
    (_bad_size, ValueError, "parameter groups of sizes"),
    (lambda sd: sd.pop("state"), KeyError, "no 'state'"),
])
def test_optimizer_load_state_dict_is_all_or_nothing(name, corrupt, error, match):
    make = MAKERS[name]
    _, source = _trained(make, 3)
    sd = source.state_dict()
    sd["param_groups"][0]["lr"] = 0.5  # a valid change that must not land before the error
    corrupt(sd)
    ps, opt = _trained(make, 1)
    state_before, groups_before = _opt_snapshot(opt)
    with pytest.raises(error, match=f"{name}.load_state_dict"):
        opt.load_state_dict(sd)
    with pytest.raises(error, match=match):
        opt.load_state_dict(sd)
    state_after, groups_after = _opt_snapshot(opt)
    assert groups_after == groups_before and opt.param_groups[0]["lr"] == 0.1
    assert state_after.keys() == state_before.keys()
    for i in state_before:
        for k, v in state_before[i].items():
            np.testing.assert_array_equal(state_after[i][k], v)


def test_optimizer_load_state_dict_loads_torchs():
    torch = _torch()
    w = np.array([1.0, -2.0, 3.0])
    tp = torch.nn.Parameter(torch.tensor(w))
    topt = torch.optim.Adam([tp], lr=0.1)
    for _ in range(3):
        topt.zero_grad()
        (tp ** 2).sum().backward()
        topt.step()
    p = nn.Parameter(ag.Tensor(tp.detach().numpy().copy()))
    opt = optim.Adam([p], lr=0.5)
    opt.load_state_dict(topt.state_dict())  # tensors, a 0-d step, torch's extra settings
    assert opt.param_groups[0]["lr"] == 0.1
    topt.zero_grad()
    (tp ** 2).sum().backward()
    topt.step()
    opt.zero_grad()
    (p ** 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12)

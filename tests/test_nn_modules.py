"""``anygrad.nn`` modules: registration, state dicts (PyTorch's names and shapes), devices,
modes, initialisation, and every layer against its PyTorch twin with the same weights."""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import anygrad as ag
from anygrad import nn
from anygrad.testing import gradcheck


def _torch():
    """PyTorch, the reference where installed (tests needing it skip otherwise)."""
    return pytest.importorskip("torch")


class Net(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, device=device),
                                      nn.BatchNorm2d(4, device=device), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.blocks = nn.ModuleList([nn.Linear(16, 8, device=device),
                                     nn.LayerNorm(8, device=device)])
        self.head = nn.Linear(8, 3, device=device)
        self.scale = nn.Parameter(ag.Tensor(np.float32(2.0), device=device))

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.flatten(x, 1)
        for block in self.blocks:
            x = block(x)
        return self.head(nn.functional.gelu(x)) * self.scale


def torch_net():
    tnn = _torch().nn

    class TNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(tnn.Conv2d(1, 4, 3, padding=1), tnn.BatchNorm2d(4),
                                           tnn.ReLU(), tnn.MaxPool2d(2))
            self.blocks = tnn.ModuleList([tnn.Linear(16, 8), tnn.LayerNorm(8)])
            self.head = tnn.Linear(8, 3)
            self.scale = tnn.Parameter(_torch().tensor(2.0))

        def forward(self, x):
            x = self.features(x).flatten(1)
            for block in self.blocks:
                x = block(x)
            return self.head(tnn.functional.gelu(x)) * self.scale

    return TNet()


def test_parameters_and_buffers_are_found_with_pytorch_names():
    net = Net()
    tnet = torch_net()
    names = [n for n, _ in net.named_parameters()]
    assert sorted(names) == sorted(n for n, _ in tnet.named_parameters())
    assert list(net.state_dict()) == list(tnet.state_dict())
    for (k, v), (tk, tv) in zip(net.state_dict().items(), tnet.state_dict().items(), strict=True):
        assert k == tk and v.shape == tuple(tv.shape), k
    assert net.state_dict()["features.1.num_batches_tracked"].dtype == ag.int64
    assert len(list(net.parameters())) == len(names)
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert [type(m).__name__ for m in net.children()] == ["Sequential", "ModuleList", "Linear"]


def test_pytorch_state_dict_loads_with_one_comprehension_and_outputs_match():
    torch = _torch()
    tnet = torch_net().double()
    with torch.no_grad():  # make the batch-norm statistics non-trivial
        tnet.features[1].running_mean.uniform_(-1, 1)
        tnet.features[1].running_var.uniform_(0.5, 2)
    net = Net().double()
    net.load_state_dict({k: v.numpy() for k, v in tnet.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 1, 4, 4))
    for train in (False, True):
        tnet.train(train)
        net.train(train)
        want = tnet(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(net(ag.Tensor(x)).numpy(), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(net.features[1].running_mean.numpy(),
                               tnet.features[1].running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(net.features[1].running_var.numpy(),
                               tnet.features[1].running_var.numpy(), rtol=1e-12)
    assert net.features[1].num_batches_tracked.item() == 1


def test_load_state_dict_checks_keys_and_shapes():
    net = nn.Linear(3, 2)
    sd = net.state_dict()
    with pytest.raises(KeyError, match="missing keys \\['bias'\\]"):
        net.load_state_dict({"weight": sd["weight"]})
    missing, unexpected = net.load_state_dict({"weight": sd["weight"], "extra": 1}, strict=False)
    assert missing == ["bias"] and unexpected == ["extra"]
    with pytest.raises(ag.ShapeError, match="weight has shape \\(3, 2\\)"):
        net.load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(2)})
    before = net.weight
    net.load_state_dict({"weight": np.ones((2, 3)), "bias": np.zeros(2)})
    assert net.weight is before and net.weight.dtype == ag.float32  # copied in, cast
    np.testing.assert_array_equal(net.weight.numpy(), np.ones((2, 3)))


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(ag.Tensor([1.0]))
    m.child = nn.Linear(1, 1)
    m.plain = ag.Tensor([2.0], requires_grad=False)  # plain: neither parameter nor buffer
    assert [n for n, _ in m.named_parameters()] == ["w", "child.weight", "child.bias"]
    with pytest.raises(TypeError, match="nn.Parameter"):
        m.w = ag.Tensor([3.0])
    m.w = None
    assert [n for n, _ in m.named_parameters()] == ["child.weight", "child.bias"]
    del m.child
    assert list(m.parameters()) == []
    m.register_buffer("stat", ag.Tensor([0.0]))
    m.register_buffer("tmp", ag.Tensor([0.0]), persistent=False)
    assert list(m.state_dict()) == ["stat"] and len(list(m.buffers())) == 2
    with pytest.raises(TypeError, match="buffer 'stat'"):
        m.stat = 3

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ag.Tensor([1.0]))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Forgot()


def test_plain_tensor_attribute_warns_once_and_is_not_a_parameter():
    """PyTorch's rule (issue 12): only an nn.Parameter is learnt. simplegrad's way, a plain
    float Tensor as an attribute, warns once per class and attribute, saying what to do."""

    class Simple(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = ag.Tensor(np.ones((2, 2)))  # requires grad (float data)
            self.b = ag.Tensor(np.zeros(2))
            self.register_buffer("stat", ag.Tensor([0.0]))
            self.stat = ag.Tensor([1.0])  # a registered buffer: no warning
            self.const = ag.Tensor([1.0], requires_grad=False)
            self.count = ag.Tensor([3])  # integers never require grad
            self.p = nn.Parameter(ag.Tensor([1.0]))

    with pytest.warns(UserWarning) as record:
        m = Simple()
    messages = [str(w.message) for w in record]
    assert len(messages) == 2, messages
    assert messages[0].startswith("Simple.w is a plain Tensor that requires grad")
    assert "nn.Parameter" in messages[0] and "register_buffer('w'" in messages[0]
    assert "not in parameters()" in messages[0] and messages[1].startswith("Simple.b ")
    assert record[0].filename == __file__  # points at the assignment
    assert [n for n, _ in m.named_parameters()] == ["p"]
    assert list(m.state_dict()) == ["p", "stat"]  # parameters, then buffers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Simple().w = ag.Tensor([5.0])  # once per class and attribute

    class Other(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = ag.Tensor([1.0])

    with pytest.warns(UserWarning, match="Other.w is a plain Tensor"):
        Other()


def test_no_warning_for_activations_builtin_losses_or_parameters():
    class Cache(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            self.last = self.lin(x)  # a computed tensor (not a leaf): cached, not learnt
            return self.last

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = Cache()
        m(ag.Tensor(np.ones((1, 2), np.float32)))
        nn.CrossEntropyLoss(weight=ag.Tensor([1.0, 2.0]))  # anygrad's own modules
        nn.BCEWithLogitsLoss(pos_weight=ag.Tensor([2.0]))
        m.scale = nn.Parameter(ag.Tensor([1.0]))
    assert [n for n, _ in m.named_parameters()] == ["scale", "lin.weight", "lin.bias"]


def test_plain_tensors_are_ignored_as_in_torch():
    torch = _torch()
    tm = torch.nn.Module()
    tm.w = torch.ones(2, requires_grad=True)
    m = nn.Module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.w = ag.Tensor([1.0, 1.0])
    assert list(tm.parameters()) == [] and list(m.parameters()) == []
    assert list(tm.state_dict()) == [] and list(m.state_dict()) == []


def test_shared_parameters_count_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert seq.num_parameters() == 6
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as PyTorch
    seq.load_state_dict({k: v.numpy() + 1 for k, v in seq.state_dict().items()})


def test_containers():
    seq = nn.Sequential(OrderedDict(first=nn.Linear(2, 3), act=nn.Tanh()))
    assert isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Tanh) and len(seq) == 2
    assert isinstance(seq[:1], nn.Sequential) and len(seq[:1]) == 1
    assert [n for n, _ in seq.named_parameters()] == ["first.weight", "first.bias"]
    seq.append(nn.Linear(3, 1))
    assert seq(ag.Tensor(np.ones((4, 2), dtype=np.float32))).shape == (4, 1)
    ml = nn.ModuleList([nn.Linear(1, 1)]).extend([nn.Linear(1, 1)])
    ml[1] = nn.Linear(1, 2)
    assert len(ml) == 2 and ml[1].out_features == 2 and len(list(ml.parameters())) == 4
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.ReLU()
    assert list(md) == ["a", "b"] and "a" in md and len(list(md.parameters())) == 2


def test_repr_and_summary():
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(8, 2, bias=False))
    text = repr(net)
    assert text.splitlines()[0] == "Sequential("
    assert "(0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))" in text
    assert "(3): Linear(in_features=8, out_features=2, bias=False)" in text
    summary = net.summary()
    assert "Conv2d" in summary and "8x1x3x3, 8" in summary and "80" in summary
    assert summary.splitlines()[-1] == "total parameters: 96 (trainable: 96)"


def test_train_eval_switch_dropout_and_batch_norm():
    net = nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(3))
    assert net.training and all(m.training for m in net.modules())
    net.eval()
    assert not any(m.training for m in net.modules())
    x = ag.Tensor(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32))
    out = net(x)  # eval: dropout is the identity, batch norm uses running stats (0, 1)
    np.testing.assert_allclose(out.numpy(), x.numpy() / math.sqrt(1 + 1e-5), rtol=1e-6)
    assert net[1].num_batches_tracked.item() == 0
    net.train()
    net(x)
    assert net[1].num_batches_tracked.item() == 1


def test_batch_norm_without_running_stats_uses_batch_stats():
    bn = nn.BatchNorm1d(2, track_running_stats=False, affine=False)
    assert list(bn.state_dict()) == [] and list(bn.parameters()) == []
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    out = bn.eval()(ag.Tensor(x)).numpy()
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5))


def test_module_to_moves_in_place_and_optimizers_follow(backend, two_devices):
    src, dst = two_devices
    net = nn.Sequential(nn.Linear(2, 3, device=src), nn.BatchNorm1d(3, device=src))
    params = list(net.parameters())
    opt = ag.optim.SGD(net.parameters(), lr=0.1)
    net.to(dst)
    assert all(a is b for a, b in zip(net.parameters(), params, strict=True))
    assert all(t.device == dst for t in (*net.parameters(), *net.buffers()))
    x = ag.Tensor(np.arange(8, dtype=np.float32).reshape(4, 2), device=dst)
    (net(x) ** 2).sum().backward()
    before = net[0].weight.numpy()
    opt.step()
    assert net[0].weight.device == dst and not np.allclose(net[0].weight.numpy(), before)
    net.to(ag.float64)
    assert net[0].weight.dtype == ag.float64 and net[1].num_batches_tracked.dtype == ag.int64


def test_deepcopy_and_pickle_keep_parameters():
    import copy
    import pickle

    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert isinstance(clone[0].weight, nn.Parameter) and clone[0].weight is not net[0].weight
        assert list(clone.state_dict()) == list(net.state_dict())
        assert [n for n, _ in clone.named_parameters()] == [n for n, _ in net.named_parameters()]
        np.testing.assert_array_equal(clone[0].weight.numpy(), net[0].weight.numpy())
        clone[0].weight.data[0, 0] = 100.0
        assert net[0].weight.numpy()[0, 0] != 100.0


def test_module_zero_grad_and_requires_grad():
    lin = nn.Linear(2, 1)
    lin(ag.Tensor(np.ones((1, 2), dtype=np.float32))).sum().backward()
    assert lin.weight.grad is not None
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None


# -- layers against PyTorch with the same weights, and their gradients ----------------------
def functional_call(layer, x, params):
    """``layer(x)`` with ``params`` in place of its parameters (for gradcheck)."""
    slots = [(m, k) for m in layer.modules() for k, p in m._parameters.items() if p is not None]
    saved = [getattr(m, k) for m, k in slots]
    for (m, k), p in zip(slots, params, strict=True):
        object.__setattr__(m, k, p)
    try:
        return layer(x)
    finally:
        for (m, k), p in zip(slots, saved, strict=True):
            object.__setattr__(m, k, p)


def _copy_from_torch(module, tmodule):
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})
    return module


LAYERS = {  # name: (anygrad layer, torch layer, input shape)
    "linear": (lambda: nn.Linear(4, 3), lambda t: t.Linear(4, 3), (2, 4)),
    "conv": (lambda: nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(1, 2), groups=2),
             lambda t: t.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(1, 2), groups=2),
             (2, 4, 5, 6)),
    "maxpool": (lambda: nn.MaxPool2d(3, 2, 1), lambda t: t.MaxPool2d(3, 2, 1), (1, 2, 5, 5)),
    "avgpool": (lambda: nn.AvgPool2d(2), lambda t: t.AvgPool2d(2), (1, 2, 4, 6)),
    "batchnorm1d": (lambda: nn.BatchNorm1d(3), lambda t: t.BatchNorm1d(3), (5, 3)),
    "batchnorm2d": (lambda: nn.BatchNorm2d(2), lambda t: t.BatchNorm2d(2), (3, 2, 2, 2)),
    "layernorm": (lambda: nn.LayerNorm((2, 3)), lambda t: t.LayerNorm((2, 3)), (4, 2, 3)),
    "flatten": (lambda: nn.Flatten(), lambda t: t.Flatten(), (2, 3, 2)),
    "gelu": (lambda: nn.GELU("tanh"), lambda t: t.GELU("tanh"), (3, 4)),
    "silu": (lambda: nn.SiLU(), lambda t: t.SiLU(), (3, 4)),
    "softmax": (lambda: nn.Softmax(1), lambda t: t.Softmax(1), (3, 4)),
    "logsoftmax": (lambda: nn.LogSoftmax(0), lambda t: t.LogSoftmax(0), (3, 4)),
    "sigmoid": (lambda: nn.Sigmoid(), lambda t: t.Sigmoid(), (3, 4)),
    "tanh": (lambda: nn.Tanh(), lambda t: t.Tanh(), (3, 4)),
    "relu": (lambda: nn.ReLU(), lambda t: t.ReLU(), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch_and_gradcheck(backend, name):
    torch = _torch()
    make, tmake, shape = LAYERS[name]
    torch.manual_seed(0)
    tlayer = tmake(torch.nn).double()
    layer = _copy_from_torch(make().to(backend.device, ag.float64), tlayer)
    x = np.random.default_rng(1).permutation(math.prod(shape)).reshape(shape) * 0.1 - 0.33
    want = tlayer(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(layer(backend.tensor(x)).numpy(), want, rtol=1e-7, atol=1e-9)
    params = list(layer.parameters())
    gradcheck(lambda x, *ps: functional_call(layer, x, ps), backend.tensor(x), *params)


def test_embedding_layer(backend):
    ag.random.seed(0)
    emb = nn.Embedding(10, 4, padding_idx=0, device=backend.device)
    assert emb.weight.shape == (10, 4) and emb.weight.dtype == ag.float32
    np.testing.assert_array_equal(emb.weight.numpy()[0], 0)
    out = emb(backend.tensor(np.array([[0, 3], [9, 3]])))
    assert out.shape == (2, 2, 4)
    np.testing.assert_array_equal(out.numpy()[1, 1], emb.weight.numpy()[3])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [0, 0, 0, 2, 0, 0, 0, 0, 0, 1])


# -- initialisation -----------------------------------------------------------------------
def test_default_initialisation_follows_pytorch(backend):
    ag.random.seed(0)
    lin = nn.Linear(400, 300, device=backend.device)
    conv = nn.Conv2d(8, 16, 3, device=backend.device)
    for layer, fan_in in ((lin, 400), (conv, 72)):
        bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) and the bias rule agree
        w, b = layer.weight.numpy(), layer.bias.numpy()
        assert layer.weight.dtype == ag.float32 and layer.weight.device == backend.device
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
        assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
        assert np.abs(b).max() <= bound
    bn = nn.BatchNorm2d(3)
    np.testing.assert_array_equal(bn.weight.numpy(), 1)
    np.testing.assert_array_equal(bn.bias.numpy(), 0)
    np.testing.assert_array_equal(bn.running_var.numpy(), 1)


def test_init_functions(backend):
    ag.random.seed(1)
    t = nn.Parameter(backend.tensor(np.zeros((200, 100), dtype=np.float32)))
    nn.init.kaiming_normal_(t, nonlinearity="relu")
    assert abs(t.numpy().std() - math.sqrt(2 / 100)) < 0.005 and t.dtype == ag.float32
    nn.init.xavier_uniform_(t)
    assert np.abs(t.numpy()).max() <= math.sqrt(6 / 300)
    nn.init.xavier_normal_(t, gain=2.0)
    assert abs(t.numpy().std() - 2 * math.sqrt(2 / 300)) < 0.01
    nn.init.constant_(t, 0.5)
    assert (t.numpy() == 0.5).all()
    assert nn.init.calculate_gain("tanh") == 5 / 3
    assert nn.init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ValueError, match="fan in"):
        nn.init.kaiming_uniform_(backend.tensor(np.zeros(3)))


def test_seed_makes_models_reproducible():
    ag.random.seed(42)
    a = nn.Linear(3, 3).weight.numpy()
    ag.random.seed(42)
    b = nn.Linear(3, 3).weight.numpy()
    c = nn.Linear(3, 3).weight.numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)

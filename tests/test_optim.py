"""Optimizers and schedules: updates against PyTorch's formulas written out by hand, against
PyTorch itself where installed, on every test backend (state keeps the parameter's device and
dtype), and checkpoints that resume exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

import anygrad as ag
from anygrad import nn, optim
from anygrad.optim import lr_scheduler


def _torch():
    """PyTorch, the reference where installed (tests needing it skip otherwise)."""
    return pytest.importorskip("torch")


P0 = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]])
TARGET = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])


def grad_of(p):
    """The gradient of the loss used throughout: sum((p - target)**2 * (1 + p**2) / 4)."""
    return (2 * (p - TARGET) * (1 + p ** 2) + 2 * p * (p - TARGET) ** 2) / 4


def run_anygrad(make, steps, backend=None, dtype=np.float64):
    device = backend.device if backend else "cpu"
    p = nn.Parameter(ag.Tensor(P0.astype(dtype), device=device))
    target = ag.Tensor(TARGET.astype(dtype), device=device, requires_grad=False)
    opt = make([p])
    for _ in range(steps):
        opt.zero_grad()
        ((p - target) ** 2 * (1 + p ** 2) / 4).sum().backward()
        opt.step()
    return p, opt


def run_torch(make, steps):
    torch = _torch()
    p = torch.nn.Parameter(torch.tensor(P0))
    opt = make([p])
    for _ in range(steps):
        opt.zero_grad()
        ((p - torch.tensor(TARGET)) ** 2 * (1 + p ** 2) / 4).sum().backward()
        opt.step()
    return p.detach().numpy()


# -- hand-written formulas ------------------------------------------------------------------
def sgd_by_hand(steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf = P0.copy(), None
    for _ in range(steps):
        g = grad_of(p) + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def adam_by_hand(steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 decoupled=False):
    p, m, v, vmax = P0.copy(), 0.0, 0.0, 0.0
    for t in range(1, steps + 1):
        g = grad_of(p)
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        vmax = np.maximum(vmax, v)
        vhat = (vmax if amsgrad else v) / (1 - betas[1] ** t)
        p = p - lr * (m / (1 - betas[0] ** t)) / (np.sqrt(vhat) + eps)
    return p


SGD_CASES = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.3),
             dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
             dict(lr=0.1, weight_decay=0.2)]
ADAM_CASES = [dict(lr=0.1), dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1),
              dict(lr=0.1, amsgrad=True), dict(lr=0.02, eps=1e-3)]


@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_matches_formula_and_torch(backend, kw):
    p, _ = run_anygrad(lambda ps: optim.SGD(ps, **kw), 4, backend)
    np.testing.assert_allclose(p.numpy(), sgd_by_hand(4, **kw), rtol=1e-12)
    np.testing.assert_allclose(p.numpy(), run_torch(lambda ps: _torch().optim.SGD(ps, **kw), 4),
                               rtol=1e-12)


@pytest.mark.parametrize("kw", ADAM_CASES)
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_and_adamw_match_formula_and_torch(backend, name, kw):
    p, opt = run_anygrad(lambda ps: getattr(optim, name)(ps, **kw), 5, backend)
    want = adam_by_hand(5, decoupled=name == "AdamW",
                        **{"weight_decay": 0.01 if name == "AdamW" else 0.0, **kw})
    np.testing.assert_allclose(p.numpy(), want, rtol=1e-10)
    np.testing.assert_allclose(
        p.numpy(), run_torch(lambda ps: getattr(_torch().optim, name)(ps, **kw), 5), rtol=1e-10)
    state = opt.state[p]
    assert state["step"] == 5


def test_state_keeps_float32_and_device(backend):
    p, opt = run_anygrad(lambda ps: optim.Adam(ps, lr=0.1, amsgrad=True), 3, backend, np.float32)
    assert p.dtype == ag.float32 and p.device == backend.device
    sd = opt.state_dict()["state"][0]
    for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        assert sd[key].dtype == ag.float32 and sd[key].device == backend.device, key
    want = adam_by_hand(3, lr=0.1, amsgrad=True)
    np.testing.assert_allclose(p.numpy(), want, rtol=1e-5)
    p, opt = run_anygrad(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), 2, backend, np.float32)
    assert opt.state_dict()["state"][0]["momentum_buffer"].dtype == ag.float32


def test_updates_happen_in_place_and_skip_params_without_grad():
    p, q = nn.Parameter(ag.Tensor([1.0, 2.0])), nn.Parameter(ag.Tensor([3.0]))
    data = p.data
    opt = optim.SGD([p, q], lr=0.5)
    (p * p).sum().backward()
    opt.step()
    assert p.data is data  # NumPy: updated in place
    np.testing.assert_allclose(p.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(q.numpy(), [3.0])
    opt.zero_grad()
    assert p.grad is None


def test_parameter_groups_and_maximize():
    a, b = nn.Parameter(ag.Tensor([1.0])), nn.Parameter(ag.Tensor([1.0]))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    (a + b).sum().backward()
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [0.9, 0.5])
    c = nn.Parameter(ag.Tensor([1.0]))
    opt.add_param_group({"params": [c], "lr": 1.0, "maximize": True})
    c.sum().backward()
    opt.step()
    assert c.item() == 2.0
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_bad_settings_raise():
    p = nn.Parameter(ag.Tensor([1.0]))
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ag.DTypeError, match="int64"):
        optim.SGD([ag.Tensor([1])], lr=0.1)


def test_closure_is_called_and_returns_loss():
    p = nn.Parameter(ag.Tensor([2.0]))
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with ag.no_grad():
        assert opt.step(closure).item() == 4.0
    assert p.item() == 1.0


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_state_dict_resumes_exactly(tmp_path, name):
    kw = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.05, "amsgrad": True}
    make = lambda ps: getattr(optim, name)(ps, **kw)
    straight, _ = run_anygrad(make, 6)
    p, opt = run_anygrad(make, 3)
    ag.save({"param": p, "optimizer": opt.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = ag.load(tmp_path / "ckpt.npz")
    q = nn.Parameter(ckpt["param"])
    opt2 = make([q])
    opt2.load_state_dict(ckpt["optimizer"])
    target = ag.Tensor(TARGET, requires_grad=False)
    for _ in range(3):
        opt2.zero_grad()
        ((q - target) ** 2 * (1 + q ** 2) / 4).sum().backward()
        opt2.step()
    np.testing.assert_allclose(q.numpy(), straight.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="parameter groups"):
        make([q, nn.Parameter(ag.Tensor([1.0]))]).load_state_dict(ckpt["optimizer"])


# -- schedules ------------------------------------------------------------------------------
SCHEDULES = {
    "StepLR": dict(step_size=3, gamma=0.5),
    "CosineAnnealingLR": dict(T_max=5, eta_min=0.01),
}


def _lrs(opt_mod, sched_mod, name, kw, epochs):
    p = [_torch().nn.Parameter(_torch().zeros(1))] if opt_mod is not optim else [
        nn.Parameter(ag.Tensor([0.0]))]
    opt = opt_mod.SGD(p, lr=0.1)
    sched = getattr(sched_mod, name)(opt, **kw)
    out = [sched.get_last_lr()[0]]
    for _ in range(epochs):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_match_torch(name):
    kw = SCHEDULES[name]
    got = _lrs(optim, lr_scheduler, name, kw, 14)
    if name == "StepLR":
        assert got[:7] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
    else:
        want = [0.01 + 0.09 * (1 + math.cos(math.pi * t / 5)) / 2 for t in range(11)]
        assert got[:11] == pytest.approx(want, rel=1e-9)
    torch = _torch()
    assert got == pytest.approx(_lrs(torch.optim, torch.optim.lr_scheduler, name, kw, 14),
                                rel=1e-9)


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.95, 0.93, 0.92, 0.91, 0.905, 0.9, 0.5] + [0.6] * 10
    kw = dict(factor=0.5, patience=2, cooldown=1, min_lr=0.02)

    def lrs(mod, param):
        opt = mod.SGD([param], lr=0.1)
        sched = (mod.lr_scheduler.ReduceLROnPlateau(opt, **kw))
        out = []
        for m in metrics:
            sched.step(m)
            out.append(opt.param_groups[0]["lr"])
        return out

    got = lrs(optim, nn.Parameter(ag.Tensor([0.0])))
    assert got[0] == 0.1 and got[-1] == 0.02 and min(got) == 0.02
    torch = _torch()
    assert got == pytest.approx(lrs(torch.optim, torch.nn.Parameter(torch.zeros(1))))


def test_scheduler_state_dict_round_trip():
    opt = optim.SGD([nn.Parameter(ag.Tensor([0.0]))], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    opt2 = optim.SGD([nn.Parameter(ag.Tensor([0.0]))], lr=1.0)
    sched2 = lr_scheduler.StepLR(opt2, step_size=2)
    sched2.load_state_dict(state)
    assert sched2.last_epoch == 3 and "optimizer" not in state

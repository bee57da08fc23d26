"""Learning-rate schedules (issue 12): ExponentialLR, LinearLR, CosineAnnealingWarmRestarts and
OneCycleLR step by step against PyTorch (every rate and momentum to 1e-12) and against their
closed forms; checkpoints that resume exactly; arguments refused with typed errors naming the
schedule and the argument."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import anygrad as ag
from anygrad import nn, optim
from anygrad.optim import lr_scheduler

TOL = dict(rel=1e-12, abs=1e-15)


def _torch():
    return pytest.importorskip("torch")


def make_opt(mod, name="SGD", lrs=(0.1, 0.03), **kw):
    """An optimizer of ``mod`` (anygrad.optim or torch.optim) with one group per rate."""
    if mod is optim:
        params = [nn.Parameter(ag.Tensor([0.0])) for _ in lrs]
    else:
        params = [_torch().nn.Parameter(_torch().zeros(1)) for _ in lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)]
    return getattr(mod, name)(groups, **kw)


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def trace(mod, sched_name, kw, steps, opt_name="SGD", opt_kw=None, epochs=None):
    """Each step's (rates, momenta): the constructor's, then one per ``step()`` (or per
    ``step(epoch)`` for each of ``epochs``)."""
    opt = make_opt(mod, opt_name, **(opt_kw or {}))
    sched = getattr(mod.lr_scheduler, sched_name)(opt, **kw)
    out = [(sched.get_last_lr(), momenta(opt))]
    for i in range(steps if epochs is None else len(epochs)):
        opt.step()
        sched.step() if epochs is None else sched.step(epochs[i])
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
        out.append((sched.get_last_lr(), momenta(opt)))
    return out


def assert_same(got, want):
    assert len(got) == len(want)
    for step, ((lr, m), (tlr, tm)) in enumerate(zip(got, want, strict=True)):
        assert lr == pytest.approx(tlr, **TOL), f"lr at step {step}"
        assert m == pytest.approx(tm, **TOL), f"momentum at step {step}"


CASES = [
    ("ExponentialLR", dict(gamma=0.9), 12, "SGD", {}),
    ("ExponentialLR", dict(gamma=1.05), 6, "Adam", {}),
    ("LinearLR", {}, 9, "SGD", {}),
    ("LinearLR", dict(start_factor=0.5, end_factor=0.1, total_iters=4), 8, "SGD", {}),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=3), 6, "SGD", {}),
    ("CosineAnnealingWarmRestarts", dict(T_0=3), 10, "SGD", {}),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=2, eta_min=0.01), 20, "SGD", {}),
    ("CosineAnnealingWarmRestarts", dict(T_0=1, T_mult=3, eta_min=0.001), 15, "Adam", {}),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=20), 20, "SGD", dict(momentum=0.9)),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], epochs=4, steps_per_epoch=5,
                        anneal_strategy="linear", three_phase=True), 20, "SGD", {}),
    ("OneCycleLR", dict(max_lr=0.01, total_steps=17, pct_start=0.25, base_momentum=0.8,
                        max_momentum=[0.9, 0.95], div_factor=10.0, final_div_factor=100.0),
     17, "Adam", {}),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=9, three_phase=True, cycle_momentum=False),
     9, "AdamW", {}),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=3, pct_start=0.0), 3, "SGD", {}),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=1), 1, "SGD", {}),
    ("StepLR", dict(step_size=2, gamma=0.5), 7, "SGD", {}),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.001), 10, "SGD", {}),
]


@pytest.mark.parametrize("name,kw,steps,opt_name,opt_kw", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_every_step_matches_torch(name, kw, steps, opt_name, opt_kw):
    torch = _torch()
    got = trace(optim, name, kw, steps, opt_name, opt_kw)
    assert_same(got, trace(torch.optim, name, kw, steps, opt_name, opt_kw))


# -- closed forms ---------------------------------------------------------------------------
def rates(name, kw, steps, base=0.1):
    return [lrs[0] for lrs, _ in trace(optim, name, kw, steps, opt_kw=dict(lrs=(base,)))]


def test_exponential_closed_form():
    assert rates("ExponentialLR", dict(gamma=0.8), 10) == pytest.approx(
        [0.1 * 0.8 ** t for t in range(11)], **TOL)


@pytest.mark.parametrize("a,b,n", [(1 / 3, 1.0, 5), (0.5, 0.1, 4), (1.0, 0.0, 3)])
def test_linear_closed_form(a, b, n):
    want = [0.1 * (a + (b - a) * min(t, n) / n) for t in range(3 * n)]
    assert rates("LinearLR", dict(start_factor=a, end_factor=b, total_iters=n),
                 3 * n - 1) == pytest.approx(want, **TOL)


def cawr(base, lo, T_cur, T_i):
    return lo + (base - lo) * (1 + math.cos(math.pi * T_cur / T_i)) / 2


def test_warm_restarts_closed_form():
    # T_0=2, T_mult=2: cycles [0, 2), [2, 6), [6, 14), ...
    cycles = [(t, 2) for t in range(2)] + [(t, 4) for t in range(4)] + [(t, 8) for t in range(8)]
    want = [cawr(0.1, 0.01, c, T) for c, T in cycles]
    assert rates("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=2, eta_min=0.01),
                 13) == pytest.approx(want, **TOL)
    assert rates("CosineAnnealingWarmRestarts", dict(T_0=3), 8) == pytest.approx(
        [cawr(0.1, 0.0, t % 3, 3) for t in range(9)], **TOL)


def test_one_cycle_closed_form():
    kw = dict(max_lr=1.0, total_steps=11, pct_start=0.5, div_factor=4.0, final_div_factor=5.0,
              anneal_strategy="linear")
    got = trace(optim, "OneCycleLR", kw, 10, opt_kw=dict(lrs=(0.1,), momentum=0.9))
    lrs = [lr[0] for lr, _ in got]
    mom = [m[0] for _, m in got]
    # up from 1/4 to 1 over steps 0..4.5, down to 1/20 over 4.5..10, linearly
    up = [0.25 + 0.75 * t / 4.5 for t in range(5)]
    down = [1.0 + (0.05 - 1.0) * (t - 4.5) / 5.5 for t in range(5, 11)]
    assert lrs == pytest.approx(up + down, **TOL)
    assert mom[0] == pytest.approx(0.95) and mom[-1] == pytest.approx(0.95)
    assert mom == pytest.approx([0.95 - 0.1 * (lr - 0.25) / 0.75 if t < 5 else
                                 0.85 + 0.1 * (t - 4.5) / 5.5 for t, lr in enumerate(lrs)],
                                **TOL)
    cos = rates("OneCycleLR", dict(max_lr=1.0, total_steps=11, pct_start=0.5, div_factor=4.0,
                                   final_div_factor=5.0), 10)
    assert cos[0] == pytest.approx(0.25) and cos[-1] == pytest.approx(0.05)
    assert max(cos) < 1.0 and cos[4] == pytest.approx(0.25 + 0.75 * (1 - math.cos(
        math.pi * 4 / 4.5)) / 2, **TOL)


def test_one_cycle_three_phase_closed_form():
    lrs = rates("OneCycleLR", dict(max_lr=1.0, total_steps=21, pct_start=0.25,
                                   three_phase=True), 20)

    def cos(a, b, pct):
        return b + (a - b) * (1 + math.cos(math.pi * pct)) / 2

    # up to the peak at 0.25*21 - 1 = 4.25, back to 1/25 at 2*0.25*21 - 2 = 8.5, then to 1/25e4
    want = [cos(0.04, 1.0, t / 4.25) if t <= 4.25 else
            cos(1.0, 0.04, (t - 4.25) / 4.25) if t <= 8.5 else
            cos(0.04, 4e-6, (t - 8.5) / 11.5) for t in range(21)]
    assert lrs == pytest.approx(want, **TOL)
    assert lrs[0] == pytest.approx(0.04, **TOL) and lrs[-1] == pytest.approx(4e-6, **TOL)


def test_one_cycle_refuses_a_step_past_total_steps():
    opt = make_opt(optim, lrs=(0.1,))
    sched = optim.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="OneCycleLR: stepped 4 times, but total_steps is 3"):
        sched.step()


def test_one_cycle_zero_length_phase_does_not_divide_by_zero():
    """pct_start * total_steps == 1: the warm-up phase ends at step 0 (PyTorch divides by
    zero there)."""
    lrs = rates("OneCycleLR", dict(max_lr=1.0, total_steps=10, pct_start=0.1), 9)
    assert lrs[0] == pytest.approx(1.0) and lrs[-1] == pytest.approx(1 / 25e4)
    assert all(a > b for a, b in zip(lrs[:-1], lrs[1:], strict=True))


# -- warm restarts: step(epoch), fractional ---------------------------------------------------
@pytest.mark.parametrize("kw", [dict(T_0=2), dict(T_0=2, T_mult=2, eta_min=0.01),
                                dict(T_0=3, T_mult=3)])
def test_warm_restarts_fractional_epochs_match_torch(kw):
    torch = _torch()
    epochs = [e / 4 for e in range(4 * 20)] + [3.5, 0.75, 25.2, 7.0]  # forwards, then jumps
    got = trace(optim, "CosineAnnealingWarmRestarts", kw, 0, epochs=epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = trace(torch.optim, "CosineAnnealingWarmRestarts", kw, 0, epochs=epochs)
    assert_same(got, want)


def test_warm_restarts_fractional_closed_form_and_interleaving():
    opt = make_opt(optim, lrs=(1.0,))
    sched = optim.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
    for batch in range(8):  # epoch 3 in 8 batches: cycle [2, 6), T_cur = 1 + batch / 8
        sched.step(3 + batch / 8)
        assert sched.get_last_lr()[0] == pytest.approx(cawr(1.0, 0.0, 1 + batch / 8, 4), **TOL)
    assert sched.last_epoch == 3
    sched.step()  # one more epoch after 3.875: T_cur 2.875 of 4
    assert sched.get_last_lr()[0] == pytest.approx(cawr(1.0, 0.0, 2.875, 4), **TOL)
    assert sched.last_epoch == 4


def test_warm_restarts_exactly_at_a_restart():
    """Epoch 111 starts the fourth cycle of T_0=1, T_mult=10 (1 + 10 + 100 = 111): the base
    rate, though log10(1000) rounds below 3 (where PyTorch lands on eta_min)."""
    opt = make_opt(optim, lrs=(1.0,))
    sched = optim.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=10, eta_min=0.1)
    for epoch, (T_cur, T_i) in [(111, (0, 1000)), (110.5, (99.5, 100)), (11, (0, 100)),
                                (1, (0, 10)), (0.5, (0.5, 1)), (1111, (0, 10000))]:
        sched.step(epoch)
        assert (sched.T_cur, sched.T_i) == (T_cur, T_i)
        assert sched.get_last_lr()[0] == pytest.approx(cawr(1.0, 0.1, T_cur, T_i), **TOL)


@pytest.mark.parametrize("epoch,error", [(-1, ValueError), (float("nan"), ValueError),
                                         ("3", TypeError)])
def test_warm_restarts_refuses_bad_epochs(epoch, error):
    sched = optim.CosineAnnealingWarmRestarts(make_opt(optim), T_0=2)
    with pytest.raises(error, match="CosineAnnealingWarmRestarts: epoch"):
        sched.step(epoch)


# -- momentum cycling drives the optimizer ----------------------------------------------------
@pytest.mark.parametrize("opt_name,opt_kw", [("SGD", dict(momentum=0.9, nesterov=True)),
                                             ("Adam", {})])
def test_one_cycle_training_matches_torch(opt_name, opt_kw):
    """The cycled rate and momentum reach the updates: parameters after a 1cycle run equal
    PyTorch's."""
    torch = _torch()
    p0 = np.array([0.5, -1.5, 2.0])

    def run(mod, p, loss):
        opt = getattr(mod, opt_name)([p], lr=0.1, **opt_kw)
        sched = mod.lr_scheduler.OneCycleLR(opt, max_lr=0.02, total_steps=12)
        for _ in range(12):
            opt.zero_grad()
            loss(p).backward()
            opt.step()
            sched.step()
        return p

    got = run(optim, nn.Parameter(ag.Tensor(p0)), lambda p: ((p ** 2) * (1 + p ** 2)).sum())
    want = run(torch.optim, torch.nn.Parameter(torch.tensor(p0)),
               lambda p: ((p ** 2) * (1 + p ** 2)).sum())
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-12)


# -- checkpoints ------------------------------------------------------------------------------
RESUME = [("ExponentialLR", dict(gamma=0.7)), ("LinearLR", dict(total_iters=6)),
          ("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=2, eta_min=0.01)),
          ("OneCycleLR", dict(max_lr=0.4, total_steps=12, three_phase=True)),
          ("OneCycleLR", dict(max_lr=[0.4, 0.1], total_steps=12))]


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name,kw", RESUME, ids=[r[0] for r in RESUME])
def test_state_dict_resumes_exactly(tmp_path, name, kw, opt_name):
    straight = trace(optim, name, kw, 11, opt_name)
    opt = make_opt(optim, opt_name)
    sched = getattr(lr_scheduler, name)(opt, **kw)
    for _ in range(5):
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 5
    ag.save({"opt": opt.state_dict(), "sched": state}, tmp_path / "ckpt.npz")
    ckpt = ag.load(tmp_path / "ckpt.npz")
    opt2 = make_opt(optim, opt_name)
    sched2 = getattr(lr_scheduler, name)(opt2, **kw)
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    resumed = [(sched2.get_last_lr(), momenta(opt2))]
    for _ in range(6):
        sched2.step()
        resumed.append((sched2.get_last_lr(), momenta(opt2)))
    assert_same(resumed, straight[5:])


@pytest.mark.parametrize("name,kw", [("ExponentialLR", dict(gamma=0.7)),
                                     ("LinearLR", dict(total_iters=6)),
                                     ("CosineAnnealingWarmRestarts", dict(T_0=3))])
def test_resume_with_last_epoch_matches_torch(name, kw):
    """``last_epoch=k`` on an optimizer that holds ``initial_lr``: the constructor's step does
    not advance the rate (ExponentialLR, LinearLR), as in PyTorch."""
    torch = _torch()

    def run(mod):
        opt = make_opt(mod)
        sched = getattr(mod.lr_scheduler, name)(opt, **kw)
        for _ in range(3):
            opt.step()
            sched.step()
        sched2 = getattr(mod.lr_scheduler, name)(opt, last_epoch=3, **kw)
        out = [sched2.get_last_lr()]
        for _ in range(4):
            opt.step()
            sched2.step()
            out.append(sched2.get_last_lr())
        return out

    got, want = run(optim), run(torch.optim)
    assert [lr for lrs in got for lr in lrs] == pytest.approx([lr for w in want for lr in w],
                                                              **TOL)


def test_resume_without_initial_lr_names_the_schedule():
    with pytest.raises(KeyError, match="LinearLR: resuming .* 'initial_lr'"):
        optim.LinearLR(make_opt(optim), last_epoch=4)


# -- arguments --------------------------------------------------------------------------------
class Plain(optim.Optimizer):
    """An optimizer without momentum or betas."""

    def __init__(self, params):
        super().__init__(params, dict(lr=0.1))

    def update(self, p, g, state, group, xp):
        p.data -= group["lr"] * g


BAD = [
    ("ExponentialLR", dict(gamma=-0.5), ValueError, "ExponentialLR: gamma"),
    ("ExponentialLR", dict(gamma="0.5"), TypeError, "ExponentialLR: gamma"),
    ("ExponentialLR", dict(gamma=float("nan")), ValueError, "ExponentialLR: gamma"),
    ("ExponentialLR", dict(gamma=0.5, last_epoch=-2), ValueError, "ExponentialLR: last_epoch"),
    ("LinearLR", dict(start_factor=0), ValueError, "LinearLR: start_factor"),
    ("LinearLR", dict(start_factor=1.5), ValueError, "LinearLR: start_factor"),
    ("LinearLR", dict(end_factor=-0.1), ValueError, "LinearLR: end_factor"),
    ("LinearLR", dict(total_iters=0), ValueError, "LinearLR: total_iters"),
    ("LinearLR", dict(total_iters=2.5), TypeError, "LinearLR: total_iters"),
    ("CosineAnnealingWarmRestarts", dict(T_0=0), ValueError, "CosineAnnealingWarmRestarts: T_0"),
    ("CosineAnnealingWarmRestarts", dict(T_0=-3), ValueError, "CosineAnnealingWarmRestarts: T_0"),
    ("CosineAnnealingWarmRestarts", dict(T_0=1.5), TypeError, "CosineAnnealingWarmRestarts: T_0"),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=0), ValueError,
     "CosineAnnealingWarmRestarts: T_mult"),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=1.5), TypeError,
     "CosineAnnealingWarmRestarts: T_mult"),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, eta_min=-1e-3), ValueError,
     "CosineAnnealingWarmRestarts: eta_min"),
    ("OneCycleLR", dict(max_lr=0.1), ValueError, "OneCycleLR: give total_steps"),
    ("OneCycleLR", dict(max_lr=0.1, epochs=3), ValueError, "OneCycleLR: give total_steps"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=0), ValueError, "OneCycleLR: total_steps"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=5.0), TypeError, "OneCycleLR: total_steps"),
    ("OneCycleLR", dict(max_lr=0.1, epochs=0, steps_per_epoch=3), ValueError,
     "OneCycleLR: epochs"),
    ("OneCycleLR", dict(max_lr=0.1, epochs=2, steps_per_epoch=-1), ValueError,
     "OneCycleLR: steps_per_epoch"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=9, pct_start=1.5), ValueError,
     "OneCycleLR: pct_start"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=9, pct_start=-0.1), ValueError,
     "OneCycleLR: pct_start"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=9, anneal_strategy="exp"), ValueError,
     "OneCycleLR: anneal_strategy"),
    ("OneCycleLR", dict(max_lr=[0.1, 0.2, 0.3], total_steps=9), ValueError,
     "OneCycleLR: max_lr has 3 values for 2 parameter groups"),
    ("OneCycleLR", dict(max_lr=-0.1, total_steps=9), ValueError, "OneCycleLR: max_lr"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=9, div_factor=0), ValueError,
     "OneCycleLR: div_factor"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=9, final_div_factor=-1), ValueError,
     "OneCycleLR: final_div_factor"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=9, max_momentum=1.0), ValueError,
     "OneCycleLR: max_momentum"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=9, base_momentum=[0.8]), ValueError,
     "OneCycleLR: base_momentum has 1 values"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=9, cycle_momentum=1), TypeError,
     "OneCycleLR: cycle_momentum"),
    ("ReduceLROnPlateau", dict(patience=-1), ValueError, "ReduceLROnPlateau: patience"),
    ("ReduceLROnPlateau", dict(patience=1.5), TypeError, "ReduceLROnPlateau: patience"),
    ("ReduceLROnPlateau", dict(threshold=-1e-3), ValueError, "ReduceLROnPlateau: threshold"),
    ("ReduceLROnPlateau", dict(factor=1.0), ValueError, "ReduceLROnPlateau: factor"),
    ("ReduceLROnPlateau", dict(cooldown=-1), ValueError, "ReduceLROnPlateau: cooldown"),
    ("ReduceLROnPlateau", dict(mode="avg"), ValueError, "ReduceLROnPlateau: mode"),
    ("ReduceLROnPlateau", dict(threshold_mode="x"), ValueError,
     "ReduceLROnPlateau: threshold_mode"),
    ("ReduceLROnPlateau", dict(min_lr=[0.0]), ValueError,
     "ReduceLROnPlateau: min_lr has 1 values for 2"),
    ("ReduceLROnPlateau", dict(eps=-1.0), ValueError, "ReduceLROnPlateau: eps"),
]


@pytest.mark.parametrize("name,kw,error,match", BAD,
                         ids=[f"{b[0]}-{'-'.join(b[1])}-{i}" for i, b in enumerate(BAD)])
def test_bad_arguments_raise_naming_schedule_and_argument(name, kw, error, match):
    opt = make_opt(optim)
    before = [dict(g) for g in opt.param_groups]
    with pytest.raises(error, match=match):
        getattr(lr_scheduler, name)(opt, **kw)
    assert [dict(g) for g in opt.param_groups] == before  # a refused schedule changes nothing


def test_one_cycle_needs_momentum_to_cycle():
    opt = Plain([nn.Parameter(ag.Tensor([0.0]))])
    with pytest.raises(ValueError, match="OneCycleLR: cycle_momentum .*\\(Plain has neither"):
        optim.OneCycleLR(opt, max_lr=0.1, total_steps=4)
    sched = optim.OneCycleLR(opt, max_lr=0.1, total_steps=4, cycle_momentum=False)
    assert sched.get_last_lr() == pytest.approx([0.004])


@pytest.mark.parametrize("name,kw", [("ExponentialLR", dict(gamma=0.5)), ("LinearLR", {}),
                                     ("CosineAnnealingWarmRestarts", dict(T_0=2)),
                                     ("OneCycleLR", dict(max_lr=0.1, total_steps=4)),
                                     ("ReduceLROnPlateau", {}), ("StepLR", dict(step_size=1))])
def test_schedules_need_an_anygrad_optimizer(name, kw):
    with pytest.raises(TypeError, match=f"{name}: expects an Optimizer, not list"):
        getattr(lr_scheduler, name)([nn.Parameter(ag.Tensor([0.0]))], **kw)


def test_exported_names():
    for name in ("ExponentialLR", "LinearLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
                 "LRScheduler"):
        assert getattr(optim, name) is getattr(lr_scheduler, name) and name in optim.__all__

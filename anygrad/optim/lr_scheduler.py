"""Learning-rate schedules, PyTorch's formulas: call ``step()`` once per epoch (OneCycleLR:
once per batch), after ``optimizer.step()``."""

from __future__ import annotations

import math
from typing import Any

from ..nn import _validate as V
from .optimizer import Optimizer


def _check_optimizer(owner: str, optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expects an Optimizer, not {type(optimizer).__name__}")


class LRScheduler:
    """Base class: ``get_lr()`` gives each group's next rate from its current one.

    The constructor records each group's ``initial_lr`` (the base rates) and takes the first
    step, to epoch 0 (or to ``last_epoch + 1`` when resuming).

    Args:
        optimizer: The optimizer whose groups' ``lr`` it sets.
        last_epoch: The last epoch done: -1 to start, else resume after it (the groups
            then need ``initial_lr``, as a loaded optimizer state dict has).

    Raises:
        TypeError: If ``optimizer`` is not an Optimizer, or a setting has the wrong type.
        ValueError: If a setting is out of range.
        KeyError: If resuming (``last_epoch != -1``) with a group that has no
            ``initial_lr``.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        _check_optimizer(type(self).__name__, optimizer)
        last_epoch = V.integer(type(self).__name__, "last_epoch", last_epoch, low=-1)
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: resuming a schedule (last_epoch != -1) "
                               f"needs 'initial_lr' in every parameter group (group {i} has "
                               f"none): load the optimizer's state dict first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._initial = True  # the constructor's step (resuming must not advance the rate)
        self.step()
        self._initial = False

    def get_lr(self) -> list[float]:
        """Each group's rate at epoch ``last_epoch``, from its current rate (subclasses define
        it; ``step()`` calls it).

        Raises:
            NotImplementedError: Here, in the base class.
        """
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch (one batch for OneCycleLR) and set every group's rate."""
        self._step_count += 1
        self.last_epoch += 1
        self._apply(self.get_lr())

    def _apply(self, lrs: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """Each group's rate as of the last ``step()``."""
        return list(self._last_lr)

    def _lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (numbers, strings, lists, tuples: ``anygrad.save``
        stores it)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (the optimizer's own state is loaded
        separately)."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs.

    Args:
        optimizer: The optimizer whose groups' ``lr`` it sets.
        step_size: The epochs between decays (>= 1).
        gamma: The factor (>= 0).
        last_epoch: The last epoch done (-1: start; see :class:`LRScheduler`).

    Raises:
        TypeError: If ``optimizer`` is not an Optimizer, or a setting has the wrong type.
        ValueError: If a setting is out of range.
        KeyError: If resuming (``last_epoch != -1``) with a group that has no
            ``initial_lr``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        self.step_size = V.integer("StepLR", "step_size", step_size, low=1)
        self.gamma = V.real("StepLR", "gamma", gamma, low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The rates at ``last_epoch``: the current ones times ``gamma`` at a multiple of
        ``step_size``."""
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class CosineAnnealingLR(LRScheduler):
    """``eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2``, by PyTorch's recursion.

    Args:
        optimizer: The optimizer whose groups' ``lr`` it sets.
        T_max: The epochs of a half period (>= 1); past it the rate rises again.
        eta_min: The lowest rate (>= 0).
        last_epoch: The last epoch done (-1: start; see :class:`LRScheduler`).

    Raises:
        TypeError: If ``optimizer`` is not an Optimizer, or a setting has the wrong type.
        ValueError: If a setting is out of range.
        KeyError: If resuming (``last_epoch != -1``) with a group that has no
            ``initial_lr``.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        self.T_max = V.integer("CosineAnnealingLR", "T_max", T_max, low=1)
        self.eta_min = V.real("CosineAnnealingLR", "eta_min", eta_min, low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The rates at ``last_epoch``, from the current ones (the closed form when resumed)."""
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return self._lrs()
        if self._step_count == 1:  # resumed at epoch t: the closed form
            return [lo + (base - lo) * (1 + math.cos(t * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for lr, base in zip(self._lrs(), self.base_lrs, strict=True)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (lr - lo) + lo for lr in self._lrs()]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: ``base_lr * gamma**t``.

    Args:
        optimizer: The optimizer whose groups' ``lr`` it sets.
        gamma: The factor (>= 0).
        last_epoch: The last epoch done (-1: start; see :class:`LRScheduler`).

    Raises:
        TypeError: If ``optimizer`` is not an Optimizer, or a setting has the wrong type.
        ValueError: If a setting is out of range.
        KeyError: If resuming (``last_epoch != -1``) with a group that has no
            ``initial_lr``.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = V.real("ExponentialLR", "gamma", gamma, low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current rates times ``gamma`` (unchanged at the constructor's step)."""
        if self._initial:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class LinearLR(LRScheduler):
    """Scale the base rate by a factor going linearly from ``start_factor`` (epoch 0) to
    ``end_factor`` (epoch ``total_iters`` and after), by PyTorch's recursion.

    Args:
        optimizer: The optimizer whose groups' ``lr`` it sets.
        start_factor: The factor at epoch 0, in (0, 1].
        end_factor: The factor from epoch ``total_iters`` on, in [0, 1].
        total_iters: The epochs the factor takes to get there (>= 1).
        last_epoch: The last epoch done (-1: start; see :class:`LRScheduler`).

    Raises:
        TypeError: If ``optimizer`` is not an Optimizer, or a setting has the wrong type.
        ValueError: If a setting is out of range.
        KeyError: If resuming (``last_epoch != -1``) with a group that has no
            ``initial_lr``.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        name = "LinearLR"
        self.start_factor = V.real(name, "start_factor", start_factor, low=0.0, high=1.0,
                                   low_open=True)
        self.end_factor = V.real(name, "end_factor", end_factor, low=0.0, high=1.0)
        self.total_iters = V.integer(name, "total_iters", total_iters, low=1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The rates at ``last_epoch``, from the current ones."""
        t, a, b, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return [lr * a for lr in self._lrs()]
        if self._initial or t > n:
            return self._lrs()
        return [lr * (1.0 + (b - a) / (n * a + (t - 1) * (b - a))) for lr in self._lrs()]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: ``eta_min + (base_lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2``, where ``T_cur``
    counts epochs since the last restart and ``T_i`` (first ``T_0``) grows ``T_mult``-fold at
    each restart. ``step(epoch)`` jumps to ``epoch``, which may be fractional
    (``epoch + batch / batches_per_epoch``).

    Args:
        optimizer: The optimizer whose groups' ``lr`` it sets.
        T_0: The epochs of the first cycle (>= 1).
        T_mult: The factor each cycle is longer than the one before (an int >= 1).
        eta_min: The lowest rate (>= 0).
        last_epoch: The last epoch done (-1: start; see :class:`LRScheduler`).

    Raises:
        TypeError: If ``optimizer`` is not an Optimizer, or a setting has the wrong type.
        ValueError: If a setting is out of range.
        KeyError: If resuming (``last_epoch != -1``) with a group that has no
            ``initial_lr``.
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):
        name = "CosineAnnealingWarmRestarts"
        self.T_0 = self.T_i = V.integer(name, "T_0", T_0, low=1)
        self.T_mult = V.integer(name, "T_mult", T_mult, low=1)
        self.eta_min = V.real(name, "eta_min", eta_min, low=0.0)
        self.T_cur: float = V.integer(name, "last_epoch", last_epoch, low=-1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The rates at ``T_cur`` epochs into the current cycle of ``T_i``."""
        lo, c = self.eta_min, (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [lo + (base - lo) * c for base in self.base_lrs]

    def _cycle(self, epoch: float) -> tuple[float, int]:
        """``(T_cur, T_i)`` at ``epoch``: the cycle ``n`` it falls in starts at
        ``T_0 (T_mult**n - 1) / (T_mult - 1)``."""
        T0, m = self.T_0, self.T_mult
        if epoch < T0:
            return epoch, T0
        if m == 1:
            return epoch % T0, T0

        def start(k: int) -> int:
            return T0 * (m ** k - 1) // (m - 1)

        n = int(math.log(epoch / T0 * (m - 1) + 1, m))
        while start(n + 1) <= epoch:  # the logarithm's rounding, at a restart
            n += 1
        while n and start(n) > epoch:
            n -= 1
        return epoch - start(n), T0 * m ** n

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or go to ``epoch``, and set every group's rate.

        Args:
            epoch: The epoch to go to (>= 0, possibly fractional); None: the next one.

        Raises:
            TypeError: If ``epoch`` is not a real number.
            ValueError: If ``epoch`` is negative or not finite.
        """
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            epoch = V.real("CosineAnnealingWarmRestarts", "epoch", epoch, low=0.0)
            self.T_cur, self.T_i = self._cycle(epoch)
        self._step_count += 1
        self.last_epoch = math.floor(epoch)
        self._apply(self.get_lr())


def _per_group(owner: str, name: str, value: Any, n: int, **bounds: Any) -> list[float]:
    """A real (for every group) or a list of one real per parameter group."""
    values = list(value) if isinstance(value, list | tuple) else [value] * n
    if len(values) != n:
        raise ValueError(f"{owner}: {name} has {len(values)} values for {n} parameter groups")
    return [V.real(owner, name, v, **bounds) for v in values]


class OneCycleLR(LRScheduler):
    """The 1cycle policy, stepped once per batch: the rate goes from ``max_lr / div_factor``
    up to ``max_lr`` over the first ``pct_start`` of ``total_steps``, then down to
    ``max_lr / div_factor / final_div_factor`` (``three_phase``: back down to the initial rate
    symmetrically, then to the minimum), annealed by cosine or linearly; momentum (SGD's
    ``momentum``, Adam's ``betas[0]``) cycles inversely between ``max_momentum`` and
    ``base_momentum``. A phase of zero length (``pct_start * total_steps == 1``) ends at once,
    where PyTorch divides by zero.

    Args:
        optimizer: The optimizer whose groups' ``lr`` (and momentum) it sets.
        max_lr: The peak rate (>= 0), or one per parameter group.
        total_steps: The steps of the cycle (>= 1); None: ``epochs * steps_per_epoch``.
        epochs: The epochs, when ``total_steps`` is None.
        steps_per_epoch: The steps per epoch, when ``total_steps`` is None.
        pct_start: The fraction of the cycle spent raising the rate, in [0, 1].
        anneal_strategy: ``"cos"`` or ``"linear"``.
        cycle_momentum: Whether to cycle the momentum too.
        base_momentum: The lowest momentum, in [0, 1), or one per group.
        max_momentum: The highest momentum, in [0, 1), or one per group.
        div_factor: ``max_lr / div_factor`` is the initial rate (> 0).
        final_div_factor: ``initial rate / final_div_factor`` is the final rate (> 0).
        three_phase: Whether to come back down to the initial rate before the final
            annealing.
        last_epoch: The last step done (-1: start; see :class:`LRScheduler`).

    Raises:
        TypeError: If ``optimizer`` is not an Optimizer, or a setting has the wrong type.
        ValueError: If a setting is out of range, neither ``total_steps`` nor both
            ``epochs`` and ``steps_per_epoch`` are given, a per-group list has the wrong
            length, or ``cycle_momentum`` is on for an optimizer with neither ``momentum``
            nor ``betas``.
        KeyError: If resuming (``last_epoch != -1``) with a group that has no
            ``initial_lr``.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85,
                 max_momentum: float | list[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1):
        name = "OneCycleLR"
        _check_optimizer(name, optimizer)
        if total_steps is not None:
            self.total_steps = V.integer(name, "total_steps", total_steps, low=1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (V.integer(name, "epochs", epochs, low=1)
                                * V.integer(name, "steps_per_epoch", steps_per_epoch, low=1))
        else:
            raise ValueError(f"{name}: give total_steps, or both epochs and steps_per_epoch")
        pct_start = V.real(name, "pct_start", pct_start, low=0.0, high=1.0)
        self.anneal_strategy = V.choice(name, "anneal_strategy", anneal_strategy,
                                        ("cos", "linear"))
        self.cycle_momentum = V.flag(name, "cycle_momentum", cycle_momentum)
        self.three_phase = V.flag(name, "three_phase", three_phase)
        div_factor = V.real(name, "div_factor", div_factor, low=0.0, low_open=True)
        final_div_factor = V.real(name, "final_div_factor", final_div_factor, low=0.0,
                                  low_open=True)
        groups = optimizer.param_groups
        max_lrs = _per_group(name, "max_lr", max_lr, len(groups), low=0.0)
        T = self.total_steps
        if self.three_phase:
            self._phases = [(pct_start * T - 1, "initial_lr", "max_lr", "max_momentum",
                             "base_momentum"),
                            (2 * pct_start * T - 2, "max_lr", "initial_lr", "base_momentum",
                             "max_momentum"),
                            (T - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(pct_start * T - 1, "initial_lr", "max_lr", "max_momentum",
                             "base_momentum"),
                            (T - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        last_epoch = V.integer(name, "last_epoch", last_epoch, low=-1)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{name}: cycle_momentum needs an optimizer with momentum or "
                                 f"betas ({type(optimizer).__name__} has neither); pass "
                                 f"cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            highs = _per_group(name, "max_momentum", max_momentum, len(groups), low=0.0,
                               high=1.0, high_open=True)
            lows = _per_group(name, "base_momentum", base_momentum, len(groups), low=0.0,
                              high=1.0, high_open=True)
        if last_epoch == -1:
            for i, group in enumerate(groups):
                group["initial_lr"] = max_lrs[i] / div_factor
                group["max_lr"] = max_lrs[i]
                group["min_lr"] = group["initial_lr"] / final_div_factor
                if self.cycle_momentum:
                    self._set_momentum(group, highs[i])
                    group["max_momentum"], group["base_momentum"] = highs[i], lows[i]
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        """The rates at step ``last_epoch`` (setting each group's momentum on the way).

        Raises:
            ValueError: If stepped more than ``total_steps`` times.
        """
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, but total_steps is "
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if t <= end or i == len(self._phases) - 1:
                    pct = (t - start) / (end - start) if end != start else 1.0
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m0], group[m1], pct))
                    break
                start = end
        return lrs


class ReduceLROnPlateau:
    """Multiply the rate by ``factor`` once a metric has not improved for ``patience`` epochs;
    ``step(metric)`` once per epoch.

    After a reduction no epoch counts as bad for ``cooldown`` epochs; a reduction smaller
    than ``eps`` is skipped.

    Args:
        optimizer: The optimizer whose groups' ``lr`` it sets.
        mode: ``"min"`` (the metric should fall) or ``"max"`` (rise).
        factor: The factor, in [0, 1).
        patience: The epochs without improvement tolerated (>= 0).
        threshold: The least improvement that counts (>= 0; in ``"rel"`` mode a fraction
            of the best value).
        threshold_mode: ``"rel"`` (relative to the best value) or ``"abs"``.
        cooldown: The epochs to wait after a reduction (>= 0).
        min_lr: The lowest rate (>= 0), or one per parameter group.
        eps: The least reduction applied (>= 0).

    Raises:
        TypeError: If ``optimizer`` is not an Optimizer, or a setting has the wrong type.
        ValueError: If a setting is out of range, or ``min_lr`` has the wrong length.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0.0, eps: float = 1e-8):
        name = "ReduceLROnPlateau"
        _check_optimizer(name, optimizer)
        factor = V.real(name, "factor", factor, low=0.0, high=1.0, high_open=True)
        mode = V.choice(name, "mode", mode, ("min", "max"))
        threshold_mode = V.choice(name, "threshold_mode", threshold_mode, ("rel", "abs"))
        patience = V.integer(name, "patience", patience, low=0)
        cooldown = V.integer(name, "cooldown", cooldown, low=0)
        threshold, eps = V.real(name, "threshold", threshold, low=0.0), V.real(name, "eps", eps,
                                                                               low=0.0)
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, list | tuple) else [min_lr] * n
        if len(self.min_lrs) != n:
            raise ValueError(f"{name}: min_lr has {len(self.min_lrs)} values for {n} parameter "
                             f"groups")
        self.min_lrs = [V.real(name, "min_lr", v, low=0.0) for v in self.min_lrs]
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, a: float, best: float) -> bool:
        """Whether the metric value ``a`` improves on ``best`` by more than ``threshold``."""
        rel = self.threshold_mode == "rel"
        if self.mode == "min":
            return a < (best * (1 - self.threshold) if rel else best - self.threshold)
        return a > (best * (1 + self.threshold) if rel else best + self.threshold)

    def step(self, metrics: Any) -> None:
        """End an epoch whose metric is ``metrics``; reduce the rates once more than
        ``patience`` epochs in a row brought no improvement.

        Args:
            metrics: The epoch's metric: a number, or anything ``float()`` takes (a
                one-element Tensor).
        """
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                new = max(group["lr"] * self.factor, floor)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """Each group's rate as of the last ``step()``."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (numbers, strings, lists: ``anygrad.save`` stores
        it)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.__dict__.update(state_dict)

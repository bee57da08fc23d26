"""``Optimizer``: parameter groups, per-parameter state, and the update loop.

Updates run on the backend arrays directly (no graph), in place where the library allows
(NumPy, CuPy, torch, array-api-strict), and inside the device's context; every state array
lives on its parameter's device, in its dtype.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from .._tensor import Tensor, _wrap
from ..errors import DTypeError
from ..modes import enable_grad


class Optimizer:
    """Base class: subclasses set ``defaults`` and write ``update(p, g, state, group, xp)``,
    which updates one parameter from its gradient array ``g``."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add parameters with their own settings (the defaults fill the rest)."""
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} optimizes Tensors, not {type(p).__name__}")
            if p.dtype.kind not in "fc":
                raise DTypeError(f"{type(self).__name__}: cannot optimize a {p.dtype.name} tensor")
            if id(p) in seen:
                raise ValueError("a parameter appears in more than one parameter group")
            seen.add(id(p))
        self.param_groups.append({**self.defaults, **group, "params": params})

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; ``closure`` recomputes the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                backend = p._backend
                with backend.context or contextlib.nullcontext():
                    self.update(p, p.grad.data, self.state.setdefault(p, {}), group, backend.xp)
        return loss

    def update(self, p: Tensor, g: Any, state: dict[str, Any], group: dict[str, Any],
               xp: Any) -> None:
        raise NotImplementedError

    # -- checkpoints -----------------------------------------------------------------------
    def _params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: ``state`` by parameter index (arrays as Tensors), and
        ``param_groups`` with the indices of their parameters."""
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {index[id(p)]: {k: _wrap(v, p._backend) if _is_array(v) else v
                                for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore settings and state; arrays go to each parameter's device and dtype."""
        groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in self.param_groups]
        if [len(g["params"]) for g in groups] != sizes:
            raise ValueError(f"load_state_dict: parameter groups of sizes "
                             f"{[len(g['params']) for g in groups]} do not fit this optimizer's "
                             f"{sizes}")
        params = self._params()
        for saved, group in zip(groups, self.param_groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            self.state[p] = {k: Tensor(v, device=p.device, dtype=p.dtype).data
                             if _is_array(v) else v for k, v in s.items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _is_array(v: Any) -> bool:
    return not isinstance(v, int | float | bool) and hasattr(v, "shape")

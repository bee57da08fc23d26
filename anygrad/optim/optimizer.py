"""``Optimizer``: parameter groups, per-parameter state, and the update loop.

Updates run on the backend arrays directly (no graph), in place where the library allows
(NumPy, CuPy, torch, array-api-strict), and inside the device's context; every state array
lives on its parameter's device, in its dtype.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from .._tensor import Tensor, _wrap
from ..errors import DTypeError
from ..modes import enable_grad
from ..nn import _validate as V


class Optimizer:
    """Base class: subclasses set ``defaults``, list each hyperparameter's check in
    ``hyperparameters`` and write ``update(p, g, state, group, xp)``, which updates one
    parameter from its gradient array ``g``.

    Every group's settings (the defaults, each ``add_param_group`` and each
    ``load_state_dict``) pass the same checks before they are used: a learning rate that is
    a string, nan, infinite or negative raises instead of destroying the parameters."""

    hyperparameters: ClassVar[dict[str, V.Check]] = {}

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        self.defaults = self._checked(defaults, type(self).__name__)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def _checked(self, group: Mapping[str, Any], owner: str) -> dict[str, Any]:
        """``group``'s settings checked and normalised (TypeError or ValueError naming
        ``owner`` and the setting)."""
        out = dict(group)
        for name, check in self.hyperparameters.items():
            if name in out:
                out[name] = check(owner, name, out[name])
        self._check_group(owner, out)
        return out

    def _check_group(self, owner: str, group: dict[str, Any]) -> None:
        """Checks across settings of one group (subclasses override)."""

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add parameters with their own settings (the defaults fill the rest)."""
        owner = f"{type(self).__name__} (parameter group {len(self.param_groups)})"
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"{owner}: a parameter group is a dict with a 'params' entry, "
                            f"not {type(group).__name__}")
        settings = self._checked({**self.defaults, **group}, owner)
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
        self.param_groups.append({**settings, "params": params})

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``set_to_none=False``: zero it instead)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if set_to_none or g is None:
                    p.grad = None
                else:  # PyTorch's set_to_none=False: zeros of the same dtype and device
                    p.grad = _wrap(p.backend.xp.zeros_like(g.data), p.backend)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; ``closure`` recomputes the loss. On
        Dask the step ends with one scheduler call that leaves parameters, gradients and state
        concrete (see ``anygrad.compute``)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        deferred: dict[Any, list[Tensor]] = {}  # backends whose updates only record (Dask)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                backend = p._backend
                with backend.context or contextlib.nullcontext():
                    self.update(p, p.grad.data, self.state.setdefault(p, {}), group, backend.xp)
                if backend.materialize is not None:
                    deferred.setdefault(backend, []).append(p)
        for backend, params in deferred.items():
            _materialize(backend, params, self.state)
        return loss

    def update(self, p: Tensor, g: Any, state: dict[str, Any], group: dict[str, Any],
               xp: Any) -> None:
        """Update ``p`` in place from its gradient array ``g``, its ``state`` and its parameter
        ``group``, in the arrays of namespace ``xp`` (each optimizer's rule)."""
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

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore settings and state; arrays go to each parameter's device and dtype.
        Everything is checked first (layout, group sizes, parameter indices, settings, state
        shapes and dtypes), then assigned: a bad state dict raises and changes nothing."""
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{owner}: expects a dict, not {type(state_dict).__name__}")
        missing = [k for k in ("state", "param_groups") if k not in state_dict]
        if missing:
            raise KeyError(f"{owner}: the state dict has no {' or '.join(map(repr, missing))}")
        groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(groups, list | tuple) or not all(
                isinstance(g, Mapping) and isinstance(g.get("params"), list | tuple)
                for g in groups):
            raise TypeError(f"{owner}: param_groups must be a list of dicts, each with a "
                            f"'params' list of parameter indices")
        if not isinstance(saved_state, Mapping):
            raise TypeError(f"{owner}: state must be a dict by parameter index, not "
                            f"{type(saved_state).__name__}")
        sizes = [len(g["params"]) for g in self.param_groups]
        if [len(g["params"]) for g in groups] != sizes:
            raise ValueError(f"{owner}: parameter groups of sizes "
                             f"{[len(g['params']) for g in groups]} do not fit this optimizer's "
                             f"{sizes}")
        index: dict[int, Tensor] = {}  # saved index -> parameter, by position (PyTorch's map)
        new_groups = []
        for gi, (saved, group) in enumerate(zip(groups, self.param_groups, strict=True)):
            for i, p in zip(saved["params"], group["params"], strict=True):
                i = V.integer(owner, f"param_groups[{gi}]['params']", i, low=0)
                if i in index:
                    raise ValueError(f"{owner}: parameter index {i} appears twice in "
                                     f"param_groups")
                index[i] = p
            settings = {k: v for k, v in saved.items() if k != "params"}
            new_groups.append(self._checked({**group, **settings},
                                            f"{owner} (parameter group {gi})"))
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, s in saved_state.items():
            i = _index(owner, key)
            if i not in index:
                raise IndexError(f"{owner}: state for parameter index {i}, but param_groups "
                                 f"hold indices {sorted(index)}")
            if not isinstance(s, Mapping):
                raise TypeError(f"{owner}: state[{i}] must be a dict, not {type(s).__name__}")
            p = index[i]
            new_state[p] = {k: _state_value(owner, f"state[{i}][{k!r}]", v, p)
                            for k, v in s.items()}
        for group, new in zip(self.param_groups, new_groups, strict=True):  # all checked
            group.update(new)
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _materialize(backend: Any, params: list[Tensor], state: dict[Tensor, dict[str, Any]]) -> None:
    """Lazy backends (Dask): compute the updated parameters, their gradients and their state
    in one scheduler call, so that they hold values again, not the history of every step
    (the next step's graph is then as large as this one's)."""
    slots = [(p, None) for p in params] + [(p.grad, None) for p in params]
    slots += [(s, k) for p in params for s in [state[p]] for k, v in s.items() if _is_array(v)]
    values = backend.materialize([h.data if k is None else h[k] for h, k in slots])
    for (holder, key), v in zip(slots, values, strict=True):
        if key is None:
            holder.data = v
        else:
            holder[key] = v


def _is_array(v: Any) -> bool:
    return not isinstance(v, int | float | bool) and hasattr(v, "shape")


def _index(owner: str, key: Any) -> int:
    """A state key as a parameter index (checkpoints written as JSON make it a string)."""
    if isinstance(key, str) and key.isdecimal():
        return int(key)
    return V.integer(owner, "a state key (parameter index)", key, low=0)


def _state_value(owner: str, name: str, v: Any, p: Tensor) -> Any:
    """A saved state entry for ``p``: an array of ``p``'s shape goes to its device and dtype;
    another 0-d array (PyTorch's ``step``) becomes a Python number; any other array raises;
    non-arrays stay as saved."""
    if not _is_array(v):
        return v
    if tuple(v.shape) == () and p.shape != ():
        kind = V._source_kind(v) or "f"
        return {"b": bool, "i": int, "u": int, "c": complex}.get(kind, float)(v)
    return V.convert_like(owner, name, v, p, holder="optimizer's parameter")

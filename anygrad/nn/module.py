"""``Module``: a layer or a model, holding Parameters, buffers and sub-modules by attribute.

Assigning a ``Parameter``, a Module, or (after ``Module.register_buffer()``) a buffer
to an attribute registers it under that name, so ``parameters()``, ``state_dict()`` and
``to()`` find everything without being told. A plain Tensor is not registered (PyTorch's
rule); a plain leaf Tensor that requires grad warns, once per class and attribute. Names
follow PyTorch's (``0.weight``, ``features.1.running_mean``), so its state dicts convert
with one comprehension.
"""

from __future__ import annotations

import warnings
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from .. import backends
from .._tensor import Tensor
from ..dtypes import as_dtype
from ._validate import convert_like


class Parameter(Tensor):
    """A Tensor that a Module learns: found by ``Module.parameters()``; requires grad.

    Args:
        data: The initial values (a Tensor, any library's array, or Python data); shared,
            not copied, where possible.
        requires_grad: Whether the optimizer should learn it.
        device: The device (default: the data's, or the default device).
        dtype: The dtype (default: the data's).
    """

    def __init__(self, data: Any, requires_grad: bool = True, *, device: Any = None,
                 dtype: Any = None):
        super().__init__(data, device=device, dtype=dtype, requires_grad=requires_grad,
                         copy=False)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce__(self) -> tuple:
        """Pickle and deepcopy as a Parameter (the Tensor's own reduction, wrapped)."""
        return _parameter, (*super().__reduce__(), self.requires_grad)


def _parameter(rebuild: Any, args: tuple, requires_grad: bool) -> Parameter:
    return Parameter(rebuild(*args), requires_grad)


def _move(t: Tensor, backend: backends.Backend | None, dtype: Any) -> None:
    """Move ``t`` (and its gradient) in place: its identity, and so optimizers, stay valid."""
    for x in (t, t.grad):
        if x is None:
            continue
        data = x.data
        if backend is not None and backend is not x._backend:
            data = backend.accept(data, x._backend)
            x._backend = backend
        if dtype is not None and x.dtype.kind == "f" and x.dtype != dtype:
            data = x._backend.xp.astype(data, x._backend.native_dtype(dtype))
        x.data = data


_WARNED: weakref.WeakKeyDictionary[type, set[str]] = weakref.WeakKeyDictionary()


def _warn_plain_tensor(module: Module, name: str, value: Tensor) -> None:
    """Warn once per class and attribute that a plain leaf Tensor is not a parameter.

    It warns for a leaf that requires grad assigned to a user's module; anygrad's own modules
    are exempt (a loss's ``weight`` is deliberately plain).
    """
    cls = type(module)
    if not value.requires_grad or not value.is_leaf or (
            cls is not Module and cls.__module__.startswith("anygrad.")):
        return
    names = _WARNED.setdefault(cls, set())
    if name in names:
        return
    names.add(name)
    warnings.warn(f"{cls.__name__}.{name} is a plain Tensor that requires grad: it is not in "
                  f"parameters() or state_dict() and to() does not move it. Wrap it in "
                  f"nn.Parameter to learn it, or use register_buffer({name!r}, ...) to keep it "
                  f"as state", UserWarning, stacklevel=3)


class Module:
    """Base class of layers and models (PyTorch's ``nn.Module``).

    Subclass it, call ``super().__init__()``, assign parts in ``__init__`` and write
    ``forward``; call the module to run it. Assigning an ``nn.Parameter``, a ``Module`` or a
    registered buffer to an attribute registers it; a plain leaf Tensor that requires grad
    warns that it is not a parameter.

    Attributes:
        training: Whether the module is in training mode (``train()``) or evaluation mode
            (``eval()``).
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration ----------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning {name!r}")
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter | Module):
            for table in (params, buffers, modules):
                table.pop(name, None)
            (params if isinstance(value, Parameter) else modules)[name] = value
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"buffer {name!r} must be a Tensor or None, not "
                                f"{type(value).__name__}")
            buffers[name] = value
        elif name in params or name in modules:
            if value is not None:
                kind = "an nn.Parameter" if name in params else "a Module"
                raise TypeError(f"{name!r} holds {kind}; cannot assign a "
                                f"{type(value).__name__} to it (assign {kind} or None)")
            (params if name in params else modules)[name] = None
        elif isinstance(value, Tensor):
            _warn_plain_tensor(self, name, value)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Keep a tensor as state that is not learnt (``running_mean``).

        A buffer is moved by ``to()`` and saved in ``state_dict()`` unless not persistent.

        Args:
            name: The attribute name.
            tensor: The tensor, or None for a slot filled later.
            persistent: Whether ``state_dict()`` includes it.
        """
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register a parameter under a name (what assigning an ``nn.Parameter`` does).

        Args:
            name: The attribute name.
            param: The parameter, or None for a slot filled later.
        """
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a sub-module under a name (what assigning a ``Module`` does).

        Args:
            name: The attribute name.
            module: The module, or None.
        """
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # -- running ---------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the module's output; subclasses define it, and calling the module runs it.

        Raises:
            NotImplementedError: When the subclass does not define it.
        """
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the module: ``forward(*args, **kwargs)``."""
        return self.forward(*args, **kwargs)

    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout drops, batch norm uses and updates batch statistics).

        Args:
            mode: True for training mode, False for evaluation mode.

        Returns:
            The module itself, for every module below it too.
        """
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode: ``train(False)``.

        Returns:
            The module itself.
        """
        return self.train(False)

    # -- walking the tree --------------------------------------------------------------------
    def named_modules(self, prefix: str = "", remove_duplicate: bool = True
                      ) -> Iterator[tuple[str, Module]]:
        """Iterate over this module and every module below it, with dotted names.

        Args:
            prefix: A name to put before every name.
            remove_duplicate: Yield a module reached by two paths once only.

        Yields:
            ``(name, module)`` pairs, depth first, this module first (named ``prefix``).
        """
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if remove_duplicate and id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()
                        if c is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """Iterate over this module and every module below it (each once).

        Yields:
            The modules, depth first.
        """
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Iterate over the direct sub-modules with their attribute names.

        Yields:
            ``(name, module)`` pairs.
        """
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        """Iterate over the direct sub-modules.

        Yields:
            The modules.
        """
        for _, m in self.named_children():
            yield m

    def _named(self, table: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mname, m in mods:
            for k, t in getattr(m, table).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{mname}.{k}" if mname else k), t

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """Iterate over the parameters (shared ones once), with dotted names.

        Args:
            prefix: A name to put before every name.
            recurse: Include the sub-modules' parameters.

        Yields:
            ``(name, parameter)`` pairs.
        """
        yield from self._named("_parameters", prefix, recurse)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Iterate over the parameters (shared ones once): what an optimizer takes.

        Args:
            recurse: Include the sub-modules' parameters.

        Yields:
            The parameters.
        """
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:
        """Iterate over the buffers (shared ones once), with dotted names.

        Args:
            prefix: A name to put before every name.
            recurse: Include the sub-modules' buffers.

        Yields:
            ``(name, buffer)`` pairs.
        """
        yield from self._named("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Iterate over the buffers (shared ones once).

        Args:
            recurse: Include the sub-modules' buffers.

        Yields:
            The buffers.
        """
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (each ``grad`` becomes None).

        Args:
            set_to_none: Accepted for PyTorch's signature; gradients always become None.
        """
        for p in self.parameters():
            p.zero_grad()

    # -- state -----------------------------------------------------------------------------
    def state_dict(self, prefix: str = "") -> OrderedDict[str, Tensor]:
        """The parameters and persistent buffers by dotted name.

        A shared module appears under each of its names, as in PyTorch.

        Args:
            prefix: A name to put before every key.

        Returns:
            An ordered dict of detached tensors sharing the parameters' arrays; ``ag.save``
            stores it.
        """
        out: OrderedDict[str, Tensor] = OrderedDict()
        for mname, m in self.named_modules(prefix, remove_duplicate=False):
            dot = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                if p is not None:
                    out[dot + k] = p.detach()
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent:
                    out[dot + k] = b.detach()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> tuple[list, list]:
        """Copy values into this module's parameters and buffers.

        Each keeps its device and dtype. All or nothing: every key, shape and dtype is
        checked (and every value converted) before anything is assigned, so a bad state dict
        leaves the module unchanged.

        Args:
            state_dict: Values by dotted name: Tensors or any library's arrays (NumPy,
                torch, CuPy), such as a PyTorch model's ``state_dict()`` converted to NumPy.
            strict: Raise for missing or unexpected keys.

        Returns:
            ``(missing, unexpected)``: the lists of keys.

        Raises:
            TypeError: When ``state_dict`` is not a mapping, or a value is not an array.
            KeyError: With ``strict``, for missing or unexpected keys.
            ShapeError: When a value's shape differs from its parameter's.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expects a dict of arrays, not "
                            f"{type(state_dict).__name__}")
        own: dict[str, Tensor] = {}
        for mname, m in self.named_modules(remove_duplicate=False):
            dot = f"{mname}." if mname else ""
            for table in (m._parameters, m._buffers):
                for k, t in table.items():
                    if t is not None and not (table is m._buffers and k in m._non_persistent):
                        own[dot + k] = t
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys "
                           f"{unexpected}")
        converted = [(t, convert_like("load_state_dict", k, state_dict[k], t))
                     for k, t in own.items() if k in state_dict]
        for t, data in converted:  # nothing raised: assign every value
            t.data = data
        return missing, unexpected

    # -- devices and dtypes ----------------------------------------------------------------
    def to(self, device: Any = None, dtype: Any = None) -> Module:
        """Move every parameter and buffer to a device and/or cast the float ones, in place.

        The Parameter objects stay the same, so existing optimizers follow.

        Args:
            device: A device name or ``Device`` (or a dtype: ``module.to(ag.float64)``).
            dtype: A float dtype for the float parameters and buffers.

        Returns:
            The module itself.

        Raises:
            DeviceError: When ``device`` names no device.
        """
        if device is not None and dtype is None and not isinstance(device, str | backends.Device):
            device, dtype = None, device  # module.to(anygrad.float64)
        backend = None if device is None else backends.get(device)
        dtype = None if dtype is None else as_dtype(dtype)
        for t in (*self.parameters(), *self.buffers()):
            _move(t, backend, dtype)
        return self

    def float(self) -> Module:
        """Cast the float parameters and buffers to float32, in place.

        Returns:
            The module itself.
        """
        return self.to(dtype="float32")

    def double(self) -> Module:
        """Cast the float parameters and buffers to float64, in place.

        Returns:
            The module itself.
        """
        return self.to(dtype="float64")

    # -- description -----------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The module's settings as shown inside its ``repr`` (subclasses override it).

        Returns:
            A string, empty here.
        """
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ")
                 for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Count the parameters' elements.

        Args:
            trainable_only: Count only parameters that require grad.

        Returns:
            The number of elements.
        """
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    def summary(self) -> str:
        """Describe the model as a table of the modules that hold parameters.

        Returns:
            The table as text: each module's name, type, parameter shapes and counts, then
            the totals.
        """
        rows = [("name", "type", "parameters", "count")]
        for name, m in self.named_modules():
            own = [p for p in m._parameters.values() if p is not None]
            if own:
                shapes = ", ".join("x".join(map(str, p.shape)) for p in own)
                rows.append((name or "(root)", type(m).__name__, shapes,
                             f"{sum(p.size for p in own):,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        fmt = lambda r: "  ".join([*(c.ljust(w) for c, w in zip(r[:3], widths, strict=False)),
                                   r[3].rjust(widths[3])])
        rule = "-" * len(fmt(rows[0]))
        total, trainable = self.num_parameters(), self.num_parameters(trainable_only=True)
        return "\n".join([fmt(rows[0]), rule, *map(fmt, rows[1:]), rule,
                          f"total parameters: {total:,} (trainable: {trainable:,})"])


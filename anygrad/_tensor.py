"""The Tensor: a backend array plus its place in the autograd graph."""

from __future__ import annotations

import math
from typing import Any

from . import backends
from .autograd import engine
from .errors import DTypeError, GraphError, ShapeError

_new = object.__new__
_MISSING: Any = object()


class Tensor:
    """An array of any Array-API library, on any device, that records how it was computed.

    ``data`` may be a Python scalar or (nested) list, a NumPy, CuPy, torch, JAX, Dask or
    array-api-strict array, or a Tensor. Host data (Python values, NumPy arrays) goes to
    ``device`` or the default device; a backend's array stays on its device unless ``device``
    says otherwise. Float tensors track gradients unless ``requires_grad=False``; integer and
    bool tensors never do. ``copy=False`` shares the array when it can.
    """

    # A tensor is its own graph node: ``_op`` made it from ``_parents`` (the inputs that need
    # a gradient, None for the others), reading ``_args`` (the input values) and ``_params``;
    # ``_seq`` orders it after its inputs. Leaves and constants have ``_op = None`` and leave
    # those unset. ``_g`` holds the gradient while backward runs.
    __slots__ = ("data", "_backend", "_rg", "_op", "_parents", "_args", "_params", "_seq",
                 "_g", "__dict__", "__weakref__")
    # __array_ufunc__ and __array_function__ (NumPy's functions on Tensors, np_array + tensor):
    # anygrad/numpy_protocols.py
    __hash__ = object.__hash__

    label: str | None = None    #: a name for graph drawings and error messages
    # Rarely set, so kept out of the slots (see ``autograd.views``): the tensor owning the
    # memory of a view, how the view derives from it, a base's views (weak references), the
    # version a write replaced, whether a non-leaf keeps its gradient, and whether it is a
    # leaf written in place with values of its own (a leaf again once backward freed that).
    _base: Tensor | None = None
    _vchain: tuple = ()
    _views: list | None = None
    _prev: Tensor | None = None
    _retain: bool = False
    _leaflike: bool = False
    _grad: Tensor | None = None

    def __init__(self, data: Any = _MISSING, *, device: Any = None, dtype: Any = None,
                 requires_grad: bool | None = None, label: str | None = None,
                 copy: bool = True, constant: bool | None = None, ndmin: int = 0,
                 values: Any = _MISSING, comp_grad: bool | None = None):
        if values is not _MISSING:  # simplegrad's names
            if data is not _MISSING:
                raise TypeError("Tensor: give the data once, as data or as values=")
            data = values
        elif data is _MISSING:
            raise TypeError("Tensor() needs its data (or values=)")
        if comp_grad is not None:
            if requires_grad is not None:
                raise TypeError("Tensor: give requires_grad= or comp_grad=, not both")
            requires_grad = comp_grad
        if constant is not None:
            if not isinstance(constant, bool):
                raise TypeError(f"Tensor: constant must be a bool or None, not {constant!r}")
            if requires_grad is not None and bool(requires_grad) == bool(constant):
                raise TypeError(f"Tensor: requires_grad={requires_grad} contradicts "
                                f"constant={constant}; give one of them")
            requires_grad = not constant
        if isinstance(data, Tensor):
            arr, backend = backends.from_data(data.data, device, dtype, copy, src=data._backend)
        else:
            arr, backend = backends.from_data(data, device, dtype, copy)
        if arr.ndim < ndmin:  # NumPy's and MyGrad's ``ndmin``: leading axes of size 1
            arr = backend.xp.reshape(arr, (1,) * (ndmin - arr.ndim) + tuple(arr.shape))
        self.data = arr
        self._backend = backend
        self._op = self._g = None
        self._rg = False
        self._seq = next(engine.sequence)  # when it was made (drawings place it in its group)
        if label is not None:
            self.label = label
        if requires_grad is None:
            self._rg = backend.dtype_of(arr.dtype).kind in "fc"
        elif requires_grad:
            self.requires_grad = True

    # -- what it is ----------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self._backend.dtype_of(self.data.dtype).kind not in "fc":
            raise DTypeError(f"only float and complex tensors can require gradients, not "
                             f"{self.dtype.name} (shape {self.shape})")
        if not value and self._op is not None:
            raise GraphError("requires_grad can only be switched off on a leaf; use detach()")
        self._rg = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @shape.setter
    def shape(self, shape: Any) -> None:
        """``t.shape = (2, 5)``: reshape in place, without a copy (NumPy's rule)."""
        from .autograd.views import set_shape
        set_shape(self, shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return math.prod(self.data.shape)

    @property
    def dtype(self) -> Any:
        return self._backend.dtype_of(self.data.dtype)

    @property
    def device(self) -> backends.Device:
        return self._backend.device

    @property
    def backend(self) -> backends.Backend:
        return self._backend

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def constant(self) -> bool:
        """MyGrad's name: True when no gradient flows to this tensor."""
        return not self._rg

    @property
    def values(self) -> Any:
        """The backend array (simplegrad's name for ``data``)."""
        return self.data

    @values.setter
    def values(self, array: Any) -> None:
        self.data = array

    def convert_to(self, dtype: Any, inplace: bool = True) -> Tensor:
        """This tensor's values (and gradient) in ``dtype`` (simplegrad's ``convert_to``):
        in place by default, where the tensor stops sharing memory with any view; else a new
        leaf. Integer and bool dtypes make a constant."""
        backend = self._backend
        native = backend.native_dtype(dtype)
        floating = backend.dtype_of(native).kind in "fc"
        if not inplace:
            out = Tensor(backend.xp.astype(self.data, native), requires_grad=self._rg and floating,
                         copy=False)
            if self._grad is not None and floating:
                out._grad = _wrap(backend.xp.astype(self._grad.data, native), backend)
            return out
        if not floating and self._op is not None:
            raise DTypeError(f"convert_to: a tensor computed in the graph cannot become "
                             f"{backend.dtype_of(native).name} in place; use inplace=False")
        from .autograd.views import live_views, unmark
        if self._base is not None:
            unmark(self)
        for v in live_views(self):
            unmark(v)
        self.data = backend.xp.astype(self.data, native)
        if not floating:
            self._rg = False
            self._grad = None
        elif self._grad is not None:
            self._grad = _wrap(backend.xp.astype(self._grad.data, native), backend)
        return self

    @staticmethod
    def deferred(forward_fn: Any, shape: Any, dtype: Any = "float32", *,
                 device: Any = None) -> Tensor:
        """A tensor computed later, by ``forward_fn()`` (a zero-argument callable returning
        an array of ``device``'s backend), at ``realize()`` or the first use of its values, in
        graph order with lazy mode's deferred ops, exactly once (simplegrad's
        ``Tensor.deferred``). Its shape and dtype are known at once; a result of another shape
        or dtype raises. It is a constant: it does not require gradients."""
        from .lazy.graph import user_deferred
        return user_deferred(forward_fn, shape, dtype, device)

    @property
    def base(self) -> Tensor | None:
        """The tensor whose memory this view shares (NumPy's and MyGrad's ``base``); None for
        a tensor that owns its memory, and on backends without views (JAX, Dask)."""
        base = self._base
        if base is not None and not self._backend.shares(self.data, base.data):
            from .autograd.views import unmark  # lazy mode marked a copy (a realized reshape
            unmark(self)                        # that had to copy, torch's flip, ...)
            return None
        return base

    @property
    def creator(self) -> Any:
        """The op that produced this tensor (MyGrad's name); None for leaves and constants."""
        return self._op

    def __len__(self) -> int:
        if not self.data.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # -- gradients -----------------------------------------------------------------------
    def realize(self) -> Tensor:
        """Compute this tensor if lazy mode deferred it; returns self (already computed: a
        no-op). Deferred tensors also compute on any use of their values, and
        ``backward()`` realizes first."""
        return self

    def backward(self, grad: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` (same shape as self) weights the outputs; it defaults to ones, so a
        non-scalar's backward is the backward of its sum. ``create_graph``: the gradients
        are themselves differentiable (the graph is kept unless ``retain_graph=False``).
        """
        if not self._rg:
            raise GraphError("backward() on a tensor that does not require grad (a constant, "
                             "or computed under no_grad)")
        if create_graph:
            from .autograd.gradients import _seeds, walk
            walk((self,), _seeds((self,), grad, True), True,
                 True if retain_graph is None else retain_graph)
            return
        engine.backward(self, self._seed(grad, self.data.dtype), bool(retain_graph))

    def _seed(self, grad: Any, dtype: Any) -> Any:
        """The array ``backward(grad)`` starts from, for this tensor of native ``dtype``."""
        if grad is None:
            return self._backend.ones(self.shape, dtype)
        if isinstance(grad, Tensor):
            if grad._backend is not self._backend:
                raise backends.DeviceError(f"backward: grad is on {grad.device}, the tensor "
                                           f"on {self.device}")
            seed = grad.data
        else:
            seed = self._backend.asarray(grad)
        if seed.dtype == dtype:  # the caller's array: gradients must not alias it
            seed = self._backend.xp.asarray(seed, copy=True)
        if tuple(seed.shape) != self.shape:
            raise ShapeError(f"backward: grad has shape {tuple(seed.shape)}, the tensor "
                             f"{self.shape}")
        return seed if seed.dtype == dtype else self._backend.xp.astype(seed, dtype)

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient, a Tensor on this device in this dtype. A view's is that
        view of its base's gradient (MyGrad's relationship: ``x[:2].grad == x.grad[:2]``)."""
        base = self._base
        if base is not None:
            g = base._grad
            if g is not None:
                from .autograd.views import derive
                return _wrap(derive(self._backend.xp, g.data, self._vchain), self._backend)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        self._grad = value

    def _accumulate(self, g: Any) -> None:
        if self._grad is None:
            self._grad = _wrap(g, self._backend)
        else:
            self._grad = _wrap(self._backend.xp.add(self._grad.data, g), self._backend)

    def retain_grad(self) -> None:
        """Keep this tensor's gradient in ``grad`` after ``backward()`` even though it is no
        leaf (PyTorch's ``retain_grad``)."""
        if not self._rg:
            raise GraphError("retain_grad() on a tensor that does not require grad")
        if self._op is not None:
            self._retain = True

    @property
    def retains_grad(self) -> bool:
        """Whether this non-leaf keeps its gradient (see :meth:`retain_grad`)."""
        return self._retain

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad`` becomes None)."""
        self._grad = None

    null_grad = zero_grad  # MyGrad's name

    def detach(self) -> Tensor:
        """The same data, cut from the graph, not requiring gradients."""
        return _wrap(self.data, self._backend)

    @property
    def group(self) -> tuple[str, int] | None:
        """``(name, id)`` of the ``compound_op`` call (or ``graph_group`` block) that computed
        this tensor, as simplegrad has it; None outside any."""
        from .drawing import group_of
        return group_of(self)

    @property
    def op(self) -> Any:
        """The op that computed this tensor (None for leaves and constants)."""
        return self._op

    def clear_graph(self) -> None:
        """Cut this tensor from the graph that produced it, making it a leaf (MyGrad's
        ``clear_graph``)."""
        if self._op is not None:
            self._op = self._parents = self._args = self._params = None

    # -- moving data -----------------------------------------------------------------------
    def to(self, device: Any) -> Tensor:
        """This tensor on ``device``; differentiable: gradients flow back to this device."""
        from .ops.transfer import to
        return to(self, device)

    def numpy(self) -> Any:
        """A host NumPy copy, from any device."""
        return self._backend.to_numpy(self.data)

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ShapeError(f"item() needs a tensor of one element, not shape {self.shape}")
        return self._backend.to_numpy(self.data).item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def _scalar(self, what: str) -> Any:
        if self.size != 1:  # NumPy's error type
            raise DTypeError(f"{what}() needs a tensor of one element, not shape {self.shape}")
        return self.item()

    def __bool__(self) -> bool:
        return bool(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())

    def __repr__(self) -> str:
        body = backends.format_array(self.numpy(), "Tensor(")
        extra = [f"device='{self.device}'"] if self.device != "cpu" else []
        if self.dtype.name not in ("float64", "int64", "bool"):
            extra.append(f"dtype={self.dtype.name}")
        if self._rg:
            extra.append("requires_grad=True")
        if self.label is not None:
            extra.append(f"label={self.label!r}")
        return "Tensor(" + body + "".join(", " + e for e in extra) + ")"

    def __format__(self, spec: str) -> str:
        return format(self.item(), spec) if spec and self.size == 1 else repr(self)

    def __reduce__(self) -> tuple:
        """Pickle (and deepcopy) through a host copy: arrays of any device, no backend object."""
        return _rebuild, (self.numpy(), str(self.device), self._rg, self.label)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        """``np.asarray(t)`` for tensors in host memory (NumPy's own array shares memory,
        as NumPy 2's ``copy`` allows); TypeError on a GPU or any other device."""
        from .backends.numpy_fallback import host_array
        return host_array(self.data, self._backend, dtype, copy)


def _rebuild(host: Any, device: str, requires_grad: bool, label: str | None) -> Tensor:
    return Tensor(host, device=device, requires_grad=requires_grad, label=label)


def _wrap(data: Any, backend: backends.Backend) -> Tensor:
    """A constant Tensor around ``data`` (already on ``backend``): the fast path."""
    t = _new(Tensor)
    t.data = data
    t._backend = backend
    t._rg = False
    t._op = t._g = None
    return t

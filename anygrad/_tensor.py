"""The Tensor: a backend array plus its place in the autograd graph."""

from __future__ import annotations

import math
from typing import Any

from . import backends
from .autograd import engine
from .errors import DTypeError, GraphError, ShapeError
from .modes import MODE

_new = object.__new__
_MISSING: Any = object()
_sequence = engine.sequence


class Tensor:
    """An array of any Array-API library, on any device, that records how it was computed.

    ``data`` may be a Python scalar or (nested) list, a NumPy, CuPy, torch, JAX, Dask or
    array-api-strict array, or a Tensor. Host data (Python values, NumPy arrays) goes to
    ``device`` or the default device; a backend's array stays on its device unless ``device``
    says otherwise. Float tensors track gradients unless ``requires_grad=False``; integer and
    bool tensors never do. ``copy=False`` shares the array when it can.

    Args:
        data: The values, as above.
        device: Where host data goes, or where to copy a backend's array (a name such as
            ``"cuda:1"``, or a Device); None: the default device, or the array's own.
        dtype: The dtype (a DType, its name, or a library's dtype); None: the data's.
        requires_grad: Whether gradients flow to this tensor; None: for float and complex
            data.
        label: A name for graph drawings and error messages.
        copy: Whether to copy the data (False: share its memory when possible).
        constant: MyGrad's opposite of ``requires_grad`` (None: not given).
        ndmin: The least number of axes; NumPy's and MyGrad's: size-1 axes are added in
            front.
        values: simplegrad's name for ``data``.
        comp_grad: simplegrad's name for ``requires_grad``.

    Raises:
        TypeError: If the data is given twice (``data`` and ``values``) or not at all; if
            both ``comp_grad`` and ``requires_grad`` are given, or a ``constant`` that is
            not a bool or contradicts ``requires_grad``; if the data has no numeric dtype.
        ValueError: If the data makes no array (ragged lists).
        DTypeError: If ``requires_grad=True`` for integer or bool data.
        DeviceError: If ``device`` is no device name.
        BackendUnavailableError: If ``device``'s library or hardware is unavailable.
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
    _cleared: Tensor | None = None  # the base's gradient a view's zero_grad() hid

    def __init__(self, data: Any = _MISSING, *, device: Any = None, dtype: Any = None,
                 requires_grad: bool | None = None, label: str | None = None,
                 copy: bool = True, constant: bool | None = None, ndmin: int = 0,
                 values: Any = _MISSING, comp_grad: bool | None = None):
        if values is not _MISSING or comp_grad is not None or constant is not None:
            data, requires_grad = _other_names(data, requires_grad, values, comp_grad, constant)
        elif data is _MISSING:
            raise TypeError("Tensor() needs its data (or values=)")
        if isinstance(data, Tensor):
            arr, backend = backends.from_data(data.data, device, dtype, copy, src=data._backend)
        else:
            arr, backend = backends.from_data(data, device, dtype, copy)
        if ndmin and arr.ndim < ndmin:  # NumPy's and MyGrad's ``ndmin``: leading axes of 1
            arr = backend.xp.reshape(arr, (1,) * (ndmin - arr.ndim) + tuple(arr.shape))
        self.data = arr
        self._backend = backend
        self._op = self._g = None
        self._seq = next(_sequence)  # when it was made (drawings place it in its group)
        if label is not None:
            self.label = label
        if requires_grad is None:
            native = arr.dtype  # (dtype_of: a dtype object the set does not hold, an int)
            self._rg = native in backend.grad_dtypes or backend.dtype_of(native).kind in "fc"
        else:
            self._rg = False
            if requires_grad:
                self.requires_grad = True

    # -- what it is ----------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor. Settable: True only for float and complex
        tensors (DTypeError otherwise), False only on a leaf (GraphError otherwise)."""
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
        """Set :attr:`requires_grad` in place (PyTorch's ``requires_grad_``); returns self.

        Raises:
            DTypeError: If switching it on for an integer or bool tensor.
            GraphError: If switching it off on a tensor computed in the graph.
        """
        self.requires_grad = requires_grad
        return self

    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each axis. Settable: ``t.shape = (2, 5)`` reshapes in place, without a
        copy (NumPy's rule: AttributeError where the memory would have to be copied)."""
        return tuple(self.data.shape)

    @shape.setter
    def shape(self, shape: Any) -> None:
        """``t.shape = (2, 5)``: reshape in place, without a copy (NumPy's rule)."""
        from .autograd.views import set_shape
        set_shape(self, shape)

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return math.prod(self.data.shape)

    @property
    def dtype(self) -> Any:
        """The anygrad DType (``anygrad.float32``, ...), the same whatever the library."""
        return self._backend.dtype_of(self.data.dtype)

    @property
    def device(self) -> backends.Device:
        """The Device holding the data; it compares equal to its name (``"cuda:0"``)."""
        return self._backend.device

    @property
    def backend(self) -> backends.Backend:
        """The Backend of the data: its array library on its device."""
        return self._backend

    @property
    def is_leaf(self) -> bool:
        """Whether no op of the graph computed this tensor (user-made tensors, constants)."""
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
        leaf. Integer and bool dtypes make a constant.

        Args:
            dtype: The new dtype (a DType, its name, or a library's dtype).
            inplace: Whether to convert this tensor (True) or return a new one.

        Returns:
            This tensor, or (``inplace=False``) the new one.

        Raises:
            TypeError: If this tensor's library has no such dtype.
            DTypeError: If converting in place to an integer or bool dtype a tensor the graph
                computed.
        """
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
        or dtype raises. It is a constant: it does not require gradients.

        Args:
            forward_fn: A callable of no arguments that returns the array.
            shape: The shape the array will have.
            dtype: The dtype it will have.
            device: The device it will be on; None: the default device.

        Returns:
            The deferred tensor.

        Raises:
            TypeError: If ``forward_fn`` is not callable, or the device's library has no
                such dtype.
        """
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
        ``backward()`` realizes first. A Dask tensor is computed now
        (``anygrad.compute`` computes several in one scheduler call)."""
        materialize = self._backend.materialize
        if materialize is not None:
            self.data = materialize([self.data])[0]
        return self

    def backward(self, grad: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` (same shape as self) weights the outputs; it defaults to ones, so a
        non-scalar's backward is the backward of its sum. ``create_graph``: the gradients
        are themselves differentiable (the graph is kept unless ``retain_graph=False``).

        Args:
            grad: The weight of each element (a Tensor on this device, an array or a number,
                shaped like this tensor); None: ones.
            retain_graph: Whether the graph stays usable for another backward (None: only
                with ``create_graph``).
            create_graph: Whether to record the gradients' own graph, for higher
                derivatives.

        Raises:
            GraphError: If this tensor does not require grad, or the graph was freed by an
                earlier backward.
            ShapeError: If ``grad`` has another shape than this tensor.
            DeviceError: If ``grad`` is a Tensor on another device (without
                ``create_graph``).
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
            if g is not None and g is not self._cleared:
                from .autograd.views import derive
                return _wrap(derive(self._backend.xp, g.data, self._vchain), self._backend)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        self._grad = value
        if self._base is not None:  # a view's own value hides its base's gradient, until
            self._cleared = self._base._grad  # the base gets a new one

    def _accumulate(self, g: Any) -> None:
        if self._grad is None:
            self._grad = _wrap(g, self._backend)
        else:
            self._grad = _wrap(self._backend.xp.add(self._grad.data, g), self._backend)

    def retain_grad(self) -> None:
        """Keep this tensor's gradient in ``grad`` after ``backward()`` even though it is no
        leaf (PyTorch's ``retain_grad``; a no-op on a leaf).

        Raises:
            GraphError: If this tensor does not require grad.
        """
        if not self._rg:
            raise GraphError("retain_grad() on a tensor that does not require grad")
        if self._op is not None:
            engine.retain(self)

    @property
    def retains_grad(self) -> bool:
        """Whether this non-leaf keeps its gradient (see :meth:`retain_grad`)."""
        return self._retain

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad`` becomes None)."""
        self._grad = None
        if self._base is not None:  # a view: hide its base's gradient too (see ``grad``)
            self._cleared = self._base._grad

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
        """This tensor on ``device``; differentiable: gradients flow back to this device.

        Args:
            device: The target device (a name such as ``"cuda:1"``, or a Device).

        Returns:
            This tensor itself when it is already there, else a copy on ``device``.

        Raises:
            DeviceError: If ``device`` is no device name.
            BackendUnavailableError: If ``device``'s library or hardware is unavailable.
        """
        from .ops.transfer import to
        return to(self, device)

    # Conversions to NumPy and Python values. Those that cut the graph implicitly report it
    # (anygrad/graph_cut.py) when the tensor requires grad while gradients are recorded;
    # numpy(), detach(), bool() and formatting are the explicit, silent ways.
    def numpy(self) -> Any:
        """A host NumPy copy, from any device (an explicit graph cut: never warns)."""
        return self._backend.to_numpy(self.data)

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ShapeError(f"item() needs a tensor of one element, not shape {self.shape}")
        if self._rg and MODE.get().grad:
            from .graph_cut import cut
            cut(self, "t.item()")
        return self._backend.to_numpy(self.data).item()

    def tolist(self) -> Any:
        """The values as (nested) Python lists of numbers."""
        if self._rg and MODE.get().grad:
            from .graph_cut import cut
            cut(self, "t.tolist()")
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def _scalar(self, what: str) -> Any:
        """The one value, for ``float(t)``, ``int(t)``, ``complex(t)`` (``what``)."""
        if self.size != 1:  # NumPy's error type
            raise DTypeError(f"{what}() needs a tensor of one element, not shape {self.shape}")
        if self._rg and MODE.get().grad:
            from .graph_cut import cut
            cut(self, f"{what}(t)")
        return self._backend.to_numpy(self.data).item()

    def __bool__(self) -> bool:
        """Truth of a one-element tensor; control flow, not a graph cut (silent)."""
        if self.size != 1:  # NumPy's words
            raise ShapeError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             f"use any() or all()")
        return bool(self._backend.to_numpy(self.data).item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())  # integer tensors never require grad: no graph cut

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
        if spec and self.size == 1:  # display only: no graph cut
            return format(self._backend.to_numpy(self.data).item(), spec)
        return repr(self)

    def __reduce__(self) -> tuple:
        """Pickle (and deepcopy) through a host copy: arrays of any device, no backend object."""
        return _rebuild, (self.numpy(), str(self.device), self._rg, self.label)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        """``np.asarray(t)`` for tensors in host memory (NumPy's own array shares memory,
        as NumPy 2's ``copy`` allows); TypeError on a GPU or any other device."""
        if self._rg and MODE.get().grad:
            from .graph_cut import cut
            cut(self, "np.asarray(t)")
        from .backends.numpy_fallback import host_array
        return host_array(self.data, self._backend, dtype, copy)


def _other_names(data: Any, requires_grad: bool | None, values: Any, comp_grad: bool | None,
                 constant: bool | None) -> tuple[Any, bool | None]:
    """``Tensor``'s data and ``requires_grad`` from simplegrad's and MyGrad's names for them."""
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
    return data, requires_grad


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

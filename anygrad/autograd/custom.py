"""Custom differentiable ops: ``anygrad.autograd.Function``, in PyTorch's style.

A subclass defines ``forward(ctx, *args, **kwargs)`` (run with no graph recorded: its inputs
are constants there) and ``backward(ctx, *grads)`` (one gradient per output in, one per
input out). ``MyFn.apply(*args)`` runs ``forward`` eagerly (in lazy mode too: it is a Python
callback, so deferred inputs are realized first) and links each output to the tensor inputs
through one op whose derivative rule calls ``backward``. Under ``create_graph=True`` the rule
receives Tensors and ``backward`` runs with the graph recorded, so a ``backward`` written
with anygrad ops is itself differentiable.
"""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor, _wrap
from ..errors import DeviceError, GraphError, ShapeError
from ..modes import MODE
from .function import link
from .op import Op, Variadic


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: saved tensors, flags, and any attribute.

    Attributes:
        needs_input_grad: One bool per argument of ``forward``: whether it is a Tensor that
            needs a gradient (False for all under ``no_grad``).
    """

    def __init__(self, needs_input_grad: tuple[bool, ...]):
        self.needs_input_grad = needs_input_grad
        self._saved: tuple = ()
        self._non_differentiable: set[int] = set()
        self._outputs: dict[int, Tensor] = {}  # id(forward's result) -> the linked output

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep ``tensors`` (inputs, outputs, or None) for ``backward``.

        Args:
            *tensors: The tensors ``backward`` reads back from :attr:`saved_tensors`; a call
                replaces what an earlier one saved.

        Raises:
            TypeError: If one of them is neither a Tensor nor None (keep other values as
                attributes of ``ctx``).
        """
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward takes Tensors or None, not "
                                f"{type(t).__name__} (store other values as ctx attributes)")
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The saved tensors; an output of ``forward`` is given as the output ``apply``
        returned (so second derivatives flow through it)."""
        return tuple(self._outputs.get(id(t), t) if t is not None else None
                     for t in self._saved)

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """Mark outputs of ``forward`` that get no gradient (``apply`` returns them as
        constants).

        Args:
            *outputs: Tensors that ``forward`` returns (an index, a mask, a count).
        """
        self._non_differentiable.update(id(t) for t in outputs)


def _no_abstract(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("a custom Function runs eagerly")


def _no_forward(xp: Any, *args: Any, **kwargs: Any) -> Any:
    raise GraphError("a custom Function's op is applied by Function.apply only")


class Function:
    """Base class of custom differentiable ops (``torch.autograd.Function``'s interface).

    ``backward`` returns one gradient per input of ``forward`` (or per tensor input), None
    where there is none (non-tensors, inputs that need no gradient, zero). Its results are
    checked during backward: a wrong number of gradients raises GraphError, a gradient on
    another device DeviceError, one of another shape ShapeError.

    Raises:
        TypeError: On instantiation: a Function is used as ``MyFn.apply(...)``.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        raise TypeError(f"{type(self).__name__} is used as {type(self).__name__}.apply(...), "
                        f"not instantiated")

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        """The op's value, computed with no graph recorded (subclasses define it).

        Args:
            ctx: Where to save what ``backward`` needs (:meth:`FunctionCtx.save_for_backward`,
                any attribute).
            *args: What ``apply`` was given: Tensors (constants here) and other values.
            **kwargs: Keyword arguments of ``apply``, passed on unchanged.

        Returns:
            A Tensor, or a tuple holding at least one Tensor.

        Raises:
            NotImplementedError: If the subclass does not define it.
        """
        raise NotImplementedError("a Function subclass defines forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:
        """The gradients of the inputs from those of the outputs (subclasses define it).

        Args:
            ctx: The context ``forward`` filled in.
            *grads: One Tensor per output of ``forward`` (None for its non-Tensor outputs):
                the gradient of the output being differentiated, zeros for the others.

        Returns:
            One gradient per argument of ``forward``, or one per Tensor argument: each a
            Tensor, an array or a number shaped like its input, or None for no gradient.
            A single gradient may be returned bare instead of in a tuple.

        Raises:
            NotImplementedError: If the subclass does not define it.
        """
        raise NotImplementedError("a Function subclass defines backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on ``args``; its outputs, linked to the tensor inputs.

        Float and complex outputs not marked non-differentiable get gradients through
        ``backward``; the others are constants.

        Args:
            *args: The op's inputs: Tensors (one device) and any other values.
            **kwargs: Keyword arguments for ``forward``.

        Returns:
            What ``forward`` returned, its Tensors replaced by outputs in the graph.

        Raises:
            DeviceError: If the tensor inputs, or ``forward``'s outputs, are on more than
                one device.
            TypeError: If ``forward`` returns no Tensor.
        """
        mode = MODE.get()
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in positions]
        backend = None
        for t in tensors:
            if backend is None:
                backend = t._backend
            elif t._backend is not backend:
                raise DeviceError(f"{cls.__name__}: inputs are on different devices "
                                  f"({tensors[0].device} and {t.device})")
        needs = tuple(isinstance(a, Tensor) and a._rg and mode.grad for a in args)
        ctx = FunctionCtx(needs)
        token = MODE.set(mode.changed(grad=False, lazy=False))
        try:
            result = cls.forward(ctx, *args, **kwargs)
        finally:
            MODE.reset(token)
        single = not isinstance(result, tuple)
        results = (result,) if single else result
        if not any(isinstance(r, Tensor) for r in results):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple with "
                            f"Tensors, not {type(result).__name__}")
        outputs: list[Any] = []
        for r in results:
            if not isinstance(r, Tensor):
                outputs.append(r)
                continue
            if backend is not None and r._backend is not backend:
                raise DeviceError(f"{cls.__name__}.forward returned a tensor on {r.device}, "
                                  f"its inputs are on {tensors[0].device}")
            if type(r) is not Tensor:  # a deferred tensor (forward ran lazily): its value
                r.realize()
            out = _wrap(r.data, r._backend)
            ctx._outputs[id(r)] = out
            outputs.append(out)
        if any(needs):
            parents = tuple(t if needs[i] else None for i, t in zip(positions, tensors,
                                                                     strict=True))
            arrays = tuple(t.data for t in tensors)
            shapes = [tuple(o.shape) if isinstance(o, Tensor) else None for o in outputs]
            for j, (r, out) in enumerate(zip(results, outputs, strict=True)):
                if isinstance(out, Tensor) and id(r) not in ctx._non_differentiable and (
                        out._backend.xp.isdtype(out.data.dtype,
                                                ("real floating", "complex floating"))):
                    op = Op(cls.__name__, _no_forward,
                            Variadic(_rule(cls, ctx, j, shapes, outputs, positions, tensors,
                                           parents)),
                            abstract=_no_abstract, complex_exact=True)
                    link(out, op, parents, arrays, {})
        return outputs[0] if single else tuple(outputs)


def _rule(cls: type[Function], ctx: FunctionCtx, j: int, shapes: list, outputs: list,
          positions: list[int], tensors: list[Tensor], parents: tuple) -> Any:
    """The derivative rule of output ``j`` with respect to tensor input ``i``: ``backward``
    with ``g`` for output ``j`` (zeros for the others), called once per incoming gradient."""
    last = max(i for i, p in enumerate(parents) if p is not None)
    cache: list = [None, None]  # [g, gradients]: shared by the rules of one gradient

    def rule(i: int, xp: Any, g: Any, out: Any, *args: Any) -> Any:
        if cache[0] is not g:
            cache[0], cache[1] = g, _call_backward(cls, ctx, j, g, shapes, outputs,
                                                   positions, tensors)
        gi = cache[1][i]
        if i == last:
            cache[0] = cache[1] = None
        return gi

    return rule


def _call_backward(cls: type[Function], ctx: FunctionCtx, j: int, g: Any, shapes: list,
                   outputs: list, positions: list[int], tensors: list[Tensor]) -> list:
    """``backward``'s gradients for the tensor inputs, as arrays (or Tensors when the rules
    run on Tensors: ``create_graph`` and lazy mode's backward)."""
    import anygrad
    on_tensors = isinstance(g, Tensor)
    if on_tensors:
        zeros = [anygrad.zeros(tuple(o.shape), dtype=o.dtype, device=o.device)
                 if isinstance(o, Tensor) else None for o in outputs]
        grads = [g if k == j else z for k, z in enumerate(zeros)]
        returned = cls.backward(ctx, *grads)
    else:
        backend = tensors[0]._backend
        grads = [_wrap(g, backend) if k == j else
                 _wrap(backend.xp.zeros(shapes[k], dtype=o.data.dtype), backend)
                 if isinstance(o, Tensor) else None for k, o in enumerate(outputs)]
        token = MODE.set(MODE.get().changed(grad=False, lazy=False))
        try:
            returned = cls.backward(ctx, *grads)
        finally:
            MODE.reset(token)
    returned = returned if isinstance(returned, tuple | list) else (returned,)
    nargs = len(ctx.needs_input_grad)
    if len(returned) == nargs:
        picked = [returned[p] for p in positions]
    elif len(returned) == len(tensors):
        picked = list(returned)
    else:
        raise GraphError(f"{cls.__name__}.backward returned {len(returned)} gradients; "
                         f"forward had {nargs} inputs ({len(tensors)} of them tensors)")
    out = []
    for k, (gi, x) in enumerate(zip(picked, tensors, strict=True)):
        if gi is None:
            gi = anygrad.zeros_like(x.detach()) if on_tensors else x._backend.xp.zeros_like(
                x.data)
        elif isinstance(gi, Tensor):
            if gi._backend is not x._backend:
                raise DeviceError(f"{cls.__name__}.backward: the gradient of input "
                                  f"{positions[k]} is on {gi.device}, the input on {x.device}")
            if not on_tensors:
                gi = gi.data
        else:  # an array or a Python number
            gi = anygrad.asarray(gi, device=x.device) if on_tensors else x._backend.asarray(gi)
        if tuple(gi.shape) != tuple(x.shape):
            raise ShapeError(f"{cls.__name__}.backward: the gradient of input {positions[k]} "
                             f"has shape {tuple(gi.shape)}, the input {tuple(x.shape)}")
        out.append(gi)
    return out

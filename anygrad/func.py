"""Function transforms in the style of JAX and ``torch.func``, built on ``autograd.grad``.

``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd`` (``jacobian``),
``hessian`` and ``hvp``.

Each transform calls ``f`` on fresh inputs and never touches any ``.grad``. Called at the top
level, the inputs are new leaves (the caller's tensors are left as they are) and the results
are constants. Called inside another transform, the inputs stay connected to the enclosing
one and gradients are recorded (``create_graph``), so transforms compose: ``grad(grad(f))``,
``jacfwd(jacrev(f))``. Forward mode (``jvp``, ``jacfwd``) is the double-vjp construction: the
vjp ``u -> J^T u`` is linear in ``u``, and its own vjp with tangent ``t`` is ``J t``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ._tensor import Tensor
from .autograd import grad as _autograd_grad
from .errors import DTypeError, ShapeError
from .modes import enable_grad, is_grad_enabled

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacrev", "jacfwd", "jacobian", "hessian",
           "hvp"]

_DEPTH: ContextVar[int] = ContextVar("anygrad_func_depth", default=0)
Argnums = int | Sequence[int]


# -- shared machinery ----------------------------------------------------------------------
@contextmanager
def _level():
    """One level of transform: ``f`` runs with gradients recorded, nested transforms connect."""
    token = _DEPTH.set(_DEPTH.get() + 1)
    try:
        with enable_grad():
            yield
    finally:
        _DEPTH.reset(token)


def _argnums(argnums: Any, n: int, who: str) -> tuple[tuple[int, ...], bool]:
    """``argnums`` as non-negative positions, and whether it was a single int."""
    single = isinstance(argnums, int) and not isinstance(argnums, bool)
    nums = (argnums,) if single else argnums
    if not isinstance(nums, (tuple, list)) or not nums or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in nums):
        raise TypeError(f"{who}: argnums must be an int or a non-empty tuple of ints, "
                        f"not {argnums!r}")
    out = []
    for a in nums:
        if not -n <= a < n:
            raise ValueError(f"{who}: argnums {a} is out of range for {n} positional "
                             f"argument{'s' if n != 1 else ''}")
        out.append(a % n)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: argnums {tuple(nums)!r} repeats an argument")
    return tuple(out), single


def _fresh(x: Any, connect: bool, who: str, i: int) -> Tensor:
    """The input ``f`` is called with.

    A new leaf, or (``connect``) a copy that stays in the enclosing transform's graph. Python
    and NumPy data become Tensors on the default device.
    """
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.backend.dtype_of(x.data.dtype).kind not in "fc":
        raise DTypeError(f"{who}: argument {i} has dtype {x.dtype.name}; only float and "
                         f"complex inputs can be differentiated")
    if connect and x.requires_grad:
        return x * 1
    return x.detach().requires_grad_()


def _call(f: Callable, args: Sequence[Any], nums: tuple[int, ...], has_aux: bool, who: str,
          kwargs: dict | None = None) -> tuple[Any, Any, tuple[Tensor, ...], bool]:
    """Run ``f`` on fresh inputs at ``nums``: (output, aux, those inputs, nested)."""
    nested = _DEPTH.get() > 0 and is_grad_enabled()
    args = list(args)
    prims = tuple(_fresh(args[i], nested, who, i) for i in nums)
    for i, p in zip(nums, prims, strict=True):
        args[i] = p
    with _level():
        res = f(*args, **(kwargs or {}))
    aux = None
    if has_aux:
        if not isinstance(res, tuple) or len(res) != 2:
            raise TypeError(f"{who}: with has_aux=True, f must return a pair (output, aux), "
                            f"not {type(res).__name__}")
        res, aux = res
    return res, aux, prims, nested


def _outputs(out: Any, who: str) -> tuple[tuple[Tensor, ...], bool]:
    """``f``'s output as a tuple of Tensors, and whether it was a single Tensor."""
    if isinstance(out, Tensor):
        return (out,), True
    if isinstance(out, (tuple, list)) and out and all(isinstance(o, Tensor) for o in out):
        return tuple(out), False
    raise TypeError(f"{who}: f must return a Tensor or a tuple of Tensors, not "
                    f"{type(out).__name__}")


def _scalar(out: Any, who: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{who}: f must return a scalar Tensor, not {type(out).__name__}")
    if out.ndim != 0:
        raise ShapeError(f"{who}: f must return a scalar (0-d) Tensor, not one of shape "
                         f"{out.shape}; use vjp or jacrev for non-scalar outputs")
    return out


def _grads(outs: Sequence[Tensor], inputs: Sequence[Tensor], seeds: Sequence[Any] | None,
           create: bool) -> tuple[Tensor, ...]:
    """Gradients of ``outs`` (weighted by ``seeds``) w.r.t. ``inputs``.

    Zeros where an input is unused or an output is a constant. The graph is kept for further
    calls.
    """
    seeds = (None,) * len(outs) if seeds is None else tuple(seeds)
    pairs = [(o, s) for o, s in zip(outs, seeds, strict=True) if o.requires_grad]
    found: tuple = (None,) * len(inputs)
    if pairs:
        found = _autograd_grad([o for o, _ in pairs], list(inputs),
                               grad_outputs=[s for _, s in pairs], retain_graph=True,
                               create_graph=create, allow_unused=True)
    return tuple(_zeros(x) if g is None else g for x, g in zip(inputs, found, strict=True))


def _zeros(x: Tensor) -> Tensor:
    import anygrad
    return anygrad.zeros_like(x.detach())


def _like(v: Any, ref: Tensor, who: str, what: str) -> Tensor:
    """``v`` as a Tensor of ``ref``'s shape, on its device (host data takes ``ref``'s dtype)."""
    if not isinstance(v, Tensor):
        v = Tensor(v, device=ref.device, dtype=ref.dtype, requires_grad=False)
    if tuple(v.shape) != tuple(ref.shape):
        raise ShapeError(f"{who}: {what} has shape {tuple(v.shape)}, expected "
                         f"{tuple(ref.shape)}")
    return v


def _final(x: Any, nested: bool) -> Any:
    """A result as the caller gets it: connected when nested, else constants."""
    if nested:
        return x
    if isinstance(x, Tensor):
        return x.detach()
    if isinstance(x, (tuple, list)):
        return type(x)(_final(v, nested) for v in x)
    if isinstance(x, dict):
        return {k: _final(v, nested) for k, v in x.items()}
    return x


def _basis(ref: Tensor) -> Any:
    """The rows of the identity for ``ref``'s elements, each reshaped to ``ref``'s shape."""
    import anygrad
    n = ref.size
    eye = anygrad.eye(n, dtype=ref.dtype, device=ref.device)
    return (anygrad.reshape(eye[k], ref.shape) for k in range(n))


def _stack(parts: list[Tensor], shape: tuple[int, ...], ref: Tensor, front: bool) -> Tensor:
    """Jacobian blocks stacked into ``shape``: along axis 0 (``front``, rows) or last."""
    import anygrad
    if not parts:
        return anygrad.zeros(shape, dtype=ref.dtype, device=ref.device)
    return anygrad.reshape(anygrad.stack(parts, axis=0 if front else -1), shape)


def _pack(table: list[list[Any]], out_single: bool, arg_single: bool) -> Any:
    """``table[output][argument]`` shaped as JAX does: a Tensor, or tuples where given tuples."""
    rows = [r[0] if arg_single else tuple(r) for r in table]
    return rows[0] if out_single else tuple(rows)


def _primals(primals: Any, tangents: Any, who: str) -> tuple[tuple, tuple, bool]:
    single = not isinstance(primals, (tuple, list))
    primals = (primals,) if single else tuple(primals)
    tangents = (tangents,) if single and not isinstance(tangents, (tuple, list)) else tangents
    if not isinstance(tangents, (tuple, list)) or len(tangents) != len(primals):
        raise TypeError(f"{who}: give one tangent per primal ({len(primals)})")
    if not primals:
        raise TypeError(f"{who}: needs at least one primal")
    return primals, tuple(tangents), single


# -- reverse mode ----------------------------------------------------------------------------
def value_and_grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False,
                   *, _who: str = "value_and_grad") -> Callable:
    """Transform ``f`` into a function that returns its value and its gradient.

    Args:
        f: A function of tensors returning a scalar (0-d) Tensor, or ``(scalar, aux)`` with
            ``has_aux``.
        argnums: The position of the argument to differentiate with respect to, or a tuple
            of positions (then one result per position, in a tuple).
        has_aux: ``f`` returns a pair whose second item is passed through untouched.

    Returns:
        A function of ``f``'s arguments returning ``(value, gradient)``, or
        ``((value, aux), gradient)`` with ``has_aux``; each gradient has its argument's shape.

    Raises:
        TypeError: For a bad ``argnums``, or when ``f`` returns something other than Tensors.
        ValueError: When ``argnums`` is out of range or repeats an argument.
        DTypeError: When a differentiated argument is not a float or complex tensor.
        ShapeError: When ``f`` does not return a scalar.
    """
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, single = _argnums(argnums, len(args), _who)
        out, aux, prims, nested = _call(f, args, nums, has_aux, _who, kwargs)
        out = _scalar(out, _who)
        gs = _grads((out,), prims, None, nested)
        g = gs[0] if single else gs
        value = _final(out, nested)
        return ((value, _final(aux, nested)), g) if has_aux else (value, g)
    return wrapper


def grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Transform ``f`` into a function that returns its gradient (JAX's ``grad``).

    Transforms compose: ``grad(grad(f))`` is the second derivative.

    Args:
        f: A function of tensors returning a scalar (0-d) Tensor, or ``(scalar, aux)`` with
            ``has_aux``.
        argnums: The position of the argument to differentiate with respect to, or a tuple
            of positions (then one result per position, in a tuple).
        has_aux: ``f`` returns a pair whose second item is passed through untouched.

    Returns:
        A function of ``f``'s arguments returning the gradient (``(gradient, aux)`` with
        ``has_aux``), of each argument's shape.

    Raises:
        TypeError: For a bad ``argnums``, or when ``f`` returns something other than Tensors.
        ValueError: When ``argnums`` is out of range or repeats an argument.
        DTypeError: When a differentiated argument is not a float or complex tensor.
        ShapeError: When ``f`` does not return a scalar.
    """
    vg = value_and_grad(f, argnums, has_aux, _who="grad")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """Evaluate ``f`` and return a function computing vector-Jacobian products.

    Args:
        f: A function of tensors returning a Tensor or a tuple of Tensors (and ``aux`` with
            ``has_aux``).
        *primals: The arguments to evaluate ``f`` at (every one is differentiated).
        has_aux: ``f`` returns a pair whose second item is passed through untouched.

    Returns:
        ``(f(*primals), vjp_fn)``, and ``aux`` third with ``has_aux``. ``vjp_fn(cotangent)``
        (one cotangent per output, each of its output's shape) returns the tuple
        ``cotangent^T J``, one per primal; it may be called again.

    Raises:
        TypeError: Without primals, or when ``vjp_fn`` gets the wrong number of cotangents.
        ShapeError: When a cotangent's shape differs from its output's.
    """
    if not primals:
        raise TypeError("vjp: needs at least one primal")
    out, aux, prims, nested = _call(f, primals, tuple(range(len(primals))), has_aux, "vjp")
    outs, out_single = _outputs(out, "vjp")

    def vjp_fn(cotangents: Any) -> tuple[Tensor, ...]:
        cts = (cotangents,) if out_single else cotangents
        if not isinstance(cts, (tuple, list)) or len(cts) != len(outs):
            raise TypeError(f"vjp: give one cotangent per output ({len(outs)})")
        cts = [_like(c, o, "vjp", "the cotangent") for c, o in zip(cts, outs, strict=True)]
        return _grads(outs, prims, cts, nested)

    value = _final(out, nested)
    return (value, vjp_fn, _final(aux, nested)) if has_aux else (value, vjp_fn)


def jacrev(f: Callable, argnums: Argnums = 0) -> Callable:
    """Transform ``f`` into a function that returns its Jacobian, by reverse mode.

    One vector-Jacobian product per output element: the better choice when outputs are fewer
    than inputs.

    Args:
        f: A function of tensors returning a Tensor or a tuple of Tensors.
        argnums: The position of the argument to differentiate with respect to, or a tuple
            of positions (then one result per position, in a tuple).

    Returns:
        A function returning the Jacobian, of shape ``output.shape + input.shape``; nested
        tuples (outputs, then arguments) where ``f`` returns or ``argnums`` is a tuple.

    Raises:
        TypeError: For a bad ``argnums``, or when ``f`` returns something other than Tensors.
        ValueError: When ``argnums`` is out of range or repeats an argument.
        DTypeError: When a differentiated argument is not a float or complex tensor.
    """
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, arg_single = _argnums(argnums, len(args), "jacrev")
        out, _, prims, nested = _call(f, args, nums, False, "jacrev", kwargs)
        outs, out_single = _outputs(out, "jacrev")
        table = []
        for o in outs:
            rows = [_grads((o,), prims, (e,), nested) for e in _basis(o)]
            table.append([_stack([r[j] for r in rows], o.shape + p.shape, p, True)
                          for j, p in enumerate(prims)])
        return _pack(table, out_single, arg_single)
    return wrapper


# -- forward mode (double vjp) ---------------------------------------------------------------
def _linear_vjp(outs: tuple[Tensor, ...], prims: tuple[Tensor, ...]) -> tuple[list, tuple]:
    """Dummy cotangents ``us`` (one per output) and ``J^T us`` recorded as functions of them."""
    us = [_zeros(o).requires_grad_() for o in outs]
    return us, _grads(outs, prims, us, True)


def jvp(f: Callable, primals: Any, tangents: Any) -> tuple[Any, Any]:
    """Evaluate ``f`` and its directional derivative (Jacobian-vector product).

    Computed by the double-vjp construction, about twice the cost of a reverse pass.

    Args:
        f: A function of tensors returning a Tensor or a tuple of Tensors.
        primals: The argument, or a tuple of arguments, to evaluate ``f`` at.
        tangents: The direction: one tensor per primal, of its shape (a tuple when
            ``primals`` is one).

    Returns:
        ``(f(*primals), J tangents)``; the second has the output's structure.

    Raises:
        TypeError: When primals and tangents do not match in number.
        ShapeError: When a tangent's shape differs from its primal's.
    """
    primals, tangents, _ = _primals(primals, tangents, "jvp")
    out, _, prims, nested = _call(f, primals, tuple(range(len(primals))), False, "jvp")
    outs, out_single = _outputs(out, "jvp")
    ts = [_like(t, p, "jvp", "a tangent") for t, p in zip(tangents, prims, strict=True)]
    us, gs = _linear_vjp(outs, prims)
    jv = _grads(gs, us, ts, nested)  # J t: vjp of J^T u
    return _final(out, nested), jv[0] if out_single else jv


def jacfwd(f: Callable, argnums: Argnums = 0) -> Callable:
    """Transform ``f`` into a function that returns its Jacobian, by forward mode.

    One Jacobian-vector product per input element (by double vjp): the better choice when
    inputs are fewer than outputs.

    Args:
        f: A function of tensors returning a Tensor or a tuple of Tensors.
        argnums: The position of the argument to differentiate with respect to, or a tuple
            of positions (then one result per position, in a tuple).

    Returns:
        A function returning the Jacobian, of shape ``output.shape + input.shape``; nested
        tuples (outputs, then arguments) where ``f`` returns or ``argnums`` is a tuple.

    Raises:
        TypeError: For a bad ``argnums``, or when ``f`` returns something other than Tensors.
        ValueError: When ``argnums`` is out of range or repeats an argument.
        DTypeError: When a differentiated argument is not a float or complex tensor.
    """
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, arg_single = _argnums(argnums, len(args), "jacfwd")
        out, _, prims, nested = _call(f, args, nums, False, "jacfwd", kwargs)
        outs, out_single = _outputs(out, "jacfwd")
        us, gs = _linear_vjp(outs, prims)
        table: list[list[Any]] = [[] for _ in outs]
        for g, p in zip(gs, prims, strict=True):
            cols = [_grads((g,), us, (e,), nested) for e in _basis(p)]  # J e: columns
            for i, o in enumerate(outs):
                table[i].append(_stack([c[i] for c in cols], o.shape + p.shape, p, False))
        return _pack(table, out_single, arg_single)
    return wrapper


def jacobian(f: Callable, argnums: Argnums = 0, mode: str = "reverse") -> Callable:
    """Transform ``f`` into a function that returns its Jacobian (``torch.func.jacobian``).

    Args:
        f: A function of tensors returning a Tensor or a tuple of Tensors.
        argnums: The position of the argument to differentiate with respect to, or a tuple
            of positions (then one result per position, in a tuple).
        mode: ``"reverse"`` (``jacrev()``) or ``"forward"`` (``jacfwd()``).

    Returns:
        The Jacobian function.

    Raises:
        ValueError: For another ``mode``.
    """
    if mode not in ("reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', not {mode!r}")
    return (jacrev if mode == "reverse" else jacfwd)(f, argnums)


# -- second order ----------------------------------------------------------------------------
def hessian(f: Callable, argnums: Argnums = 0) -> Callable:
    """Transform a scalar ``f`` into a function that returns its Hessian.

    ``jacfwd(jacrev(f, argnums), argnums)``.

    Args:
        f: A function of tensors returning a scalar Tensor.
        argnums: The position of the argument to differentiate with respect to, or a tuple
            of positions (then one result per position, in a tuple).

    Returns:
        A function returning the Hessian, of shape ``x.shape + x.shape``; ``H[i][j]``
        (nested tuples) for a tuple of ``argnums``.
    """
    return jacfwd(jacrev(f, argnums), argnums)


def hvp(f: Callable, primals: Any, tangents: Any) -> tuple[Any, Any]:
    """Evaluate a scalar ``f`` and its Hessian-vector product.

    Reverse over reverse: one gradient with ``create_graph`` and one more vjp; the Hessian
    itself is never formed.

    Args:
        f: A function of tensors returning a scalar Tensor.
        primals: The argument, or a tuple of arguments, to evaluate ``f`` at.
        tangents: The vector: one tensor per primal, of its shape.

    Returns:
        ``(f(*primals), H tangents)``; the second has the primals' structure.

    Raises:
        ShapeError: When ``f`` does not return a scalar, or a tangent's shape differs from
            its primal's.
    """
    primals, tangents, single = _primals(primals, tangents, "hvp")
    out, _, prims, nested = _call(f, primals, tuple(range(len(primals))), False, "hvp")
    out = _scalar(out, "hvp")
    ts = [_like(t, p, "hvp", "a tangent") for t, p in zip(tangents, prims, strict=True)]
    gs = _grads((out,), prims, None, True)
    hv = _grads(gs, prims, ts, nested)
    return _final(out, nested), hv[0] if single else hv

"""Checking gradients against central differences, and comparing tensors, on any backend.

``gradcheck``/``gradgradcheck`` compare anygrad's first and second derivatives with float64
central differences; ``assert_allclose`` compares Tensors (or arrays) across backends and
devices. Values are copied to the host only to be compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._tensor import Tensor
from .errors import GraphError
from .modes import no_grad


def _host(x: Any) -> Any:
    """``x`` as a float64 (or complex128) host array, without importing an array library.

    ``x`` may be a Tensor, a backend's array, a NumPy array, a number or a list.
    """
    if not isinstance(x, Tensor):
        x = Tensor(x, requires_grad=False)
    host = x.numpy()
    return host.astype("complex128" if host.dtype.kind == "c" else "float64")


def _describe(x: Any) -> str:
    if isinstance(x, Tensor):
        return f"{x.dtype.name}{list(x.shape)} on {x.device}"
    if not hasattr(x, "shape"):
        return type(x).__name__
    return f"{x.dtype}{list(x.shape)} {type(x).__name__}"


def assert_allclose(actual: Any, desired: Any, rtol: float = 1e-7, atol: float = 0.0,
                    err_msg: str = "") -> None:
    """Assert that two arrays are equal to within a tolerance, elementwise.

    Checks ``|actual - desired| <= atol + rtol * |desired|`` (NaNs equal where both have
    them) in float64 on the host; the shapes must be equal (no broadcasting).

    Args:
        actual: A Tensor on any backend and device, a backend array, a NumPy array, a number
            or a list.
        desired: The same kinds of value.
        rtol: The relative tolerance.
        atol: The absolute tolerance.
        err_msg: Text to add to the failure message.

    Raises:
        AssertionError: When the shapes differ or an element is out of tolerance; the
            message names both sides' dtypes, shapes and devices and the worst element.
    """
    a, d = _host(actual), _host(desired)
    head = f"assert_allclose: {_describe(actual)} vs {_describe(desired)}"
    if err_msg:
        head = f"{err_msg}\n{head}"
    if a.shape != d.shape and not (a.ndim == 0 or d.ndim == 0):
        raise AssertionError(f"{head}: shapes differ ({list(a.shape)} vs {list(d.shape)})")
    shape = a.shape if a.ndim else d.shape
    a, d = a.reshape(-1), d.reshape(-1)
    if a.size != d.size:  # a one-element side broadcasts
        a, d = (a.repeat(d.size), d) if a.size == 1 else (a, d.repeat(a.size))
    same = (a == d) | ((a != a) & (d != d))  # equal infinities, and NaN where both have NaN
    a, d = a.copy(), d.copy()
    a[same] = d[same] = 0.0  # (no inf - inf)
    err = abs(a - d)
    tol = atol + rtol * abs(d)
    tol[tol == float("inf")] = 0.0  # an infinity matches only itself
    excess = err - tol
    excess[excess != excess] = float("inf")
    excess[same] = -1.0
    bad = excess > 0
    if not bad.any():
        return
    k = int(excess.argmax())
    raise AssertionError(
        f"{head}: {int(bad.sum())} of {a.size} elements differ beyond rtol={rtol:g}, "
        f"atol={atol:g}; worst at {_unravel(k, shape)}: actual {a[k].item()!r}, desired "
        f"{d[k].item()!r} (abs error {err[k].item():.3g}, rel error "
        f"{_rel(err[k].item(), d[k].item()):.3g})")


def _unravel(k: int, shape: tuple) -> list[int]:
    out = []
    for n in reversed(shape):
        out.append(k % n)
        k //= n
    return out[::-1]


def _rel(err: float, ref: Any) -> float:
    return float(err) / abs(ref) if abs(ref) > 0 else float("inf") if err else 0.0


def _weights(shape: tuple, seed: int) -> Any:
    """A fixed, sign-mixed float64 host array of ``shape`` without ties (every element counts)."""
    size = 1
    for n in shape:
        size *= n
    values = [((i + seed + 1) * 0.6180339887) % 1.0 + 0.25 - 0.6 * ((i + seed) % 2)
              for i in range(size)]
    return _host(values).reshape(shape)


def numerical_grad(fn: Callable[..., Tensor], inputs: Sequence[Tensor], weight: Any,
                   eps: float = 1e-6) -> list[Any]:
    """Central-difference gradients of ``sum(weight * fn(*inputs))``.

    Each perturbed input is rebuilt on its own device from a host copy, so this works on
    every backend (and needs no array library here).

    Args:
        fn: A function of the inputs returning a Tensor.
        inputs: The tensors to perturb, every one of them.
        weight: A host array of ``fn``'s output shape that weights its elements.
        eps: The step of the central difference.

    Returns:
        One float64 host array per input, of its shape.
    """
    def scalar(*args: Tensor) -> float:
        return float((fn(*args).numpy().astype("float64") * weight).sum())
    return _central(scalar, list(inputs), range(len(inputs)), eps)


def _central(scalar: Callable[..., float], inputs: list, which: Sequence[int],
             eps: float) -> list[Any]:
    """Central differences of ``scalar(*inputs)`` with respect to the inputs ``which``."""
    grads = []
    with no_grad():
        for k in which:
            x = inputs[k]
            host = x.numpy()
            flat = host.reshape(-1)
            grad = host.astype("float64").reshape(-1) * 0.0
            for i in range(flat.size):
                values = []
                for step in (eps, -eps):
                    bumped = flat.copy()
                    bumped[i] += step
                    args = list(inputs)
                    args[k] = Tensor(bumped.reshape(host.shape), device=x.device, dtype=x.dtype,
                                     requires_grad=x.requires_grad)
                    values.append(scalar(*args))
                grad[i] = (values[0] - values[1]) / (2 * eps)
            grads.append(grad.reshape(host.shape))
    return grads


def _split(inputs: Any, more: tuple) -> list:
    """``gradcheck(f, x, y)`` or ``gradcheck(f, [x, y])``: the inputs as a list."""
    if isinstance(inputs, list | tuple):
        if more:
            raise TypeError("gradcheck: give the inputs as one sequence or one by one")
        return list(inputs)
    return [inputs, *more]


def _differentiable(inputs: list, name: str) -> list[int]:
    which = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not which:
        raise GraphError(f"{name}: no input is a Tensor that requires grad")
    return which


def _compare(name: str, which: list[int], got: list, want: list, atol: float, rtol: float,
             raise_exception: bool, what: str) -> bool:
    """Compare analytic (``got``) and numerical (``want``) host arrays; report the worst."""
    worst = None
    for k, g, w in zip(which, got, want, strict=True):
        if g.shape != w.shape:
            raise AssertionError(f"{name}: the {what} of input {k} has shape "
                                 f"{list(g.shape)}, the input {list(w.shape)}")
        err = abs(g.reshape(-1) - w.reshape(-1))
        excess = err - (atol + rtol * abs(w.reshape(-1)))
        excess[excess != excess] = float("inf")
        if excess.size and (excess > 0).any():
            i = int(excess.argmax())
            if worst is None or excess[i] > worst[0]:
                worst = (excess[i], k, i, g, w, err)
    if worst is None:
        return True
    _, k, i, g, w, err = worst
    idx = _unravel(i, g.shape)
    a, n, e = g.reshape(-1)[i].item(), w.reshape(-1)[i].item(), err[i].item()
    msg = (f"{name}: analytic and numerical {what}s differ beyond atol={atol:g}, "
           f"rtol={rtol:g}; worst: input {k}, element {idx}: analytic {a!r}, numerical {n!r} "
           f"(abs error {e:.3g}, rel error {_rel(e, n):.3g})\nanalytic {what} of input {k}:\n"
           f"{g}\nnumerical:\n{w}")
    if raise_exception:
        raise AssertionError(msg)
    return False


def _analytic(outs: Any, inputs: list, which: list[int], weight: Any,
              create_graph: bool) -> list:
    """The gradients of ``sum(weight * outs)`` for the inputs ``which`` (zeros for unused)."""
    from .autograd.gradients import grad
    if not outs.requires_grad:
        return [None] * len(which)
    w = Tensor(weight, device=outs.device, dtype=outs.dtype, requires_grad=False)
    return list(grad(outs, [inputs[k] for k in which], grad_outputs=w,
                     create_graph=create_graph, allow_unused=True))


def _check_like(name: str, k: int, g: Tensor, x: Tensor) -> None:
    if tuple(g.shape) != tuple(x.shape) or g.dtype != x.dtype or g.device != x.device:
        raise AssertionError(f"{name}: the gradient of input {k} is {_describe(g)}, the input "
                             f"{_describe(x)}")


def _on_host(name: str, which: list, grads: Any, inputs: Sequence[Tensor]) -> list:
    """Each analytic gradient (zeros for None) as float64 host data.

    Each is checked to keep its input's shape, dtype and device.
    """
    got = []
    for k, g in zip(which, grads, strict=True):
        if g is None:
            got.append(inputs[k].numpy().astype("float64") * 0.0)
        else:
            _check_like(name, k, g, inputs[k])
            got.append(g.numpy().astype("float64"))
    return got


def gradcheck(f: Callable[..., Tensor], inputs: Any, *more: Any, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
              seed: int = 0) -> bool:
    """Check ``f``'s gradients against central differences.

    The gradients with respect to the inputs that require grad are compared; the
    output is weighted by a fixed sign-mixed array so every element counts, and each gradient
    must keep its input's shape, dtype and device. Works on every backend; sets no ``.grad``.

    Args:
        f: A function of the inputs returning a Tensor.
        inputs: A sequence of inputs (``gradcheck(f, [x, y])``), or the first of them
            (``gradcheck(f, x, y)``); inputs that are not tensors requiring grad are passed
            to ``f`` unchanged (float64 inputs give the most precise check).
        *more: The further inputs, in the second form.
        eps: The step of the central difference.
        atol: The absolute tolerance.
        rtol: The relative tolerance.
        raise_exception: Raise on a mismatch (True) or return False.
        seed: Chooses the fixed output weights.

    Returns:
        True when every gradient matches (False on a mismatch without ``raise_exception``).

    Raises:
        AssertionError: On a mismatch, naming the worst element (input, element index,
            analytic and numerical values, errors), when ``raise_exception`` is True.
        GraphError: When no input is a tensor that requires grad.
    """
    inputs = _split(inputs, more)
    which = _differentiable(inputs, "gradcheck")
    out = f(*inputs)
    weight = _weights(tuple(out.shape), seed)
    got = _on_host("gradcheck", which, _analytic(out, inputs, which, weight, False), inputs)

    def scalar(*args: Tensor) -> float:
        return float((f(*args).numpy().astype("float64") * weight).sum())
    want = _central(scalar, inputs, which, eps)
    return _compare("gradcheck", which, got, want, atol, rtol, raise_exception, "gradient")


def gradgradcheck(f: Callable[..., Tensor], inputs: Any, *more: Any, grad_outputs: Any = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, seed: int = 0) -> bool:
    """Check ``f``'s second derivatives against central differences of its first.

    The gradient of ``sum(v * grad)`` is compared, where ``grad`` are the first-order
    gradients of ``sum(grad_outputs * f(*inputs))``, taken with ``create_graph=True``, and
    ``v`` fixed sign-mixed weights.

    Args:
        f: A function of the inputs returning a Tensor.
        inputs: A sequence of inputs, or the first of them (as in ``gradcheck()``).
        *more: The further inputs, in the second form.
        grad_outputs: The weights of ``f``'s output (default: fixed sign-mixed weights).
        eps: The step of the central difference.
        atol: The absolute tolerance.
        rtol: The relative tolerance.
        raise_exception: Raise on a mismatch (True) or return False.
        seed: Chooses the fixed weights.

    Returns:
        True when every second derivative matches (False on a mismatch without
        ``raise_exception``).

    Raises:
        AssertionError: On a mismatch, when ``raise_exception`` is True.
        GraphError: When no input is a tensor that requires grad.
    """
    inputs = _split(inputs, more)
    which = _differentiable(inputs, "gradgradcheck")
    out = f(*inputs)
    shape = tuple(out.shape)
    weight = _weights(shape, seed) if grad_outputs is None else _host(grad_outputs)
    vs = [_weights(tuple(inputs[k].shape), seed + 7 + k) for k in which]

    def first(args: list, create_graph: bool) -> Any:
        """``sum(v * grad)`` for the first-order gradients at ``args``; None if constant."""
        grads = _analytic(f(*args), args, which, weight, create_graph)
        total = None
        for g, v in zip(grads, vs, strict=True):
            if g is None:
                continue
            term = (g * Tensor(v, device=g.device, dtype=g.dtype, requires_grad=False)).sum()
            total = term if total is None else total + term
        return total

    from .autograd.gradients import grad
    total = first(inputs, True)
    if total is None or not total.requires_grad:
        hess = [None] * len(which)
    else:
        hess = list(grad(total, [inputs[k] for k in which], allow_unused=True))
    got = _on_host("gradgradcheck", which, hess, inputs)

    def scalar(*args: Tensor) -> float:
        from .modes import enable_grad
        with enable_grad():
            t = first(list(args), False)
        return 0.0 if t is None else float(t.numpy())
    want = _central(scalar, inputs, which, eps)
    return _compare("gradgradcheck", which, got, want, atol, rtol, raise_exception,
                    "second derivative")


def check_gradients(fn: Callable[..., Tensor], *inputs: Tensor, **kwargs: Any) -> bool:
    """Check gradients: ``gradcheck()`` under its older name.

    Args:
        fn: A function of the inputs returning a Tensor.
        *inputs: The inputs.
        **kwargs: ``gradcheck()``'s options.

    Returns:
        ``gradcheck()``'s result.
    """
    return gradcheck(fn, *inputs, **kwargs)

"""Newton-CG on an L2-regularised multinomial logistic regression of scikit-learn's 8x8 digits.

    python examples/newton.py                  # CPU (NumPy)
    python examples/newton.py --device cuda    # GPU (CuPy)

Each Newton step solves ``H p = -g`` by conjugate gradients, using only Hessian-vector
products from ``anygrad.func.hvp`` (the 650 x 650 Hessian is never formed), then backtracks
along ``p``. Plain gradient descent gets the same number of gradient evaluations (an HVP
counts as two) for comparison. Ends with the line ``test accuracy: 0.9xxx``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np

import anygrad as ag
from anygrad import func

L2 = 1e-4  # the regulariser: the loss is strongly convex, so Newton's method converges fast


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument("--iters", type=int, default=10, help="Newton steps (default: 10)")
    p.add_argument("--cg-iters", type=int, default=10, help="CG iterations per Newton step")
    p.add_argument("--gd-lr", type=float, default=8.0,
                   help="gradient descent's step (default 8: about the largest that converges)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def load_data(seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data / 16.0
    x = np.concatenate([x, np.ones((len(x), 1))], axis=1)  # a bias column: (N, 65)
    return tuple(train_test_split(x, digits.target, test_size=0.2, random_state=seed,
                                  stratify=digits.target))


def make_loss(x: ag.Tensor, onehot: ag.Tensor) -> Callable[[ag.Tensor], ag.Tensor]:
    """Mean cross-entropy of ``x @ W`` plus ``L2/2 |W|^2``, as a function of flat ``W``."""
    shape = (x.shape[1], onehot.shape[1])

    def loss(w: ag.Tensor) -> ag.Tensor:
        z = x @ ag.reshape(w, shape)
        nll = ag.mean(ag.logsumexp(z, axis=1) - ag.sum(onehot * z, axis=1))
        return nll + 0.5 * L2 * ag.sum(w * w)
    return loss


def dot(a: ag.Tensor, b: ag.Tensor) -> float:
    return ag.sum(a * b).item()


def conjugate_gradient(hvp: Callable[[ag.Tensor], ag.Tensor], g: ag.Tensor,
                       iters: int) -> tuple[ag.Tensor, int]:
    """An approximate solution ``p`` of ``H p = -g`` from ``iters`` HVPs at most, and their
    count (stops early once the residual is below ``1e-3 |g|``)."""
    p = ag.zeros_like(g)
    r = -g
    d = r
    rr = dot(r, r)
    tol = 1e-6 * rr
    used = 0
    while used < iters and rr > tol:
        hd = hvp(d)
        used += 1
        alpha = rr / dot(d, hd)
        p = p + alpha * d
        r = r - alpha * hd
        rr, rr_old = dot(r, r), rr
        d = r + (rr / rr_old) * d
    return p, used


def newton_cg(loss: Callable, w: ag.Tensor, iters: int, cg_iters: int,
              report: Callable[[int, float, int, float], None]) -> tuple[ag.Tensor, int]:
    """``iters`` Newton-CG steps from ``w``; the new weights and the gradient evaluations used
    (a gradient counts one, an HVP two)."""
    value_and_grad = func.value_and_grad(loss)
    evals = 0
    for step in range(1, iters + 1):
        value, g = value_and_grad(w)
        evals += 1
        p, used = conjugate_gradient(lambda v, w=w: func.hvp(loss, w, v)[1], g, cg_iters)
        evals += 2 * used
        t, f0, slope = 1.0, value.item(), dot(g, p)
        with ag.no_grad():  # backtracking (Armijo): forward passes only
            while loss(w + t * p).item() > f0 + 1e-4 * t * slope and t > 1e-4:
                t *= 0.5
        w = w + t * p
        with ag.no_grad():
            report(step, loss(w).item(), used, t)
    return w, evals


def gradient_descent(loss: Callable, w: ag.Tensor, evals: int, lr: float) -> ag.Tensor:
    grad = func.grad(loss)
    for _ in range(evals):
        w = w - lr * grad(w)
    return w


def accuracy(w: ag.Tensor, x: ag.Tensor, y: np.ndarray, classes: int) -> float:
    with ag.no_grad():
        z = x @ ag.reshape(w, (x.shape[1], classes))
    return float((z.numpy().argmax(axis=1) == y).mean())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        ag.backends.get(args.device)
    except ag.AnygradError as exc:  # no GPU, no CuPy, or a malformed name: say so and stop
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from tqdm import tqdm

    x_train, x_test, y_train, y_test = load_data(args.seed)
    classes = 10
    device = args.device
    xtr, xte = (ag.Tensor(a, device=device, requires_grad=False) for a in (x_train, x_test))
    onehot = ag.Tensor(np.eye(classes)[y_train], device=device, requires_grad=False)
    loss = make_loss(xtr, onehot)
    n = x_train.shape[1] * classes
    rng = np.random.default_rng(args.seed)
    w0 = ag.Tensor(rng.standard_normal(n) * 0.01, device=device, requires_grad=False)
    print(f"anygrad {ag.__version__} on {ag.device(device)}: {len(x_train)} training and "
          f"{len(x_test)} test images, {n} weights, L2 {L2:g}")
    with ag.no_grad():
        print(f"initial loss {loss(w0).item():.4f}")

    bar = tqdm(total=args.iters, desc="Newton-CG", unit="step", leave=False, file=sys.stderr)

    def report(step: int, value: float, used: int, t: float) -> None:
        bar.update()
        bar.set_postfix(loss=f"{value:.4f}")
        tqdm.write(f"newton step {step:2d}: loss {value:.6f} ({used} HVPs, step size {t:g})",
                   file=sys.stdout)

    start = time.perf_counter()
    w, evals = newton_cg(loss, w0, args.iters, args.cg_iters, report)
    newton_s = time.perf_counter() - start
    bar.close()
    start = time.perf_counter()
    w_gd = gradient_descent(loss, w0, evals, args.gd_lr)
    gd_s = time.perf_counter() - start
    with ag.no_grad():
        newton_loss, gd_loss = loss(w).item(), loss(w_gd).item()
    print(f"Newton-CG:        loss {newton_loss:.6f} after {evals} gradient evaluations "
          f"(an HVP counts two), {newton_s:.1f} s, test accuracy "
          f"{accuracy(w, xte, y_test, classes):.4f}")
    print(f"gradient descent: loss {gd_loss:.6f} after {evals} gradient evaluations, "
          f"step {args.gd_lr:g}, {gd_s:.1f} s, test accuracy "
          f"{accuracy(w_gd, xte, y_test, classes):.4f}")
    print(f"test accuracy: {accuracy(w, xte, y_test, classes):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

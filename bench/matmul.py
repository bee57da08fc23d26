"""Workload C, a large matmul forward + backward: ``(a @ b).backward(ones)`` on two 4096x4096
float32 matrices (``--size``; 512 with ``--quick``).

The floor is three raw matmuls (``a @ b``, ``g @ b.T``, ``a.T @ g``) and the ones it seeds:
an autograd library should add nothing measurable (target: within 1.03x).
Run: ``python -m bench --only C``.
"""

from __future__ import annotations

import numpy as np

from bench.run import Case, Workload


def size(args) -> int:
    return args.size or (512 if args.quick else 4096)


def arrays(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, n), dtype=np.float32),
            rng.standard_normal((n, n), dtype=np.float32))


def floor_numpy(n: int, xp=np):
    a, b = (xp.asarray(v) for v in arrays(n))

    def step() -> object:
        c = a @ b
        g = xp.ones_like(c)
        return c, g @ b.T, a.T @ g
    return step


def anygrad_step(n: int, lazy: bool = False, device: str = "cpu"):
    import anygrad as ag
    a0, b0 = arrays(n)
    a, b = ag.Tensor(a0, device=device), ag.Tensor(b0, device=device)
    mode = ag.mode("lazy" if lazy else "eager")

    def step() -> object:
        a.grad = b.grad = None
        with mode:
            c = a @ b
            c.backward()  # a non-scalar output: seeded with ones
        return c, a.grad, b.grad
    return step


def torch_step(n: int, device: str = "cpu"):
    import torch
    torch.set_num_threads(1)
    a0, b0 = arrays(n)
    a = torch.tensor(a0, requires_grad=True, device=device)
    b = torch.tensor(b0, requires_grad=True, device=device)

    def step() -> object:
        a.grad = b.grad = None
        c = a @ b
        c.backward(torch.ones_like(c))
        return c, a.grad, b.grad
    return step


def mygrad_step(n: int):
    import mygrad as mg
    a0, b0 = arrays(n)
    a, b = mg.tensor(a0), mg.tensor(b0)

    def step() -> object:
        c = mg.matmul(a, b)
        c.backward()  # MyGrad seeds ones too
        return c, a.grad, b.grad
    return step


def autograd_step(n: int):
    from autograd import make_vjp
    a, b = arrays(n)
    vjp = make_vjp(lambda a, b: a @ b, argnum=(0, 1))

    def step() -> object:
        fn, c = vjp(a, b)
        return c, fn(np.ones_like(c))
    return step


def cases(args) -> list[Case]:
    n = size(args)
    return [Case("numpy (floor)", lambda: floor_numpy(n)),
            Case("anygrad", lambda: anygrad_step(n)),
            Case("anygrad (lazy)", lambda: anygrad_step(n, lazy=True)),
            Case("torch", lambda: torch_step(n), traced=False),
            Case("mygrad", lambda: mygrad_step(n)),
            Case("autograd (HIPS)", lambda: autograd_step(n))]


WORKLOAD = Workload(
    "C", "matmul forward + backward of two NxN float32 matrices (N = 4096; --quick: 512)",
    cases, unit="ms", calls=lambda a: 1, rounds=lambda a: 3 if a.quick else 5, memory=False,
    warmup=1)

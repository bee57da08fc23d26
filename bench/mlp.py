"""Workload B, an MLP training step: 784-512-512-10, batch 256, float32, ReLU, softmax
cross-entropy on integer labels, SGD (lr 0.01); time and peak traced memory.

The floor is the step hand-written in NumPy: the forward keeps what the backward reads, ReLU
in place, the loss gradient from the softmax, parameters updated in place.
Run: ``python -m bench --only B``.
"""

from __future__ import annotations

import numpy as np

from bench.run import Case, Workload

SIZES, BATCH, LR = (784, 512, 512, 10), 256, 0.01


def data(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Weights (in, out) and biases, a batch of inputs and integer labels."""
    rng = np.random.default_rng(seed)
    params = []
    for m, n in zip(SIZES[:-1], SIZES[1:], strict=True):
        params.append((rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32))
        params.append(np.zeros(n, np.float32))
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    return params, x, rng.integers(0, SIZES[-1], BATCH)


def floor_numpy(xp=np):
    """The floor, in NumPy (or another NumPy-like ``xp``: CuPy for ci/gpu-bench)."""
    params, x, y = data()
    params, x, y = [xp.asarray(p) for p in params], xp.asarray(x), xp.asarray(y)
    rows = xp.arange(BATCH)

    def step() -> float:
        w1, b1, w2, b2, w3, b3 = params
        h1 = x @ w1
        h1 += b1
        xp.maximum(h1, 0, out=h1)
        h2 = h1 @ w2
        h2 += b2
        xp.maximum(h2, 0, out=h2)
        z = h2 @ w3
        z += b3
        z -= z.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = float(xp.mean(xp.log(s[:, 0]) - z[rows, y]))
        g = e / s
        g[rows, y] -= 1
        g /= BATCH
        grads = [None] * 6
        grads[4], grads[5] = h2.T @ g, g.sum(axis=0)
        g = g @ w3.T
        g *= h2 > 0
        grads[2], grads[3] = h1.T @ g, g.sum(axis=0)
        g = g @ w2.T
        g *= h1 > 0
        grads[0], grads[1] = x.T @ g, g.sum(axis=0)
        for p, gp in zip(params, grads, strict=True):
            p -= LR * gp
        return loss
    return step


def anygrad_step(lazy: bool = False, device: str = "cpu"):
    import anygrad as ag
    from anygrad.nn import functional as F

    arrays, x0, y0 = data()
    params = [ag.Tensor(p, device=device) for p in arrays]
    x = ag.Tensor(x0, requires_grad=False, device=device)
    y = ag.Tensor(y0, requires_grad=False, device=device)
    opt = ag.optim.SGD(params, lr=LR)
    mode = ag.mode("lazy" if lazy else "eager")

    def step() -> object:
        w1, b1, w2, b2, w3, b3 = params
        with mode:
            h = F.relu(x @ w1 + b1)
            h = F.relu(h @ w2 + b2)
            loss = F.cross_entropy(h @ w3 + b3, y)
            opt.zero_grad()
            loss.backward()
        opt.step()
        return loss
    return step


def torch_step(device: str = "cpu"):
    import torch
    torch.set_num_threads(1)
    arrays, x0, y0 = data()
    params = [torch.tensor(p, requires_grad=True, device=device) for p in arrays]
    x, y = torch.tensor(x0, device=device), torch.tensor(y0, device=device)
    opt = torch.optim.SGD(params, lr=LR)
    relu, ce = torch.nn.functional.relu, torch.nn.functional.cross_entropy

    def step() -> object:
        w1, b1, w2, b2, w3, b3 = params
        h = relu(x @ w1 + b1)
        h = relu(h @ w2 + b2)
        loss = ce(h @ w3 + b3, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def mygrad_step():
    import mygrad as mg
    from mygrad.nnet import relu, softmax_crossentropy

    arrays, x0, y0 = data()
    params = [mg.tensor(p) for p in arrays]

    def step() -> object:
        w1, b1, w2, b2, w3, b3 = params
        h = relu(mg.matmul(x0, w1) + b1)
        h = relu(mg.matmul(h, w2) + b2)
        loss = softmax_crossentropy(mg.matmul(h, w3) + b3, y0)
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        loss.null_grad()
        return loss
    return step


def autograd_step():
    import autograd
    import autograd.numpy as anp

    params, x, y = data()
    rows = np.arange(BATCH)

    def loss_fn(ps):
        w1, b1, w2, b2, w3, b3 = ps
        h = anp.maximum(anp.dot(x, w1) + b1, 0.0)
        h = anp.maximum(anp.dot(h, w2) + b2, 0.0)
        z = anp.dot(h, w3) + b3
        z = z - anp.max(z, axis=1, keepdims=True)
        return anp.mean(anp.log(anp.sum(anp.exp(z), axis=1)) - z[rows, y])
    grad = autograd.grad(loss_fn)

    def step() -> object:
        for p, g in zip(params, grad(params), strict=True):
            p -= LR * g
    return step


def cases(args) -> list[Case]:
    return [Case("numpy (floor)", floor_numpy), Case("anygrad", anygrad_step),
            Case("anygrad (lazy)", lambda: anygrad_step(lazy=True)),
            Case("torch", torch_step, traced=False), Case("mygrad", mygrad_step),
            Case("autograd (HIPS)", autograd_step)]


WORKLOAD = Workload(
    "B", f"MLP step {'-'.join(map(str, SIZES))}, batch {BATCH}, float32, SGD: time and peak "
    f"memory", cases, unit="ms/step", calls=lambda a: 2 if a.quick else 5,
    rounds=lambda a: 3 if a.quick else 21)

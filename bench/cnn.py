"""Workload E, a CNN training step on 8x8 digits, as ``examples/train_digits.py``: conv 1->16
(3x3, padding 1), ReLU, 2x2 max-pool, conv 16->32, ReLU, max-pool, flatten, dropout 0.2,
linear 128->64, ReLU, linear 64->10, cross-entropy, Adam (lr 3e-3), batch 32, float32.

The reference is PyTorch CPU (a hand-written NumPy CNN would be a second convolution library,
not a floor). HIPS autograd has no convolution and is left out.
Run: ``python -m bench --only E``.
"""

from __future__ import annotations

import numpy as np

from bench.run import Case, Workload

BATCH, LR = 32, 3e-3
SHAPES = [(16, 1, 3, 3), (16,), (32, 16, 3, 3), (32,), (64, 128), (64,), (10, 64), (10,)]


def data(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """PyTorch-shaped parameters, a batch of digits (N, 1, 8, 8) in [0, 1] and their labels
    (random images of that shape when scikit-learn is not installed)."""
    rng = np.random.default_rng(seed)
    params = [(rng.standard_normal(s) / np.sqrt(np.prod(s[1:]) if len(s) > 1 else 10)
               ).astype(np.float32) for s in SHAPES]
    try:
        from sklearn.datasets import load_digits
        digits = load_digits()
        x = (digits.images[:BATCH] / 16.0).astype(np.float32)[:, None]
        y = digits.target[:BATCH].astype(np.int64)
    except ImportError:
        x = rng.random((BATCH, 1, 8, 8), dtype=np.float32)
        y = rng.integers(0, 10, BATCH)
    return params, x, y


def anygrad_step(lazy: bool = False, device: str = "cpu"):
    import anygrad as ag
    from anygrad.nn import functional as F

    arrays, x0, y0 = data()
    params = [ag.Tensor(p, device=device) for p in arrays]
    x = ag.Tensor(x0, requires_grad=False, device=device)
    y = ag.Tensor(y0, requires_grad=False, device=device)
    opt = ag.optim.Adam(params, lr=LR)
    mode = ag.mode("lazy" if lazy else "eager")

    def step() -> object:
        c1, d1, c2, d2, w1, b1, w2, b2 = params
        with mode:
            h = F.max_pool2d(F.relu(F.conv2d(x, c1, d1, padding=1)), 2)
            h = F.max_pool2d(F.relu(F.conv2d(h, c2, d2, padding=1)), 2)
            h = F.dropout(F.flatten(h, 1), 0.2)
            logits = F.linear(F.relu(F.linear(h, w1, b1)), w2, b2)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
        opt.step()
        return loss
    return step


def torch_step(device: str = "cpu"):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    arrays, x0, y0 = data()
    params = [torch.tensor(p, requires_grad=True, device=device) for p in arrays]
    x, y = torch.tensor(x0, device=device), torch.tensor(y0, device=device)
    opt = torch.optim.Adam(params, lr=LR)

    def step() -> object:
        c1, d1, c2, d2, w1, b1, w2, b2 = params
        h = F.max_pool2d(F.relu(F.conv2d(x, c1, d1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, c2, d2, padding=1)), 2)
        h = F.dropout(torch.flatten(h, 1), 0.2)
        logits = F.linear(F.relu(F.linear(h, w1, b1)), w2, b2)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def mygrad_step():
    import mygrad as mg
    from mygrad.nnet import conv_nd, max_pool, relu, softmax_crossentropy

    arrays, x0, y0 = data()
    params = [mg.tensor(p) for p in arrays]
    m = [np.zeros_like(p) for p in arrays]
    v = [np.zeros_like(p) for p in arrays]
    rng = np.random.default_rng(0)
    t = [0]

    def step() -> object:  # Adam by hand: MyGrad has no optimisers
        c1, d1, c2, d2, w1, b1, w2, b2 = params
        h = conv_nd(x0, c1, stride=1, padding=1) + d1.reshape(-1, 1, 1)
        h = max_pool(relu(h), (2, 2), 2)
        h = conv_nd(h, c2, stride=1, padding=1) + d2.reshape(-1, 1, 1)
        h = max_pool(relu(h), (2, 2), 2).reshape(BATCH, -1)
        h = h * ((rng.random(h.shape) >= 0.2) / np.float32(0.8)).astype(np.float32)
        logits = mg.matmul(relu(mg.matmul(h, w1.T) + b1), w2.T) + b2
        loss = softmax_crossentropy(logits, y0)
        loss.backward()
        t[0] += 1
        for p, mi, vi in zip(params, m, v, strict=True):
            g = p.grad
            mi *= 0.9
            mi += 0.1 * g
            vi *= 0.999
            vi += 0.001 * g * g
            p.data -= LR / (1 - 0.9 ** t[0]) * mi / (np.sqrt(vi / (1 - 0.999 ** t[0])) + 1e-8)
        loss.null_grad()
        return loss
    return step


def cases(args) -> list[Case]:
    return [Case("torch", torch_step, traced=False), Case("anygrad", anygrad_step),
            Case("anygrad (lazy)", lambda: anygrad_step(lazy=True)),
            Case("mygrad", mygrad_step)]


WORKLOAD = Workload(
    "E", f"CNN step on 8x8 digits (2 convs, max-pool, linear, Adam), batch {BATCH}, float32",
    cases, unit="ms/step", calls=lambda a: 3 if a.quick else 20,
    rounds=lambda a: 3 if a.quick else 15,
    notes=["reference: PyTorch CPU; HIPS autograd has no convolution"])

"""Train a small CNN on scikit-learn's 8x8 digits (bundled: no download) with anygrad.

    python examples/train_digits.py                  # CPU (NumPy)
    python examples/train_digits.py --device cuda    # GPU (CuPy)
    python examples/train_digits.py --compile        # each step through anygrad.compile

Prints a progress bar per epoch, writes ``digits_training.png`` (loss and accuracy curves)
to ``--out``, and ends with the line ``test accuracy: 0.9xxx``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

import numpy as np

import anygrad as ag
from anygrad import nn
from anygrad.nn import functional as F


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lazy", action="store_true", help="run each training step in lazy mode")
    p.add_argument("--compile", action="store_true",
                   help="run each training step through anygrad.compile (traced once, then "
                        "replayed; it says so when this model cannot be: docs/compile.md)")
    p.add_argument("--out", default=".", help="directory for the PNG of the curves")
    return p.parse_args(argv)


def model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 32 x 2 x 2
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def load_data(seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = digits.target.astype(np.int64)
    return tuple(train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y))


def evaluate(net: nn.Module, x: ag.Tensor, y: ag.Tensor) -> tuple[float, float]:
    """(mean loss, accuracy) over a whole split, without recording a graph."""
    net.eval()
    with ag.no_grad():
        logits = net(x)
        loss = F.cross_entropy(logits, y).item()
        pred = logits.numpy().argmax(axis=1)
    net.train()
    return loss, float((pred == y.numpy()).mean())


def plot(history: dict[str, list[float]], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"], label="train")
    ax1.plot(epochs, history["test_loss"], label="test")
    ax1.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax2.plot(epochs, history["train_acc"], label="train")
    ax2.plot(epochs, history["test_acc"], label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.lazy and not hasattr(ag, "lazy"):
        print("error: --lazy needs anygrad.lazy, which this version of anygrad does not have",
              file=sys.stderr)
        return 2
    try:
        ag.backends.get(args.device)
    except ag.AnygradError as exc:  # no GPU, no CuPy, or a malformed name: say so and stop
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from tqdm import tqdm

    ag.random.seed(args.seed)
    x_train, x_test, y_train, y_test = load_data(args.seed)
    device = args.device
    xtr, ytr, xte, yte = (ag.Tensor(a, device=device, requires_grad=False)
                          for a in (x_train, y_train, x_test, y_test))
    net = model().to(device)
    opt = ag.optim.Adam(net.parameters(), lr=args.lr)
    sched = ag.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    step_mode = ag.lazy if args.lazy else contextlib.nullcontext

    def train_step(xb: ag.Tensor, yb: ag.Tensor) -> ag.Tensor:
        with step_mode():
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
        opt.step()
        return loss

    step = ag.compile(train_step) if args.compile else train_step
    print(f"anygrad {ag.__version__} on {ag.device(device)}: {len(x_train)} training and "
          f"{len(x_test)} test images, {net.num_parameters():,} parameters")

    history: dict[str, list[float]] = {k: [] for k in
                                       ("train_loss", "train_acc", "test_loss", "test_acc")}
    n = len(x_train)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = ag.random.permutation(n, device=device)
        bar = tqdm(range(0, n, args.batch_size), desc=f"epoch {epoch}/{args.epochs}",
                   unit="batch", leave=False, file=sys.stderr)
        for i in bar:
            idx = order[i:i + args.batch_size]
            loss = step(xtr[idx], ytr[idx])
            bar.set_postfix(loss=f"{loss.detach().item():.3f}")
        sched.step()
        for split, (x, y) in (("train", (xtr, ytr)), ("test", (xte, yte))):
            loss_value, acc = evaluate(net, x, y)
            history[f"{split}_loss"].append(loss_value)
            history[f"{split}_acc"].append(acc)
        tqdm.write(f"epoch {epoch:2d}: train loss {history['train_loss'][-1]:.4f}, "
                   f"test loss {history['test_loss'][-1]:.4f}, "
                   f"test accuracy {history['test_acc'][-1]:.4f}", file=sys.stdout)
    elapsed = time.perf_counter() - start
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "digits_training.png")
    plot(history, path)
    print(f"trained {args.epochs} epochs in {elapsed:.1f} s; curves written to {path}")
    print(f"test accuracy: {history['test_acc'][-1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

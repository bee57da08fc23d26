"""The main job end to end: a short training run learns on every test backend, and
``examples/train_digits.py`` runs, writes its PNG and ends with its accuracy line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import anygrad as ag
from anygrad import nn
from anygrad.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]


def test_short_training_run_lowers_the_loss(backend):
    ag.random.seed(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 24)
    x = rng.standard_normal((24, 1, 6, 6)).astype(np.float32) * 0.3
    x[np.arange(24), 0, y * 2, y * 2] += 2.0  # the class is where the bright pixel is
    x, y = ag.Tensor(x, requires_grad=False), ag.Tensor(y)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Dropout(0.1), nn.Linear(36, 3)).to(backend.device)
    opt = ag.optim.Adam(net.parameters(), lr=0.02)
    x, y = x.to(backend.device), y.to(backend.device)
    losses = []
    for _ in range(15):
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(p.dtype == ag.float32 and p.device == backend.device for p in net.parameters())
    net.eval()
    with ag.no_grad():
        assert (net(x).numpy().argmax(axis=1) == y.numpy()).mean() > 0.8


def _run_example(tmp_path, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, str(ROOT / "examples" / "train_digits.py"),
                           "--out", str(tmp_path), *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_example_script_runs_one_epoch(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    pytest.importorskip("tqdm")
    out = _run_example(tmp_path, "--epochs", "1")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert re.fullmatch(r"test accuracy: [01]\.\d{4}", lines[-1]), lines[-1]
    assert float(lines[-1].split()[-1]) > 0.5  # one epoch already learns most digits
    png = (tmp_path / "digits_training.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


def test_example_lazy_flag(tmp_path):
    pytest.importorskip("sklearn")
    out = _run_example(tmp_path, "--epochs", "1", "--lazy")
    if hasattr(ag, "lazy"):
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().splitlines()[-1].startswith("test accuracy: ")
    else:
        assert out.returncode == 2 and "--lazy needs anygrad.lazy" in out.stderr


def test_example_refuses_an_unusable_device_cleanly(tmp_path):
    out = _run_example(tmp_path, "--device", "nosuchdevice:3")
    assert out.returncode == 2 and out.stderr.startswith("error: no backend serves device")

"""``examples/newton.py``: Newton-CG on Hessian-vector products from ``anygrad.func.hvp``
runs, lowers the loss at every step, beats gradient descent, and ends with its accuracy line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, str(ROOT / "examples" / "newton.py"), *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_newton_example_lowers_the_loss_and_classifies_digits():
    pytest.importorskip("sklearn")
    pytest.importorskip("tqdm")
    out = _run("--iters", "4", "--seed", "1")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    initial = float(re.search(r"initial loss (\S+)", out.stdout).group(1))
    losses = [float(m) for m in re.findall(r"newton step +\d+: loss (\S+)", out.stdout)]
    assert len(losses) == 4 and losses[0] < initial
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False)), losses
    newton = float(re.search(r"Newton-CG: +loss (\S+)", out.stdout).group(1))
    gd = float(re.search(r"gradient descent: loss (\S+)", out.stdout).group(1))
    assert newton < gd  # same number of gradient evaluations
    assert re.fullmatch(r"test accuracy: [01]\.\d{4}", lines[-1]), lines[-1]
    assert float(lines[-1].split()[-1]) > 0.93


def test_newton_example_refuses_an_unusable_device_cleanly():
    out = _run("--device", "nosuchdevice:3")
    assert out.returncode == 2 and out.stderr.startswith("error: no backend serves device")

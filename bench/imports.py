"""Workload G, import time: ``import anygrad`` against ``import numpy`` (the floor) and the
peers, each in a fresh interpreter.

Two figures per library: the wall time of ``python -c "import X"`` (interpreter start-up
included), and the import's own cumulative time from ``python -X importtime`` (start-up
excluded: the figure the target of 1.5x NumPy's is about). Interleaved rounds, paired ratios.
Run: ``python -m bench --only G``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time

from bench.run import Workload, chosen, result

MODULES = [("numpy (floor)", "numpy"), ("anygrad", "anygrad"), ("torch", "torch"),
           ("mygrad", "mygrad"), ("autograd (HIPS)", "autograd")]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_us(module: str) -> tuple[float, float]:
    """(wall seconds of a fresh ``python -X importtime -c "import module"``, the import's own
    cumulative microseconds)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get(
        "PYTHONPATH")])))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as an installed package has it
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, env=env, check=True)
    wall = time.perf_counter() - t0
    cumulative = 0.0
    for line in proc.stderr.splitlines():  # "import time: self [us] | cumulative | name"
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == module:
            cumulative = float(parts[1])
    return wall, cumulative


def run(args: argparse.Namespace) -> dict:
    present = [(name, m) for name, m in MODULES if importlib.util.find_spec(m) is not None
               and (m == "numpy" or chosen(name, args))]
    skipped = [{"library": name, "reason": "not installed"} for name, m in MODULES
               if importlib.util.find_spec(m) is None]
    rounds = WORKLOAD.rounds(args)
    walls: dict[str, list[float]] = {n: [] for n, _ in present}
    own: dict[str, list[float]] = {n: [] for n, _ in present}
    for _, module in present:  # warm the file cache and write each module's bytecode
        import_us(module)
    for r in range(rounds):
        order = present[r % len(present):] + present[:r % len(present)]
        for name, module in order:
            w, c = import_us(module)
            walls[name].append(w)
            own[name].append(c)
    ref = "numpy (floor)"
    rows = []
    for name, _ in present:
        ratios = [c / f for c, f in zip(own[name], own[ref], strict=True)]
        wall_ratios = [w / f for w, f in zip(walls[name], walls[ref], strict=True)]
        rows.append({"library": name, "time": statistics.median(own[name]) / 1e3,
                     "time_min": min(own[name]) / 1e3, "ratio": statistics.median(ratios),
                     "ratio_min": min(ratios), "ratio_max": max(ratios),
                     "ratio_best": min(own[name]) / min(own[ref]), "cpu_ratio": None,
                     "peak_mib": None, "memory_ratio": None,
                     "wall_ms": statistics.median(walls[name]) * 1e3,
                     "wall_ratio": statistics.median(wall_ratios),
                     "extra_wall": f"{statistics.median(walls[name]) * 1e3:.0f} ms "
                                   f"({statistics.median(wall_ratios):.2f}x)"})
    return result(WORKLOAD, rows, skipped, ref, rounds, 1,
                  ["ms: the import's cumulative time (python -X importtime); wall: the whole "
                   "subprocess, interpreter start-up included"])


WORKLOAD = Workload("G", "import time, each in a fresh interpreter", unit="ms",
                    rounds=lambda a: 3 if a.quick else 11, custom=run)

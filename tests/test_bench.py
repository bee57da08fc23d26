"""The benchmark suite still runs: ``python -m bench --quick --only A --json`` in a subprocess,
its JSON carrying the fields docs/performance.md documents (a smoke run, not a timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quick_json_run_has_the_documented_fields():
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "A", "--json",
                           "--rounds", "2", "--libraries", "anygrad,autograd"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert doc["quick"] is True and doc["command"][:3] == ["python", "-m", "bench"]
    machine = doc["machine"]
    assert {"python", "numpy", "platform", "machine", "cores", "threadpools"} <= set(machine)
    for pool in machine["threadpools"]:
        assert {"api", "version", "threads", "kernel", "library"} <= set(pool)
        assert pool["threads"] == 1  # one BLAS/OpenMP thread, as every table says
    (w,) = doc["workloads"]
    assert w["key"] == "A" and w["reference"] == "numpy (floor)" and w["unit"] == "us/op"
    assert {"title", "rounds", "calls", "rows", "skipped", "notes"} <= set(w)
    rows = {r["library"]: r for r in w["rows"]}
    assert {"numpy (floor)", "anygrad", "anygrad (lazy)"} <= set(rows)
    for r in rows.values():
        assert {"time", "time_min", "ratio", "ratio_min", "ratio_max", "ratio_best", "cpu_ratio",
                "peak_mib",
                "memory_ratio"} <= set(r)
        assert r["time"] > 0 and r["ratio_min"] <= r["ratio"] <= r["ratio_max"]
    assert rows["numpy (floor)"]["ratio"] == 1.0
    for s in w["skipped"]:  # a peer not installed is named, with the reason
        assert s["library"] not in rows and s["reason"]


def test_optional_workloads_are_guarded():
    sys.path.insert(0, ROOT)
    try:
        from bench import run
        found, notes = run.workloads(["A", "H", "I"])
    finally:
        sys.path.remove(ROOT)
    assert found[0].key == "A"
    keys = {w.key for w in found[1:]} | {n[0] for n in notes}
    assert keys == {"H", "I"}  # each either included or noted as missing, never an error

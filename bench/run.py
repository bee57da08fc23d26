"""anygrad's benchmark suite: every workload, every library, interleaved in one run.

    python -m bench                    # all workloads (A-G; H, I when their modules exist)
    python -m bench --only A,B         # a selection
    python -m bench --quick            # small sizes, few rounds: a smoke run (seconds)
    python -m bench --json             # one JSON document on stdout instead of the tables

Each workload times its libraries (anygrad eager and lazy, hand-written NumPy, PyTorch CPU,
MyGrad, HIPS autograd: those not installed are skipped with a note) in rounds: every round
runs each library once, in an order rotated from round to round, each right beside a run of
the reference (the floor; which goes first alternates), so the two see the same load. A
library's ratio is taken per such pair; the tables give the median of those paired ratios
and their min..max. On a shared
machine this moves far less between runs than a ratio of best times. Peak memory is
tracemalloc's (NumPy reports its buffers to it; PyTorch's allocator does not: "n/a").
BLAS and OpenMP run on one thread (threadpoolctl), and every table is printed under the
machine and its thread pools.

A workload is a :class:`Workload` named ``WORKLOAD`` in a module of this package (``cases``
for a timed one, or ``custom(args) -> result(...)`` for one that measures itself);
``bench/compile.py`` and ``bench/dask.py`` join as H and I when they define one.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

if __package__ in (None, ""):  # ``python bench/run.py``: import the package from the checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import bench  # noqa: F401  (one BLAS thread before NumPy loads)

from bench.machine import describe, info  # noqa: E402

Step = Callable[[], object]


@dataclass
class Case:
    """One library's version of a workload: ``make()`` prepares it and returns the step to
    time (ImportError: the library is not installed, the case is skipped with a note)."""

    library: str
    make: Callable[[], Step]
    traced: bool = True  #: tracemalloc sees its buffers (False for PyTorch)


@dataclass
class Workload:
    """A timed workload. ``cases(args)`` lists the libraries, the reference first; a step's
    time is shown in ``unit`` (seconds times ``scale``); ``calls(args)`` steps are timed
    together per round. A workload with ``custom`` measures itself and returns its result
    dict (same fields: see :func:`result`)."""

    key: str
    title: str
    cases: Callable[[argparse.Namespace], list[Case]] | None = None
    unit: str = "ms"
    scale: float = 1e3
    calls: Callable[[argparse.Namespace], int] = lambda args: 1
    rounds: Callable[[argparse.Namespace], int] = lambda args: 5 if args.quick else 15
    memory: bool = True
    custom: Callable[[argparse.Namespace], dict] | None = None
    notes: list[str] = field(default_factory=list)
    warmup: int = 2  #: untimed calls per case before the rounds (lazy mode plans on the first)


def result(w: Workload, rows: list[dict], skipped: list[dict], reference: str,
           rounds: int, calls: int, notes: list[str] | None = None) -> dict:
    """A workload's result: the fields of ``--json`` (docs/performance.md lists them)."""
    return {"key": w.key, "title": w.title, "unit": w.unit, "reference": reference,
            "rounds": rounds, "calls": calls, "rows": rows, "skipped": skipped,
            "notes": list(w.notes) + list(notes or [])}


def prepare(cases: list[Case], warmup: int = 2
            ) -> tuple[dict[str, Step], list[dict], dict[str, bool]]:
    """Each case made and run ``warmup`` times (warm-up and check); the steps, the skipped, and
    which are traced by tracemalloc."""
    steps, skipped, traced = {}, [], {}
    for case in cases:
        try:
            step = case.make()
            for _ in range(max(1, warmup)):
                step()
        except ImportError as exc:
            skipped.append({"library": case.library, "reason": f"not installed ({exc})"})
            continue
        except Exception as exc:  # a peer that cannot run this workload: say why, go on
            skipped.append({"library": case.library,
                            "reason": f"failed: {type(exc).__name__}: {exc}"[:200]})
            continue
        steps[case.library] = step
        traced[case.library] = case.traced
    return steps, skipped, traced


def paired(steps: dict[str, Step], rounds: int, calls: int, reference: str | None = None
           ) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, list[float]]]:
    """Seconds per call of each step, per round, and each step's ratios to ``reference``
    (default: the first step), in wall time and in CPU time: every round times each library
    right beside a run of the reference (which of the two goes first alternates), the
    libraries in an order rotated from round to round, so a ratio compares two runs under the
    same load. CPU time (the process's) is what other processes' load inflates least."""
    names = list(steps)
    reference = reference or names[0]
    others = [n for n in names if n != reference] or [reference]
    times: dict[str, list[float]] = {n: [] for n in names}
    ratios: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}

    def timed(name: str) -> tuple[float, float]:
        step = steps[name]
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(calls):
            step()
        return (time.perf_counter() - t0) / calls, (time.process_time() - c0) / calls

    for r in range(rounds):
        k = r % len(others)
        for name in others[k:] + others[:k]:
            if (r // len(others)) % 2 == r % 2:
                ref, t = timed(reference), timed(name)
            else:
                t, ref = timed(name), timed(reference)
            times[reference].append(ref[0])
            ratios[reference].append(1.0)
            cpu[reference].append(1.0)
            if name != reference:
                times[name].append(t[0])
                ratios[name].append(t[0] / ref[0])
                cpu[name].append(t[1] / ref[1] if ref[1] > 0 else math.nan)
    return times, ratios, cpu


def peak_bytes(step: Step) -> int:
    """Peak bytes tracemalloc sees during one call of ``step``, above what was allocated
    before it."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def rows_of(measured: tuple[dict[str, list[float]], ...], reference: str, scale: float,
            peaks: dict[str, int | None] | None = None, **extra: Any) -> list[dict]:
    """Table rows from :func:`paired`'s times and ratios: median time (in the unit), the
    median and min..max of the paired ratios to ``reference``, the ratio of best times and the
    median paired ratio of CPU times (the two figures load inflates least), peak MiB and its
    ratio to the reference's."""
    times, paired_ratios, cpu_ratios = measured
    peaks = peaks or {}
    ref_peak = peaks.get(reference)
    ref_best = min(times[reference]) if times.get(reference) else math.nan
    rows = []
    for name, ts in times.items():
        ratios = paired_ratios.get(name) or [math.nan]
        peak = peaks.get(name)
        rows.append({"library": name, **extra,
                     "time": statistics.median(ts) * scale, "time_min": min(ts) * scale,
                     "ratio": statistics.median(ratios), "ratio_min": min(ratios),
                     "ratio_max": max(ratios), "ratio_best": min(ts) / ref_best,
                     "cpu_ratio": statistics.median(cpu_ratios.get(name) or [math.nan]),
                     "peak_mib": None if peak is None else peak / 2 ** 20,
                     "memory_ratio": None if peak is None or not ref_peak else peak / ref_peak})
    return rows


def measure(w: Workload, args: argparse.Namespace) -> dict:
    """Run a timed workload: prepare its cases, time them in paired rounds, trace memory."""
    if w.custom is not None:
        return w.custom(args)
    cases = w.cases(args)
    reference = cases[0].library
    cases = [c for c in cases if c.library == reference or chosen(c.library, args)]
    steps, skipped, traced = prepare(cases, w.warmup)
    rounds, calls = w.rounds(args), w.calls(args)
    if reference not in steps:
        return result(w, [], skipped, reference, rounds, calls,
                      [f"the reference ({reference}) could not run"])
    measured = paired(steps, rounds, calls, reference)
    peaks = {n: (peak_bytes(s) if traced[n] else None) for n, s in steps.items()} \
        if w.memory else {}
    return result(w, rows_of(measured, reference, w.scale, peaks), skipped, reference, rounds,
                  calls)


def chosen(library: str, args: argparse.Namespace) -> bool:
    """Whether ``--libraries`` selects ``library`` (by its first word: numpy, anygrad, torch,
    mygrad, autograd; every library when not given)."""
    picked = getattr(args, "libraries", None)
    return not picked or library.split()[0] in {p.strip() for p in picked.split(",")}


def _fmt(v: float | None, spec: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        width = "".join(c for c in spec.split(".")[0] if c.isdigit())
        return format("n/a", f">{width}" if ">" not in spec and "<" not in spec else spec[0]
                      + width) if width else "n/a"
    return format(v, spec)


def print_table(res: dict) -> None:
    """One workload's table, under the machine and its thread pools."""
    print()
    describe()
    print(f"{res['key']}  {res['title']}  ({res['rounds']} rounds x {res['calls']} calls; "
          f"ratios: median and min..max of paired per-round ratios to {res['reference']})")
    keyed = [k for k in ("phase", "size") if any(k in r for r in res["rows"])]
    head = "".join(f"{k:>9s} " for k in keyed)
    memory = any(r.get("peak_mib") is not None for r in res["rows"])
    print(f"  {'library':22s} {head}{res['unit']:>10s} {'x ref':>7s} {'min..max':>13s} "
          f"{'best':>6s} {'cpu':>6s}"
          + (f" {'peak MiB':>9s} {'x ref':>6s}" if memory else ""))
    for r in res["rows"]:
        cells = "".join(f"{r.get(k, ''):>9} " for k in keyed)
        line = (f"  {r['library']:22s} {cells}{_fmt(r['time'], '10.3f')} "
                f"{_fmt(r['ratio'], '7.3f')} {_fmt(r['ratio_min'], '6.2f')}.."
                f"{_fmt(r['ratio_max'], '<6.2f')} {_fmt(r.get('ratio_best'), '6.3f')} "
                f"{_fmt(r.get('cpu_ratio'), '6.3f')}")
        if memory:
            line += f" {_fmt(r.get('peak_mib'), '9.2f')} {_fmt(r.get('memory_ratio'), '6.2f')}"
        for k, v in r.items():
            if k.startswith("extra_"):
                line += f"  {k[6:]}={v}"
        print(line)
    for s in res["skipped"]:
        print(f"  skipped {s['library']}: {s['reason']}")
    for note in res["notes"]:
        print(f"  note: {note}")
    sys.stdout.flush()


def markdown(res: dict) -> str:
    """One workload's result as a Markdown table (what docs/performance.md shows)."""
    keyed = [k for k in ("phase", "size") if any(k in r for r in res["rows"])]
    memory = any(r.get("peak_mib") is not None for r in res["rows"])
    head = ["library", *keyed, res["unit"], f"x {res['reference']} (min..max)", "cpu"]
    head += ["peak MiB", "x ref"] if memory else []
    if any("bytes_per_node" in r for r in res["rows"]):
        head.append("bytes/node")
    if any("wall_ms" in r for r in res["rows"]):
        head.append("wall ms (x ref)")
    lines = [f"**{res['key']}** {res['title']} ({res['rounds']} rounds x {res['calls']} calls)",
             "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in res["rows"]:
        t = r["time"]
        cells = [r["library"], *(str(r.get(k, "")) for k in keyed),
                 _fmt(t, ".0f" if t >= 100 else ".1f" if t >= 10 else ".2f"),
                 f"{_fmt(r['ratio'], '.3f')} ({_fmt(r['ratio_min'], '.2f')}.."
                 f"{_fmt(r['ratio_max'], '.2f')})", _fmt(r.get("cpu_ratio"), ".3f")]
        if memory:
            cells += [_fmt(r.get("peak_mib"), ".2f"), _fmt(r.get("memory_ratio"), ".2f")]
        if "bytes/node" in head:
            cells.append(_fmt(r.get("bytes_per_node"), ".0f"))
        if any(h.startswith("wall") for h in head):
            cells.append(f"{_fmt(r.get('wall_ms'), '.0f')} ({_fmt(r.get('wall_ratio'), '.2f')})")
        lines.append("| " + " | ".join(cells) + " |")
    for s in res["skipped"]:
        lines.append(f"\nskipped {s['library']}: {s['reason']}")
    for note in res["notes"]:
        lines.append(f"\n{note}")
    return "\n".join(lines) + "\n"


# -- the workloads ------------------------------------------------------------------------
BUILTIN = {"A": "overhead", "B": "mlp", "C": "matmul", "D": "graph", "E": "cnn", "F": "lazy",
           "G": "imports"}
OPTIONAL = {"H": "compile", "I": "dask"}  # written elsewhere; included when present


def workloads(keys: list[str]) -> tuple[list[Workload], list[str]]:
    """The workloads for ``keys`` (in order), and a note for each optional one missing."""
    found, notes = [], []
    for key in keys:
        module = BUILTIN.get(key) or OPTIONAL.get(key)
        if module is None:
            raise SystemExit(f"bench: no workload {key!r} (A-I)")
        try:
            mod = importlib.import_module(f"bench.{module}")
        except ImportError as exc:
            if key in BUILTIN:
                raise
            notes.append(f"{key}: bench/{module}.py not available ({exc})")
            continue
        w = getattr(mod, "WORKLOAD", None)
        if w is None:
            notes.append(f"{key}: bench/{module}.py defines no WORKLOAD")
            continue
        found.append(w)
    return found, notes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--only", default=None,
                   help="comma-separated workloads, e.g. A,B (default: all; "
                        "A overhead, B MLP, C matmul, D graph, E CNN, F lazy chain, G import)")
    p.add_argument("--quick", action="store_true", help="small sizes, few rounds (smoke run)")
    p.add_argument("--json", action="store_true", help="print one JSON document, no tables")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables")
    p.add_argument("--rounds", type=int, default=None, help="override every workload's rounds")
    p.add_argument("--size", type=int, default=None, help="C's matrix size (default 4096)")
    p.add_argument("--libraries", default=None,
                   help="comma-separated first words of the libraries to run (numpy, anygrad, "
                        "torch, mygrad, autograd; default: all; the reference always runs)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keys = [k.strip().upper() for k in args.only.split(",")] if args.only else \
        [*BUILTIN, *OPTIONAL]
    chosen, notes = workloads(keys)
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(1)
    except ImportError:
        limits = None
        notes.append("threadpoolctl is not installed: thread pools not limited at run time")
    results = []
    try:
        for w in chosen:
            if args.rounds is not None:
                w.rounds = lambda a, n=args.rounds: n
            res = measure(w, args)
            results.append(res)
            if args.markdown and not args.json:
                describe()
                print(markdown(res))
            elif not args.json:
                print_table(res)
    finally:
        if limits is not None:
            limits.restore_original_limits()
    if args.json:
        json.dump(_finite({"command": ["python", "-m", "bench", *(argv if argv is not None
                                                            else sys.argv[1:])],
                   "quick": args.quick, "machine": info(), "workloads": results,
                   "notes": notes}), sys.stdout, indent=1, allow_nan=False, default=str)
        print()
    else:
        for note in notes:
            print(f"note: {note}")
    return 0


def _finite(v: Any) -> Any:
    """``v`` with every NaN or infinite float made None (JSON has neither)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v


if __name__ == "__main__":
    sys.exit(main())

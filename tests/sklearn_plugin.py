"""A pytest plugin: scikit-learn's own array-API tests, with anygrad among their namespaces.

    SCIPY_ARRAY_API=1 python -m pytest -p tests.sklearn_plugin --pyargs sklearn.decomposition

scikit-learn parametrises its array-API tests with
``sklearn.utils._array_api.yield_namespace_device_dtype_combinations`` (and
``yield_namespaces``); this plugin wraps both, before scikit-learn's test modules import them,
so that they also yield ``("anygrad", "cpu", "float64")`` and ``("anygrad", "cpu",
"float32")``. ``ANYGRAD_SKLEARN_NAMESPACES`` (default ``array_api_strict,anygrad``) keeps only
those namespaces, and only the tests parametrised over one of them are collected.

At the end the plugin compares: every test that passed for array-api-strict must pass for
anygrad with the same dtype (``CPU_DEVICE``/float64 and ``device1``/float32 are anygrad's
``cpu``/float64 and ``cpu``/float32). It prints what did not, and fails the run if anything
did not. ``ci/sklearn-array-api`` runs it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # before SciPy is imported (scikit-learn does)

from sklearn.utils import _array_api  # noqa: E402

NAMESPACES = tuple(n for n in os.environ.get("ANYGRAD_SKLEARN_NAMESPACES",
                                             "array_api_strict,anygrad").split(",") if n)
ANYGRAD = (("anygrad", "cpu", "float64"), ("anygrad", "cpu", "float32"))
_combinations = _array_api.yield_namespace_device_dtype_combinations
_namespaces = _array_api.yield_namespaces


def yield_namespace_device_dtype_combinations(include_numpy_namespaces: bool = True
                                              ) -> Iterator[tuple]:
    """scikit-learn's combinations of the kept namespaces, then anygrad's."""
    for combination in _combinations(include_numpy_namespaces=include_numpy_namespaces):
        if combination[0] in NAMESPACES and combination[0] != "anygrad":
            yield combination
    if "anygrad" in NAMESPACES:
        yield from ANYGRAD


def yield_namespaces(include_numpy_namespaces: bool = True) -> Iterator[str]:
    """scikit-learn's kept namespaces, then anygrad."""
    for name in _namespaces(include_numpy_namespaces=include_numpy_namespaces):
        if name in NAMESPACES:
            yield name
    if "anygrad" in NAMESPACES:
        yield "anygrad"


_array_api.yield_namespace_device_dtype_combinations = yield_namespace_device_dtype_combinations
_array_api.yield_namespaces = yield_namespaces

# A strict test's id, and the id of the same test on anygrad (same dtype).
_STRICT_TO_ANYGRAD = (("array_api_strict-CPU_DEVICE-float64", "anygrad-cpu-float64"),
                      ("array_api_strict-device1-float32", "anygrad-cpu-float32"),
                      ("array_namespace=array_api_strict", "array_namespace=anygrad"),
                      ("device_name=CPU_DEVICE", "device_name=cpu"),
                      ("device_name=device1", "device_name=cpu"))
_WORD = re.compile(r"\b(" + "|".join(re.escape(n) for n in NAMESPACES) + r")\b") \
    if NAMESPACES else None

_outcomes: dict[str, str] = {}


def _anygrad_id(nodeid: str) -> str | None:
    """The id the array-api-strict test ``nodeid`` has on anygrad (None: it has none)."""
    out = nodeid
    for strict, ours in _STRICT_TO_ANYGRAD:
        out = out.replace(strict, ours)
    return None if out == nodeid or "array_api_strict" in out else out


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the tests parametrised over a kept namespace."""
    if _WORD is None:
        return
    kept, dropped = [], []
    for item in items:
        (kept if _WORD.search(item.name) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember each test's outcome: failed if any phase failed, else skipped or passed."""
    key = f"{report.location[0]}::{report.location[2]}"  # the file too, wherever it lives
    if report.failed:
        _outcomes[key] = "xpassed" if hasattr(report, "wasxfail") else "failed"
    elif report.skipped and key not in _outcomes:
        _outcomes[key] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
    elif report.when == "call" and report.passed and key not in _outcomes:
        _outcomes[key] = "passed"


def _compare() -> tuple[dict[str, int], list[str], list[str]]:
    """Counts per namespace, the strict passes anygrad fails, and those it does not run."""
    counts: dict[str, int] = {}
    for nodeid, outcome in _outcomes.items():
        for name in ("array_api_strict", "anygrad"):
            if name in nodeid and outcome == "passed":
                counts[name] = counts.get(name, 0) + 1
    failing, absent = [], []
    for nodeid, outcome in sorted(_outcomes.items()):
        if outcome != "passed" or "array_api_strict" not in nodeid:
            continue
        ours = _anygrad_id(nodeid)
        if ours is None or ours not in _outcomes:
            absent.append(nodeid)
        elif _outcomes[ours] != "passed":
            failing.append(f"{ours} ({_outcomes[ours]})")
    return counts, failing, absent


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not {"array_api_strict", "anygrad"} <= set(NAMESPACES):
        return
    counts, failing, absent = _compare()
    write = terminalreporter.write_line
    terminalreporter.section("anygrad against array-api-strict")
    write(f"passed: array_api_strict {counts.get('array_api_strict', 0)}, "
          f"anygrad {counts.get('anygrad', 0)}")
    write(f"passing for array_api_strict but not for anygrad: {len(failing)}")
    for line in failing:
        write(f"  {line}")
    if absent:
        write(f"passing for array_api_strict, with no anygrad variant (mixed namespaces): "
              f"{len(absent)}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With both namespaces, the run fails exactly when the comparison does: a test failing
    for both (or only for array-api-strict) is scikit-learn's, not anygrad's."""
    if {"array_api_strict", "anygrad"} <= set(NAMESPACES) and exitstatus in (0, 1):
        failed = bool(_compare()[1])
        session.exitstatus = pytest.ExitCode.TESTS_FAILED if failed else pytest.ExitCode.OK

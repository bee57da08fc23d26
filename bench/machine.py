"""The header every benchmark prints: Python, NumPy, the machine, and its thread pools."""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np


def info() -> dict[str, Any]:
    """The machine as JSON: Python, NumPy, the CPU, and each BLAS/OpenMP pool (threads and
    kernel; empty when threadpoolctl is not installed)."""
    pools = []
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = list
    for pool in threadpool_info():
        pools.append({"api": pool.get("internal_api"), "version": pool.get("version"),
                      "threads": pool.get("num_threads"), "kernel": pool.get("architecture"),
                      "library": os.path.basename(pool.get("filepath") or "")})
    return {"python": platform.python_version(), "numpy": np.__version__,
            "platform": platform.platform(terse=True), "machine": platform.machine(),
            "cores": os.cpu_count(), "threadpools": pools}


def describe(extra: str = "") -> None:
    """Print the machine line (``extra`` appended) and each BLAS/OpenMP pool's threads and
    kernel (when threadpoolctl is installed)."""
    m = info()
    print(f"python {m['python']}, numpy {m['numpy']}, {m['machine']}, {m['cores']} cores{extra}")
    for pool in m["threadpools"]:
        print(f"  {pool['api']} {pool['version']} threads={pool['threads']} "
              f"kernel={pool['kernel']} ({pool['library']})")

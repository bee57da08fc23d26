"""The header every benchmark prints: Python, NumPy, the machine, and its thread pools."""

from __future__ import annotations

import os
import platform

import numpy as np


def describe(extra: str = "") -> None:
    """Print the machine line (``extra`` appended) and each BLAS/OpenMP pool's threads and
    kernel (when threadpoolctl is installed)."""
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cores{extra}")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return
    for pool in threadpool_info():
        print(f"  {pool['internal_api']} {pool.get('version')} "
              f"threads={pool['num_threads']} kernel={pool.get('architecture')}")

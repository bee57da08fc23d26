"""Host memory: keep freed NumPy buffers in the process's heap for the next step.

glibc hands large freed blocks back to the system: mmap'd blocks at once, the heap's top
once it passes a threshold that follows the sizes freed so far. The next step's arrays then
fault in fresh pages, and whether an MLP training step pays 1,500 page faults (30-40% of its
time, in ``bench/lazy.py``) depends on what happened to run before it. Fixed thresholds make
the cost steady: blocks under 32 MiB come from the heap, and up to 64 MiB of free heap stays.

``ANYGRAD_HEAP=system`` keeps glibc's own behaviour, as do the ``MALLOC_*_`` variables and
``GLIBC_TUNABLES`` (the user's choice wins); other C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
_MMAP_FROM, _KEEP = 32 << 20, 64 << 20


@functools.cache
def steady_heap() -> bool:
    """Fix glibc's heap thresholds once per process; whether they are fixed."""
    if os.environ.get("ANYGRAD_HEAP", "steady") == "system" or not sys.platform.startswith(
            "linux") or any(k in os.environ for k in (
                "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        mallopt = ctypes.CDLL(None).mallopt
    except (ValueError, OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_FROM)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP))

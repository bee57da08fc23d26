"""The NumPy backend keeps freed buffers in the heap: a step's arrays fault no fresh pages."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_STEPS = """
import resource
import numpy as np
import anygrad as ag
ag.Tensor([1.0])  # the cpu backend starts
a = np.ones(1 << 18); del a  # a 2 MiB block: glibc's thresholds follow it
def step():
    temporaries = [np.ones(100_000) for _ in range(6)]  # 800 KB each, from the heap
    del temporaries
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _faults_per_step(heap: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_"))}
    env["ANYGRAD_HEAP"] = heap
    out = subprocess.run([sys.executable, "-c", _STEPS], env=env, capture_output=True,
                         text=True, check=True)
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux") or not os.confstr(
    "CS_GNU_LIBC_VERSION"), reason="glibc's heap thresholds only")
def test_freed_buffers_stay_for_the_next_step():
    assert _faults_per_step("steady") < 10
    assert _faults_per_step("system") > 500  # glibc alone gives 800 KB back each time

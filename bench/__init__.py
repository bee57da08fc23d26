"""anygrad's benchmark suite: ``python -m bench`` (see ``bench/run.py`` and docs/performance.md).

Importing the package pins every BLAS and OpenMP pool to one thread before NumPy loads (under
contention two threads ran slower than one); ``bench.run`` also limits the pools at run time.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

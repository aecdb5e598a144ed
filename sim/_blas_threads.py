"""One BLAS thread per ccsim process unless the user chose otherwise (imported before numpy).

ccsim's work is elementwise numpy over customers and small model fits, where
a multithreaded BLAS only contends with the reference games' worker
processes on a small machine: a 1M-prospect coffee ``ccsim run`` took 23.4 s
with the default threads and 18.4 s with one (``benchmarks/run_1m.py``, 2
cores).  A value already set in the environment wins.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

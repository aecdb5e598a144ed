"""One BLAS thread per ccsim process unless the user chose otherwise (imported before numpy).

ccsim's work is elementwise numpy over customers and small model fits, where
a multithreaded BLAS only contends with the reference games' worker
processes on a small machine: a 1M-prospect coffee ``ccsim run`` took 23.4 s
with the default threads and 18.4 s with one (``benchmarks/run_1m.py``, 2
cores).  A value already set in the environment wins.

This module imports nothing but ``os``, so a process can import it before
numpy; every place that sets the thread count reads ``BLAS_THREAD_VARS``.
"""

import os
from collections.abc import MutableMapping

#: The environment variables that size the numeric libraries' thread pools.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def default_one_thread(env: MutableMapping[str, str]) -> None:
    """Set one thread for each numeric library in ``env`` where the variable is unset."""
    for var in BLAS_THREAD_VARS:
        env.setdefault(var, "1")


default_one_thread(os.environ)

"""BLAS threads for training, gradcheck and evaluate: how many (`--threads`, 0 = auto), applied
with threadpoolctl to the BLAS numpy actually loaded.

The rule of `auto` (measured with benchmarks/threads.py; figures in benchmarks/README.md):
small layers gain nothing from threads — OpenBLAS's thread start-up and hand-over cost more than
a product of a few thousand multiply-adds per row — and on a machine whose cores are busy they
lose badly, since every product then waits for the slowest thread. So: one thread unless the
largest layer has at least PARALLEL_WORK weights, and then the cores not already busy (the
1-minute load average counts the processes wanting a core), at least one.
"""

from __future__ import annotations

import contextlib
import math
import os

AUTO = 0  # --threads 0: let `auto_threads` choose
PARALLEL_WORK = 1 << 20  # weights (n_in · n_out) of the largest layer from which threads may pay


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def layer_work(sizes) -> int:
    """Multiply-adds per example of the largest layer: its number of weights."""
    return max(n_in * n_out for n_in, n_out in zip(sizes, sizes[1:]))


def idle_cores(cores: int, load: float | None) -> int:
    """Cores not taken by other runnable processes (the 1-minute load average), at least 1."""
    if load is None:
        return cores
    return max(1, cores - math.floor(load))


def auto_threads(sizes, cores: int | None = None, load: float | None = None) -> int:
    """The thread count of `--threads auto` for a network of layer `sizes` (see the module
    docstring); `cores` and `load` default to this machine's."""
    if layer_work(sizes) < PARALLEL_WORK:
        return 1
    cores = available_cores() if cores is None else cores
    if load is None:
        with contextlib.suppress(OSError, AttributeError):
            load = os.getloadavg()[0]
    return idle_cores(cores, load)


def blas_name() -> str | None:
    """The BLAS numpy loaded, e.g. 'openblas 0.3.27' (None when threadpoolctl finds none)."""
    from threadpoolctl import threadpool_info

    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    blas.sort(key=lambda p: "numpy" not in p.get("filepath", ""))  # numpy's own first
    if not blas:
        return None
    return f"{blas[0].get('internal_api')} {blas[0].get('version') or ''}".strip()


@contextlib.contextmanager
def blas_threads(requested: int, sizes):
    """Run the body with `requested` BLAS threads (AUTO: `auto_threads(sizes)`); yields the
    record config.json keeps: {"threads": n, "auto": bool, "blas": name}."""
    from threadpoolctl import threadpool_limits

    n = auto_threads(sizes) if requested == AUTO else requested
    with threadpool_limits(n, user_api="blas"):
        yield {"threads": n, "auto": requested == AUTO, "blas": blas_name()}

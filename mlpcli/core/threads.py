"""BLAS threads for training, gradcheck and evaluate: how many (`--threads`, 0 = auto), applied
with threadpoolctl to the BLAS numpy actually loaded.

The rule of `auto` (measured with benchmarks/threads.py; figures in benchmarks/README.md):
small layers gain nothing from threads — OpenBLAS's thread start-up and hand-over cost more than
a product of a few thousand multiply-adds per row — and on a machine whose cores are busy they
lose badly, since every product then waits for the thread that got the least CPU. So: one thread
unless the largest layer has at least PARALLEL_WORK weights, and then the cores that other
processes leave idle, measured over BUSY_SAMPLE seconds when training starts (a core counts as
taken from BUSY_TOLERANCE of a core's use on), at least one, and never more than the limit
already in force (a sweep worker's one thread stays one).

The count is chosen once, when a block of `blas_threads` opens, and kept to its end: products
with a long inner dimension round differently with another thread count, so a seeded run is
reproduced bit for bit with the thread count config.json records (`--threads N`).
"""

from __future__ import annotations

import contextlib
import math
import os
import time

AUTO = 0  # --threads 0: let `auto_threads` choose
PARALLEL_WORK = 1 << 18  # weights (n_in · n_out) of the largest layer from which threads may pay
BUSY_SAMPLE = 0.05  # seconds over which other processes' CPU use is measured
BUSY_TOLERANCE = 0.25  # a core used this much by others is still counted as idle

_open: list[dict] = []  # the records of the blas_threads blocks now open, innermost last


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def layer_work(sizes) -> int:
    """Multiply-adds per example of the largest layer: its number of weights."""
    return max(n_in * n_out for n_in, n_out in zip(sizes, sizes[1:]))


def _cpu_seconds() -> tuple[float, float] | None:
    """(busy CPU seconds of the whole machine, of this process); None without /proc/stat."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    own = os.times()
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK"), own.user + own.system


def busy_cores(seconds: float = BUSY_SAMPLE) -> float | None:
    """Cores' worth of CPU that other processes use now (this process's own threads left out),
    measured over `seconds`; None where the machine does not say (no /proc/stat)."""
    before = _cpu_seconds()
    if before is None:
        return None
    start = time.perf_counter()
    time.sleep(seconds)
    after, elapsed = _cpu_seconds(), time.perf_counter() - start
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / elapsed)


def idle_cores(cores: int, busy: float | None) -> int:
    """Cores not taken by other processes using `busy` cores' worth of CPU, at least 1."""
    if busy is None:
        return cores
    return max(1, cores - max(0, math.ceil(busy - BUSY_TOLERANCE)))


def auto_threads(sizes, cores: int | None = None, busy: float | None = None) -> int:
    """The thread count of `--threads auto` for a network of layer `sizes` (see the module
    docstring, without the limit in force); `cores` and `busy` default to this machine's."""
    if layer_work(sizes) < PARALLEL_WORK:
        return 1
    cores = available_cores() if cores is None else cores
    return idle_cores(cores, busy_cores() if busy is None else busy)


def blas_name() -> str | None:
    """The BLAS numpy loaded, e.g. 'openblas 0.3.27' (None when threadpoolctl finds none)."""
    from threadpoolctl import threadpool_info

    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    blas.sort(key=lambda p: "numpy" not in p.get("filepath", ""))  # numpy's own first
    if not blas:
        return None
    return f"{blas[0].get('internal_api')} {blas[0].get('version') or ''}".strip()


def _blas_limit() -> int | None:
    """The thread limit the loaded BLAS has now (None when threadpoolctl finds none)."""
    from threadpoolctl import threadpool_info

    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return min(counts) if counts else None


@contextlib.contextmanager
def blas_threads(requested: int, sizes):
    """Run the body with `requested` BLAS threads (AUTO: `auto_threads(sizes)`, at most the
    limit in force); yields the record config.json keeps: {"threads": n, "auto": bool,
    "blas": name}. AUTO inside an open block keeps that block's choice (the trainer, run by
    `mlpcli train`, uses the count the run records)."""
    from threadpoolctl import threadpool_limits

    if requested == AUTO and _open:
        yield _open[-1]
        return
    n = requested
    if requested == AUTO:
        n = auto_threads(sizes)
        if n > 1:
            n = min(n, _blas_limit() or n)
    with threadpool_limits(n, user_api="blas"):
        _open.append({"threads": n, "auto": requested == AUTO, "blas": blas_name()})
        try:
            yield _open[-1]
        finally:
            _open.pop()

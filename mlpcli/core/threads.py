"""BLAS threads for training, gradcheck and evaluate: how many (`--threads`, 0 = auto), applied
with threadpoolctl to the BLAS numpy actually loaded.

The rule of `auto` (measured with benchmarks/threads.py; figures in benchmarks/README.md):
small layers gain nothing from threads — OpenBLAS's thread start-up and hand-over cost more than
a product of a few thousand multiply-adds per row — so one thread unless the largest layer has at
least PARALLEL_WORK weights, and then one per core (never more than the limit already in force:
a sweep worker's one thread stays one). The choice depends on the network alone, never on how
busy the machine is: products with a long inner dimension round differently with another thread
count (OpenBLAS, 128×785 · 785×512 in float32), so a count chosen by the load would make a
seeded run's bits depend on what else was running. `--threads N` is there for a machine whose
owner knows better; config.json records the count, and the same count reproduces a run.

The count is chosen once, when a block of `blas_threads` opens, and kept to its end.
"""

from __future__ import annotations

import contextlib
import os

AUTO = 0  # --threads 0: let `auto_threads` choose
PARALLEL_WORK = 1 << 20  # weights (n_in · n_out) of the largest layer from which threads pay

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


def auto_threads(sizes, cores: int | None = None) -> int:
    """The thread count of `--threads auto` for a network of layer `sizes` (see the module
    docstring, without the limit in force); `cores` defaults to this machine's."""
    if layer_work(sizes) < PARALLEL_WORK:
        return 1
    return available_cores() if cores is None else cores


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

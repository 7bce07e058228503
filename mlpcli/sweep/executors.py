"""Where trials run: in this process, in a pool of local processes, or on a Dask cluster.

Every executor takes the trials' specs and the shared data (a dict data_key -> TrialData) and
yields (spec, result) as trials finish, in whatever order they finish. At most one trial per
worker is in flight, so that a stop request (`stop`, a threading.Event set by the signal
handler) starts no new trial, and the running ones are asked to stop and return 'interrupted'.

Local processes are spawned (no fork of a process with threads) and limit their BLAS to one
thread each, so N workers use N cores; each gets the data once, when it starts (arrays the data
cache holds go by file name, and the workers share their pages). On Dask the
data is scattered to the workers once and each trial's result comes back to this process.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
import time
from collections import deque

from mlpcli.errors import ConfigError
from mlpcli.sweep.trial import TrialResult, run_trial

POLL_SECONDS = 0.2  # how often the sweep's process looks at the stop flag while waiting
DASK_STOP_POLL = 1.0  # seconds between a Dask trial's looks at the sweep's stop event
MAX_ATTEMPTS = 2  # a trial in flight when a worker process died is run once more


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def limit_blas_threads() -> None:
    """One BLAS/OpenMP thread in this process (a worker: the workers share the cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # numpy's BLAS keeps its threads; the sweep is still correct
        return
    threadpool_limits(1)


# --- in this process --------------------------------------------------------------------------

def run_in_process(specs, shared, stop: threading.Event, on_start=None):
    for spec in specs:
        if stop.is_set():
            return
        if on_start:
            on_start(spec)
        yield spec, run_trial(spec, shared[spec.data_key], stop.is_set)


# --- local processes ----------------------------------------------------------------------------

_worker: dict = {}  # in a worker process: the shared data and the stop event


def _init_worker(shared, stop_event) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the sweep's process, which
    limit_blas_threads()  # asks the workers to stop through `stop_event`
    _worker.update(shared={key: data.resolved() for key, data in shared.items()},
                   stop=stop_event)


def _run_in_worker(spec) -> TrialResult:
    return run_trial(spec, _worker["shared"][spec.data_key], _worker["stop"].is_set)


def _died(spec, error: str) -> TrialResult:
    return TrialResult(spec.trial.id, "failed", error=error)


def run_in_processes(specs, shared, stop: threading.Event, workers: int, on_start=None):
    """A process pool; a worker that dies fails only the trials it may have been running (each
    is tried once more in a new pool; --resume reruns a trial that failed)."""
    context = multiprocessing.get_context("spawn")
    stop_event = context.Event()
    by_reference = {key: data.by_reference() for key, data in shared.items()}
    queue, attempts = deque(specs), {}
    while queue and not stop.is_set():
        pool = cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                      initargs=(by_reference, stop_event))

        def submit(spec, pool=pool):
            attempts[spec.trial.id] = attempts.get(spec.trial.id, 0) + 1
            return pool.submit(_run_in_worker, spec)

        def finished(futures):
            return cf.wait(futures, timeout=POLL_SECONDS, return_when=cf.FIRST_COMPLETED)[0]

        running: dict = {}
        try:
            for future, spec in _dispatch(queue, running, workers, submit, finished, stop,
                                          stop_event.set, on_start):
                try:
                    yield spec, future.result()
                except cf.process.BrokenProcessPool:  # a new pool for the trials in flight
                    for lost in (spec, *running.values()):
                        if attempts[lost.trial.id] < MAX_ATTEMPTS and not stop.is_set():
                            queue.appendleft(lost)
                        else:
                            yield lost, _died(lost, "the worker process running it died")
                    break
                except Exception as e:  # e.g. a result that cannot be sent back
                    yield spec, _died(spec, f"{type(e).__name__}: {e}")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _dispatch(queue: deque, running: dict, slots: int, submit, finished, stop, stop_workers,
              on_start):
    """Keep `slots` trials of `queue` in flight (running: future -> spec) and yield
    (future, spec) as they finish; once `stop` is set, submit no more and call stop_workers()."""
    while queue or running:
        while queue and len(running) < slots and not stop.is_set():
            spec = queue.popleft()
            running[submit(spec)] = spec
            if on_start:
                on_start(spec)
        if stop.is_set():
            stop_workers()
            if not running:
                return
        for future in finished(list(running)):
            yield future, running.pop(future)


# --- Dask -------------------------------------------------------------------------------------

def dask_client(address: str, workers: int):
    """A distributed Client: to the scheduler at `address`, or a LocalCluster ('local')."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--dask needs Dask distributed: pip install 'mlpcli[dask]'") from None
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster)
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as e:
        raise ConfigError(f"--dask {address}: cannot reach the scheduler ({e})") from None


def _run_on_dask(spec, data, stop_name: str) -> TrialResult:
    from distributed import Event

    limit_blas_threads()
    event, last = Event(stop_name), [0.0]

    def should_stop() -> bool:  # a look at the scheduler at most once a second
        now = time.monotonic()
        if now - last[0] < DASK_STOP_POLL:
            return False
        last[0] = now
        return event.is_set()

    return run_trial(spec, data, should_stop)


def run_on_dask(specs, shared, stop: threading.Event, client, sweep_id: str, on_start=None):
    from distributed import Event

    stop_name = f"mlpcli-stop-{sweep_id}-{os.getpid()}"
    slots = max(1, sum(client.nthreads().values()))
    data = {key: client.scatter(value, broadcast=True) for key, value in shared.items()}
    queue, running = deque(specs), {}
    stop_event = Event(stop_name, client=client)

    def submit(spec):
        return client.submit(_run_on_dask, spec, data[spec.data_key], stop_name, pure=False,
                             key=f"trial-{sweep_id}-{spec.trial.id}-{time.time()}")

    def finished(futures):
        done = [f for f in futures if f.done()]
        if not done:
            time.sleep(POLL_SECONDS)
        return done

    try:
        for future, spec in _dispatch(queue, running, slots, submit, finished, stop,
                                      stop_event.set, on_start):
            try:
                yield spec, future.result()
            except Exception as e:  # KilledWorker (its workers kept dying), lost data, …
                yield spec, _died(spec, f"on Dask: {type(e).__name__}: {e}")
    finally:
        for future in running:
            future.cancel()

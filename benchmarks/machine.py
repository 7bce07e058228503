"""The machine a benchmark runs on: what it is, how busy other processes keep it, and a
background process that keeps one core busy on purpose (`bench.py --busy`)."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
import time

import numpy as np

# The spinner: a tight loop in a child process, checking every ~10 ms that its parent is still
# there, so that it also stops when the benchmark is killed without a chance to clean up.
SPIN = """import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(200_000):
        pass
"""


def n_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


# --- other work on the machine -----------------------------------------------------------------

def cpu_snapshot() -> tuple[float, float, float]:
    """(busy CPU seconds of the whole machine, of this process and its reaped children, wall
    time)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    t = os.times()
    own = t.user + t.system + t.children_user + t.children_system
    return busy / os.sysconf("SC_CLK_TCK"), own, time.perf_counter()


def other_load(since: tuple[float, float, float]) -> float:
    """Cores' worth of CPU used by other processes since the snapshot `since` (a spinner
    counts as this process's own once it has been stopped)."""
    now = cpu_snapshot()
    return max(0.0, ((now[0] - since[0]) - (now[1] - since[1])) / (now[2] - since[2]))


def wait_idle(limit: float, threshold: float = 0.1) -> float:
    """Wait (at most `limit` seconds) for a 2-second window in which other processes use less
    than `threshold` cores; the other load of the last window."""
    deadline = time.perf_counter() + limit
    while True:
        snap = cpu_snapshot()
        time.sleep(2)
        load = other_load(snap)
        if load < threshold or time.perf_counter() >= deadline:
            return load


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (its /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def spinning_core():
    """Run the body while one background process spins a core in a tight loop; the process is
    always stopped on the way out (an error, Ctrl-C). Yields a record that gets, on exit, the
    seconds it ran and the cores' worth of CPU it actually took."""
    proc = subprocess.Popen([sys.executable, "-c", SPIN], stdin=subprocess.DEVNULL)
    record = {"processes": 1, "loop": "a pure-Python busy loop in a child process"}
    started = time.perf_counter()
    try:
        yield record
    finally:
        seconds = time.perf_counter() - started
        with contextlib.suppress(OSError, ValueError, IndexError):
            record["cpu_seconds"] = process_cpu_seconds(proc.pid)
        proc.kill()
        proc.wait()
        record["seconds"] = seconds
        if "cpu_seconds" in record:
            record["cores_used"] = record["cpu_seconds"] / seconds


# --- what the machine is ---------------------------------------------------------------------

def describe() -> dict:
    """CPU, cores and the versions of Python, numpy (and its BLAS), the peers and mlpcli."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {"cpu": cpu, "cores": n_cores(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": None}
    try:
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        # numpy's own BLAS (scipy, loaded by scikit-learn, brings another OpenBLAS)
        blas.sort(key=lambda p: "numpy" not in p.get("filepath", ""))
        if blas:
            p = blas[0]
            info["blas"] = (f"{p['internal_api']} {p.get('version')} "
                            f"({p.get('architecture')}, {p['num_threads']} threads)")
    except ImportError:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    for name in ("torch", "sklearn", "pandas", "pyarrow"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    try:
        from mlpcli import __version__

        info["mlpcli"] = __version__
    except ImportError:
        info["mlpcli"] = None
    return info

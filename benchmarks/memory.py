"""Peak memory, always of a fresh process: one epoch of a training case per implementation
(this file is also that child: `python memory.py IMPL:CASE`), and the peak RSS of any command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from training import CASES, SETUPS, BenchError, Case, make_data

# The peak RSS of a command, measured by a fresh intermediate Python process whose only child is
# the command: getrusage(RUSAGE_CHILDREN)'s ru_maxrss (KiB on Linux) is then the command's own
# high-water mark (the largest of it and any children it waited for).
PEAK_OF_CHILD = """import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"returncode": proc.returncode, "stderr": proc.stderr[-2000:],
                  "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise BenchError(f"no {field} in /proc/self/status")


def child_memory(impl: str, case_name: str) -> None:
    """Train one epoch of the full-size case and print RSS figures as JSON."""
    case = CASES[case_name]
    if impl in ("torch", "sklearn"):
        __import__({"torch": "torch", "sklearn": "sklearn.neural_network"}[impl])
    else:
        import mlpcli.core.train  # noqa: F401
    baseline = status_mib("VmRSS")  # interpreter and libraries, before any data
    X, Y = make_data(case)
    run = SETUPS[impl](case, X, Y, **({"threads": 1} if impl == "torch" else {}))
    run(1)
    print(json.dumps({"baseline_mib": baseline, "peak_mib": status_mib("VmHWM"),
                      "data_mib": (X.nbytes + Y.nbytes) / 2**20}))


def bench_memory(case: Case, impls: list[str]) -> dict:
    """Peak RSS per implementation, each in its own process (run side by side, one thread
    each: only the memory counts here)."""
    env = {**os.environ, **ONE_THREAD}
    procs = {impl: subprocess.Popen([sys.executable, __file__, f"{impl}:{case.name}"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=env)
             for impl in impls}
    out = {}
    for impl, proc in procs.items():
        stdout, stderr = proc.communicate()
        if proc.returncode:
            raise BenchError(f"memory child {impl}:{case.name} failed:\n{stderr}")
        r = json.loads(stdout.strip().splitlines()[-1])
        r["increase_mib"] = r["peak_mib"] - r["baseline_mib"]
        r["increase_per_data"] = r["increase_mib"] / r["data_mib"]
        out[impl] = r
    return out


def peak_rss_mib(cmd: list[str], env: dict | None = None) -> float:
    """The peak RSS (MiB) of running `cmd` to completion; BenchError if it fails."""
    proc = subprocess.run([sys.executable, "-c", PEAK_OF_CHILD, *cmd], capture_output=True,
                          text=True, env=env)
    if proc.returncode:
        raise BenchError(f"peak-RSS wrapper failed:\n{proc.stderr}")
    r = json.loads(proc.stdout)
    if r["returncode"]:
        raise BenchError(f"{' '.join(cmd)} failed ({r['returncode']}):\n{r['stderr']}")
    return r["peak_kib"] / 1024


if __name__ == "__main__":
    child_memory(*sys.argv[1].split(":"))

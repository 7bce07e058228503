"""Speed of mlpcli: training throughput against PyTorch, scikit-learn and a plain numpy loop,
quiet and with a core kept busy; reading a large CSV; memory; start-up (issues 8 and 17).

    python benchmarks/bench.py [--quick] [--json | --markdown] [--busy] [--reps R]
                               [--cases xor,moons,digits,mnist,mnist64] [--no-memory] [--no-e2e]
                               [--no-reading]

Training: the same work for every implementation: plain minibatch SGD on one hidden ReLU layer,
loss ½(ŷ−y)² summed over the minibatch (scikit-learn: its mean, with the learning rate scaled by
the batch so the steps are the same), rows reshuffled every epoch, random data of the case's
shape. Every implementation is set up once per case and then trained for E more epochs per
measurement; measurements are interleaved (rep 1: mlpcli, numpy, torch, sklearn; rep 2: …) and
the median samples/s is reported. E is calibrated during the warm-up so that one measurement
takes ≥ 1 s (≥ 0.2 s with --quick). With --busy every case is measured again while a background
process spins one core.

Also measured: the peak GEMM rate (→ the matrix-multiply limit for the large cases), peak RSS of
the mnist-shaped case per implementation (each in a fresh subprocess), `mlpcli train` end to end
against the bare Trainer, the start-up time of `mlpcli --help` / `--version`, and reading a
generated 1 000 000 × 20 CSV: today's reader, the new first read, the cache, and the peak memory
of `mlpcli train` on it. PyTorch and scikit-learn are optional (`pip install -e '.[bench]'`);
absent ones are skipped. Method and figures: benchmarks/README.md.

The modules: training.py (cases, implementations, measuring), machine.py (the machine, its load,
the busy core), memory.py (peak RSS), endtoend.py (`mlpcli train` and start-up), reading.py (the
data-reading case), report.py (the tables).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from endtoend import bench_e2e, bench_startup
from machine import cpu_snapshot, describe, n_cores, other_load, spinning_core, wait_idle
from memory import bench_memory
from reading import bench_reading
from report import print_markdown, print_report
from training import (
    BUSY_REPS,
    CASES,
    FULL_CASES,
    IMPL_LABELS,
    IMPLS,
    QUICK_CASES,
    BenchError,
    available,
    bench_pass,
)
from training import missed_goals as missed_training

ROOT = Path(__file__).resolve().parent.parent  # the checkout this script belongs to


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (a few minutes)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--markdown", action="store_true",
                     help="print the tables as markdown (rows ready for a README)")
    parser.add_argument("--cases", help=f"comma-separated, of: {','.join(CASES)} "
                        f"[default: {FULL_CASES}; --quick: {QUICK_CASES}]")
    parser.add_argument("--impls", default=",".join(IMPLS), help="implementations to run")
    parser.add_argument("--reps", type=int, help="interleaved repetitions [5; --quick: 3]")
    parser.add_argument("--torch-threads", choices=("best", "cores"), default="best",
                        help="PyTorch threads: the faster of 1 and one per core, or one per core")
    parser.add_argument("--busy", action="store_true",
                        help="measure the training cases again while a background process "
                             "spins one core")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="first wait up to this long for other processes to go quiet")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS children")
    parser.add_argument("--no-e2e", action="store_true",
                        help="skip `mlpcli train` end to end and start-up")
    parser.add_argument("--no-reading", action="store_true",
                        help="skip the data-reading case (CSV reading, cache, train's memory)")
    args = parser.parse_args(argv)
    args.names = (args.cases or (QUICK_CASES if args.quick else FULL_CASES)).split(",")
    unknown = [n for n in args.names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    quick = args.quick
    reps = args.reps or (3 if quick else 5)
    target = 0.2 if quick else 1.0
    gemm_sizes = (2048, 3000) if quick else (2048, 3000, 4000)

    notes, impls = [], []
    for impl in args.impls.split(","):
        why = available(impl)
        if why:
            notes.append(f"{IMPL_LABELS[impl]} skipped: {why}")
        else:
            impls.append(impl)
    if quick:
        notes.append("--quick: large cases use fewer rows; shorter measurements, fewer reps; "
                     "the reading case reads 200 000 rows once")
    imported = Path(importlib.util.find_spec("mlpcli").origin).parent
    if imported != ROOT / "mlpcli":  # e.g. a non-editable install left by .ci/run
        notes.append(f"timing the mlpcli installed at {imported}, not this checkout's "
                     f"(pip install -e . to time the checkout)")

    progress = Progress(enabled=not (args.json or args.markdown))
    try:
        with tempfile.TemporaryDirectory(prefix="mlpcli-bench-cache-") as cache:
            os.environ["MLPCLI_CACHE_DIR"] = cache  # mlpcli's default cache: not the user's
            report = run(args, impls, notes, reps, target, gemm_sizes, progress)
    except KeyboardInterrupt:
        print("bench.py: interrupted", file=sys.stderr)
        return 130
    except BenchError as e:
        print(f"bench.py: {e}", file=sys.stderr)
        return 1
    finally:
        progress.stop()
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.markdown:
        print_markdown(report)
    else:
        print_report(report)
    return 0


def run(args, impls, notes, reps, target, gemm_sizes, progress) -> dict:
    """Every phase the options ask for, in order; the report dict."""
    quick, names, say = args.quick, args.names, progress.say
    started = time.perf_counter()
    if args.wait_idle:
        say("waiting for the machine to go quiet")
        wait_idle(args.wait_idle)
    snapshot = cpu_snapshot()
    passes = dict(impls=impls, reps=reps, target=target, quick=quick, gemm_sizes=gemm_sizes,
                  torch_threads_fixed=args.torch_threads == "cores", say=say)
    quiet = bench_pass(names, busy=False, **passes)
    report = {
        "settings": {"quick": quick, "reps": reps, "target_seconds": target,
                     "gemm_sizes": gemm_sizes, "busy": args.busy},
        "impls": impls, "notes": notes, "gemm_gflops": quiet["gemm_gflops"],
        "cases": quiet["cases"], "other_cpu_load_quiet": other_load(snapshot),
    }
    if args.busy:
        busy_snapshot = cpu_snapshot()
        with spinning_core() as spinner:
            busy = bench_pass(names, busy=True, **passes)
        report["busy"] = {"spinner": spinner, "cases": busy["cases"],
                          "reps": min(reps, BUSY_REPS),
                          "gemm_gflops": busy["gemm_gflops"],
                          "other_cpu_load": other_load(busy_snapshot)}
    mem_case = next((n for n in names if CASES[n].large), None)
    if mem_case and not args.no_memory:
        say(f"peak memory ({mem_case})")
        report["memory"] = {"case": mem_case, "results": bench_memory(CASES[mem_case], impls)}
    if not args.no_e2e and "mlpcli" in impls:
        say("mlpcli train end to end")
        report["end_to_end"] = bench_e2e(reps=1 if quick else 3, quick=quick)
        say("start-up")
        report["startup"] = bench_startup()
    if not args.no_reading:
        report["reading"] = bench_reading(quick, reps=1 if quick else 3, say=say)
        notes += report["reading"]["notes"]
    say("report")
    report["machine"] = describe()
    report["settings"]["phase_seconds"] = progress.phases
    report["settings"]["total_seconds"] = time.perf_counter() - started
    other = report["settings"]["other_cpu_load"] = other_load(snapshot)
    if other > 0.1:
        notes.append(f"other processes used {other:.2f} cores on average during the benchmark "
                     f"(of {n_cores()}): the numbers are noisier than on a quiet machine")
    missed = missed_training(report["cases"])
    if args.busy:
        missed += missed_training(report["busy"]["cases"], prefix="busy ")
    missed += [f"end-to-end {name}" for name, r in report.get("end_to_end", {}).items()
               if not r["met"]]
    if report.get("startup") and not report["startup"]["met"]:
        missed.append("start-up")
    missed += [g["name"] for g in report.get("reading", {}).get("goals", []) if not g["met"]]
    report["missed"], report["all_goals_met"] = missed, not missed
    return report


class Progress:
    """A status line on stderr saying what runs now; `phases` collects the seconds each took."""

    def __init__(self, enabled: bool):
        self.phases: dict[str, float] = {}
        self._current, self._since = None, time.perf_counter()
        self._status = None
        if enabled:
            from rich.console import Console

            self._status = Console(stderr=True).status("benchmarking")
            self._status.start()

    def say(self, text: str) -> None:
        self._close_phase()
        self._current = text
        if self._status is not None:
            self._status.update(f"benchmarking: {text}")

    def stop(self) -> None:
        self._close_phase()
        if self._status is not None:
            self._status.stop()

    def _close_phase(self) -> None:
        now = time.perf_counter()
        if self._current is not None:
            self.phases[self._current] = self.phases.get(self._current, 0.0) + now - self._since
        self._current, self._since = None, now


if __name__ == "__main__":
    sys.exit(main())

"""How many BLAS threads training should use: seconds per epoch with 1 thread and with every
core, for networks from small to large (the measurements behind `--threads auto`, see
benchmarks/README.md).

    python benchmarks/threads.py            # a minute or two
    python benchmarks/threads.py --quick    # fewer shapes and repetitions
    python benchmarks/threads.py --busy     # beside a process spinning one core

Each case trains `mlpcli.core.train.Trainer` on random standard-normal data for a few epochs,
interleaving the thread counts over the repetitions (so that a load change on the machine hits
both) and reporting the median, with the count `--threads auto` chooses for the network at that
moment. With --busy a child process spins on one core for the whole run (then is stopped). The
other processes' CPU use and the BLAS are printed with the table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info

from mlpcli.config import Config
from mlpcli.core.kernels import MLP
from mlpcli.core.threads import auto_threads, available_cores, blas_name, layer_work
from mlpcli.core.train import Trainer


def busy_cores(seconds: float) -> float | None:
    """Cores' worth of CPU that other processes use now (this process left out), over
    `seconds`; None without /proc/stat."""
    def cpu_seconds():
        try:
            with open("/proc/stat") as f:
                ticks = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        own = os.times()
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK"), own.user + own.system

    before, start = cpu_seconds(), time.perf_counter()
    if before is None:
        return None
    time.sleep(seconds)
    after, elapsed = cpu_seconds(), time.perf_counter() - start
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / elapsed)


# (rows, layer sizes, batch): from the bundled data's size to MNIST's
CASES = [
    (2000, [2, 32, 1], 32),
    (2000, [64, 128, 10], 32),
    (2000, [64, 256, 10], 128),
    (2000, [256, 256, 256, 10], 32),
    (2000, [512, 256, 10], 32),
    (2000, [784, 512, 10], 128),
    (1000, [1024, 1024, 10], 128),
    (1000, [2048, 2048, 10], 256),
]


def seconds_per_epoch(rows: int, sizes, batch: int, threads: int, epochs: int) -> float:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, sizes[0]))
    Y = rng.standard_normal((rows, sizes[-1]))
    cfg = Config(data="x", hidden=tuple(sizes[1:-1]), batch_size=batch, epochs=epochs,
                 lr=1e-6, patience=0, threads=threads)  # (the trainer applies the count)
    model = MLP.initialized(sizes, "relu", "he", rng)
    trainer = Trainer(model, X, Y, cfg=cfg, rng=rng)
    trainer.cfg = cfg.replace(epochs=1)
    trainer.run()  # warm-up: buffers, BLAS threads started
    trainer.cfg = cfg.replace(epochs=1 + epochs)
    start = time.perf_counter()
    trainer.run()
    return (time.perf_counter() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--busy", action="store_true", help="beside a process spinning one core")
    args = parser.parse_args()
    spinner = None
    if args.busy:
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
    try:
        measure(args)
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()


def measure(args) -> None:
    reps = args.reps or (2 if args.quick else 3)
    cases = CASES[::2] if args.quick else CASES
    cores = available_cores()
    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    print(f"BLAS: {blas_name()} ({blas[0].get('version') if blas else '?'}), "
          f"{cores} cores, other processes using {busy_cores(0.5):.2f} cores at start"
          f"{' (one of them the spinner)' if args.busy else ''}")
    print(f"{'layers':>16} {'batch':>5} {'work':>9} {'1 thread':>10} {f'{cores} threads':>10} "
          f"{'speed-up':>8} {'auto':>5}")
    for rows, sizes, batch in cases:
        epochs = max(1, int(2e8 // (rows * layer_work(sizes))))
        times = {1: [], cores: []}
        for _ in range(reps):
            for n in times:
                times[n].append(seconds_per_epoch(rows, sizes, batch, n, min(epochs, 20)))
        one, many = statistics.median(times[1]), statistics.median(times[cores])
        print(f"{'-'.join(map(str, sizes)):>16} {batch:>5} {layer_work(sizes):>9} "
              f"{one * 1e3:>8.1f}ms {many * 1e3:>8.1f}ms {one / many:>7.2f}× "
              f"{auto_threads(sizes):>5}")
    print(f"other processes using {busy_cores(0.5):.2f} cores at the end")


if __name__ == "__main__":
    main()

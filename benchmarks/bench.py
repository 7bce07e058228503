"""Training throughput of mlpcli against PyTorch, scikit-learn and a plain numpy loop (issue 8).

    python benchmarks/bench.py [--quick] [--json] [--cases xor,moons,digits,mnist,mnist64]
                               [--reps R] [--no-memory] [--no-e2e]

The same work for every implementation: plain minibatch SGD on one hidden ReLU layer, loss
½(ŷ−y)² summed over the minibatch (scikit-learn: its mean, with the learning rate scaled by the
batch so the steps are the same), rows reshuffled every epoch, random data of the case's shape.
Every implementation is set up once per case and then trained for E more epochs per
measurement; measurements are interleaved (rep 1: mlpcli, numpy, torch, sklearn; rep 2: …) and
the median samples/s is reported. E is calibrated during the warm-up so that one measurement
takes ≥ 1 s (≥ 0.2 s with --quick).

Also measured: the peak GEMM rate (→ the matrix-multiply limit for the large cases), peak RSS of
the mnist-shaped case per implementation (each in a fresh subprocess), `mlpcli train` end to end
against the bare Trainer, and the start-up time of `mlpcli --help` / `--version`.
PyTorch and scikit-learn are optional (`pip install -e '.[bench]'`); absent ones are skipped.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent  # the checkout this script belongs to

IMPLS = ("mlpcli", "numpy", "torch", "sklearn")
IMPL_LABELS = {"mlpcli": "mlpcli", "numpy": "numpy loop", "torch": "PyTorch",
               "sklearn": "scikit-learn", "matmuls": "matmuls only"}


@dataclass(frozen=True)
class Case:
    name: str
    rows: int
    n_in: int
    hidden: int
    n_out: int
    batch: int
    dtype: str
    large: bool = False  # matrix-multiply bound: compared against the GEMM limit
    quick_rows: int | None = None  # fewer rows with --quick (throughput is per sample)

    @property
    def shape(self) -> str:
        short = {"float64": "f64", "float32": "f32"}[self.dtype]
        return f"{self.rows}×{self.n_in}→{self.hidden}→{self.n_out} b{self.batch} {short}"

    @property
    def lr(self) -> float:
        """Small enough that SGD with the summed loss never diverges on this data."""
        return 0.1 / (self.batch * (self.n_in + self.hidden))

    @property
    def flops_per_sample(self) -> int:
        """Forward (2 products), ∇W (2 products) and the hidden layer's delta (1 product)."""
        n_in, h, n_out = self.n_in, self.hidden, self.n_out
        return 2 * (n_in * h + h * n_out) * 2 + 2 * h * n_out


CASES = {c.name: c for c in [
    Case("xor", 4, 2, 8, 1, 4, "float64"),
    Case("moons", 10_000, 2, 32, 1, 32, "float64"),
    Case("digits", 1_797, 64, 128, 10, 32, "float64"),
    Case("mnist", 60_000, 784, 512, 10, 128, "float32", large=True, quick_rows=8_192),
    Case("mnist64", 60_000, 784, 512, 10, 128, "float64", large=True, quick_rows=8_192),
]}
FULL_CASES = "xor,moons,digits,mnist,mnist64"
QUICK_CASES = "xor,moons,digits,mnist"

# issue 8's goals: mlpcli's samples/s over each peer's (small cases), or the GEMM limit fraction
GOALS_SMALL = {"torch": 15.0, "sklearn": 10.0, "numpy": 1.5}
GOALS_LARGE = {"torch": 1.3, "gemm": 0.65}
GOAL_E2E = {"digits": 1.1, "xor": 2.0}  # `mlpcli train` per-epoch time ÷ bare Trainer's
GOAL_STARTUP = 3.0  # `mlpcli --help` / `--version` ÷ `python -c "import numpy"`


class BenchError(RuntimeError):
    pass


# --- data -----------------------------------------------------------------------------------

def make_data(case: Case, rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Random C-contiguous (X, Y) of the case's shape and dtype (standard normal)."""
    rng = np.random.default_rng(1)
    rows = rows or case.rows
    X = rng.standard_normal((rows, case.n_in), dtype=case.dtype)
    Y = rng.standard_normal((rows, case.n_out), dtype=case.dtype)
    return X, Y


def available(impl: str) -> str | None:
    """None if `impl` can run here, else why not."""
    install = {  # (a plain `pip install torch` can pull a CUDA build of several GB)
        "torch": "pip install torch --index-url https://download.pytorch.org/whl/cpu",
        "sklearn": "pip install -e '.[bench]'",
    }
    if impl not in install:
        return None
    try:
        __import__(impl)
    except ImportError:
        return f"{impl} is not installed ({install[impl]})"
    return None


def n_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


# --- the implementations: each returns run(epochs), training E more epochs ------------------

def setup_mlpcli(case: Case, X, Y):
    """mlpcli's Trainer, as a library user drives it. One Trainer per case, extended by E
    epochs per measurement (its buffers are then warm, as in any run longer than one epoch)."""
    from mlpcli.config import Config
    from mlpcli.core.kernels import MLP
    from mlpcli.core.train import Trainer

    cfg = Config(hidden=(case.hidden,), lr=case.lr, epochs=1, batch_size=case.batch, patience=0,
                 shuffle=True, dtype=case.dtype, loss="mse", reduction="sum")
    rng = np.random.default_rng(0)
    model = MLP.initialized([case.n_in, case.hidden, case.n_out], "relu", "he", rng, case.dtype)
    trainer = Trainer(model, X, Y, None, None, cfg=cfg, rng=rng, classification=False)

    def run(epochs: int) -> None:
        target = trainer.epoch + epochs
        trainer.cfg = trainer.cfg.replace(epochs=target)
        trainer.history.clear()
        result = trainer.run()
        if result.status != "finished" or result.epochs_run != target:
            raise BenchError(f"mlpcli on {case.name}: {result.status} after {result.epochs_run} "
                             f"of {target} epochs {result.message}")

    return run


def setup_numpy(case: Case, X, Y):
    """The straightforward numpy loop: a fancy-indexed gather per minibatch, new arrays for
    every intermediate, W -= lr * dW."""
    rng = np.random.default_rng(0)
    n_in, h, n_out, B, lr = case.n_in, case.hidden, case.n_out, case.batch, case.lr
    W1 = (rng.standard_normal((h, n_in)) * np.sqrt(2 / n_in)).astype(case.dtype)
    W2 = (rng.standard_normal((n_out, h)) * np.sqrt(2 / h)).astype(case.dtype)
    b1 = np.zeros(h, case.dtype)
    b2 = np.zeros(n_out, case.dtype)
    params, n = (W1, b1, W2, b2), len(X)

    def run(epochs: int) -> None:
        W1, b1, W2, b2 = params  # updated in place below
        for _ in range(epochs):
            perm = rng.permutation(n)
            total = 0.0
            for start in range(0, n, B):
                idx = perm[start : start + B]
                Xb, Yb = X[idx], Y[idx]
                Z = Xb @ W1.T + b1
                H = np.maximum(Z, 0)
                Yhat = H @ W2.T + b2
                G = Yhat - Yb
                total += 0.5 * float(np.sum(G * G))
                dW2 = G.T @ H
                db2 = G.sum(axis=0)
                D = (G @ W2) * (Z > 0)
                dW1 = D.T @ Xb
                db1 = D.sum(axis=0)
                W1 -= lr * dW1
                b1 -= lr * db1
                W2 -= lr * dW2
                b2 -= lr * db2
            if not math.isfinite(total):
                raise BenchError(f"numpy loop on {case.name} diverged")

    return run


def setup_torch(case: Case, X, Y, threads: int | None = None):
    """PyTorch CPU eager: nn.Linear layers, optim.SGD, loss.backward(), slices of a permuted
    tensor as minibatches; `threads` intra-op threads (default: one per core)."""
    import torch

    threads = threads or n_cores()
    torch.manual_seed(0)
    dtype = getattr(torch, case.dtype)
    model = torch.nn.Sequential(
        torch.nn.Linear(case.n_in, case.hidden), torch.nn.ReLU(),
        torch.nn.Linear(case.hidden, case.n_out),
    ).to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=case.lr)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    n, B = len(X), case.batch

    def run(epochs: int) -> None:
        torch.set_num_threads(threads)
        for _ in range(epochs):
            perm = torch.randperm(n)
            Xs, Ys = Xt[perm], Yt[perm]
            total = 0.0
            for start in range(0, n, B):
                xb, yb = Xs[start : start + B], Ys[start : start + B]
                opt.zero_grad()
                loss = 0.5 * ((model(xb) - yb) ** 2).sum()
                loss.backward()
                opt.step()
                total += loss.item()
            if not math.isfinite(total):
                raise BenchError(f"PyTorch on {case.name} diverged")

    return run


def setup_sklearn(case: Case, X, Y):
    """scikit-learn's MLPRegressor, plain SGD; warm_start continues training on every fit."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    est = MLPRegressor(
        hidden_layer_sizes=(case.hidden,), activation="relu", solver="sgd",
        batch_size=case.batch, learning_rate="constant",
        learning_rate_init=case.lr * case.batch,  # its loss is the batch mean
        momentum=0.0, nesterovs_momentum=False, alpha=0.0, max_iter=1, shuffle=True,
        tol=0.0, n_iter_no_change=2**31 - 1, early_stopping=False, warm_start=True,
        random_state=0,
    )
    y = Y.ravel() if case.n_out == 1 else Y

    def run(epochs: int) -> None:
        est.set_params(max_iter=epochs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        if est.n_iter_ != epochs or not math.isfinite(est.loss_):  # (n_iter_ counts this fit)
            raise BenchError(f"scikit-learn on {case.name}: ran {est.n_iter_} of "
                             f"{epochs} epochs, loss {est.loss_}")

    return run


def setup_matmuls(case: Case, X, Y):
    """Not a trainer: only the five matrix products of each training step (forward ×2, ∇W ×2,
    the hidden delta), exactly as mlpcli issues them (same layouts and alignment, same
    np.dot/np.matmul choice), over contiguous minibatches: the time the BLAS needs for these
    shapes at this batch size, a ceiling for any trainer that makes these calls."""
    from mlpcli.core.kernels import MLP, Workspace

    model = MLP.initialized([case.n_in, case.hidden, case.n_out], "relu", "he",
                            np.random.default_rng(0), case.dtype)
    B = case.batch
    ws = Workspace(model.sizes, B, model.dtype)
    (A1, A2), (D,), mm = ws.A, ws.D, ws.mm
    first, W2, dfirst, dW2 = model.first, model.W[1], model.dfirst, model.dW[1]
    X1 = model.training_rows(X)
    batches = [X1[s : s + B] for s in range(0, len(X) - B + 1, B)]  # full batches only

    def run(epochs: int) -> None:
        for _ in range(epochs):
            for X1b in batches:
                mm[0](X1b, first, out=A1)
                mm[1](A1, W2.T, out=A2)
                mm[1](A2.T, A1, out=dW2)
                mm[1](A2, W2, out=D)
                mm[0](X1b.T, D, out=dfirst)

    return run


SETUPS = {"mlpcli": setup_mlpcli, "numpy": setup_numpy, "torch": setup_torch,
          "sklearn": setup_sklearn, "matmuls": setup_matmuls}


# --- measuring ------------------------------------------------------------------------------

def measure(run, epochs: int, rows: int) -> float:
    """Samples per second of training `epochs` epochs of `rows` rows."""
    t0 = time.perf_counter()
    run(epochs)
    return epochs * rows / (time.perf_counter() - t0)


def calibrate(run, rows: int, target: float) -> int:
    """Warm up, doubling the epochs until a run is long enough to extrapolate; the number of
    epochs one measurement of ≥ `target` seconds needs."""
    epochs = 1
    while True:
        t0 = time.perf_counter()
        run(epochs)
        seconds = time.perf_counter() - t0
        if seconds >= target / 4:
            return max(1, math.ceil(epochs * target / seconds))
        epochs *= 2


def best_torch(case: Case, X, Y, rows: int, target: float):
    """PyTorch with 1 thread and with one per core: (run, epochs, threads) of the faster one.

    On small networks its intra-op threads can cost more than they bring (on a 2-core VM, 2
    threads made the digits case up to 10× slower than 1): the peer gets its best setting."""
    best = None
    for threads in sorted({1, n_cores()}):
        run = setup_torch(case, X, Y, threads)
        epochs = calibrate(run, rows, target)
        rate = measure(run, epochs, rows)
        if best is None or rate > best[0]:
            best = (rate, run, epochs, threads)
    return best[1:]


def bench_case(case: Case, impls: list[str], reps: int, target: float, quick: bool,
               torch_threads_fixed: bool = False, gemm_sizes=(2048,)) -> dict:
    rows = case.quick_rows if quick and case.quick_rows else case.rows
    X, Y = make_data(case, rows)
    if "matmuls" not in impls:  # the ceiling, for every case
        impls = [*impls, "matmuls"]
    runs, epochs, torch_threads = {}, {}, None
    for impl in impls:
        if impl == "torch" and not torch_threads_fixed:
            runs[impl], epochs[impl], torch_threads = best_torch(case, X, Y, rows, target)
        else:
            runs[impl] = SETUPS[impl](case, X, Y)
            epochs[impl] = calibrate(runs[impl], rows, target)
    gemm = setup_gemm(case.dtype, gemm_sizes) if case.large else None
    samples = {impl: [] for impl in impls}
    gemm_rates = {n: [] for n in gemm_sizes}
    for _ in range(reps):  # interleaved: every rep measures every implementation once
        for impl in impls:
            samples[impl].append(measure(runs[impl], epochs[impl], rows))
        if gemm is not None:
            for n, rate in gemm().items():
                gemm_rates[n].append(rate)
    del runs, X, Y
    return {
        "shape": case.shape, "rows": rows, "batch": case.batch, "dtype": case.dtype,
        "flops_per_sample": case.flops_per_sample, "epochs_per_measurement": epochs,
        "torch_threads": torch_threads or (n_cores() if "torch" in impls else None),
        "samples_per_s": {impl: statistics.median(v) for impl, v in samples.items()},
        "all_samples_per_s": samples,
        "gemm_gflops_by_size": {n: max(v) for n, v in gemm_rates.items()} if gemm else None,
    }


def setup_gemm(dtype: str, sizes: tuple[int, ...]):
    """A function measuring one n×n @ n×n product per size: {n: GFLOP/s}, numpy's BLAS with
    all its threads. Several sizes, because one size can hit a slow path (e.g. power-of-two
    strides), and measured in every rep of the large cases: the peak is the best of them all."""
    rng = np.random.default_rng(2)
    mats = {}
    for n in sizes:
        A = rng.standard_normal((n, n), dtype=dtype)
        B = rng.standard_normal((n, n), dtype=dtype)
        mats[n] = (A, B, np.empty((n, n), dtype))
        np.matmul(A, B, out=mats[n][2])  # warm-up

    def run() -> dict[int, float]:
        rates = {}
        for n, (A, B, C) in mats.items():
            t0 = time.perf_counter()
            np.matmul(A, B, out=C)
            rates[n] = 2 * n**3 / (time.perf_counter() - t0) / 1e9
        return rates

    return run


def add_ratios(result: dict, case: Case, gemm: dict[str, float]) -> None:
    """mlpcli ÷ each peer, the GEMM limit, and each goal with whether it is met."""
    sps = result["samples_per_s"]
    ours = sps.get("mlpcli")
    result["ratios"] = {p: ours / sps[p] for p in sps if p != "mlpcli" and ours}
    goals = {}
    if case.large:
        limit = gemm[case.dtype] * 1e9 / case.flops_per_sample
        result["gemm_limit_samples_per_s"] = limit
        if ours:
            result["ratios"]["gemm"] = ours / limit
        targets = GOALS_LARGE
    else:
        targets = GOALS_SMALL
    for peer, goal in targets.items():
        if peer in result["ratios"]:
            value = result["ratios"][peer]
            goals[peer] = {"value": value, "goal": goal, "met": value >= goal}
    result["goals"] = goals


# --- peak memory (a fresh process per implementation) -----------------------------------------

def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise BenchError(f"no {field} in /proc/self/status")


def child_memory(impl: str, case_name: str) -> None:
    """--child: train one epoch of the full-size case and print RSS figures as JSON."""
    case = CASES[case_name]
    if impl in ("torch", "sklearn"):
        __import__({"torch": "torch", "sklearn": "sklearn.neural_network"}[impl])
    else:
        import mlpcli.core.train  # noqa: F401
    baseline = _status_mib("VmRSS")  # interpreter and libraries, before any data
    X, Y = make_data(case)
    run = SETUPS[impl](case, X, Y, **({"threads": 1} if impl == "torch" else {}))
    run(1)
    print(json.dumps({"baseline_mib": baseline, "peak_mib": _status_mib("VmHWM"),
                      "data_mib": (X.nbytes + Y.nbytes) / 2**20}))


def bench_memory(case: Case, impls: list[str]) -> dict:
    """Peak RSS per implementation, each in its own process (run side by side, one thread
    each: only the memory counts here)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    procs = {impl: subprocess.Popen([sys.executable, __file__, "--child", f"{impl}:{case.name}"],
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


# --- end to end: `mlpcli train` against the bare Trainer; start-up time -----------------------

def write_digits_csv(path: Path) -> None:
    """A digits-shaped CSV: 1797 rows of 64 random features and an integer class 0..9."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((1797, 64))
    y = rng.integers(0, 10, 1797)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"f{i}" for i in range(64)] + ["digit"])
        for row, label in zip(X, y):
            w.writerow([f"{v:.6g}" for v in row] + [int(label)])


def per_epoch(seconds: list[float]) -> float:
    """Seconds per epoch from the cumulative `seconds` column, leaving out the first epoch."""
    return (seconds[-1] - seconds[0]) / (len(seconds) - 1)


def mlpcli_command() -> list[str]:
    script = Path(sys.executable).parent / "mlpcli"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mlpcli"]


def e2e_cli(data: str, opts: list[str], runs_dir: Path, quiet: bool) -> float:
    """Per-epoch seconds of `mlpcli train`, from its metrics.csv."""
    before = set(runs_dir.iterdir()) if runs_dir.exists() else set()
    cmd = [*mlpcli_command(), "train", data, *opts, "--runs-dir", str(runs_dir)]
    proc = subprocess.run(cmd + (["--quiet"] if quiet else []), capture_output=True, text=True)
    if proc.returncode:
        raise BenchError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    (run_dir,) = set(runs_dir.iterdir()) - before
    with open(run_dir / "metrics.csv") as f:
        return per_epoch([float(r["seconds"]) for r in csv.DictReader(f)])


def e2e_bare(cfg) -> float:
    """Per-epoch seconds of the bare Trainer on the arrays `mlpcli train` would build."""
    from mlpcli.experiment import prepare

    trainer, _ = prepare(cfg)
    result = trainer.run()
    if result.status != "finished":
        raise BenchError(f"bare Trainer on {cfg.data}: {result.status} {result.message}")
    return per_epoch([r.seconds for r in result.history])


def bench_e2e(reps: int, quick: bool) -> dict:
    from mlpcli.config import Config

    out = {}
    with tempfile.TemporaryDirectory(prefix="mlpcli-bench-") as tmp:
        tmp = Path(tmp)
        digits = tmp / "digits_shaped.csv"
        write_digits_csv(digits)
        setups = {  # case: (data, hidden, batch, epochs)
            "digits": (str(digits), 128, 32, 60 if quick else 300),
            "xor": ("xor", 8, 4, 5_000 if quick else 40_000),
        }
        for name, (data, hidden, batch, epochs) in setups.items():
            lr = 1e-4
            opts = ["--hidden", str(hidden), "--batch-size", str(batch), "--epochs", str(epochs),
                    "--patience", "0", "--val-frac", "0", "--lr", str(lr)]
            cfg = Config(data=data, hidden=(hidden,), batch_size=batch, epochs=epochs,
                         patience=0, val_frac=0.0, lr=lr)
            times = {"bare": [], "quiet": [], "display": []}
            for _ in range(reps):
                times["bare"].append(e2e_bare(cfg))
                times["quiet"].append(e2e_cli(data, opts, tmp / "runs", quiet=True))
                times["display"].append(e2e_cli(data, opts, tmp / "runs", quiet=False))
            med = {k: statistics.median(v) for k, v in times.items()}
            out[name] = {
                "epochs": epochs, "seconds_per_epoch": med,
                "ratio_quiet": med["quiet"] / med["bare"],
                "ratio_display": med["display"] / med["bare"],
                "goal": GOAL_E2E[name],
                "met": max(med["quiet"], med["display"]) / med["bare"] <= GOAL_E2E[name],
            }
    return out


def bench_startup(reps: int = 5) -> dict:
    commands = {
        "mlpcli --help": [*mlpcli_command(), "--help"],
        "mlpcli --version": [*mlpcli_command(), "--version"],
        "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
    }
    times = {k: [] for k in commands}
    for _ in range(reps):
        for name, cmd in commands.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["python -c 'import numpy'"]
    return {
        "seconds": med,
        "ratios": {k: v / base for k, v in med.items() if k.startswith("mlpcli")},
        "goal": GOAL_STARTUP,
        "met": all(v / base <= GOAL_STARTUP for k, v in med.items() if k.startswith("mlpcli")),
    }


# --- other work on the machine -----------------------------------------------------------------

def cpu_snapshot() -> tuple[float, float, float]:
    """(busy CPU seconds of the whole machine, of this process and its children, wall time)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    t = os.times()
    own = t.user + t.system + t.children_user + t.children_system
    return busy / os.sysconf("SC_CLK_TCK"), own, time.perf_counter()


def other_load(since: tuple[float, float, float]) -> float:
    """Cores' worth of CPU used by other processes since the snapshot `since`."""
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


# --- machine ----------------------------------------------------------------------------------

def machine() -> dict:
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
    for name, module in (("torch", "torch"), ("sklearn", "sklearn")):
        try:
            info[name] = __import__(module).__version__
        except ImportError:
            info[name] = None
    try:
        from mlpcli import __version__

        info["mlpcli"] = __version__
    except ImportError:
        info["mlpcli"] = None
    return info


# --- report -----------------------------------------------------------------------------------

def fmt_rate(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.1f} k"


def fmt_goal(value: float, goal: float, met: bool, pct: bool = False, le: bool = False) -> str:
    """A ratio and whether it meets its goal (≥ goal, or ≤ goal with `le`)."""
    mark = "[green]✓[/]" if met else "[red]✗[/]"
    return f"{value:.0%} {mark}" if pct else f"{value:.2f}× {mark}"


def print_report(report: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # a file or pipe: wide enough for every column
        console = Console(width=200)
    m = report["machine"]
    console.print(f"[bold]machine[/]: {m['cpu']} · {m['cores']} cores · Python {m['python']} · "
                  f"numpy {m['numpy']} ({m['blas']}) · torch {m['torch'] or 'absent'} · "
                  f"scikit-learn {m['sklearn'] or 'absent'} · mlpcli {m['mlpcli']}")
    s = report["settings"]
    console.print(f"mode {'quick' if s['quick'] else 'full'} · {s['reps']} interleaved reps · "
                  f"≥ {s['target_seconds']} s per measurement · median samples/s")
    for note in report["notes"]:
        console.print(f"[yellow]note[/]: {escape(note)}")

    gemm = report["gemm_gflops"]
    if gemm:
        sizes = ", ".join(map(str, s["gemm_sizes"]))
        console.print(f"peak GEMM (best n×n @ n×n over n = {sizes} and every rep): "
                      + " · ".join(f"{dt} {v:.1f} GFLOP/s" for dt, v in gemm.items()))

    impls = report["impls"]
    peers = [p for p in ("numpy", "torch", "sklearn") if p in impls]
    table = Table(title="training throughput: median samples/s; ratios are mlpcli ÷ peer",
                  caption="goals: small cases ≥ 1.5× numpy loop, ≥ 15× PyTorch, ≥ 10× "
                  "scikit-learn; large cases ≥ 1.3× PyTorch and ≥ 65% of the GEMM limit")
    table.add_column("case")
    table.add_column("shape", no_wrap=True)
    shown = [impl for impl in impls if impl != "matmuls"]  # (matmuls has its own column)
    for impl in shown:
        table.add_column(IMPL_LABELS[impl], justify="right")
    table.add_column("matmuls only", justify="right")
    table.add_column("GEMM limit", justify="right")
    for peer in peers:
        table.add_column(f"÷ {IMPL_LABELS[peer]}", justify="right")
    table.add_column("of matmuls", justify="right")
    table.add_column("of limit", justify="right")
    for name, r in report["cases"].items():
        shape = r["shape"] + (f" ({r['rows']} rows)" if r["rows"] != CASES[name].rows else "")
        row = [name, shape]
        for impl in shown:
            cell = fmt_rate(r["samples_per_s"].get(impl))
            if impl == "torch" and r.get("torch_threads"):
                cell += f" ({r['torch_threads']}t)"
            row.append(cell)
        row.append(fmt_rate(r["samples_per_s"].get("matmuls")))
        row.append(fmt_rate(r.get("gemm_limit_samples_per_s")))
        for peer in peers:
            if peer in r["goals"]:
                g = r["goals"][peer]
                row.append(fmt_goal(g["value"], g["goal"], g["met"]))
            else:
                row.append(f"{r['ratios'][peer]:.2f}×" if peer in r["ratios"] else "—")
        frac = r["ratios"].get("matmuls")
        row.append(f"{frac:.0%}" if frac else "—")
        g = r["goals"].get("gemm")
        row.append(fmt_goal(g["value"], g["goal"], g["met"], pct=True) if g else "—")
        table.add_row(*row)
    console.print(table)

    if report.get("memory"):
        mem = report["memory"]
        t = Table(title=f"peak memory, {mem['case']} case, one epoch in a fresh process (MiB)")
        for col in ("implementation", "data X+Y", "after imports", "peak RSS", "increase",
                    "increase ÷ data"):
            t.add_column(col, justify="left" if col == "implementation" else "right")
        for impl, r in mem["results"].items():
            t.add_row(IMPL_LABELS[impl], f"{r['data_mib']:.0f}", f"{r['baseline_mib']:.0f}",
                      f"{r['peak_mib']:.0f}", f"{r['increase_mib']:.0f}",
                      f"{r['increase_per_data']:.2f}×")
        console.print(t)

    if report.get("end_to_end"):
        t = Table(title="`mlpcli train` end to end vs the bare Trainer (per-epoch seconds)")
        for col in ("case", "epochs", "bare Trainer", "train --quiet", "train (display)",
                    "quiet ÷ bare", "display ÷ bare"):
            t.add_column(col, justify="left" if col == "case" else "right")
        for name, r in report["end_to_end"].items():
            sec = r["seconds_per_epoch"]
            t.add_row(name, str(r["epochs"]), *(f"{sec[k] * 1e3:.3f} ms" for k in
                                                 ("bare", "quiet", "display")),
                      fmt_goal(r["ratio_quiet"], r["goal"], r["ratio_quiet"] <= r["goal"],
                               le=True),
                      fmt_goal(r["ratio_display"], r["goal"], r["ratio_display"] <= r["goal"],
                               le=True))
        console.print(t)

    if report.get("startup"):
        st = report["startup"]
        t = Table(title="start-up (median of 5 runs)")
        for col in ("command", "seconds", "÷ import numpy"):
            t.add_column(col, justify="left" if col == "command" else "right")
        for cmd, sec in st["seconds"].items():
            ratio = st["ratios"].get(cmd)
            t.add_row(cmd, f"{sec:.3f}",
                      fmt_goal(ratio, st["goal"], ratio <= st["goal"], le=True) if ratio else "1")
        console.print(t)

    verdict = "[green]every goal met[/]" if report["all_goals_met"] else "[red]goals missed[/]"
    console.print(f"{verdict}: " + ", ".join(report["missed"]) if report["missed"] else verdict)


# --- main -------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (under a minute)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cases", help=f"comma-separated, of: {','.join(CASES)} "
                        f"[default: {FULL_CASES}; --quick: {QUICK_CASES}]")
    parser.add_argument("--impls", default=",".join(IMPLS), help="implementations to run")
    parser.add_argument("--reps", type=int, help="interleaved repetitions [5; --quick: 3]")
    parser.add_argument("--torch-threads", choices=("best", "cores"), default="best",
                        help="PyTorch threads: the faster of 1 and one per core, or one per core")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="first wait up to this long for other processes to go quiet")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS children")
    parser.add_argument("--no-e2e", action="store_true",
                        help="skip `mlpcli train` end to end and start-up")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_memory(*args.child.split(":"))
        return 0

    quick = args.quick
    names = (args.cases or (QUICK_CASES if quick else FULL_CASES)).split(",")
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
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
        notes.append("--quick: large cases use fewer rows; shorter measurements, fewer reps")
    imported = Path(importlib.util.find_spec("mlpcli").origin).parent
    if imported != ROOT / "mlpcli":  # e.g. a non-editable install left by .ci/run
        notes.append(f"timing the mlpcli installed at {imported}, not this checkout's "
                     f"(pip install -e . to time the checkout)")

    status = None if args.json else _progress()
    phases = {}
    started = time.perf_counter()
    if args.wait_idle:
        _say(status, "waiting for the machine to go quiet", phases)
        wait_idle(args.wait_idle)
    snapshot = cpu_snapshot()
    cases = {}
    for name in names:
        _say(status, f"case {name}", phases)
        cases[name] = bench_case(CASES[name], impls, reps, target, quick,
                                 torch_threads_fixed=args.torch_threads == "cores",
                                 gemm_sizes=gemm_sizes)
    gemm = {}  # the peak GEMM rate per dtype: the best product of any size in any rep
    for r in cases.values():
        if r["gemm_gflops_by_size"]:
            gemm[r["dtype"]] = max(gemm.get(r["dtype"], 0.0), *r["gemm_gflops_by_size"].values())
    for name in names:
        add_ratios(cases[name], CASES[name], gemm)

    report = {
        "machine": machine(),
        "settings": {"quick": quick, "reps": reps, "target_seconds": target,
                     "gemm_sizes": gemm_sizes},
        "impls": impls, "notes": notes, "gemm_gflops": gemm, "cases": cases,
    }
    mem_case = next((n for n in names if CASES[n].large), None)
    if mem_case and not args.no_memory:
        _say(status, f"peak memory ({mem_case})", phases)
        report["memory"] = {"case": mem_case,
                            "results": bench_memory(CASES[mem_case], impls)}
    if not args.no_e2e and "mlpcli" in impls:
        _say(status, "mlpcli train end to end", phases)
        report["end_to_end"] = bench_e2e(reps=1 if quick else 3, quick=quick)
        _say(status, "start-up", phases)
        report["startup"] = bench_startup()
    _say(status, "report", phases)
    report["settings"]["phase_seconds"] = {k: v for k, v in phases.items()
                                           if not k.startswith("_")}
    report["settings"]["total_seconds"] = time.perf_counter() - started
    other = report["settings"]["other_cpu_load"] = other_load(snapshot)
    if other > 0.1:
        notes.append(f"other processes used {other:.2f} cores on average during the benchmark "
                     f"(of {n_cores()}): the numbers are noisier than on a quiet machine")

    missed = [f"{name} {peer}" for name, r in cases.items()
              for peer, g in r["goals"].items() if not g["met"]]
    missed += [f"end-to-end {name}" for name, r in report.get("end_to_end", {}).items()
               if not r["met"]]
    if report.get("startup") and not report["startup"]["met"]:
        missed.append("start-up")
    report["missed"], report["all_goals_met"] = missed, not missed
    if status is not None:
        status.stop()

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def _progress():
    from rich.console import Console

    status = Console(stderr=True).status("benchmarking")
    status.start()
    return status


def _say(status, text: str, phases: dict) -> None:
    """Show what runs now; `phases` collects the seconds since the previous call, by phase."""
    now = time.perf_counter()
    if phases.get("_last"):
        phases[phases["_current"]] = now - phases["_last"]
    phases["_last"], phases["_current"] = now, text
    if status is not None:
        status.update(f"benchmarking: {text}")


if __name__ == "__main__":
    sys.exit(main())

"""Training throughput: the cases, the implementations trained on them, and how one pass over
the cases is measured (calibrated, interleaved, median) and judged against the goals."""

from __future__ import annotations

import math
import statistics
import time
import warnings
from dataclasses import dataclass

import numpy as np
from machine import n_cores

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

# issue 17's goals on a quiet machine: mlpcli's samples/s over each peer's, or as a fraction of
# "matmuls only" (the step's matrix products alone, the ceiling of any trainer making them)
GOALS = {
    "xor": {"torch": 15.0, "sklearn": 10.0, "numpy": 1.5},
    "moons": {"torch": 15.0, "sklearn": 10.0, "numpy": 1.5},
    "digits": {"matmuls": 0.65},
    "mnist": {"torch": 1.3, "matmuls": 0.85},
    "mnist64": {"torch": 1.2},
}
# … and with one core kept busy (--busy), on every case
BUSY_GOALS = {"numpy": 1.0, "torch": 1.0}
BUSY_REPS = 3  # at most, in the busy pass


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


# --- the implementations: each returns run(epochs), training E more epochs ------------------

def setup_mlpcli(case: Case, X, Y):
    """mlpcli's Trainer, as `mlpcli train` drives it: under the BLAS thread count of its
    `--threads` default (auto), recorded in `run.threads`. One Trainer per case, extended by E
    epochs per measurement (its buffers are then warm, as in any run longer than one epoch)."""
    from mlpcli.config import Config
    from mlpcli.core.kernels import MLP
    from mlpcli.core.threads import blas_threads
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
        with blas_threads(cfg.threads, model.sizes) as threads:
            result = trainer.run()
        run.threads = threads["threads"]
        if result.status != "finished" or result.epochs_run != target:
            raise BenchError(f"mlpcli on {case.name}: {result.status} after {result.epochs_run} "
                             f"of {target} epochs {result.message}")

    return run


def setup_numpy(case: Case, X, Y):
    """The straightforward numpy loop: a fancy-indexed gather per minibatch, new arrays for
    every intermediate, W -= lr * dW; numpy's BLAS with its default threads."""
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
        # (n_iter_ counts this fit; it stops early, without a loss_, on Ctrl-C)
        loss = getattr(est, "loss_", math.nan)
        if est.n_iter_ != epochs or not math.isfinite(loss):
            raise BenchError(f"scikit-learn on {case.name}: ran {est.n_iter_} of "
                             f"{epochs} epochs, loss {loss}")

    return run


def setup_matmuls(case: Case, X, Y):
    """Not a trainer: only the five matrix products of each training step (forward ×2, ∇W ×2,
    the hidden delta), exactly as mlpcli issues them (same layouts and alignment, same
    np.dot/np.matmul choice, same BLAS threads), over contiguous minibatches: the time the BLAS
    needs for these shapes at this batch size, a ceiling for any trainer that makes these calls."""
    from mlpcli.config import Config
    from mlpcli.core.kernels import MLP, Workspace
    from mlpcli.core.threads import blas_threads

    model = MLP.initialized([case.n_in, case.hidden, case.n_out], "relu", "he",
                            np.random.default_rng(0), case.dtype)
    B = case.batch
    ws = Workspace(model.sizes, B, model.dtype)
    (A1, A2), (D,), mm = ws.A, ws.D, ws.mm
    first, W2, dfirst, dW2 = model.first, model.W[1], model.dfirst, model.dW[1]
    X1 = model.training_rows(X)
    batches = [X1[s : s + B] for s in range(0, len(X) - B + 1, B)]  # full batches only

    def run(epochs: int) -> None:
        with blas_threads(Config().threads, model.sizes):
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


def calibrate(run, target: float) -> int:
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
        epochs = calibrate(run, target)
        rate = measure(run, epochs, rows)
        if best is None or rate > best[0]:
            best = (rate, run, epochs, threads)
    return best[1:]


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


def bench_case(case: Case, impls: list[str], reps: int, target: float, few_rows: bool,
               torch_threads_fixed: bool = False, gemm_sizes=(2048,)) -> dict:
    rows = case.quick_rows if few_rows and case.quick_rows else case.rows
    X, Y = make_data(case, rows)
    if "matmuls" not in impls:  # the ceiling, for every case
        impls = [*impls, "matmuls"]
    runs, epochs, torch_threads = {}, {}, None
    for impl in impls:
        if impl == "torch" and not torch_threads_fixed:
            runs[impl], epochs[impl], torch_threads = best_torch(case, X, Y, rows, target)
        else:
            runs[impl] = SETUPS[impl](case, X, Y)
            epochs[impl] = calibrate(runs[impl], target)
    gemm = setup_gemm(case.dtype, gemm_sizes) if case.large else None
    samples = {impl: [] for impl in impls}
    gemm_rates = {n: [] for n in gemm_sizes}
    for _ in range(reps):  # interleaved: every rep measures every implementation once
        for impl in impls:
            samples[impl].append(measure(runs[impl], epochs[impl], rows))
        if gemm is not None:
            for n, rate in gemm().items():
                gemm_rates[n].append(rate)
    return {
        "shape": case.shape, "rows": rows, "batch": case.batch, "dtype": case.dtype,
        "flops_per_sample": case.flops_per_sample, "epochs_per_measurement": epochs,
        "torch_threads": torch_threads or (n_cores() if "torch" in impls else None),
        "mlpcli_threads": getattr(runs.get("mlpcli"), "threads", None),
        "samples_per_s": {impl: statistics.median(v) for impl, v in samples.items()},
        "all_samples_per_s": samples,
        "gemm_gflops_by_size": {n: max(v) for n, v in gemm_rates.items()} if gemm else None,
    }


def add_ratios(result: dict, case: Case, gemm: dict[str, float], goals: dict) -> None:
    """mlpcli ÷ each peer (and ÷ the ceilings), the GEMM limit, and each of `goals` (peer:
    least ratio) with whether it is met."""
    sps = result["samples_per_s"]
    ours = sps.get("mlpcli")
    result["ratios"] = {p: ours / sps[p] for p in sps if p != "mlpcli" and ours}
    if case.large and case.dtype in gemm:
        limit = gemm[case.dtype] * 1e9 / case.flops_per_sample
        result["gemm_limit_samples_per_s"] = limit
        if ours:
            result["ratios"]["gemm"] = ours / limit
    result["goals"] = {peer: {"value": result["ratios"][peer], "goal": goal,
                              "met": result["ratios"][peer] >= goal}
                       for peer, goal in goals.items() if peer in result["ratios"]}


def bench_pass(names: list[str], impls: list[str], reps: int, target: float, quick: bool,
               torch_threads_fixed: bool, gemm_sizes: tuple[int, ...], busy: bool,
               say) -> dict:
    """Every case in `names` measured one after the other, then judged against GOALS (or
    BUSY_GOALS with `busy`); `say(text)` tells which case runs.

    The busy pass trains the large cases on their quick rows and measures at most BUSY_REPS
    times: the peers that collapse under load would otherwise take 10–30 s an epoch, and a
    measurement is never less than one epoch."""
    cases = {}
    for name in names:
        say(f"case {name}" + (" (busy)" if busy else ""))
        cases[name] = bench_case(CASES[name], impls, min(reps, BUSY_REPS) if busy else reps,
                                 target, quick or busy, torch_threads_fixed=torch_threads_fixed,
                                 gemm_sizes=gemm_sizes)
    gemm = peak_gemm(cases)
    for name in names:
        add_ratios(cases[name], CASES[name], gemm, BUSY_GOALS if busy else GOALS[name])
    return {"gemm_gflops": gemm, "cases": cases}


def peak_gemm(cases: dict) -> dict[str, float]:
    """The peak GEMM rate per dtype: the best product of any size in any rep of any case."""
    gemm = {}
    for r in cases.values():
        if r["gemm_gflops_by_size"]:
            gemm[r["dtype"]] = max(gemm.get(r["dtype"], 0.0), *r["gemm_gflops_by_size"].values())
    return gemm


def missed_goals(cases: dict, prefix: str = "") -> list[str]:
    return [f"{prefix}{name} {peer}" for name, r in cases.items()
            for peer, g in r["goals"].items() if not g["met"]]

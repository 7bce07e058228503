"""Where a training step's time goes: µs per minibatch step of each part of mlpcli's step,
measured in one run on the trainer's own buffers.

    python benchmarks/step_profile.py                    # digits, then mnist-shaped float32
    python benchmarks/step_profile.py --cases xor,digits --reps 7 --threads 1

The parts are the calls `MLP.loss_grad` and the trainer make, each issued alone over one epoch's
minibatches (the same views, the same order) and timed per epoch:

    products     the matrix products (forward, ∇W, the hidden deltas), as loss_grad issues them
    activation   σ applied in place to the hidden pre-activations
    bias         + b_l on the later layers' outputs (layer 1's bias rides in its product)
    loss         the loss and its output gradient G
    scale        G ×= ε (plain SGD folds the learning rate there) or 1/n
    bias grads   ∇b_l = 1ᵀ G_l on the later layers
    σ' mask      Δ ⊙= σ'(Z) from the activation
    update       the optimizer's update of θ
    shuffle      drawing the epoch's order and gathering the rows (per step: ÷ steps per epoch)

and the whole step as the trainer runs it (`Trainer.run`, per-epoch bookkeeping included). The
rest, whole − Σ parts, is the Python around the calls: the loop, the argument passing, the
epoch's bookkeeping. Every figure is the median of interleaved repetitions; compare figures of
one run only (the machine's load is printed with them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from mlpcli.config import Config
from mlpcli.core.kernels import MLP
from mlpcli.core.train import Trainer

# name -> (rows, layer sizes, batch, dtype): the shapes of benchmarks/bench.py's cases
CASES = {
    "xor": (4, [2, 8, 1], 4, "float64"),
    "moons": (10_000, [2, 32, 1], 32, "float64"),
    "digits": (1_797, [64, 128, 10], 32, "float64"),
    "mnist": (60_000, [784, 512, 10], 128, "float32"),
    "mnist64": (60_000, [784, 512, 10], 128, "float64"),
}


def make_trainer(rows: int, sizes, batch: int, dtype: str) -> Trainer:
    """bench.py's mlpcli setup: plain SGD, summed mse, shuffled, random standard-normal data."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((rows, sizes[0]), dtype=dtype)
    Y = rng.standard_normal((rows, sizes[-1]), dtype=dtype)
    lr = 0.1 / (batch * (sizes[0] + sizes[1]))
    cfg = Config(hidden=tuple(sizes[1:-1]), lr=lr, epochs=1, batch_size=batch, patience=0,
                 dtype=dtype)
    rng = np.random.default_rng(0)
    model = MLP.initialized(sizes, "relu", "he", rng, dtype)
    return Trainer(model, X, Y, cfg=cfg, rng=rng)


def parts(trainer: Trainer) -> dict:
    """({part: function(E) running that part for every minibatch of E epochs}, a function
    putting θ back as it was, steps per epoch)."""
    model, plan = trainer.model, trainer.plan
    ws, L = plan.ws, model.n_layers
    W, WT, b, dW, db = model.W, model.WT, model.b, model.dW, model.db
    act, act_grad, mm = model._act, model._act_grad, ws.mm
    grad_scale, update = trainer.optimizer.updates(trainer.learning_rate.at(1))
    steps = [(Xb, Yb, scale * grad_scale, ws.views(len(Xb)), gather)
             for Xb, Yb, _, scale, _, gather, _ in plan.batches]

    def products():
        for Xb, _, _, (A, D, _, _, G, _), _ in steps:
            mm[0](Xb, model.first, out=A[0])
            for l in range(1, L):
                mm[l](A[l - 1], WT[l], out=A[l])
            for l in range(L - 1, 0, -1):
                mm[l](G.T, A[l - 1], out=dW[l])
                mm[l](G, W[l], out=D[l - 1])
                G = D[l - 1]
            mm[0](Xb.T, G, out=model.dfirst)

    def activation():
        for _, _, _, (A, _, _, zeros, _, _), _ in steps:
            for l in range(L - 1):
                act(A[l], zeros[l])

    def bias():
        for _, _, _, (A, _, _, _, _, _), _ in steps:
            for l in range(1, L):
                A[l] += b[l]

    def loss():
        fn = trainer.loss_grad_fn
        for _, Yb, _, (A, _, _, _, G, _), _ in steps:
            fn(A[-1], Yb, G, None, None)

    def scale():
        for _, _, s, (_, _, _, _, G, _), _ in steps:
            G *= s

    def bias_grads():
        for _, _, _, (_, _, _, _, G, ones), _ in steps:
            for l in range(L - 1, 0, -1):
                np.dot(ones, G, out=db[l])

    def mask():
        for _, _, _, (A, D, T, _, _, _), _ in steps:
            for l in range(L - 1, 0, -1):
                act_grad(A[l - 1], D[l - 1], T[l - 1])

    def updates():
        for _ in steps:
            update()

    def shuffle():
        plan.reshuffle(trainer.rng)
        for Xb, _, _, _, gather in steps:
            if gather is not None:
                np.take(plan.rows, gather, axis=0, out=Xb, mode="clip")

    def whole(epochs):  # (one run of many epochs, as bench.py measures)
        trainer.cfg = trainer.cfg.replace(epochs=trainer.epoch + epochs)
        trainer.history.clear()
        trainer.run()

    theta0 = model.theta.copy()

    def restore():  # the parts leave θ and the buffers in any state: start every rep alike
        np.copyto(model.theta, theta0)

    def epochs_of(one_epoch):
        def run(epochs):
            for _ in range(epochs):
                one_epoch()
        return run

    runs = {"products": products, "activation": activation, "bias": bias, "loss": loss,
            "scale": scale, "bias grads": bias_grads, "σ' mask": mask, "update": updates,
            "shuffle": shuffle}
    return {**{k: epochs_of(f) for k, f in runs.items()}, "whole step": whole}, restore, len(steps)


def profile(name: str, reps: int, target: float, clock=time.perf_counter) -> dict:
    rows, sizes, batch, dtype = CASES[name]
    trainer = make_trainer(rows, sizes, batch, dtype)
    runs, restore, steps = parts(trainer)
    epochs = {}
    for part, run in runs.items():  # warm-up, and epochs per measurement of ≥ target seconds
        restore()
        t0 = clock()
        run(1)
        epochs[part] = max(1, round(target / max(clock() - t0, 1e-6)))
    times = {part: [] for part in runs}
    for _ in range(reps):  # interleaved
        for part, run in runs.items():
            restore()
            t0 = clock()
            run(epochs[part])
            times[part].append((clock() - t0) / (epochs[part] * steps) * 1e6)
    return {"steps": steps, "us": {p: statistics.median(v) for p, v in times.items()}}


def report(name: str, result: dict) -> None:
    us = result["us"]
    whole = us.pop("whole step")
    rest = whole - sum(us.values())
    rows, sizes, batch, dtype = CASES[name]
    print(f"\n{name}: {rows} rows, layers {'-'.join(map(str, sizes))}, batch {batch}, {dtype}, "
          f"{result['steps']} steps per epoch")
    print(f"  {'part':<22}{'µs/step':>9}{'of step':>9}")
    for part, v in [*us.items(), ("Python and bookkeeping", rest), ("whole step", whole)]:
        print(f"  {part:<22}{v:>9.2f}{v / whole:>9.0%}")
    print(f"  whole step ÷ products alone: {us['products'] / whole:.0%} "
          f"(bench.py's 'of matmuls')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="digits,mnist", help=f"of: {','.join(CASES)}")
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions")
    parser.add_argument("--seconds", type=float, default=0.3, help="per measurement")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (default: the BLAS's own, as bench.py runs mlpcli)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time by this process's CPU time, not the wall clock: steadier on a "
                        "shared machine, meaningful with --threads 1")
    args = parser.parse_args()
    clock = time.process_time if args.cpu_time else time.perf_counter
    names = args.cases.split(",")
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    print(f"load average {os.getloadavg()[0]:.2f} at start; BLAS threads: "
          f"{args.threads or 'default'}; clock: {'CPU' if args.cpu_time else 'wall'}")
    with threadpool_limits(args.threads, user_api="blas"), \
            np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for name in names:
            report(name, profile(name, args.reps, args.seconds, clock))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()

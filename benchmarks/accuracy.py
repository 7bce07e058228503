"""Held-out quality of mlpcli's defaults against scikit-learn's MLP defaults, on the same split.

    python benchmarks/accuracy.py [--datasets iris,wine,...] [--seeds 0,1,2] [--json]
    python benchmarks/accuracy.py --optimizers [sgd,adam,...]    # one column per optimizer

For each bundled dataset and seed, mlpcli trains with no options but the data (as
`mlpcli train DATA --seed S` does); scikit-learn's MLPClassifier() / MLPRegressor() with their
defaults train on the same training rows, standardized the same way (statistics of the training
rows), and both are scored on the same validation rows: accuracy for classification, R² for
regression. Needs scikit-learn (`pip install -e '.[bench]'` or `pip install scikit-learn`).

With --optimizers, mlpcli trains once per optimizer (`--optimizer NAME`, everything else
default, so each with its own default --lr) and scikit-learn once per solver (adam, lbfgs, sgd,
otherwise defaults): one table row per dataset, one column per optimizer or solver.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from mlpcli.config import Config
from mlpcli.core.losses import predicted_class
from mlpcli.core.metrics import regression_scores
from mlpcli.experiment import prepare

DATASETS = ["iris", "wine", "breast_cancer", "digits", "moons", "circles", "spirals", "sine"]


def mlpcli_score(cfg: Config) -> tuple[float, float, dict]:
    """Train as `mlpcli train` does (same data pipeline and defaults); score on validation."""
    trainer, data = prepare(cfg)
    model, pre = trainer.model, data.preprocessor
    t0 = time.perf_counter()
    result = trainer.run()
    seconds = time.perf_counter() - t0
    if pre.task == "classification":
        Yhat = model.forward(data.X_val)
        score = float(np.mean(predicted_class(Yhat) == predicted_class(data.Y_val)))
    else:
        score = regression_scores(model.forward(data.X_val), data.Y_val, pre.y_std)["r2"]
    return score, seconds, {"epochs": result.epochs_run, "status": result.status, "data": data}


OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs"]
SOLVERS = ["adam", "lbfgs", "sgd"]


def sklearn_score(data, seed: int, solver: str = "adam") -> tuple[float, float]:
    """MLPClassifier() / MLPRegressor() defaults (but `solver`) on the same standardized split."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    pre = data.preprocessor
    X_train, X_val = data.X_train, data.X_val  # already standardized with training statistics
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if pre.task == "classification":
            y_train, y_val = predicted_class(data.Y_train), predicted_class(data.Y_val)
            est = MLPClassifier(solver=solver, random_state=seed).fit(X_train, y_train)
            score = float(np.mean(est.predict(X_val) == y_val))
        else:
            est = MLPRegressor(solver=solver, random_state=seed).fit(X_train,
                                                                     data.Y_train.ravel())
            pred = est.predict(X_val).reshape(data.Y_val.shape)
            ss_res = ((pred - data.Y_val) ** 2).sum()
            ss_tot = ((data.Y_val - data.Y_val.mean(axis=0)) ** 2).sum()
            score = float(1 - ss_res / ss_tot)
    return score, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--optimizers", nargs="?", const=",".join(OPTIMIZERS),
                        help="compare optimizers (default: all) with scikit-learn's solvers")
    parser.add_argument("--option", action="append", default=[],
                        help="override a default, e.g. --option lr=0.01 (for tuning)")
    args = parser.parse_args()
    overrides = {}
    for item in args.option:
        key, value = item.split("=", 1)
        overrides[key] = json.loads(value) if value[:1] in "[{0123456789-tf" else value
        if isinstance(overrides[key], list):
            overrides[key] = tuple(overrides[key])

    if args.optimizers:
        compare_optimizers(args, overrides)
        return
    rows = []
    for name in args.datasets.split(","):
        for seed in map(int, args.seeds.split(",")):
            cfg = Config(data=name, seed=seed, checkpoint_every=0, **overrides)
            ours, t_ours, info = mlpcli_score(cfg)
            try:
                theirs, t_theirs = sklearn_score(info["data"], seed)
            except ImportError:
                theirs, t_theirs = float("nan"), float("nan")
            rows.append({"dataset": name, "seed": seed, "task": info["data"].preprocessor.task,
                         "mlpcli": ours, "sklearn": theirs, "mlpcli_seconds": t_ours,
                         "sklearn_seconds": t_theirs, "epochs": info["epochs"],
                         "status": info["status"]})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Held-out score with default options (accuracy, or R² for regression)")
    for col in ("dataset", "task", "mlpcli", "sklearn", "difference", "mlpcli s", "sklearn s",
                "epochs"):
        table.add_column(col, justify="left" if col in ("dataset", "task") else "right")
    for name in args.datasets.split(","):
        group = [r for r in rows if r["dataset"] == name]
        ours = np.mean([r["mlpcli"] for r in group])
        theirs = np.mean([r["sklearn"] for r in group])
        table.add_row(name, group[0]["task"], f"{ours:.3f}", f"{theirs:.3f}",
                      f"{ours - theirs:+.3f}",
                      f"{np.mean([r['mlpcli_seconds'] for r in group]):.2f}",
                      f"{np.mean([r['sklearn_seconds'] for r in group]):.2f}",
                      f"{np.mean([r['epochs'] for r in group]):.0f}")
    Console().print(table)
    print(f"means over seeds {args.seeds}; overrides: {overrides or 'none'}")


def compare_optimizers(args, overrides: dict) -> None:
    """The --optimizers table: mean held-out score per dataset, optimizer and solver."""
    optimizers = args.optimizers.split(",")
    seeds = list(map(int, args.seeds.split(",")))
    rows = []
    for name in args.datasets.split(","):
        for seed in seeds:
            row = {"dataset": name, "seed": seed}
            for opt in optimizers:
                cfg = Config(data=name, seed=seed, checkpoint_every=0, optimizer=opt, **overrides)
                row[opt], row[f"{opt}_seconds"], info = mlpcli_score(cfg)
                row[f"{opt}_epochs"] = info["epochs"]
            for solver in SOLVERS:
                row[f"sklearn_{solver}"], row[f"sklearn_{solver}_seconds"] = sklearn_score(
                    info["data"], seed, solver)
            rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    columns = optimizers + [f"sklearn_{s}" for s in SOLVERS]
    table = Table(title="Held-out score per optimizer, default options otherwise (accuracy; "
                        "R² for regression)")
    table.add_column("dataset")
    for col in columns:
        table.add_column(col.replace("sklearn_", "sklearn "), justify="right")
    for name in args.datasets.split(","):
        group = [r for r in rows if r["dataset"] == name]
        table.add_row(name, *(f"{np.mean([r[c] for r in group]):.3f}" for c in columns))
    Console().print(table)
    print(f"means over seeds {args.seeds}; overrides: {overrides or 'none'}")


if __name__ == "__main__":
    main()

"""Speed of `mlpcli sweep` (issue 13): ratios measured in one run on this machine.

    python benchmarks/sweep_bench.py [--quick] [--json]

1. seeds: `mlpcli sweep xor --seeds N` against a shell loop of N `mlpcli train xor --seed $s
   --quiet` (N = 100; --quick: 10). Target: the sweep takes ≤ 1/10 of the loop's time.
2. workers: digits, an 8-configuration grid (hidden 16|32|64|128 × lr 0.01|0.1, cross-entropy,
   mean reduction, batch 32, E epochs without early stopping) × 5 folds, with --workers 2
   against --workers 1. Target: ≥ 1.7× faster.
3. scikit-learn: the same search as GridSearchCV(StandardScaler + MLPClassifier(solver="sgd",
   same sizes, learning rates, batch size and epochs, no momentum, no L2, no early stopping),
   cv=5, n_jobs=2) against `mlpcli sweep … --workers 2`. Targets: ≥ 3× faster; every
   configuration's mean fold accuracy within 0.02 of scikit-learn's.

Every mlpcli figure is the wall time of the command as a user runs it (a fresh process, its
start-up included), each in its own temporary runs directory. scikit-learn is optional
(`pip install -e '.[bench]'`); without it part 3 is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = (16, 32, 64, 128)
LRS = (0.01, 0.1)
BATCH = 32
FOLDS = 5


def mlpcli(*args, cwd: Path) -> float:
    """Wall seconds of `python -m mlpcli ARGS` (a fresh process), which must succeed."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mlpcli", *map(str, args)], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    return time.perf_counter() - t0


def leaderboard(runs_dir: Path) -> pd.DataFrame:
    (path,) = [p for p in runs_dir.iterdir() if (p / "sweep.json").exists()]
    return pd.read_csv(path / "leaderboard.csv")


def seeds_vs_loop(n: int, work: Path) -> dict:
    loop = 0.0
    for s in range(n):
        loop += mlpcli("train", "xor", "--seed", s, "--quiet", "--runs-dir", "loop", cwd=work)
    sweep = mlpcli("sweep", "xor", "--seeds", n, "--quiet", "--runs-dir", "sweep", cwd=work)
    return {"trials": n, "loop_s": loop, "sweep_s": sweep, "fraction": sweep / loop}


def grid_args(epochs: int) -> list:
    return ["sweep", "digits", "--grid", "hidden=" + "|".join(map(str, HIDDEN)),
            "--grid", "lr=" + "|".join(map(str, LRS)), "--folds", FOLDS, "--epochs", epochs,
            "--patience", 0, "--loss", "ce", "--reduction", "mean", "--batch-size", BATCH,
            "--quiet"]


def workers(epochs: int, work: Path) -> dict:
    one = mlpcli(*grid_args(epochs), "--workers", 1, "--runs-dir", "w1", cwd=work)
    two = mlpcli(*grid_args(epochs), "--workers", 2, "--runs-dir", "w2", cwd=work)
    return {"trials": len(HIDDEN) * len(LRS) * FOLDS, "one_s": one, "two_s": two,
            "speedup": one / two}


def sklearn_search(epochs: int, work: Path) -> dict | None:
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import GridSearchCV, StratifiedKFold
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        return None
    import warnings

    data = pd.read_csv(ROOT / "datasets" / "digits.csv")
    X, y = data.iloc[:, :-1].to_numpy(float), data.iloc[:, -1].to_numpy()
    model = Pipeline([("scale", StandardScaler()), ("mlp", MLPClassifier(
        solver="sgd", batch_size=BATCH, max_iter=epochs, momentum=0.0,
        nesterovs_momentum=False, alpha=0.0, learning_rate="constant", early_stopping=False,
        n_iter_no_change=epochs + 1, tol=0.0, shuffle=True, random_state=0))])
    search = GridSearchCV(model, {"mlp__hidden_layer_sizes": [(h,) for h in HIDDEN],
                                  "mlp__learning_rate_init": list(LRS)},
                          cv=StratifiedKFold(FOLDS, shuffle=True, random_state=0), n_jobs=2)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    seconds = time.perf_counter() - t0
    ours_s = mlpcli(*grid_args(epochs), "--workers", 2, "--runs-dir", "vs", cwd=work)
    ours = leaderboard(work / "vs")
    results = pd.DataFrame(search.cv_results_)
    rows = []
    for h in HIDDEN:
        for lr in LRS:
            theirs = results[(results["param_mlp__hidden_layer_sizes"] == (h,))
                             & (results["param_mlp__learning_rate_init"] == lr)]
            mine = ours[(ours["hidden"].astype(str) == str(h)) & (ours["lr"] == lr)]
            rows.append({"hidden": h, "lr": lr, "mlpcli": float(mine["mean"].iloc[0]),
                         "sklearn": float(theirs["mean_test_score"].iloc[0])})
    worst = max(abs(r["mlpcli"] - r["sklearn"]) for r in rows)
    return {"sklearn_s": seconds, "mlpcli_s": ours_s, "speedup": seconds / ours_s,
            "accuracy": rows, "max_abs_diff": worst}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 seeds, 10 epochs (a minute)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    n, epochs = (10, 10) if args.quick else (100, 40)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report = {"seeds": seeds_vs_loop(n, work), "workers": workers(epochs, work),
                  "sklearn": sklearn_search(epochs, work), "epochs": epochs,
                  "cores": os.cpu_count(), "load_before": os.getloadavg()[0]}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    s, w, k = report["seeds"], report["workers"], report["sklearn"]
    print(f"| measurement | mlpcli | peer | ratio | target |\n|---|---|---|---|---|\n"
          f"| xor, {s['trials']} seeds: sweep vs a shell loop of train | {s['sweep_s']:.1f} s | "
          f"{s['loop_s']:.1f} s | {s['fraction']:.3f} of the loop | ≤ 0.1 "
          f"{'✓' if s['fraction'] <= 0.1 else '✗'} |\n"
          f"| digits, 8 configs × 5 folds: --workers 2 vs 1 | {w['two_s']:.1f} s | "
          f"{w['one_s']:.1f} s | {w['speedup']:.2f}× | ≥ 1.7× "
          f"{'✓' if w['speedup'] >= 1.7 else '✗'} |")
    if k is None:
        print("scikit-learn not installed (pip install -e '.[bench]'): comparison skipped")
        return
    print(f"| same search vs GridSearchCV(n_jobs=2) | {k['mlpcli_s']:.1f} s | "
          f"{k['sklearn_s']:.1f} s | {k['speedup']:.2f}× | ≥ 3× "
          f"{'✓' if k['speedup'] >= 3 else '✗'} |")
    print(f"\nmean 5-fold accuracy, {epochs} epochs (max |difference| {k['max_abs_diff']:.3f},"
          f" target ≤ 0.02 {'✓' if k['max_abs_diff'] <= 0.02 else '✗'}):\n")
    print("| hidden | lr | mlpcli | scikit-learn |\n|---|---|---|---|")
    for r in k["accuracy"]:
        print(f"| {r['hidden']} | {r['lr']} | {r['mlpcli']:.3f} | {r['sklearn']:.3f} |")
    print(f"\n{report['cores']} cores; load average before the run {report['load_before']:.1f}")


if __name__ == "__main__":
    main()

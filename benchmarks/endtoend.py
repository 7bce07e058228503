"""`mlpcli` as a user runs it: `mlpcli train` end to end against the bare Trainer, and the
start-up time of `mlpcli --help` / `--version`."""

from __future__ import annotations

import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from training import BenchError

GOAL_E2E = {"digits": 1.1, "xor": 2.0}  # `mlpcli train` per-epoch time ÷ bare Trainer's
GOAL_STARTUP = 2.0  # `mlpcli --help` / `--version` ÷ `python -c "import numpy"`


def mlpcli_command() -> list[str]:
    """The `mlpcli` of this Python's environment (its script, else `python -m mlpcli`)."""
    script = Path(sys.executable).parent / "mlpcli"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mlpcli"]


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

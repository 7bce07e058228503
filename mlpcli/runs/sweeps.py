"""Sweep directories as the run store sees them: found, listed as one row, resolved into.

A sweep directory (written by mlpcli/sweep/store.py) is a folder of runs with a sweep.json. In
`runs list` it is one row (kind 'sweep'); a RUN argument reaches its trials as SWEEP/TRIAL and
its best trial — the best configuration's trial with the best metric — as SWEEP:best.
"""

from __future__ import annotations

from pathlib import Path

from mlpcli.errors import RunError
from mlpcli.runs.files import read_json
from mlpcli.runs.lock import is_locked

SWEEP_FILE = "sweep.json"
BEST = ":best"


def is_sweep(path: Path) -> bool:
    return (Path(path) / SWEEP_FILE).is_file()


def sweep_dirs(runs_dir) -> list[Path]:
    """Sweep directories under runs_dir, oldest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir() if not p.name.startswith(".") and is_sweep(p))


def is_sweep_reference(spec: str) -> bool:
    return spec.endswith(BEST) or "/" in spec


def resolve_in_sweep(spec: str, runs_dir, resolve) -> Path:
    """SWEEP/TRIAL or SWEEP:best → the trial's run directory (`resolve` finds SWEEP)."""
    if spec.endswith(BEST):
        sweep, trial = spec[: -len(BEST)], None
    else:
        sweep, _, trial = spec.rpartition("/")
    path = resolve(sweep, runs_dir)
    if not is_sweep(path):
        raise RunError(f"{sweep!r} is a run, not a sweep; SWEEP/TRIAL and SWEEP:best name a "
                       f"sweep's trials")
    if trial is None:
        trial = read_json(path / "summary.json").get("best_trial")
        if not trial:
            raise RunError(f"sweep {path.name} has no finished trial yet, so no best one")
    run = path / trial
    if not (run / "summary.json").exists():
        raise RunError(f"sweep {path.name} has no trial {trial!r}; list them with: "
                       f"mlpcli runs list {path.name}")
    return run


def sweep_row(path: Path, columns: list[str]) -> dict:
    """The sweep's row of `runs list`: kind 'sweep', its trials, its best configuration's mean
    in the metric's column (e.g. val_acc); 'damaged' when its files cannot be read."""
    row = dict.fromkeys(columns)
    row.update(id=path.name, path=str(path), kind="sweep")
    try:
        info, summary = read_json(path / SWEEP_FILE), read_json(path / "summary.json")
    except RunError as e:
        row.update(status="damaged", error=str(e))
        return row
    fixed = info.get("spec", {}).get("fixed", {})
    status = summary.get("status")
    if status == "running" and not is_locked(path):  # its process holds the lock while it runs
        status = "crashed"
    best = summary.get("best") or {}
    row.update(dataset=fixed.get("data"), status=status, name=fixed.get("name"),
               trials=info.get("trials"), seconds=summary.get("seconds"),
               error=summary.get("note"))
    if best.get("metric") in columns:
        row[best["metric"]] = best.get("mean")
    return row

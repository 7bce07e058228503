"""The run directory: create it, lock it, write it while training, list and resolve runs.

    runs/<run-id>/  config.json  model.json  weights.npz  metrics.csv  predictions.csv
                    loss.png  summary.json  checkpoint.npz

Every file is written whole or not at all (temporary file, flush, fsync, os.replace), except
metrics.csv, which grows by one complete line per epoch (one write call, flushed). summary.json
(status `running`) is the first file of a new run, so every run directory can be classified from
its first instant; a writer holds the run's lock (lock.py) the whole time. A failed write (disk
full, …) is a WriteError naming the file. Reading one run is run.py's job; listing and
resolving runs are here.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import socket
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from mlpcli.core.kernels import THETA_LAYOUT
from mlpcli.errors import ConfigError, RunError
from mlpcli.runs.files import (
    load_npz,
    os_error_reason,
    remove_stale_temporaries,
    save_npz,
    write_atomic,
    write_json,
)
from mlpcli.runs.lock import RunLock
from mlpcli.runs.run import METRICS_COLUMNS, Run
from mlpcli.runs.sweeps import (
    is_sweep,
    is_sweep_reference,
    resolve_in_sweep,
    sweep_dirs,
    sweep_row,
)

RUN_FILES = ["config.json", "model.json", "weights.npz", "metrics.csv", "predictions.csv",
             "loss.png", "summary.json"]


# --- creating a run -----------------------------------------------------------------------------

def sanitize_name(name: str) -> str:
    """A safe single path component: letters, digits, '.', '_', '-'; never '..' or hidden."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-_")
    return name[:60] or "run"


def create_run_dir(runs_dir, name: str) -> Path:
    """Create runs_dir/<id> exclusively; ids sort by creation time (UTC, so that the order
    and `latest` do not depend on the time zone) and never collide."""
    runs_dir = Path(runs_dir)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--runs-dir {runs_dir}: cannot create it ({e.strerror})") from None
    if not os.access(runs_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"--runs-dir {runs_dir} is not writable; choose another with --runs-dir")
    name = sanitize_name(name)
    while True:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        path = runs_dir / f"{stamp}-{name}"
        try:
            path.mkdir()  # exclusive: fails if another process took this id
            return path
        except FileExistsError:
            time.sleep(1e-6)
        except OSError as e:
            raise ConfigError(f"--runs-dir {runs_dir}: cannot create a run ({e.strerror})") \
                from None


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def lock_run(path: Path) -> RunLock:
    """Lock run `path` for writing by this process (RunError naming the holder if another
    trains in it), then delete the temporary files of writers that died mid-write."""
    lock = RunLock(path).acquire()
    if not os.access(path, os.W_OK | os.X_OK):
        lock.release()
        raise RunError(f"{path}: the run directory is read-only (permission or a read-only "
                       f"file system), so the run cannot be written; copy it elsewhere first")
    remove_stale_temporaries(path)
    return lock


class WriteError(RunError):
    """A file of a run could not be written (disk full, permission, …); the message names it."""


@contextlib.contextmanager
def writing(path: Path):
    """Turn a failed write of `path` (disk full, permission, …) into a WriteError naming it."""
    try:
        yield
    except OSError as e:
        raise WriteError(f"{path}: cannot write ({os_error_reason(e)})") from None


class RunWriter:
    """Training callback that writes the run directory as the run goes.

    Begin: config.json, model.json, summary.json (status running), metrics.csv header.
    Every epoch: one metrics line (flushed); checkpoint.npz every `checkpoint_every` seconds.
    End: checkpoint.npz first (what a resume starts from), then weights.npz, predictions.csv,
    loss.png and the other pictures (`write_results`: the same bytes whenever they are written from the same
    state), and summary.json last (`finish`). Every failed write is a RunError naming the file.
    """

    def __init__(self, path: Path, *, config: dict, model_info: dict, summary: dict,
                 checkpoint_every: float = 0.0, predictions=None, append_metrics: bool = False,
                 pictures=None):
        self.path = Path(path)
        self.config, self.model_info, self.summary = config, model_info, summary
        self.checkpoint_every = checkpoint_every
        self.predictions = predictions  # callable(model) -> DataFrame, run at the end
        self.pictures = pictures  # callable(model) -> ({file name: bytes}, notes), at the end
        self.append_metrics = append_metrics
        self._metrics_fd = None
        self._last_checkpoint = time.monotonic()

    def _write(self, name: str, data: bytes) -> None:
        with writing(self.path / name):
            write_atomic(self.path / name, data)

    def _write_json(self, name: str, obj) -> None:
        with writing(self.path / name):
            write_json(self.path / name, obj)

    def mark_running(self) -> None:
        """summary.json with status running, pid and host (the first file of a new run)."""
        self.summary.update(status="running", pid=os.getpid(), host=socket.gethostname(),
                            started=self.summary.get("started") or now_iso())
        self._write_json("summary.json", self.summary)

    # callbacks ------------------------------------------------------------------------------

    def on_train_begin(self, trainer) -> None:
        self._write_json("config.json", self.config)
        self._write_json("model.json", self.model_info)
        self.mark_running()
        metrics = self.path / "metrics.csv"
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        if not self.append_metrics:
            flags |= os.O_TRUNC
        with writing(metrics):
            self._metrics_fd = os.open(metrics, flags, 0o644)
            if not self.append_metrics or os.path.getsize(metrics) == 0:
                self._append_metrics(",".join(METRICS_COLUMNS) + "\n")

    def on_epoch_end(self, record, trainer) -> None:
        with writing(self.path / "metrics.csv"):
            self._append_metrics(metrics_line(record))  # one write: never a partial line
        due = time.monotonic() - self._last_checkpoint >= self.checkpoint_every
        if self.checkpoint_every and due:
            self.write_checkpoint(trainer)

    def _append_metrics(self, line: str) -> None:
        data = line.encode()
        if os.write(self._metrics_fd, data) != len(data):  # one write: a line, or an error
            raise OSError(28, os.strerror(28))  # a short write: the disk is full

    def on_train_end(self, result, trainer) -> None:
        self.close_metrics()
        self.write_checkpoint(trainer)
        self.write_results(trainer)

    # pieces -----------------------------------------------------------------------------------

    def write_results(self, trainer) -> None:
        """weights.npz, predictions.csv and loss.png of the trainer's model as it stands."""
        with writing(self.path / "weights.npz"):
            save_npz(self.path / "weights.npz", trainer.model.params())
        if self.predictions is not None:
            frame = self.predictions(trainer.model)
            self._write("predictions.csv", frame.to_csv(index=False).encode())
        from mlpcli.report.plots import loss_plot  # matplotlib only when a run ends

        title = self.summary.get("name") or self.path.name
        # the epoch whose weights are saved: the best one where early stopping restored it
        kept = trainer.best_epoch if trainer.last_theta is not None else trainer.epoch
        self._write("loss.png", loss_plot(Run(self.path).metrics(), title, kept_epoch=kept))
        if self.pictures is not None:  # (a picture that cannot be drawn is skipped, noted)
            self.summary["pictures"] = write_pictures(self.path, *self.pictures(trainer.model))

    def write_checkpoint(self, trainer) -> None:
        state = trainer.state()
        scalars = {k: v for k, v in state.items()
                   if k not in ("theta", "best_theta", "optimizer")}
        arrays = {
            "theta": state["theta"], "best_theta": state["best_theta"],
            "state": np.array(json.dumps({**scalars, "theta_layout": THETA_LAYOUT})),
            **state["optimizer"],  # the optimizer's arrays by name (velocity, exp_avg, step, …)
        }
        with writing(self.path / "checkpoint.npz"):
            save_npz(self.path / "checkpoint.npz", arrays)
        self._last_checkpoint = time.monotonic()

    def close_metrics(self) -> None:
        if self._metrics_fd is not None:
            os.close(self._metrics_fd)
            self._metrics_fd = None

    def finish(self, **fields) -> None:
        """Write summary.json with its final fields (status, metrics, times)."""
        self.summary.update(fields)
        self._write_json("summary.json", self.summary)

    def record_failure(self, **fields) -> None:
        """summary.json saying how the run ended, even on a full disk: if the atomic write
        fails, the file is overwritten in place (its blocks are already allocated), else left."""
        self.summary.update(fields)
        path = self.path / "summary.json"
        try:
            write_json(path, self.summary)
        except OSError:
            data = (json.dumps(self.summary, indent=2, default=str) + "\n").encode()
            with contextlib.suppress(OSError), open(path, "r+b") as f:
                f.write(data)
                f.truncate()


def write_pictures(path: Path, files: dict[str, bytes], notes: list[str]) -> dict:
    """Write a run's pictures; what summary.json records of them. A picture never fails a run:
    one that cannot be written (a full disk) is skipped with a note, like one that cannot be
    drawn."""
    written, notes = [], list(notes)
    for name, content in files.items():
        try:
            write_atomic(path / name, content)
            written.append(name)
        except OSError as e:
            notes.append(f"{name}: not written ({os_error_reason(e)})")
    return {"written": sorted(written), "skipped": notes}


def metrics_line(record) -> str:
    """One line of metrics.csv for an EpochRecord (repr: floats read back exactly)."""
    cells = [getattr(record, k) for k in METRICS_COLUMNS]
    return ",".join("" if v is None else repr(v) for v in cells) + "\n"


def load_checkpoint(path: Path) -> dict:
    arrays = load_npz(path, what="checkpoint")
    try:
        state = json.loads(str(arrays["state"]))
        if state.get("theta_layout") != THETA_LAYOUT:  # its flat theta would load wrongly
            raise RunError(f"{path}: written by an older mlpcli that laid the parameters out "
                           f"differently, so the run cannot be resumed; start a new run from "
                           f"its weights with --init {path.parent / 'weights.npz'}")
        state["theta"] = arrays["theta"]
        state["best_theta"] = arrays["best_theta"]
        state["optimizer"] = {k: v for k, v in arrays.items()
                              if k not in ("theta", "best_theta", "state")}
        state["best"] = math.inf if state["best"] is None else state["best"]
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        raise RunError(f"{path}: damaged checkpoint ({e})") from None
    return state


# --- finding runs ---------------------------------------------------------------------------

def run_dirs(runs_dir) -> list[Path]:
    """Run directories under runs_dir, oldest first (ids sort by time); not sweeps."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and not is_sweep(p))


def run_name(path: Path) -> str:
    """The name part of a run id, '<YYYYMMDD>-<HHMMSS>-<microseconds>-<name>'."""
    parts = path.name.split("-", 3)
    return parts[3] if len(parts) == 4 else ""


def resolve_run(spec: str, runs_dir="runs") -> Path:
    """A run by path, id, unique id prefix, 'latest', or name (the newest run with it); `spec`
    may be a str or a Path."""
    spec = str(spec)
    as_path = Path(spec)
    if as_path.is_dir() and ((as_path / "config.json").exists()
                             or (as_path / "summary.json").exists()):
        return as_path
    if is_sweep_reference(spec):  # SWEEP/TRIAL, SWEEP:best
        return resolve_in_sweep(spec, runs_dir, resolve_run)
    candidates = run_dirs(runs_dir)
    if spec == "latest":
        if not candidates:
            raise RunError(f"no runs in {runs_dir}; train one with: mlpcli train DATA")
        return candidates[-1]
    candidates = sorted(candidates + sweep_dirs(runs_dir))
    exact = [p for p in candidates if p.name == spec]
    if exact:
        return exact[0]
    matches = [p for p in candidates if p.name.startswith(spec)]
    if len(matches) == 1:
        return matches[0]
    named = [p for p in candidates if run_name(p) == spec]
    if not matches and named:
        return named[-1]
    if not matches:
        recent = ", ".join(p.name for p in candidates[-5:][::-1]) or "none"
        raise RunError(f"no run {spec!r} in {runs_dir} (recent: {recent}); "
                       f"give an id, a unique prefix, a name, a path or 'latest'")
    names = ", ".join(p.name for p in matches[:8]) + (", …" if len(matches) > 8 else "")
    raise RunError(f"{spec!r} matches {len(matches)} runs ({names}); give more of the id")


# --- the library side of `runs list` ------------------------------------

LIST_COLUMNS = ["id", "name", "dataset", "status", "kind", "trials", "epochs", "hidden", "lr",
                "batch_size", "seed", "train_loss", "val_loss", "train_acc", "val_acc",
                "test_loss", "test_acc", "test_r2", "seconds", "best_epoch",
                "loss", "activation", "error", "path"]


def run_row(run: Run) -> dict:
    """One row of `runs list`; a damaged run still gets a row, with status 'damaged'."""
    row = dict.fromkeys(LIST_COLUMNS)
    row.update(id=run.id, path=str(run.path), kind="run")
    if not any(not p.name.startswith(".") for p in run.path.iterdir()):
        row.update(status="crashed", error="stopped before it wrote its first file")
        return row
    problems = []
    try:
        if not (run.path / "config.json").exists() and run.summary()["status"] == "running":
            raise LookupError  # a run's first file is its summary; the config follows
        options = run.config().get("options", {})
        row.update(dataset=options.get("data"), epochs=None,
                   hidden=",".join(map(str, options.get("hidden") or [])) or None,
                   lr=options.get("lr"), batch_size=options.get("batch_size"),
                   seed=options.get("seed"), loss=options.get("loss"),
                   activation=options.get("activation"), name=options.get("name"))
    except LookupError:
        pass
    except RunError as e:
        problems.append(str(e))
    try:
        summary = run.summary()
        row["epochs"] = summary.get("epochs_run")
        row["seconds"] = summary.get("seconds")
        row["best_epoch"] = summary.get("best_epoch")
        row["error"] = summary.get("error")
        final = summary.get("final") or {}
        for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
            row[key] = final.get(key)
        test = summary.get("test") or {}  # the held-out test rows' scores, when there are some
        row.update(test_loss=test.get("loss"), test_acc=test.get("acc"), test_r2=test.get("r2"))
        row["status"] = run.status()  # checks model.json and weights.npz too
    except RunError as e:
        problems.append(str(e))
    begun = (run.path / "config.json").exists()  # training began: metrics.csv was created
    if begun and not problems:
        try:
            metrics = run.metrics()
            if len(metrics) and row["status"] in ("running", "crashed", "interrupted", "failed"):
                # no final metrics yet: the last logged epoch
                last = metrics.iloc[-1]
                row["epochs"] = int(last["epoch"])
                row["seconds"] = float(last["seconds"])
                for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
                    if row[key] is None and last[key] == last[key]:
                        row[key] = float(last[key])
        except RunError as e:
            problems.append(str(e))
    if problems:
        row["status"] = "damaged"
        row["error"] = "; ".join(problems)
    return row


def list_runs(runs_dir="runs", sort: str | None = None, descending: bool = False):
    """All runs, and each sweep as one row, as a DataFrame, newest first, or sorted by `sort`
    (ascending; descending with `descending` or a leading '-': '-val_acc'); empty cells last."""
    import pandas as pd

    paths = sorted(run_dirs(runs_dir) + sweep_dirs(runs_dir))[::-1]
    rows = [sweep_row(p, LIST_COLUMNS) if is_sweep(p) else run_row(Run(p))
            for p in paths]
    frame = pd.DataFrame(rows, columns=LIST_COLUMNS)
    for column in ("epochs", "batch_size", "seed", "best_epoch", "trials"):  # 50, not 50.0
        frame[column] = frame[column].astype("Int64")
    if sort is not None:
        descending, sort = descending or sort.startswith("-"), sort.removeprefix("-")
        if sort not in LIST_COLUMNS:
            raise ConfigError(f"--sort {sort!r} is not a column; choose one of: "
                              f"{', '.join(LIST_COLUMNS)}")
        frame = frame.sort_values(sort, kind="stable", na_position="last",
                                  ascending=not descending)
    return frame.reset_index(drop=True)

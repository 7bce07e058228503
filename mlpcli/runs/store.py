"""The run directory: create it, write it while training, and read it back.

    runs/<run-id>/  config.json  model.json  weights.npz  metrics.csv  predictions.csv
                    loss.png  summary.json  checkpoint.npz

Every file is written whole or not at all (temporary file, flush, fsync, os.replace), except
metrics.csv, which grows by one complete line per epoch (one write call, flushed). Readers never
modify a run and turn every missing or damaged file into a RunError that names it.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import socket
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from mlpcli.core.kernels import THETA_LAYOUT
from mlpcli.errors import ConfigError, RunError
from mlpcli.runs.files import load_npz, read_json, save_npz, write_atomic, write_json
from mlpcli.runs.sweeps import (
    is_sweep,
    is_sweep_reference,
    resolve_in_sweep,
    sweep_dirs,
    sweep_row,
)

METRICS_COLUMNS = ["epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds"]
RUN_FILES = ["config.json", "model.json", "weights.npz", "metrics.csv", "predictions.csv",
             "loss.png", "summary.json"]


# --- creating a run -----------------------------------------------------------------------------

def sanitize_name(name: str) -> str:
    """A safe single path component: letters, digits, '.', '_', '-'; never '..' or hidden."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-_")
    return name[:60] or "run"


def create_run_dir(runs_dir, name: str) -> Path:
    """Create runs_dir/<id> exclusively; ids sort by creation time and never collide."""
    runs_dir = Path(runs_dir)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--runs-dir {runs_dir}: cannot create it ({e.strerror})") from None
    if not os.access(runs_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"--runs-dir {runs_dir} is not writable; choose another with --runs-dir")
    name = sanitize_name(name)
    while True:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
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


class RunWriter:
    """Training callback that writes the run directory as the run goes.

    Begin: config.json, model.json, summary.json (status running), metrics.csv header.
    Every epoch: one metrics line (flushed); checkpoint.npz every `checkpoint_every` seconds.
    End: weights.npz, predictions.csv, loss.png and the other pictures, checkpoint.npz, and
    summary.json last.
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

    # callbacks ------------------------------------------------------------------------------

    def on_train_begin(self, trainer) -> None:
        write_json(self.path / "config.json", self.config)
        write_json(self.path / "model.json", self.model_info)
        self.summary.update(status="running", pid=os.getpid(), host=socket.gethostname(),
                            started=self.summary.get("started") or now_iso())
        write_json(self.path / "summary.json", self.summary)
        metrics = self.path / "metrics.csv"
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        if not self.append_metrics:
            flags |= os.O_TRUNC
        self._metrics_fd = os.open(metrics, flags, 0o644)
        if not self.append_metrics or os.path.getsize(metrics) == 0:
            os.write(self._metrics_fd, (",".join(METRICS_COLUMNS) + "\n").encode())

    def on_epoch_end(self, record, trainer) -> None:
        os.write(self._metrics_fd, metrics_line(record).encode())  # one write: never partial
        due = time.monotonic() - self._last_checkpoint >= self.checkpoint_every
        if self.checkpoint_every and due:
            self.write_checkpoint(trainer)

    def on_train_end(self, result, trainer) -> None:
        self.close_metrics()
        save_npz(self.path / "weights.npz", trainer.model.params())
        self.write_checkpoint(trainer)
        if self.predictions is not None:
            frame = self.predictions(trainer.model)
            write_atomic(self.path / "predictions.csv", frame.to_csv(index=False).encode())
        import pandas as pd

        from mlpcli.report.plots import loss_plot  # matplotlib only when a run ends

        metrics = pd.read_csv(self.path / "metrics.csv")
        title = self.summary.get("name") or self.path.name
        write_atomic(self.path / "loss.png", loss_plot(metrics, title))
        if self.pictures is not None:
            self.summary["pictures"] = write_pictures(self.path, *self.pictures(trainer.model))

    # pieces -----------------------------------------------------------------------------------

    def write_checkpoint(self, trainer) -> None:
        state = trainer.state()
        arrays = {
            "theta": state["theta"], "best_theta": state["best_theta"],
            "state": np.array(json.dumps({
                "epoch": state["epoch"], "elapsed": state["elapsed"], "best": state["best"],
                "best_epoch": state["best_epoch"], "wait": state["wait"],
                "rng_state": state["rng_state"], "theta_layout": THETA_LAYOUT,
            })),
        }
        if state["velocity"] is not None:
            arrays["velocity"] = state["velocity"]
        save_npz(self.path / "checkpoint.npz", arrays)
        self._last_checkpoint = time.monotonic()

    def close_metrics(self) -> None:
        if self._metrics_fd is not None:
            os.close(self._metrics_fd)
            self._metrics_fd = None

    def finish(self, **fields) -> None:
        """Write summary.json with its final fields (status, metrics, times)."""
        self.summary.update(fields)
        write_json(self.path / "summary.json", self.summary)


def write_pictures(path: Path, files: dict[str, bytes], notes: list[str]) -> dict:
    """Write a run's pictures; what summary.json records of them."""
    for name, content in files.items():
        write_atomic(path / name, content)
    return {"written": sorted(files), "skipped": notes}


def metrics_line(record) -> str:
    """One line of metrics.csv for an EpochRecord (repr: floats read back exactly)."""
    cells = (record.epoch, record.train_loss, record.val_loss, record.train_acc,
             record.val_acc, record.lr, record.seconds)
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
        state["velocity"] = arrays.get("velocity")
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
    """A run by path, id, unique id prefix, 'latest', or name (the newest run with it)."""
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


def process_alive(pid, host) -> bool:
    """Whether process `pid` still runs (only decidable on the same host; else assume yes)."""
    if host and host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, TypeError, ValueError):
        return True
    return True


@dataclass
class Run:
    """A run directory opened for reading. Each accessor raises RunError for a bad file."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    def config(self) -> dict:
        return read_json(self.path / "config.json")

    def model_info(self) -> dict:
        return read_json(self.path / "model.json")

    def summary(self) -> dict:
        return read_json(self.path / "summary.json")

    def weights(self) -> dict[str, np.ndarray]:
        return load_npz(self.path / "weights.npz", what="weights")

    def metrics(self):
        """metrics.csv as a DataFrame (a trailing incomplete line, if any, is ignored)."""
        import pandas as pd

        path = self.path / "metrics.csv"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RunError(f"{path}: missing") from None
        except (OSError, UnicodeDecodeError) as e:
            raise RunError(f"{path}: cannot read ({e})") from None
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]
        try:
            frame = pd.read_csv(io.StringIO(text))
        except Exception as e:  # pandas raises several parser error types
            raise RunError(f"{path}: damaged CSV ({e})") from None
        if list(frame.columns) != METRICS_COLUMNS:
            raise RunError(f"{path}: unexpected columns {list(frame.columns)}")
        return frame

    def status(self) -> str:
        """summary.json's status, with 'crashed' for a running run whose process is gone.

        Raises RunError naming the file when summary.json, model.json or weights.npz is damaged
        (or weights.npz is missing from a finished run): such a run has no trustworthy status.
        """
        summary = self.summary()
        status = summary.get("status", "unknown")
        self.check_files(weights_required=status == "finished")
        if status == "running" and not process_alive(summary.get("pid"), summary.get("host")):
            return "crashed"
        return status

    def check_files(self, weights_required: bool = False) -> None:
        """Cheap integrity check: model.json is an object with layers, weights.npz (if present,
        or required) is a complete .npz holding W1 and b1. Reads only; RunError names the file."""
        info = self.model_info()
        if not isinstance(info.get("layers"), list):
            raise RunError(f"{self.path / 'model.json'}: damaged (no list of layers)")
        path = self.path / "weights.npz"
        if not path.exists():
            if weights_required:
                raise RunError(f"{path}: missing")
            return
        try:  # a truncated file has lost the zip directory at its end
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
        except Exception as e:  # BadZipFile, OSError, …
            raise RunError(f"weights file {path} is damaged or not an .npz file "
                           f"({type(e).__name__}: {e})") from None
        if not {"W1.npy", "b1.npy"} <= names:
            raise RunError(f"weights file {path} is damaged (no W1 and b1 arrays)")

    def model(self):
        """(MLP, Preprocessor) as saved: everything `predict` needs."""
        from mlpcli.data import Preprocessor
        from mlpcli.core.kernels import MLP

        info = self.model_info()
        try:
            model = MLP(info["layers"], info["activation"], np.dtype(info.get("dtype", "float64")))
            pre = Preprocessor.from_dict(info["preprocessing"])
        except (KeyError, TypeError, ValueError) as e:
            raise RunError(f"{self.path / 'model.json'}: damaged ({type(e).__name__}: {e})") \
                from None
        try:
            model.load_params(self.weights(), source=str(self.path / "weights.npz"))
        except ConfigError as e:
            raise RunError(str(e)) from None
        return model, pre


# --- the library side of `runs list` ------------------------------------

LIST_COLUMNS = ["id", "name", "dataset", "status", "kind", "trials", "epochs", "hidden", "lr", "batch_size", "seed",
                "train_loss", "val_loss", "train_acc", "val_acc", "seconds", "best_epoch",
                "loss", "activation", "error", "path"]


def run_row(run: Run) -> dict:
    """One row of `runs list`; a damaged run still gets a row, with status 'damaged'."""
    row = dict.fromkeys(LIST_COLUMNS)
    row.update(id=run.id, path=str(run.path), kind="run")
    problems = []
    try:
        options = run.config().get("options", {})
        row.update(dataset=options.get("data"), epochs=None,
                   hidden=",".join(map(str, options.get("hidden") or [])) or None,
                   lr=options.get("lr"), batch_size=options.get("batch_size"),
                   seed=options.get("seed"), loss=options.get("loss"),
                   activation=options.get("activation"), name=options.get("name"))
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
        row["status"] = run.status()  # checks model.json and weights.npz too
    except RunError as e:
        problems.append(str(e))
    if row["status"] in ("running", "crashed", "interrupted", None) and not problems:
        try:  # no final metrics yet: the last logged epoch
            metrics = run.metrics()
            if len(metrics):
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


def list_runs(runs_dir="runs", sort: str | None = None):
    """All runs, and each sweep as one row, as a DataFrame, newest first, or sorted ascending
    by `sort`."""
    import pandas as pd

    paths = sorted(run_dirs(runs_dir) + sweep_dirs(runs_dir))[::-1]
    rows = [sweep_row(p, LIST_COLUMNS, process_alive) if is_sweep(p) else run_row(Run(p))
            for p in paths]
    frame = pd.DataFrame(rows, columns=LIST_COLUMNS)
    for column in ("epochs", "batch_size", "seed", "best_epoch", "trials"):  # 50, not 50.0
        frame[column] = frame[column].astype("Int64")
    if sort is not None:
        if sort not in LIST_COLUMNS:
            raise ConfigError(f"--sort {sort!r} is not a column; choose one of: "
                              f"{', '.join(LIST_COLUMNS)}")
        frame = frame.sort_values(sort, kind="stable", na_position="last")
    return frame.reset_index(drop=True)

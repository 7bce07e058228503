"""The sweep directory: a folder beside ordinary runs, holding one ordinary run per trial.

    runs/<sweep-id>/  sweep.json  trials.csv  leaderboard.csv  summary.json  sweep.png
                      <trial-id>/  config.json model.json weights.npz metrics.csv … (a run)

sweep.json is the resolved spec (`mlpcli sweep --spec runs/<sweep-id>/sweep.json` repeats the
sweep). trials.csv grows by one complete line per finished trial (one write call); at the end
of a sweep it is rewritten with one row per trial, in trial order. Every other file is written
whole (see runs/files.py).
"""

from __future__ import annotations

import io
import os
import socket
import types
from pathlib import Path

import pandas as pd

from mlpcli import runs
from mlpcli.core.train import EpochRecord
from mlpcli.errors import RunError
from mlpcli.experiment import versions
from mlpcli.runs.sweeps import SWEEP_FILE
from mlpcli.sweep.leaderboard import excluded_note, leaderboard, metric_name
from mlpcli.sweep.spec import SweepSpec, Trial, value_text

DONE = ("finished", "diverged")  # trial statuses a resumed sweep does not run again


def trial_columns(params: list[str], task: str) -> list[str]:
    score = "acc" if task == "classification" else "r2"
    return ["trial", *params, "seed", "fold", "status", "epochs_run", "best_epoch",
            "train_loss", "val_loss", f"train_{score}", f"val_{score}", "seconds", "run"]


class SweepDir:
    """A sweep directory, for writing (the sweep's process) and reading (`runs`)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def id(self) -> str:
        return self.path.name

    # --- reading ------------------------------------------------------------------------------

    def info(self) -> dict:
        return runs.read_json(self.path / SWEEP_FILE)

    def spec(self) -> SweepSpec:
        return SweepSpec.from_dict(self.info()["spec"], source=str(self.path / SWEEP_FILE))

    def summary(self) -> dict:
        return runs.read_json(self.path / "summary.json")

    def status(self) -> str:
        """summary.json's status, 'crashed' for a running sweep that no process holds (the
        sweeping process locks its directory, as a trainer locks a run's: runs/lock.py)."""
        summary = self.summary()
        status = summary.get("status", "unknown")
        if status == "running" and not runs.is_locked(self.path):
            return "crashed"
        return status

    def trials(self) -> pd.DataFrame:
        """trials.csv, parameter columns as text; the last row of each trial (a resumed sweep
        appends a trial again). A trailing incomplete line is ignored."""
        path, info = self.path / "trials.csv", self.info()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RunError(f"{path}: missing") from None
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]
        text_columns = {p: str for p in info["params"]}
        try:
            frame = pd.read_csv(io.StringIO(text), dtype={**text_columns, "trial": str},
                                keep_default_na=False, na_values=[""])
        except Exception as e:  # pandas' parser errors
            raise RunError(f"{path}: damaged CSV ({e})") from None
        if frame.empty:
            return frame
        return frame.drop_duplicates("trial", keep="last").reset_index(drop=True)

    def leaderboard(self) -> pd.DataFrame:
        info = self.info()
        return leaderboard(self.trials(), info["params"], info["task"])

    # --- writing -------------------------------------------------------------------------------

    def start(self, spec: SweepSpec, trials: list[Trial], task: str, dataset: dict,
              argv: list[str], resumed: bool) -> None:
        """sweep.json (when new), trials.csv's header (when new), summary.json 'running'."""
        params = spec.params
        if not resumed:
            kind = ("random" if spec.random else "grid" if spec.grid else "repeat")
            runs.write_json(self.path / SWEEP_FILE, {
                "spec": spec.to_dict(), "search": kind, "params": params,
                "configs": len({t.config for t in trials}), "trials": len(trials),
                "task": task, "dataset": dataset, "argv": argv, "versions": versions(),
                "log_params": [n for n, d in spec.sample.items() if d.startswith("log:")],
            })
            header = ",".join(trial_columns(params, task)) + "\n"
            runs.write_atomic(self.path / "trials.csv", header.encode())
        summary = self.summary() if resumed else {"id": self.id, "started": runs.now_iso()}
        if resumed:
            summary["resumed"] = [*summary.get("resumed", []), {"argv": argv,
                                                                "at": runs.now_iso()}]
        summary.update(status="running", pid=os.getpid(), host=socket.gethostname())
        runs.write_json(self.path / "summary.json", summary)

    def append_trial(self, row: dict) -> None:
        """One line of trials.csv, written with a single call (never a partial line)."""
        info = self.info_cached()
        cells = [row.get(c) for c in trial_columns(info["params"], info["task"])]
        line = ",".join(_csv_cell(v) for v in cells) + "\n"
        fd = os.open(self.path / "trials.csv", os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def info_cached(self) -> dict:
        if not hasattr(self, "_info"):
            self._info = self.info()
        return self._info

    def finish(self, status: str, trial_order: list[str], seconds: float,
               refit: str | None = None, plot: bool = True) -> dict:
        """Rewrite trials.csv in trial order, write leaderboard.csv, sweep.png, summary.json."""
        info = self.info()
        trials = self.trials()
        if not trials.empty:
            order = {t: i for i, t in enumerate(trial_order)}
            trials = trials.sort_values("trial", key=lambda s: s.map(order), kind="stable")
        columns = trial_columns(info["params"], info["task"])
        runs.write_atomic(self.path / "trials.csv",
                          trials.reindex(columns=columns).to_csv(index=False).encode())
        board = leaderboard(trials, info["params"], info["task"])
        runs.write_atomic(self.path / "leaderboard.csv", board.to_csv(index=False).encode())
        if plot and info["params"] and not board.empty and board["mean"].notna().any():
            from mlpcli.sweep.plot import sweep_plot

            runs.write_atomic(self.path / "sweep.png",
                              sweep_plot(trials, info["params"], board["metric"].iloc[0],
                                         info.get("log_params", [])))
        summary = self.summary()
        counts = trials["status"].value_counts().to_dict() if not trials.empty else {}
        summary.update(status=status, ended=runs.now_iso(),
                       seconds=summary.get("seconds", 0.0) + seconds,
                       trials={"total": info["trials"], "done": len(trials),
                               **{str(k): int(v) for k, v in counts.items()}},
                       metric=metric_name(trials, info["task"]) if not trials.empty else None,
                       best=best_config(board, info["params"]),
                       best_trial=best_trial(trials, board, info["params"]),
                       note=excluded_note(trials) if not trials.empty else None)
        if refit:
            summary["refit"] = refit
        runs.write_json(self.path / "summary.json", summary)
        return summary

    def write_trial(self, result, trial: Trial, dataset: dict, argv: list[str],
                    plots: bool) -> Path:
        """The trial's ordinary run directory, as `mlpcli train` writes one."""
        path = self.path / trial.id
        path.mkdir(exist_ok=True)
        config = {"options": result.options, "dataset": {**dataset, **result.split},
                  "sweep": {"id": self.id, "trial": trial.id, "params": trial.params},
                  "argv": argv, "versions": versions()}
        if trial.fold is not None:
            config["fold"] = {"index": trial.fold, "folds": trial.folds}
        summary = {"id": trial.id, "name": None, "dataset": dataset["path"], "argv": argv,
                   "task": (result.model_info or {}).get("task"),
                   "dropped_rows": dataset.get("dropped_rows", 0)}
        ending = {"status": result.status, "ended": runs.now_iso(), **result.summary,
                  "error": result.error, "pid": os.getpid(), "host": socket.gethostname()}
        runs.write_json(path / "config.json", config)
        if result.model_info is None:  # failed before the network existed
            runs.write_json(path / "summary.json", {**summary, **ending})
            return path
        runs.write_json(path / "model.json", result.model_info)
        runs.write_atomic(path / "metrics.csv", result.metrics.encode())
        writer = runs.RunWriter(path, config=config, model_info=result.model_info,
                                summary=summary)
        if result.weights is not None:
            runs.save_npz(path / "weights.npz", result.weights)
            writer.write_checkpoint(types.SimpleNamespace(state=lambda: result.state))
        if result.predictions is not None:
            runs.write_atomic(path / "predictions.csv", result.predictions.encode())
        if plots:
            from mlpcli.report.plots import loss_plot

            metrics = runs.Run(path).metrics()
            runs.write_atomic(path / "loss.png", loss_plot(metrics, f"{self.id}/{trial.id}"))
        writer.finish(**ending)  # summary.json last, as in training
        return path

    def resume_state(self, trial: Trial) -> dict | None:
        """An interrupted trial's checkpoint and the metrics rows it covers, or None."""
        path = self.path / trial.id
        try:
            if runs.Run(path).summary().get("status") != "interrupted":
                return None
            state = runs.load_checkpoint(path / "checkpoint.npz")
            metrics = runs.Run(path).metrics()
        except RunError:
            return None
        kept = metrics[metrics["epoch"] <= state["epoch"]]
        history = [EpochRecord(**{k: (None if v != v else int(v) if k == "epoch" else float(v))
                                  for k, v in row.items()}) for row in kept.to_dict("records")]
        return {"state": state, "history": history}


def trial_row(result, trial: Trial, params: list[str]) -> dict:
    """The trial's trials.csv row."""
    final = result.summary.get("final") or {}
    row = {"trial": trial.id, "seed": trial.seed, "fold": trial.fold, "status": result.status,
           "epochs_run": result.summary.get("epochs_run"),
           "best_epoch": result.summary.get("best_epoch"),
           "seconds": result.summary.get("seconds"), "run": trial.id}
    row.update({p: value_text(trial.params[p]) for p in params})
    for key in ("train_loss", "val_loss", "train_acc", "val_acc", "train_r2", "val_r2"):
        row[key] = final.get(key)
    return row


def best_config(board: pd.DataFrame, params: list[str]) -> dict | None:
    """The leaderboard's first row as {params, metric, mean, std, trials}, or None."""
    if board.empty or board["mean"].isna().all():
        return None
    top = board.iloc[0]
    best = {"params": {p: top[p] for p in params}, "metric": top["metric"],
            "mean": float(top["mean"]), "trials": int(top["trials"]),
            "std": None if pd.isna(top["std"]) else float(top["std"])}
    if "solved" in board:
        best["solved"] = float(top["solved"])
    return best


def best_trial(trials: pd.DataFrame, board: pd.DataFrame, params: list[str]) -> str | None:
    """The best configuration's finished trial with the best metric (then lowest val_loss)."""
    if board.empty or board["mean"].isna().all():
        return None
    top, metric = board.iloc[0], board["metric"].iloc[0]
    mine = trials[trials["status"] == "finished"]
    for p in params:
        mine = mine[mine[p] == top[p]]
    order = mine.assign(_loss=mine["val_loss"].fillna(mine["train_loss"]))
    order = order.sort_values([metric, "_loss"], ascending=[False, True], kind="stable")
    return str(order["trial"].iloc[0])


def _csv_cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = repr(value) if isinstance(value, float) else str(value)
    return f'"{text}"' if "," in text or '"' in text else text

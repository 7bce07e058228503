"""`mlpcli runs export-mlflow`: replay run directories into an MLflow tracking store.

Each run becomes an MLflow run with
  params    config.json flattened: options.lr, dataset.sha256, versions.numpy, … (lists as JSON)
  metrics   metrics.csv per epoch (step = epoch, timestamp = start + training seconds), sent
            with log_batch; then the final metrics of summary.json as final_<name> (step = the
            last epoch), epochs_run and best_epoch
  tags      mlpcli.run_id (what re-export finds it by), status, dataset sha256, mlpcli version,
            the command line; mlflow.runName
  artifacts every file of the run directory
A sweep becomes a parent run (sweep.json flattened, the best configuration's mean, the sweep's
own files) with one child run per trial. Exporting again updates runs found by mlpcli.run_id
instead of adding new ones: new epochs are appended, artifacts replaced; a run whose options
changed since (a resumed run's --epochs) is replaced by a fresh MLflow run.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mlpcli import __version__, runs
from mlpcli.errors import ConfigError, RunError
from mlpcli.export import require

TAG_ID = "mlpcli.run_id"
DEFAULT_EXPERIMENT = "mlpcli"
BATCH = 1000  # MLflow's limit of metrics per log_batch call
PARAM_BATCH = 100  # … and of params
_STATUS = {"finished": "FINISHED", "interrupted": "KILLED", "running": "RUNNING"}


@dataclass
class Exported:
    """One exported run or sweep: its mlpcli id, MLflow run id, and what happened."""

    mlpcli_id: str
    mlflow_id: str
    action: str  # created | updated | replaced
    children: list[Exported] = field(default_factory=list)


def flatten(value, prefix: str = "") -> dict[str, str]:
    """Nested dicts → {"a.b": "value"}; lists and other values as JSON text (strings as is)."""
    if isinstance(value, dict) and value:
        out = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    text = value if isinstance(value, str) else json.dumps(value)
    return {prefix: text}


def export_runs(specs: list[str], runs_dir="runs", tracking_uri: str = "",
                experiment: str = DEFAULT_EXPERIMENT) -> tuple[list[Exported], list[str]]:
    """Export the runs and sweeps named by `specs` (all of runs_dir when empty): what was
    exported, and one line for each run skipped because its files are damaged."""
    if not tracking_uri:
        raise ConfigError("--tracking-uri is required, e.g. --tracking-uri sqlite:///mlflow.db")
    paths = [runs.resolve_run(s, runs_dir) for s in specs] or sorted(
        runs.run_dirs(runs_dir) + runs.sweep_dirs(runs_dir))
    if not paths:
        raise RunError(f"no runs in {runs_dir} to export; train one with: mlpcli train DATA")
    require("mlflow", "mlflow", "runs export-mlflow")
    # an unreachable server: fail in seconds, not after MLflow's 7 retries (minutes); the
    # environment variable, when set, still decides
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    for name in ("alembic", "mlflow"):  # their start-up chatter is not for the terminal
        logging.getLogger(name).setLevel(logging.WARNING)
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    exported, skipped = [], []
    try:
        client = MlflowClient(tracking_uri=tracking_uri)
        found = client.get_experiment_by_name(experiment)
        store = _Store(client, found.experiment_id if found else
                       client.create_experiment(experiment))
        for path in paths:
            try:
                exported.append(store.sweep(path) if runs.is_sweep(path)
                                else store.run(path, path.name))
            except RunError as e:
                skipped.append(f"skipped {path.name}: {e}")
    except MlflowException as e:
        message = " ".join(str(e.message).split())
        raise ConfigError(f"MLflow at {tracking_uri}: {message[:300]}") from None
    return exported, skipped


class _Store:
    def __init__(self, client, experiment_id: str):
        self.client, self.experiment_id = client, experiment_id

    def run(self, path: Path, mlpcli_id: str, parent: str | None = None) -> Exported:
        run = runs.Run(path)
        summary = run.summary()
        try:
            status = run.status()
        except RunError:
            status = "damaged"
        config = run.config()
        params = flatten({k: config.get(k) for k in ("options", "dataset", "versions")
                          if config.get(k) is not None})
        tags = {"status": status, "dataset_sha256": config.get("dataset", {}).get("sha256"),
                "mlpcli_version": config.get("versions", {}).get("mlpcli", __version__),
                "mlpcli.command": " ".join(map(str, config.get("argv") or [])),
                "mlpcli.path": str(path.resolve())}
        mlflow_id, action = self._open(mlpcli_id, path.name, summary, params, tags, parent)
        start = _millis(summary.get("started"))
        metrics = run.metrics()
        done = self._last_step(mlflow_id, "train_loss")
        per_epoch = []
        for record in metrics.to_dict("records"):
            epoch = int(record["epoch"])
            if epoch <= done:
                continue
            stamp = start + int(1000 * (record["seconds"] or 0))
            per_epoch += [(key, float(value), stamp, epoch) for key, value in record.items()
                          if key not in ("epoch", "seconds") and _finite(value)]
        last = int(metrics["epoch"].max()) if len(metrics) else 0
        finals = [(f"final_{k}", float(v), _millis(summary.get("ended")) or start, last)
                  for k, v in (summary.get("final") or {}).items() if _finite(v)]
        finals += [(k, float(summary[k]), start, last) for k in ("epochs_run", "best_epoch")
                   if _finite(summary.get(k))]
        self._log_metrics(mlflow_id, per_epoch + finals)
        self._finish(mlflow_id, path, status, summary)
        return Exported(mlpcli_id, mlflow_id, action)

    def sweep(self, path: Path) -> Exported:
        from mlpcli.sweep.store import SweepDir

        sweep = SweepDir(path)
        summary, info = sweep.summary(), sweep.info()
        params = flatten({"spec": info.get("spec"), "search": info.get("search"),
                          "dataset": info.get("dataset"), "versions": info.get("versions")})
        tags = {"status": summary.get("status", "unknown"), "mlpcli.kind": "sweep",
                "mlpcli_version": __version__, "mlpcli.path": str(path.resolve())}
        mlflow_id, action = self._open(path.name, path.name, summary, params, tags, None)
        best = summary.get("best") or {}
        if _finite(best.get("mean")):
            stamp = _millis(summary.get("ended")) or _millis(summary.get("started"))
            self._log_metrics(mlflow_id, [(f"best_{best.get('metric')}_mean",
                                           float(best["mean"]), stamp, 0)])
        children = [self.run(trial, f"{path.name}/{trial.name}", parent=mlflow_id)
                    for trial in sorted(p for p in path.iterdir()
                                        if (p / "summary.json").is_file())]
        self._finish(mlflow_id, path, summary.get("status", "unknown"), summary)
        return Exported(path.name, mlflow_id, action, children)

    # -- pieces ------------------------------------------------------------------------------

    def _open(self, mlpcli_id, name, summary, params, tags, parent) -> tuple[str, str]:
        """The MLflow run for `mlpcli_id`: found by its tag, or created (replaced when a
        logged parameter changed, as MLflow parameters cannot be rewritten)."""
        from mlflow.entities import Param, RunTag

        existing = self.client.search_runs([self.experiment_id],
                                           f"tags.`{TAG_ID}` = '{_quote(mlpcli_id)}'")
        action = "created"
        if existing:
            old = existing[0]
            for duplicate in existing[1:]:
                self.client.delete_run(duplicate.info.run_id)
            if all(old.data.params.get(k, v) == v for k, v in params.items()):
                mlflow_id, action = old.info.run_id, "updated"
                params = {k: v for k, v in params.items() if k not in old.data.params}
            else:
                self.client.delete_run(old.info.run_id)
                action = "replaced"
        if action != "updated":
            mlflow_id = self.client.create_run(
                self.experiment_id, start_time=_millis(summary.get("started")) or None,
                run_name=name).info.run_id
        tags = {**tags, TAG_ID: mlpcli_id, "mlflow.runName": name}
        if parent:
            tags["mlflow.parentRunId"] = parent
        tag_list = [RunTag(k, str(v)) for k, v in tags.items() if v is not None]
        items = [Param(k, v) for k, v in params.items()]
        for i in range(0, max(len(items), 1), PARAM_BATCH):
            self.client.log_batch(mlflow_id, params=items[i:i + PARAM_BATCH],
                                  tags=tag_list if i == 0 else [])
        return mlflow_id, action

    def _last_step(self, mlflow_id: str, key: str) -> int:
        history = self.client.get_metric_history(mlflow_id, key)
        return max((m.step for m in history), default=0)

    def _log_metrics(self, mlflow_id: str, values) -> None:
        from mlflow.entities import Metric

        metrics = [Metric(k, v, stamp, step) for k, v, stamp, step in values]
        for i in range(0, len(metrics), BATCH):
            self.client.log_batch(mlflow_id, metrics=metrics[i:i + BATCH])

    def _finish(self, mlflow_id: str, path: Path, status: str, summary: dict) -> None:
        files = [p for p in sorted(path.iterdir()) if p.is_file() and not p.name.startswith(".")]
        for file in files:
            self.client.log_artifact(mlflow_id, str(file))
        mlflow_status = _STATUS.get(status, "FAILED")
        if mlflow_status != "RUNNING":
            self.client.set_terminated(mlflow_id, mlflow_status,
                                       end_time=_millis(summary.get("ended")) or None)


def _millis(iso) -> int:
    """Milliseconds since the epoch of an ISO time (0 when absent or unreadable)."""
    try:
        return int(datetime.fromisoformat(iso).timestamp() * 1000)
    except (TypeError, ValueError):
        return 0


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")

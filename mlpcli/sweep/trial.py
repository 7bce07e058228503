"""One trial of a sweep: a pure function of its spec and the sweep's data.

The CSV is read once per sweep (`load_shared`), or not at all when the data cache has it: raw
inputs and encoded targets of every row, in float64, unstandardized (memory-mapped from the
cache, and so shared by the sweep's worker processes). A trial splits them (the --val-frac split
drawn from its seed exactly as `mlpcli train` draws it, or its fold), fits the standardization on
its own training rows, trains, and returns its results as values; the sweep's process writes them
to disk. So a trial's weights depend only on (options, seed, fold) — not on the worker it ran
on — and a trial without --folds has exactly the weights of `mlpcli train` with the same
options and seed.
"""

from __future__ import annotations

import copy
import time
import traceback
from dataclasses import dataclass, field, replace

import numpy as np

from mlpcli import experiment, runs
from mlpcli.config import Config
from mlpcli.data import Dataset, Preprocessor, default_val_frac, load_dataset, split_rows
from mlpcli.data.cache import DataCache, by_reference, resolve
from mlpcli.sweep.folds import assign_folds, fold_rows, small_classes
from mlpcli.sweep.spec import Trial

# the options that change what is read from the CSV; trials differing only in others share it
LOAD_OPTIONS = ("data", "target", "features", "drop_columns", "task", "loss", "dropna", "sep",
                "encoding")


@dataclass
class TrialData:
    """Every row of the data as arrays: what all trials with the same loading options share."""

    X: np.ndarray  # (rows, inputs) float64, one-hot encoded, not standardized
    Y: np.ndarray  # (rows, outputs) float64, encoded, not standardized
    rows: np.ndarray  # data-row index in the file of each row
    pre: dict  # the preprocessor (Preprocessor.to_dict), standardization not fitted
    dataset: dict  # path, sha256, rows, columns, dropped_rows (config.json's "dataset")
    folds: np.ndarray | None = None  # fold of each row (--folds)
    warnings: list = field(default_factory=list)
    init: dict = field(default_factory=dict)  # --init path -> its arrays (read once)

    def by_reference(self) -> TrialData:
        """This data for a worker process on this machine: arrays memory-mapped from the data
        cache go by file name, so that every worker maps the same pages instead of receiving
        (and holding) a copy."""
        return replace(self, X=by_reference(self.X), Y=by_reference(self.Y),
                       rows=by_reference(self.rows))

    def resolved(self) -> TrialData:
        """The data by_reference() sent, its arrays mapped again."""
        return replace(self, X=resolve(self.X), Y=resolve(self.Y), rows=resolve(self.rows))


@dataclass
class TrialSpec:
    """What a worker needs besides the data: the trial, its options, how to continue it."""

    trial: Trial
    options: dict  # the trial's Config options
    data_key: str  # which TrialData it uses
    resume: dict | None = None  # {"state": checkpoint state, "history": [EpochRecord]}


@dataclass
class TrialResult:
    """Everything the sweep writes for a trial (see store.write_trial)."""

    id: str
    status: str  # finished | interrupted | diverged | failed
    error: str | None = None
    options: dict = field(default_factory=dict)  # the resolved Config options
    split: dict = field(default_factory=dict)  # train_rows, val_rows
    model_info: dict | None = None
    weights: dict | None = None
    state: dict | None = None  # the trainer's state, for checkpoint.npz
    metrics: str | None = None  # metrics.csv (formatted by the worker, not the sweep's process)
    summary: dict = field(default_factory=dict)  # summary.json's result fields
    predictions: str | None = None  # predictions.csv


def data_key(options: dict) -> str:
    """The loading options of a trial, as a key of the shared data."""
    return repr(tuple(options.get(k) for k in LOAD_OPTIONS))


def load_shared(cfg: Config, folds: int) -> TrialData:
    """Read and check the CSV for `cfg` once: DataError/ConfigError before any trial starts."""
    data = load_dataset(
        cfg.data, target=cfg.target or None, features=cfg.features or None,
        drop_columns=cfg.drop_columns, task=cfg.task, loss=cfg.loss, standardize=False,
        val_frac=0.0, dropna=cfg.dropna, sep=cfg.sep, encoding=cfg.encoding,
        rng=np.random.default_rng(0), dtype=np.float64, cache=DataCache.from_env())
    pre = data.preprocessor
    shared = TrialData(
        X=data.X_train, Y=data.Y_train, rows=data.train_rows, pre=pre.to_dict(),
        dataset={"path": str(data.path), "sha256": data.sha256, "rows": data.n_rows,
                 "columns": data.n_columns, "dropped_rows": data.n_dropped},
        warnings=list(data.warnings))
    if folds:
        labels = _labels(data.Y_train) if pre.task == "classification" else None
        shared.folds = assign_folds(len(data.X_train), folds, cfg.seed, labels)
        if labels is not None:
            shared.warnings += small_classes(labels, folds, pre.classes)
    return shared


def _labels(Y: np.ndarray) -> np.ndarray:
    return (Y[:, 0] > 0.5).astype(np.intp) if Y.shape[1] == 1 else Y.argmax(axis=1)


def trial_dataset(data: TrialData, cfg: Config, fold: int | None, rng) -> Dataset:
    """The trial's Dataset: its rows split off, standardization fitted on its training rows."""
    n = len(data.X)
    if fold is None:
        vf = default_val_frac(n) if cfg.val_frac is None else cfg.val_frac
        train, val = split_rows(n, vf, rng)  # draws from rng exactly as `mlpcli train` does
    else:
        train, val = fold_rows(data.folds, fold)
        vf = len(val) / n
    pre = Preprocessor.from_dict(copy.deepcopy(data.pre))
    pre.standardize = cfg.standardize
    everything = len(val) == 0
    X_train = data.X if everything else data.X[train]
    Y_train = data.Y if everything else data.Y[train]
    X_train, X_val = np.array(X_train), data.X[val]
    Y_train, Y_val = np.array(Y_train), data.Y[val]
    if cfg.standardize:
        mean, std = _mean_std(X_train)
        onehot = np.repeat([f in pre.categories for f in pre.features],
                           [len(pre.categories.get(f, [None])) for f in pre.features])
        mean[onehot], std[onehot] = 0.0, 1.0  # one-hot inputs stay 0/1
        pre.x_mean, pre.x_std = mean.tolist(), std.tolist()
        for X in (X_train, X_val):
            X -= np.asarray(pre.x_mean)
            X /= np.asarray(pre.x_std)
        if pre.task == "regression":
            mean, std = _mean_std(Y_train)
            pre.y_mean, pre.y_std = mean.tolist(), std.tolist()
            for Y in (Y_train, Y_val):
                Y -= np.asarray(pre.y_mean)
                Y /= np.asarray(pre.y_std)
    dtype = np.dtype(cfg.dtype)
    return Dataset(
        X_train=np.ascontiguousarray(X_train, dtype=dtype),
        Y_train=np.ascontiguousarray(Y_train, dtype=dtype),
        X_val=np.ascontiguousarray(X_val, dtype=dtype),
        Y_val=np.ascontiguousarray(Y_val, dtype=dtype),
        train_rows=data.rows[train], val_rows=data.rows[val], preprocessor=pre,
        path=data.dataset["path"], sha256=data.dataset["sha256"], n_rows=data.dataset["rows"],
        n_columns=data.dataset["columns"], val_frac=vf,
        n_dropped=data.dataset["dropped_rows"], warnings=[])


def _mean_std(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (ddof 0), std 1 for a constant column — as the
    data loader fits them, so that a trial standardizes exactly as `mlpcli train` does."""
    mean, std = A.mean(axis=0), A.std(axis=0)
    std[np.ptp(A, axis=0) == 0] = 1.0
    return mean, std


class _StopCheck:
    """Training callback: asks the trainer to stop when `should_stop()` says so."""

    def __init__(self, should_stop):
        self.should_stop = should_stop

    def on_epoch_end(self, record, trainer) -> None:
        if self.should_stop():
            trainer.request_stop()


def run_trial(spec: TrialSpec, data: TrialData, should_stop=None) -> TrialResult:
    """Train one trial; never raises for a trial's own failure (status 'failed' instead).

    `should_stop()`, checked after every epoch, stops the trial as Ctrl-C stops `mlpcli train`.
    """
    t0, started = time.time(), runs.now_iso()
    trial, result = spec.trial, TrialResult(spec.trial.id, "failed")
    try:
        cfg = Config.from_dict(spec.options, source=f"trial {trial.id}")
        rng = np.random.default_rng(cfg.seed)
        dataset = trial_dataset(data, cfg, trial.fold, rng)
        cfg = cfg.replace(val_frac=dataset.val_frac, init_scheme=cfg.resolved_init_scheme)
        pre = dataset.preprocessor
        model = experiment.build_model(cfg.replace(init=None), pre, rng)
        if cfg.init:
            model.load_params(data.init[cfg.init], source=f"--init {cfg.init}")
        result.options, result.model_info = cfg.to_dict(), experiment.model_info(cfg, model, pre)
        result.split = {"train_rows": len(dataset.X_train), "val_rows": len(dataset.X_val)}
        callbacks = [] if should_stop is None else [_StopCheck(should_stop)]
        trainer = experiment.make_trainer(cfg, dataset, model, rng, callbacks=callbacks)
        if spec.resume is not None:
            trainer.load_state(spec.resume["state"])
            trainer.history = list(spec.resume["history"])
        outcome = trainer.run()
    except Exception as e:  # a trial's failure is its result; the sweep goes on
        result.error = f"{type(e).__name__}: {e}"
        result.summary = {"started": started, "traceback": traceback.format_exc(limit=-3)}
        return result
    result.status, result.error = outcome.status, outcome.message or None
    result.weights, result.state = model.params(), trainer.state()
    result.metrics = "".join([",".join(runs.METRICS_COLUMNS) + "\n",
                              *map(runs.metrics_line, trainer.history)])
    best = next((r.as_dict() for r in trainer.history if r.epoch == outcome.best_epoch), None)
    result.summary = {
        "started": started, "seconds": trainer.elapsed, "wall_seconds": time.time() - t0,
        "epochs_run": outcome.epochs_run, "best_epoch": outcome.best_epoch,
        "stopped_early": outcome.stopped_early, "error": outcome.message or None,
        "best": best, "final": experiment.summary_metrics(trainer, dataset),
    }
    rows = ((dataset.X_val, dataset.Y_val, dataset.val_rows) if len(dataset.X_val)
            else (dataset.X_train, dataset.Y_train, dataset.train_rows))
    result.predictions = experiment.predictions_frame(model, pre, *rows).to_csv(index=False)
    return result

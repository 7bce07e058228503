"""What `mlpcli train` and `mlpcli gradcheck` do, as library functions.

    CSV → Dataset → MLP ⇄ Trainer → run directory

`train(cfg)` loads and checks the data *before* creating the run directory, so bad input leaves
nothing behind; from then on the run directory always says how the run ended.
"""

from __future__ import annotations

import contextlib
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpcli import __version__, runs
from mlpcli.config import Config
from mlpcli.core.kernels import MLP
from mlpcli.core.losses import predicted_class
from mlpcli.core.metrics import outputs_report, regression_scores
from mlpcli.core.train import EpochRecord, Trainer, TrainResult
from mlpcli.data import Dataset, Preprocessor, load_dataset
from mlpcli.errors import ConfigError, RunError
from mlpcli.report.draw import Snapshots, draw_pictures


@dataclass
class Outcome:
    path: Path  # the run directory
    result: TrainResult
    summary: dict


def load_data(cfg: Config, rng: np.random.Generator) -> Dataset:
    return load_dataset(
        cfg.data, target=cfg.target or None, features=cfg.features or None,
        drop_columns=cfg.drop_columns, task=cfg.task, loss=cfg.loss, standardize=cfg.standardize,
        val_frac=cfg.val_frac, dropna=cfg.dropna, sep=cfg.sep, encoding=cfg.encoding, rng=rng,
        dtype=np.dtype(cfg.dtype),
    )


def build_model(cfg: Config, pre: Preprocessor, rng: np.random.Generator) -> MLP:
    """The network for this data: initialised from `rng`, or from --init's weights."""
    sizes = [pre.n_inputs, *cfg.hidden, pre.n_outputs]
    model = MLP.initialized(sizes, cfg.activation, cfg.resolved_init_scheme, rng, cfg.dtype)
    if cfg.init:
        model.load_params(runs.load_npz(cfg.init, what="--init"), source=f"--init {cfg.init}")
    return model


def make_trainer(cfg: Config, data: Dataset, model: MLP, rng, callbacks=()) -> Trainer:
    """The Trainer for this data and network, as `mlpcli train` sets it up."""
    pre = data.preprocessor
    return Trainer(
        model, data.X_train, data.Y_train, data.X_val, data.Y_val, cfg=cfg, rng=rng,
        loss_weights=pre.output_weights, classification=pre.task == "classification",
        callbacks=callbacks,
    )


def prepare(cfg: Config) -> tuple[Trainer, Dataset]:
    """Data, network and trainer for `cfg`, without a run directory (notebooks, benchmarks)."""
    rng = np.random.default_rng(cfg.seed)
    data = load_data(cfg, rng)
    cfg = cfg.replace(val_frac=data.val_frac, init_scheme=cfg.resolved_init_scheme)
    return make_trainer(cfg, data, build_model(cfg, data.preprocessor, rng), rng), data


def model_info(cfg: Config, model: MLP, pre: Preprocessor) -> dict:
    """model.json: everything `predict` needs besides the weights."""
    return {
        "layers": model.sizes, "activation": model.activation, "loss": cfg.loss,
        "task": pre.task, "features": pre.features, "inputs": pre.input_names,
        "targets": pre.targets, "classes": pre.classes, "dtype": cfg.dtype,
        "preprocessing": pre.to_dict(),
    }


def versions() -> dict:
    return {"mlpcli": __version__, "numpy": np.__version__,
            "python": platform.python_version()}


def predictions_frame(model: MLP, pre: Preprocessor, X, Y, rows):
    """predictions.csv: data row, true target(s), prediction(s) and class probabilities."""
    import pandas as pd

    Yhat = model.forward(X)
    true = pd.DataFrame({"row": rows})
    if pre.task == "classification":
        labels = np.asarray(pre.classes, dtype=object)[predicted_class(Y)]
        true[pre.targets[0]] = labels
    else:
        values = Y * np.asarray(pre.y_std) + np.asarray(pre.y_mean)
        for k, name in enumerate(pre.targets):
            true[name] = values[:, k]
    return pd.concat([true, pre.decode(Yhat).reset_index(drop=True)], axis=1)


def summary_metrics(trainer: Trainer, data: Dataset) -> dict:
    """Final metrics of the saved weights on the training and validation rows, and "report":
    the full report (metrics.outputs_report) on the validation rows (the training rows
    without a validation split), with "split" saying which."""
    out = {}
    for split, X, Y in (("train", data.X_train, data.Y_train), ("val", data.X_val, data.Y_val)):
        if len(X) == 0:
            continue
        loss, acc = trainer.evaluate(X, Y)
        out[f"{split}_loss"] = loss
        if acc is not None:
            out[f"{split}_acc"] = acc
        if data.preprocessor.task == "regression":
            scores = regression_scores(trainer.model.forward(X), Y, data.preprocessor.y_std)
            out.update({f"{split}_{k}": v for k, v in scores.items()})
    split, X, Y = (("val", data.X_val, data.Y_val) if len(data.X_val)
                   else ("train", data.X_train, data.Y_train))
    pre = data.preprocessor
    out["report"] = {"split": split, **outputs_report(
        trainer.model.forward(X), Y, task=pre.task, classes=pre.classes, loss=trainer.cfg.loss,
        y_std=pre.y_std, targets=pre.targets)}
    return out


def train(cfg: Config, *, callbacks=(), argv=None, resume: Path | None = None,
          on_start=None) -> Outcome:
    """Train as `mlpcli train` does and write the run directory.

    `callbacks` get the trainer's events (see train.py) plus `on_run_start(info)` first.
    `on_start(trainer)` is called once the trainer exists (the CLI hooks Ctrl-C there).
    `resume`: an existing run directory to continue from its checkpoint.
    """
    cfg = cfg.validated()
    argv = list(argv) if argv is not None else list(sys.argv)
    if resume is not None:  # before loading data: a run that cannot be resumed fails fast
        path = Path(resume)
        summary = _resumable_summary(path)
    rng = np.random.default_rng(cfg.seed)
    data = load_data(cfg, rng)
    cfg = cfg.replace(val_frac=data.val_frac, init_scheme=cfg.resolved_init_scheme)
    model = build_model(cfg, data.preprocessor, rng)
    pre = data.preprocessor

    if resume is None:
        path = runs.create_run_dir(cfg.runs_dir, cfg.name or Path(data.path).stem)
        summary = {"id": path.name, "name": cfg.name, "dataset": str(data.path), "argv": argv}
    else:  # the run keeps its original command; each resumption is recorded beside it
        _check_same_data(path, data)
        summary.setdefault("argv", argv)
        summary["resumed"] = [*summary.get("resumed", []), {"argv": argv, "at": runs.now_iso()}]
    summary.update(task=pre.task, dropped_rows=data.n_dropped)
    try:
        return _train_in(path, cfg, data, model, rng, summary, callbacks, resume, on_start)
    except BaseException:
        if resume is None:  # stopped before training wrote anything: leave no empty run behind
            with contextlib.suppress(OSError):
                path.rmdir()  # only succeeds while the directory is still empty
        raise


def _train_in(path: Path, cfg: Config, data: Dataset, model: MLP, rng, summary: dict,
              callbacks, resume, on_start) -> Outcome:
    pre = data.preprocessor
    config = {
        "options": cfg.to_dict(),
        "dataset": {"path": str(data.path), "sha256": data.sha256, "rows": data.n_rows,
                    "columns": data.n_columns, "train_rows": len(data.X_train),
                    "val_rows": len(data.X_val), "dropped_rows": data.n_dropped},
        "argv": summary["argv"],
        "versions": versions(),
    }
    rows_X, rows_Y, rows = ((data.X_val, data.Y_val, data.val_rows) if len(data.X_val)
                            else (data.X_train, data.Y_train, data.train_rows))
    snapshots = [Snapshots()] if cfg.animate else []  # weights for training.gif
    writer = runs.RunWriter(
        path, config=config, model_info=model_info(cfg, model, pre), summary=summary,
        checkpoint_every=cfg.checkpoint_every, append_metrics=resume is not None,
        predictions=lambda m: predictions_frame(m, pre, rows_X, rows_Y, rows),
        pictures=lambda m: draw_pictures(
            m, pre, {"train": (data.X_train, data.Y_train),
                     "validation": (data.X_val, data.Y_val)},
            snapshots=snapshots[0] if snapshots else None, title=cfg.name or path.name),
    )
    trainer = make_trainer(cfg, data, model, rng, callbacks=[*snapshots, writer, *callbacks])
    if resume is not None:
        _restore(trainer, path, cfg)
        summary["resumed"][-1]["epoch"] = trainer.epoch

    info = {"id": path.name, "path": path, "dataset": data.path, "task": pre.task,
            "classes": pre.classes, "targets": pre.targets, "layers": model.sizes,
            "train_rows": len(data.X_train), "val_rows": len(data.X_val),
            "warnings": data.warnings, "config": cfg, "resumed_from": trainer.epoch}
    for cb in callbacks:
        getattr(cb, "on_run_start", lambda info: None)(info)
    if on_start is not None:
        on_start(trainer)

    t0 = time.time()
    try:
        result = trainer.run()
    except BaseException as e:  # record how the run ended, then let the caller report it
        status = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
        writer.close_metrics()
        writer.finish(status=status, ended=runs.now_iso(), error=f"{type(e).__name__}: {e}",
                      epochs_run=trainer.epoch, seconds=trainer.elapsed)
        raise
    summary = {
        "status": result.status, "ended": runs.now_iso(),
        "seconds": trainer.elapsed, "wall_seconds": time.time() - t0,
        "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early, "error": result.message or None,
        "best": _record_at(trainer, result.best_epoch),
        "final": summary_metrics(trainer, data),
    }
    writer.finish(**summary)
    return Outcome(path, result, writer.summary)


def _record_at(trainer: Trainer, epoch: int) -> dict | None:
    for record in trainer.history:
        if record.epoch == epoch:
            return record.as_dict()
    return None


def _resumable_summary(path: Path) -> dict:
    """The run's summary.json, minus the fields of its last ending; RunError/ConfigError if the
    run cannot be continued (still training, stopped early, diverged)."""
    summary = runs.Run(path).summary()
    status, pid, host = summary.get("status"), summary.get("pid"), summary.get("host")
    if status == "running" and runs.process_alive(pid, host):
        raise RunError(f"{path} is still training (process {pid} on {host}); wait for it to "
                       f"end or stop it (kill -INT {pid}) before resuming")
    weights, data = path / "weights.npz", summary.get("dataset") or "DATA"
    if status == "diverged":
        raise ConfigError(f"{path} diverged; resuming would repeat it with the same options. "
                          f"Start a new run from its last good weights with a smaller --lr: "
                          f"mlpcli train {data} --init {weights} --lr …")
    if summary.get("stopped_early"):
        raise ConfigError(f"{path} stopped early (no improvement for --patience epochs), so "
                          f"more epochs would stop again at once; start a new run from its "
                          f"weights instead: mlpcli train {data} --init {weights} --patience 0")
    for key in ("ended", "seconds", "wall_seconds", "epochs_run", "best_epoch",
                "stopped_early", "error", "best", "final"):
        summary.pop(key, None)
    return summary


def _check_same_data(path: Path, data: Dataset) -> None:
    """Resuming on data other than the run's would not continue the same run."""
    recorded = runs.Run(path).config().get("dataset", {}).get("sha256")
    if recorded and recorded != data.sha256:
        raise ConfigError(f"{data.path} has changed since run {path.name} started (sha256 "
                          f"differs); resume needs the same data, or start a new run")


def _restore(trainer: Trainer, path: Path, cfg: Config) -> None:
    checkpoint = path / "checkpoint.npz"
    if not checkpoint.exists():
        raise RunError(f"{checkpoint}: missing, so the run cannot be resumed (a checkpoint is "
                       f"written every --checkpoint-every seconds and when a run ends); start "
                       f"a new run, e.g. from its weights with --init")
    state = runs.load_checkpoint(checkpoint)
    if state["theta"].shape != trainer.model.theta.shape:
        raise RunError(f"{checkpoint}: parameters do not match the run's network")
    if (trainer.optimizer.velocity is None) != (state["velocity"] is None):
        raise RunError(f"{checkpoint}: optimizer state does not match the run's --momentum")
    trainer.load_state(state)
    if trainer.epoch >= cfg.epochs:
        raise ConfigError(f"the run already has {trainer.epoch} epochs (--epochs "
                          f"{cfg.epochs}); pass --epochs N with N > {trainer.epoch} to train "
                          f"further")
    # metrics.csv may hold epochs after the checkpoint: keep only those the checkpoint covers
    metrics = runs.Run(path).metrics()
    kept = metrics[metrics["epoch"] <= trainer.epoch]
    if len(kept) < len(metrics) or (path / "metrics.csv").read_bytes()[-1:] != b"\n":
        runs.write_atomic(path / "metrics.csv", kept.to_csv(index=False).encode())
    # the epochs before the checkpoint, so that the summary's best epoch is found among them
    trainer.history = [
        EpochRecord(**{k: (None if v != v else int(v) if k == "epoch" else float(v))
                       for k, v in row.items()})
        for row in kept.to_dict("records")
    ]


# --- gradcheck set-up --------------------------------------------------------------------------

def gradcheck_problem(cfg: Config, samples: int = 16, inputs: int = 3, outputs: int = 2):
    """(model, X, Y) in float64 for gradcheck: the data's first `samples` rows, or random data."""
    rng = np.random.default_rng(cfg.seed)
    cfg = cfg.replace(dtype="float64")
    if cfg.data:  # classes and standardization from the whole file, as training sees them
        data = load_data(cfg.replace(val_frac=0.0), rng)
        model = build_model(cfg, data.preprocessor, rng)
        return model, data.X_train[:samples], data.Y_train[:samples]
    X = rng.standard_normal((samples, inputs))
    if cfg.loss == "ce":
        Y = np.eye(outputs)[rng.integers(0, outputs, samples)]
    else:
        Y = rng.standard_normal((samples, outputs))
    sizes = [inputs, *cfg.hidden, outputs]
    model = MLP.initialized(sizes, cfg.activation, cfg.resolved_init_scheme, rng)
    if cfg.init:
        model.load_params(runs.load_npz(cfg.init, what="--init"), source=f"--init {cfg.init}")
    return model, X, Y

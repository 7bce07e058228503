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
from mlpcli.core.threads import blas_threads
from mlpcli.core.train import EpochRecord, Trainer, TrainResult, outputs
from mlpcli.core.weights import row_weights
from mlpcli.data import Dataset, Preprocessor, dataset_for
from mlpcli.errors import ConfigError, RunError
from mlpcli.report.draw import Snapshots, draw_pictures


@dataclass
class Outcome:
    path: Path  # the run directory
    result: TrainResult
    summary: dict


load_data = dataset_for  # the Dataset of a Config (or of a DataFrame), as `mlpcli train` loads it


def build_model(cfg: Config, pre: Preprocessor, rng: np.random.Generator) -> MLP:
    """The network for this data: initialised from `rng`, or from --init's weights."""
    sizes = [pre.n_inputs, *cfg.hidden, pre.n_outputs]
    model = MLP.initialized(sizes, cfg.activation, cfg.resolved_init_scheme, rng, cfg.dtype)
    if cfg.init:
        model.load_params(runs.load_npz(cfg.init, what="--init"), source=f"--init {cfg.init}")
    return model


def objective_weights(cfg: Config, data: Dataset) -> tuple:
    """Per-row weights r_i (--class-weight, --sample-weight) of the training and validation
    rows; (None, None) without those options."""
    pre = data.preprocessor
    classification = pre.task == "classification"
    labels = [predicted_class(Y) if classification else None for Y in (data.Y_train, data.Y_val)]
    train = row_weights(cfg.class_weight, labels[0], pre.classes, data.w_train)
    val = row_weights(cfg.class_weight, labels[1], pre.classes, data.w_val, labels[0])
    return train, val


def make_trainer(cfg: Config, data: Dataset, model: MLP, rng, callbacks=()) -> Trainer:
    """The Trainer for this data and network, as `mlpcli train` sets it up."""
    pre = data.preprocessor
    train_weights, val_weights = objective_weights(cfg, data)
    return Trainer(
        model, data.X_train, data.Y_train, data.X_val, data.Y_val, cfg=cfg, rng=rng,
        loss_weights=pre.output_weights, classification=pre.task == "classification",
        callbacks=callbacks, row_weights=train_weights, val_row_weights=val_weights,
    )


def prepare(cfg: Config, frame=None) -> tuple[Trainer, Dataset]:
    """Data, network and trainer for `cfg`, without a run directory (notebooks, benchmarks,
    the estimators); `frame` as in load_data."""
    rng = np.random.default_rng(cfg.seed)
    data = load_data(cfg, rng, frame)
    cfg = cfg.resolved().replace(val_frac=data.val_frac)
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

    Yhat = outputs(model, X)
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
    weights = objective_weights(trainer.cfg, data)
    for (split, X, Y), R in zip((("train", data.X_train, data.Y_train),
                                 ("val", data.X_val, data.Y_val)), weights):
        if len(X):
            scores = split_scores(trainer, X, Y, data, R)
            out.update({f"{split}_{k}": v for k, v in scores.items()})
    split, X, Y = (("val", data.X_val, data.Y_val) if len(data.X_val)
                   else ("train", data.X_train, data.Y_train))
    pre = data.preprocessor
    out["report"] = {"split": split, **outputs_report(
        outputs(trainer.model, X), Y, task=pre.task, classes=pre.classes, loss=trainer.cfg.loss,
        y_std=pre.y_std, targets=pre.targets)}
    return out


def split_scores(trainer: Trainer, X, Y, data: Dataset, R=None) -> dict:
    """loss, and acc and bacc (classification) or r2 and rmse (regression), of the weights on
    X, Y; `R`: the rows' weights (--class-weight, --sample-weight) in the loss."""
    loss, acc, bacc = trainer.evaluate(X, Y, R)
    out = {"loss": loss}
    if acc is not None:
        out["acc"] = acc
        out["bacc"] = bacc
    if data.preprocessor.task == "regression":
        out.update(regression_scores(outputs(trainer.model, X), Y, data.preprocessor.y_std))
    return out


def scores_on_test_rows(trainer: Trainer, data: Dataset) -> dict | None:
    """summary.json's `test`: the kept weights scored once, after training, on the test rows
    (which neither training nor early stopping saw); None without test rows."""
    if data.X_test is None:
        return None
    held = data.held_out_files.get("test")
    return {"rows": len(data.X_test), "file": held["path"] if held else None,
            **split_scores(trainer, data.X_test, data.Y_test, data)}


def train(cfg: Config, *, callbacks=(), argv=None, resume: Path | None = None,
          on_start=None, frame=None) -> Outcome:
    """Train as `mlpcli train` does and write the run directory.

    `callbacks` get the trainer's events (see train.py) plus `on_run_start(info)` first.
    `on_start(trainer)` is called once the trainer exists (the CLI hooks Ctrl-C there).
    `resume`: an existing run directory to continue from its checkpoint.
    `frame`: a DataFrame to train on instead of reading cfg.data (see load_data).

    The process holds the run's lock (runs/lock.py) from before its first write until its
    last, so no two processes ever train in one run directory.
    """
    cfg = cfg.validated()
    argv = list(argv) if argv is not None else list(sys.argv)
    lock = None
    try:
        if resume is not None:  # before loading data: a run that cannot be resumed fails fast
            path = Path(resume)
            lock = runs.lock_run(path)
            summary = _resumable_summary(path)
        rng = np.random.default_rng(cfg.seed)
        data = load_data(cfg, rng, frame)
        cfg = cfg.resolved().replace(val_frac=data.val_frac)
        model = build_model(cfg, data.preprocessor, rng)
        if resume is None:
            path = runs.create_run_dir(cfg.runs_dir, cfg.name or Path(data.path).stem)
            lock = runs.lock_run(path)
            summary = {"id": path.name, "name": cfg.name, "dataset": str(data.path),
                       "argv": argv}
        else:  # the run keeps its original command; each resumption is recorded beside it
            _check_same_data(path, data)
            summary.setdefault("argv", argv)
            summary["resumed"] = [*summary.get("resumed", []),
                                  {"argv": argv, "at": runs.now_iso()}]
        summary.update(task=data.preprocessor.task, dropped_rows=data.n_dropped)
        try:
            with blas_threads(cfg.threads, model.sizes) as threads:
                return _train_in(path, cfg, data, model, rng, summary, callbacks, resume,
                                 on_start, threads)
        except BaseException as e:
            if resume is None and not (path / "config.json").exists():
                _discard_new_run(path)  # stopped before training wrote anything: leave nothing
                if isinstance(e, runs.WriteError):
                    raise runs.WriteError(f"{e}; nothing was saved") from None
            raise
    finally:
        if lock is not None:
            lock.release()


def _train_in(path: Path, cfg: Config, data: Dataset, model: MLP, rng, summary: dict,
              callbacks, resume, on_start, threads: dict) -> Outcome:
    pre = data.preprocessor
    config = {
        "options": cfg.to_dict(),
        "dataset": {"path": str(data.path), "sha256": data.sha256, "rows": data.n_rows,
                    "columns": data.n_columns, "train_rows": len(data.X_train),
                    "val_rows": len(data.X_val), "dropped_rows": data.n_dropped,
                    "test_rows": 0 if data.X_test is None else len(data.X_test),
                    **{f"{split}_file": record for split, record in data.held_out_files.items()}},
        "argv": summary["argv"],
        "versions": versions(),
        "threads": threads,  # BLAS threads used: {"threads": n, "auto": bool, "blas": name}
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
    if resume is None:  # the run's first file: classifiable (running, or crashed) from now on
        writer.mark_running()
        state, finishing = None, False
    else:
        state = _checkpoint(path, model, cfg)
        finishing = state is not None and _training_complete(state, cfg)
        writer.append_metrics = state is not None  # else metrics.csv starts over, as the run
    # a run whose training completed but whose final files were not all written (a crash or a
    # full disk during the final save) is finished from its checkpoint: no more epochs
    trainer = make_trainer(cfg.replace(epochs=state["epoch"]) if finishing else cfg, data,
                           model, rng, callbacks=[*snapshots, writer, *callbacks])
    if state is not None:
        _restore(trainer, path, state)
    if resume is not None:
        summary["resumed"][-1]["epoch"] = trainer.epoch

    info = {"id": path.name, "path": path, "dataset": data.path, "task": pre.task,
            "classes": pre.classes, "targets": pre.targets, "layers": model.sizes,
            "train_rows": len(data.X_train), "val_rows": len(data.X_val),
            "test_rows": 0 if data.X_test is None else len(data.X_test),
            "warnings": data.warnings, "config": cfg, "resumed_from": trainer.epoch}
    t0 = time.time()
    try:
        for cb in callbacks:
            getattr(cb, "on_run_start", lambda info: None)(info)
        if on_start is not None:
            on_start(trainer)
        result = trainer.run()
    except BaseException as e:  # record how the run ended, then let the caller report it
        if resume is None and not (path / "config.json").exists():
            raise  # nothing but the first summary was written: train() removes the run
        status = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
        writer.close_metrics()
        writer.record_failure(status=status, ended=runs.now_iso(),
                              error=f"{type(e).__name__}: {e}", epochs_run=trainer.epoch,
                              seconds=trainer.elapsed)
        if isinstance(e, runs.WriteError):
            raise _stopped_by(e, path) from None
        raise
    if finishing:  # the loop ran no epoch: how it ended is in the restored state
        result.stopped_early = bool(cfg.patience and trainer.wait >= cfg.patience)
    summary = {
        "status": result.status, "ended": runs.now_iso(),
        "seconds": trainer.elapsed, "wall_seconds": time.time() - t0,
        "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early, "error": result.message or None,
        "best": _record_at(trainer, result.best_epoch),
        "final": summary_metrics(trainer, data),
        "test": scores_on_test_rows(trainer, data),
    }
    try:
        writer.finish(**summary)
    except runs.WriteError as e:
        writer.record_failure(status="failed", error=f"{type(e).__name__}: {e}")
        raise _stopped_by(e, path) from None
    return Outcome(path, result, writer.summary)


def _stopped_by(e: runs.WriteError, path: Path) -> RunError:
    return RunError(f"{e}; the run stopped as 'failed' keeping every complete file; once that "
                    f"is fixed, continue it with: mlpcli train --resume {path.name} "
                    f"--runs-dir {path.parent}")


def _discard_new_run(path: Path) -> None:
    """Remove a run directory this process created and in which nothing but its first
    summary was written."""
    with contextlib.suppress(OSError):
        (path / "summary.json").unlink(missing_ok=True)
        path.rmdir()  # only succeeds while the directory is empty


def _record_at(trainer: Trainer, epoch: int) -> dict | None:
    for record in trainer.history:
        if record.epoch == epoch:
            return record.as_dict()
    return None


def _resumable_summary(path: Path) -> dict:
    """The run's summary.json, minus the fields of its last ending; RunError/ConfigError if the
    run cannot be continued (stopped early, diverged). The caller holds the run's lock, so no
    other process is training in it."""
    summary = runs.Run(path).summary()
    status = summary.get("status")
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
                "stopped_early", "error", "best", "final", "test"):
        summary.pop(key, None)
    return summary


def _check_same_data(path: Path, data: Dataset) -> None:
    """Resuming on data other than the run's would not continue the same run."""
    recorded = runs.Run(path).config().get("dataset", {}).get("sha256")
    if recorded and recorded != data.sha256:
        raise ConfigError(f"{data.path} has changed since run {path.name} started (sha256 "
                          f"differs); resume needs the same data, or start a new run")


def _checkpoint(path: Path, model: MLP, cfg: Config) -> dict | None:
    """The run's checkpoint, checked against its network and options (RunError/ConfigError
    before anything is written). None for a run that stopped before its first checkpoint
    (crashed, failed, interrupted early): it starts again from its seed, exactly as it first
    did, since seeded training is bit-reproducible on the same data."""
    checkpoint = path / "checkpoint.npz"
    summary = runs.Run(path).summary()
    if not checkpoint.exists() and summary["status"] != "finished":
        return None
    if not checkpoint.exists():
        raise RunError(f"{checkpoint}: missing, so the run cannot be resumed (a checkpoint is "
                       f"written every --checkpoint-every seconds and when a run ends); start "
                       f"a new run, e.g. from its weights with --init")
    state = runs.load_checkpoint(checkpoint)
    if state["theta"].shape != model.theta.shape:
        raise RunError(f"{checkpoint}: parameters do not match the run's network")
    if summary["status"] == "finished" and state["epoch"] >= cfg.epochs:
        raise ConfigError(f"the run already has {state['epoch']} epochs (--epochs "
                          f"{cfg.epochs}); pass --epochs N with N > {state['epoch']} to train "
                          f"further")
    return state


def _training_complete(state: dict, cfg: Config) -> bool:
    """Whether the checkpointed run had ended its training: all epochs done, or early stopping
    due (the loop stops right after the epoch whose checkpoint says so)."""
    return state["epoch"] >= cfg.epochs or bool(cfg.patience and state["wait"] >= cfg.patience)


def _restore(trainer: Trainer, path: Path, state: dict) -> None:
    try:
        trainer.load_state(state)
    except ValueError as e:
        raise RunError(f"{path / 'checkpoint.npz'}: does not match the run's optimizer "
                       f"({e})") from None
    # metrics.csv may hold epochs after the checkpoint: keep only those the checkpoint covers
    metrics = runs.Run(path).metrics()
    kept = metrics[metrics["epoch"] <= trainer.epoch]
    text = (path / "metrics.csv").read_bytes()
    header = (",".join(runs.METRICS_COLUMNS) + "\n").encode()  # an older run: new columns
    if len(kept) < len(metrics) or text[-1:] != b"\n" or not text.startswith(header):
        with runs.writing(path / "metrics.csv"):
            runs.write_atomic(path / "metrics.csv", kept.to_csv(index=False).encode())
    # the epochs before the checkpoint, so that the summary's best epoch is found among them
    trainer.history = [
        EpochRecord(**{k: (None if v != v else int(v) if k == "epoch" else float(v))
                       for k, v in row.items()})
        for row in kept.to_dict("records")
    ]


# --- gradcheck set-up --------------------------------------------------------------------------

def gradcheck_problem(cfg: Config, samples: int = 16, inputs: int = 3, outputs: int = 2):
    """(model, X, Y, row weights or None) in float64 for gradcheck: the data's first `samples`
    rows, or random data (where --class-weight and --sample-weight need DATA)."""
    rng = np.random.default_rng(cfg.seed)
    cfg = cfg.replace(dtype="float64")
    if cfg.data:  # classes, standardization and weights from the whole file, as training has
        data = load_data(cfg.replace(val_frac=0.0), rng)
        model = build_model(cfg, data.preprocessor, rng)
        weights = objective_weights(cfg, data)[0]
        return (model, data.X_train[:samples], data.Y_train[:samples],
                None if weights is None else weights[:samples])
    if cfg.class_weight is not None or cfg.sample_weight is not None:
        raise ConfigError("--class-weight and --sample-weight need DATA (a CSV or bundled name)")
    X = rng.standard_normal((samples, inputs))
    if cfg.loss == "ce":
        Y = np.eye(outputs)[rng.integers(0, outputs, samples)]
    else:
        Y = rng.standard_normal((samples, outputs))
    sizes = [inputs, *cfg.hidden, outputs]
    model = MLP.initialized(sizes, cfg.activation, cfg.resolved_init_scheme, rng)
    if cfg.init:
        model.load_params(runs.load_npz(cfg.init, what="--init"), source=f"--init {cfg.init}")
    return model, X, Y, None

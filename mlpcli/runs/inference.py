"""Inference with a saved run: predictions for a CSV, and scores on labelled data.

`evaluate` knows which rows of DATA the run held out: when DATA is the run's training file (the
same sha256) it scores one split of it — the test rows if the run has them, else the validation
rows, or the rows `split` names — by drawing the run's split again from its seed.
"""

from __future__ import annotations

import math

import numpy as np

from mlpcli.config import Config
from mlpcli.core.losses import LOSSES, predicted_class
from mlpcli.core.metrics import outputs_report, regression_scores
from mlpcli.core.threads import AUTO, blas_threads
from mlpcli.data import dataset_for, read_csv, resolve_data
from mlpcli.data.cache import DataCache
from mlpcli.data.source import open_source
from mlpcli.errors import ConfigError, RunError
from mlpcli.runs.files import write_atomic
from mlpcli.runs.run import Run

SPLITS = ("train", "val", "test", "all")


def _read_frame(data, sep=None, encoding=None):
    return read_csv(resolve_data(data), sep=sep, encoding=encoding)


def predict(run: Run, data, sep=None, encoding=None):
    """(predictions DataFrame, warnings) for the rows of a CSV, with the run's preprocessing:
    `row` (the 0-based data row, to join back on), the true target(s) when the CSV has them,
    then the predictions — the columns of the run's predictions.csv."""
    import pandas as pd

    frame = _read_frame(data, sep, encoding)
    predicted, warnings = predict_frame(run, frame)
    known = pd.DataFrame({"row": np.arange(len(frame))})
    for name in run.model_info()["targets"]:
        if name in frame.columns:
            known[name] = frame[name].to_numpy()
    return pd.concat([known, predicted], axis=1), warnings


def predict_frame(run: Run, frame):
    """(the model's predictions, warnings) for a DataFrame of the CSV's columns (as read_csv
    returns them): `pred_<target>` and the class probabilities or scores."""
    model, pre = run.model()
    X = pre.transform(frame, dtype=model.dtype)
    return pre.decode(model.forward(X)).reset_index(drop=True), list(pre.warnings)


def evaluate(run: Run, data, sep=None, encoding=None, split: str | None = None,
             threads: int = AUTO) -> tuple[dict, list[str]]:
    """(scores, warnings): loss (per-example mean, as logged in training) and accuracy or
    R²/RMSE on labelled data, with `split` (the rows scored: train, val, test or all), `rows`,
    `source` (what DATA is to the run: "training file", "validation file", "test file" or
    "other file") and under "report" the full report (metrics.outputs_report: per-class scores
    and the confusion matrix, or per-target regression scores). `threads`:
    BLAS threads for the forward pass (AUTO: by the network's size). A score that is not
    finite is None (JSON null), never NaN."""
    if split is not None and split not in SPLITS:
        raise ConfigError(f"--split must be one of {', '.join(SPLITS)}; got {split!r}")
    model, pre = run.model()
    path = resolve_data(data)
    stream = open_source(path)
    cache = DataCache.from_env()
    sha256 = (cache.content_sha256(path, stream.sha256) if cache and cache.accepts(path)
              else stream.sha256())
    source, split, rows, held = _scored_rows(run, sha256, split)
    if held is not None and model.dtype == np.float64:  # the training file: no parsing
        X, Y = _held_rows(held, split)
    else:
        frame = read_csv(stream, sep=sep, encoding=encoding)
        if rows is not None:
            frame = frame.iloc[rows]
        X = pre.transform(frame, dtype=np.float64)
        Y = pre.encode_targets(frame, dtype=np.float64)
    model64 = model.astype(np.float64)
    with blas_threads(threads, model.sizes):
        Yhat = model64.forward(X)
    loss_name = run.model_info().get("loss", "mse")
    loss = LOSSES[loss_name][1](Yhat, Y, pre.output_weights) / len(X)
    scores = {"loss": loss}
    if pre.task == "classification":
        scores["accuracy"] = float(np.mean(predicted_class(Yhat) == predicted_class(Y)))
    else:
        scores.update(regression_scores(Yhat, Y, pre.y_std))
    scores = {k: (float(v) if math.isfinite(v) else None) for k, v in scores.items()}
    report = outputs_report(Yhat, Y, task=pre.task, classes=pre.classes, loss=loss_name,
                            y_std=pre.y_std, targets=pre.targets)
    return ({"split": split, "rows": len(X), "source": source, **scores, "report": report},
            list(pre.warnings))


def _scored_rows(run: Run, sha256: str, split: str | None):
    """(what DATA is to the run, the split scored, its row positions or None for all rows, the
    run's Dataset when DATA is its training file, else None)."""
    dataset = run.config().get("dataset", {})
    for kind in ("val", "test"):
        if (dataset.get(f"{kind}_file") or {}).get("sha256") == sha256:
            _whole_file_only(split, kind, f"the run's {_NAMES[kind]} file")
            return f"{_NAMES[kind]} file", kind, None, None
    if dataset.get("sha256") != sha256:
        _whole_file_only(split, "all", "not the run's training file (its sha256 differs)")
        return "other file", "all", None, None
    cfg = Config.from_dict(run.config()["options"], source=str(run.path / "config.json"))
    held = dataset_for(cfg.replace(val_file=None, test_file=None),
                       np.random.default_rng(cfg.seed))
    rows = {"train": held.train_rows, "val": held.val_rows,
            "test": np.arange(0) if held.test_rows is None else held.test_rows}
    if split is None:  # the held-out rows: test if there are some, else validation
        split = next((s for s in ("test", "val") if len(rows[s])), "train")
    if split == "all":  # the rows training read (without those --dropna left out)
        return "training file", split, np.sort(np.concatenate(list(rows.values()))), held
    if len(rows[split]) == 0:
        elsewhere = dataset.get(f"{split}_file")
        where = (f"they are in {elsewhere['path']}; evaluate on that file" if elsewhere
                 else "choose another --split")
        raise ConfigError(f"run {run.id} has no {_NAMES[split]} rows in its training file; "
                          f"{where}")
    return "training file", split, rows[split], held


def _held_rows(held, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y) of a split of the run's Dataset ("all": every split's rows), the same numbers the
    run's Preprocessor gives the parsed rows (their order does not matter to any score)."""
    parts = {"train": (held.X_train, held.Y_train), "val": (held.X_val, held.Y_val),
             "test": (held.X_test, held.Y_test)}
    chosen = [p for name, p in parts.items() if split in (name, "all") and p[0] is not None]
    return np.concatenate([X for X, _ in chosen]), np.concatenate([Y for _, Y in chosen])


_NAMES = {"train": "training", "val": "validation", "test": "test", "all": "all"}


def _whole_file_only(split: str | None, natural: str, what: str) -> None:
    """--split picks rows of the run's training file; any other file is scored whole."""
    if split is not None and split != natural:
        raise ConfigError(f"--split {split} picks rows of the run's training file; this DATA "
                          f"is {what}, so all its rows are scored (leave out --split)")



def redraw_pictures(run: Run) -> tuple[list[str], list[str]]:
    """Draw a run's pictures again from its files: loss.png from metrics.csv, the others from
    its network and its data file, split as in training (predictions.csv lists the validation
    rows). Returns (files written, notes on the pictures left out)."""
    from mlpcli.report.draw import draw_pictures
    from mlpcli.report.plots import loss_plot
    from mlpcli.runs.store import write_pictures

    config = run.config()
    options, dataset = config.get("options", {}), config.get("dataset", {})
    write_atomic(run.path / "loss.png", loss_plot(run.metrics(), run.id))
    model, pre = run.model()
    frame = _read_frame(options.get("data") or dataset.get("path"), options.get("sep"),
                        options.get("encoding"))
    keep = np.ones(len(frame), dtype=bool)
    if options.get("dropna"):  # the rows training dropped
        keep = frame[[*pre.features, *pre.targets]].notna().all(axis=1).to_numpy()
    rows = np.flatnonzero(keep)
    frame = frame.iloc[rows].reset_index(drop=True)
    X, Y = pre.transform(frame), pre.encode_targets(frame)
    val_rows = []
    if dataset.get("val_rows"):
        val_rows = read_predictions_rows(run.path / "predictions.csv")
    is_val = np.isin(rows, val_rows)
    sets = {"train": (X[~is_val], Y[~is_val]), "validation": (X[is_val], Y[is_val])}
    files, notes = draw_pictures(model, pre, sets, title=run.id)
    if run.summary().get("pictures", {}).get("written", []).count("training.gif"):
        notes.append("training.gif kept as training drew it (it needs the weights of every "
                     "few epochs: mlpcli train --animate)")
    written = write_pictures(run.path, files, notes)["written"]
    return ["loss.png", *written], notes


def read_predictions_rows(path) -> np.ndarray:
    """The data rows predictions.csv holds (its "row" column)."""
    import pandas as pd

    try:
        return pd.read_csv(path, usecols=["row"])["row"].to_numpy()
    except (OSError, ValueError) as e:
        raise RunError(f"{path}: cannot read its row numbers ({e})") from None

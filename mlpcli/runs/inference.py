"""Inference with a saved run: predictions for a CSV, and scores on labelled data."""

from __future__ import annotations

import numpy as np

from mlpcli.core.losses import LOSSES, predicted_class
from mlpcli.core.metrics import outputs_report, regression_scores
from mlpcli.data import read_csv, resolve_data
from mlpcli.errors import RunError
from mlpcli.runs.files import write_atomic
from mlpcli.runs.store import Run


def _read_frame(data, sep=None, encoding=None):
    return read_csv(resolve_data(data), sep=sep, encoding=encoding)


def predict(run: Run, data, sep=None, encoding=None):
    """(predictions DataFrame, warnings) for the rows of a CSV, with the run's preprocessing."""
    model, pre = run.model()
    frame = _read_frame(data, sep, encoding)
    X = pre.transform(frame, dtype=model.dtype)
    return pre.decode(model.forward(X)), list(getattr(pre, "warnings", []))


def evaluate(run: Run, data, sep=None, encoding=None) -> dict:
    """Loss (per-example mean, as logged in training) and accuracy or R²/RMSE on labelled data,
    and under "report" the full report (metrics.outputs_report: per-class scores and the
    confusion matrix, or per-target regression scores)."""
    model, pre = run.model()
    frame = _read_frame(data, sep, encoding)
    X = pre.transform(frame, dtype=np.float64)
    Y = pre.encode_targets(frame, dtype=np.float64)
    model64 = model.astype(np.float64)
    Yhat = model64.forward(X)
    loss_name = run.model_info().get("loss", "mse")
    loss = LOSSES[loss_name][1](Yhat, Y, pre.output_weights) / len(X)
    scores = {"loss": loss}
    if pre.task == "classification":
        scores["accuracy"] = float(np.mean(predicted_class(Yhat) == predicted_class(Y)))
    else:
        scores.update(regression_scores(Yhat, Y, pre.y_std))
    scores["rows"] = len(X)
    scores["report"] = outputs_report(Yhat, Y, task=pre.task, classes=pre.classes,
                                      loss=loss_name, y_std=pre.y_std, targets=pre.targets)
    return scores



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

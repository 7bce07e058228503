"""Inference with a saved run: predictions for a CSV, and scores on labelled data."""

from __future__ import annotations

import numpy as np

from mlpcli.core.losses import LOSSES, predicted_class
from mlpcli.core.metrics import outputs_report, regression_scores
from mlpcli.data import read_csv, resolve_data
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


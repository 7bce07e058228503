"""Scores computed from outputs and targets: plain functions on arrays, no I/O.

Classification follows scikit-learn's definitions (`classification_report`, `confusion_matrix`,
`balanced_accuracy_score`, `roc_curve`, `roc_auc_score`), including its zero-division rule: a
ratio whose denominator is 0 counts as 0, and the report lists a note saying which one it was.
"""

from __future__ import annotations

import numpy as np

from mlpcli.core.losses import outputs_to_proba, predicted_class

# --- classification ---------------------------------------------------------------------------

def confusion_matrix(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """C[i, j] = number of examples of true class i predicted as class j (class indices)."""
    C = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(C, (np.asarray(true, dtype=np.intp), np.asarray(pred, dtype=np.intp)), 1)
    return C


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den elementwise, 0 where den is 0 (scikit-learn's zero_division=0)."""
    return np.divide(num, den, out=np.zeros(num.shape, dtype=np.float64), where=den > 0)


def classification_report(true, pred, labels) -> dict:
    """Per-class precision, recall, F1 and support, accuracy, balanced accuracy, macro and
    weighted averages, and the confusion matrix (counts and normalised by true class).

    `true`, `pred`: class indices into `labels` (the model's classes, in its order). Keys of
    "classes" are the labels as text, as they appear in JSON.
    """
    labels = [str(c) for c in labels]
    K = len(labels)
    C = confusion_matrix(true, pred, K)
    tp = np.diag(C).astype(np.float64)
    support = C.sum(axis=1)  # examples per true class
    predicted = C.sum(axis=0)  # examples per predicted class
    precision = _ratio(tp, predicted)  # tp / (tp + fp)
    recall = _ratio(tp, support)  # tp / (tp + fn)
    f1 = _ratio(2 * tp, support + predicted)  # 2tp / (2tp + fp + fn) = harmonic mean of P, R
    notes = []
    for k, label in enumerate(labels):
        if predicted[k] == 0:
            notes.append(f"precision of {label!r} is 0: no example was predicted as it")
        if support[k] == 0:
            notes.append(f"recall of {label!r} is 0: no example of it in the data")
    n = int(support.sum())
    weights = support / n if n else np.zeros(K)
    present = support > 0  # balanced accuracy: mean recall over the classes that occur
    return {
        "labels": labels,
        "classes": {label: {"precision": float(precision[k]), "recall": float(recall[k]),
                            "f1": float(f1[k]), "support": int(support[k])}
                    for k, label in enumerate(labels)},
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "macro avg": {"precision": float(precision.mean()), "recall": float(recall.mean()),
                      "f1": float(f1.mean()), "support": n},
        "weighted avg": {"precision": float(weights @ precision),
                         "recall": float(weights @ recall), "f1": float(weights @ f1),
                         "support": n},
        "confusion": C.tolist(),
        "confusion_normalized": (C / np.maximum(support, 1)[:, None]).tolist(),
        "notes": notes,
    }


def roc_curve(true: np.ndarray, score: np.ndarray):
    """(false positive rates, true positive rates, thresholds) of the positive class (true == 1)
    ranked by `score`, as scikit-learn's roc_curve (drop_intermediate=True): one point per
    distinct score, collinear points dropped, starting at (0, 0) with threshold +inf."""
    true = np.asarray(true) == 1
    score = np.asarray(score, dtype=np.float64)
    order = np.argsort(score, kind="mergesort")[::-1]
    score, true = score[order], true[order]
    last = np.r_[np.flatnonzero(np.diff(score)), true.size - 1]  # last index of each score
    tps = np.cumsum(true)[last].astype(np.float64)
    fps = 1 + last - tps
    thresholds = score[last]
    if tps.size > 2:  # keep the corners only
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        tps, fps, thresholds = tps[keep], fps[keep], thresholds[keep]
    tps, fps = np.r_[0.0, tps], np.r_[0.0, fps]
    thresholds = np.r_[np.inf, thresholds]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return fpr, tpr, thresholds


def roc_auc(true: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve (trapezoids); None when only one class occurs in `true`."""
    present = np.unique(np.asarray(true) == 1)
    if present.size < 2:
        return None
    fpr, tpr, _ = roc_curve(true, score)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def binary_roc(true: np.ndarray, score: np.ndarray, labels) -> dict:
    """The ROC entry of a two-class report: AUC and the curve, for the class labels[1]."""
    fpr, tpr, _ = roc_curve(true, score)
    auc = roc_auc(true, score)
    entry = {"positive": str(labels[1]), "auc": auc, "fpr": fpr.tolist(), "tpr": tpr.tolist()}
    if auc is None:
        entry["note"] = "ROC AUC undefined: only one class occurs in the data"
    return entry


def outputs_report(Yhat: np.ndarray, Y: np.ndarray, *, task: str, classes, loss: str, y_std,
                   targets) -> dict:
    """The report of network outputs Yhat against encoded targets Y: classification_report
    (plus "roc" for two classes, from the positive class's probability, or for --loss mse its
    clipped score) or regression_report."""
    if task != "classification":
        return regression_report(Yhat, Y, y_std, targets)
    true = predicted_class(Y)
    report = classification_report(true, predicted_class(Yhat), classes)
    if len(classes) == 2:
        report["roc"] = binary_roc(true, outputs_to_proba(Yhat, loss)[:, 1], classes)
    return report


# --- regression -------------------------------------------------------------------------------

def regression_report(Yhat: np.ndarray, Y: np.ndarray, y_std, names=None) -> dict:
    """R², RMSE and MAE per target and overall, in the targets' original units.

    Yhat and Y are standardized targets; `y_std` their scale (1 where not standardized).
    Overall: R² is the mean over targets (scikit-learn's uniform average), RMSE and MAE are
    over every cell. R² is None for a target whose true values are constant.
    """
    std = np.asarray(y_std, dtype=np.float64)
    err = (Yhat - Y) * std
    centred = (Y - Y.mean(axis=0)) * std
    ss_res, ss_tot = (err**2).sum(axis=0), (centred**2).sum(axis=0)
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), np.nan)
    rmse, mae = np.sqrt((err**2).mean(axis=0)), np.abs(err).mean(axis=0)
    names = list(names) if names is not None else [f"y{k + 1}" for k in range(Y.shape[1])]

    def number(v):
        return float(v) if np.isfinite(v) else None

    return {
        "targets": {name: {"r2": number(r2[k]), "rmse": float(rmse[k]), "mae": float(mae[k])}
                    for k, name in enumerate(names)},
        "r2": float(np.nanmean(r2)) if np.isfinite(r2).any() else None,
        "rmse": float(np.sqrt((err**2).mean())),
        "mae": float(np.abs(err).mean()),
    }


def regression_scores(Yhat: np.ndarray, Y: np.ndarray, y_std) -> dict:
    """R² (averaged over targets) and RMSE in the targets' original units (see
    regression_report for the details and per-target values)."""
    report = regression_report(Yhat, Y, y_std)
    return {"r2": report["r2"], "rmse": report["rmse"]}

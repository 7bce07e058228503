"""Per-row weights r_i of the objective Σ_i r_i f_i: class weights times sample weights.

    --class-weight balanced      w_c = n / (k · n_c)    (scikit-learn's formula: n training rows,
                                                         k classes, n_c rows of class c)
    --class-weight "cat=2,dog=1" w_c as given; classes not named weigh 1
    --sample-weight COLUMN       s_i from the data;   r_i = w_{class of i} · s_i
"""

from __future__ import annotations

import numpy as np

from mlpcli.config import parse_class_weight
from mlpcli.errors import ConfigError


def class_weights(spec: str, labels: np.ndarray, classes: list) -> np.ndarray:
    """w_c per class (in `classes` order), from --class-weight and the training rows' labels
    (class indices)."""
    k = len(classes)
    parsed = parse_class_weight(spec)
    if parsed == "balanced":
        counts = np.bincount(labels, minlength=k).astype(np.float64)
        present = counts > 0  # (a class without training rows weighs nothing anyway)
        weights = np.ones(k)
        weights[present] = len(labels) / (k * counts[present])
        return weights
    names = {str(c): i for i, c in enumerate(classes)}
    weights = np.ones(k)
    for name, weight in parsed.items():
        if name not in names:
            raise ConfigError(f"--class-weight names class {name!r}, which the target does not "
                              f"have (classes: {', '.join(names)})")
        weights[names[name]] = weight
    return weights


def row_weights(class_weight: str | None, labels: np.ndarray | None, classes: list,
                samples: np.ndarray | None, fit_labels: np.ndarray | None = None):
    """r_i for rows with class indices `labels` and sample weights `samples` (either may be
    None); None when neither option is given. Balanced class weights are computed on
    `fit_labels` (the training rows), default `labels`."""
    if class_weight is None:
        return None if samples is None else np.asarray(samples, np.float64)
    if labels is None:
        raise ConfigError("--class-weight needs a classification target")
    w = class_weights(class_weight, labels if fit_labels is None else fit_labels, classes)
    r = w[labels]
    return r if samples is None else r * samples

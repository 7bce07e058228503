"""K-fold cross-validation: which fold each row is held out in.

Stratified for classification: each class's rows, in a seeded random order, are dealt to the
folds in turn, continuing where the previous class stopped. Every fold then holds ⌊c/K⌋ or
⌈c/K⌉ rows of a class with c rows, and the folds' sizes differ by at most one row. The folds
depend only on the labels, K and the seed, so every configuration of a sweep sees the same ones.
"""

from __future__ import annotations

import numpy as np

from mlpcli.errors import ConfigError


def assign_folds(n: int, k: int, seed: int, labels: np.ndarray | None = None) -> np.ndarray:
    """Fold index (0..k-1) of each of `n` rows; stratified by `labels` when given."""
    if k > n:
        raise ConfigError(f"--folds {k} needs at least {k} rows; the data has {n}")
    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(n)
    else:  # the rows of each class in random order, one class after another
        labels = np.asarray(labels)
        order = np.concatenate([rng.permutation(np.flatnonzero(labels == c))
                                for c in np.unique(labels)])
    fold = np.empty(n, dtype=np.intp)
    fold[order] = np.arange(n) % k
    return fold


def fold_rows(fold: np.ndarray, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) row positions of fold `index`, each ascending."""
    held_out = fold == index
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def small_classes(labels: np.ndarray, k: int, names) -> list[str]:
    """Warnings for classes with fewer rows than folds (some folds will not contain them)."""
    values, counts = np.unique(labels, return_counts=True)
    return [f"class {names[v]} has {c} rows, fewer than --folds {k}: some folds have none"
            for v, c in zip(values, counts) if c < k]

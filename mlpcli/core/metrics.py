"""Scores computed from outputs and targets: plain functions on arrays, no I/O."""

from __future__ import annotations

import numpy as np


def regression_scores(Yhat: np.ndarray, Y: np.ndarray, y_std) -> dict:
    """R² (averaged over targets) and RMSE in the targets' original units.

    Yhat and Y are standardized targets; `y_std` their scale (1 where not standardized).
    """
    std = np.asarray(y_std)
    err = (Yhat - Y) * std
    centred = (Y - Y.mean(axis=0)) * std
    ss_res, ss_tot = (err**2).sum(axis=0), (centred**2).sum(axis=0)
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), np.nan)
    return {"r2": float(np.nanmean(r2)) if np.isfinite(r2).any() else None,
            "rmse": float(np.sqrt((err**2).mean()))}

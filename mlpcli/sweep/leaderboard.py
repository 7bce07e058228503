"""trials.csv → the leaderboard: one row per configuration, best first.

    rank · the swept parameters · trials · metric · mean · std · min · max · val_loss_mean · solved

`metric` is the validation accuracy (classification) or R² (regression), or the training one
when the trials have no validation rows (XOR's four). mean, std (sample standard deviation,
ddof 1), min and max are over the configuration's finished trials; failed, diverged and
interrupted trials count in `trials` only — and, never having reached 100% training accuracy as
a finished run, lower `solved`, the fraction of its trials that did (classification).
"""

from __future__ import annotations

import math

import pandas as pd

COUNTED = "finished"  # the status of the trials whose metric enters the mean


def metric_name(trials: pd.DataFrame, task: str) -> str:
    """val_acc / val_r2, or train_acc / train_r2 when no trial has validation rows."""
    score = "acc" if task == "classification" else "r2"
    val = f"val_{score}"
    has_val = val in trials and trials[val].notna().any()
    return val if has_val else f"train_{score}"


def leaderboard(trials: pd.DataFrame, params: list[str], task: str) -> pd.DataFrame:
    """The leaderboard of `trials` (trials.csv's frame, parameter columns as text)."""
    metric = metric_name(trials, task)
    columns = ["rank", *params, "trials", "metric", "mean", "std", "min", "max",
               "val_loss_mean"] + (["solved"] if task == "classification" else [])
    if trials.empty:
        return pd.DataFrame(columns=columns)
    keys = params or [lambda _: 0]  # no swept parameter: one configuration
    rows = []
    for key, group in trials.groupby(keys, sort=False, dropna=False):
        ok = group[group["status"] == COUNTED]
        values = ok[metric].dropna().astype(float)
        row = dict(zip(params, key if isinstance(key, tuple) else (key,)))
        row.update(trials=len(group), metric=metric,
                   mean=values.mean() if len(values) else math.nan,
                   std=values.std(ddof=1) if len(values) > 1 else math.nan,
                   min=values.min() if len(values) else math.nan,
                   max=values.max() if len(values) else math.nan,
                   val_loss_mean=ok["val_loss"].astype(float).mean() if len(ok) else math.nan)
        if task == "classification":
            solved = (group["status"] == COUNTED) & (group["train_acc"].astype(float) == 1.0)
            row["solved"] = float(solved.mean())
        rows.append(row)
    board = pd.DataFrame(rows)
    # best first: higher mean; ties by lower validation loss; configurations without any
    # finished trial last, in their original order
    board = board.sort_values(["mean", "val_loss_mean"], ascending=[False, True],
                              kind="stable", na_position="last").reset_index(drop=True)
    board.insert(0, "rank", range(1, len(board) + 1))
    return board[columns]


def excluded_note(trials: pd.DataFrame) -> str | None:
    """summary.json's note on the trials left out of the means, or None."""
    left_out = trials[trials["status"] != COUNTED]
    if left_out.empty:
        return None
    counts = left_out["status"].value_counts()
    listed = ", ".join(f"{n} {s}" for s, n in counts.items())
    return f"left out of the means: {listed} trial{'s' * (len(left_out) > 1)} (counted in trials)"

"""sweep.png: the metric against each swept parameter, mean ± std over the other trials."""

from __future__ import annotations

import pandas as pd

from mlpcli.report.plots import _png, plt


def sweep_plot(trials: pd.DataFrame, params: list[str], metric: str, log_params) -> bytes:
    """One panel per parameter: the metric's mean (± sample std) over the finished trials at
    each of its values; numeric parameters on a numeric axis (log for log-sampled ones)."""
    ok = trials[trials["status"] == "finished"]
    fig, axes = plt.subplots(1, len(params), figsize=(4.2 * len(params), 3.6), squeeze=False)
    for ax, name in zip(axes[0], params):
        stats = ok.groupby(name, sort=False)[metric].agg(["mean", "std"])
        numeric = pd.to_numeric(pd.Series(stats.index), errors="coerce")
        if numeric.notna().all():
            order = numeric.argsort().to_numpy()
            x = numeric.to_numpy()[order]
            ax.errorbar(x, stats["mean"].to_numpy()[order],
                        yerr=stats["std"].fillna(0).to_numpy()[order], marker="o", capsize=3)
            if name in log_params:
                ax.set_xscale("log")
        else:  # text values (hidden sizes like 64,32, choices): one tick each
            positions = range(len(stats))
            ax.errorbar(positions, stats["mean"], yerr=stats["std"].fillna(0), marker="o",
                        linestyle="none", capsize=3)
            ax.set_xticks(list(positions), list(stats.index), rotation=30)
        ax.set_xlabel(name)
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{metric}: mean ± std over seeds and folds")
    fig.tight_layout()
    return _png(fig)

"""Loss-curve pictures with matplotlib (Agg backend: no display needed).

Each function takes plain data and returns the PNG's bytes; the caller decides where they go
(the run store writes them atomically, a user's --plot path is written through).
"""

from __future__ import annotations

import io
import math

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402

SMOOTH_AFTER = 300  # more epochs than this: a smoothed line over the faint raw curve
SMOOTH_EPOCHS = 50  # ... a moving average over about n / SMOOTH_EPOCHS epochs


def _log_scale_ok(*series) -> bool:
    values = [v for s in series for v in s if v == v]  # drop NaN
    return bool(values) and min(values) > 0


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def drawable(text: str) -> str:
    """`text` without the characters the plot's font has no glyph for (a CJK run name in
    DejaVu Sans, say), which matplotlib would draw as boxes and warn about on stderr."""
    from matplotlib.font_manager import FontProperties, findfont, get_font

    charmap = get_font(findfont(FontProperties())).get_charmap()
    kept = "".join(c for c in text if ord(c) in charmap or c == " ")
    return " ".join(kept.split())


def loss_plot(m, title: str = "", kept_epoch: int | None = None) -> bytes:
    """Train (and validation) loss per epoch from metrics.csv's frame (see `loss_figure`)."""
    return _png(loss_figure(m, title, kept_epoch))


def loss_figure(m, title: str = "", kept_epoch: int | None = None):
    """The loss curves, log scale when positive (with at least three labelled ticks); beyond
    SMOOTH_AFTER epochs the raw curves are faint under a moving average; `kept_epoch`, the
    epoch whose weights the run saved, is marked."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    log = _log_scale_ok(m["train_loss"], m["val_loss"])
    curves = [("train", "C0", m["train_loss"])]
    if m["val_loss"].notna().any():
        curves.append(("validation", "C1", m["val_loss"]))
    smooth = len(m) > SMOOTH_AFTER
    for label, color, values in curves:
        ax.plot(m["epoch"], values, color=color, alpha=0.3 if smooth else 1.0,
                linewidth=0.8 if smooth else 1.5, label=None if smooth else label)
        if smooth:
            ax.plot(m["epoch"], _moving_average(values, log), color=color, label=label)
    if kept_epoch:
        monitored = curves[-1][2][m["epoch"] == kept_epoch]
        ax.axvline(kept_epoch, color="0.4", linestyle=":", linewidth=1)
        if len(monitored) and monitored.notna().all():
            ax.plot([kept_epoch], monitored, "o", color=curves[-1][1], markersize=5,
                    label=f"saved weights (epoch {kept_epoch})")
    if log:
        ax.set_yscale("log")
        _label_log_ticks(ax, [v for _, _, c in curves for v in c if v == v])
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (per example)")
    ax.set_title(drawable(title))
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def _moving_average(values, log: bool):
    """Centered moving average over about len / SMOOTH_EPOCHS epochs (of the logarithms on a
    log axis, so that a spike does not lift the line)."""
    window = max(5, len(values) // SMOOTH_EPOCHS)
    series = np.log(values) if log else values
    smoothed = series.rolling(window, center=True, min_periods=1).mean()
    return np.exp(smoothed) if log else smoothed


def _label_log_ticks(ax, values) -> None:
    """Label 1, 2, 5 × 10^k (every mantissa within a narrow range), so that a curve spanning
    less than a few decades still gets at least three labelled ticks."""
    decades = math.log10(max(values) / min(values)) if values else 0
    subs = (1.0,) if decades > 4 else (1.0, 2.0, 5.0) if decades > 1 else "all"
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def comparison_plot(curves: dict) -> bytes:
    """Overlay several runs' loss curves: curves = {label: metrics DataFrame}."""
    fig, ax = plt.subplots(figsize=(7.2, 4.5))
    all_losses = []
    for i, (label, m) in enumerate(curves.items()):
        color = f"C{i % 10}"
        ax.plot(m["epoch"], m["train_loss"], color=color, label=f"{label} train")
        all_losses.append(m["train_loss"])
        if m["val_loss"].notna().any():
            ax.plot(m["epoch"], m["val_loss"], color=color, linestyle="--", label=f"{label} val")
            all_losses.append(m["val_loss"])
    if _log_scale_ok(*all_losses):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (per example)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _png(fig)

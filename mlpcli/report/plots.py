"""Loss-curve pictures with matplotlib (Agg backend: no display needed).

Each function takes plain data and returns the PNG's bytes; the caller decides where they go
(the run store writes them atomically, a user's --plot path is written through).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


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


def loss_plot(m, title: str = "") -> bytes:
    """Train (and validation) loss per epoch from metrics.csv's frame, log scale when positive."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(m["epoch"], m["train_loss"], label="train")
    if m["val_loss"].notna().any():
        ax.plot(m["epoch"], m["val_loss"], label="validation")
    if _log_scale_ok(m["train_loss"], m["val_loss"]):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (per example)")
    ax.set_title(drawable(title))
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _png(fig)


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

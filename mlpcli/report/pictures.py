"""The pictures of what a network learned (matplotlib, Agg): one function per picture, plain
arrays in, PNG (or GIF) bytes out. Sizes are fixed in pixels (DPI 100), as the README lists:

    confusion.png  560 × 480        roc.png     480 × 480
    fit.png        960 × 400 per target (up to 4 targets)
    boundary.png   640 × 560
    hidden.png     150 × 150 per unit, up to 8 per row, plus 30 px for the title
    training.gif   480 × 420 per frame

Nothing here evaluates a network: the callers pass the outputs they got from its own forward
pass (see report/views.py).
"""

from __future__ import annotations

import io

import numpy as np

from mlpcli.report.plots import drawable, plt

DPI = 100  # figure sizes below are in inches: pixels / DPI
POINT_STYLE = {"train": {"marker": "o", "s": 22}, "validation": {"marker": "^", "s": 30}}
CLASS_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf"]  # matplotlib's tab10, class k ↦ colour k


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return buf.getvalue()


def _class_color(k: int) -> str:
    return CLASS_COLORS[k % len(CLASS_COLORS)]


# --- classification ---------------------------------------------------------------------------

def confusion_picture(report: dict, title: str = "") -> bytes:
    """The confusion matrix normalised by true class, each cell also giving its count."""
    labels, counts = report["labels"], np.asarray(report["confusion"])
    shares = np.asarray(report["confusion_normalized"])
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    K = len(labels)
    if K <= 20:  # beyond that the numbers would not fit their cells
        for i in range(K):
            for j in range(K):
                ax.text(j, i, f"{counts[i, j]}\n{100 * shares[i, j]:.0f}%", ha="center",
                        va="center", fontsize=9 if K <= 6 else 6,
                        color="white" if shares[i, j] > 0.5 else "black")
    ticks = range(K)
    ax.set_xticks(ticks, labels, rotation=45 if K > 4 else 0, ha="right" if K > 4 else "center")
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(drawable(title or
                          f"Confusion matrix (accuracy {100 * report['accuracy']:.1f}%)"))
    fig.tight_layout()
    return _png(fig)


def roc_picture(roc: dict, title: str = "") -> bytes:
    """The ROC curve of the positive class, with the chance diagonal and the AUC."""
    fig, ax = plt.subplots(figsize=(4.8, 4.8))
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="chance")
    auc = "undefined" if roc["auc"] is None else f"{roc['auc']:.3f}"
    ax.plot(roc["fpr"], roc["tpr"], color="C0", drawstyle="default", label=f"AUC {auc}")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(drawable(title or f"ROC, positive class {roc['positive']!r}"))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return _png(fig)


# --- regression -------------------------------------------------------------------------------

MAX_FIT_TARGETS = 4  # fit.png: one row of two panels per target, the first four


def fit_picture(true: np.ndarray, pred: np.ndarray, targets: list[str]) -> bytes:
    """Per target: predicted against true with the identity line, and residuals against
    predicted. `true`, `pred`: (rows, targets) in original units."""
    shown = targets[:MAX_FIT_TARGETS]
    fig, axes = plt.subplots(len(shown), 2, figsize=(9.6, 4.0 * len(shown)), squeeze=False)
    for k, name in enumerate(shown):
        t, p = true[:, k], pred[:, k]
        ax, res = axes[k]
        low, high = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        ax.plot([low, high], [low, high], color="0.5", linestyle="--", label="identity")
        ax.scatter(t, p, s=12, alpha=0.7, color="C0")
        ax.set_xlabel(f"true {name}")
        ax.set_ylabel(f"predicted {name}")
        ax.set_title(drawable(f"{name}: predicted against true"))
        ax.legend(loc="upper left")
        res.axhline(0, color="0.5", linestyle="--")
        res.scatter(p, t - p, s=12, alpha=0.7, color="C1")
        res.set_xlabel(f"predicted {name}")
        res.set_ylabel("residual (true − predicted)")
        res.set_title(drawable(f"{name}: residuals"))
        for a in (ax, res):
            a.grid(True, alpha=0.3)
    fig.tight_layout()
    return _png(fig)


# --- the input plane (2-D) and line (1-D) -------------------------------------------------------

def _draw_plane(ax, plane, field, points, classes, *, classification: bool, positive: bool):
    """The model's output over the plane as a filled contour, the data points on top.

    field: per grid point, the predicted class index, P(positive class), or the prediction.
    points: {"train"/"validation": (X (n, 2), true (n,), wrong (n,) bool or None)}.
    """
    xx, yy = plane.xx, plane.yy
    Z = field.reshape(xx.shape)
    if classification and positive:
        levels = np.linspace(0, 1, 11)
        filled = ax.contourf(xx, yy, Z, levels=levels, cmap="RdBu_r", alpha=0.75)
        ax.contour(xx, yy, Z, levels=[0.5], colors="black", linewidths=1.2)
    elif classification:
        from matplotlib.colors import ListedColormap

        K = len(classes)
        cmap = ListedColormap([_class_color(k) for k in range(K)])
        filled = ax.contourf(xx, yy, Z, levels=np.arange(K + 1) - 0.5, cmap=cmap, alpha=0.35)
    else:
        filled = ax.contourf(xx, yy, Z, levels=20, cmap="viridis", alpha=0.8)
    n = sum(len(X) for X, _, _ in points.values())
    scale = 1.0 if n > 200 else 3.0  # few points: draw them larger
    for split, (X, true, wrong) in points.items():
        if not len(X):
            continue
        style = dict(POINT_STYLE[split], edgecolors="0.15", linewidths=0.5)
        style["s"] *= scale
        if classification:
            colors = [_class_color(int(k)) for k in true]
            ax.scatter(X[:, 0], X[:, 1], c=colors, **style)
            if wrong is not None and wrong.any():
                ax.scatter(X[wrong, 0], X[wrong, 1], marker="x", s=40 * scale, color="black",
                           linewidths=1.4)
        else:
            ax.scatter(X[:, 0], X[:, 1], c=true, cmap="viridis", norm=filled.norm, **style)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xlabel(plane.names[0])
    ax.set_ylabel(plane.names[1])
    return filled


def _point_legend(ax, points, classification: bool) -> None:
    """Markers of the splits (and of misclassified points), below the plot: never over data."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], linestyle="", marker=POINT_STYLE[split]["marker"], color="0.4",
                      label=f"{split} ({len(X)})")
               for split, (X, _, _) in points.items() if len(X)]
    if classification:
        handles.append(Line2D([], [], linestyle="", marker="x", color="black",
                              label="misclassified"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12),
              ncol=len(handles), fontsize="small", frameon=False)


def boundary_picture(plane, field, points, classes, *, classification: bool, title: str,
                     colorbar_label: str) -> bytes:
    """boundary.png for two inputs (see _draw_plane)."""
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    positive = classification and len(classes) == 2
    filled = _draw_plane(ax, plane, field, points, classes, classification=classification,
                         positive=positive)
    if not classification or positive:
        fig.colorbar(filled, ax=ax, label=colorbar_label)
    else:
        from matplotlib.patches import Patch

        handles = [Patch(color=_class_color(k), label=str(c)) for k, c in enumerate(classes)]
        fig.legend(handles=handles, loc="center right", fontsize="small", title="class")
    _point_legend(ax, points, classification)
    ax.set_title(drawable(title))
    fig.tight_layout(rect=(0, 0, 1 if not classification or positive else 0.86, 1))
    return _png(fig)


def curve_picture(line, pred, points, *, xname: str, yname: str, title: str) -> bytes:
    """boundary.png for one input and a regression: the fitted curve over the data.
    points: {"train"/"validation": (x (n,), y (n,))} in original units."""
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    for split, (x, y) in points.items():
        if len(x):
            ax.scatter(x, y, alpha=0.6, label=split, **POINT_STYLE[split])
    ax.plot(line, pred, color="black", linewidth=2, label="network")
    ax.set_xlabel(xname)
    ax.set_ylabel(yname)
    ax.set_title(drawable(title))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _png(fig)


HIDDEN_PER_ROW = 8
PANEL = 1.5  # inches (150 px) per hidden unit
MAX_HIDDEN_UNITS = 32  # hidden.png shows the first 32 units of the first layer


def hidden_picture(plane, H: np.ndarray, activation: str, *, line=None, X=None,
                   true=None) -> bytes:
    """One panel per first-layer hidden unit: its activation σ(w·x + b) over the plane, with
    the data points X (raw units; coloured by class index `true` if given) on top (or, with
    `line`, over the one input). H: (grid points, units).

    The panels are boxes on one set of axes (panel j spans [c, c+1] × [−r−1, −r] for column c,
    row r), each scaled to its own range: one figure with one axes draws in a fraction of the
    time of 32 subplots.
    """
    units = min(H.shape[1], MAX_HIDDEN_UNITS)
    cols = min(units, HIDDEN_PER_ROW)
    rows = -(-units // cols)
    gap, title = 0.08, 0.2  # between panels, above each panel (in panel widths)
    height = PANEL * rows + 0.3  # inches: the panels and the title line
    fig = plt.figure(figsize=(PANEL * cols, height))
    ax = fig.add_axes((0.01, 0.01, 0.98, 1 - 0.32 / height))
    ax.set_axis_off()
    if X is not None:  # at most ~150 points: enough to see the data's shape
        step = max(1, len(X) // 150)
        X = X[::step]
        colors = "#7fdbff" if true is None else [_class_color(int(k)) for k in true[::step]]
        low, high = np.array([plane.xx.min(), plane.yy.min()]), \
            np.array([plane.xx.max(), plane.yy.max()])
        unit_xy = (X - low) / (high - low)  # the points in a panel's [0, 1]² box
    for j in range(units):
        c, r = j % cols, j // cols
        x0, y0 = c * (1 + gap), -r * (1 + gap + title) - 1  # the panel's lower left corner
        if line is None:
            ax.imshow(H[:, j].reshape(plane.xx.shape), origin="lower", cmap="magma",
                      extent=(x0, x0 + 1, y0, y0 + 1), interpolation="bilinear",
                      aspect="auto")
            if X is not None:
                ax.scatter(x0 + unit_xy[:, 0], y0 + unit_xy[:, 1], s=5 if len(X) > 50 else 30,
                           c=colors, edgecolors="white",
                           linewidths=0.3 if len(X) > 50 else 0.8)
        else:
            h = H[:, j]
            span = h.max() - h.min()
            scaled = (h - h.min()) / span if span > 0 else np.zeros_like(h)
            t = (line - line.min()) / (line.max() - line.min())
            ax.plot(x0 + t, y0 + 0.05 + 0.9 * scaled, color="C3")
        ax.add_patch(plt.Rectangle((x0, y0), 1, 1, fill=False, linewidth=0.8, color="0.3"))
        ax.text(x0 + 0.5, y0 + 1 + title / 3, f"unit {j + 1}", ha="center", fontsize=9)
    ax.set_xlim(-gap / 2, cols * (1 + gap) - gap / 2)
    ax.set_ylim(-(rows - 1) * (1 + gap + title) - 1 - gap / 2, title)
    shown = f"first {units} of {H.shape[1]}" if units < H.shape[1] else f"{units}"
    fig.suptitle(drawable(f"{activation} hidden units ({shown}), layer 1"), fontsize=10,
                 y=1 - 0.06 / height)
    return _png(fig)


def animation(frames, plane, points, classes, *, classification: bool,
              seconds_per_frame: float = 0.12) -> bytes:
    """training.gif: one boundary frame per (epoch, loss, field); the last frame lingers."""
    from PIL import Image

    images = []
    positive = classification and len(classes) == 2
    for epoch, loss, field in frames:
        fig, ax = plt.subplots(figsize=(4.8, 4.2))
        _draw_plane(ax, plane, field, points, classes, classification=classification,
                    positive=positive)
        ax.set_title(drawable(f"epoch {epoch}   loss {loss:.4g}"), fontsize=10)
        fig.tight_layout()
        images.append(Image.open(io.BytesIO(_png(fig))).convert("P", palette=Image.ADAPTIVE))
    durations = [int(1000 * seconds_per_frame)] * len(images)
    durations[-1] = 2000  # hold the trained boundary
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=durations, loop=0)
    return buf.getvalue()

"""Which pictures apply to a run, and drawing them from its network and data.

    files, notes = draw_pictures(model, pre, {"train": (X, Y), "validation": (X, Y)})

Every output the pictures show comes from the network's own forward pass (`MLP.forward`) on
the points drawn, never from a re-implementation. A picture that does not apply, or cannot be
drawn, is left out with a note: pictures never fail a run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlpcli.core.kernels import MLP
from mlpcli.core.losses import outputs_to_proba, predicted_class
from mlpcli.core.metrics import outputs_report
from mlpcli.core.train import outputs
from mlpcli.data import Preprocessor

GRID_STEPS = 150  # grid points per axis of the input plane (150² forward rows: milliseconds)
MARGIN = 0.1  # the plane extends this fraction of the data's range beyond it on every side
ANIMATION_FRAMES = 60  # training.gif: about this many frames, whatever the number of epochs


@dataclass
class Plane:
    """A grid over the inputs in their original units: xx, yy (steps, steps), `points` the grid
    as rows (steps², 2); for one input, xx is the line and yy is None."""

    xx: np.ndarray
    yy: np.ndarray | None
    points: np.ndarray
    names: list[str]


def plane_over(X_raw: np.ndarray, names: list[str], steps: int = GRID_STEPS) -> Plane:
    """A grid covering the rows of X_raw (1 or 2 columns) with a margin."""
    low, high = X_raw.min(axis=0), X_raw.max(axis=0)
    pad = MARGIN * np.where(high > low, high - low, 1.0)
    axes = [np.linspace(lo - p, hi + p, steps) for lo, hi, p in zip(low, high, pad)]
    if len(axes) == 1:
        return Plane(axes[0], None, axes[0][:, None], names)
    xx, yy = np.meshgrid(*axes)
    return Plane(xx, yy, np.column_stack([xx.ravel(), yy.ravel()]), names)


def plane_inputs(pre: Preprocessor) -> int:
    """How many inputs the input-space pictures can show: 2 (or 1) numeric inputs, else 0."""
    numeric = not pre.categories and pre.n_inputs == len(pre.features)
    return pre.n_inputs if numeric and pre.n_inputs in (1, 2) else 0


def original_units(pre: Preprocessor, X: np.ndarray) -> np.ndarray:
    """Network inputs back in the data's units (undoing the standardization)."""
    X = np.asarray(X, dtype=np.float64)
    return X * np.asarray(pre.x_std) + np.asarray(pre.x_mean) if pre.standardize else X


def network_outputs(model: MLP, pre: Preprocessor, X_raw: np.ndarray) -> np.ndarray:
    """Ŷ for raw feature rows: the run's preprocessing, then the network's forward pass
    (what `mlpcli predict` computes for a CSV of these rows)."""
    X = np.array(X_raw, dtype=np.float64)
    pre.standardize_inputs(X)
    return model.forward(X.astype(model.dtype))


def first_layer(model: MLP, pre: Preprocessor, X_raw: np.ndarray) -> np.ndarray:
    """The first hidden layer's activations σ(W1 x + b1), by the network's own forward pass:
    a copy of its first layer followed by an identity output layer."""
    n_in, units = model.sizes[0], model.sizes[1]
    probe = MLP([n_in, units, units], model.activation, model.dtype)
    probe.load_params({"W1": model.W[0], "b1": model.b[0], "W2": np.eye(units),
                       "b2": np.zeros(units)})
    X = np.array(X_raw, dtype=np.float64)
    pre.standardize_inputs(X)
    return probe.forward(X.astype(model.dtype))


def plane_field(pre: Preprocessor, Yhat: np.ndarray) -> np.ndarray:
    """What the plane shows per point: P(positive class) for two classes, the predicted class
    index for more, the first target's prediction (original units) for regression."""
    if pre.task != "classification":
        return Yhat[:, 0] * pre.y_std[0] + pre.y_mean[0]
    if len(pre.classes) == 2:
        return outputs_to_proba(Yhat, pre.loss)[:, 1]
    return predicted_class(Yhat)


class Snapshots:
    """Training callback keeping copies of the weights for training.gif: every `every` epochs,
    starting with every epoch and doubling `every` (dropping every other copy) whenever
    2 × ANIMATION_FRAMES are kept, so memory stays bounded however long the run is and its
    end (early stopping included) is known. It only reads the weights."""

    def __init__(self):
        self.every = 1
        self.frames: list[tuple[int, float, np.ndarray]] = []  # (epoch, train loss, theta)

    def on_epoch_end(self, record, trainer) -> None:
        if (record.epoch - 1) % self.every:
            return
        self.frames.append((record.epoch, record.train_loss, trainer.model.theta.copy()))
        if len(self.frames) >= 2 * ANIMATION_FRAMES:
            self.frames, self.every = self.frames[::2], 2 * self.every

    def evenly(self) -> list:
        """About ANIMATION_FRAMES of the kept frames, evenly spaced, first and last included."""
        n = len(self.frames)
        picks = np.unique(np.linspace(0, n - 1, min(n, ANIMATION_FRAMES)).round().astype(int))
        return [self.frames[i] for i in picks]

    def on_train_end(self, result, trainer) -> None:
        """The last frame shows the weights the run saved (best epoch's with --patience)."""
        if trainer.history and (not self.frames or self.frames[-1][0] != trainer.epoch):
            self.frames.append((trainer.epoch, trainer.history[-1].train_loss,
                                trainer.model.theta.copy()))


def _with_theta(model: MLP, theta: np.ndarray) -> MLP:
    copy = MLP(model.sizes, model.activation, model.dtype)
    copy.theta[...] = theta
    return copy


MAX_POINTS = 5000  # points per split in a scatter plot: more only blur it and slow it down


def _every_kth(n: int) -> slice:
    """Every k-th of n rows, k the smallest that leaves at most MAX_POINTS of them."""
    return slice(None, None, -(-n // MAX_POINTS) if n else 1)


def draw_pictures(model: MLP, pre: Preprocessor, sets: dict, *, snapshots=None,
                  title: str = "") -> tuple[dict[str, bytes], list[str]]:
    """({file name: bytes}, notes) of the pictures that apply to this network and data.

    sets: {"train": (X, Y), "validation": (X, Y)}, network inputs and encoded targets (the
    validation pair may be empty). snapshots: a Snapshots for training.gif, or None. The
    confusion matrix and ROC curve count every row; scatter plots show at most MAX_POINTS of
    each split (evenly spaced rows).
    """
    from mlpcli.report import pictures

    files, notes = {}, []

    def draw(name, make):
        try:
            files[name] = make()
        except Exception as e:  # a picture is never worth failing a run for
            notes.append(f"{name} not drawn: {type(e).__name__}: {e}")

    classification = pre.task == "classification"
    split = "validation" if len(sets["validation"][0]) else "train"
    X, Y = sets[split]
    Yhat = outputs(model, np.asarray(X, dtype=model.dtype)).astype(np.float64)
    if classification:
        report = outputs_report(Yhat, Y, task=pre.task, classes=pre.classes, loss=pre.loss,
                                y_std=pre.y_std, targets=pre.targets)
        accuracy = f"accuracy {100 * report['accuracy']:.1f}%"
        draw("confusion.png", lambda: pictures.confusion_picture(
            report, f"Confusion matrix, {split} rows ({accuracy})"))
        if "roc" in report and report["roc"]["auc"] is not None:
            draw("roc.png", lambda: pictures.roc_picture(report["roc"]))
        elif "roc" in report:
            notes.append(f"roc.png not drawn: {report['roc']['note']}")
    else:
        std, mean = np.asarray(pre.y_std), np.asarray(pre.y_mean)
        shown = _every_kth(len(Y))
        draw("fit.png", lambda: pictures.fit_picture(Y[shown] * std + mean,
                                                     Yhat[shown] * std + mean, pre.targets))

    sets = {name: (X[_every_kth(len(X))], Y[_every_kth(len(X))])
            for name, (X, Y) in sets.items()}  # the scatter plots' points
    dims = plane_inputs(pre)
    if dims == 2 or (dims == 1 and not classification):
        draw("boundary.png", lambda: _boundary(model, pre, sets, title))
        draw("hidden.png", lambda: _hidden(model, pre, sets))
        if snapshots is not None and dims == 2:
            draw("training.gif", lambda: _animation(model, pre, sets, snapshots))
        elif snapshots is not None:
            notes.append("training.gif not drawn: it needs two numeric inputs")
    else:
        why = (f"the network has {pre.n_inputs} inputs" if dims == 0 else
               "a classifier of one input")
        names = "boundary.png, hidden.png" + (", training.gif" if snapshots else "")
        notes.append(f"{names} not drawn: they need two numeric inputs (or one, for a "
                     f"regression); {why}")
    return files, notes


def _all_raw(pre, sets) -> np.ndarray:
    return np.vstack([original_units(pre, X) for X, _ in sets.values() if len(X)])


def _points(model, pre, sets) -> dict:
    """Per split: raw inputs, true class (or value), and which points are misclassified."""
    points = {}
    for split, (X, Y) in sets.items():
        raw = original_units(pre, X)
        if pre.task == "classification":
            true = predicted_class(Y)
            wrong = predicted_class(outputs(model, np.asarray(X, dtype=model.dtype))) != true
            points[split] = (raw, true, wrong)
        else:
            points[split] = (raw, Y[:, 0] * pre.y_std[0] + pre.y_mean[0], None)
    return points


def _boundary(model, pre, sets, title) -> bytes:
    from mlpcli.report import pictures

    plane = plane_over(_all_raw(pre, sets), pre.input_names)
    field = plane_field(pre, network_outputs(model, pre, plane.points))
    points = _points(model, pre, sets)
    if plane.yy is None:  # one input, a regression: the fitted curve
        curve = {s: (raw[:, 0], y) for s, (raw, y, _) in points.items()}
        return pictures.curve_picture(plane.xx, field, curve, xname=plane.names[0],
                                      yname=pre.targets[0], title=f"Fitted curve · {title}")
    classification = pre.task == "classification"
    label = (f"P({pre.targets[0]} = {pre.classes[1]})"
             if classification and len(pre.classes) == 2 else f"predicted {pre.targets[0]}")
    return pictures.boundary_picture(
        plane, field, points, pre.classes, classification=classification,
        title=f"{'Decision boundary' if classification else 'Prediction'} · {title}",
        colorbar_label=label)


def _hidden(model, pre, sets) -> bytes:
    from mlpcli.report import pictures

    plane = plane_over(_all_raw(pre, sets), pre.input_names,
                       steps=60)  # small panels: a coarser grid looks the same
    H = first_layer(model, pre, plane.points)
    if plane.yy is None:
        return pictures.hidden_picture(plane, H, model.activation, line=plane.xx)
    true = (np.concatenate([predicted_class(Y) for X, Y in sets.values() if len(X)])
            if pre.task == "classification" else None)
    return pictures.hidden_picture(plane, H, model.activation, X=_all_raw(pre, sets),
                                   true=true)


def _animation(model, pre, sets, snapshots: Snapshots) -> bytes:
    from mlpcli.report import pictures

    if not snapshots.frames:
        raise ValueError("no epoch was trained")
    plane = plane_over(_all_raw(pre, sets), pre.input_names, steps=80)
    frames = [(epoch, loss, plane_field(pre, network_outputs(_with_theta(model, theta), pre,
                                                             plane.points)))
              for epoch, loss, theta in snapshots.evenly()]
    points = _points(model, pre, sets)
    return pictures.animation(frames, plane, points, pre.classes,
                              classification=pre.task == "classification")

"""The Preprocessor: fitted on the training rows, saved in model.json, re-applied by predict.

Inputs: numeric features as they are, text features one-hot encoded, then standardized
x ← (x − mean) / std with the training rows' statistics. Targets: 0/1 (binary), one-hot, or
standardized values (regression). Standardization is computed with each column scaled by a power
of two first (exact), so a feature at ±1e308 neither overflows its sum nor its squares, nor do
squares of 1e-320 underflow; data no float64 training could fit is refused with one line.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from mlpcli.core.losses import outputs_to_proba, predicted_class
from mlpcli.data.columns import Column, parse_column, raise_bad_cell, require_columns, short
from mlpcli.errors import ConfigError, DataError

_TINY = np.finfo(np.float64).tiny  # smallest normal float64: a loss below it reads 0


@dataclass
class Preprocessor:
    """Everything needed to turn a raw DataFrame into network inputs/targets and outputs back
    into predictions. Fitted on the training rows only; saved in model.json via to_dict()."""

    features: list[str]  # original feature column names, in order
    categories: dict[str, list[str]]  # text feature -> its sorted categories (one-hot encoded)
    input_names: list[str]  # numeric features as is, one-hot inputs as "color=red"
    x_mean: list[float]  # per input; one-hot inputs 0
    x_std: list[float]  # per input; one-hot inputs and constant columns 1
    targets: list[str]
    task: str  # "regression" | "classification"
    classes: list  # sorted class labels (str/int/float/bool); [] for regression
    encoding: str  # "binary" (one 0/1 output), "onehot" or "regression"
    y_mean: list[float]  # per target; regression only, else 0
    y_std: list[float]  # per target; regression only, else 1
    loss: str  # "mse" | "ce"
    standardize: bool
    warnings: list[str] = field(default_factory=list, repr=False, compare=False)  # not saved

    @property
    def n_inputs(self) -> int:
        return len(self.input_names)

    @property
    def n_outputs(self) -> int:
        if self.encoding == "binary":
            return 1
        if self.encoding == "onehot":
            return len(self.classes)
        return len(self.targets)

    @property
    def output_weights(self) -> np.ndarray | None:
        """y_std² per output for standardized regression (reports mse in original units)."""
        if self.task != "regression" or not self.standardize:
            return None
        return np.asarray(self.y_std, dtype=np.float64) ** 2

    # -- fitting -------------------------------------------------------------------------------

    @classmethod
    def for_columns(
        cls, feature_cols: dict[str, Column], target_cols: dict[str, Column], *, task: str,
        classes: list, loss: str, standardize: bool,
    ) -> Preprocessor:
        """The preprocessing's structure: categories (from all rows), input names and output
        encoding, with identity standardization until `fit`."""
        categories = {
            name: col.categories() for name, col in feature_cols.items() if col.kind == "text"
        }
        input_names = []
        for name in feature_cols:
            if name in categories:
                input_names += [f"{name}={c}" for c in categories[name]]
            else:
                input_names.append(name)
        two_01 = len(classes) == 2 and set(classes) == {0, 1}  # also {False, True}
        if task == "regression":
            encoding = "regression"
        else:
            encoding = "binary" if loss == "mse" and two_01 else "onehot"
        return cls(
            features=list(feature_cols),
            categories=categories,
            input_names=input_names,
            x_mean=[0.0] * len(input_names),
            x_std=[1.0] * len(input_names),
            targets=list(target_cols),
            task=task,
            classes=classes,
            encoding=encoding,
            y_mean=[0.0] * len(target_cols),
            y_std=[1.0] * len(target_cols),
            loss=loss,
            standardize=standardize,
        )

    def fit(self, columns: dict[str, Column], rows, Y: np.ndarray | None, source: str,
            dtype=np.float64):
        """Learn the standardization from the raw inputs (`raw_inputs`) of `rows` of the
        feature columns (None: all rows), read CHUNK_ROWS rows at a time, and, for regression,
        the raw targets Y (`raw_targets`); return self. DataError when a column is so extreme
        that training in `dtype` cannot work (see `_check_scale`)."""
        numeric = ~self._onehot_mask()
        names = [n for n, keep in zip(self.input_names, numeric) if keep]

        codes = self.category_codes(columns)

        def blocks():
            return (np.ascontiguousarray(self.raw_inputs(columns, source, part, codes)[:, numeric])
                    for part in _parts(len(next(iter(columns.values())).values), rows))

        if self.standardize:
            mean, std = np.zeros(len(numeric)), np.ones(len(numeric))
            if numeric.any():
                mean[numeric], std[numeric] = _mean_std(blocks, names, source, "column")
            self.x_mean, self.x_std = mean.tolist(), std.tolist()
        elif numeric.any():
            lo, hi = _extremes(blocks())
            for name, top in zip(names, np.maximum(-lo, hi), strict=True):
                _check_scale(top, f"column {name!r}", "reaches", source, dtype,
                             advice="standardize it (drop --no-standardize) or rescale it")
        if Y is None:
            return self
        if self.standardize:
            mean, std = _mean_std(lambda: [Y], self.targets, source, "target")
            self.y_mean, self.y_std = mean.tolist(), std.tolist()
        scales = self.y_std if self.standardize else np.abs(Y).max(axis=0)
        what = "has standard deviation" if self.standardize else "reaches"
        for name, scale in zip(self.targets, scales, strict=True):
            # the reported loss is in the target's units: ½ (ŷ − y)² must be a normal float64
            _check_scale(scale, f"target {name!r}", what, source, np.float64, tiny=True)
        return self

    def inputs(self, columns: dict[str, Column], source: str, rows=None, dtype=np.float64):
        """Standardized inputs X of `rows` (None: all rows) in `dtype`, C-contiguous, built
        CHUNK_ROWS rows at a time: x ← (x − mean) / std in float64, then rounded to `dtype`
        (the whole float64 matrix is never held)."""
        n = len(next(iter(columns.values())).values)
        X = np.empty((n if rows is None else len(rows), self.n_inputs), dtype)
        start, codes = 0, self.category_codes(columns)
        for part in _parts(n, rows):
            block = self.raw_inputs(columns, source, part, codes)
            self.standardize_inputs(block)
            X[start : start + len(block)] = block
            start += len(block)
        return X

    # -- saving --------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Plain-JSON record of the fitted preprocessing (warnings are not saved)."""
        return {
            f.name: copy.deepcopy(getattr(self, f.name))
            for f in fields(self)
            if f.name != "warnings"
        }

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessor:
        """Rebuild from `to_dict()` output (e.g. after json.loads); unknown keys are ignored."""
        names = [f.name for f in fields(cls) if f.name != "warnings"]
        absent = [n for n in names if n not in d]
        if absent:
            raise DataError(f"model preprocessing record lacks {', '.join(absent)}; retrain")
        return cls(**{n: d[n] for n in names})

    # -- inputs --------------------------------------------------------------------------------

    def transform(self, df: pd.DataFrame, dtype=np.float64, *, source: str | None = None):
        """Feature columns (matched by name) → standardized inputs X, shape (n, n_inputs)."""
        source = source or df.attrs.get("source", "data")
        require_columns(df, self.features, source, "feature")
        columns = {
            name: parse_column(df[name], name, source, as_text=name in self.categories)
            for name in self.features
        }
        raise_bad_cell(columns, source, "remove the row")
        X = self.raw_inputs(columns, source)
        self.standardize_inputs(X)
        return np.ascontiguousarray(X, dtype=dtype)

    def raw_inputs(self, columns: dict[str, Column], source: str, rows=None,
                   codes: dict | None = None) -> np.ndarray:
        """Unstandardized float64 inputs for `rows` (all rows when None): numbers as is,
        text as one-hot blocks (all zeros for a category not seen in training). `codes`: the
        text features' category codes (`category_codes`), when already computed."""
        n = len(columns[self.features[0]].values) if rows is None else len(rows)
        codes_of = codes if codes is not None else self.category_codes(columns)
        X = np.zeros((n, self.n_inputs))
        j = 0
        for name in self.features:
            col = columns[name]
            if name in self.categories:
                codes = codes_of[name] if rows is None else codes_of[name][rows]
                hit = np.flatnonzero(codes >= 0)
                X[hit, j + codes[hit]] = 1.0
                j += len(self.categories[name])
            else:
                if col.kind == "text":
                    raise DataError(
                        f"{source}: column {name!r} holds text (line 2 has "
                        f"{short(str(col.values[0]))!r}) but was numeric in training"
                    )
                X[:, j] = col.values if rows is None else col.values[rows]
                j += 1
        return X

    def category_codes(self, columns: dict[str, Column]) -> dict[str, np.ndarray]:
        """Each text feature's category codes (`_category_codes`), by name."""
        return {name: self._category_codes(name, columns[name]) for name in self.categories}

    def _category_codes(self, name: str, col: Column) -> np.ndarray:
        """Index of each cell's category, -1 for an unseen one (recorded in self.warnings)."""
        codes = col.index_in(self.categories[name])
        prefix = f"column {name!r} has categories not seen in training: "
        if (codes < 0).any() and not any(w.startswith(prefix) for w in self.warnings):
            unseen = sorted(set(col.values[codes < 0]))
            listed = ", ".join(repr(v) for v in unseen[:5]) + (", ..." if len(unseen) > 5 else "")
            self.warnings.append(f"{prefix}{listed} (encoded as all zeros)")
        return codes

    def _onehot_mask(self) -> np.ndarray:
        """True for the inputs that are one-hot indicators."""
        widths = [len(self.categories.get(name, [None])) for name in self.features]
        is_text = [name in self.categories for name in self.features]
        return np.repeat(is_text, widths)

    def standardize_inputs(self, X: np.ndarray) -> None:
        """x ← (x − mean) / std, in place."""
        if self.standardize:
            X -= np.asarray(self.x_mean)
            X /= np.asarray(self.x_std)

    # -- targets -------------------------------------------------------------------------------

    def encode_targets(self, df: pd.DataFrame, dtype=np.float64, *, source: str | None = None):
        """Target columns → Y, shape (n, n_outputs): 0/1, one-hot, or standardized values."""
        source = source or df.attrs.get("source", "data")
        require_columns(df, self.targets, source, "target")
        columns = {name: parse_column(df[name], name, source) for name in self.targets}
        raise_bad_cell(columns, source, "remove the row")
        return np.ascontiguousarray(self.encode(columns, source), dtype=dtype)

    def encode(self, columns: dict[str, Column], source: str, rows=None) -> np.ndarray:
        """Float64 targets for `rows` (all rows when None)."""
        if self.task == "regression":
            Y = self.raw_targets(columns, source, rows)
            if self.standardize:
                Y -= np.asarray(self.y_mean)
                Y /= np.asarray(self.y_std)
            return Y
        codes = self._class_codes(columns[self.targets[0]], source)
        codes = codes if rows is None else codes[rows]
        if self.encoding == "binary":
            return codes.astype(np.float64).reshape(-1, 1)
        Y = np.zeros((len(codes), len(self.classes)))
        Y[np.arange(len(codes)), codes] = 1.0
        return Y

    def raw_targets(self, columns: dict[str, Column], source: str, rows=None) -> np.ndarray:
        """Regression targets in original units, one column per target."""
        for name in self.targets:
            if columns[name].kind == "text":
                raise DataError(
                    f"{source}: target {name!r} is not numeric; use --task classification"
                )
        Y = np.column_stack([columns[name].values for name in self.targets])
        return Y if rows is None else Y[rows]

    def _class_codes(self, col: Column, source: str) -> np.ndarray:
        """Index of each label in self.classes, compared exactly (an integer label is never
        rounded through float64); DataError for a label that is not a class."""
        codes = col.index_in(self.classes)
        if (codes < 0).any():
            i = int(np.argmax(codes < 0))
            labels = col.labels()
            raise DataError(
                f"{source}: label {labels[i]!r} in column {self.targets[0]!r} at line {i + 2} is "
                f"not one of the training classes ({', '.join(map(str, self.classes))})"
            )
        return codes

    # -- outputs -------------------------------------------------------------------------------

    def decode(self, Yhat: np.ndarray) -> pd.DataFrame:
        """Network outputs → "pred_<target>" in original units or labels, plus one column per
        class: "prob_<label>", softmax probabilities (--loss ce), or "score_<label>", the mse
        outputs clipped to [0, 1] and renormalised (not calibrated probabilities)."""
        if self.task == "regression":
            Y = Yhat * np.asarray(self.y_std) + np.asarray(self.y_mean)
            return pd.DataFrame({f"pred_{t}": Y[:, k] for k, t in enumerate(self.targets)})
        out = {f"pred_{self.targets[0]}": self.predict_labels(Yhat)}
        P = outputs_to_proba(Yhat, self.loss)
        prefix = "prob" if self.loss == "ce" else "score"
        out.update({f"{prefix}_{label}": P[:, k] for k, label in enumerate(self.classes)})
        return pd.DataFrame(out)

    def predict_labels(self, Yhat: np.ndarray) -> np.ndarray:
        """Predicted class labels (classification only)."""
        if self.task != "classification":
            raise ConfigError("class labels need a classification model; this one is regression")
        labels = np.asarray(self.classes)
        if labels.dtype.kind == "f" and all(isinstance(c, int) for c in self.classes):
            labels = np.asarray(self.classes, dtype=object)  # integers beyond int64, exactly
        return labels[predicted_class(Yhat)]




CHUNK_ROWS = 16_384  # rows per block when the inputs are standardized or built


def _parts(n: int, rows) -> list[np.ndarray]:
    """`rows` (None: range(n)) in pieces of at most CHUNK_ROWS."""
    rows = np.arange(n) if rows is None else np.asarray(rows)
    return [rows[s : s + CHUNK_ROWS] for s in range(0, max(len(rows), 1), CHUNK_ROWS)]


def _extremes(blocks) -> tuple[np.ndarray, np.ndarray]:
    """Column minima and maxima over the blocks."""
    lo = hi = None
    for B in blocks:
        if len(B):
            lo = B.min(axis=0) if lo is None else np.minimum(lo, B.min(axis=0))
            hi = B.max(axis=0) if hi is None else np.maximum(hi, B.max(axis=0))
    return lo, hi


def _column_sums(blocks) -> np.ndarray:
    """Σ over the rows of all blocks, added in row order — numpy's own order for the column
    sums of one C-contiguous matrix, so the result is the same bits as `A.sum(axis=0)`."""
    total = None
    for B in blocks:
        total = B.sum(axis=0) if total is None else np.vstack([total[None], B]).sum(axis=0)
    return total


def _mean_std(blocks, names: list[str], source: str, role: str):
    """Means and standard deviations (ddof 0) of the columns of the row blocks `blocks()` yields
    (float64; called once per pass); a constant column gets std 1. Each column is divided by a
    power of two near its largest magnitude first and multiplied back after: exact, so ordinary
    data gives numpy's `A.mean(axis=0)`, `A.std(axis=0)` bit for bit (the sums run in numpy's
    row order), while sums of ±1e308 do not overflow and squares of 1e-320 do not underflow.
    DataError for a column whose distance x − mean itself overflows (e.g. 1.7e308 and −1.7e308
    beside 1e308)."""
    first = list(blocks()) if len(names) == 1 else None  # one column: numpy sums it pairwise,
    if first is not None:                                 # so sum it whole, as numpy does
        whole = np.concatenate(first)
        blocks = lambda: [whole]  # noqa: E731
    lo, hi = _extremes(blocks())
    n = sum(len(B) for B in blocks())
    _, exponent = np.frexp(np.maximum(-lo, hi))  # = frexp(max |x|)
    scale = np.ldexp(1.0, exponent - 1)  # 2^(e−1) ≤ the largest magnitude < 2^e (2^1024 = inf)
    m = _column_sums(B / scale for B in blocks()) / n
    s = np.sqrt(_column_sums((B / scale - m) ** 2 for B in blocks()) / n)
    reach = np.maximum(hi / scale - m, m - lo / scale)  # the largest |x − mean|
    with np.errstate(over="ignore"):
        reach *= scale
    for name, r, low, high in zip(names, reach, lo, hi, strict=True):
        if not np.isfinite(r):
            raise DataError(
                f"{source}: {role} {name!r} spans {low:.3g} to {high:.3g}: x − mean overflows "
                "float64, so it cannot be standardized; rescale the column"
            )
    m, s = m * scale, s * scale
    for name, sd, r in zip(names, s, reach, strict=True):
        if sd == 0 and r > 0:  # e.g. 0 and 5e-324: the std underflows to 0
            raise DataError(
                f"{source}: {role} {name!r} varies by less than float64 can standardize "
                "(its standard deviation underflows to 0); rescale the column"
            )
    s[reach == 0] = 1.0  # exactly constant (std could be round-off, not 0)
    return m, s


def _check_scale(scale: float, what: str, verb: str, source: str, dtype, tiny: bool = False,
                 advice: str = "rescale the column to values near 1"):
    """DataError when the square of `scale` (a column's typical size) overflows `dtype` — no
    step size can train on it — or, with `tiny`, underflows below the smallest normal float64,
    so losses would read 0."""
    with np.errstate(over="ignore", under="ignore"):
        square = np.float64(scale) ** 2
    if square > np.finfo(dtype).max:
        raise DataError(
            f"{source}: {what} {verb} {scale:.3g}; its square overflows {np.dtype(dtype).name}, "
            f"so training cannot work; {advice}"
        )
    if tiny and scale > 0 and square < _TINY:
        raise DataError(
            f"{source}: {what} {verb} {scale:.3g}; its square underflows float64, so every "
            f"loss would read 0; {advice}"
        )

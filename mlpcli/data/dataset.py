"""CSV → Dataset: read a CSV, pick target and features, encode, split, standardize.

The flow of `load_dataset`:

    resolve_data → read_csv → select columns → parse each column (number, bool or text;
    missing and infinite cells) → task and classes → train/val/test split → fit a Preprocessor
    on the train rows → arrays X_train, Y_train, X_val, Y_val (X_test, Y_test with a test split)
    → --val-file / --test-file read with that Preprocessor (their columns and classes checked).

The fitted `Preprocessor` is saved in model.json and re-applied by `predict`/`evaluate`. Nothing
here prints; every problem a user can fix is a one-line `DataError` (the data) or `ConfigError`
(the options) that names the file and, where it applies, the line, column and option.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlpcli.config import TASKS, Config, check_held_out
from mlpcli.core.losses import LOSSES
from mlpcli.data.bundled import resolve_data
from mlpcli.data.cache import DataCache
from mlpcli.data.columns import (
    MAX_LISTED,
    class_labels,
    drop_bad_rows,
    first_bad_cell,
    listing,
    parse_column,
    resolve_task,
    select_columns,
)
from mlpcli.data.csvread import read_csv
from mlpcli.data.preprocess import Preprocessor
from mlpcli.data.source import Source, open_source
from mlpcli.errors import ConfigError, DataError

MANY_CATEGORIES = 50  # warn when a text feature one-hot encodes into more inputs than this
VAL_FRAC = 0.2  # default validation fraction ...
MIN_ROWS_FOR_VAL = 50  # ... for data with at least this many rows (smaller data trains on all rows)


@dataclass
class Dataset:
    """Arrays ready for training, plus where they came from."""

    X_train: np.ndarray  # (n_train, n_inputs), C-contiguous
    Y_train: np.ndarray  # (n_train, n_outputs)
    X_val: np.ndarray  # (n_val, n_inputs); n_val = 0 without a validation split
    Y_val: np.ndarray
    train_rows: np.ndarray  # 0-based data-row indices into the file, ascending
    val_rows: np.ndarray
    preprocessor: Preprocessor
    path: Path
    sha256: str
    n_rows: int  # data rows in the file
    n_columns: int  # columns in the file
    val_frac: float  # the validation fraction used
    n_dropped: int  # rows dropped by dropna
    warnings: list[str]
    w_train: np.ndarray | None = None  # --sample-weight: the training rows' weights (float64)
    w_val: np.ndarray | None = None  # …and the validation rows'
    # held-out test rows (--test-frac: of this file; --test-file: of that file), never trained on
    X_test: np.ndarray | None = None
    Y_test: np.ndarray | None = None
    test_rows: np.ndarray | None = None
    held_out_files: dict = field(default_factory=dict)  # "val"/"test" → {path, sha256, rows}

    def to_cache(self) -> tuple[dict, dict]:
        """(arrays, JSON-able rest) for the data cache."""
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        meta = {"preprocessor": self.preprocessor.to_dict(), "n_rows": self.n_rows,
                "n_columns": self.n_columns, "val_frac": self.val_frac,
                "n_dropped": self.n_dropped, "warnings": self.warnings,
                "held_out_rows": {k: v["rows"] for k, v in self.held_out_files.items()}}
        return arrays, meta

    @classmethod
    def from_cache(cls, arrays: dict, meta: dict, path: Path, sha256: str,
                   held_out_files: dict) -> Dataset:
        """The Dataset a cache entry holds (arrays memory-mapped, read-only), for the file at
        `path` and the held-out files' records as they are now."""
        return cls(
            **{name: arrays.get(name) for name in _ARRAYS},
            preprocessor=Preprocessor.from_dict(meta["preprocessor"]), path=path, sha256=sha256,
            n_rows=meta["n_rows"], n_columns=meta["n_columns"], val_frac=meta["val_frac"],
            n_dropped=meta["n_dropped"], warnings=list(meta["warnings"]),
            held_out_files={split: {**record, "rows": meta["held_out_rows"][split]}
                            for split, record in held_out_files.items()},
        )


_ARRAYS = ("X_train", "Y_train", "X_val", "Y_val", "train_rows", "val_rows", "w_train", "w_val",
           "X_test", "Y_test", "test_rows")


def default_val_frac(n_rows: int) -> float:
    """VAL_FRAC for data with at least MIN_ROWS_FOR_VAL rows, else 0 (train on all rows)."""
    return VAL_FRAC if n_rows >= MIN_ROWS_FOR_VAL else 0.0


def check_val_frac(vf: float) -> None:
    """ConfigError unless 0 <= vf < 1."""
    if not 0 <= vf < 1:  # also rejects NaN
        raise ConfigError(f"--val-frac must be in [0, 1), got {vf}")


def load_dataset(
    data: str | Path,
    *,
    target: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    drop_columns: Sequence[str] = (),
    task: str = "auto",
    loss: str = "mse",
    standardize: bool = True,
    val_frac: float | None = None,
    dropna: bool = False,
    sep: str | None = None,
    encoding: str | None = None,
    rng: np.random.Generator,
    dtype=np.float64,
    sample_weight: str | None = None,
    frame=None,
    test_frac: float = 0.0,
    val_file: str | Path | None = None,
    test_file: str | Path | None = None,
    cache: DataCache | None = None,
) -> Dataset:
    """Read, check, encode, split and standardize a CSV (see the module docstring).
    `sample_weight`: a numeric column of per-row weights ≥ 0, then not a feature.
    `frame`: a DataFrame to use instead of reading `data` (then only the name of the data),
    as the scikit-learn-style estimators pass their arrays. `cache`: where the arrays of a
    regular file are kept for the next call with the same bytes and options (cache.py); the
    split's draws from `rng` are replayed from it, so a hit leaves `rng` as a miss does."""
    _check_options(task, loss, val_frac, dtype)
    check_held_out(val_frac, test_frac, val_file, test_file)
    options = dict(target=target, features=features, drop_columns=drop_columns, task=task,
                   loss=loss, standardize=standardize, val_frac=val_frac, dropna=dropna, sep=sep,
                   encoding=encoding, dtype=dtype, sample_weight=sample_weight,
                   test_frac=test_frac, val_file=val_file, test_file=test_file)
    if frame is not None or cache is None:
        return _load(data, frame, rng, **options)
    path = resolve_data(data)
    held = {split: resolve_data(f) for split, f in (("val", val_file), ("test", test_file)) if f}
    if not all(cache.accepts(p) for p in (path, *held.values())):
        return _load(data, frame, rng, **options)
    stream = open_source(path)
    sha256 = cache.content_sha256(path, stream.sha256)
    records = {split: {"path": str(p), "sha256": cache.content_sha256(p, open_source(p).sha256)}
               for split, p in held.items()}
    fields = {**options, "dtype": np.dtype(dtype).name, "sha256": sha256,
              "val_file": records.get("val", {}).get("sha256"),
              "test_file": records.get("test", {}).get("sha256"), "rng": rng.bit_generator.state}
    key = cache.key(fields)
    hit = cache.load(key)
    if hit is not None:
        arrays, meta = hit
        rng.bit_generator.state = meta["rng_after"]
        return Dataset.from_cache(arrays, meta, path, sha256, records)
    stream.digest = sha256
    dataset = _load(stream, None, rng, **options)
    arrays, meta = dataset.to_cache()
    # the run records the validation fraction it used: `evaluate` asks with it
    alias = cache.key({**fields, "val_frac": dataset.val_frac})
    cache.store(key, arrays, {**meta, "source": str(path.absolute()),
                              "rng_after": rng.bit_generator.state}, alias=alias)
    return dataset


def _load(data, frame, rng, *, target, features, drop_columns, task, loss, standardize, val_frac,
          dropna, sep, encoding, dtype, sample_weight, test_frac, val_file, test_file) -> Dataset:
    """load_dataset without the cache. `data` may be an opened Source."""
    if frame is None:
        path = data.path if isinstance(data, Source) else resolve_data(data)
        # read once if it is a pipe: hashed and parsed from memory
        stream = data if isinstance(data, Source) else open_source(path)
        df = read_csv(stream, sep=sep, encoding=encoding)
        sha256 = stream.sha256
    else:
        path, df = Path(data), frame_for_training(frame, str(data))
        sha256 = functools.partial(frame_sha256, df)
    source = df.attrs["source"]
    n_rows, n_columns = df.shape
    targets, feats = select_columns(df, target, features, drop_columns, source)
    weight_col = _weight_column(sample_weight, df, targets, feats, source)
    feats = [name for name in feats if name not in weight_col]
    columns = {name: parse_column(df[name], name, source)
               for name in [*feats, *targets, *weight_col]}
    notes = _decimal_comma_notes(df.attrs, columns)
    del df  # only the parsed columns are needed from here on
    first_bad = first_bad_cell(columns) if dropna else None
    rows, columns, n_dropped = drop_bad_rows(columns, dropna, source)
    feature_cols = {name: columns[name] for name in feats}
    target_cols = {name: columns[name] for name in targets}

    # task, classes, output encoding
    task = resolve_task(task, target_cols, source)
    _check_loss(loss, task, targets)
    classes = []
    if task == "classification":
        classes = class_labels(target_cols[targets[0]], targets[0], source)
    pre = Preprocessor.for_columns(feature_cols, target_cols, task=task, classes=classes,
                                   loss=loss, standardize=standardize)

    # split, then fit the standardization on the train rows (all rows without held-out rows)
    vf = (0.0 if val_file else default_val_frac(len(rows))) if val_frac is None else float(val_frac)
    labels = pre.encode(target_cols, source) if task == "classification" else None
    train, val, test = train_val_test(len(rows), vf, test_frac, rng, labels)
    fit_rows = None if len(val) + len(test) == 0 else train
    Y_raw = pre.raw_targets(target_cols, source, fit_rows) if task == "regression" else None
    pre.fit(feature_cols, fit_rows, Y_raw, source, dtype)
    X_train = pre.inputs(feature_cols, source, fit_rows, dtype)
    X_val = pre.inputs(feature_cols, source, val, dtype)
    Y_train = pre.encode(target_cols, source, fit_rows)
    Y_val = pre.encode(target_cols, source, val)
    weights = _sample_weights(columns, weight_col, rows, train, source)
    held_out = {}
    if len(test):
        X_test = pre.inputs(feature_cols, source, test, dtype)
        held_out["test"] = (X_test, pre.encode(target_cols, source, test), rows[test])
    files = {}
    for split, held_file in (("val", val_file), ("test", test_file)):
        if held_file:
            held_out[split], files[split] = _held_out_file(held_file, split, pre, sep, encoding)
    if "val" in files:
        X_val, Y_val, val_rows = held_out["val"]
    else:
        val_rows = rows[val]
    X_test, Y_test, test_rows = held_out.get("test", (None, None, None))
    return Dataset(
        X_train=np.ascontiguousarray(X_train, dtype=dtype),
        Y_train=np.ascontiguousarray(Y_train, dtype=dtype),
        X_val=np.ascontiguousarray(X_val, dtype=dtype),
        Y_val=np.ascontiguousarray(Y_val, dtype=dtype),
        train_rows=rows[train],
        val_rows=val_rows,
        preprocessor=pre,
        path=path,
        sha256=sha256(),
        n_rows=n_rows,
        n_columns=n_columns,
        val_frac=vf,
        n_dropped=n_dropped,
        warnings=notes + _dropna_note(n_dropped, n_rows, first_bad) + _load_warnings(pre, Y_train)
        + list(pre.warnings),
        w_train=None if weights is None else weights[train if fit_rows is not None else ...],
        w_val=None if weights is None or "val" in files else weights[val],
        X_test=None if X_test is None else np.ascontiguousarray(X_test, dtype=dtype),
        Y_test=None if Y_test is None else np.ascontiguousarray(Y_test, dtype=dtype),
        test_rows=test_rows,
        held_out_files=files,
    )


def frame_for_training(frame, source: str):
    """A caller's DataFrame as read_csv would return one: string column names, its source."""
    import pandas as pd

    df = pd.DataFrame(frame).copy(deep=False)
    df.columns = [str(c) for c in df.columns]
    df.attrs.update(source=source, decimal_commas=[], decimal_comma_text={})
    return df


def frame_sha256(df) -> str:
    """A sha256 of a DataFrame's column names and values (for config.json's dataset record)."""
    import hashlib

    import pandas as pd

    digest = hashlib.sha256("\x1f".join(df.columns).encode())
    digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def dataset_for(cfg: Config, rng: np.random.Generator, frame=None) -> Dataset:
    """The Dataset of a run's options, as `mlpcli train` loads it (split drawn from `rng`),
    through the data cache the environment names; `frame`: a DataFrame standing for the CSV
    named cfg.data (the estimators')."""
    return load_dataset(
        cfg.data, target=cfg.target or None, features=cfg.features or None,
        drop_columns=cfg.drop_columns, task=cfg.task, loss=cfg.loss, standardize=cfg.standardize,
        val_frac=cfg.val_frac, dropna=cfg.dropna, sep=cfg.sep, encoding=cfg.encoding, rng=rng,
        dtype=np.dtype(cfg.dtype), sample_weight=cfg.sample_weight, test_frac=cfg.test_frac,
        val_file=cfg.val_file, test_file=cfg.test_file, frame=frame, cache=DataCache.from_env(),
    )


def _held_out_file(data, split: str, pre: Preprocessor, sep, encoding):
    """(X, Y, rows) of a --val-file/--test-file, encoded with the training file's Preprocessor
    (a missing column or a label that is not a training class is a DataError), and its record."""
    path = resolve_data(data)
    stream = open_source(path)
    frame = read_csv(stream, sep=sep, encoding=encoding)
    X = pre.transform(frame)
    Y = pre.encode_targets(frame)
    if len(X) == 0:
        raise ConfigError(f"--{split}-file {path}: no data rows")
    record = {"path": str(path), "sha256": stream.sha256(), "rows": len(X)}
    return (X, Y, np.arange(len(X))), record


def _decimal_comma_notes(attrs: dict, columns: dict) -> list[str]:
    """What read_csv's decimal-comma rule did to the columns used: read as numbers, or left as
    text in a comma-separated file."""
    notes = []
    converted = [n for n in attrs["decimal_commas"] if n in columns]
    if converted:
        listed = ", ".join(repr(n) for n in converted)
        notes.append("read decimal commas as decimal points (1,5 = 1.5) in "
                     f"column{'s' * (len(converted) > 1)} {listed}")
    for name, example in attrs["decimal_comma_text"].items():
        if name in columns:
            notes.append(f"column {name!r} looks like numbers with decimal commas ({example!r}) "
                         "but is read as text; write decimal points in the file")
    return notes


def _weight_column(name, df, targets, feats, source) -> list[str]:
    """[--sample-weight's column] (checked to exist and not be a target), or []."""
    if name is None:
        return []
    if name not in df.columns:
        raise DataError(f"no column {name!r} in {source} (columns: {listing(df.columns)}); "
                        f"use --sample-weight with an existing column")
    if name in targets:
        raise ConfigError(f"column {name!r} is the target; it cannot be --sample-weight")
    if feats == [name]:
        raise DataError(f"{source}: no feature columns left besides --sample-weight {name!r}")
    return [name]


def _sample_weights(columns, weight_col, rows, train, source) -> np.ndarray | None:
    """The --sample-weight column's values (≥ 0, some training row's > 0), or None."""
    if not weight_col:
        return None
    name = weight_col[0]
    col = columns[name]
    if col.kind == "text":
        raise DataError(f"{source}: --sample-weight column {name!r} is not numeric")
    weights = col.values.astype(np.float64)
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        i = negative[0]
        raise DataError(f"{source}: --sample-weight column {name!r} has a negative weight "
                        f"({weights[i]:g}) at line {rows[i] + 2}; weights must be ≥ 0")
    if not weights[train].sum() > 0:
        raise DataError(f"{source}: --sample-weight column {name!r} gives every training row "
                        f"weight 0")
    return weights


def _dropna_note(n_dropped: int, n_rows: int, first_bad) -> list[str]:
    """The message reporting rows dropped by --dropna (none when nothing was dropped)."""
    if not n_dropped:
        return []
    i, name, what = first_bad
    plural = "row" if n_dropped == 1 else "rows"
    return [
        f"--dropna dropped {n_dropped} of {n_rows} {plural} with missing or infinite values "
        f"(the first: {what} value in column {name!r} at line {i + 2})"
    ]


def _check_options(task: str, loss: str, val_frac, dtype) -> None:
    """ConfigError for option values that are wrong whatever the data."""
    if task not in TASKS:
        raise ConfigError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    if loss not in LOSSES:
        raise ConfigError(f"--loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if val_frac is not None:
        check_val_frac(val_frac)
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ConfigError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")


def _check_loss(loss: str, task: str, targets: list[str]) -> None:
    """ConfigError for cross-entropy on a regression target."""
    if loss != "ce" or task != "regression":
        return
    if len(targets) > 1:
        raise ConfigError(
            f"--loss ce needs one classification target; several targets "
            f"({', '.join(targets)}) are fitted by regression"
        )
    raise ConfigError(
        f"--loss ce needs a classification target; {targets[0]!r} is regression "
        "(use --task classification if its values are class labels)"
    )


def split_rows(n: int, vf: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) row positions, each ascending: ceil(vf·n) random rows for validation.
    The generator is used only when there is a validation split."""
    check_val_frac(vf)
    n_val = _n_val(vf, n)
    if n - n_val < 1:
        raise ConfigError(f"--val-frac {vf} leaves no training rows ({n} rows)")
    if n_val == 0:
        return np.arange(n), np.arange(0)
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def train_val_test(n: int, vf: float, tf: float, rng: np.random.Generator,
                   labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) row positions, each ascending. First ceil(tf·n) test rows — a
    stratified sample when `labels` (one-hot or 0/1 targets, classification) are given — then
    ceil(vf·m) validation rows of the m rows left, drawn as `split_rows` draws them. Without a
    test split the generator is used exactly as before (the same rows and weights as ever)."""
    n_test = _n_val(tf, n)
    if n_test == 0:
        train, val = split_rows(n, vf, rng)
        return train, val, np.arange(0)
    if n - n_test < 1:
        raise ConfigError(f"--test-frac {tf} leaves no training rows ({n} rows)")
    test = _stratified_sample(n, n_test, rng, None if labels is None else _class_of(labels))
    rest = np.setdiff1d(np.arange(n), test)
    train, val = split_rows(len(rest), vf, rng)
    return rest[train], rest[val], test


def _class_of(Y: np.ndarray) -> np.ndarray:
    return (Y[:, 0] > 0.5).astype(np.intp) if Y.shape[1] == 1 else Y.argmax(axis=1)


def _stratified_sample(n: int, k: int, rng: np.random.Generator, classes) -> np.ndarray:
    """`k` of `n` row positions, ascending, at random; with `classes`, each class contributes
    in proportion to its size (largest remainders round the quotas to whole rows)."""
    perm = rng.permutation(n)
    if classes is None:
        return np.sort(perm[:k])
    counts = np.bincount(classes)
    quota = counts * k / n
    take = np.floor(quota).astype(np.intp)
    extra = np.argsort(-(quota - take), kind="stable")[: k - take.sum()]
    take[extra] += 1
    by_class = perm[np.argsort(classes[perm], kind="stable")]  # each class in random order
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.sort(np.concatenate([by_class[s : s + t] for s, t in zip(starts, take)]))


def _n_val(vf: float, n: int) -> int:
    """ceil(vf·n), not rounded up by float noise (0.1 · 30 = 3.0000000000000004 → 3)."""
    k = vf * n
    return round(k) if math.isclose(k, round(k)) else math.ceil(k)


def _load_warnings(pre: Preprocessor, Y_train: np.ndarray) -> list[str]:
    """Things worth telling the user that do not stop training, one line each (also with
    thousands of classes)."""
    out = []
    for name, cats in pre.categories.items():
        if len(cats) > MANY_CATEGORIES:
            out.append(
                f"column {name!r} is text with {len(cats)} distinct values, one-hot encoded "
                f"into {len(cats)} inputs; drop it with --drop-columns {name} if it is an id"
            )
    if pre.task == "classification":
        counts = Y_train.sum(axis=0)
        if pre.encoding == "binary":
            counts = np.array([len(Y_train) - counts[0], counts[0]])
        absent = [label for label, count in zip(pre.classes, counts, strict=True) if count == 0]
        target = pre.targets[0]
        if len(absent) == 1:
            out.append(f"class {absent[0]} of target {target!r} has no training rows "
                       "(it occurs only in the validation rows)")
        elif absent:
            listed = ", ".join(map(str, absent[:MAX_LISTED]))
            listed += ", ..." if len(absent) > MAX_LISTED else ""
            out.append(f"{len(absent)} of the {len(pre.classes)} classes of target {target!r} have "
                       f"no training rows (they occur only in the validation rows): {listed}")
    return out

"""Columns of a DataFrame as numbers, booleans or text: parsing, missing cells, column selection,
the task a target implies, and class labels compared exactly (integers never pass through float64).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlpcli.errors import ConfigError, DataError

MAX_CLASS_VALUES = 20  # task auto: an integer-valued target with at most this many values is labels
MAX_LISTED = 20  # column names shown in an error message before "..."
_INTEGER = re.compile(r"[+-]?\d+")
_FLOAT_MAX = int(np.finfo(np.float64).max)  # as an int: comparing a huge int to a float overflows


@dataclass
class Column:
    """One parsed column: `values` is float64 (NaN where missing) for "number" and "bool",
    an object array of stripped strings (None where missing) for "text". `exact` holds the
    integers of an integer column exactly (int64, uint64 or Python ints), else None. A text
    column also has `codes` into `uniques` (its distinct strings; -1 where missing), so that
    its categories are found among a few distinct values, not a million cells."""

    kind: str  # "number" | "bool" | "text"
    values: np.ndarray
    missing: np.ndarray  # bool mask: empty cell, NaN, NA, ...
    exact: np.ndarray | None = None
    codes: np.ndarray | None = None  # text: values == uniques[codes] where not missing
    uniques: np.ndarray | None = None

    @property
    def infinite(self) -> np.ndarray:
        """Mask of ±inf cells (never true for text)."""
        if self.kind == "text":
            return np.zeros(len(self.values), dtype=bool)
        return np.isinf(self.values)

    def take(self, rows: np.ndarray) -> Column:
        """The column restricted to `rows`."""
        exact = None if self.exact is None else self.exact[rows]
        codes = None if self.codes is None else self.codes[rows]
        return Column(self.kind, self.values[rows], self.missing[rows], exact, codes, self.uniques)

    def categories(self) -> list[str]:
        """The sorted distinct strings of a text column's cells (missing cells left out)."""
        if self.codes is None:
            return np.unique(self.values[~self.missing]).tolist()
        used = np.flatnonzero(np.bincount(self.codes[self.codes >= 0], minlength=len(self.uniques)))
        return sorted(set(self.uniques[used].tolist()))

    def index_in(self, labels: list) -> np.ndarray:
        """Each cell's position in `labels` (as `labels()` gives the cells), -1 where absent."""
        index = pd.Index(labels, dtype=object)
        if self.codes is not None:
            return np.append(index.get_indexer(self.uniques), -1)[self.codes]
        return index.get_indexer(self.labels())

    def labels(self) -> np.ndarray:
        """Each cell as a class label (object array): text as is, booleans, integers exactly
        (whole floats as ints), other numbers as floats."""
        if self.kind == "text":
            return self.values
        if self.kind == "bool":
            return self.values.astype(bool).astype(object)
        if self.exact is not None:
            return self.exact.astype(object)
        out = self.values.astype(object)
        whole = np.isfinite(self.values) & (self.values == np.round(self.values))
        out[whole] = [int(v) for v in self.values[whole]]
        return out


def parse_column(s: pd.Series, name: str, source: str, as_text: bool = False) -> Column:
    """Classify and convert a column; DataError if it mixes numbers and text."""
    missing = s.isna().to_numpy()
    if as_text:
        return Column("text", _text_values(s), missing)
    if pd.api.types.is_bool_dtype(s.dtype):
        return Column("bool", s.to_numpy(dtype=np.float64, na_value=np.nan), missing)
    if pd.api.types.is_integer_dtype(s.dtype):  # int64/uint64: no missing cells
        exact = s.to_numpy()
        return Column("number", exact.astype(np.float64), missing, exact)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return Column("number", s.to_numpy(dtype=np.float64, na_value=np.nan), missing)
    if pd.api.types.infer_dtype(s, skipna=True) == "boolean":  # True/False with missing cells
        return Column("bool", s.to_numpy(dtype=np.float64, na_value=np.nan), missing)
    # text, integers beyond 64 bits, or numbers held as strings: each distinct cell read once
    codes, uniques = pd.factorize(s)  # codes: -1 where missing, else in order of first use
    raw = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    stripped = raw.astype(pd.StringDtype()).str.strip()
    text = np.append(stripped.to_numpy(dtype=object), None)  # index -1 (missing) → None
    is_integer = stripped.str.fullmatch(_INTEGER).fillna(False).to_numpy(dtype=bool)
    if is_integer.any():
        big = _huge_integer(stripped, is_integer)
        if big is not None:
            row = int(np.argmax(codes == big))
            raise DataError(
                f"{source}: column {name!r} at line {row + 2} has an integer too large for a "
                f"float64 ({short(stripped.iloc[big])}); fix the value or drop the column with "
                f"--drop-columns {name}"
            )
        if is_integer.all():
            exact = np.array([*(int(v) for v in stripped), None], dtype=object)
            values = np.array([*(float(v) for v in exact[:-1]), np.nan])
            return Column("number", values[codes], missing, exact[codes])
    # a cell is text when it does not parse as a number
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    is_text = np.isnan(numbers)
    if not is_text.any():
        return Column("number", np.append(numbers, np.nan)[codes], missing)
    if is_text.all():
        return Column("text", text[codes], missing, codes=codes, uniques=text[:-1])
    raise _mixed_error(s, name, source, np.append(is_text, False)[codes], missing)


def _huge_integer(text: pd.Series, is_integer: np.ndarray) -> int | None:
    """Position of the first integer in `text` beyond float64's range, or None."""
    for i in np.flatnonzero(is_integer):
        if abs(int(text.iloc[i])) > _FLOAT_MAX:
            return int(i)
    return None


def _text_values(s: pd.Series) -> np.ndarray:
    """Stripped strings as an object array, None where missing."""
    return s.astype(pd.StringDtype()).str.strip().to_numpy(dtype=object, na_value=None)


def _mixed_error(s, name, source, is_text, missing) -> DataError:
    """DataError pointing at the first cell of the minority kind (text among numbers or v.v.)."""
    text_rows = np.flatnonzero(is_text)
    number_rows = np.flatnonzero(~missing & ~is_text)
    odd = text_rows if len(text_rows) <= len(number_rows) else number_rows
    i = int(odd[0])
    value = str(s.iloc[i]).strip()
    return DataError(
        f"{source}: column {name!r} mixes numbers and text: line {i + 2} has {short(value)!r}; "
        f"fix the value or drop the column with --drop-columns {name}"
    )


def short(value: str, limit: int = 40) -> str:
    """A value cut to `limit` characters for a message."""
    return value if len(value) <= limit else value[: limit - 3] + "..."


def first_bad_cell(columns: dict[str, Column]) -> tuple[int, str, str] | None:
    """(row, column, "missing" | "infinite") of the earliest bad cell, or None."""
    best = None
    for name, col in columns.items():
        bad = col.missing | col.infinite
        if bad.any():
            i = int(bad.argmax())
            if best is None or i < best[0]:
                best = (i, name, "missing" if col.missing[i] else "infinite")
    return best


def raise_bad_cell(columns: dict[str, Column], source: str, advice: str) -> None:
    """DataError for the earliest missing or infinite cell, if any."""
    bad = first_bad_cell(columns)
    if bad is not None:
        i, name, what = bad
        verb = "fill" if what == "missing" else "fix"
        raise DataError(
            f"{source}: {what} value in column {name!r} at line {i + 2}; {verb} it or {advice}"
        )


def require_columns(df: pd.DataFrame, names: Sequence[str], source: str, role: str) -> None:
    """DataError naming the first of `names` that `df` lacks, listing its columns."""
    for name in names:
        if name not in df.columns:
            raise DataError(
                f"{source}: no {role} column {name!r} (columns: {listing(df.columns)}); "
                "the model needs the columns it was trained on"
            )


def listing(names) -> str:
    """Column names for a message, at most MAX_LISTED of them."""
    names = [str(n) for n in names]
    if len(names) <= MAX_LISTED:
        return ", ".join(names)
    return ", ".join(names[:MAX_LISTED]) + f", ... ({len(names)} in all)"




def _names(value) -> list[str]:
    """Column names from None, one name, or a sequence of names; repeats removed."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(dict.fromkeys(value))


def select_columns(df, target, features, drop_columns, source: str) -> tuple[list[str], list[str]]:
    """(target names, feature names): target default the last column; features the given ones
    or every other column minus `drop_columns`."""
    columns = list(df.columns)

    def require(name: str, option: str) -> None:
        if name not in columns:
            raise DataError(
                f"no column {name!r} in {source} (columns: {listing(columns)}); use {option}"
            )

    targets = _names(target) or [columns[-1]]
    for name in targets:
        require(name, "--target NAME")
    drops = _names(drop_columns)
    for name in drops:
        require(name, "--drop-columns with existing names")
        if name in targets:
            raise ConfigError(f"column {name!r} is the target; it cannot be in --drop-columns")
    chosen = _names(features)
    for name in chosen:
        require(name, "--features with existing names")
        if name in targets:
            raise ConfigError(f"column {name!r} is the target; it cannot also be in --features")
    pool = chosen or [c for c in columns if c not in targets]
    feats = [c for c in pool if c not in drops]
    if not feats:
        raise DataError(
            f"{source}: no feature columns left (columns: {listing(columns)}; target: "
            f"{', '.join(targets)}); check --target, --features and --drop-columns"
        )
    return targets, feats


def drop_bad_rows(columns: dict[str, Column], dropna: bool, source: str):
    """(kept row indices, columns restricted to them, number dropped). Without `dropna`, a
    missing or infinite cell is a DataError."""
    n = len(next(iter(columns.values())).values)
    bad = np.zeros(n, dtype=bool)
    for col in columns.values():
        bad |= col.missing | col.infinite
    if not bad.any():
        return np.arange(n), columns, 0
    if not dropna:
        raise_bad_cell(columns, source, "pass --dropna")
    keep = np.flatnonzero(~bad)
    if keep.size == 0:
        raise DataError(
            f"{source}: every row has a missing or infinite value in the columns used; "
            "nothing is left after --dropna"
        )
    return keep, {name: col.take(keep) for name, col in columns.items()}, n - keep.size


def resolve_task(task: str, target_cols: dict[str, Column], source: str) -> str:
    """The task, regression or classification, from --task and the target column(s)."""
    names = list(target_cols)
    if len(names) > 1:
        if task == "classification":
            raise ConfigError(
                f"--task classification takes one --target, got {len(names)} ({', '.join(names)})"
            )
        for name, col in target_cols.items():
            if col.kind == "text":
                raise DataError(
                    f"{source}: target {name!r} is not numeric; several targets are fitted by "
                    "regression — use it as the only --target with --task classification"
                )
        return "regression"
    ((name, col),) = target_cols.items()
    if task == "regression":
        if col.kind == "text":
            raise DataError(f"{source}: target {name!r} is not numeric; use --task classification")
        return "regression"
    if task == "classification" or col.kind in ("text", "bool") or _looks_like_labels(col):
        return "classification"
    return "regression"


def _looks_like_labels(col: Column) -> bool:
    """Whole numbers with at most MAX_CLASS_VALUES distinct values."""
    if col.exact is not None:
        return np.unique(col.exact).size <= MAX_CLASS_VALUES
    values = col.values
    whole = bool(np.all(values == np.round(values)))
    return whole and np.unique(values).size <= MAX_CLASS_VALUES


def class_labels(col: Column, name: str, source: str) -> list:
    """Sorted distinct labels as JSON-native values (exact integers); DataError for one class."""
    labels = sorted(set(col.labels().tolist()))
    if len(labels) < 2:
        raise DataError(
            f"{source}: target {name!r} has a single class ({labels[0]}); "
            "classification needs at least two"
        )
    return labels

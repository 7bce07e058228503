"""CSV → Dataset: read a CSV, pick target and features, encode, standardize, split.

The flow of `load_dataset`:

    resolve_data → read_csv → select columns → parse each column (number, bool or text;
    missing and infinite cells) → task and classes → train/val split → fit a Preprocessor on
    the train rows → arrays X_train, Y_train, X_val, Y_val.

The fitted `Preprocessor` is saved in model.json (`to_dict`/`from_dict`) and re-applied by
`predict`/`evaluate` (`transform`, `encode_targets`, `decode`). Nothing here prints; every problem
a user can fix is a one-line `DataError` (the data) or `ConfigError` (the options) that names the
file and, where it applies, the line, column and option. A data row's line is its line in the file:
the header is line 1, so 0-based data row i is line i + 2.
"""

from __future__ import annotations

import codecs
import copy
import csv
import hashlib
import importlib.resources
import io
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from mlpcli.core.losses import LOSSES, outputs_to_proba, predicted_class
from mlpcli.errors import ConfigError, DataError

TASKS = ("auto", "regression", "classification")
DEFAULT_ENCODING = "utf-8-sig"  # plain UTF-8 that also skips a byte-order mark
SNIFF_BYTES = 64 * 1024  # the delimiter sniffer and the binary-file check look this far
SNIFF_LINES = 100  # ... and at no more than this many lines
DELIMITERS = ",;\t"  # what the sniffer chooses among, in order of preference
SEP_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "space": " "}
MAX_CLASS_VALUES = 20  # task auto: an integer-valued target with at most this many values is labels
MANY_CATEGORIES = 50  # warn when a text feature one-hot encodes into more inputs than this
MAX_LISTED = 20  # column names shown in an error message before "..."
VAL_FRAC = 0.2  # default validation fraction ...
MIN_ROWS_FOR_VAL = 50  # ... for data with at least this many rows (smaller data trains on all rows)


# ---------------------------------------------------------------------------------------------
# Finding the file


def bundled_dir() -> Path:
    """The bundled datasets: inside the installed package, else the repository's datasets/."""
    packaged = importlib.resources.files("mlpcli") / "datasets"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "datasets"


def bundled_names() -> list[str]:
    """Sorted names (file stems) of the bundled CSV datasets."""
    folder = bundled_dir()
    return sorted(p.stem for p in folder.glob("*.csv")) if folder.is_dir() else []


def resolve_data(data: str | Path) -> Path:
    """An existing file path as is, else a bundled dataset by name ("xor" or "xor.csv")."""
    path = Path(data)
    if path.is_dir():
        raise DataError(f"{data} is a directory, not a CSV file; pass a .csv file")
    if path.exists():
        return path
    name = str(data)
    stem = name[: -len(".csv")] if name.endswith(".csv") else name
    names = bundled_names()
    if stem in names:
        return bundled_dir() / f"{stem}.csv"
    raise DataError(f"no such file or bundled dataset: {name!r} (bundled: {', '.join(names)})")


def describe_bundled() -> list[dict]:
    """One record per bundled dataset, sorted by name: {"name", "rows", "features", "target",
    "task"}, with the target the last column and the task as `--task auto` decides it."""
    out = []
    for name in bundled_names():
        df = read_csv(bundled_dir() / f"{name}.csv")
        source = df.attrs["source"]
        targets, feats = select_columns(df, None, None, (), source)
        target = targets[0]
        col = _parse_column(df[target], target, source)
        keep = ~(col.missing | col.infinite)
        task = _resolve_task("auto", {target: col.take(np.flatnonzero(keep))}, source)
        out.append(
            {"name": name, "rows": len(df), "features": len(feats), "target": target, "task": task}
        )
    return out


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Reading the CSV


def read_csv(path: Path, sep: str | None = None, encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV with a header row into a DataFrame (pandas' C parser), checking its shape.

    `sep` is a delimiter ("tab" and "\\t" mean tab); without it the delimiter is sniffed among
    comma, semicolon and tab. `df.attrs["source"]` is set to the file name, for messages. In a
    file not separated by commas, a column of numbers written with decimal commas ("1,5") is read
    as numbers; their names are in `df.attrs["decimal_commas"]`.
    """
    path = Path(path)
    name = path.name
    encoding = _check_encoding(encoding or DEFAULT_ENCODING)
    head = _read_head(path)
    _check_not_binary(head, encoding, name)
    text = _decode_head(path, head, encoding)
    if not text.strip():
        raise DataError(f"{name} is empty; a CSV needs a header row and data rows")
    delimiter = parse_sep(sep) if sep is not None else sniff_delimiter(text)
    _check_header(_header_fields(text, delimiter), name)
    df = _pandas_read(path, delimiter, encoding)
    df.columns = [str(c).strip() for c in df.columns]
    df = _drop_trailing_blank_rows(df)
    if len(df) == 0:
        raise DataError(f"{name} has a header but no rows; add data rows below the header")
    if df.shape[1] < 2:
        raise DataError(
            f"{name} has only one column ({df.columns[0]!r}); need at least one feature and "
            "one target — wrong --sep?"
        )
    df.attrs["source"] = name
    df.attrs["decimal_commas"] = _read_decimal_commas(df) if delimiter != "," else []
    return df


def _read_decimal_commas(df: pd.DataFrame) -> list[str]:
    """Turn text columns of decimal-comma numbers into numbers, in place; their names.

    Only for files not separated by commas: in a comma-separated file a quoted "1,234" is as
    likely a thousands separator.
    """
    converted = []
    for name in df.columns:
        if pd.api.types.is_numeric_dtype(df[name].dtype):
            continue
        text = df[name].astype("string").str.strip()
        if _decimal_comma_example(text.dropna().unique()) is not None:
            df[name] = pd.to_numeric(text.str.replace(",", ".", regex=False)).astype(float)
            converted.append(name)
    return converted


def parse_sep(sep: str) -> str:
    """The one-character delimiter a user means by `sep` ("tab", "\\t", ";", ...)."""
    delimiter = SEP_ALIASES.get(sep.lower(), sep)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ConfigError(f"--sep must be one character such as ',' ';' or 'tab', got {sep!r}")
    return delimiter


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: csv.Sniffer's guess if it splits the first lines evenly, else
    the first candidate that does, else comma."""
    lines = _complete_lines(text)
    try:
        guess = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        guess = None
    if guess is not None and _splits_evenly(lines, guess):
        return guess
    return next((d for d in DELIMITERS if _splits_evenly(lines, d)), guess or ",")


def _complete_lines(text: str) -> list[str]:
    """The first SNIFF_LINES lines of the sample, without a last line the sample cut short."""
    lines = text.splitlines()
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]
    return lines[:SNIFF_LINES]


def _splits_evenly(lines: list[str], delimiter: str) -> bool:
    """True when every non-blank line has the same number (> 1) of fields."""
    widths = {len(row) for row in csv.reader(lines, delimiter=delimiter) if row}
    return len(widths) == 1 and widths.pop() > 1


def _check_encoding(encoding: str) -> str:
    """The encoding if Python knows it, else ConfigError."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(f"unknown --encoding {encoding!r}; try utf-8 or latin-1") from None
    return encoding


def _read_head(path: Path) -> bytes:
    """The first SNIFF_BYTES bytes; OS errors become DataError."""
    try:
        with open(path, "rb") as f:
            return f.read(SNIFF_BYTES)
    except PermissionError:
        raise DataError(f"{path.name}: permission denied; check the file's permissions") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a directory, not a CSV file; pass a .csv file") from None
    except OSError as e:
        raise DataError(f"{path.name}: cannot read the file ({e.strerror})") from None


def _is_wide(encoding: str) -> bool:
    """UTF-16/32 text legitimately contains NUL bytes."""
    return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def _check_not_binary(head: bytes, encoding: str, name: str) -> None:
    """DataError for NUL bytes in the first SNIFF_BYTES, unless the encoding is UTF-16/32."""
    if b"\0" not in head or _is_wide(encoding):
        return
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError(f"{name} looks like UTF-16 text; pass --encoding utf-16")
    raise DataError(f"{name} looks like a binary file, not CSV; pass a comma-separated text file")


def _decode_head(path: Path, head: bytes, encoding: str) -> str:
    """Decode the sample; a multi-byte character cut at the end of it is left out."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        return decoder.decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError:
        raise _decode_error(path, encoding) from None


def _decode_error(path: Path, encoding: str) -> DataError:
    """A DataError locating the first byte of the file that `encoding` cannot decode."""
    label = "UTF-8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding
    found = _find_undecodable(path, encoding)
    where = ""
    if found is not None:
        byte, position, line = found
        where = f" (byte 0x{byte:02x} at position {position}, line {line})"
    return DataError(
        f"{path.name} is not valid {label}{where}; pass --encoding, e.g. --encoding latin-1"
    )


def _find_undecodable(path: Path, encoding: str) -> tuple[int, int, int] | None:
    """(byte value, byte offset, line number) of the first undecodable byte, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            pending = decoder.getstate()[0]  # bytes of a character split between chunks
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                start = offset - len(pending) + e.start
                return e.object[e.start], start, line + e.object[: e.start].count(b"\n")
            if not chunk:
                return None
            offset += len(chunk)
            line += chunk.count(b"\n")


def _header_fields(text: str, delimiter: str) -> list[str]:
    """The header row's field names, stripped, as the csv module reads them."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    return [f.strip() for f in next(reader, [])]


def _check_header(names: list[str], source: str) -> None:
    """DataError for repeated column names (pandas would silently rename them "x.1")."""
    seen: set[str] = set()
    repeated = [n for n in names if n and (n in seen or seen.add(n))]
    if repeated:
        listed = ", ".join(repr(n) for n in dict.fromkeys(repeated))
        raise DataError(
            f"{source}: duplicate column names {listed}; give each column a unique name"
        )


_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _pandas_read(path: Path, delimiter: str, encoding: str) -> pd.DataFrame:
    """pd.read_csv with the C parser; parser and OS errors become one-line DataErrors."""
    name = path.name
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            df = pd.read_csv(
                path,
                sep=delimiter,
                encoding=encoding,
                engine="c",
                index_col=False,  # never take the first column as an index
                skip_blank_lines=False,  # keep row i on file line i + 2
                skipinitialspace=True,
                low_memory=False,  # infer each column's type from all of it
            )
    except UnicodeDecodeError:
        raise _decode_error(path, encoding) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} is empty; a CSV needs a header row and data rows") from None
    except pd.errors.ParserError as e:
        match = _RAGGED.search(str(e))
        if match is None:
            raise DataError(f"{name}: cannot parse as CSV ({str(e).strip()})") from None
        expected, line, saw = match.groups()
        # pandas counts records, not lines: after a quoted field holding a line break its
        # "line" is too small, so find the row's line in the file with the csv module
        found = _first_ragged_line(path, delimiter, encoding, int(expected))
        if found is not None:
            line, saw = found
        raise DataError(
            f"{name}: line {line} has {saw} fields, expected {expected}; fix the row or check --sep"
        ) from None
    except PermissionError:
        raise DataError(f"{name}: permission denied; check the file's permissions") from None
    except OSError as e:
        raise DataError(f"{name}: cannot read the file ({e.strerror})") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise _ragged_error(path, delimiter, encoding, len(df.columns))
    return df


def _first_ragged_line(
    path: Path, delimiter: str, encoding: str, expected: int
) -> tuple[int, int] | None:
    """(file line, number of fields) of the first non-blank row without `expected` fields, as
    the csv module reads the file; None if there is none or the file cannot be read again."""
    try:
        with open(path, encoding=encoding, newline="") as f:
            reader = csv.reader(f, delimiter=delimiter, skipinitialspace=True)
            for row in reader:
                if row and len(row) != expected:
                    return reader.line_num, len(row)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def _ragged_error(path: Path, delimiter: str, encoding: str, expected: int) -> DataError:
    """DataError naming the first line whose field count differs from the header's."""
    found = _first_ragged_line(path, delimiter, encoding, expected)
    if found is None:
        return DataError(f"{path.name}: rows have more fields than the header; check --sep")
    line, saw = found
    return DataError(
        f"{path.name}: line {line} has {saw} fields, expected {expected}; "
        "fix the row or check --sep"
    )


def _drop_trailing_blank_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Drop all-empty rows at the end of the file (blank lines before EOF)."""
    filled = np.flatnonzero(df.notna().any(axis=1).to_numpy())
    n_keep = filled[-1] + 1 if filled.size else 0
    return df if n_keep == len(df) else df.iloc[:n_keep]


# ---------------------------------------------------------------------------------------------
# Columns: numbers, booleans or text


@dataclass
class _Column:
    """One parsed column: `values` is float64 (NaN where missing) for "number" and "bool",
    an object array of stripped strings (None where missing) for "text"."""

    kind: str  # "number" | "bool" | "text"
    values: np.ndarray
    missing: np.ndarray  # bool mask: empty cell, NaN, NA, ...

    @property
    def infinite(self) -> np.ndarray:
        """Mask of ±inf cells (never true for text)."""
        if self.kind == "text":
            return np.zeros(len(self.values), dtype=bool)
        return np.isinf(self.values)

    def take(self, rows: np.ndarray) -> _Column:
        """The column restricted to `rows`."""
        return _Column(self.kind, self.values[rows], self.missing[rows])


def _parse_column(s: pd.Series, name: str, source: str, as_text: bool = False) -> _Column:
    """Classify and convert a column; DataError if it mixes numbers and text."""
    missing = s.isna().to_numpy()
    if as_text:
        return _Column("text", _text_values(s), missing)
    if pd.api.types.is_bool_dtype(s.dtype):
        return _Column("bool", s.to_numpy(dtype=np.float64, na_value=np.nan), missing)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return _Column("number", s.to_numpy(dtype=np.float64, na_value=np.nan), missing)
    if pd.api.types.infer_dtype(s, skipna=True) == "boolean":  # True/False with missing cells
        return _Column("bool", s.to_numpy(dtype=np.float64, na_value=np.nan), missing)
    # text, or numbers held as strings: a cell is text when it does not parse as a number
    numbers = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    is_text = ~missing & np.isnan(numbers)
    if not is_text.any():
        return _Column("number", numbers, missing)
    if is_text[~missing].all():
        return _Column("text", _text_values(s), missing)
    raise _mixed_error(s, name, source, is_text, missing)


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
        f"{source}: column {name!r} mixes numbers and text: line {i + 2} has {_short(value)!r}; "
        f"fix the value or drop the column with --drop-columns {name}"
    )


def _short(value: str, limit: int = 40) -> str:
    """A value cut to `limit` characters for a message."""
    return value if len(value) <= limit else value[: limit - 3] + "..."


def _first_bad_cell(columns: dict[str, _Column]) -> tuple[int, str, str] | None:
    """(row, column, "missing" | "infinite") of the earliest bad cell, or None."""
    best = None
    for name, col in columns.items():
        bad = col.missing | col.infinite
        if bad.any():
            i = int(bad.argmax())
            if best is None or i < best[0]:
                best = (i, name, "missing" if col.missing[i] else "infinite")
    return best


def _raise_bad_cell(columns: dict[str, _Column], source: str, advice: str) -> None:
    """DataError for the earliest missing or infinite cell, if any."""
    bad = _first_bad_cell(columns)
    if bad is not None:
        i, name, what = bad
        verb = "fill" if what == "missing" else "fix"
        raise DataError(
            f"{source}: {what} value in column {name!r} at line {i + 2}; {verb} it or {advice}"
        )


def _require_columns(df: pd.DataFrame, names: Sequence[str], source: str, role: str) -> None:
    """DataError naming the first of `names` that `df` lacks, listing its columns."""
    for name in names:
        if name not in df.columns:
            raise DataError(
                f"{source}: no {role} column {name!r} (columns: {_listing(df.columns)}); "
                "the model needs the columns it was trained on"
            )


def _listing(names) -> str:
    """Column names for a message, at most MAX_LISTED of them."""
    names = [str(n) for n in names]
    if len(names) <= MAX_LISTED:
        return ", ".join(names)
    return ", ".join(names[:MAX_LISTED]) + f", ... ({len(names)} in all)"


# ---------------------------------------------------------------------------------------------
# The preprocessor: fitted on the train rows, saved in model.json


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
        _require_columns(df, self.features, source, "feature")
        columns = {
            name: _parse_column(df[name], name, source, as_text=name in self.categories)
            for name in self.features
        }
        _raise_bad_cell(columns, source, "remove the row")
        X = self._raw_inputs(columns, source)
        self._standardize_inputs(X)
        return np.ascontiguousarray(X, dtype=dtype)

    def _raw_inputs(self, columns: dict[str, _Column], source: str, rows=None) -> np.ndarray:
        """Unstandardized float64 inputs for `rows` (all rows when None): numbers as is,
        text as one-hot blocks (all zeros for a category not seen in training)."""
        n = len(columns[self.features[0]].values) if rows is None else len(rows)
        X = np.zeros((n, self.n_inputs))
        j = 0
        for name in self.features:
            col = columns[name]
            if name in self.categories:
                codes = self._category_codes(name, col)
                codes = codes if rows is None else codes[rows]
                hit = np.flatnonzero(codes >= 0)
                X[hit, j + codes[hit]] = 1.0
                j += len(self.categories[name])
            else:
                if col.kind == "text":
                    raise DataError(
                        f"{source}: column {name!r} holds text (line 2 has "
                        f"{_short(str(col.values[0]))!r}) but was numeric in training"
                    )
                X[:, j] = col.values if rows is None else col.values[rows]
                j += 1
        return X

    def _category_codes(self, name: str, col: _Column) -> np.ndarray:
        """Index of each cell's category, -1 for an unseen one (recorded in self.warnings)."""
        cats = self.categories[name]
        codes = pd.Index(cats, dtype=object).get_indexer(col.values)
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

    def _standardize_inputs(self, X: np.ndarray) -> None:
        """x ← (x − mean) / std, in place."""
        if self.standardize:
            X -= np.asarray(self.x_mean)
            X /= np.asarray(self.x_std)

    # -- targets -------------------------------------------------------------------------------

    def encode_targets(self, df: pd.DataFrame, dtype=np.float64, *, source: str | None = None):
        """Target columns → Y, shape (n, n_outputs): 0/1, one-hot, or standardized values."""
        source = source or df.attrs.get("source", "data")
        _require_columns(df, self.targets, source, "target")
        columns = {name: _parse_column(df[name], name, source) for name in self.targets}
        _raise_bad_cell(columns, source, "remove the row")
        return np.ascontiguousarray(self._encode(columns, source), dtype=dtype)

    def _encode(self, columns: dict[str, _Column], source: str, rows=None) -> np.ndarray:
        """Float64 targets for `rows` (all rows when None)."""
        if self.task == "regression":
            Y = self._raw_targets(columns, source, rows)
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

    def _raw_targets(self, columns: dict[str, _Column], source: str, rows=None) -> np.ndarray:
        """Regression targets in original units, one column per target."""
        for name in self.targets:
            if columns[name].kind == "text":
                raise DataError(
                    f"{source}: target {name!r} is not numeric; use --task classification"
                )
        Y = np.column_stack([columns[name].values for name in self.targets])
        return Y if rows is None else Y[rows]

    def _class_codes(self, col: _Column, source: str) -> np.ndarray:
        """Index of each label in self.classes; DataError for a label that is not a class."""
        text_classes = all(isinstance(c, str) for c in self.classes)
        if (col.kind == "text") == text_classes:
            keys = self.classes if text_classes else [float(c) for c in self.classes]
            codes = pd.Index(keys, dtype=object if text_classes else np.float64).get_indexer(
                col.values
            )
        else:
            codes = np.full(len(col.values), -1)
        if (codes < 0).any():
            i = int(np.argmax(codes < 0))
            label = _label_text(col.values[i], col.kind)
            raise DataError(
                f"{source}: label {label!r} in column {self.targets[0]!r} at line {i + 2} is not "
                f"one of the training classes ({', '.join(map(str, self.classes))})"
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
        return np.asarray(self.classes)[predicted_class(Yhat)]


def _label_text(value, kind: str):
    """A label as it reads in the file: an int when whole, a bool for bool columns."""
    if kind == "text":
        return value
    if kind == "bool":
        return bool(value)
    return int(value) if float(value).is_integer() else float(value)


# ---------------------------------------------------------------------------------------------
# Loading a dataset


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


def default_val_frac(n_rows: int) -> float:
    """VAL_FRAC for data with at least MIN_ROWS_FOR_VAL rows, else 0 (train on all rows)."""
    return VAL_FRAC if n_rows >= MIN_ROWS_FOR_VAL else 0.0


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
) -> Dataset:
    """Read, check, encode, split and standardize a CSV (see the module docstring).
    `sample_weight`: a numeric column of per-row weights ≥ 0, then not a feature."""
    _check_options(task, loss, val_frac, dtype)
    path = resolve_data(data)
    df = read_csv(path, sep=sep, encoding=encoding)
    source = df.attrs["source"]
    n_rows, n_columns = df.shape
    targets, feats = select_columns(df, target, features, drop_columns, source)
    weight_col = _weight_column(sample_weight, df, targets, feats, source)
    feats = [name for name in feats if name not in weight_col]
    columns = {name: _parse_column(df[name], name, source)
               for name in [*feats, *targets, *weight_col]}
    notes = _decimal_comma_note([n for n in df.attrs["decimal_commas"] if n in columns])
    del df  # only the parsed columns are needed from here on
    first_bad = _first_bad_cell(columns) if dropna else None
    rows, columns, n_dropped = _drop_bad_rows(columns, dropna, source)
    feature_cols = {name: columns[name] for name in feats}
    target_cols = {name: columns[name] for name in targets}

    # task, classes, output encoding
    task = _resolve_task(task, target_cols, source)
    _check_loss(loss, task, targets)
    classes = []
    if task == "classification":
        classes = _class_labels(target_cols[targets[0]], targets[0], source)
    pre = _unfitted_preprocessor(feature_cols, target_cols, task, classes, loss, standardize)

    # split, then fit the standardization on the train rows
    vf = default_val_frac(len(rows)) if val_frac is None else float(val_frac)
    train, val = split_rows(len(rows), vf, rng)
    X_train, X_val = _fit_inputs(pre, feature_cols, source, train, val)
    Y_train, Y_val = _fit_targets(pre, target_cols, source, train, val)
    weights = _sample_weights(columns, weight_col, rows, train, source)
    return Dataset(
        X_train=np.ascontiguousarray(X_train, dtype=dtype),
        Y_train=np.ascontiguousarray(Y_train, dtype=dtype),
        X_val=np.ascontiguousarray(X_val, dtype=dtype),
        Y_val=np.ascontiguousarray(Y_val, dtype=dtype),
        train_rows=rows[train],
        val_rows=rows[val],
        preprocessor=pre,
        path=path,
        sha256=file_sha256(path),
        n_rows=n_rows,
        n_columns=n_columns,
        val_frac=vf,
        n_dropped=n_dropped,
        warnings=notes + _dropna_note(n_dropped, n_rows, first_bad) + _load_warnings(pre, Y_train),
        w_train=None if weights is None else weights[train],
        w_val=None if weights is None else weights[val],
    )


def _weight_column(name, df, targets, feats, source) -> list[str]:
    """[--sample-weight's column] (checked to exist and not be a target), or []."""
    if name is None:
        return []
    if name not in df.columns:
        raise DataError(f"no column {name!r} in {source} (columns: {_listing(df.columns)}); "
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


def _decimal_comma_note(names: list[str]) -> list[str]:
    if not names:
        return []
    listed = ", ".join(repr(n) for n in names)
    return [f"read decimal commas as decimal points (1,5 = 1.5) in column{'s' * (len(names) > 1)} "
            f"{listed}"]


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
        _check_val_frac(val_frac)
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ConfigError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")


def _check_val_frac(vf: float) -> None:
    """ConfigError unless 0 <= vf < 1."""
    if not 0 <= vf < 1:  # also rejects NaN
        raise ConfigError(f"--val-frac must be in [0, 1), got {vf}")


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
                f"no column {name!r} in {source} (columns: {_listing(columns)}); use {option}"
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
            f"{source}: no feature columns left (columns: {_listing(columns)}; target: "
            f"{', '.join(targets)}); check --target, --features and --drop-columns"
        )
    return targets, feats


def _drop_bad_rows(columns: dict[str, _Column], dropna: bool, source: str):
    """(kept row indices, columns restricted to them, number dropped). Without `dropna`, a
    missing or infinite cell is a DataError."""
    n = len(next(iter(columns.values())).values)
    bad = np.zeros(n, dtype=bool)
    for col in columns.values():
        bad |= col.missing | col.infinite
    if not bad.any():
        return np.arange(n), columns, 0
    if not dropna:
        _raise_bad_cell(columns, source, "pass --dropna")
    keep = np.flatnonzero(~bad)
    if keep.size == 0:
        raise DataError(
            f"{source}: every row has a missing or infinite value in the columns used; "
            "nothing is left after --dropna"
        )
    return keep, {name: col.take(keep) for name, col in columns.items()}, n - keep.size


def _resolve_task(task: str, target_cols: dict[str, _Column], source: str) -> str:
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
    if task == "classification" or col.kind in ("text", "bool") or _looks_like_labels(col.values):
        return "classification"
    return "regression"


def _looks_like_labels(values: np.ndarray) -> bool:
    """Whole numbers with at most MAX_CLASS_VALUES distinct values."""
    whole = bool(np.all(values == np.round(values)))
    return whole and np.unique(values).size <= MAX_CLASS_VALUES


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


def _class_labels(col: _Column, name: str, source: str) -> list:
    """Sorted distinct labels as JSON-native values; DataError when there is only one."""
    labels = [_label_text(v, col.kind) for v in np.unique(col.values)]
    if len(labels) < 2:
        raise DataError(
            f"{source}: target {name!r} has a single class ({labels[0]}); "
            "classification needs at least two"
        )
    return labels


def _unfitted_preprocessor(feature_cols, target_cols, task, classes, loss, standardize):
    """A Preprocessor with categories (from all rows) and identity standardization."""
    categories = {
        name: np.unique(col.values).tolist()
        for name, col in feature_cols.items()
        if col.kind == "text"
    }
    input_names = []
    for name in feature_cols:
        input_names += [f"{name}={c}" for c in categories[name]] if name in categories else [name]
    two_01 = len(classes) == 2 and set(classes) == {0, 1}  # also {False, True}
    if task == "regression":
        encoding = "regression"
    else:
        encoding = "binary" if loss == "mse" and two_01 else "onehot"
    return Preprocessor(
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


def split_rows(n: int, vf: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) row positions, each ascending: ceil(vf·n) random rows for validation.
    The generator is used only when there is a validation split."""
    _check_val_frac(vf)
    n_val = _n_val(vf, n)
    if n - n_val < 1:
        raise ConfigError(f"--val-frac {vf} leaves no training rows ({n} rows)")
    if n_val == 0:
        return np.arange(n), np.arange(0)
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _n_val(vf: float, n: int) -> int:
    """ceil(vf·n), not rounded up by float noise (0.1 · 30 = 3.0000000000000004 → 3)."""
    k = vf * n
    return round(k) if math.isclose(k, round(k)) else math.ceil(k)


def _mean_std(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (ddof 0); a constant column gets std 1."""
    mean, std = A.mean(axis=0), A.std(axis=0)
    std[np.ptp(A, axis=0) == 0] = 1.0  # exactly constant (std could be round-off, not 0)
    return mean, std


def _fit_inputs(pre: Preprocessor, cols, source, train, val):
    """Raw inputs for the train and val rows; fit x_mean/x_std on train; standardize both."""
    X_train = pre._raw_inputs(cols, source, None if len(val) == 0 else train)
    X_val = pre._raw_inputs(cols, source, val)
    if pre.standardize:
        mean, std = _mean_std(X_train)
        onehot = pre._onehot_mask()
        mean[onehot], std[onehot] = 0.0, 1.0  # one-hot inputs stay 0/1
        pre.x_mean, pre.x_std = mean.tolist(), std.tolist()
        pre._standardize_inputs(X_train)
        pre._standardize_inputs(X_val)
    return X_train, X_val


def _fit_targets(pre: Preprocessor, cols, source, train, val):
    """Encoded targets for the train and val rows; regression: fit y_mean/y_std on train."""
    train_or_all = None if len(val) == 0 else train
    if pre.task == "regression" and pre.standardize:
        mean, std = _mean_std(pre._raw_targets(cols, source, train_or_all))
        pre.y_mean, pre.y_std = mean.tolist(), std.tolist()
    return pre._encode(cols, source, train_or_all), pre._encode(cols, source, val)


def _load_warnings(pre: Preprocessor, Y_train: np.ndarray) -> list[str]:
    """Things worth telling the user that do not stop training."""
    out = []
    for name, cats in pre.categories.items():
        if len(cats) > MANY_CATEGORIES:
            out.append(
                f"column {name!r} is text with {len(cats)} distinct values, one-hot encoded "
                f"into {len(cats)} inputs; drop it with --drop-columns {name} if it is an id"
            )
    for name, values in [*pre.categories.items(), (pre.targets[0], pre.classes)]:
        example = _decimal_comma_example(values)
        if example is not None:
            out.append(
                f"column {name!r} looks like numbers with decimal commas ({example!r}) but "
                "is read as text; write decimal points in the file"
            )
    if pre.task == "classification":
        counts = Y_train.sum(axis=0)
        if pre.encoding == "binary":
            counts = np.array([len(Y_train) - counts[0], counts[0]])
        for label, count in zip(pre.classes, counts, strict=True):
            if count == 0:
                out.append(
                    f"class {label} of target {pre.targets[0]!r} has no training rows "
                    "(it occurs only in the validation rows)"
                )
    return out


_DECIMAL_NUMBER = re.compile(r"[+-]?\d+(?:,\d+)?")  # 1,5 or 2


def _decimal_comma_example(values) -> str | None:
    """If every value is a number written with a decimal comma or a whole number, and some have
    the comma ("1,5", "2"), the first of those; else None."""
    if not all(isinstance(v, str) and _DECIMAL_NUMBER.fullmatch(v) for v in values):
        return None
    return next((v for v in values if "," in v), None)

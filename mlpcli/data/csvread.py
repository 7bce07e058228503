"""Reading a CSV into a DataFrame: delimiter sniffing, encodings, shape checks, and errors that
name the file and line.

The header is line 1, so 0-based data row i is line i + 2. Every problem is a one-line
`DataError` (the file) or `ConfigError` (an option such as --sep or --encoding).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import warnings
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd

from mlpcli.data.arrowcsv import read_arrow
from mlpcli.data.source import CHUNK, DECOMPRESS_ERRORS, Source, open_source
from mlpcli.errors import ConfigError, DataError

DEFAULT_ENCODING = "utf-8-sig"  # plain UTF-8 that also skips a byte-order mark
SNIFF_BYTES = 64 * 1024  # the delimiter sniffer and the binary-file check look this far
SNIFF_LINES = 100  # ... and at no more than this many lines
DELIMITERS = ",;\t"  # what the sniffer chooses among, in order of preference
ENGINES = ("auto", "pyarrow", "c")
CHECK_READERS = "MLPCLI_CHECK_READERS"  # set (as the test suite does): every Arrow read is checked
SEP_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "space": " "}


def read_csv(
    path: str | Path | Source, sep: str | None = None, encoding: str | None = None,
    engine: str = "auto",
) -> pd.DataFrame:
    """Read a CSV with a header row into a DataFrame, checking its shape.

    `path` is a file, a pipe, `-` for stdin, or a compressed file (see source.py). `sep` is a
    delimiter ("tab" and "\\t" mean tab); without it the delimiter is sniffed among comma,
    semicolon and tab. `df.attrs`: "source" (the file name, for messages), "decimal_commas"
    (columns of decimal-comma numbers read as numbers) and "decimal_comma_text" ({column:
    example} of such columns left as text in a comma-separated file). `engine`: "auto" reads
    with PyArrow where it reads exactly as pandas' C parser (arrowcsv.py), else with the C
    parser; "c" always with the C parser; "pyarrow" as auto.
    """
    if engine not in ENGINES:
        raise ConfigError(f"CSV engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    source = path if isinstance(path, Source) else open_source(path)
    name = source.name
    encoding = _check_encoding(encoding or DEFAULT_ENCODING)
    head = source.head(SNIFF_BYTES)
    _check_not_binary(head, encoding, name)
    text = _decode_head(source, head, encoding)
    if not text.strip():
        raise DataError(f"{name} is empty; a CSV needs a header row and data rows")
    delimiter = parse_sep(sep) if sep is not None else sniff_delimiter(text)
    names = _header_fields(text, delimiter)
    _check_header(names, name)
    df = None if engine == "c" else read_arrow(source, delimiter, encoding, names)
    if df is None:
        df = _pandas_read(source, delimiter, encoding)
    elif os.environ.get(CHECK_READERS):
        check_readers(df, lambda: _pandas_read(source, delimiter, encoding), name)
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
    df.attrs["decimal_commas"], df.attrs["decimal_comma_text"] = _decimal_commas(df, delimiter)
    return df


def check_readers(df: pd.DataFrame, read_c, name: str) -> None:
    """AssertionError unless the C parser's DataFrame (`read_c()`) has the same columns as the
    Arrow one `df` once parsed (columns.parse_column: kind, values, missing cells, exact
    integers, or the same error), and the same row count."""
    from mlpcli.data.columns import parse_column

    try:
        c_df = read_c()
    except (DataError, ConfigError) as e:
        raise AssertionError(f"{name}: the C parser refuses what Arrow read: {e}") from None
    assert [str(c).strip() for c in df.columns] == [str(c).strip() for c in c_df.columns], (
        name, "header")
    assert len(df) == len(c_df), (name, "rows", len(df), len(c_df))
    for label, a, c in zip(df.columns, df.columns, c_df.columns):
        parsed = []
        for frame, column in ((df, a), (c_df, c)):
            try:
                parsed.append(parse_column(frame[column], label, name))
            except DataError as e:
                parsed.append(str(e))
        _assert_same_column(*parsed, f"{name}: column {label!r}")


def _assert_same_column(a, c, where: str) -> None:
    if isinstance(a, str) or isinstance(c, str):
        assert a == c, (where, a, c)
        return
    assert a.kind == c.kind, (where, a.kind, c.kind)
    assert np.array_equal(a.missing, c.missing), (where, "missing cells")
    if a.kind == "text":
        assert a.values.tolist() == c.values.tolist(), (where, "text")
    else:
        assert np.array_equal(a.values, c.values, equal_nan=True), (where, "values")
        assert np.array_equal(np.signbit(a.values), np.signbit(c.values)), (where, "signs")
    exact = [None if x.exact is None else x.exact.tolist() for x in (a, c)]
    assert exact[0] == exact[1], (where, "exact integers")


_DECIMAL_NUMBER = re.compile(r"[+-]?\d+(?:,\d+)?")  # 1,5 or 2


def _decimal_commas(df: pd.DataFrame, delimiter: str) -> tuple[list[str], dict[str, str]]:
    """The decimal-comma rule: a text column whose every value is a whole number or a number
    with a decimal comma ("2", "1,5"), some with the comma, is numbers — converted in place when
    the file is not separated by commas; in a comma-separated file a quoted "1,234" is as likely
    a thousands separator, so it stays text. (converted names, {name: example} left as text)."""
    converted, left = [], {}
    for name in df.columns:
        if pd.api.types.is_numeric_dtype(df[name].dtype):
            continue
        text = df[name].astype("string").str.strip()
        values = text.dropna().unique()
        if not all(_DECIMAL_NUMBER.fullmatch(v) for v in values):
            continue
        example = next((v for v in values if "," in v), None)
        if example is None:
            continue
        if delimiter == ",":
            left[name] = example
        else:
            df[name] = pd.to_numeric(text.str.replace(",", ".", regex=False)).astype(float)
            converted.append(name)
    return converted, left


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
    """The encoding if Python knows it as a text encoding, else ConfigError."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(f"unknown --encoding {encoding!r}; try utf-8 or latin-1") from None
    if not info._is_text_encoding:  # e.g. rot13, base64: codecs, but not bytes → text
        raise ConfigError(f"--encoding {encoding!r} is not a text encoding; try utf-8 or latin-1")
    return encoding


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


def _decode_head(source: Source, head: bytes, encoding: str) -> str:
    """Decode the sample; a multi-byte character cut at the end of it is left out."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        return decoder.decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError:
        raise _decode_error(source, encoding) from None


def _decode_error(source: Source, encoding: str) -> DataError:
    """A DataError locating the first byte of the file that `encoding` cannot decode."""
    label = "UTF-8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding
    found = _find_undecodable(source, encoding)
    where = ""
    if found is not None:
        byte, position, line = found
        where = f" (byte 0x{byte:02x} at position {position}, line {line})"
    return DataError(
        f"{source.name} is not valid {label}{where}; pass --encoding, e.g. --encoding latin-1"
    )


def _find_undecodable(source: Source, encoding: str) -> tuple[int, int, int] | None:
    """(byte value, byte offset, line number) of the first undecodable byte, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    with source.open() as f:
        while True:
            chunk = f.read(CHUNK)
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
    # newline="": the csv module finds the line ends itself, also CR-only ones (old Mac files)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
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


def _pandas_read(source: Source, delimiter: str, encoding: str) -> pd.DataFrame:
    """pd.read_csv with the C parser; parser and OS errors become one-line DataErrors."""
    name = source.name
    try:
        with (
            nullcontext() if source.is_plain_file else source.open() as stream,
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always", pd.errors.ParserWarning)
            df = pd.read_csv(
                source.path if stream is None else stream,
                sep=delimiter,
                encoding=encoding,
                engine="c",
                index_col=False,  # never take the first column as an index
                skip_blank_lines=False,  # keep row i on file line i + 2
                skipinitialspace=True,
                low_memory=False,  # infer each column's type from all of it
            )
    except UnicodeDecodeError:
        raise _decode_error(source, encoding) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} is empty; a CSV needs a header row and data rows") from None
    except pd.errors.ParserError as e:
        match = _RAGGED.search(str(e))
        if match is None:
            raise DataError(f"{name}: cannot parse as CSV ({str(e).strip()})") from None
        expected, line, saw = map(int, match.groups())
        raise _ragged_error(source, delimiter, encoding, expected, (line, saw)) from None
    except DECOMPRESS_ERRORS as e:
        raise source.decompress_error(e) from None
    except PermissionError:
        raise DataError(f"{name}: permission denied; check the file's permissions") from None
    except OSError as e:
        raise DataError(f"{name}: cannot read the file ({e.strerror})") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise _ragged_error(source, delimiter, encoding, len(df.columns))
    return df


def _first_ragged_line(
    source: Source, delimiter: str, encoding: str, expected: int
) -> tuple[int, int] | None:
    """(file line, number of fields) of the first non-blank row without `expected` fields, as
    the csv module reads the file; None if there is none or the file cannot be read again."""
    try:
        with io.TextIOWrapper(source.open(), encoding=encoding, newline="") as f:
            reader = csv.reader(f, delimiter=delimiter, skipinitialspace=True)
            for row in reader:
                if row and len(row) != expected:
                    return reader.line_num, len(row)
    except (OSError, UnicodeDecodeError, csv.Error, *DECOMPRESS_ERRORS):
        return None
    return None


def _ragged_error(
    source: Source, delimiter: str, encoding: str, expected: int, reported=None
) -> DataError:
    """DataError naming the first line whose field count differs from the header's. pandas'
    `reported` (line, fields) is a fallback only: it counts records, not lines, so after a quoted
    field holding a line break its "line" is too small; the csv module finds the file line."""
    found = _first_ragged_line(source, delimiter, encoding, expected) or reported
    if found is None:
        return DataError(f"{source.name}: rows have more fields than the header; check --sep")
    line, saw = found
    return DataError(
        f"{source.name}: line {line} has {saw} fields, expected {expected}; "
        "fix the row or check --sep"
    )


def _drop_trailing_blank_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Drop all-empty rows at the end of the file (blank lines before EOF)."""
    filled = np.flatnonzero(df.notna().any(axis=1).to_numpy())
    n_keep = filled[-1] + 1 if filled.size else 0
    return df if n_keep == len(df) else df.iloc[:n_keep]



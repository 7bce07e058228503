"""The fast CSV reader: PyArrow's multithreaded parser, giving the DataFrame pandas' C parser gives.

It is tried first and answers only where it reads exactly as the C parser (csvread.py) does;
anything else — an unusual encoding, a header cell without a name, an integer beyond int64, a
row Arrow cannot parse — returns None, and the C parser reads the file, with its line-numbered
errors. So every CSV rule and error message stays the C path's, and the two agree on every file
both read (with MLPCLI_CHECK_READERS=1, as the test suite runs, every read is checked; see
csvread.check_readers).

How the C parser's reading is matched: the same missing-value words, True/False spellings,
blank lines kept as rows of missing cells, quoted line breaks allowed when the file has quotes.
Cells Arrow leaves as text that the C parser reads as numbers (" 1.5", ".5") are numbers again
once columns.parse_column has read them: the columns, arrays and encodings are the same.
"""

from __future__ import annotations

import codecs
import hashlib
import warnings
from contextlib import nullcontext

import numpy as np
import pandas as pd

from mlpcli.data.source import DECOMPRESS_ERRORS, Source

UTF8 = ("utf-8", "utf-8-sig")  # what Arrow reads itself (it skips a byte-order mark)
_INT64_LIMIT = 2.0**63  # a float column reaching this may be integers the C parser keeps exact
_SCAN_BYTES = 1 << 22  # bytes per read when counting lines and looking for a quote
_BLOCK_BYTES = 1 << 20  # bytes per Arrow block: the streaming reader holds a few at a time


def arrow_available() -> bool:
    """True when pyarrow can be imported."""
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def read_arrow(source: Source, delimiter: str, encoding: str, names: list[str]):
    """The file as pd.read_csv(engine="c") would read it, or None where only the C parser can
    say (see the module docstring). `names`: the header's fields, as checked by csvread."""
    if codecs.lookup(encoding).name not in UTF8 or not all(names) or not arrow_available():
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        lines, quoted = _scan(source)
    except (OSError, *DECOMPRESS_ERRORS):
        return None  # the C parser reports it
    options = dict(
        parse_options=pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False,
                                         newlines_in_values=quoted),
        convert_options=pacsv.ConvertOptions(
            null_values=_NA_VALUES, strings_can_be_null=True,
            true_values=["True", "TRUE", "true"], false_values=["False", "FALSE", "false"]),
    )

    def opened():
        return nullcontext(str(source.path)) if source.is_plain_file else source.open()

    try:
        try:
            with opened() as stream:
                reader = pacsv.open_csv(stream, read_options=pacsv.ReadOptions(
                    use_threads=True, block_size=_BLOCK_BYTES), **options)
                if _unlike_c(reader.schema, len(names)):
                    return None
                df = _read_streaming(reader, lines)
        except _NotStreamable:  # read it whole: Arrow infers each column from all its blocks
            with opened() as stream:
                table = pacsv.read_csv(stream, read_options=pacsv.ReadOptions(use_threads=True),
                                       **options)
            if _unlike_c(table.schema, len(names)):
                return None
            df = _to_frame(table)
    except (pa.ArrowException, OSError, ValueError, EOFError):
        return None  # the C parser reads it again and reports what is wrong
    pa.default_memory_pool().release_unused()  # its blocks' memory, back to the system
    floats = [name for name in df.columns if df[name].dtype.kind == "f"]
    if len(df) == 0 or any(_may_be_big_integers(df[name]) for name in floats):
        return None
    return df


class _NotStreamable(Exception):
    """A later block holds a value the type inferred from the first block cannot, or the file
    has more rows than its line count allowed for."""


def _unlike_c(schema, width: int) -> bool:
    """True when the C parser may read the file otherwise than Arrow's `schema` says: another
    number of columns, or bytes that are not UTF-8 (a binary column; the C parser locates them)."""
    import pyarrow as pa

    return len(schema) != width or any(pa.types.is_binary(t) for t in schema.types)


def _read_streaming(reader, lines: int) -> pd.DataFrame:
    """The columns of a streaming reader's batches, written into arrays made once (a column's
    type is what the first block shows): numbers into numpy arrays of `lines` rows — at least the
    file's rows — text and booleans as Arrow chunks."""
    import pyarrow as pa

    schema = reader.schema
    kinds = [("float" if pa.types.is_floating(t) else "int" if pa.types.is_integer(t)
              else "arrow") for t in schema.types]
    columns = [np.empty(lines, np.float64 if k == "float" else np.int64) if k != "arrow" else []
               for k in kinds]
    nulls = [np.zeros(0, np.intp) for _ in kinds]  # rows of missing cells in integer columns
    n = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowInvalid as e:
            if "conversion error" in str(e).lower() or "cannot be converted" in str(e):
                raise _NotStreamable from None
            raise
        if n + batch.num_rows > lines:
            raise _NotStreamable
        for i, (kind, column) in enumerate(zip(kinds, batch.columns)):
            if kind == "arrow":
                columns[i].append(column)
            elif kind == "int" and column.null_count:
                missing = np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))
                nulls[i] = np.concatenate([nulls[i], missing + n])
                columns[i][n : n + batch.num_rows] = column.fill_null(0).to_numpy()
            else:
                columns[i][n : n + batch.num_rows] = column.to_numpy(zero_copy_only=False)
        n += batch.num_rows
    data = {}
    for name, kind, column, missing in zip(schema.names, kinds, columns, nulls):
        if kind == "arrow":
            data[name] = pa.chunked_array(column, type=schema.field(name).type).to_pandas()
        elif len(missing):  # an integer column with missing cells is float64, as in pandas
            values = column[:n].astype(np.float64)
            values[missing] = np.nan
            data[name] = values
        else:
            data[name] = column[:n]
    return pd.DataFrame(data, copy=False)


# pandas' default missing-value words (pandas._libs.parsers.STR_NA_VALUES)
_NA_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
              "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def _scan(source: Source) -> tuple[int, bool]:
    """(an upper bound on the rows: line breaks + 1, whether there is a double quote) — with a
    quote, a quoted cell may hold a line break, which costs Arrow its fastest way to cut the
    file into blocks. A plain file's sha256 is taken in the same pass, if not known yet."""
    digest = hashlib.sha256() if source.is_plain_file and source.digest is None else None
    lf = cr = 0
    quoted = False
    buffer = bytearray(_SCAN_BYTES)  # one buffer, filled again and again
    view = memoryview(buffer)
    with source.open() as f:
        while size := f.readinto(buffer):
            lf += buffer.count(b"\n", 0, size)
            if not lf:  # CR-only line ends (old Mac files): count those
                cr += buffer.count(b"\r", 0, size)
            quoted = quoted or buffer.find(b'"', 0, size) >= 0
            if digest is not None:
                digest.update(view[:size])
    if digest is not None:
        source.digest = digest.hexdigest()
    return (lf or cr) + 1, quoted


def _may_be_big_integers(values) -> bool:
    """Float values reaching ±2⁶³: the cells may be integers beyond int64, which the C parser
    keeps exactly (uint64 or text) and Arrow rounds to float64."""
    values = np.asarray(values)
    with np.errstate(invalid="ignore"):
        top = np.nanmax(np.abs(values), initial=0.0)
    return bool(top >= _INT64_LIMIT)


def _to_frame(table) -> pd.DataFrame:
    """The Arrow table as the DataFrame the C parser would give: int64, float64, bool (object
    with missing cells), pandas' str dtype for text; an integer column with missing cells
    becomes float64 with NaN, as in pandas."""
    names = list(table.column_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = table.to_pandas(split_blocks=True, self_destruct=True)  # frees Arrow's columns
    df.columns = names
    return df

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
import warnings
from contextlib import nullcontext

import numpy as np
import pandas as pd

from mlpcli.data.source import Source

UTF8 = ("utf-8", "utf-8-sig")  # what Arrow reads itself (it skips a byte-order mark)
_INT64_LIMIT = 2.0**63  # a float column reaching this may be integers the C parser keeps exact
_QUOTE_SCAN = 1 << 24  # bytes per read when looking for a quote character


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
        with nullcontext(str(source.path)) if source.is_plain_file else source.open() as stream:
            table = pacsv.read_csv(
                stream,
                read_options=pacsv.ReadOptions(use_threads=True),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter, ignore_empty_lines=False,
                    newlines_in_values=_has_quotes(source),
                ),
                convert_options=pacsv.ConvertOptions(
                    null_values=_NA_VALUES, strings_can_be_null=True,
                    true_values=["True", "TRUE", "true"], false_values=["False", "FALSE", "false"],
                ),
            )
    except (pa.ArrowException, OSError, ValueError, EOFError):
        return None  # the C parser reads it again and reports what is wrong
    if table.num_columns != len(names) or table.num_rows == 0:
        return None
    if any(pa.types.is_binary(t) for t in table.schema.types):
        return None  # bytes that are not UTF-8: the C parser locates them
    if any(_may_be_big_integers(table.column(i)) for i in range(table.num_columns)):
        return None
    return _to_frame(table)


# pandas' default missing-value words (pandas._libs.parsers.STR_NA_VALUES)
_NA_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
              "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def _has_quotes(source: Source) -> bool:
    """True when the content has a double quote anywhere (then a quoted cell may hold a line
    break, which costs Arrow its fastest way to cut the file into blocks)."""
    with source.open() as f:
        while chunk := f.read(_QUOTE_SCAN):
            if b'"' in chunk:
                return True
    return False


def _may_be_big_integers(column) -> bool:
    """A float column reaching ±2⁶³: its cells may be integers beyond int64, which the C parser
    keeps exactly (uint64 or text) and Arrow rounds to float64."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_floating(column.type) or column.null_count == len(column):
        return False
    extremes = pc.min_max(pc.abs(column))
    top = extremes["max"].as_py()
    return top is not None and not np.isnan(top) and top >= _INT64_LIMIT


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

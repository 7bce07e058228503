"""The PyArrow reader (data/arrowcsv.py) against pandas' C parser on files of many blocks:
identical parsed columns, arrays and encodings; the C parser wherever Arrow would differ."""

from __future__ import annotations

import numpy as np
import pytest

from mlpcli.data import arrowcsv, load_dataset, read_csv
from mlpcli.data.csvread import check_readers
from mlpcli.data.source import open_source

ROWS = 400_000  # > 3 MiB: several of the streaming reader's blocks


def write(path, header: str, rows) -> str:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return str(path)


def both(path):
    """(the Arrow reader's frame or None, the C parser's frame)."""
    source = open_source(path)
    names = read_csv(path, engine="c").columns.tolist()
    return arrowcsv.read_arrow(source, ",", "utf-8-sig", names), read_csv(path, engine="c")


CASES = {
    # a later block holds a float in a column the first block showed as integers
    "int then float": lambda i: f"{i if i < ROWS - 5 else i + 0.5},{i % 2}",
    # …missing cells in an integer column, late: float64 with NaN, as pandas reads it
    "int then missing": lambda i: f"{'' if i == ROWS - 3 else i},{i % 2}",
    "text and numbers": lambda i: f"{['red', 'green', 'blue'][i % 3]},{(i * 7919) % 1000 / 8}",
    "bools": lambda i: f"{'True' if i % 3 else 'false'},{i % 2}",
    "quoted": lambda i: f'"{i},5",{i % 2}',
}


@pytest.mark.parametrize("case", CASES)
def test_arrow_and_the_c_parser_read_the_same_columns(tmp_path, case, monkeypatch):
    path = write(tmp_path / "d.csv", "a,b", (CASES[case](i) for i in range(ROWS)))
    changed = []
    monkeypatch.setattr(arrowcsv, "_NotStreamable", type("Seen", (arrowcsv._NotStreamable,), {
        "__init__": lambda self, *a: changed.append(1)}))
    arrow, c = both(path)
    if case == "int then float":
        assert changed  # the streaming reader gave up at the late float: read whole instead
    assert arrow is not None  # Arrow read it (streaming, or whole after a type change)
    check_readers(arrow, lambda: c, path)  # AssertionError on any difference


def test_an_integer_beyond_int64_leaves_the_file_to_the_c_parser(tmp_path):
    rows = [f"{i},{i % 2}" for i in range(ROWS)] + ["9223372036854775808,1"]
    path = write(tmp_path / "d.csv", "a,y", rows)
    arrow, _ = both(path)
    assert arrow is None
    data = load_dataset(path, rng=np.random.default_rng(0), target="y", val_frac=0.0)
    assert data.X_train[-1, 0] > data.X_train[-2, 0]


def test_the_arrays_of_both_readers_are_identical(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    rows = (f"{x:.6g},{['a', 'b', 'c'][k]},{y}" for x, k, y in
            zip(rng.normal(size=ROWS), rng.integers(0, 3, ROWS), rng.integers(0, 2, ROWS)))
    path = write(tmp_path / "d.csv", "x,colour,y", rows)
    arrow = load_dataset(path, rng=np.random.default_rng(1), test_frac=0.1)
    monkeypatch.setattr(arrowcsv, "read_arrow", lambda *a: None)  # the C parser only
    c = load_dataset(path, rng=np.random.default_rng(1), test_frac=0.1)
    for name in ("X_train", "Y_train", "X_val", "Y_val", "X_test", "Y_test"):
        assert np.array_equal(getattr(arrow, name), getattr(c, name)), name
    assert arrow.preprocessor.to_dict() == c.preprocessor.to_dict()
    assert arrow.sha256 == c.sha256


def test_a_disagreement_between_the_readers_is_caught(tmp_path):
    path = write(tmp_path / "d.csv", "a,b", (f"{i},{i % 2}" for i in range(100)))
    arrow, c = both(path)
    c.loc[50, "a"] = 51  # one cell read otherwise
    with pytest.raises(AssertionError, match="column 'a'"):
        check_readers(arrow, lambda: c, path)


def test_the_missing_value_words_are_pandas_own():
    """arrowcsv spells out pandas' default missing-value words (Arrow needs them as a list):
    a pandas that reads another word as missing must fail here, not quietly read otherwise."""
    from pandas._libs.parsers import STR_NA_VALUES

    assert set(arrowcsv._NA_VALUES) == set(STR_NA_VALUES)

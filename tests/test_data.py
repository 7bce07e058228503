"""Tests for mlpcli.data: reading CSVs, column selection, encoding, standardization, splits."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mlpcli.data import (
    Preprocessor,
    bundled_dir,
    bundled_names,
    default_val_frac,
    load_dataset,
    read_csv,
    resolve_data,
    split_rows,
)
from mlpcli.data import source as data_source
from mlpcli.errors import ConfigError, DataError


def write(tmp_path, text: str, name: str = "data.csv", encoding: str = "utf-8"):
    """Write `text` to tmp_path/name and return the path."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def load(path, seed: int = 0, **kw):
    return load_dataset(path, rng=np.random.default_rng(seed), **kw)


def numeric_csv(tmp_path, n: int = 100, seed: int = 1, name: str = "data.csv"):
    """n rows: x1 ~ N(5, 3²), x2 ~ U(0, 1000), x3 constant 7, y = float target."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x1": rng.normal(5, 3, n),
            "x2": rng.uniform(0, 1000, n),
            "x3": np.full(n, 7.0),
            "y": rng.normal(-2, 0.5, n),
        }
    )
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path, pd.read_csv(path)


XOR_ROWS = [[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]]


# --- finding the file ----------------------------------------------------------------------------


def test_bundled_names_and_resolution():
    names = bundled_names()
    assert "xor" in names and names == sorted(names)
    assert resolve_data("xor") == bundled_dir() / "xor.csv"
    assert resolve_data("xor.csv") == bundled_dir() / "xor.csv"


def test_bundled_xor_loads_as_the_truth_table():
    ds = load("xor")
    np.testing.assert_array_equal(ds.Y_train, [[0], [1], [1], [0]])
    assert ds.preprocessor.encoding == "binary" and ds.preprocessor.classes == [0, 1]
    assert ds.val_frac == 0.0 and ds.X_val.shape == (0, 2) and ds.Y_val.shape == (0, 1)
    np.testing.assert_array_equal(ds.train_rows, [0, 1, 2, 3])
    assert (ds.n_rows, ds.n_columns) == (4, 3)
    # x1 and x2 both have mean 0.5 and std 0.5 over the four rows
    np.testing.assert_allclose(ds.X_train, (np.array(XOR_ROWS)[:, :2] - 0.5) / 0.5)


def test_existing_file_wins_over_bundled_name(tmp_path, monkeypatch):
    write(tmp_path, "a,b\n1,2\n3,4\n", name="xor.csv")
    monkeypatch.chdir(tmp_path)
    assert resolve_data("xor.csv").resolve() == (tmp_path / "xor.csv").resolve()


def test_unknown_name_lists_bundled_datasets():
    with pytest.raises(DataError, match=r"no such file or bundled dataset: 'nope'") as e:
        resolve_data("nope")
    assert "xor" in str(e.value) and "\n" not in str(e.value)


def test_directory_is_an_error(tmp_path):
    with pytest.raises(DataError, match="is a directory, not a CSV file"):
        resolve_data(tmp_path)


def test_sha256_and_path(tmp_path):
    import hashlib

    path = write(tmp_path, "a,b\n1,2\n3,4\n")
    ds = load(path)
    assert ds.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ds.path == path


# --- reading -------------------------------------------------------------------------------------

ROWS = [["x1", "color", "y"], ["1.5", "red", "0"], ["-2", "blue, dark", "1"], ["3e2", "red", "1"]]


def csv_text(delimiter: str) -> str:
    def cell(v):
        return f'"{v}"' if "," in v else v

    return "\n".join(delimiter.join(cell(v) for v in row) for row in ROWS) + "\n"


@pytest.mark.parametrize(
    ("text", "sep"),
    [
        (csv_text(";"), None),
        (csv_text("\t"), None),
        ("\ufeff" + csv_text(","), None),
        (csv_text(",").replace("\n", "\r\n"), None),
        (csv_text("\t"), "tab"),
        (csv_text("\t"), "\\t"),
        (csv_text(";"), ";"),
    ],
)
def test_delimiters_and_bom_give_identical_frames(tmp_path, text, sep):
    expected = read_csv(write(tmp_path, csv_text(","), name="plain.csv"))
    got = read_csv(write(tmp_path, text), sep=sep)
    pd.testing.assert_frame_equal(got, expected)
    assert list(got.columns) == ["x1", "color", "y"]
    assert got["color"].tolist() == ["red", "blue, dark", "red"]


def test_semicolon_file_with_decimal_commas_is_sniffed_as_semicolon(tmp_path):
    df = read_csv(write(tmp_path, "a;b;y\n1,5;2;0\n2,5;3;1\n"))
    assert list(df.columns) == ["a", "b", "y"]


def test_column_names_are_stripped(tmp_path):
    df = read_csv(write(tmp_path, " a , b ,y\n1,2,3\n"))
    assert list(df.columns) == ["a", "b", "y"]


def test_trailing_blank_lines_are_ignored(tmp_path):
    df = read_csv(write(tmp_path, "a,b\n1,2\n3,4\n\n\n"))
    assert len(df) == 2


def test_encoding_option_reads_latin1(tmp_path):
    df = read_csv(write(tmp_path, "a,b\ncafé,1\nthé,2\n", encoding="latin-1"), encoding="latin-1")
    assert df["a"].tolist() == ["café", "thé"]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("", r"data\.csv is empty"),
        ("  \n\n", r"data\.csv is empty"),
        ("a,b,y\n", r"data\.csv has a header but no rows"),
        ("x\n1\n2\n", r"has only one column \('x'\); need at least one feature .* wrong --sep\?"),
        ("a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n", r"data\.csv: line 4 has 4 fields, expected 3"),
        ("a,b,c\n1,2,3,4\n4,5,6\n", r"data\.csv: line 2 has 4 fields, expected 3"),
        ("a,b,a\n1,2,3\n", r"data\.csv: duplicate column names 'a'"),
        ("a, b,b \n1,2,3\n", r"duplicate column names 'b'"),
    ],
)
def test_malformed_files(tmp_path, text, pattern):
    with pytest.raises(DataError, match=pattern) as e:
        read_csv(write(tmp_path, text))
    assert "\n" not in str(e.value)


def test_binary_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"PK\x03\x04\x00\x00\x08\x00" + bytes(range(256)))
    with pytest.raises(DataError, match=r"data\.csv looks like a binary file, not CSV"):
        read_csv(path)


def test_invalid_utf8_names_byte_position_and_fix(tmp_path):
    path = write(tmp_path, "a,b\n1,2\ncafé,3\n", encoding="latin-1")
    with pytest.raises(DataError) as e:
        read_csv(path)
    message = str(e.value)
    assert "data.csv is not valid UTF-8" in message
    assert "byte 0xe9 at position 11" in message and "line 3" in message
    assert "--encoding latin-1" in message


def test_invalid_utf8_beyond_the_sniffed_sample(tmp_path):
    body = "".join(f"{i},{i}\n" for i in range(20_000))  # > 64 KiB
    path = tmp_path / "data.csv"
    path.write_bytes(("a,b\n" + body).encode() + b"\xff,1\n")
    with pytest.raises(DataError, match=r"not valid UTF-8 \(byte 0xff at position \d+, line 20002"):
        read_csv(path)


def test_unknown_encoding_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown --encoding 'nope'"):
        read_csv(write(tmp_path, "a,b\n1,2\n"), encoding="nope")


def test_bad_sep_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="--sep must be one character"):
        read_csv(write(tmp_path, "a,b\n1,2\n"), sep=";;")


def test_permission_error(tmp_path, monkeypatch):
    path = write(tmp_path, "a,b\n1,2\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(data_source, "open", denied, raising=False)
    with pytest.raises(DataError, match=r"data\.csv: permission denied"):
        read_csv(path)


def test_large_file_is_read_with_the_right_shape(tmp_path):
    rng = np.random.default_rng(0)
    A = np.round(rng.standard_normal((30_000, 5)), 4)  # more than the 64 KiB sniff sample
    path = tmp_path / "big.csv"
    pd.DataFrame(A, columns=list("abcde")).to_csv(path, index=False)
    df = read_csv(path)
    assert df.shape == (30_000, 5)
    np.testing.assert_allclose(df.to_numpy(), A)


# --- column selection ----------------------------------------------------------------------------


def test_unknown_target_lists_columns(tmp_path):
    path = write(tmp_path, "x1,x2,y\n1,2,3\n4,5,6\n")
    with pytest.raises(DataError) as e:
        load(path, target=["foo"])
    assert str(e.value) == "no column 'foo' in data.csv (columns: x1, x2, y); use --target NAME"


def test_target_features_and_drop_columns(tmp_path):
    path = write(tmp_path, "a,b,c,t,d\n1,2,3,0.5,4\n5,6,7,1.5,8\n9,1,2,2.5,3\n")
    ds = load(path, target=["t"], standardize=False)
    assert ds.preprocessor.features == ["a", "b", "c", "d"] and ds.preprocessor.targets == ["t"]
    ds = load(path, target="t", drop_columns=["b", "d"], standardize=False)
    assert ds.preprocessor.features == ["a", "c"]
    np.testing.assert_array_equal(ds.X_train, [[1, 3], [5, 7], [9, 2]])
    ds = load(path, target=["t"], features=["d", "a"], standardize=False)
    assert ds.preprocessor.features == ["d", "a"]
    np.testing.assert_array_equal(ds.X_train[:, 0], [4, 8, 3])


@pytest.mark.parametrize(
    ("kw", "error", "pattern"),
    [
        ({"features": ["a", "zz"]}, DataError, r"no column 'zz' in data\.csv .*--features"),
        ({"features": ["a", "y"]}, ConfigError, r"'y' is the target; it cannot also be"),
        ({"drop_columns": ["zz"]}, DataError, r"no column 'zz' in data\.csv .*--drop-columns"),
        ({"drop_columns": ["y"]}, ConfigError, r"'y' is the target; it cannot be in --drop"),
        ({"drop_columns": ["a", "b"]}, DataError, r"data\.csv: no feature columns left"),
    ],
)
def test_column_option_errors(tmp_path, kw, error, pattern):
    path = write(tmp_path, "a,b,y\n1,2,3\n4,5,6\n")
    with pytest.raises(error, match=pattern):
        load(path, **kw)


# --- missing, infinite and mixed values ----------------------------------------------------------

MISSING = "x1,x2,y\n1,2,0\n2,3,1\n3,,0\n4,5,1\n5,NA,0\n"


def test_missing_value_names_column_and_line(tmp_path):
    with pytest.raises(DataError) as e:
        load(write(tmp_path, MISSING))
    expected = "data.csv: missing value in column 'x2' at line 4; fill it or pass --dropna"
    assert str(e.value) == expected


def test_missing_value_reports_the_earliest_line_over_columns(tmp_path):
    with pytest.raises(DataError, match=r"column 'y' at line 3"):
        load(write(tmp_path, "x1,x2,y\n1,2,0\n2,3,\n3,,0\n"))


def test_infinite_value(tmp_path):
    with pytest.raises(DataError, match=r"infinite value in column 'x1' at line 3; .*--dropna"):
        load(write(tmp_path, "x1,x2,y\n1,2,0.5\n-inf,3,1.5\n"))


def test_dropna_drops_and_counts(tmp_path):
    ds = load(write(tmp_path, MISSING + "6,inf,1\n"), dropna=True, standardize=False)
    assert ds.n_dropped == 3 and ds.n_rows == 6
    np.testing.assert_array_equal(ds.train_rows, [0, 1, 3])  # rows of the original file
    np.testing.assert_array_equal(ds.X_train, [[1, 2], [2, 3], [4, 5]])


def test_dropna_with_nothing_left(tmp_path):
    with pytest.raises(DataError, match="nothing is left after --dropna"):
        load(write(tmp_path, "a,b,y\n1,,0\n,2,1\n"), dropna=True)


def test_unused_columns_may_have_missing_values(tmp_path):
    ds = load(write(tmp_path, "a,junk,y\n1,,0\n2,x,1\n"), drop_columns=["junk"])
    assert ds.preprocessor.features == ["a"]


def test_mixed_numbers_and_text(tmp_path):
    path = write(tmp_path, "x1,x2,y\n1,1.5,0\n2,2.5,1\n3,3,0\n4,abc,1\n5,6,0\n")
    with pytest.raises(DataError) as e:
        load(path)
    assert str(e.value) == (
        "data.csv: column 'x2' mixes numbers and text: line 5 has 'abc'; "
        "fix the value or drop the column with --drop-columns x2"
    )


def test_interior_blank_line_is_a_missing_row(tmp_path):
    with pytest.raises(DataError, match=r"missing value in column 'a' at line 3"):
        load(write(tmp_path, "a,b,y\n1,2,0\n\n3,4,1\n"))


# --- task, classes, encoding ---------------------------------------------------------------------


def target_csv(tmp_path, values, header="y"):
    lines = [f"x,{header}"] + [f"{i},{v}" for i, v in enumerate(values)]
    return write(tmp_path, "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("values", "task", "classes"),
    [
        (["b", "a", "c", "a"], "classification", ["a", "b", "c"]),
        (["True", "False", "True"], "classification", [False, True]),
        ([3, 1, 2, 10], "classification", [1, 2, 3, 10]),
        (["1.0", "2.0", "1.0"], "classification", [1, 2]),
        ([0.5, 1.0, 2.25], "regression", []),
        (list(range(21)), "regression", []),
        (list(range(20)), "classification", list(range(20))),
    ],
)
def test_task_auto(tmp_path, values, task, classes):
    pre = load(target_csv(tmp_path, values), val_frac=0).preprocessor
    assert pre.task == task
    assert pre.classes == classes
    assert [type(c) for c in pre.classes] == [type(c) for c in classes]


def test_explicit_task(tmp_path):
    pre = load(target_csv(tmp_path, [1, 2, 3]), task="regression").preprocessor
    assert pre.task == "regression" and pre.encoding == "regression"
    pre = load(target_csv(tmp_path, [0.5, 1.5, 0.5]), task="classification").preprocessor
    assert pre.classes == [0.5, 1.5] and pre.encoding == "onehot"


@pytest.mark.parametrize(
    ("values", "kw", "error", "pattern"),
    [
        (["a", "b"], {"task": "regression"}, DataError, r"'y' is not numeric; use --task cl"),
        ([1, 1, 1], {}, DataError, r"target 'y' has a single class \(1\); classification needs"),
        ([0.5, 1.5], {"loss": "ce"}, ConfigError, r"--loss ce needs a classification target; 'y'"),
        ([1, 2], {"task": "nope"}, ConfigError, r"--task must be one of auto, regression, class"),
        ([1, 2], {"loss": "mae"}, ConfigError, r"--loss must be one of mse, ce"),
        ([1, 2], {"val_frac": 1.5}, ConfigError, r"--val-frac must be in \[0, 1\), got 1\.5"),
        ([1, 2], {"val_frac": -0.1}, ConfigError, r"--val-frac must be in \[0, 1\)"),
        ([1, 2, 1, 2], {"val_frac": 0.9}, ConfigError, r"--val-frac 0\.9 leaves no training rows"),
    ],
)
def test_task_and_option_errors(tmp_path, values, kw, error, pattern):
    with pytest.raises(error, match=pattern):
        load(target_csv(tmp_path, values), **kw)


def test_several_targets(tmp_path):
    path = write(tmp_path, "x,y1,y2\n1,2,30\n2,4,10\n3,9,20\n")
    pre = load(path, target=["y1", "y2"]).preprocessor
    assert pre.task == "regression" and pre.n_outputs == 2
    with pytest.raises(ConfigError, match="--task classification takes one --target, got 2"):
        load(path, target=["y1", "y2"], task="classification")


def test_binary_vs_onehot(tmp_path):
    path = target_csv(tmp_path, [0, 1, 1, 0])
    ds = load(path)
    assert ds.preprocessor.encoding == "binary" and ds.preprocessor.n_outputs == 1
    np.testing.assert_array_equal(ds.Y_train, [[0], [1], [1], [0]])
    ds = load(path, loss="ce")
    assert ds.preprocessor.encoding == "onehot" and ds.preprocessor.n_outputs == 2
    np.testing.assert_array_equal(ds.Y_train, [[1, 0], [0, 1], [0, 1], [1, 0]])
    ds = load(target_csv(tmp_path, [2, 1, 1]))
    assert ds.preprocessor.encoding == "onehot"
    np.testing.assert_array_equal(ds.Y_train, [[0, 1], [1, 0], [1, 0]])
    ds = load(target_csv(tmp_path, ["b", "c", "a"]))
    assert ds.preprocessor.encoding == "onehot"
    np.testing.assert_array_equal(ds.Y_train, [[0, 1, 0], [0, 0, 1], [1, 0, 0]])


def test_bool_target_is_binary(tmp_path):
    ds = load(target_csv(tmp_path, ["True", "False", "true"]))
    assert ds.preprocessor.encoding == "binary" and ds.preprocessor.classes == [False, True]
    np.testing.assert_array_equal(ds.Y_train, [[1], [0], [1]])


def test_class_only_in_validation_rows_is_still_a_class(tmp_path):
    values = [0] * 30 + [1] * 29 + [2]  # class 2 only on the last row (index 59)
    path = target_csv(tmp_path, values)
    seed = next(s for s in range(100) if 59 in load(path, seed=s).val_rows)
    ds = load(path, seed=seed)
    assert ds.preprocessor.classes == [0, 1, 2]
    assert ds.Y_train.shape[1] == 3 and ds.Y_train[:, 2].sum() == 0 and ds.Y_val[:, 2].sum() == 1
    assert any("class 2" in w and "no training rows" in w for w in ds.warnings)


# --- split ---------------------------------------------------------------------------------------


def test_default_val_frac():
    assert default_val_frac(49) == 0.0 and default_val_frac(50) == 0.2


def test_split_sizes_disjoint_sorted_and_deterministic(tmp_path):
    path, _ = numeric_csv(tmp_path, n=101)
    a, b, c = load(path, seed=3), load(path, seed=3), load(path, seed=4)
    assert a.val_frac == 0.2 and len(a.val_rows) == math.ceil(0.2 * 101) == 21
    assert len(a.train_rows) == 80 and a.X_train.shape == (80, 3) and a.Y_val.shape == (21, 1)
    assert not set(a.train_rows) & set(a.val_rows)
    assert sorted([*a.train_rows, *a.val_rows]) == list(range(101))
    assert list(a.train_rows) == sorted(a.train_rows) and list(a.val_rows) == sorted(a.val_rows)
    np.testing.assert_array_equal(a.val_rows, b.val_rows)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.val_rows, c.val_rows)
    perm = np.random.default_rng(3).permutation(101)
    np.testing.assert_array_equal(a.val_rows, np.sort(perm[:21]))


def test_split_rows_rounding():
    rng = np.random.default_rng(0)
    assert len(split_rows(30, 0.1, rng)[1]) == 3  # 0.1 * 30 is 3.0000000000000004 in floats
    assert len(split_rows(51, 0.2, rng)[1]) == 11


def test_no_split_leaves_rng_untouched_and_rows_in_order(tmp_path):
    path, _ = numeric_csv(tmp_path, n=60)
    rng = np.random.default_rng(7)
    state = json.dumps(rng.bit_generator.state)
    ds = load_dataset(path, rng=rng, val_frac=0.0)
    assert json.dumps(rng.bit_generator.state) == state
    np.testing.assert_array_equal(ds.train_rows, np.arange(60))
    assert ds.X_val.shape == (0, 3) and ds.Y_val.shape == (0, 1) and len(ds.val_rows) == 0


# --- standardization -----------------------------------------------------------------------------


def test_standardization_fitted_on_train_rows_only(tmp_path):
    path, df = numeric_csv(tmp_path, n=100)
    ds = load(path, seed=5)
    pre = ds.preprocessor
    raw = df[["x1", "x2", "x3"]].to_numpy()
    train = raw[ds.train_rows]
    mean, std = train.mean(axis=0), train.std(axis=0)
    np.testing.assert_allclose(pre.x_mean[:2], mean[:2], rtol=1e-12)
    np.testing.assert_allclose(pre.x_std[:2], std[:2], rtol=1e-12)
    assert pre.x_mean[2] == 7.0 and pre.x_std[2] == 1.0  # constant column: std 1
    assert not np.isclose(pre.x_mean[0], raw[:, 0].mean(), rtol=1e-9)  # not all rows
    np.testing.assert_allclose(ds.X_train[:, :2], (train[:, :2] - mean[:2]) / std[:2])
    np.testing.assert_allclose(ds.X_val[:, :2], (raw[ds.val_rows, :2] - mean[:2]) / std[:2])
    np.testing.assert_array_equal(ds.X_train[:, 2], 0.0)
    y = df["y"].to_numpy()[ds.train_rows]
    np.testing.assert_allclose([pre.y_mean[0], pre.y_std[0]], [y.mean(), y.std()], rtol=1e-12)
    np.testing.assert_allclose(ds.Y_train[:, 0], (y - y.mean()) / y.std())
    np.testing.assert_allclose(pre.output_weights, [y.std() ** 2])


def test_no_standardization(tmp_path):
    path, df = numeric_csv(tmp_path, n=100)
    ds = load(path, standardize=False)
    pre = ds.preprocessor
    assert pre.x_mean == [0.0] * 3 and pre.x_std == [1.0] * 3
    assert pre.y_mean == [0.0] and pre.y_std == [1.0] and pre.output_weights is None
    np.testing.assert_array_equal(ds.X_train, df[["x1", "x2", "x3"]].to_numpy()[ds.train_rows])
    np.testing.assert_array_equal(ds.Y_train[:, 0], df["y"].to_numpy()[ds.train_rows])


def test_regression_decode_returns_original_units(tmp_path):
    path = write(tmp_path, "x,y1,y2\n1,200,-3\n2,400,-1\n3,900,-2\n4,100,-8\n")
    ds = load(path, target=["y1", "y2"])
    out = ds.preprocessor.decode(ds.Y_train)
    assert list(out.columns) == ["pred_y1", "pred_y2"]
    np.testing.assert_allclose(out["pred_y1"], [200, 400, 900, 100])
    np.testing.assert_allclose(out["pred_y2"], [-3, -1, -2, -8])
    assert abs(ds.Y_train.mean()) < 1e-12  # the network sees standardized targets


def test_float32(tmp_path):
    path, _ = numeric_csv(tmp_path, n=100)
    ds = load(path, dtype=np.float32)
    for A in (ds.X_train, ds.Y_train, ds.X_val, ds.Y_val):
        assert A.dtype == np.float32 and A.flags["C_CONTIGUOUS"]
    ref = load(path)
    np.testing.assert_allclose(ds.X_train, ref.X_train, rtol=1e-6, atol=1e-6)


# --- categorical features, transform, decode -----------------------------------------------------

COLORS = "size,color,y\n1,red,0\n2,green,1\n3,blue,1\n4,red,0\n"


def test_categorical_one_hot(tmp_path):
    ds = load(write(tmp_path, COLORS))
    pre = ds.preprocessor
    assert pre.categories == {"color": ["blue", "green", "red"]}
    assert pre.input_names == ["size", "color=blue", "color=green", "color=red"]
    assert pre.x_mean[1:] == [0.0] * 3 and pre.x_std[1:] == [1.0] * 3
    np.testing.assert_array_equal(ds.X_train[:, 1:], [[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 1]])


def test_unseen_category_is_zeros_with_one_warning(tmp_path):
    pre = load(write(tmp_path, COLORS)).preprocessor
    new = pd.DataFrame({"color": ["teal", "red", "teal"], "size": [1, 2, 3]})
    X = pre.transform(new)
    np.testing.assert_array_equal(X[:, 1:], [[0, 0, 0], [0, 0, 1], [0, 0, 0]])
    pre.transform(new)
    pre.transform(pd.DataFrame({"color": ["pink"], "size": [1]}))
    assert pre.warnings == [
        "column 'color' has categories not seen in training: 'teal' (encoded as all zeros)"
    ]


def test_transform_matches_columns_by_name_and_ignores_extras(tmp_path):
    path = write(tmp_path, "a,b,y\n1,10,0\n2,30,1\n3,20,0\n")
    ds = load(path)
    shuffled = pd.DataFrame({"extra": ["q", "r", "s"], "b": [10, 30, 20], "a": [1, 2, 3]})
    np.testing.assert_array_equal(ds.preprocessor.transform(shuffled), ds.X_train)
    as_text = pd.DataFrame({"a": ["1", "2", "3"], "b": ["10", "30", "20"]}, dtype=object)
    np.testing.assert_array_equal(ds.preprocessor.transform(as_text), ds.X_train)


def test_transform_errors_name_file_column_and_line(tmp_path):
    pre = load(write(tmp_path, "a,b,y\n1,10,0\n2,30,1\n")).preprocessor
    other = write(tmp_path, "b,c\n1,2\n", name="new.csv")
    with pytest.raises(DataError, match=r"new\.csv: no feature column 'a' \(columns: b, c\)"):
        pre.transform(read_csv(other))
    bad = write(tmp_path, "a,b\n1,2\n3,\n", name="bad.csv")
    with pytest.raises(DataError, match=r"bad\.csv: missing value in column 'b' at line 3"):
        pre.transform(read_csv(bad))


def test_encode_targets_rejects_unknown_label(tmp_path):
    pre = load(write(tmp_path, "x,s\n1,cat\n2,dog\n3,cat\n")).preprocessor
    np.testing.assert_array_equal(
        pre.encode_targets(pd.DataFrame({"s": ["dog", "cat"]})), [[0, 1], [1, 0]]
    )
    other = write(tmp_path, "x,s\n1,cat\n2,cow\n", name="eval.csv")
    with pytest.raises(DataError, match=r"eval\.csv: label 'cow' in column 's' at line 3"):
        pre.encode_targets(read_csv(other))


def test_decode_classification(tmp_path):
    pre = load(write(tmp_path, "x,s\n1,cat\n2,dog\n3,emu\n"), loss="ce").preprocessor
    Yhat = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    out = pre.decode(Yhat)
    assert list(out.columns) == ["pred_s", "prob_cat", "prob_dog", "prob_emu"]
    assert out["pred_s"].tolist() == ["cat", "emu"]
    np.testing.assert_allclose(out.iloc[:, 1:].sum(axis=1), 1.0)
    assert out["prob_cat"][0] > 0.7
    binary = load(target_csv(tmp_path, [0, 1, 1])).preprocessor
    out = binary.decode(np.array([[0.8], [0.1]]))
    assert out["pred_y"].tolist() == [1, 0]
    np.testing.assert_allclose(out[["score_0", "score_1"]], [[0.2, 0.8], [0.9, 0.1]])


def test_predict_labels_needs_classification(tmp_path):
    pre = load(target_csv(tmp_path, [0.5, 1.5])).preprocessor
    with pytest.raises(ConfigError):
        pre.predict_labels(np.zeros((1, 1)))


def test_to_dict_from_dict_round_trip_through_json(tmp_path):
    path = write(tmp_path, "size,color,y\n1.5,red,3\n2.25,green,1\n3,blue,2\n4,red,1\n")
    ds = load(path)
    pre = ds.preprocessor
    record = json.loads(json.dumps(pre.to_dict()))
    assert "warnings" not in record
    back = Preprocessor.from_dict(record)
    assert back == pre and back.classes == [1, 2, 3] and type(back.classes[0]) is int
    df = read_csv(path)
    np.testing.assert_array_equal(back.transform(df), pre.transform(df))
    np.testing.assert_array_equal(back.transform(df), ds.X_train)
    np.testing.assert_array_equal(back.encode_targets(df), ds.Y_train)
    assert (back.n_inputs, back.n_outputs) == (4, 3)
    with pytest.raises(DataError, match="lacks x_mean"):
        Preprocessor.from_dict({k: v for k, v in record.items() if k != "x_mean"})


def test_text_feature_with_many_values_warns(tmp_path):
    rows = "".join(f"id{i},{i % 2}\n" for i in range(60))
    ds = load(write(tmp_path, "name,y\n" + rows), val_frac=0)
    assert ds.preprocessor.n_inputs == 60
    assert any("'name' is text with 60 distinct values" in w for w in ds.warnings)


def test_decimal_commas_are_read_as_numbers_in_a_semicolon_file(tmp_path):
    path = write(tmp_path, "a;b;c;y\n1,5;2;x;0\n-3,25;4,0;z;1\n2;;x;0\n")
    df = read_csv(path)
    assert df.attrs["decimal_commas"] == ["a", "b"]
    assert df["a"].tolist() == [1.5, -3.25, 2.0]  # 2: an integer among them
    assert df["b"].tolist()[:2] == [2.0, 4.0] and np.isnan(df["b"].iloc[2])  # missing stays so
    assert df["c"].tolist() == ["x", "z", "x"]
    ds = load(write(tmp_path, "a;b;y\n1,5;2;0\n3,25;4;1\n"), val_frac=0)
    assert ds.preprocessor.input_names == ["a", "b"]
    assert ds.warnings == ["read decimal commas as decimal points (1,5 = 1.5) in column 'a'"]


def test_decimal_commas_stay_text_with_a_warning_in_a_comma_separated_file(tmp_path):
    """There a quoted "1,234" may as well be a thousands separator: not guessed, but said."""
    ds = load(write(tmp_path, 'a,b,y\n"1,5",2,0\n"3,25",4,1\n'))
    assert ds.preprocessor.input_names == ["a=1,5", "a=3,25", "b"]
    assert any("'a' looks like numbers with decimal commas ('1,5')" in w for w in ds.warnings)

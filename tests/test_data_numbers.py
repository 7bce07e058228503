"""Numbers at the edges (issue 19 items 5, 6, 14): integer labels kept exact, standardization
that neither overflows nor underflows, data no training could fit refused with one line, and
one warning line however many classes there are.

Each of these failed on b35f5ce: 2**53 … 2**53+3 became three classes, {2**53, 2**53+1} a
"single class", a feature at ±1e308 got std inf (saved as null), 1e-320 got std 0, 10**400
raised OverflowError, extreme targets trained into a "diverged" run, and a class missing from
the training rows printed one line per class.
"""

from __future__ import annotations

import json
import statistics
import warnings

import numpy as np
import pandas as pd
import pytest

from mlpcli.data import Preprocessor, load_dataset, read_csv
from mlpcli.errors import DataError

BIG = 2**53  # the first integer float64 cannot tell from its successor


def write(tmp_path, text: str, name: str = "d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def load(path, **kw):
    kw.setdefault("val_frac", 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may leak while reading
        return load_dataset(path, rng=np.random.default_rng(0), **kw)


def labels_csv(tmp_path, labels) -> str:
    rows = "".join(f"{i},{y}\n" for i, y in enumerate(labels))
    return write(tmp_path, "x,y\n" + rows)


# --- item 5: integer labels ----------------------------------------------------------------------

@pytest.mark.parametrize(
    "classes",
    [
        [BIG, BIG + 1, BIG + 2, BIG + 3],
        [2**63 - 2, 2**63 - 1],  # int64's edge
        [2**64 - 2, 2**64 - 1],  # uint64 in pandas
        [2**70, 2**70 + 1, -(2**70)],  # beyond 64 bits: Python ints
    ],
)
def test_large_integer_labels_are_distinct_exact_classes(tmp_path, classes):
    labels = classes * 3
    ds = load(labels_csv(tmp_path, labels), task="classification")
    pre = ds.preprocessor
    assert pre.classes == sorted(classes)
    assert all(type(c) is int for c in pre.classes)
    # every row is encoded as its own class, and decoding the encoding gives the label back
    codes = ds.Y_train.argmax(axis=1) if pre.encoding == "onehot" else ds.Y_train[:, 0]
    assert [pre.classes[int(k)] for k in codes] == labels
    decoded = pre.decode(ds.Y_train)[f"pred_{pre.targets[0]}"].tolist()
    assert decoded == labels


def test_two_large_integers_are_two_classes_not_a_single_class(tmp_path):
    ds = load(labels_csv(tmp_path, [BIG, BIG + 1] * 2), task="classification")
    assert ds.preprocessor.classes == [BIG, BIG + 1]


def test_large_integer_classes_round_trip_through_model_json(tmp_path):
    path = labels_csv(tmp_path, [BIG, BIG + 1, BIG + 2, BIG + 3] * 2)
    ds = load(path, task="classification")
    saved = json.loads(json.dumps(ds.preprocessor.to_dict()))
    pre = Preprocessor.from_dict(saved)
    assert pre.classes == [BIG, BIG + 1, BIG + 2, BIG + 3]
    frame = read_csv(path)
    Y = pre.encode_targets(frame)
    np.testing.assert_array_equal(Y, ds.Y_train)
    assert pre.predict_labels(Y).tolist() == frame["y"].tolist()


def test_a_label_that_is_not_a_class_is_named_exactly(tmp_path):
    pre = load(labels_csv(tmp_path, [BIG, BIG + 1] * 2), task="classification").preprocessor
    frame = read_csv(labels_csv(tmp_path, [BIG, BIG + 2]))
    with pytest.raises(DataError, match=f"label {BIG + 2} in column 'y' at line 3"):
        pre.encode_targets(frame)


def test_an_integer_beyond_float64_is_a_clean_error_naming_column_and_line(tmp_path):
    path = write(tmp_path, f"x,y\n1,0\n2,1\n{10**400},0\n")
    with pytest.raises(DataError, match="column 'x' at line 4 has an integer too large"):
        load(path)


# --- item 6: extreme values ----------------------------------------------------------------------

def test_a_feature_at_1e308_is_standardized_exactly(tmp_path):
    xs = [1e308, -1e308, 5e307, -3e307]
    ds = load(write(tmp_path, "x,y\n" + "".join(f"{x!r},{i % 2}\n" for i, x in enumerate(xs))))
    pre = ds.preprocessor
    # statistics works in exact fractions: an independent computation of mean and std
    assert pre.x_mean == [statistics.fmean(xs)]
    assert pre.x_std == [pytest.approx(statistics.pstdev(xs), rel=1e-15)]
    assert np.isfinite(ds.X_train).all()
    expected = (np.array(xs) / 2**1000 - pre.x_mean[0] / 2**1000) / (pre.x_std[0] / 2**1000)
    np.testing.assert_allclose(ds.X_train[:, 0], expected, rtol=1e-14)
    assert "null" not in json.dumps(pre.to_dict())


def test_subnormal_features_get_their_true_std_not_zero(tmp_path):
    xs = [1e-320, 2e-320, 3e-320, 4e-320]
    ds = load(write(tmp_path, "x,y\n" + "".join(f"{x!r},{i % 2}\n" for i, x in enumerate(xs))))
    std = ds.preprocessor.x_std[0]
    assert std == pytest.approx(statistics.pstdev(xs), rel=1e-3)  # subnormals: ~11 bits
    np.testing.assert_allclose(ds.X_train[:, 0], [-1.342, -0.447, 0.447, 1.342], atol=2e-3)


def test_ordinary_data_is_standardized_bit_for_bit_as_numpy_does(tmp_path):
    rng = np.random.default_rng(3)
    A = np.column_stack([rng.normal(5, 3, 200), rng.uniform(0, 1e-5, 200), rng.normal(0, 1e6, 200)])
    df = pd.DataFrame(A, columns=["a", "b", "c"]).assign(y=rng.normal(size=200))
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    ds = load(path)
    A = np.ascontiguousarray(read_csv(path)[["a", "b", "c"]].to_numpy())  # rows as in X_train
    assert ds.preprocessor.x_mean == A.mean(axis=0).tolist()
    assert ds.preprocessor.x_std == A.std(axis=0).tolist()


def test_a_feature_whose_distance_to_its_mean_overflows_is_refused(tmp_path):
    path = write(tmp_path, "x,y\n1.7e308,0\n-1.7e308,1\n1.7e308,0\n")
    with pytest.raises(DataError, match=r"d\.csv: column 'x' spans .* overflows float64"):
        load(path)


@pytest.mark.parametrize(
    ("scale", "words"), [(1e300, "standard deviation .*square overflows"),
                         (1e-310, "standard deviation .*square underflows")]
)
def test_regression_targets_whose_loss_cannot_be_represented_are_refused(tmp_path, scale, words):
    rows = "".join(f"{i},{(i * 0.37) * scale!r}\n" for i in range(1, 30))
    with pytest.raises(DataError, match=rf"d\.csv: target 'y' has {words} float64, .*; rescale"):
        load(write(tmp_path, "x,y\n" + rows), task="regression")


def test_unstandardized_features_whose_square_overflows_are_refused(tmp_path):
    path = write(tmp_path, "x,y\n1e200,0\n2,1\n3,0\n")
    with pytest.raises(DataError, match="column 'x' reaches 1e\\+200.*--no-standardize"):
        load(path, standardize=False)
    path = write(tmp_path, "x,y\n1e30,0\n2,1\n3,0\n")  # fine in float64, not in float32
    load(path, standardize=False)
    with pytest.raises(DataError, match="square overflows float32"):
        load(path, standardize=False, dtype=np.float32)


# --- item 14: many classes -----------------------------------------------------------------------

def test_thousands_of_classes_without_training_rows_are_one_warning_line(tmp_path):
    labels = [f"c{i}" for i in range(3000)]
    ds = load(labels_csv(tmp_path, labels), val_frac=0.2)
    assert len(ds.preprocessor.classes) == 3000
    lines = [w for w in ds.warnings if "no training rows" in w]
    assert len(lines) == 1
    assert lines[0].startswith("600 of the 3000 classes of target 'y' have no training rows")


def test_a_column_whose_std_underflows_is_refused_and_a_constant_one_keeps_std_1(tmp_path):
    with pytest.raises(DataError, match="column 'x' varies by less than float64 can standardize"):
        load(write(tmp_path, "x,y\n5e-324,0\n0,1\n5e-324,0\n"))
    ds = load(write(tmp_path, "x,z,y\n1e308,7,0\n1e308,7,1\n1e308,7,0\n"))
    assert ds.preprocessor.x_mean == [1e308, 7.0]
    assert ds.preprocessor.x_std == [1.0, 1.0]
    np.testing.assert_array_equal(ds.X_train, np.zeros((3, 2)))


@pytest.mark.parametrize("width", [1, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_standardization_in_blocks_equals_numpy_on_the_whole_matrix(tmp_path, width, dtype):
    """More rows than preprocess.CHUNK_ROWS: the inputs are built and their statistics summed
    block by block, and still equal numpy's on the whole float64 matrix, bit for bit."""
    from mlpcli.data.preprocess import CHUNK_ROWS

    rng = np.random.default_rng(7)
    n = 2 * CHUNK_ROWS + 1234
    A = rng.normal(3, 2, (n, width)) * np.array([1, 1e-4, 1e5])[:width]
    df = pd.DataFrame(A, columns=list("abc")[:width]).assign(y=rng.normal(size=n))
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    ds = load(path, dtype=dtype)
    A = np.ascontiguousarray(read_csv(path)[list("abc")[:width]].to_numpy())
    mean, std = A.mean(axis=0), A.std(axis=0)
    assert ds.preprocessor.x_mean == mean.tolist()
    assert ds.preprocessor.x_std == std.tolist()
    expected = ((A - mean) / std).astype(dtype)
    assert ds.X_train.dtype == dtype and np.array_equal(ds.X_train, expected)

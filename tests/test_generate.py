"""Tests for mlpcli.generate and the bundled CSVs in datasets/."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpcli.data.generate import DEFAULTS, GENERATORS, generate

DATASETS = Path(__file__).resolve().parents[1] / "datasets"
CLASSES = {"moons": 2, "circles": 2, "spirals": 3, "xor": 2}
N_FEATURES = {"moons": 2, "circles": 2, "spirals": 2, "sine": 1, "xor": 2}
TRUTH_TABLE = [[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]]

# file -> (rows, number of features, target column)
BUNDLED = {
    "xor.csv": (4, 2, "y"),
    "moons.csv": (1000, 2, "y"),
    "circles.csv": (1000, 2, "y"),
    "spirals.csv": (900, 2, "y"),
    "sine.csv": (500, 1, "y"),
    "iris.csv": (150, 4, "species"),
    "wine.csv": (178, 13, "cultivar"),
    "breast_cancer.csv": (569, 30, "diagnosis"),
    "digits.csv": (1797, 64, "digit"),
}


def test_registry_and_defaults_cover_same_kinds():
    assert set(GENERATORS) == set(DEFAULTS) == {"moons", "circles", "spirals", "sine", "xor"}


@pytest.mark.parametrize("kind", ["moons", "circles", "spirals", "sine"])
def test_same_seed_identical_different_seed_differs(kind):
    a = generate(kind, n=60, seed=3)
    pd.testing.assert_frame_equal(a, generate(kind, n=60, seed=3))
    assert not a.equals(generate(kind, n=60, seed=4))


def test_xor_with_noise_is_seeded():
    a = generate("xor", n=40, noise=0.1, seed=1)
    pd.testing.assert_frame_equal(a, generate("xor", n=40, noise=0.1, seed=1))
    assert not a.equals(generate("xor", n=40, noise=0.1, seed=2))


def test_generators_do_not_touch_global_rng():
    np.random.seed(123)
    before = np.random.random(3)
    np.random.seed(123)
    for kind in GENERATORS:
        generate(kind, n=20, noise=0.1, seed=0)
    np.testing.assert_array_equal(np.random.random(3), before)


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_shape_columns_and_target_last(kind):
    df = generate(kind, n=31, noise=0.1, seed=0)
    d = N_FEATURES[kind]
    assert df.shape == (31, d + 1)
    assert list(df.columns) == [f"x{j + 1}" for j in range(d)] + ["y"]
    assert not df.isna().any().any()
    if kind == "sine":
        assert df["y"].dtype == np.float64
    else:
        assert df["y"].dtype == np.int64
        assert set(df["y"]) == set(range(CLASSES[kind]))


@pytest.mark.parametrize("kind", ["moons", "circles", "spirals"])
def test_default_class_balance(kind):
    df = generate(kind, seed=0)
    k = CLASSES[kind]
    counts = np.bincount(df["y"], minlength=k)
    np.testing.assert_array_equal(counts, np.full(k, DEFAULTS[kind]["n"] // k))


def test_uneven_n_splits_within_one():
    counts = np.bincount(generate("spirals", n=101, seed=0)["y"])
    assert counts.sum() == 101 and counts.max() - counts.min() == 1


def test_rows_are_shuffled():
    y = generate("moons", n=200, seed=0)["y"].to_numpy()
    assert np.any(y[:100] == 1) and np.any(y[100:] == 0)


def test_xor_default_is_truth_table_in_order():
    df = generate("xor")
    assert list(df.columns) == ["x1", "x2", "y"]
    np.testing.assert_array_equal(df.to_numpy(), TRUTH_TABLE)
    assert (df.dtypes == np.int64).all()


def test_xor_noisy_labels_follow_nearest_corner():
    df = generate("xor", n=400, noise=0.1, seed=0)
    corner = np.rint(df[["x1", "x2"]].to_numpy()).astype(int)
    np.testing.assert_array_equal(df["y"], corner[:, 0] ^ corner[:, 1])
    assert np.bincount(df["y"]).tolist() == [200, 200]


def test_sine_noiseless_is_exact_and_in_range():
    df = generate("sine", n=200, noise=0.0, seed=5)
    np.testing.assert_allclose(df["y"], np.sin(df["x1"]), rtol=0, atol=1e-12)
    assert df["x1"].between(-3, 3).all()
    noisy = generate("sine", n=2000, noise=0.1, seed=5)
    assert 0.08 < np.std(noisy["y"] - np.sin(noisy["x1"])) < 0.12


def test_noiseless_geometry():
    circles = generate("circles", n=100, noise=0.0, seed=0)
    radius = np.hypot(circles["x1"], circles["x2"])
    np.testing.assert_allclose(radius, np.where(circles["y"] == 0, 1.0, 0.5))
    moons = generate("moons", n=100, noise=0.0, seed=0)
    upper = moons[moons["y"] == 0]
    np.testing.assert_allclose(np.hypot(upper["x1"], upper["x2"]), 1.0)
    spirals = generate("spirals", n=90, noise=0.0, seed=0)
    assert np.hypot(spirals["x1"], spirals["x2"]).max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"n": 0}, "n must be"),
        ({"n": -5}, "n must be"),
        ({"n": 2.5}, "n must be"),
        ({"noise": -0.1}, "noise must be"),
        ({"noise": float("nan")}, "noise must be"),
    ],
)
@pytest.mark.parametrize("kind", list(GENERATORS))
def test_bad_arguments_raise(kind, kwargs, words):
    with pytest.raises(ValueError, match=words):
        generate(kind, **kwargs)


def test_unknown_kind_lists_valid_kinds():
    with pytest.raises(ValueError, match="unknown dataset kind 'blobs'") as err:
        generate("blobs")
    assert all(kind in str(err.value) for kind in GENERATORS)


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_bundled_generated_csv_matches_generator(kind):
    bundled = pd.read_csv(DATASETS / f"{kind}.csv")
    expected = generate(kind, seed=0).round(6)
    assert list(bundled.columns) == list(expected.columns)
    assert np.allclose(bundled.to_numpy(float), expected.to_numpy(float), rtol=0, atol=1e-6)
    assert (bundled["y"] == expected["y"]).all()


def test_bundled_xor_file_is_integer_truth_table():
    text = (DATASETS / "xor.csv").read_text().split()
    assert text == ["x1,x2,y", "0,0,0", "0,1,1", "1,0,1", "1,1,0"]


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_csv_reads_with_target_last(name):
    rows, d, target = BUNDLED[name]
    df = pd.read_csv(DATASETS / name)
    assert df.shape == (rows, d + 1)
    assert df.columns[-1] == target
    assert not df.isna().any().any()
    assert all(pd.api.types.is_numeric_dtype(df[c]) for c in df.columns[:-1])


def test_bundled_real_targets():
    iris = pd.read_csv(DATASETS / "iris.csv")
    assert list(iris.columns[:4]) == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert iris["species"].value_counts().to_dict() == {
        "setosa": 50,
        "versicolor": 50,
        "virginica": 50,
    }
    wine = pd.read_csv(DATASETS / "wine.csv")
    assert wine["cultivar"].value_counts().sort_index().tolist() == [59, 71, 48]
    assert wine.columns[0] == "alcohol" and wine.columns[-2] == "proline"
    cancer = pd.read_csv(DATASETS / "breast_cancer.csv")
    assert cancer["diagnosis"].value_counts().to_dict() == {"benign": 357, "malignant": 212}
    assert cancer.columns[0] == "mean_radius"
    assert all(" " not in c and "/" not in c for df in (wine, cancer) for c in df.columns)
    digits = pd.read_csv(DATASETS / "digits.csv")
    assert list(digits.columns) == [f"p{i}" for i in range(64)] + ["digit"]
    assert (digits.dtypes == np.int64).all()
    assert digits["p0"].min() >= 0 and digits.iloc[:, :64].to_numpy().max() == 16
    assert sorted(digits["digit"].unique()) == list(range(10))


def test_n_beyond_memory_is_refused_before_allocating():
    # b35f5ce tried to allocate 37 GiB and raised MemoryError
    from mlpcli.data.generate import BYTES_PER_ROW, max_rows

    with pytest.raises(ValueError, match=r"n = 10000000000 rows would need about 2\.38e\+03 GiB"):
        generate("moons", n=10_000_000_000)
    assert max_rows() * BYTES_PER_ROW <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert len(generate("sine", n=min(max_rows(), 1000))) == min(max_rows(), 1000)

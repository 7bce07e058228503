"""Sweep specs expand to the documented trials; folds; the leaderboard's statistics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlpcli.errors import ConfigError
from mlpcli.sweep.folds import assign_folds, fold_rows
from mlpcli.sweep.leaderboard import leaderboard
from mlpcli.sweep.spec import SweepSpec, expand, parse_grid, parse_sample, validate


def spec(**kw) -> SweepSpec:
    fixed = kw.pop("fixed", {"data": "xor"})
    return SweepSpec(fixed=fixed, **kw).checked()


# --- grid ---------------------------------------------------------------------------------------

def test_grid_is_the_cartesian_product_in_order_with_seeds_and_folds():
    grid = parse_grid(["lr=0.001|0.01", "hidden=8|64,32"])
    assert grid == {"lr": [0.001, 0.01], "hidden": [[8], [64, 32]]}
    trials = expand(spec(fixed={"data": "iris", "seed": 5}, grid=grid, seeds=2, folds=3))
    assert len(trials) == 2 * 2 * 2 * 3
    assert [t.params for t in trials[::6]] == [
        {"lr": 0.001, "hidden": [8]}, {"lr": 0.001, "hidden": [64, 32]},
        {"lr": 0.01, "hidden": [8]}, {"lr": 0.01, "hidden": [64, 32]}]
    assert [(t.seed, t.fold) for t in trials[:6]] == [(5, 0), (5, 1), (5, 2), (6, 0), (6, 1),
                                                      (6, 2)]
    assert trials[0].id == "c0-s5-f0" and trials[-1].id == "c3-s6-f2"
    assert len({t.id for t in trials}) == len(trials)


def test_commas_separate_values_only_where_values_never_hold_one():
    assert parse_grid(["lr=0.001,0.01|0.1"]) == {"lr": [0.001, 0.01, 0.1]}
    assert parse_grid(["batch-size=8,16"]) == {"batch_size": [8, 16]}
    assert parse_grid(["hidden=64,32"]) == {"hidden": [[64, 32]]}  # one value: two layers
    assert parse_grid(["nesterov=true|false"]) == {"nesterov": [True, False]}
    assert parse_grid(["activation=relu,tanh"]) == {"activation": ["relu", "tanh"]}


@pytest.mark.parametrize("item, words", [
    ("lr=abc", ["--grid lr", "not a number"]),
    ("hiden=8", ["hiden", "not a train option"]),
    ("activation=relu|swish", ["activation", "relu, tanh, sigmoid"]),
    ("seed=1|2", ["seed", "--seeds"]),
    ("batch_size=8.5", ["batch_size", "whole number"]),
    ("lr", ["NAME=…", "lr=0.001|0.01"]),
    ("lr=0.1||0.2", ["empty value"]),
])
def test_grid_errors_name_the_parameter(item, words):
    with pytest.raises(ConfigError) as e:
        parse_grid([item])
    assert all(w in str(e.value) for w in words), str(e.value)


def test_an_invalid_combination_names_the_configuration():
    s = spec(grid=parse_grid(["nesterov=true|false"]))
    with pytest.raises(ConfigError, match="nesterov=true: --nesterov needs --momentum"):
        validate(s, expand(s))


# --- random search --------------------------------------------------------------------------------

def test_random_search_draws_from_each_distribution_reproducibly():
    sample = parse_sample(["lr=log:1e-4:1e-1", "momentum=uniform:0:0.99",
                           "batch_size=int:8:128", "hidden=16|32|64,32"])
    s = spec(fixed={"data": "xor", "seed": 3}, sample=sample, random=200)
    configs = [t.params for t in expand(s)]
    assert len(configs) == 200
    lrs = np.array([c["lr"] for c in configs])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    # log-uniform: about half of the draws below the geometric midpoint 10^-2.5
    assert 0.35 < np.mean(lrs < 10 ** -2.5) < 0.65
    assert all(0 <= c["momentum"] <= 0.99 for c in configs)
    sizes = {c["batch_size"] for c in configs}
    assert sizes <= set(range(8, 129)) and all(isinstance(b, int) for b in sizes)
    assert {tuple(c["hidden"]) for c in configs} == {(16,), (32,), (64, 32)}
    assert configs == [t.params for t in expand(s)]  # the same seed, the same draws
    other = [t.params for t in expand(spec(fixed={"data": "xor", "seed": 4}, sample=sample,
                                           random=200))]
    assert other != configs


def test_grid_and_random_combine_with_n_draws_per_grid_point():
    s = spec(grid=parse_grid(["activation=relu|tanh"]), sample=parse_sample(["lr=log:1e-3:1"]),
             random=3)
    trials = expand(s)
    assert [t.params["activation"] for t in trials] == ["relu"] * 3 + ["tanh"] * 3
    assert len({t.params["lr"] for t in trials}) == 6


@pytest.mark.parametrize("item, words", [
    ("lr=log:0:1", ["LOW > 0"]),
    ("lr=uniform:1:0", ["LOW < HIGH"]),
    ("batch_size=uniform:8:64", ["int:8:64"]),
    ("activation=log:1:2", ["not numeric"]),
    ("lr=log:1e-4", ["two numbers"]),
])
def test_sample_errors(item, words):
    with pytest.raises(ConfigError) as e:
        parse_sample([item])
    assert all(w in str(e.value) for w in words), str(e.value)


def test_random_and_sample_need_each_other():
    with pytest.raises(ConfigError, match="--random"):
        spec(sample=parse_sample(["lr=log:1e-3:1"]))
    with pytest.raises(ConfigError, match="--sample"):
        spec(random=5)


def test_spec_round_trips_through_json():
    s = spec(fixed={"data": "iris", "epochs": 10}, grid=parse_grid(["hidden=8|64,32"]),
             sample=parse_sample(["lr=log:1e-3:1"]), random=2, seeds=3, folds=4, refit=True)
    again = SweepSpec.from_dict(s.to_dict(), source="test")
    assert [t for t in expand(again)] == [t for t in expand(s)]
    assert again.refit and again.fixed == {"data": "iris", "epochs": 10}


# --- folds -------------------------------------------------------------------------------------

@pytest.mark.parametrize("n_classes, n, k", [(3, 150, 5), (2, 101, 4), (10, 97, 7)])
def test_stratified_folds_partition_the_rows_and_keep_class_proportions(n_classes, n, k):
    rng = np.random.default_rng(0)
    labels = rng.choice(n_classes, size=n, p=np.arange(1, n_classes + 1) / np.arange(
        1, n_classes + 1).sum())
    fold = assign_folds(n, k, seed=1, labels=labels)
    held = [fold_rows(fold, i)[1] for i in range(k)]
    everything = np.concatenate(held)
    assert sorted(everything) == list(range(n))  # disjoint, and every row once
    for i in range(k):
        train, val = fold_rows(fold, i)
        assert not set(train) & set(val) and len(train) + len(val) == n
    sizes = [len(h) for h in held]
    assert max(sizes) - min(sizes) <= 1
    for c in range(n_classes):
        expected = np.sum(labels == c) / k
        for h in held:
            assert abs(np.sum(labels[h] == c) - expected) < 1  # within one row per class


def test_folds_are_shuffled_by_the_seed_and_fixed_by_it():
    labels = np.repeat([0, 1], 50)
    a = assign_folds(100, 5, seed=0, labels=labels)
    assert np.array_equal(a, assign_folds(100, 5, seed=0, labels=labels))
    assert not np.array_equal(a, assign_folds(100, 5, seed=1, labels=labels))
    assert not np.array_equal(a[:50], np.arange(50) % 5)  # not in file order
    plain = assign_folds(10, 3, seed=0)
    assert sorted(np.bincount(plain)) == [3, 3, 4]


def test_more_folds_than_rows_is_an_error():
    with pytest.raises(ConfigError, match="--folds 5 needs at least 5 rows"):
        assign_folds(4, 5, seed=0)


# --- leaderboard ----------------------------------------------------------------------------------

def test_leaderboard_statistics_and_solved_rate():
    trials = pd.DataFrame({
        "hidden": ["2", "2", "2", "8", "8"],
        "status": ["finished", "finished", "diverged", "finished", "finished"],
        "train_acc": [1.0, 0.75, None, 1.0, 1.0],
        "val_acc": [0.9, 0.7, None, 0.95, 0.85],
        "val_loss": [0.1, 0.3, None, 0.05, 0.2],
    })
    board = leaderboard(trials, ["hidden"], "classification")
    assert list(board["hidden"]) == ["8", "2"]
    top, second = board.iloc[0], board.iloc[1]
    assert top["metric"] == "val_acc" and top["rank"] == 1
    assert top["mean"] == pytest.approx(0.9)
    assert top["std"] == pytest.approx(math.sqrt(((0.95 - 0.9) ** 2 + (0.85 - 0.9) ** 2) / 1))
    assert top["solved"] == 1.0
    assert second["trials"] == 3  # the diverged trial counts …
    assert second["mean"] == pytest.approx(0.8)  # … but not in the mean
    assert second["solved"] == pytest.approx(1 / 3)  # and lowers the solved rate
    assert (second["min"], second["max"]) == (0.7, 0.9)
    assert second["val_loss_mean"] == pytest.approx(0.2)


def test_leaderboard_uses_training_metric_without_validation_rows_and_empty_std_for_one():
    trials = pd.DataFrame({"status": ["finished"], "train_acc": [0.75], "val_acc": [None],
                           "val_loss": [None]})
    board = leaderboard(trials, [], "classification")
    assert board.iloc[0]["metric"] == "train_acc" and math.isnan(board.iloc[0]["std"])

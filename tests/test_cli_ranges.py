"""Option ranges checked at the edge, before anything is allocated or written (issue 19,
items 7 and 12): seeds and counts that int64 holds, networks that fit in memory, a non-empty
--runs-dir. Before this, `--seed -1` and `--hidden 100000,100000` ended in "unexpected …" exit 1,
and `--batch-size 99999999999999999999` was accepted and then broke `runs list`.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_dirs

from mlpcli import config
from mlpcli.config import INT64_MAX, Config, network_bytes

GIB = 2**30


@pytest.fixture
def eight_gib(monkeypatch):
    """A machine with 8 GiB of memory, whatever this one has."""
    monkeypatch.setattr(config, "memory_bytes", lambda: 8 * GIB)


@pytest.mark.parametrize(("args", "words"), [
    (["--seed", "-1"], ["--seed", "from 0 to 9223372036854775807", "-1"]),
    (["--seed", str(2**63)], ["--seed", str(2**63)]),
    (["--batch-size", "99999999999999999999"], ["--batch-size", "99999999999999999999"]),
    (["--epochs", str(2**63)], ["--epochs"]),
    (["--patience", "-1"], ["--patience"]),
    (["--step-size", str(2**64)], ["--step-size"]),
    (["--hidden", "100000,100000"], ["--hidden 100000,100000", "GiB", "memory"]),
    (["--hidden", str(2**63)], ["--hidden"]),
    (["--runs-dir", ""], ["--runs-dir", "empty"]),
])
def test_out_of_range_options_are_one_line_errors_before_anything_is_written(
        cli, runs_dir, eight_gib, args, words):
    r = cli("train", "xor", *args)
    assert r.code == 2, r.err
    assert len(r.err.strip().splitlines()) == 1 and "unexpected" not in r.err
    for word in words:
        assert word in r.err, r.err
    assert not run_dirs(runs_dir) and r.out == ""


def test_largest_seed_and_a_batch_larger_than_the_data_train(cli, runs_dir):
    r = cli("train", "xor", "--seed", str(INT64_MAX), "--batch-size", str(INT64_MAX),
            "--epochs", "3", "-q")
    assert r.code == 0, r.err
    (run,) = run_dirs(runs_dir)
    options = json.loads((run / "config.json").read_text())["options"]
    assert options["seed"] == INT64_MAX and options["batch_size"] == INT64_MAX
    listed = cli("runs", "list", "--csv", "-")
    assert listed.code == 0 and str(INT64_MAX) in listed.out, listed.err


def test_default_batch_of_32_on_xor_is_one_batch_of_its_4_rows(cli, runs_dir):
    assert Config().batch_size > 4
    assert cli("train", "xor", "--epochs", "2", "-q").code == 0


@pytest.mark.parametrize("command", [["runs", "list"], ["runs", "show", "latest"],
                                     ["predict", "latest", "xor"]])
def test_empty_runs_dir_is_an_error_for_every_command(cli, command):
    r = cli(*command, "--runs-dir", "")
    assert r.code == 2 and "--runs-dir" in r.err and "empty" in r.err, r.err


def test_datasets_make_refuses_a_negative_seed(cli):
    r = cli("datasets", "make", "moons", "--seed", "-1")
    assert r.code == 2 and "--seed" in r.err, r.err


@pytest.mark.parametrize(("args", "words"), [
    (["--samples", "100000000"], ["--samples 100000000", "GiB"]),
    (["--inputs", "100000000"], ["--inputs 100000000", "GiB"]),
    (["--samples", "0"], ["--samples"]),
    (["--max-coords", "0"], ["--max-coords"]),
    (["--eps", "0"], ["--eps", "> 0"]),
    (["--tol", "-1"], ["--tol", "> 0"]),
])
def test_gradcheck_problem_sizes_are_bounded(cli, eight_gib, args, words):
    r = cli("gradcheck", *args)
    assert r.code == 2, r.err
    assert len(r.err.strip().splitlines()) == 1
    for word in words:
        assert word in r.err, r.err


def test_gradcheck_on_data_is_bounded_by_its_rows_not_by_samples(cli, eight_gib):
    r = cli("gradcheck", "xor", "--samples", "100000000", "--hidden", "2")
    assert r.code == 0, r.err
    assert "on xor" in r.out


def test_network_bytes_counts_every_weight_and_bias():
    # --hidden 100000,100000 between 1 input and 1 output: the weights alone are 74.5 GiB
    params = 2 * 100_000 + 100_001 * 100_000 + 100_001
    assert network_bytes([1, 100_000, 100_000, 1], rows=0, itemsize=8, copies=1) == 8 * params
    assert f"{8 * params / GIB:.1f}" == "74.5"
    # workspace: 3 values per unit and row
    assert network_bytes([2, 3, 1], rows=10, itemsize=8, copies=2) == 8 * (
        2 * (3 * 3 + 4 * 1) + 3 * 10 * 6)


def test_no_memory_figure_means_no_memory_check(monkeypatch):
    monkeypatch.setattr(config, "memory_bytes", lambda: None)
    assert Config(hidden=(100_000, 100_000)).validated().hidden == (100_000, 100_000)

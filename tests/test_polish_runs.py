"""Comparing runs: runs list keeps every column that differs, sorts both ways, says what it
wrote; runs compare heads columns by run name and stays readable with many runs."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from conftest import run_dirs

LRS = ["0.0001", "0.0002", "0.0005", "0.001", "0.002", "0.003"]


@pytest.fixture
def lr_runs(cli, runs_dir):
    for lr in LRS:
        assert cli("train", "moons", "--lr", lr, "--epochs", 8, "--name", f"lr{lr}", "-q").code == 0
    return run_dirs(runs_dir)


def _listed(cli, *args):
    return pd.read_csv(io.StringIO(cli("runs", "list", "--csv", "-", *args).out))


@pytest.mark.parametrize("columns", [80, 160])
def test_runs_list_never_leaves_out_a_column_that_differs(cli, lr_runs, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    result = cli("runs", "list")
    header = result.out.split("─")[0]
    assert result.code == 0 and "…" not in result.out
    assert re.search(r"\blr\b", header) and re.search(r"\bval\b", header)
    for lr in LRS:  # every learning rate and every run's validation accuracy, whole
        row = next(line for line in result.out.splitlines() if f"-lr{lr}" in line)
        assert f" {float(lr):g} " in row
    frame = _listed(cli)
    for acc in frame["val_acc"]:
        assert f"{100 * acc:.1f}%" in result.out
    # what every run shares is left out, and named with its value
    note = " ".join(result.out.split("─")[-1].split())
    assert ("seed 0" in note) == ("seed" not in header)
    if columns == 80:
        assert "left out (the same in every run" in note and "seed 0" in note


def test_runs_list_sorts_descending_with_a_minus_or_desc(cli, lr_runs):
    by_minus = _listed(cli, "--sort=-val_loss")
    by_desc = _listed(cli, "--sort", "val_loss", "--desc")
    assert list(_listed(cli, "--sort", "-val_loss")["id"]) == list(by_desc["id"])
    ascending = _listed(cli, "--sort", "val_loss")
    assert list(by_minus["val_loss"]) == sorted(ascending["val_loss"], reverse=True)
    assert list(by_minus["id"]) == list(by_desc["id"]) == list(ascending["id"])[::-1]
    bad = cli("runs", "list", "--sort=-nope")
    assert bad.code == 2 and "'nope' is not a column" in bad.err


def test_runs_list_columns_and_wide(cli, lr_runs, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    chosen = cli("runs", "list", "--columns", "id,lr", "-c", "val_acc")
    header = chosen.out.split("─")[0].split()
    assert header == ["val", "id", "lr", "acc"]  # val acc's heading takes two lines
    wide = cli("runs", "list", "--wide")
    assert "activation" in wide.out.split("─")[0] and "left out" not in wide.out
    bad = cli("runs", "list", "--columns", "id,speed")
    assert bad.code == 2 and "no column 'speed'" in bad.err and "val_acc" in bad.err


def test_runs_list_csv_says_what_it_wrote(cli, lr_runs, tmp_path):
    result = cli("runs", "list", "--csv", tmp_path / "all.csv")
    assert result.code == 0 and result.out == ""
    assert f"wrote {len(LRS)} runs to {tmp_path / 'all.csv'}" in result.err
    assert len(pd.read_csv(tmp_path / "all.csv")) == len(LRS)


def test_runs_compare_many_runs_one_row_each_headed_by_name(cli, lr_runs, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    result = cli("runs", "compare", *(f"lr{lr}" for lr in LRS))
    assert result.code == 0 and "…" not in result.out and "2026" not in result.out
    lines = result.out.splitlines()
    frame = _listed(cli)
    for lr in LRS:
        row = next(line for line in lines if line.startswith(f"lr{lr} "))
        val_loss = frame.loc[frame["name"] == f"lr{lr}", "val_loss"].item()
        assert f"{val_loss:.4g}" in row and f"{float(lr):g}" in row
    header = result.out.split("─")[0]
    assert "seed" not in header and "name" not in header  # only the options that differ


def test_runs_compare_two_runs_side_by_side_by_shortest_unique_suffix(cli, runs_dir):
    for hidden in (2, 8):
        cli("train", "xor", "--hidden", hidden, "--epochs", 5, "--name", "same", "-q")
    first, second = run_dirs(runs_dir)
    result = cli("runs", "compare", first.name, second.name)
    heading = result.out.splitlines()[1]
    suffixes = ["-".join(p.name.split("-")[-2:]) for p in (first, second)]
    assert all(s in heading for s in suffixes) and first.name not in heading
    hidden_row = next(line for line in result.out.splitlines() if "hidden" in line)
    assert "2" in hidden_row and "8" in hidden_row

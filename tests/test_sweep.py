"""`mlpcli sweep` end to end, in-process (--workers 1): files, statistics, failures, options."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpcli.runs import Run


def sweep_dir(runs_dir: Path) -> Path:
    (path,) = [p for p in runs_dir.iterdir() if (p / "sweep.json").exists()]
    return path


def weights(path: Path) -> dict:
    with np.load(path / "weights.npz") as npz:
        return {k: npz[k] for k in npz.files}


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_xor_sweep_writes_runs_trials_leaderboard_and_summary(cli, runs_dir):
    r = cli("sweep", "xor", "--grid", "hidden=2|8", "--seeds", "3", "--epochs", "300",
            "--lr", "0.05", "--workers", "1")
    assert r.code == 0, r.err
    path = sweep_dir(runs_dir)
    trials = pd.read_csv(path / "trials.csv", dtype={"hidden": str})
    assert list(trials.columns) == ["trial", "hidden", "seed", "fold", "status", "epochs_run",
                                    "best_epoch", "train_loss", "val_loss", "train_acc",
                                    "val_acc", "seconds", "run"]
    assert list(trials["trial"]) == ["c0-s0", "c0-s1", "c0-s2", "c1-s0", "c1-s1", "c1-s2"]
    assert list(trials["hidden"]) == ["2"] * 3 + ["8"] * 3
    assert list(trials["seed"]) == [0, 1, 2] * 2 and trials["fold"].isna().all()
    # trials.csv equals the trial run directories' summaries
    for _, row in trials.iterrows():
        run = Run(path / row["run"])
        summary, options = run.summary(), run.config()["options"]
        assert summary["status"] == row["status"] == "finished"
        assert summary["epochs_run"] == row["epochs_run"]
        assert summary["final"]["train_loss"] == row["train_loss"]
        assert summary["final"]["train_acc"] == row["train_acc"]
        assert options["hidden"] == [int(row["hidden"])] and options["seed"] == row["seed"]
        assert run.status() == "finished"
        assert len(run.metrics()) == row["epochs_run"]
        assert not (path / row["run"] / "loss.png").exists()  # only with --plots
    # the leaderboard equals a recomputation from trials.csv
    board = pd.read_csv(path / "leaderboard.csv", dtype={"hidden": str})
    for _, row in board.iterrows():
        group = trials[trials["hidden"] == row["hidden"]]
        assert row["trials"] == 3 and row["metric"] == "train_acc"  # XOR: no validation rows
        assert row["mean"] == pytest.approx(group["train_acc"].mean())
        assert row["std"] == pytest.approx(group["train_acc"].std(ddof=1))
        assert row["solved"] == pytest.approx((group["train_acc"] == 1.0).mean())
    assert list(board["mean"]) == sorted(board["mean"], reverse=True)
    summary = json.loads((path / "summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["trials"] == {"total": 6, "done": 6, "finished": 6}
    assert summary["best"]["params"] == {"hidden": board.iloc[0]["hidden"]}
    info = json.loads((path / "sweep.json").read_text())
    assert info["spec"]["grid"] == {"hidden": [[2], [8]]} and info["spec"]["seeds"] == 3
    assert info["dataset"]["sha256"] and info["search"] == "grid"
    assert (path / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert "rank" in r.out and "best: hidden=" in r.out and path.name in r.out


def test_a_trial_has_the_weights_of_mlpcli_train_with_its_seed(cli, runs_dir):
    assert cli("sweep", "iris", "--grid", "lr=0.001|0.003", "--seeds", "2", "--epochs", "40",
               "--workers", "1", "--quiet").code == 0
    assert cli("train", "iris", "--lr", "0.003", "--seed", "1", "--epochs", "40", "--quiet",
               "--name", "single").code == 0
    (single,) = [p for p in runs_dir.iterdir() if p.name.endswith("single")]
    trial = sweep_dir(runs_dir) / "c1-s1"
    assert same_weights(trial, single)
    assert (trial / "predictions.csv").read_text() == (single / "predictions.csv").read_text()
    assert Run(trial).metrics()["val_loss"].tolist() == Run(single).metrics()["val_loss"].tolist()


def test_a_diverging_trial_leaves_the_sweep_finished(cli, runs_dir):
    r = cli("sweep", "xor", "--grid", "lr=0.01|1e9", "--epochs", "50", "--workers", "1")
    assert r.code == 0, r.err
    path = sweep_dir(runs_dir)
    trials = pd.read_csv(path / "trials.csv")
    assert list(trials["status"]) == ["finished", "diverged"]
    assert Run(path / "c1-s0").summary()["error"].startswith("training diverged")
    summary = json.loads((path / "summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["trials"]["diverged"] == 1 and "1 diverged" in summary["note"]
    board = pd.read_csv(path / "leaderboard.csv")
    diverged = board[board["lr"] == 1e9].iloc[0]
    assert diverged["trials"] == 1 and diverged["solved"] == 0 and math.isnan(diverged["mean"])
    assert board.iloc[0]["lr"] == 0.01  # the configuration without a mean ranks last


def test_folds_hold_out_each_fold_once(cli, runs_dir):
    r = cli("sweep", "iris", "--folds", "5", "--epochs", "20", "--workers", "1", "--plots")
    assert r.code == 0, r.err
    path = sweep_dir(runs_dir)
    trials = pd.read_csv(path / "trials.csv")
    assert list(trials["fold"]) == [0, 1, 2, 3, 4] and trials["val_acc"].notna().all()
    held_out = []
    for i in range(5):
        run = Run(path / f"c0-s0-f{i}")
        config = run.config()
        assert config["fold"] == {"index": i, "folds": 5}
        assert config["dataset"]["train_rows"] + config["dataset"]["val_rows"] == 150
        held_out += pd.read_csv(run.path / "predictions.csv")["row"].tolist()
        assert (run.path / "loss.png").read_bytes()[:4] == b"\x89PNG"  # --plots
    assert sorted(held_out) == list(range(150))  # every row validated exactly once
    assert "val_acc" in r.out


@pytest.mark.parametrize("args, words", [
    (["nosuch.csv"], ["nosuch.csv"]),
    (["xor", "--grid", "lr=fast"], ["--grid lr", "not a number"]),
    (["xor", "--grid", "hiden=8"], ["hiden", "not a train option"]),
    (["xor", "--sample", "lr=log:0:1", "--random", "3"], ["LOW > 0"]),
    (["xor", "--grid", "nesterov=true|false"], ["--nesterov needs --momentum"]),
    (["iris", "--folds", "3", "--val-frac", "0.3"], ["--folds", "--val-frac"]),
    (["xor", "--lr", "-1"], ["--lr"]),
    (["xor", "--folds", "5"], ["--folds 5 needs at least 5 rows"]),
])
def test_bad_options_or_data_exit_2_with_one_line_and_write_nothing(cli, runs_dir, args, words):
    r = cli("sweep", *args, "--workers", "1")
    assert r.code == 2
    line = r.err.strip()
    assert "\n" not in line and all(w in line for w in words), line
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_spec_file_repeats_a_sweep_and_refit_trains_the_best(cli, runs_dir, tmp_path):
    spec = {"fixed": {"data": "iris", "epochs": 15}, "grid": {"hidden": ["4", "16"]},
            "sample": {"lr": "log:1e-3:1e-2"}, "random": 2, "refit": True}
    (tmp_path / "sweep.json").write_text(json.dumps(spec))
    r = cli("sweep", "--spec", "sweep.json", "--workers", "1", "--name", "first")
    assert r.code == 0, r.err
    first = sweep_dir(runs_dir)
    summary = json.loads((first / "summary.json").read_text())
    refit = Path(summary["refit"])
    assert refit.parent.name == "runs" and "refit: the best configuration" in r.out
    assert refit.name.endswith("first-refit")
    options = Run(refit).config()["options"]
    assert options["val_frac"] == 0.0 and options["hidden"] == [int(summary["best"]["params"]
                                                                     ["hidden"])]
    r2 = cli("sweep", "--spec", str(first / "sweep.json"), "--workers", "1", "--runs-dir",
             "again")
    assert r2.code == 0, r2.err
    second = sweep_dir(tmp_path / "again")
    a = pd.read_csv(first / "trials.csv").drop(columns="seconds")
    b = pd.read_csv(second / "trials.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 4


def test_dask_without_distributed_says_how_to_install(cli, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name.startswith("distributed"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    r = cli("sweep", "xor", "--dask", "local", "--epochs", "5")
    assert r.code == 2 and "pip install 'mlpcli[dask]'" in r.err


def test_runs_list_show_and_run_arguments_reach_sweeps_and_trials(cli, runs_dir):
    assert cli("sweep", "xor", "--grid", "hidden=2|8", "--seeds", "2", "--epochs", "300",
               "--lr", "0.05", "--workers", "1", "--quiet").code == 0
    assert cli("train", "xor", "--epochs", "5", "--quiet").code == 0
    path = sweep_dir(runs_dir)
    listed = cli("runs", "list", "--csv", "-")
    frame = pd.read_csv(io.StringIO(listed.out))
    assert list(frame["kind"]) == ["run", "sweep"]  # one row for the sweep, not its trials
    sweep_row = frame.iloc[1]
    assert sweep_row["id"] == path.name and sweep_row["trials"] == 4
    board = pd.read_csv(path / "leaderboard.csv")
    assert sweep_row["train_acc"] == pytest.approx(board.iloc[0]["mean"])
    assert cli("runs", "show", "latest").out.count("c0-s") == 0  # latest is the run
    trials = pd.read_csv(io.StringIO(
        cli("runs", "list", path.name, "--csv", "-").out))
    assert list(trials["id"]) == ["c0-s0", "c0-s1", "c1-s0", "c1-s1"]
    shown = cli("runs", "show", path.name[:22])
    assert shown.code == 0 and "Leaderboard" in shown.out and "hidden  2 | 8" in shown.out
    summary = json.loads((path / "summary.json").read_text())
    best = summary["best_trial"]  # a trial of the best configuration
    assert Run(path / best).config()["options"]["hidden"] == [int(board.iloc[0]["hidden"])]
    r = cli("evaluate", f"{path.name}:best", "xor", "--json")
    assert r.code == 0 and json.loads(r.out)["accuracy"] == pytest.approx(
        Run(path / best).summary()["final"]["train_acc"])
    assert cli("predict", f"{path.name}/c0-s1", "xor").code == 0
    assert cli("runs", "show", f"{path.name}/c1-s0").code == 0
    missing = cli("predict", f"{path.name}/c9-s9", "xor")
    assert missing.code == 2 and "no trial 'c9-s9'" in missing.err

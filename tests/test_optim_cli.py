"""The optimizer options from the command line: config.json, the header line, metrics.csv,
summary.json, --sample-weight / --class-weight on a CSV, gradcheck with weights, errors."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_dirs


def imbalanced_csv(path, n_major=60, n_minor=8, seed=0):
    """Two features, a weight column w (before the target) and a 60 : 8 target."""
    rng = np.random.default_rng(seed)
    labels = np.array(["major"] * n_major + ["minor"] * n_minor)
    X = rng.standard_normal((len(labels), 2)) + (labels == "minor")[:, None] * 1.5
    frame = pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "w": rng.uniform(0.5, 2, len(labels)),
                          "label": labels})
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("args, shown, options", [
    (["--optimizer", "adam"], "optimizer adam (lr 0.01, betas 0.9,0.999, eps 1e-08",
     {"optimizer": "adam", "lr": 0.01, "weight_decay": 0.0}),
    (["--optimizer", "adamw"], "decoupled weight decay 0.01",
     {"optimizer": "adamw", "weight_decay": 0.01}),
    (["--optimizer", "adagrad"], "optimizer adagrad (lr 0.1", {"lr": 0.1}),
    (["--optimizer", "lbfgs"], "optimizer lbfgs (ftol 2.22045e-09, gtol 1e-05, maxcor 10",
     {"optimizer": "lbfgs", "lr": None}),
    (["--schedule", "plateau", "--warmup", "3"], "schedule plateau (factor 0.1, patience 10",
     {"schedule": "plateau", "warmup": 3}),
    (["--clip-norm", "1"], "clip-norm 1", {"clip_norm": 1.0}),
])
def test_settings_reach_config_json_and_the_header(cli, runs_dir, args, shown, options):
    r = cli("train", "iris", "--epochs", "5", *args)
    assert r.code == 0, r.err
    assert shown in r.out
    (run,) = run_dirs(runs_dir)
    recorded = json.loads((run / "config.json").read_text())["options"]
    assert {k: recorded[k] for k in options} == options
    metrics = pd.read_csv(run / "metrics.csv")
    assert len(metrics) == 5 and metrics["val_bacc"].notna().all()
    assert metrics["grad_norm"].notna().all() == ("--clip-norm" in args)
    summary = json.loads((run / "summary.json").read_text())
    assert 0 <= summary["final"]["val_bacc"] <= 1


def test_class_weight_and_sample_weight_on_an_imbalanced_csv(cli, runs_dir, tmp_path):
    data = imbalanced_csv(tmp_path / "imbalanced.csv")
    r = cli("train", data, "--class-weight", "balanced", "--sample-weight", "w", "--epochs", "3")
    assert r.code == 0, r.err
    assert "class weight balanced  ·  sample weight w" in r.out
    (run,) = run_dirs(runs_dir)
    model = json.loads((run / "model.json").read_text())
    assert model["features"] == ["x1", "x2"]  # the weight column is not a feature


@pytest.mark.parametrize("args, message", [
    (["--class-weight", "huge=2"], "names class 'huge'"),
    (["--class-weight", "minor"], "--class-weight must be balanced or class=weight"),
    (["--sample-weight", "nope"], "no column 'nope'"),
    (["--sample-weight", "label"], "is the target"),
    (["--optimizer", "adam", "--momentum", "0.9"], "--momentum applies to --optimizer sgd or "
                                                   "rmsprop"),
    (["--optimizer", "lbfgs", "--lr", "0.1"], "--lr does not apply to --optimizer lbfgs"),
    (["--betas", "0.9"], "--betas"),
])
def test_bad_options_are_one_line_errors_and_leave_no_run(cli, runs_dir, tmp_path, args,
                                                          message):
    data = imbalanced_csv(tmp_path / "imbalanced.csv")
    r = cli("train", data, *args)
    assert r.code == 2
    assert message in r.err and "Traceback" not in r.err
    assert run_dirs(runs_dir) == []


def test_negative_sample_weight_names_the_line(cli, tmp_path):
    path = tmp_path / "neg.csv"
    path.write_text("x,w,y\n1,1,a\n2,-1,b\n3,1,a\n4,1,b\n")
    r = cli("train", path, "--sample-weight", "w")
    assert r.code == 2 and "negative weight (-1) at line 3" in r.err


def test_gradcheck_passes_with_class_and_sample_weights(cli, tmp_path):
    data = imbalanced_csv(tmp_path / "imbalanced.csv")
    for loss in ("mse", "ce"):
        r = cli("gradcheck", data, "--class-weight", "minor=7", "--sample-weight", "w",
                "--loss", loss, "--samples", "68", "--json")
        assert r.code == 0, r.out + r.err
        assert json.loads(r.out)["passed"] is True
    r = cli("gradcheck", "--class-weight", "balanced")
    assert r.code == 2 and "need DATA" in r.err


def test_lbfgs_run_resumes_from_its_weights(cli, runs_dir):
    r = cli("train", "iris", "--optimizer", "lbfgs", "--epochs", "4", "--patience", "0")
    assert r.code == 0, r.err
    r = cli("train", "--resume", "latest", "--epochs", "8")
    assert r.code == 0, r.err
    (run,) = run_dirs(runs_dir)
    metrics = pd.read_csv(run / "metrics.csv")
    assert list(metrics["epoch"]) == list(range(1, 9)) and metrics["lr"].isna().all()


def test_sample_weights_follow_their_rows_through_the_split(tmp_path):
    from mlpcli.data import load_dataset

    path = imbalanced_csv(tmp_path / "imbalanced.csv")
    column = pd.read_csv(path)["w"].to_numpy()
    data = load_dataset(path, sample_weight="w", rng=np.random.default_rng(0), val_frac=0.25)
    assert data.preprocessor.features == ["x1", "x2"]
    np.testing.assert_array_equal(data.w_train, column[data.train_rows])
    np.testing.assert_array_equal(data.w_val, column[data.val_rows])
    assert load_dataset(path, rng=np.random.default_rng(0)).w_train is None

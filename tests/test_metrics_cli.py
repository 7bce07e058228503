"""Where the scores appear: evaluate's tables and --json, summary.json, runs show."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_dirs


def test_evaluate_prints_the_report_and_its_json_keys_are_the_class_labels(cli, runs_dir,
                                                                           tmp_path):
    assert cli("train", "iris", "--epochs", "30", "--quiet").code == 0
    r = cli("evaluate", "latest", "iris", "--split", "all", "--json")  # every row of the file
    assert r.code == 0, r.err
    report = json.loads(r.out)["report"]
    assert list(report["classes"]) == ["setosa", "versicolor", "virginica"]
    assert [s["support"] for s in report["classes"].values()] == [50, 50, 50]
    assert np.sum(report["confusion"]) == 150
    assert report["accuracy"] == pytest.approx(json.loads(r.out)["accuracy"])
    human = cli("evaluate", "latest", "iris")
    assert human.code == 0
    for words in ("precision", "recall", "F1", "support", "balanced accuracy", "macro avg",
                  "weighted avg", "Confusion matrix", "versicolor"):
        assert words in human.out


def test_summary_holds_the_validation_report_and_runs_show_prints_the_matrix(cli, runs_dir):
    assert cli("train", "moons", "--epochs", "20", "--quiet").code == 0
    (run,) = run_dirs(runs_dir)
    summary = json.loads((run / "summary.json").read_text())
    report = summary["final"]["report"]
    predictions = pd.read_csv(run / "predictions.csv")  # the validation rows
    assert report["split"] == "val"
    assert np.sum(report["confusion"]) == len(predictions)
    correct = (predictions["y"] == predictions["pred_y"]).mean()
    assert report["accuracy"] == pytest.approx(correct)
    assert report["accuracy"] == pytest.approx(summary["final"]["val_acc"])
    assert 0 <= report["roc"]["auc"] <= 1 and report["roc"]["positive"] == "1"
    shown = cli("runs", "show", "latest")
    assert shown.code == 0 and "Confusion matrix" in shown.out


def test_regression_summary_has_r2_rmse_mae_per_target(cli, runs_dir):
    assert cli("train", "sine", "--epochs", "10", "--quiet").code == 0
    (run,) = run_dirs(runs_dir)
    final = json.loads((run / "summary.json").read_text())["final"]
    assert final["report"]["targets"]["y"]["rmse"] == pytest.approx(final["val_rmse"])
    assert set(final["report"]["targets"]["y"]) == {"r2", "rmse", "mae"}
    assert "R²" in cli("runs", "show", "latest").out

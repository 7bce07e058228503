"""Training runs as a user sees them: train, runs list/show/compare, predict, evaluate, --config."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_dirs

from mlpcli import runs

METRICS = ["epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds", "grad_norm",
           "val_bacc", "train_r2", "val_r2"]


def train(cli, *args):
    r = cli("train", *args, "--quiet")
    assert r.code == 0, r.err
    return r


def test_run_directory_holds_the_documented_files_and_keys(cli, runs_dir):
    train(cli, "xor", "--epochs", "30", "--hidden", "4")
    (run,) = run_dirs(runs_dir)
    config = json.loads((run / "config.json").read_text())
    assert config["options"]["hidden"] == [4] and config["options"]["epochs"] == 30
    assert config["options"]["lr"] == 0.001 and config["options"]["val_frac"] == 0.0
    assert config["dataset"]["rows"] == 4 and len(config["dataset"]["sha256"]) == 64
    assert set(config["versions"]) == {"mlpcli", "numpy", "python"}
    model = json.loads((run / "model.json").read_text())
    assert model["layers"] == [2, 4, 1] and model["activation"] == "relu"
    assert model["features"] == ["x1", "x2"] and model["targets"] == ["y"]
    assert model["classes"] == [0, 1] and model["task"] == "classification"
    with np.load(run / "weights.npz", allow_pickle=False) as w:
        assert {k: w[k].shape for k in w.files} == {"W1": (4, 2), "b1": (4,), "W2": (1, 4),
                                                    "b2": (1,)}
    metrics = pd.read_csv(run / "metrics.csv")
    assert list(metrics.columns) == METRICS
    assert list(metrics["epoch"]) == list(range(1, 31))
    assert metrics["val_loss"].isna().all() and metrics["train_acc"].notna().all()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_run"] == 30
    assert summary["argv"] == ["mlpcli", "train", "xor", "--epochs", "30", "--hidden", "4",
                               "--quiet"]
    predictions = pd.read_csv(run / "predictions.csv")
    assert list(predictions.columns) == ["row", "y", "pred_y", "score_0", "score_1"]
    assert list(predictions["row"]) == [0, 1, 2, 3]
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_logged_train_loss_is_the_per_example_mean_of_half_squared_error(cli, runs_dir):
    """With one full batch, epoch e's logged loss is the loss of the weights before its update."""
    train(cli, "xor", "--epochs", "3", "--hidden", "3", "--patience", "0", "--no-shuffle")
    (run,) = run_dirs(runs_dir)
    metrics = pd.read_csv(run / "metrics.csv")
    # recompute epoch 1's loss from the initial weights, independently
    from mlpcli.config import Config
    from mlpcli.experiment import build_model

    rng = np.random.default_rng(0)
    cfg = Config(data="xor", hidden=(3,))
    from mlpcli.experiment import load_data

    data = load_data(cfg, rng)
    model = build_model(cfg, data.preprocessor, rng)
    yhat = model.forward(data.X_train)
    expected = np.mean(0.5 * ((yhat - data.Y_train) ** 2).sum(axis=1))
    assert metrics["train_loss"][0] == pytest.approx(expected, rel=1e-12)


def test_runs_list_csv_parses_with_pandas(cli, runs_dir):
    for h in (2, 4, 8):
        train(cli, "xor", "--hidden", str(h), "--epochs", "50", "--name", f"h{h}")
    r = cli("runs", "list", "--csv", "-")
    assert r.code == 0
    table = pd.read_csv(io.StringIO(r.out))
    for column in ("id", "name", "dataset", "status", "epochs", "hidden", "lr", "batch_size",
                   "seed", "train_loss", "val_loss", "train_acc", "val_acc", "seconds"):
        assert column in table.columns
    assert list(table["name"]) == ["h8", "h4", "h2"]  # newest first
    assert list(table["status"]) == ["finished"] * 3
    best = cli("runs", "list", "--sort", "train_loss", "--csv", "-")
    ordered = pd.read_csv(io.StringIO(best.out))
    assert list(ordered["train_loss"]) == sorted(table["train_loss"])
    human = cli("runs", "list")
    assert human.code == 0 and "h4" in human.out and "finished" in human.out


def test_run_resolution_by_prefix_latest_path_and_errors(cli, runs_dir, tmp_path):
    train(cli, "xor", "--epochs", "5", "--name", "first")
    train(cli, "xor", "--epochs", "5", "--name", "second")
    first, second = run_dirs(runs_dir)
    assert runs.resolve_run("latest", runs_dir) == second
    assert runs.resolve_run(first.name[:-2], runs_dir) == first
    assert runs.resolve_run(str(first), runs_dir) == first
    assert runs.resolve_run("first", runs_dir) == first  # by --name
    train(cli, "xor", "--epochs", "5", "--name", "first")
    assert runs.resolve_run("first", runs_dir) == run_dirs(runs_dir)[-1]  # the newest of the name
    r = cli("runs", "show", "2026-no-such")
    assert r.code == 2 and "no run" in r.err and second.name in r.err
    r = cli("runs", "show", first.name[:4])
    assert r.code == 2 and "matches 3 runs" in r.err


def test_predict_reproduces_the_recorded_predictions(cli, runs_dir, tmp_path):
    train(cli, "iris", "--epochs", "40")
    (run,) = run_dirs(runs_dir)
    recorded = pd.read_csv(run / "predictions.csv")
    iris = pd.read_csv(runs.Run(run).config()["dataset"]["path"])
    rows = iris.iloc[recorded["row"]].drop(columns=["species"])  # target absent
    rows = rows[list(reversed(rows.columns))]  # features matched by name, any order
    rows.to_csv(tmp_path / "val.csv", index=False)
    r = cli("predict", "latest", tmp_path / "val.csv")
    assert r.code == 0, r.err
    predicted = pd.read_csv(io.StringIO(r.out))
    assert list(predicted.columns) == ["row", "pred_species", "score_setosa",
                                       "score_versicolor", "score_virginica"]
    assert list(predicted["row"]) == list(range(len(rows)))  # the input's rows (no target)
    assert list(predicted["pred_species"]) == list(recorded["pred_species"])
    np.testing.assert_allclose(predicted.iloc[:, 2:], recorded.iloc[:, 3:], rtol=1e-12)
    r = cli("predict", "latest", tmp_path / "val.csv", "--out", tmp_path / "p.csv")
    assert r.code == 0 and pd.read_csv(tmp_path / "p.csv").shape == predicted.shape
    rows.drop(columns=["petal_width"]).to_csv(tmp_path / "missing.csv", index=False)
    r = cli("predict", "latest", tmp_path / "missing.csv")
    assert r.code == 2 and "petal_width" in r.err


def test_evaluate_agrees_with_the_logged_metrics(cli, runs_dir, tmp_path):
    train(cli, "xor", "--epochs", "200", "--patience", "0")
    (run,) = run_dirs(runs_dir)
    summary = json.loads((run / "summary.json").read_text())
    r = cli("evaluate", "latest", "xor", "--json")
    assert r.code == 0, r.err
    scores = json.loads(r.out)
    assert scores["rows"] == 4
    assert scores["loss"] == pytest.approx(summary["final"]["train_loss"], rel=1e-12)
    assert scores["accuracy"] == summary["final"]["train_acc"]
    human = cli("evaluate", "latest", "xor")
    assert human.code == 0 and "accuracy" in human.out


def test_evaluate_regression_reports_r2_and_rmse_in_original_units(cli, runs_dir, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(200, 1))
    frame = pd.DataFrame({"x": x[:, 0], "price": 500 + 100 * x[:, 0]})
    frame.to_csv(tmp_path / "price.csv", index=False)
    train(cli, tmp_path / "price.csv", "--epochs", "300", "--val-frac", "0")
    scores = json.loads(cli("evaluate", "latest", tmp_path / "price.csv", "--json").out)
    assert set(scores) == {"loss", "r2", "rmse", "rows", "split", "source", "report"}
    run = runs.Run(runs.resolve_run("latest", runs_dir))
    model, pre = run.model()
    pred = pre.decode(model.forward(pre.transform(frame)))["pred_price"].to_numpy()
    err = pred - frame["price"].to_numpy()
    assert scores["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-9)
    assert scores["loss"] == pytest.approx(np.mean(0.5 * err**2), rel=1e-9)
    assert scores["r2"] > 0.99
    assert scores["report"]["targets"]["price"]["rmse"] == scores["rmse"]
    assert scores["report"]["targets"]["price"]["mae"] == pytest.approx(np.mean(np.abs(err)))


def test_train_config_reproduces_a_run_bit_for_bit(cli, runs_dir):
    train(cli, "moons", "--epochs", "15", "--hidden", "8", "--seed", "5", "--momentum", "0.5")
    (first,) = run_dirs(runs_dir)
    train(cli, "--config", first / "config.json")
    second = [p for p in run_dirs(runs_dir) if p != first][0]
    with np.load(first / "weights.npz") as a, np.load(second / "weights.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    train(cli, "--config", "latest", "--seed", "6")  # a run works too; options override
    third = run_dirs(runs_dir)[-1]
    assert cli("train", "--config", "no-such-run").code == 2
    assert json.loads((third / "config.json").read_text())["options"]["seed"] == 6
    with np.load(first / "weights.npz") as a, np.load(third / "weights.npz") as c:
        assert not np.array_equal(a["W1"], c["W1"])


def test_runs_show_and_compare(cli, runs_dir, tmp_path):
    train(cli, "xor", "--hidden", "2", "--epochs", "30")
    train(cli, "xor", "--hidden", "8", "--epochs", "30")
    a, b = run_dirs(runs_dir)
    r = cli("runs", "show", "latest")
    assert r.code == 0
    for words in ("finished", "Options", "Metrics", "weights.npz", "train loss", "epoch 1"):
        assert words in r.out
    r = cli("runs", "compare", a.name, b.name, "--plot", tmp_path / "cmp.png")
    assert r.code == 0
    hidden_row = next(line for line in r.out.splitlines() if line.startswith("│ hidden"))
    assert "2" in hidden_row and "8" in hidden_row
    assert "seed" not in r.out.split("status")[0]  # only options that differ
    assert (tmp_path / "cmp.png").read_bytes()[:4] == b"\x89PNG"


def test_damaged_runs_are_listed_not_raised(cli, runs_dir):
    train(cli, "xor", "--epochs", "5", "--name", "good")
    train(cli, "xor", "--epochs", "5", "--name", "noweights")
    train(cli, "xor", "--epochs", "5", "--name", "garbage")
    good, noweights, garbage = run_dirs(runs_dir)
    (noweights / "weights.npz").unlink()
    (garbage / "summary.json").write_text("{not json")
    r = cli("runs", "list", "--csv", "-")
    assert r.code == 0
    table = pd.read_csv(io.StringIO(r.out)).set_index("name")
    assert table.loc["good", "status"] == "finished"
    assert table.loc["noweights", "status"] == "damaged"
    assert table.loc["garbage", "status"] == "damaged"
    assert "summary.json" in table.loc["garbage", "error"]
    r = cli("predict", noweights.name, "xor")
    assert r.code == 2 and "weights.npz" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("columns", [80, 110, 200])
def test_runs_list_fits_the_terminal_without_cutting_cells(cli, runs_dir, monkeypatch, columns):
    train(cli, "iris", "--epochs", "5")
    monkeypatch.setenv("COLUMNS", str(columns))
    r = cli("runs", "list")
    lines = r.out.splitlines()
    assert r.code == 0 and max(len(line) for line in lines) <= columns
    assert "…" not in r.out  # no squeezed cells
    row = next(line for line in lines if "iris" in line)
    assert "finished" in row and "%" in row  # id, status and accuracy always stay
    header = r.out.split("─")[0]  # (the line under the table names what was left out)
    assert ("seed" in header) == (columns >= 200)  # the least useful column goes first

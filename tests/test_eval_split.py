"""Honest evaluation: --test-frac, --val-file/--test-file, evaluate --split, R² per epoch."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_dirs

from mlpcli import runs
from mlpcli.data import bundled_dir, split_rows, train_val_test


def _only_run(runs_dir):
    (path,) = run_dirs(runs_dir)
    return path


def _weights_sha(path) -> str:
    w = np.load(path / "weights.npz")
    return hashlib.sha256(b"".join(w[k].tobytes() for k in sorted(w.files))).hexdigest()


# sha256 of the weights main (703480a) trains with `train DATA --epochs 30 --seed 3`
MAIN_WEIGHTS = {
    "iris": "443356dfad95554e9bc899179d0497ded0b657674aac90b4ac02ecc729546181",
    "sine": "518e8d9daa2d6715d69072caa3b6590fdc882d3d1d345a169382fd85350ad57a",
}


@pytest.mark.parametrize("data", sorted(MAIN_WEIGHTS))
def test_default_test_frac_trains_the_same_weights_as_before(cli, runs_dir, data):
    assert cli("train", data, "--epochs", 30, "--seed", 3, "-q").code == 0
    assert _weights_sha(_only_run(runs_dir)) == MAIN_WEIGHTS[data]


def test_without_a_test_split_the_generator_is_used_as_before():
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    train, val, test = train_val_test(100, 0.2, 0.0, a)
    old_train, old_val = split_rows(100, 0.2, b)
    assert np.array_equal(train, old_train) and np.array_equal(val, old_val) and len(test) == 0
    assert a.bit_generator.state == b.bit_generator.state


def test_test_split_is_stratified_disjoint_and_seeded():
    labels = np.eye(3)[np.repeat([0, 1, 2], [60, 30, 10])]
    train, val, test = train_val_test(100, 0.25, 0.2, np.random.default_rng(1), labels)
    classes = labels.argmax(axis=1)
    assert np.bincount(classes[test]).tolist() == [12, 6, 2]  # 20% of each class
    assert len(test) == 20 and len(val) == 20 and len(train) == 60  # val: ceil(0.25 · 80)
    assert sorted([*train, *val, *test]) == list(range(100))
    again = train_val_test(100, 0.25, 0.2, np.random.default_rng(1), labels)
    assert all(np.array_equal(x, y) for x, y in zip((train, val, test), again))


def test_test_rows_are_scored_once_and_match_an_independent_computation(cli, runs_dir):
    assert cli("train", "iris", "--test-frac", 0.2, "--epochs", 40, "-q").code == 0
    path = _only_run(runs_dir)
    summary = json.loads((path / "summary.json").read_text())
    config = json.loads((path / "config.json").read_text())
    test = summary["test"]
    assert test["rows"] == 30 and config["dataset"]["test_rows"] == 30
    assert config["dataset"]["train_rows"] + config["dataset"]["val_rows"] == 120
    # the test rows again: the split drawn from the seed, as evaluate draws it
    result = cli("evaluate", path.name, "iris", "--json")
    scores = json.loads(result.out)
    assert scores["split"] == "test" and scores["rows"] == 30
    assert scores["accuracy"] == pytest.approx(test["acc"], abs=1e-12)
    assert scores["loss"] == pytest.approx(test["loss"], rel=1e-12)
    # independently: forward the test rows through weights.npz by hand
    frame = pd.read_csv(bundled_dir() / "iris.csv")
    labels = frame["species"].astype(str).to_numpy()
    assert not set(pd.read_csv(path / "predictions.csv")["row"]) & set(_test_rows(path))
    model, pre = runs.Run(path).model()
    X = pre.transform(frame.iloc[_test_rows(path)])
    predicted = np.asarray(pre.classes)[model.forward(X).argmax(axis=1)]
    assert np.mean(predicted == labels[_test_rows(path)]) == pytest.approx(test["acc"])


def _test_rows(path):
    from mlpcli.config import Config
    from mlpcli.data import dataset_for

    cfg = Config.from_dict(json.loads((path / "config.json").read_text())["options"])
    return dataset_for(cfg, np.random.default_rng(cfg.seed)).test_rows


def test_final_table_and_runs_list_show_the_test_scores(cli, runs_dir):
    result = cli("train", "iris", "--test-frac", 0.2, "--epochs", 20)
    assert "30 test rows, scored once" in result.out and "test_acc" in result.out
    listed = cli("runs", "list", "--csv", "-").out
    frame = pd.read_csv(__import__("io").StringIO(listed))
    summary = json.loads((_only_run(runs_dir) / "summary.json").read_text())
    assert frame["test_acc"][0] == pytest.approx(summary["test"]["acc"])
    shown = cli("runs", "show", "latest").out
    assert f"test_acc {100 * summary['test']['acc']:.1f}%" in shown and "30 test rows" in shown


def test_val_and_test_files_are_checked_and_recorded(cli, runs_dir, tmp_path):
    for name, seed in (("tr", 1), ("va", 2), ("te", 3)):
        assert cli("datasets", "make", "moons", "--n", 120, "--seed", seed,
                   "--out", f"{name}.csv").code == 0
    result = cli("train", "tr.csv", "--val-file", "va.csv", "--test-file", "te.csv",
                 "--epochs", 20, "-q")
    assert result.code == 0, result.err
    path = _only_run(runs_dir)
    config = json.loads((path / "config.json").read_text())["dataset"]
    assert (config["train_rows"], config["val_rows"], config["test_rows"]) == (120, 120, 120)
    assert config["test_file"]["sha256"] == hashlib.sha256(
        (tmp_path / "te.csv").read_bytes()).hexdigest()
    summary = json.loads((path / "summary.json").read_text())
    on_test = json.loads(cli("evaluate", path.name, "te.csv", "--json").out)
    assert (on_test["source"], on_test["split"]) == ("test file", "test")
    assert on_test["accuracy"] == pytest.approx(summary["test"]["acc"])
    # every row of the training file was trained on; the held-out rows are in the other files
    assert json.loads(cli("evaluate", path.name, "tr.csv", "--json").out)["split"] == "train"
    err = cli("evaluate", path.name, "tr.csv", "--split", "test")
    assert err.code == 2 and "te.csv" in err.err


def test_held_out_files_and_fractions_are_refused_clearly(cli, runs_dir, tmp_path):
    cli("datasets", "make", "moons", "--n", 60, "--out", "m.csv")
    (tmp_path / "bad.csv").write_text("x1,x2\n1,2\n")
    (tmp_path / "alien.csv").write_text("x1,x2,y\n1,2,7\n")
    cases = [
        (["--test-file", "bad.csv"], "no target column 'y'"),
        (["--val-file", "alien.csv"], "not one of the training classes"),
        (["--test-file", "m.csv", "--test-frac", "0.1"], "give one"),
        (["--val-file", "m.csv", "--val-frac", "0.1"], "give one"),
        (["--test-frac", "0.9", "--val-frac", "0.2"], "leave no training rows"),
        (["--test-frac", "1"], "--test-frac must be in [0, 1)"),
    ]
    for options, words in cases:
        result = cli("train", "m.csv", *options, "-q")
        assert result.code == 2 and words in result.err, (options, result.err)
        assert "Traceback" not in result.err
    assert run_dirs(runs_dir) == []


def test_evaluate_says_which_rows_it_scored(cli, runs_dir, tmp_path):
    cli("train", "moons", "--epochs", 10, "-q")  # 1000 rows: 200 validation rows
    default = cli("evaluate", "latest", "moons")
    assert "200 validation rows" in default.out and "optimistic" in default.out
    scores = {s: json.loads(cli("evaluate", "latest", "moons", "--split", s, "--json").out)
              for s in ("train", "val", "all")}
    assert [scores[s]["rows"] for s in ("train", "val", "all")] == [800, 200, 1000]
    # the whole file is the row-weighted mix of its two splits
    mix = (800 * scores["train"]["accuracy"] + 200 * scores["val"]["accuracy"]) / 1000
    assert scores["all"]["accuracy"] == pytest.approx(mix)
    summary = json.loads((_only_run(runs_dir) / "summary.json").read_text())
    assert scores["val"]["loss"] == pytest.approx(summary["final"]["val_loss"], rel=1e-12)
    assert "training rows included" in cli("evaluate", "latest", "moons", "--split", "all").out
    # another file: all of it, and --split is refused
    frame = pd.read_csv(bundled_dir() / "moons.csv").head(50)
    frame.to_csv(tmp_path / "part.csv", index=False)
    other = cli("evaluate", "latest", "part.csv")
    assert "all 50 rows (not the run's training file)" in other.out
    refused = cli("evaluate", "latest", "part.csv", "--split", "val")
    assert refused.code == 2 and "training file" in refused.err
    assert cli("evaluate", "latest", "moons", "--split", "test").code == 2


def test_regression_r2_per_epoch_in_metrics_csv(cli, runs_dir):
    assert cli("train", "sine", "--epochs", 15, "--patience", 0, "-q").code == 0
    path = _only_run(runs_dir)
    metrics = runs.Run(path).metrics()
    summary = json.loads((path / "summary.json").read_text())
    last = metrics.iloc[-1]
    # patience 0: the saved weights are the last epoch's, so its val R² is the final one
    assert last["val_r2"] == pytest.approx(summary["final"]["val_r2"], rel=1e-9)
    assert metrics["train_r2"].notna().all() and metrics["val_r2"].notna().all()
    header = (path / "metrics.csv").read_text().splitlines()[0]
    assert header.endswith(",train_r2,val_r2")


def test_regression_train_r2_matches_its_definition():
    from mlpcli.config import Config
    from mlpcli.experiment import prepare

    trainer, data = prepare(Config(data="sine", epochs=3, val_frac=0.0, seed=1))
    trainer.run()
    Y, w = data.Y_train, data.preprocessor.output_weights
    baseline = 0.5 * np.sum(w * (Y - Y.mean(axis=0)) ** 2) / len(Y)
    record = trainer.history[-1]
    assert record.train_r2 == pytest.approx(1 - record.train_loss / baseline, rel=1e-12)
    assert record.val_r2 is None


def test_classification_has_no_r2_and_old_metrics_files_still_read(cli, runs_dir):
    cli("train", "xor", "--epochs", 5, "-q")
    path = _only_run(runs_dir)
    metrics_file = path / "metrics.csv"
    lines = metrics_file.read_text().splitlines()
    assert lines[1].endswith(",,")  # no R² for classification
    old = [",".join(line.split(",")[:7]) for line in lines]  # as main wrote it
    metrics_file.write_text("\n".join(old) + "\n")
    frame = runs.Run(path).metrics()
    assert list(frame.columns) == runs.METRICS_COLUMNS and frame["val_r2"].isna().all()


@pytest.mark.parametrize("options", [["--test-frac", "0.2"], ["--grid", "test_frac=0.1|0.2"],
                                     ["--test-file", "xor.csv"], ["--animate"]])
def test_sweep_refuses_held_out_test_options_instead_of_ignoring_them(cli, runs_dir, options):
    cli("datasets", "make", "xor", "--out", "xor.csv")
    result = cli("sweep", "xor", "--grid", "hidden=2|4", *options)
    assert result.code == 2 and "is for `mlpcli train`" in result.err
    assert not runs_dir.exists() or run_dirs(runs_dir) == []

"""Training options through the command line: tasks, losses, depth, dtype, stopping."""

import json

import numpy as np
import pandas as pd
from conftest import run_dirs


def only_run(runs_dir):
    (run,) = run_dirs(runs_dir)
    return run


def test_divergence_exits_1_with_status_and_advice(cli, runs_dir):
    r = cli("train", "sine", "--lr", "5", "--quiet")
    assert r.code == 1
    assert "diverged" in r.err and "--lr" in r.err and "epoch" in r.err
    run = only_run(runs_dir)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged"
    with np.load(run / "weights.npz", allow_pickle=False) as w:
        assert all(np.isfinite(w[k]).all() for k in w.files)


def test_two_hidden_layers_save_three_weight_matrices(cli, runs_dir):
    assert cli("train", "moons", "-H", "8,4", "-e", "5", "-q").code == 0
    with np.load(only_run(runs_dir) / "weights.npz") as w:
        shapes = {k: w[k].shape for k in w.files}
    assert shapes == {"W1": (8, 2), "W2": (4, 8), "W3": (1, 4), "b1": (8,), "b2": (4,),
                      "b3": (1,)}


def test_float32_trains_and_saves_float32(cli, runs_dir):
    assert cli("train", "iris", "--dtype", "float32", "-e", "5", "-q").code == 0
    with np.load(only_run(runs_dir) / "weights.npz") as w:
        assert {w[k].dtype for k in w.files} == {np.dtype(np.float32)}


def test_cross_entropy_on_iris_learns_and_writes_softmax_probabilities(cli, runs_dir):
    r = cli("train", "iris", "--loss", "ce", "--quiet")
    assert r.code == 0, r.err
    run = only_run(runs_dir)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["final"]["val_acc"] >= 0.9
    predictions = pd.read_csv(run / "predictions.csv")
    probs = predictions[["prob_setosa", "prob_versicolor", "prob_virginica"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    assert (probs > 0).all()  # softmax, not clipped outputs
    model = json.loads((run / "model.json").read_text())
    assert model["layers"][-1] == 3 and model["loss"] == "ce"


def test_task_auto_and_override(cli, runs_dir, tmp_path):
    frame = pd.DataFrame({"x": np.arange(60.0), "y": np.arange(60) % 3})
    frame.to_csv(tmp_path / "small_ints.csv", index=False)
    r = cli("train", tmp_path / "small_ints.csv", "-e", "2")
    assert r.code == 0 and "classification (3 classes: 0, 1, 2)" in r.out
    r = cli("train", tmp_path / "small_ints.csv", "-e", "2", "--task", "regression")
    assert r.code == 0 and "regression" in r.out
    metrics = pd.read_csv(run_dirs(runs_dir)[-1] / "metrics.csv")
    assert metrics["train_acc"].isna().all()


def test_patience_zero_runs_exactly_the_epochs(cli, runs_dir):
    assert cli("train", "xor", "-e", "300", "--patience", "0", "-q").code == 0
    summary = json.loads((only_run(runs_dir) / "summary.json").read_text())
    assert summary["epochs_run"] == 300 and summary["stopped_early"] is False


def test_default_xor_run_solves_xor(cli, runs_dir):
    r = cli("train", "xor")
    assert r.code == 0
    run = only_run(runs_dir)
    predictions = pd.read_csv(run / "predictions.csv")
    raw = json.loads((run / "summary.json").read_text())
    assert raw["final"]["train_loss"] < 1e-3
    from mlpcli import runs

    model, pre = runs.Run(run).model()
    X = pre.transform(pd.DataFrame({"x1": [0, 0, 1, 1], "x2": [0, 1, 0, 1]}))
    assert np.abs(model.forward(X)[:, 0] - [0, 1, 1, 0]).max() < 0.1
    assert list(predictions["pred_y"]) == [0, 1, 1, 0]


def test_usage_errors_are_one_line_with_exit_2(cli, runs_dir):
    for args, words in [
        (("train", "xor", "--loss", "hinge"), "--loss"),
        (("train", "xor", "--nesterov"), "--nesterov needs --momentum"),
        (("train", "xor", "--momentum", "1.5"), "--momentum"),
        (("train",), "Usage"),
        (("train", "xor", "--resume", "latest", "--lr", "0.1"), "no runs"),
    ]:
        r = cli(*args)
        assert r.code == 2, (args, r.err)
        assert words in r.err + r.out, (args, r.err)
        assert len(r.err.strip().splitlines()) <= 1 and "Traceback" not in r.err
    assert not run_dirs(runs_dir)


def test_version_and_help(cli):
    from mlpcli import __version__

    r = cli("--version")
    assert r.code == 0 and r.out.strip() == f"mlpcli {__version__}"
    for command in (["train"], ["gradcheck"], ["predict"], ["evaluate"], ["runs", "list"],
                    ["runs", "show"], ["runs", "compare"], ["datasets", "list"],
                    ["datasets", "make"]):
        r = cli(*command, "--help")
        assert r.code == 0 and "Example: mlpcli" in r.out, command


def test_datasets_make_offers_exactly_the_generators():
    from mlpcli import options
    from mlpcli.data import generate

    assert {kind.value for kind in options.Kind} == set(generate.GENERATORS)

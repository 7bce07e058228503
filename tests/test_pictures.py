"""The pictures of a run: they show the model itself, have their documented sizes, are left out
with a note where they do not apply, and --animate leaves the training result alone."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_dirs
from PIL import Image

from mlpcli import runs
from mlpcli.data import resolve_data
from mlpcli.report.draw import (
    first_layer,
    network_outputs,
    plane_field,
    plane_over,
)


def train(cli, *args):
    r = cli("train", *args, "--quiet")
    assert r.code == 0, r.err
    return runs.resolve_run("latest", "runs")


def size(path):
    with Image.open(path) as image:
        return image.format, image.size, getattr(image, "n_frames", 1)


def test_boundary_grid_predictions_equal_predict_on_the_same_points(cli, tmp_path):
    path = train(cli, "moons", "--epochs", "5", "--hidden", "6")
    run = runs.Run(path)
    model, pre = run.model()
    X = pd.read_csv(resolve_data("moons"))[["x1", "x2"]].to_numpy()
    plane = plane_over(X, pre.input_names, steps=25)
    field = plane_field(pre, network_outputs(model, pre, plane.points))
    pd.DataFrame(plane.points, columns=["x1", "x2"]).to_csv(tmp_path / "grid.csv", index=False)
    predicted, _ = runs.predict(run, tmp_path / "grid.csv")
    np.testing.assert_array_equal(field, predicted["score_1"].to_numpy())
    # the grid covers the data with a margin on every side
    assert plane.points.min(axis=0).tolist() < X.min(axis=0).tolist()
    assert (plane.points.max(axis=0) > X.max(axis=0)).all()


def test_hidden_units_are_the_first_layer_activations(cli):
    path = train(cli, "xor", "--epochs", "50", "--hidden", "3", "--activation", "tanh")
    model, pre = runs.Run(path).model()
    X = np.array([[0.0, 0.0], [0.5, 1.0], [1.0, 0.25]])
    W1, b1 = model.params()["W1"], model.params()["b1"]
    Xs = (X - np.array(pre.x_mean)) / np.array(pre.x_std)  # the run's standardization
    np.testing.assert_allclose(first_layer(model, pre, X), np.tanh(Xs @ W1.T + b1), rtol=1e-12)


def test_a_two_class_run_has_every_picture_at_its_documented_size(cli):
    path = train(cli, "xor", "--hidden", "10", "--epochs", "40")
    assert size(path / "confusion.png") == ("PNG", (560, 480), 1)
    assert size(path / "roc.png") == ("PNG", (480, 480), 1)
    assert size(path / "boundary.png") == ("PNG", (640, 560), 1)
    assert size(path / "hidden.png") == ("PNG", (8 * 150, 2 * 150 + 30), 1)  # 10 units, 8 a row
    summary = json.loads((path / "summary.json").read_text())
    assert summary["pictures"] == {"written": ["boundary.png", "confusion.png", "hidden.png",
                                               "roc.png"], "skipped": []}
    assert not (path / "training.gif").exists() and not (path / "fit.png").exists()


def test_regression_of_one_input_has_fit_and_the_fitted_curve(cli):
    path = train(cli, "sine", "--epochs", "5", "--hidden", "4")
    assert size(path / "fit.png") == ("PNG", (960, 400), 1)
    assert size(path / "boundary.png") == ("PNG", (640, 560), 1)
    assert size(path / "hidden.png") == ("PNG", (4 * 150, 150 + 30), 1)
    assert not (path / "confusion.png").exists()


def test_pictures_that_do_not_apply_are_skipped_with_a_note(cli):
    path = train(cli, "digits", "--epochs", "2", "--animate")
    summary = json.loads((path / "summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["pictures"]["written"] == ["confusion.png"]
    (note,) = summary["pictures"]["skipped"]
    assert "boundary.png, hidden.png, training.gif not drawn" in note and "64 inputs" in note
    assert not (path / "boundary.png").exists() and not (path / "roc.png").exists()


def test_snapshots_keep_about_60_evenly_spaced_frames_however_long_the_run():
    from types import SimpleNamespace

    from mlpcli.report.draw import Snapshots

    for epochs in (7, 60, 119, 5000):
        snapshots = Snapshots()
        trainer = SimpleNamespace(model=SimpleNamespace(theta=np.zeros(3)))
        for epoch in range(1, epochs + 1):
            snapshots.on_epoch_end(SimpleNamespace(epoch=epoch, train_loss=1.0 / epoch),
                                   trainer)
        assert len(snapshots.frames) < 120  # memory bounded
        shown = [epoch for epoch, _, _ in snapshots.evenly()]
        assert shown[0] == 1 and len(shown) == min(epochs, 60)
        assert epochs - shown[-1] < snapshots.every  # ends at the last kept epoch
        gaps = np.diff(shown)
        assert gaps.max() <= 2 * gaps.min() + snapshots.every  # about evenly spaced


def test_animate_writes_about_60_frames_and_does_not_change_the_weights(cli, tmp_path):
    common = ["--epochs", "120", "--hidden", "5", "--patience", "0", "--seed", "3"]
    plain = train(cli, "moons", *common, "--runs-dir", "runs")
    animated = train(cli, "moons", *common, "--animate", "--runs-dir", "runs")
    assert plain != animated
    with np.load(plain / "weights.npz") as a, np.load(animated / "weights.npz") as b:
        for name in a.files:
            assert a[name].tobytes() == b[name].tobytes()
    fmt, dims, frames = size(animated / "training.gif")
    assert (fmt, dims) == ("GIF", (480, 420))
    assert frames == 60  # evenly spaced over the 120 epochs
    assert not (plain / "training.gif").exists()


def test_runs_show_plots_redraws_the_pictures_of_a_run(cli):
    path = train(cli, "moons", "--epochs", "10", "--hidden", "4")
    before = {p.name: p.read_bytes() for p in path.glob("*.png")}
    for p in path.glob("*.png"):
        p.unlink()
    r = cli("runs", "show", "latest", "--plots")
    assert r.code == 0, r.err
    assert "drew loss.png, boundary.png, confusion.png, hidden.png, roc.png" in r.out
    after = {p.name: p.read_bytes() for p in path.glob("*.png")}
    assert set(after) == set(before)
    # the same validation rows: the confusion matrix and ROC curve come out the same
    for name in ("confusion.png", "roc.png"):
        assert after[name] == before[name]


def test_runs_show_plots_draws_a_sweep_trial(cli):
    r = cli("sweep", "xor", "--grid", "hidden=2|4", "--epochs", "20", "--workers", "1",
            "--quiet")
    assert r.code == 0, r.err
    (sweep,) = run_dirs(Path("runs"))
    trial = sorted(p for p in sweep.iterdir() if p.is_dir())[0]
    assert not (trial / "boundary.png").exists()
    r = cli("runs", "show", f"{sweep.name}/{trial.name}", "--plots")
    assert r.code == 0, r.err
    assert (trial / "boundary.png").exists() and (trial / "confusion.png").exists()
    r = cli("runs", "show", sweep.name, "--plots")
    assert r.code == 2 and "give a trial" in r.err


@pytest.mark.parametrize("make", ["confusion", "roc"])
def test_picture_functions_return_png_bytes(make):
    from mlpcli.core.metrics import outputs_report
    from mlpcli.report import pictures

    Y = np.array([[1.0], [0.0], [1.0], [0.0]])
    report = outputs_report(np.array([[0.8], [0.3], [0.4], [0.1]]), Y, task="classification",
                            classes=["no", "yes"], loss="mse", y_std=[1.0], targets=["y"])
    data = (pictures.confusion_picture(report) if make == "confusion"
            else pictures.roc_picture(report["roc"]))
    assert Image.open(io.BytesIO(data)).format == "PNG"


def test_scatter_plots_show_at_most_max_points_per_split_and_the_matrix_counts_every_row(
        cli, monkeypatch):
    from mlpcli.report import draw, pictures

    path = train(cli, "moons", "--epochs", "2")  # 800 training, 200 validation rows
    run = runs.Run(path)
    model, pre = run.model()
    frame = pd.read_csv(resolve_data("moons"))
    X, Y = pre.transform(frame), pre.encode_targets(frame)
    sets = {"train": (X[:800], Y[:800]), "validation": (X[800:], Y[800:])}
    seen = {}
    monkeypatch.setattr(draw, "MAX_POINTS", 150)
    monkeypatch.setattr(pictures, "boundary_picture",
                        lambda plane, field, points, *a, **k: seen.update(points=points) or b"")
    monkeypatch.setattr(pictures, "confusion_picture",
                        lambda report, title: seen.update(report=report) or b"")
    draw.draw_pictures(model, pre, sets)
    shown = {split: len(raw) for split, (raw, _, _) in seen["points"].items()}
    assert shown == {"train": 134, "validation": 100}  # every 6th of 800, every 2nd of 200
    assert np.asarray(seen["report"]["confusion"]).sum() == 200  # every validation row

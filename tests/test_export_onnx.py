"""mlpcli export: the ONNX model, run by onnxruntime on the raw CSV columns, gives what
`mlpcli predict` gives (labels equal; probabilities and predictions within 1e-6 relative in
float64, 1e-4 in float32), and passes onnx.checker."""

from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest

from mlpcli import runs
from mlpcli.export.onnx import feeds


def _mixed_csv(path, rows=120, seed=3):
    """Classification with a text feature ('color'), numbers and string labels."""
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue"], rows)
    x1, x2 = rng.normal(5, 2, rows), rng.normal(-1, 0.5, rows)
    score = x1 - 5 + 2 * (color == "red") - 3 * x2
    label = np.where(score > 2, "high", np.where(score > -1, "mid", "low"))
    pd.DataFrame({"x1": x1, "color": color, "x2": x2, "label": label}).to_csv(path, index=False)


def _two_target_csv(path, rows=100, seed=4):
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(0, 3, rows), rng.uniform(10, 20, rows), rng.normal(size=rows)
    pd.DataFrame({"a": a, "b": b, "c": c, "y1": 100 + 5 * a - b, "y2": 0.01 * a * c}).to_csv(
        path, index=False)


def _onnx_outputs(path, frame):
    model = onnx.load(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return model, dict(zip(names, session.run(None, feeds(model, frame, "test")), strict=True))


def _predict(cli, run, data):
    result = cli("predict", run, data)
    assert result.code == 0, result.err
    return pd.read_csv(io.StringIO(result.out))


def _rel(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-6), ("float32", 1e-4)])
@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_classification_with_text_feature(cli, tmp_path, dtype, tol, loss):
    _mixed_csv(tmp_path / "mixed.csv")
    frame = pd.read_csv(tmp_path / "mixed.csv")  # columns named as the graph's own tensors
    frame.rename(columns={"x1": "inputs", "x2": "W1"}).to_csv(tmp_path / "mixed.csv", index=False)
    assert cli("train", "mixed.csv", "--hidden", "8", "--epochs", "60", "--loss", loss,
               "--dtype", dtype, "--quiet", "--name", "m").code == 0
    result = cli("export", "m", "-o", "m.onnx")
    assert result.code == 0, result.err
    assert "onnxruntime matches mlpcli predict on 24 rows" in result.err
    frame = pd.read_csv(tmp_path / "mixed.csv")
    frame.loc[0, "color"] = "purple"  # unseen category: all zeros, as predict encodes it
    frame.to_csv(tmp_path / "scored.csv", index=False)
    expected = _predict(cli, "m", "scored.csv")
    model, got = _onnx_outputs(tmp_path / "m.onnx", frame)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["inputs", "color", "W1"]
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["classes"] == '["high", "low", "mid"]'
    assert got["label"].tolist() == expected["pred_label"].tolist()
    prefix = "prob" if loss == "ce" else "score"
    want = expected[[f"{prefix}_{c}" for c in ("high", "low", "mid")]].to_numpy()
    assert got["probabilities"].dtype == np.dtype(dtype)
    assert _rel(got["probabilities"].astype(np.float64), want) <= tol
    np.testing.assert_allclose(got["probabilities"].sum(axis=1), 1.0, rtol=tol)


def test_regression_two_targets_in_original_units(cli, tmp_path):
    _two_target_csv(tmp_path / "reg.csv")
    assert cli("train", "reg.csv", "--target", "y1,y2", "--hidden", "16", "--epochs", "50",
               "--quiet", "--name", "r").code == 0
    assert cli("export", "r", "-o", "r.onnx").code == 0
    frame = pd.read_csv(tmp_path / "reg.csv")
    expected = _predict(cli, "r", "reg.csv")[["pred_y1", "pred_y2"]].to_numpy()
    model, got = _onnx_outputs(tmp_path / "r.onnx", frame)
    onnx.checker.check_model(model, full_check=True)
    assert got["prediction"].shape == (100, 2)
    assert _rel(got["prediction"], expected) <= 1e-6
    assert abs(got["prediction"][:, 0].mean() - 100) < 20  # original units, not standardized
    # the float32 model of the same run
    assert cli("export", "r", "-o", "r32.onnx", "--dtype", "float32").code == 0
    _, got32 = _onnx_outputs(tmp_path / "r32.onnx", frame)
    assert got32["prediction"].dtype == np.float32
    assert _rel(got32["prediction"].astype(np.float64), expected) <= 1e-4


def test_deep_tanh_network_and_binary_output(cli, tmp_path):
    assert cli("train", "moons", "--hidden", "16,16,8", "--activation", "tanh", "--epochs",
               "20", "--quiet", "--name", "deep").code == 0
    assert cli("export", "deep", "-o", "deep.onnx").code == 0
    frame = pd.read_csv(runs.Run(runs.resolve_run("deep")).config()["dataset"]["path"])
    expected = _predict(cli, "deep", "moons")
    model, got = _onnx_outputs(tmp_path / "deep.onnx", frame)
    assert sum(n.op_type == "Tanh" for n in model.graph.node) == 3
    assert sum(n.op_type == "Gemm" for n in model.graph.node) == 4
    assert got["label"].dtype == np.int64  # 0/1 labels keep their type
    assert (got["label"] == expected["pred_y"].to_numpy()).all()
    want = expected[["score_0", "score_1"]].to_numpy()
    assert _rel(got["probabilities"], want) <= 1e-6


def test_sweep_best_trial_exports(cli, tmp_path):
    assert cli("sweep", "iris", "--grid", "hidden=4|8", "--epochs", "30", "--workers", "1",
               "--quiet", "--name", "sw").code == 0
    sweep = runs.sweep_dirs("runs")[0].name
    result = cli("export", f"{sweep}:best")
    assert result.code == 0, result.err
    best = runs.resolve_run(f"{sweep}:best")
    assert (tmp_path / f"{sweep}-{best.name}.onnx").exists()
    result = cli("export", sweep)
    assert result.code == 2 and "is a sweep" in result.err and ":best" in result.err


def test_check_fails_without_data_and_no_check_skips(cli, tmp_path):
    _two_target_csv(tmp_path / "gone.csv")
    assert cli("train", "gone.csv", "--epochs", "3", "--quiet", "--name", "g").code == 0
    (tmp_path / "gone.csv").unlink()
    result = cli("export", "g")
    assert result.code == 2 and "--no-check" in result.err
    assert result.err.count("\n") == 1
    result = cli("export", "g", "--no-check", "-o", "g.onnx")
    assert result.code == 0 and (tmp_path / "g.onnx").exists()


def test_missing_onnx_package_is_one_line(cli, monkeypatch):
    import sys

    assert cli("train", "xor", "--epochs", "2", "--quiet").code == 0
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    result = cli("export", "latest")
    assert result.code == 2
    assert result.err.strip() == ("Error: ONNX export needs the onnx package: "
                                  "pip install 'mlpcli[onnx]'")


def test_check_uses_only_the_runs_rows_of_a_dropna_run(cli, tmp_path):
    _two_target_csv(tmp_path / "holes.csv")
    text = (tmp_path / "holes.csv").read_text().splitlines()
    text[5] = ",".join(["", *text[5].split(",")[1:]])  # a missing feature on data row 4
    (tmp_path / "holes.csv").write_text("\n".join(text) + "\n")
    assert cli("train", "holes.csv", "--target", "y1", "--dropna", "--epochs", "5", "--quiet",
               "--name", "h").code == 0
    result = cli("export", "h", "-o", "h.onnx")
    assert result.code == 0, result.err
    assert "matches mlpcli predict on 20 rows" in result.err


def test_feature_named_like_an_output_is_refused(cli, tmp_path):
    pd.DataFrame({"label": [0.0, 1.0, 2.0, 3.0], "y": [0, 1, 0, 1]}).to_csv(
        tmp_path / "named.csv", index=False)
    assert cli("train", "named.csv", "--epochs", "2", "--quiet").code == 0
    result = cli("export", "latest")
    assert result.code == 2
    assert "feature column 'label' has the name of an output" in result.err

"""mlpcli runs export-mlflow into a temporary sqlite store, read back with MlflowClient."""

from __future__ import annotations

import pandas as pd
from mlflow.tracking import MlflowClient

from mlpcli import runs


def test_runs_and_sweep_exported_once(cli, tmp_path):
    assert cli("train", "xor", "--epochs", "12", "--quiet", "--name", "a").code == 0
    assert cli("train", "iris", "--epochs", "7", "--hidden", "4", "--quiet", "--name",
               "b").code == 0
    assert cli("sweep", "iris", "--grid", "hidden=2|4|8", "--epochs", "5", "--workers", "1",
               "--quiet").code == 0
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = cli("runs", "export-mlflow", "--tracking-uri", uri, "--experiment", "t")
    assert result.code == 0, result.err
    assert "3 exported to experiment 't'" in result.err
    assert f"mlflow ui --backend-store-uri {uri}" in result.err

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("t")
    found = {r.data.tags["mlpcli.run_id"]: r for r in client.search_runs([exp.experiment_id])}
    a, sweep = runs.resolve_run("a"), runs.sweep_dirs("runs")[0]
    assert len(found) == 6  # two runs, the sweep and its three trials
    run_a = found[a.name]
    assert run_a.data.params["options.epochs"] == "12"
    assert run_a.data.params["options.hidden"] == "[32]"
    assert run_a.data.params["dataset.sha256"] == runs.Run(a).config()["dataset"]["sha256"]
    assert run_a.data.tags["status"] == "finished" and run_a.info.status == "FINISHED"
    metrics = runs.Run(a).metrics()
    history = client.get_metric_history(run_a.info.run_id, "train_loss")
    assert [m.step for m in history] == list(range(1, 13))
    assert [m.value for m in history] == metrics["train_loss"].tolist()
    assert run_a.data.metrics["final_train_loss"] == runs.Run(a).summary()["final"][
        "train_loss"]
    artifacts = {f.path for f in client.list_artifacts(run_a.info.run_id)}
    assert {"config.json", "metrics.csv", "weights.npz", "summary.json"} <= artifacts

    parent = found[sweep.name]
    children = [r for key, r in found.items() if key.startswith(sweep.name + "/")]
    assert len(children) == 3
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert "sweep.json" in {f.path for f in client.list_artifacts(parent.info.run_id)}
    for child in children:
        assert len(client.get_metric_history(child.info.run_id, "val_loss")) == 5

    # again, and one run resumed further in between: updated, never duplicated
    assert cli("train", "--resume", "a", "--epochs", "15", "--quiet").code == 0
    broken = tmp_path / "runs" / "20260101-000000-000000-broken"  # a damaged run is skipped
    broken.mkdir()
    (broken / "summary.json").write_text("{bad")
    result = cli("runs", "export-mlflow", "--tracking-uri", uri, "--experiment", "t")
    assert result.code == 0, result.err
    assert "Warning: skipped 20260101-000000-000000-broken" in result.err
    assert "summary.json: damaged JSON" in result.err
    again = client.search_runs([exp.experiment_id])
    ids = [r.data.tags["mlpcli.run_id"] for r in again]
    assert sorted(ids) == sorted(found) and len(ids) == len(set(ids))
    run_a = next(r for r in again if r.data.tags["mlpcli.run_id"] == a.name)
    assert run_a.data.params["options.epochs"] == "15"
    history = client.get_metric_history(run_a.info.run_id, "train_loss")
    assert [m.step for m in history] == list(range(1, 16))
    for run in again:
        if run.data.tags["mlpcli.run_id"] != a.name:
            steps = [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")]
            assert len(steps) == len(set(steps))
            assert len(client.get_metric_history(run.info.run_id, "final_train_loss")) <= 1
    assert pd.notna(run_a.data.metrics["final_train_loss"])


def test_export_mlflow_needs_a_tracking_uri(cli, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert cli("train", "xor", "--epochs", "2", "--quiet").code == 0
    result = cli("runs", "export-mlflow", "latest")
    assert result.code == 2 and "--tracking-uri is required" in result.err
    result = cli("runs", "export-mlflow", "latest", "--tracking-uri", "foo://bar")
    assert result.code == 2 and result.err.startswith("Error: MLflow at foo://bar:")
    assert result.err.count("\n") == 1

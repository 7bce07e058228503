"""Sweeps give the same trials whatever runs them — this process, 2 worker processes, a real Dask
LocalCluster — and an interrupted sweep, resumed, ends with an uninterrupted sweep's results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SWEEP = ["iris", "--grid", "hidden=4|16", "--seeds", "2", "--folds", "2", "--epochs", "30"]


def sweep_dir(runs_dir: Path) -> Path:
    (path,) = [p for p in runs_dir.iterdir() if (p / "sweep.json").exists()]
    return path


def trial_weights(path: Path) -> dict:
    out = {}
    for trial in sorted(p for p in path.iterdir() if p.is_dir()):
        with np.load(trial / "weights.npz") as npz:
            out[trial.name] = {k: npz[k] for k in npz.files}
    return out


def assert_same_trials(a: Path, b: Path) -> None:
    wa, wb = trial_weights(a), trial_weights(b)
    assert wa.keys() == wb.keys() and len(wa) > 0
    for trial in wa:
        assert wa[trial].keys() == wb[trial].keys()
        for k in wa[trial]:
            assert np.array_equal(wa[trial][k], wb[trial][k]), (trial, k)
    ta = pd.read_csv(a / "trials.csv").drop(columns="seconds")
    tb = pd.read_csv(b / "trials.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(ta, tb)


def test_workers_and_dask_give_bit_identical_trials(cli, tmp_path):
    pytest.importorskip("distributed")
    for where, extra in (("one", ["--workers", "1"]), ("two", ["--workers", "2"]),
                         ("dask", ["--dask", "local", "--workers", "2"])):
        r = cli("sweep", *SWEEP, *extra, "--runs-dir", where, "--quiet")
        assert r.code == 0, r.err
    one = sweep_dir(tmp_path / "one")
    assert len(trial_weights(one)) == 8
    assert_same_trials(one, sweep_dir(tmp_path / "two"))
    assert_same_trials(one, sweep_dir(tmp_path / "dask"))


def _mlpcli(*args) -> list[str]:
    return [sys.executable, "-m", "mlpcli", *args]


def test_interrupted_sweep_resumes_to_the_uninterrupted_results(tmp_path):
    args = ["sweep", "digits", "--grid", "hidden=16|32", "--seeds", "3", "--epochs", "400",
            "--patience", "0", "--workers", "2"]
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(_mlpcli(*args, "--runs-dir", "part"), cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    trials_csv = None
    while time.monotonic() < deadline:  # interrupt once the first trial is in trials.csv
        found = list((tmp_path / "part").glob("*/trials.csv"))
        if found and len(found[0].read_text().splitlines()) >= 2:
            trials_csv = found[0]
            break
        time.sleep(0.05)
    assert trials_csv is not None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "mlpcli sweep --resume" in out
    part = trials_csv.parent
    summary = json.loads((part / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    statuses = pd.read_csv(part / "trials.csv")["status"]
    assert len(statuses) < 6 or (statuses == "interrupted").any()  # stopped mid-way

    resumed = subprocess.run(_mlpcli("sweep", "--resume", part.name, "--runs-dir", "part"),
                             cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((part / "summary.json").read_text())["status"] == "finished"

    full = subprocess.run(_mlpcli(*args[:-1], "1", "--runs-dir", "full"),
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert full.returncode == 0, full.stderr
    assert_same_trials(part, sweep_dir(tmp_path / "full"))


def test_sigterm_stops_an_in_process_sweep_with_143_and_resume_finishes_it(tmp_path):
    args = ["sweep", "digits", "--seeds", "4", "--epochs", "300", "--patience", "0",
            "--workers", "1", "--runs-dir", "runs"]
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(_mlpcli(*args), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((tmp_path / "runs").glob("*/c0-s1")):
        time.sleep(0.05)  # the second trial has started
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    part = sweep_dir(tmp_path / "runs")
    trials = pd.read_csv(part / "trials.csv")
    assert len(trials) < 4 and json.loads((part / "summary.json").read_text())["status"] \
        == "interrupted"
    assert f"mlpcli sweep --resume {part.name}" in out
    resumed = subprocess.run(_mlpcli("sweep", "--resume", part.name, "--runs-dir", "runs"),
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert list(pd.read_csv(part / "trials.csv")["status"]) == ["finished"] * 4

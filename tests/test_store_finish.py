"""kill -9 during a run's final save: `--resume` finishes it, with the bytes of an
uninterrupted run (no extra epochs after early stopping; a --patience 0 run is finished too).

Each kill point is simulated in a real process that dies with os._exit at that point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from mlpcli.data.generate import generate

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}

TRAIN = """
    import json, os, sys
    from mlpcli import runs, experiment
    from mlpcli.config import Config

    def die(*args, **kwargs):
        os._exit(9)

    point = sys.argv[1]
    if point == "before the final checkpoint":
        runs.RunWriter.on_train_end = die
    elif point == "after the checkpoint":
        runs.RunWriter.write_results = die
    elif point == "after weights.npz":
        runs.RunWriter._write = die  # predictions.csv is the next file
    elif point == "before summary.json":
        runs.RunWriter.finish = die
    outcome = experiment.train(Config.from_dict(json.loads(sys.argv[2]), source="test"))
"""

POINTS = ["before the final checkpoint", "after the checkpoint", "after weights.npz",
          "before summary.json", "none"]
RESULT_FILES = ["weights.npz", "predictions.csv", "loss.png"]


def train(cwd: Path, point: str, options: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(TRAIN), point,
                           json.dumps(options)], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def moons(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "moons.csv"
    generate("moons", n=300, noise=0.3, seed=0).to_csv(path, index=False)
    return path


def options(moons: Path, kind: str, runs_dir: Path) -> dict:
    base = dict(data=str(moons), batch_size=16, lr=0.01, seed=2, name="same-title",
                runs_dir=str(runs_dir), checkpoint_every=1e-9)  # a checkpoint every epoch
    if kind == "early stopping":
        return {**base, "epochs": 500, "patience": 5}
    return {**base, "epochs": 30, "patience": 0}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, moons) -> dict[str, Path]:
    runs = {}
    for kind in ("early stopping", "patience 0"):
        cwd = tmp_path_factory.mktemp("whole")
        r = train(cwd, "none", options(moons, kind, cwd / "runs"))
        assert r.returncode == 0, r.stderr
        (runs[kind],) = (cwd / "runs").iterdir()
    summary = json.loads((runs["early stopping"] / "summary.json").read_text())
    assert summary["stopped_early"] and summary["epochs_run"] < 500  # the case is what it says
    return runs


@pytest.mark.parametrize("point", POINTS[:-1])
@pytest.mark.parametrize("kind", ["early stopping", "patience 0"])
def test_resume_after_a_kill_in_the_final_save_equals_the_uninterrupted_run(
        tmp_path, moons, uninterrupted, kind, point):
    """Fails on b35f5ce: the early-stopped run trained more epochs than the uninterrupted one,
    and the --patience 0 run could not be finished ("already has 30 epochs")."""
    killed = train(tmp_path, point, options(moons, kind, tmp_path / "runs"))
    assert killed.returncode == 9, killed.stderr
    (run,) = (tmp_path / "runs").iterdir()
    resumed = subprocess.run([sys.executable, "-m", "mlpcli", "train", "--resume", run.name,
                              "--runs-dir", tmp_path / "runs", "-q"], env=ENV,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr

    whole = uninterrupted[kind]
    for name in RESULT_FILES:
        assert (run / name).read_bytes() == (whole / name).read_bytes(), name
    metrics, expected = (pd.read_csv(p / "metrics.csv") for p in (run, whole))
    assert metrics.drop(columns="seconds").equals(expected.drop(columns="seconds"))
    got, want = (json.loads((p / "summary.json").read_text()) for p in (run, whole))
    for key in ("status", "epochs_run", "best_epoch", "stopped_early", "final", "best"):
        assert got[key] == want[key] or key == "best" and _same_but_seconds(got, want), key
    assert not list(run.glob(".*.tmp"))

    again = subprocess.run([sys.executable, "-m", "mlpcli", "train", "--resume", run.name,
                            "--runs-dir", tmp_path / "runs"], env=ENV, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 2  # now finished (or stopped early): nothing left to continue


def _same_but_seconds(got: dict, want: dict) -> bool:
    a, b = dict(got["best"]), dict(want["best"])
    a.pop("seconds"), b.pop("seconds")
    return a == b

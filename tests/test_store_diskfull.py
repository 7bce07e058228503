"""A full disk during a run: the run ends `failed` with one line saying the disk is full and
where, every file that was complete stays complete, and `--resume` works once space is freed,
ending with exactly the weights of an uninterrupted run.

Two ways: ENOSPC injected at each of the run's writes (every file, in-process), and a real
200 KiB tmpfs filled by the run itself (as root; skipped where mounting is not permitted)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlpcli import experiment, runs
from mlpcli.config import Config
from mlpcli.data.generate import generate
from mlpcli.errors import RunError
from mlpcli.runs import files, store

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


@pytest.fixture(scope="module")
def moons(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "moons.csv"
    generate("moons", n=300, noise=0.3, seed=0).to_csv(path, index=False)
    return path


def config(moons: Path, runs_dir: Path, **extra) -> Config:
    return Config.from_dict(dict(data=str(moons), epochs=40, patience=0, batch_size=16,
                                 lr=0.01, seed=4, checkpoint_every=1e-9,
                                 runs_dir=str(runs_dir), **extra), source="test")


def weights(run: Path) -> dict[str, np.ndarray]:
    with np.load(run / "weights.npz", allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def assert_complete_files(run: Path) -> None:
    """Every file present is whole: JSON parses, npz loads, metrics.csv reads."""
    for path in run.glob("*.json"):
        json.loads(path.read_text())
    for path in run.glob("*.npz"):
        runs.load_npz(path, what="test")
    if (run / "metrics.csv").exists():
        runs.Run(run).metrics()
    assert not list(run.glob(".*.tmp")), "a temporary file was left behind"


@pytest.fixture(scope="module")
def whole(tmp_path_factory, moons) -> dict[str, np.ndarray]:
    out = experiment.train(config(moons, tmp_path_factory.mktemp("whole")))
    assert out.summary["status"] == "finished"
    return weights(out.path)


class DiskFull:
    """Make the `nth` write of run file `name` fail with ENOSPC (once)."""

    def __init__(self, monkeypatch, name: str, nth: int = 1):
        self.name, self.nth, self.seen = name, nth, 0
        original_atomic, original_append = files.write_atomic, store.RunWriter._append_metrics

        def write_atomic(path, data):
            self.check(Path(path).name)
            return original_atomic(path, data)

        def append_metrics(writer, line):
            self.check("metrics.csv")
            return original_append(writer, line)

        for module in (files, store):
            monkeypatch.setattr(module, "write_atomic", write_atomic)
        monkeypatch.setattr(store.RunWriter, "_append_metrics", append_metrics)

    def check(self, name: str) -> None:
        if name == self.name:
            self.seen += 1
            if self.seen == self.nth:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


CASES = [("model.json", 1), ("summary.json", 2), ("metrics.csv", 1),
         ("metrics.csv", 20), ("checkpoint.npz", 1), ("checkpoint.npz", 25),
         ("weights.npz", 1), ("predictions.csv", 1), ("loss.png", 1), ("summary.json", 3)]


@pytest.mark.parametrize(("name", "nth"), CASES, ids=[f"{n}#{k}" for n, k in CASES])
def test_enospc_at_any_write_fails_the_run_and_resume_finishes_it(
        tmp_path, moons, whole, monkeypatch, name, nth):
    """Fails on b35f5ce: OSError escaped ("unexpected OSError [Errno 28]"), the summary stayed
    `running`, and a run without a checkpoint could not be resumed."""
    full = DiskFull(monkeypatch, name, nth)
    with pytest.raises(RunError) as caught:
        experiment.train(config(moons, tmp_path / "runs"))
    message = str(caught.value)
    assert full.seen >= nth and "\n" not in message
    assert f"{name}: cannot write (disk full)" in message and "--resume" in message
    (run,) = (tmp_path / "runs").iterdir()
    assert str(run) in message
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and "disk full" in summary["error"]
    assert runs.Run(run).status() == "failed"
    assert_complete_files(run)

    monkeypatch.undo()  # space is freed
    out = experiment.train(config(moons, tmp_path / "runs"), resume=run)
    assert out.summary["status"] == "finished" and out.summary["epochs_run"] == 40
    got = weights(run)
    assert got.keys() == whole.keys() and all(np.array_equal(got[k], whole[k]) for k in got)
    assert list(runs.Run(run).metrics()["epoch"]) == list(range(1, 41))


@pytest.mark.parametrize("name", ["summary.json", "config.json"])
def test_enospc_before_training_began_leaves_no_run(tmp_path, moons, monkeypatch, name):
    DiskFull(monkeypatch, name, 1)
    with pytest.raises(RunError, match=f"{name}: cannot write .disk full.; nothing was saved"):
        experiment.train(config(moons, tmp_path / "runs"))
    assert list((tmp_path / "runs").iterdir()) == []


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 200 KiB file system (tmpfs), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount)],
                       check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot mount a small tmpfs here (needs root and mount permission): {e}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)


def test_a_real_full_disk_fails_the_run_cleanly_and_resume_finishes_it(
        tmp_path, moons, whole, tiny_disk):
    filler = tiny_disk / "filler"
    filler.write_bytes(b"\0" * (200 * 1024 - 48 * 1024))  # about 48 KiB left for the run
    args = [sys.executable, "-m", "mlpcli", "train", moons, "--epochs", "40", "--patience", "0",
            "--batch-size", "16", "--lr", "0.01", "--seed", "4", "--checkpoint-every", "1e-9",
            "--runs-dir", tiny_disk / "runs", "--hidden", "32,32", "-q"]
    r = subprocess.run(list(map(str, args)), env=ENV, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "disk full" in lines[0] and str(tiny_disk) in lines[0], r.stderr
    (run,) = (tiny_disk / "runs").iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "failed"
    assert_complete_files(run)

    filler.unlink()  # space is freed
    resumed = subprocess.run([sys.executable, "-m", "mlpcli", "train", "--resume", run.name,
                              "--runs-dir", str(tiny_disk / "runs"), "-q"], env=ENV,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "summary.json").read_text())["status"] == "finished"
    reference = experiment.train(config(moons, tmp_path / "ref", hidden=[32, 32]))
    got, want = weights(run), weights(reference.path)
    assert all(np.array_equal(got[k], want[k]) for k in want)

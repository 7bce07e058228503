"""One trainer per run directory, and "running" means "its lock is held".

Real processes: two concurrent resumes, a kill -9 at the instant a run is created, a crashed
run whose pid is alive again (reused) or whose host name changed."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from test_reliability import ENV, mlpcli, start

from mlpcli import runs

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX locks and signals")

def python(cwd: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=120)


def statuses(cwd: Path) -> dict[str, str]:
    r = mlpcli(cwd, "runs", "list", "--csv", "-")
    assert r.returncode == 0, r.stderr
    rows = pd.read_csv(io.StringIO(r.stdout))
    return dict(zip(rows["id"], rows["status"]))


def the_run(cwd: Path) -> Path:
    (run,) = (cwd / "runs").iterdir()
    return run


def test_two_concurrent_resumes_exactly_one_trains(tmp_path, big):
    """Fails on b35f5ce: both resumes proceeded, interleaving metrics.csv (1,2,2,3,3,…)."""
    first = mlpcli(tmp_path, "train", big, "--epochs", "3", "--patience", "0", "-q")
    assert first.returncode == 0, first.stderr
    run = the_run(tmp_path)
    procs = [start(tmp_path, "train", "--resume", run.name, "--epochs", "100000")
             for _ in range(2)]
    deadline = time.monotonic() + 60
    while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.01)
    (loser,) = [p for p in procs if p.poll() is not None]
    (winner,) = [p for p in procs if p is not loser]
    _, err = loser.communicate(timeout=30)
    assert loser.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "still training" in lines[0], err
    assert f"process {winner.pid}" in lines[0] and "kill -INT" in lines[0]

    assert statuses(tmp_path) == {run.name: "running"}  # the winner holds the lock
    winner.send_signal(signal.SIGINT)
    out, err = winner.communicate(timeout=60)
    assert winner.returncode == 130, err
    epochs = list(pd.read_csv(run / "metrics.csv")["epoch"])
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) > 3
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
    assert statuses(tmp_path) == {run.name: "interrupted"}


@pytest.mark.parametrize("change", ["pid reused", "host renamed"])
def test_a_crashed_run_is_crashed_whatever_its_pid_or_host(tmp_path, change):
    """Fails on b35f5ce: a live pid (or another host name) kept the run `running` forever, and
    --resume refused it as still training."""
    r = mlpcli(tmp_path, "train", "xor", "--epochs", "30", "--patience", "0",
               "--checkpoint-every", "0", "-q")
    assert r.returncode == 0, r.stderr
    run = the_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    # as a kill -9 during training leaves it, with the pid now taken by a live process
    summary.update(status="running", pid=os.getpid())
    if change == "host renamed":
        summary["host"] = "container-before-restart"
    (run / "summary.json").write_text(json.dumps(summary))
    assert statuses(tmp_path) == {run.name: "crashed"}
    assert runs.Run(run).status() == "crashed"
    resumed = mlpcli(tmp_path, "train", "--resume", run.name, "--epochs", "40", "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert statuses(tmp_path) == {run.name: "finished"}


KILL_AFTER = """
    import os, sys
    from mlpcli import runs, experiment
    from mlpcli.config import Config
    {patch}
    experiment.train(Config(data="xor", epochs=50, runs_dir="runs"))
"""


@pytest.mark.parametrize("moment", ["directory created", "first summary written"])
def test_kill_at_the_first_instant_of_a_run_lists_it_as_crashed(tmp_path, moment):
    """Fails on b35f5ce: the directory (empty, or without a summary) was listed `damaged`."""
    if moment == "directory created":
        patch = """
    create = runs.create_run_dir
    def create_then_die(*a):
        create(*a)
        os._exit(9)
    runs.create_run_dir = create_then_die"""
    else:
        patch = """
    mark = runs.RunWriter.mark_running
    def mark_then_die(self):
        mark(self)
        os._exit(9)
    runs.RunWriter.mark_running = mark_then_die"""
    r = python(tmp_path, KILL_AFTER.format(patch=textwrap.indent(textwrap.dedent(patch), "    ")))
    assert r.returncode == 9, r.stderr
    run = the_run(tmp_path)
    assert statuses(tmp_path) == {run.name: "crashed"}
    show = mlpcli(tmp_path, "runs", "show", run.name)
    assert show.returncode == 2 and "Traceback" not in show.stderr


def test_stale_temporaries_are_removed_by_the_next_writer_never_by_readers(tmp_path):
    """Fails on b35f5ce: `.NAME.PID.tmp` files of killed writers stayed forever."""
    r = mlpcli(tmp_path, "train", "xor", "--epochs", "20", "--patience", "0", "-q")
    assert r.returncode == 0, r.stderr
    run = the_run(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = run / f".model.json.{dead}.tmp"
    stale.write_text('{"half": ')
    live = run / f".weights.npz.{os.getpid()}.tmp"  # a writer that is still alive
    live.write_text("busy")
    for command in (("runs", "list"), ("runs", "show", run.name), ("predict", run.name, "xor")):
        assert mlpcli(tmp_path, *command).returncode == 0
    assert stale.exists()  # readers never modify a run
    resumed = mlpcli(tmp_path, "train", "--resume", run.name, "--epochs", "25", "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert not stale.exists() and live.exists()

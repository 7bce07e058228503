"""The edges of a process: stdout full or closed, Ctrl-C at any moment (issue 19, items 12
and 14). Real subprocesses (`python -m mlpcli`), real signals, real /dev/full.

Before this, `> /dev/full` ended in "unexpected OSError" (exit 1) or a traceback, Ctrl-C while
the data was loading exited 130 without a word, and Ctrl-C during start-up printed a
KeyboardInterrupt traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and devices")

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
FULL = Path("/dev/full")


def mlpcli(cwd: Path, *args, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlpcli", *map(str, args)], cwd=cwd, env=ENV,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)


def start(cwd: Path, *args, stdin=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mlpcli", *map(str, args)], cwd=cwd,
                            env=ENV, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- stdout on a full disk ------------------------------------------------------------------------

@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full here")
@pytest.mark.parametrize("args", [
    ["datasets", "make", "moons"], ["datasets", "list"], ["runs", "list"],
    ["runs", "list", "--csv", "-"], ["runs", "show", "latest"], ["predict", "latest", "xor"],
    ["evaluate", "latest", "xor", "--json"], ["evaluate", "latest", "xor"],
    ["gradcheck", "--hidden", "3"], ["--version"], ["train", "--help"], ["runs"],
])
def test_a_full_stdout_is_one_line_and_exit_2(tmp_path, args):
    assert mlpcli(tmp_path, "train", "xor", "--epochs", "3", "-q").returncode == 0
    with open(FULL, "w") as full:
        r = mlpcli(tmp_path, *args, stdout=full)
    assert r.returncode == 2, r.stderr
    assert "cannot write to standard output" in one_line(r.stderr)
    assert "No space left" in r.stderr


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full here")
def test_training_to_a_full_stdout_stops_saves_and_says_how_to_continue(tmp_path):
    with open(FULL, "w") as full:
        r = mlpcli(tmp_path, "train", "xor", "--epochs", "50", stdout=full)
    assert r.returncode == 2, r.stderr
    line = one_line(r.stderr)
    assert "cannot write to standard output" in line and "--resume" in line
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
    resumed = mlpcli(tmp_path, "train", "--resume", run.name, "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "summary.json").read_text())["status"] == "finished"


def test_training_with_stdout_closed_exits_141(tmp_path):
    """`mlpcli train xor >&-`: no stdout at all."""
    r = subprocess.run([sys.executable, "-m", "mlpcli", "train", "xor", "--epochs", "50"],
                       cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert r.returncode == 141, r.stderr
    assert "output closed" in one_line(r.stderr)


# --- Ctrl-C ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_loading_data_says_nothing_was_saved(tmp_path, signum):
    """DATA is a FIFO nobody writes to: the process waits inside loading the data."""
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    proc = start(tmp_path, "train", fifo)
    time.sleep(2.0)  # start-up done, blocked opening the FIFO (no writer ever comes)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert one_line(err) == "Error: interrupted before training; nothing saved"
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.2, 0.4])
def test_ctrl_c_at_start_up_never_prints_a_traceback(tmp_path, delay):
    """Whenever the signal lands (interpreter start, imports, parsing, loading, training),
    one line at most and status 130 (or death by SIGINT before Python handles signals)."""
    proc = start(tmp_path, "train", "xor", "--epochs", "1000000", "--patience", "0", "-q")
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    frames = [line for line in err.splitlines() if line.strip().startswith("File ")]
    if err.startswith("Could not import runpy module") or (
            frames and all("<frozen " in f for f in frames)):
        return  # CPython's own start-up (runpy finding the package), before mlpcli's code runs
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert proc.returncode in (130, -signal.SIGINT), (proc.returncode, err)
    # (CPython's C modules may warn when an import they were in is interrupted and retried,
    # e.g. "./Modules/_decimal/…: warning: mpd_setminalloc …": not mlpcli's lines)
    ours = [line for line in err.splitlines() if line.strip()
            and not line.startswith("./Modules/")]
    assert len(ours) <= 1, err


@pytest.mark.parametrize("args", [["datasets", "make", "moons"], ["runs", "list"],
                                  ["--version"], ["gradcheck", "--hidden", "3"]])
def test_other_commands_with_stdout_closed_end_quietly(tmp_path, args):
    """Nothing to write to and nobody to read: status 0 (gradcheck: its verdict), no words."""
    r = subprocess.run([sys.executable, "-m", "mlpcli", *args], cwd=tmp_path, env=ENV,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       timeout=120, preexec_fn=lambda: os.close(1))
    assert r.returncode == 0 and r.stderr == "", r.stderr

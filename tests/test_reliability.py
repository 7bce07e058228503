"""Runs that survive: Ctrl-C, SIGTERM, SIGKILL, resume, parallel runs, names, damaged files.

Most tests run `python -m mlpcli` as a separate process, as a user would, and wait for progress
by polling metrics.csv (never by sleeping a fixed time).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpcli import experiment, runs
from mlpcli.config import Config
from mlpcli.data.generate import generate
from mlpcli.errors import ConfigError, RunError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
LONG = ("--epochs", "100000", "--patience", "0", "--checkpoint-every", "0.2")
METRICS = ["epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds", "grad_norm",
           "val_bacc", "train_r2", "val_r2"]


# --- helpers -------------------------------------------------------------------------------------

def mlpcli(cwd: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlpcli", *map(str, args)], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=120)


def start(cwd: Path, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mlpcli", *map(str, args)], cwd=cwd,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def wait_for(condition, proc: subprocess.Popen | None = None, timeout: float = 30.0):
    """Poll `condition()` until it returns something truthy (fails if `proc` ends first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"process ended early ({proc.returncode}): {out}\n{err}")
        time.sleep(0.005)
    pytest.fail("timed out waiting for the training process")


def the_run(runs_dir: Path) -> Path | None:
    found = [p for p in runs_dir.iterdir() if p.is_dir()] if runs_dir.is_dir() else []
    return found[0] if len(found) == 1 else None


def epochs_logged(run: Path | None) -> int:
    """Complete lines of metrics.csv after the header (0 while it does not exist)."""
    try:
        return max((run / "metrics.csv").read_bytes().count(b"\n") - 1, 0)
    except (OSError, TypeError):
        return 0


def running_with(runs_dir: Path, proc: subprocess.Popen, epochs: int) -> Path:
    """Wait until the process's run has logged `epochs` epochs; its run directory."""
    return wait_for(lambda: (r := the_run(runs_dir)) is not None and epochs_logged(r) >= epochs
                    and r, proc)


def read_metrics(run: Path) -> pd.DataFrame:
    text = (run / "metrics.csv").read_text()
    assert text.endswith("\n"), "metrics.csv ends in a partial line"
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.columns) == METRICS
    return frame


def load_weights(run: Path) -> dict[str, np.ndarray]:
    with np.load(run / "weights.npz", allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = load_weights(a), load_weights(b)
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "small.csv"
    generate("moons", n=1000, noise=0.2, seed=1).to_csv(path, index=False)
    return path


# --- the output's reader goes away -------------------------------------------------------------

def test_closed_output_stops_training_like_ctrl_c_and_the_run_resumes(tmp_path, small):
    """`mlpcli train … | head`: when stdout's reader is gone, training stops and the run is
    saved as interrupted (exit 141 = 128 + SIGPIPE, one line on stderr), not failed."""
    proc = start(tmp_path, "train", small, *LONG, "--runs-dir", "runs")
    proc.stdout.close()  # before the process has written anything
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    one_line_error(err, "output closed", "--resume")
    run = the_run(tmp_path / "runs")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["error"] is None
    resumed = mlpcli(tmp_path, "train", "--resume", run.name, "--runs-dir", "runs",
                     "--epochs", "3")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "summary.json").read_text())["status"] == "finished"
    assert read_metrics(run)["epoch"].tolist() == [1, 2, 3]


def test_output_closed_mid_training_stops_after_that_epoch(tmp_path, small):
    """In process: the reader goes away at the first progress line (epoch 1), training has
    already started; the run ends interrupted after epoch 1, resumable."""
    from mlpcli import console

    class ClosesAtFirstEpochLine(io.StringIO):
        def write(self, text):
            if "epoch 1/" in text:
                raise BrokenPipeError
            return super().write(text)

    out = ClosesAtFirstEpochLine()
    display = console.TrainingDisplay(console._Console(file=out, width=120))
    cfg = Config.from_dict(dict(data=str(small), epochs=1000, patience=0,
                                runs_dir=str(tmp_path)), source="test")
    outcome = experiment.train(cfg, callbacks=[display])
    assert display.output_closed
    assert "run directory:" in out.getvalue()  # the header got through
    assert outcome.summary["status"] == "interrupted" and outcome.result.epochs_run == 1
    assert (outcome.path / "checkpoint.npz").exists()


def test_closed_output_ends_other_commands_quietly(tmp_path, small):
    """Exit status 0 (the reader has what it wanted), nothing on stderr; gradcheck's status
    is still its verdict."""
    assert mlpcli(tmp_path, "train", small, "--epochs", "2", "--quiet").returncode == 0
    for args, status in [(["runs", "list", "--csv", "-"], 0), (["runs", "list"], 0),
                         (["predict", "latest", small], 0), (["datasets", "make", "moons"], 0),
                         (["gradcheck", small, "--hidden", "3"], 0),
                         (["gradcheck", small, "--hidden", "3", "--eps", "0.5",
                           "--activation", "tanh", "--json"], 1)]:
        proc = start(tmp_path, *args)
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == status, (args, err)
        assert err == "", (args, err)


# --- Ctrl-C, SIGTERM -----------------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_training_saves_everything_and_exits_128_plus_signal(tmp_path, big, signum):
    proc = start(tmp_path, "train", big, *LONG, "--runs-dir", "runs")
    run = running_with(tmp_path / "runs", proc, 5)
    # while it trains, the run is listed as running
    row = runs.list_runs(tmp_path / "runs").iloc[0]
    assert row["status"] == "running"
    proc.send_signal(signum)
    sent = time.monotonic()
    code, out, err = finish(proc, timeout=30)
    assert code == 128 + signum, err
    assert time.monotonic() - sent < 10  # saving takes about a second

    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    epochs = summary["epochs_run"]
    assert epochs >= 5
    weights = load_weights(run)
    assert {"W1", "b1", "W2", "b2"} <= weights.keys()
    assert all(np.isfinite(w).all() for w in weights.values())
    metrics = read_metrics(run)
    assert list(metrics["epoch"]) == list(range(1, epochs + 1))
    assert (run / "predictions.csv").stat().st_size > 0 and (run / "loss.png").exists()
    assert runs.load_checkpoint(run / "checkpoint.npz")["epoch"] == epochs
    assert "--resume" in out and run.name in out
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]


# --- SIGKILL -------------------------------------------------------------------------------------

def test_sigkill_leaves_readable_files_listed_as_crashed_and_resumable(tmp_path, big):
    proc = start(tmp_path, "train", big, *LONG, "--runs-dir", "runs")
    run = running_with(tmp_path / "runs", proc, 3)
    wait_for(lambda: (run / "checkpoint.npz").exists() and epochs_logged(run) >= 3, proc)
    proc.kill()
    proc.communicate(timeout=30)

    for path in run.glob("*.json"):
        json.loads(path.read_text())
    metrics = read_metrics(run)
    assert list(metrics["epoch"]) == list(range(1, len(metrics) + 1))
    checkpoint = runs.load_checkpoint(run / "checkpoint.npz")
    assert 1 <= checkpoint["epoch"] <= len(metrics)
    assert json.loads((run / "summary.json").read_text())["status"] == "running"

    listed = mlpcli(tmp_path, "runs", "list", "--csv", "-")
    assert listed.returncode == 0, listed.stderr
    rows = pd.read_csv(io.StringIO(listed.stdout))
    assert list(rows["status"]) == ["crashed"]

    # resuming continues from the checkpoint, dropping the epochs logged after it
    target = checkpoint["epoch"] + 3
    resumed = mlpcli(tmp_path, "train", "--resume", "latest", "--epochs", target)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {checkpoint['epoch']}" in resumed.stdout
    assert list(read_metrics(run)["epoch"]) == list(range(1, target + 1))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_run"] == target
    assert summary["resumed"][-1]["epoch"] == checkpoint["epoch"]


# --- interrupt + resume == uninterrupted ---------------------------------------------------------

class StopAfter:
    """Callback: request a stop at the end of epoch `k` (the loop stops before epoch k+1)."""

    def __init__(self, k):
        self.k = k

    def on_epoch_end(self, record, trainer):
        if record.epoch == self.k:
            trainer.request_stop()


class StopMidEpoch:
    """Callback: in epoch k+1, request a stop during its third minibatch (as a signal would)."""

    def __init__(self, k):
        self.k = k

    def on_epoch_end(self, record, trainer):
        if record.epoch != self.k:
            return
        model, original, calls = trainer.model, trainer.model.loss_grad, []

        def loss_grad(*args):
            calls.append(1)
            if len(calls) == 3:
                trainer.request_stop()
            return original(*args)

        model.loss_grad = loss_grad  # the loop looks it up at the start of each epoch


OPTIONS = [
    dict(patience=0, momentum=0.0),
    # early stopping on (but not triggered): the final weights are the best epoch's, while
    # the checkpoint must hold the last epoch's; momentum adds the velocity to the state
    dict(patience=1000, momentum=0.5, schedule="cosine"),
]


@pytest.mark.parametrize("options", OPTIONS, ids=["plain", "patience-momentum-cosine"])
@pytest.mark.parametrize("stopper", [StopAfter, StopMidEpoch])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, small, options, stopper):
    base = dict(data=str(small), epochs=40, seed=3, runs_dir=str(tmp_path / "runs"),
                checkpoint_every=0.0, batch_size=16, **options)
    a = experiment.train(Config.from_dict(base, source="test"))
    b = experiment.train(Config.from_dict(base, source="test"), callbacks=[stopper(17)])
    assert a.summary["status"] == "finished" and b.summary["status"] == "interrupted"
    assert b.result.epochs_run == 17
    assert list(read_metrics(b.path)["epoch"]) == list(range(1, 18))
    c = experiment.train(Config.from_dict(base, source="test"), resume=b.path)
    assert c.path == b.path and c.summary["status"] == "finished"
    assert same_weights(a.path, b.path)
    metrics_a, metrics_b = read_metrics(a.path), read_metrics(b.path)
    assert list(metrics_b["epoch"]) == list(range(1, 41))
    columns = ["train_loss", "val_loss", "train_acc", "val_acc", "lr"]
    pd.testing.assert_frame_equal(metrics_a[columns], metrics_b[columns])
    assert c.summary["best_epoch"] == a.summary["best_epoch"]
    assert c.summary["best"]["val_loss"] == a.summary["best"]["val_loss"]
    assert c.summary["final"] == a.summary["final"]


def test_finished_run_resumed_with_more_epochs_equals_the_longer_run(tmp_path, small):
    base = dict(data=str(small), seed=5, patience=0, checkpoint_every=0.0,
                runs_dir=str(tmp_path / "runs"))
    long = experiment.train(Config.from_dict({**base, "epochs": 30}, source="test"))
    short = experiment.train(Config.from_dict({**base, "epochs": 20}, source="test"))
    resumed = experiment.train(Config.from_dict({**base, "epochs": 30}, source="test"),
                               resume=short.path)
    assert resumed.summary["status"] == "finished" and resumed.summary["epochs_run"] == 30
    assert same_weights(long.path, short.path)
    assert list(read_metrics(short.path)["epoch"]) == list(range(1, 31))


def test_sigint_then_resume_latest_equals_uninterrupted_run(tmp_path, big):
    opts = ("--epochs", "80", "--patience", "0", "--seed", "3", "--checkpoint-every", "0.2")
    a = mlpcli(tmp_path, "train", big, *opts, "--runs-dir", "a")
    assert a.returncode == 0, a.stderr

    proc = start(tmp_path, "train", big, *opts, "--runs-dir", "b")
    run = running_with(tmp_path / "b", proc, 3)
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc)
    assert code == 130, f"the run was not interrupted in time ({code}): {out}{err}"
    done = json.loads((run / "summary.json").read_text())["epochs_run"]
    assert 3 <= done < 80

    resumed = mlpcli(tmp_path, "train", "--resume", "latest", "--runs-dir", "b")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {done}" in resumed.stdout
    assert same_weights(the_run(tmp_path / "a"), run)
    assert list(read_metrics(run)["epoch"]) == list(range(1, 81))
    assert json.loads((run / "summary.json").read_text())["status"] == "finished"


# --- resume: what cannot be resumed is an error before anything changes --------------------------

def test_resume_errors_are_one_line_and_leave_the_run_untouched(tmp_path):
    done = mlpcli(tmp_path, "train", "xor", "--epochs", "30", "--patience", "0", "-q")
    assert done.returncode == 0, done.stderr
    run = the_run(tmp_path / "runs")
    no_checkpoint = run.with_name(run.name + "-copy")
    shutil.copytree(run, no_checkpoint)
    (no_checkpoint / "checkpoint.npz").unlink()
    old_layout = run.with_name(run.name + "-old")  # a checkpoint from before THETA_LAYOUT
    shutil.copytree(run, old_layout)
    with np.load(old_layout / "checkpoint.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    state = json.loads(str(arrays["state"]))
    del state["theta_layout"]
    arrays["state"] = np.array(json.dumps(state))
    np.savez(old_layout / "checkpoint.npz", **arrays)
    before = {p: snapshot(p) for p in (run, no_checkpoint, old_layout)}

    cases = [  # (arguments, words the error must contain); run concurrently to save time
        (("--resume", run.name), ["30 epochs", "--epochs"]),  # finished: same --epochs
        (("--resume", run.name, "--epochs", "10"), ["30 epochs", "--epochs N"]),
        (("--resume", no_checkpoint.name, "--epochs", "40"), ["checkpoint.npz"]),
        (("--resume", old_layout.name, "--epochs", "40"), ["older mlpcli", "--init"]),
    ]
    procs = [start(tmp_path, "train", *args) for args, _ in cases]
    for proc, (args, needles) in zip(procs, cases):
        code, _, err = finish(proc)
        assert code == 2, (args, err)
        one_line_error(err, *needles)
    assert {p: snapshot(p) for p in (run, no_checkpoint, old_layout)} == before


def test_resume_refuses_a_run_that_is_still_training(tmp_path, small):
    cfg = Config.from_dict(dict(data=str(small), epochs=5, runs_dir=str(tmp_path)), source="t")
    out = experiment.train(cfg)
    summary = json.loads((out.path / "summary.json").read_text())
    summary.update(status="running", pid=os.getpid())  # this very process: alive
    (out.path / "summary.json").write_text(json.dumps(summary))
    before = snapshot(out.path)
    # a trainer holds the run's lock (see test_store_lock.py)
    with runs.RunLock(out.path), pytest.raises(RunError,
                                               match=f"still training .process {os.getpid()}"):
        experiment.train(cfg.replace(epochs=10), resume=out.path)
    assert snapshot(out.path) == before


def test_resume_refuses_a_run_that_stopped_early(tmp_path):
    cfg = Config.from_dict(dict(data="xor", epochs=5000, patience=2, min_delta=10.0,
                                runs_dir=str(tmp_path)), source="t")
    out = experiment.train(cfg)
    assert out.summary["stopped_early"]
    with pytest.raises(ConfigError, match="stopped early.*--init"):
        experiment.train(cfg.replace(epochs=9000), resume=out.path)


# --- parallel runs -------------------------------------------------------------------------------

def test_eight_concurrent_trainings_get_eight_complete_distinct_runs(tmp_path):
    procs = [start(tmp_path, "train", "xor", "--epochs", "200", "--seed", i, "--name", "same",
                   "--runs-dir", "shared", "-q") for i in range(8)]
    for proc in procs:
        code, _, err = finish(proc)
        assert code == 0, err
    dirs = sorted(p for p in (tmp_path / "shared").iterdir())
    assert len(dirs) == 8 and len({p.name for p in dirs}) == 8
    seeds = set()
    for run in dirs:
        assert set(runs.RUN_FILES) <= {p.name for p in run.iterdir()}, run
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == "finished" and summary["id"] == run.name
        seeds.add(json.loads((run / "config.json").read_text())["options"]["seed"])
        assert len(read_metrics(run)) == 200
    assert seeds == set(range(8))  # each process wrote its own directory, not another's


# --- names and paths -----------------------------------------------------------------------------

def test_name_with_path_parts_stays_inside_the_runs_dir(tmp_path):
    (tmp_path / "work").mkdir()
    r = mlpcli(tmp_path / "work", "train", "xor", "--epochs", "5", "--name", "../../x",
               "--runs-dir", "a/runs", "-q")
    assert r.returncode == 0, r.stderr
    (run,) = (tmp_path / "work" / "a" / "runs").iterdir()
    assert run.parent == tmp_path / "work" / "a" / "runs"
    assert run.name.endswith("-x") and ".." not in run.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["a"]


@pytest.mark.parametrize("name", ["../../x", "..", "/etc/passwd", "a/b\\c", ".hidden",
                                  "x\n\ty\x00z", "-", "é" * 100])
def test_sanitized_names_are_one_safe_path_component(name):
    safe = runs.sanitize_name(name)
    assert safe and "/" not in safe and "\\" not in safe and ".." not in safe
    assert not safe.startswith(".") and safe.isprintable() and len(safe) <= 60


def test_unwritable_runs_dir_is_an_input_error_before_training(tmp_path):
    (tmp_path / "somefile").write_text("not a directory\n")
    procs = [start(tmp_path, "train", "xor", "--runs-dir", runs_dir)
             for runs_dir in ("somefile/runs", "somefile")]
    for proc in procs:
        code, out, err = finish(proc)
        assert code == 2, err
        one_line_error(err, "--runs-dir", "somefile")
        assert "epoch" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["somefile"]
    assert (tmp_path / "somefile").read_text() == "not a directory\n"


# --- damaged runs --------------------------------------------------------------------------------

def test_damaged_runs_are_reported_never_raised_and_never_modified(tmp_path):
    ok = mlpcli(tmp_path, "train", "xor", "--epochs", "20", "-q")
    assert ok.returncode == 0, ok.stderr
    good = the_run(tmp_path / "runs")
    damage = {
        "summary": ("summary.json", lambda b: b"{\x00garbage"),
        "config": ("config.json", lambda b: b"[1, 2"),
        "model": ("model.json", lambda b: b'"just a string"'),
        "weights": ("weights.npz", lambda b: b[: len(b) // 2]),
    }
    damaged = {}
    for label, (file, corrupt) in damage.items():
        run = tmp_path / "runs" / f"{good.name}-{label}"
        shutil.copytree(good, run)
        (run / file).write_bytes(corrupt((run / file).read_bytes()))
        damaged[label] = run
    before = {run: snapshot(run) for run in damaged.values()}

    procs = {("list", None): start(tmp_path, "runs", "list", "--csv", "-")}
    for label, run in damaged.items():
        procs[("show", label)] = start(tmp_path, "runs", "show", run.name)
        if label in ("model", "weights"):  # the files predict and evaluate need
            procs[("predict", label)] = start(tmp_path, "predict", run.name, "xor")
            procs[("evaluate", label)] = start(tmp_path, "evaluate", run.name, "xor")
    results = {key: finish(proc) for key, proc in procs.items()}

    code, out, err = results[("list", None)]
    assert code == 0 and "Traceback" not in err, err
    rows = pd.read_csv(io.StringIO(out)).set_index("id")
    assert len(rows) == 5 and rows.loc[good.name, "status"] == "finished"
    for label, run in damaged.items():
        assert rows.loc[run.name, "status"] == "damaged", label
        assert damage[label][0] in rows.loc[run.name, "error"], label
    for (command, label), (code, _, err) in results.items():
        if command != "list":
            assert code == 2, (command, label, err)
            one_line_error(err, damage[label][0], damaged[label].name)

    assert {run: snapshot(run) for run in damaged.values()} == before
    assert runs.Run(good).status() == "finished"


def test_truncated_checkpoint_is_a_clear_resume_error(tmp_path, small):
    cfg = Config.from_dict(dict(data=str(small), epochs=5, patience=0,
                                runs_dir=str(tmp_path)), source="t")
    out = experiment.train(cfg)
    data = (out.path / "checkpoint.npz").read_bytes()
    (out.path / "checkpoint.npz").write_bytes(data[: len(data) // 3])
    before = snapshot(out.path)
    with pytest.raises(RunError, match="checkpoint.npz"):
        experiment.train(cfg.replace(epochs=10), resume=out.path)
    assert snapshot(out.path) == before

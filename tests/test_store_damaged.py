"""A run whose files hold the wrong things is `damaged` (one row, with the reason), never an
error of a whole command; `show`/`predict`/`evaluate` on it stop with one line naming the file
and field. Special files where a run's file or --init belongs are refused without reading;
unreadable files and read-only runs are clean errors; `latest` ignores the time zone."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpcli import runs
from mlpcli.runs import files

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


def mlpcli(cwd: Path, *args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlpcli", *map(str, args)], cwd=cwd,
                          env=env or ENV, capture_output=True, text=True, timeout=60)


def one_line_error(r, *needles) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def edit_json(name: str, change):
    def damage(run: Path):
        value = json.loads((run / name).read_text())
        change(value)
        (run / name).write_text(json.dumps(value))
    return damage


def write(name: str, text: str):
    def damage(run: Path):
        (run / name).write_text(text)
    return damage


def nan_weights(run: Path):
    with np.load(run / "weights.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["W1"][0, 0] = np.nan
    np.savez(run / "weights.npz", **arrays)


def fifo(name: str):
    def damage(run: Path):
        (run / name).unlink()
        os.mkfifo(run / name)
    return damage


# label: (damage, file named in the error, field or words named in the error)
DAMAGE = {
    "huge batch size": (edit_json("config.json", lambda c: c["options"].update(
        batch_size=99999999999999999999)), "config.json", "options.batch_size"),
    "seed as text": (edit_json("config.json", lambda c: c["options"].update(seed="abc")),
                     "config.json", "options.seed"),
    "deep nesting": (write("config.json", '{"options": {"name": ' + "[" * 100_000 + "1"
                           + "]" * 100_000 + "}}"), "config.json", "nested"),
    "summary NaN": (write("summary.json", '{"status": "finished", "seconds": NaN}'),
                    "summary.json", "NaN"),
    "epochs as text": (edit_json("summary.json", lambda s: s.update(epochs_run="ten")),
                       "summary.json", "epochs_run"),
    "metrics text cell": (write("metrics.csv", "epoch,train_loss,val_loss,train_acc,val_acc,"
                                "lr,seconds\n1,abc,,0.5,,0.001,0.1\n"), "metrics.csv",
                          "train_loss"),
    "wrong dtype": (edit_json("model.json", lambda m: m.update(dtype="float16")),
                    "model.json", "dtype"),
    "no classes": (edit_json("model.json", lambda m: m["preprocessing"].update(classes=[])),
                   "model.json", "classes"),
    "categories of wrong type": (edit_json("model.json", lambda m: m["preprocessing"].update(
        categories={"x1": 5})), "model.json", "categories"),
    "huge layer": (edit_json("model.json", lambda m: m.update(layers=[2, 10**12, 1])),
                   "model.json", "layers"),
    "unknown loss": (edit_json("model.json", lambda m: m.update(loss="hinge")),
                     "model.json", "loss"),
    "NaN weights": (nan_weights, "weights.npz", "non-finite"),
    "summary is a FIFO": (fifo("summary.json"), "summary.json", "not a regular file"),
}
NEEDS_MODEL = {"wrong dtype", "no classes", "categories of wrong type", "huge layer",
               "unknown loss", "NaN weights"}


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> tuple[Path, Path, dict[str, Path]]:
    work = tmp_path_factory.mktemp("damaged")
    r = mlpcli(work, "train", "xor", "--epochs", "20", "-q")
    assert r.returncode == 0, r.stderr
    (good,) = (work / "runs").iterdir()
    made = {}
    for i, (label, (damage, _, _)) in enumerate(DAMAGE.items()):
        run = good.with_name(f"{good.name}-d{i:02d}")
        shutil.copytree(good, run)
        damage(run)
        made[label] = run
    return work, good, made


def test_runs_list_shows_each_damaged_run_as_one_damaged_row(damaged):
    """Fails on b35f5ce: OverflowError for the whole command, NaN accepted, FIFO hangs."""
    work, good, made = damaged
    r = mlpcli(work, "runs", "list", "--csv", "-")
    assert r.returncode == 0, r.stderr
    rows = pd.read_csv(io.StringIO(r.stdout)).set_index("id")
    assert len(rows) == len(DAMAGE) + 1 and rows.loc[good.name, "status"] == "finished"
    for label, run in made.items():
        _, file, words = DAMAGE[label]
        assert rows.loc[run.name, "status"] == "damaged", label
        assert file in rows.loc[run.name, "error"] and words in rows.loc[run.name, "error"], (
            label, rows.loc[run.name, "error"])
    table = mlpcli(work, "runs", "list")
    assert table.returncode == 0 and "Traceback" not in table.stderr


@pytest.mark.parametrize("label", list(DAMAGE))
def test_show_predict_evaluate_on_a_damaged_run_are_one_line_errors(damaged, label):
    work, _, made = damaged
    _, file, words = DAMAGE[label]
    commands = [("runs", "show", made[label].name)]
    if label in NEEDS_MODEL:
        commands += [("predict", made[label].name, "xor"), ("evaluate", made[label].name,
                                                             "xor", "--json")]
    for command in commands:
        r = mlpcli(work, *command)
        one_line_error(r, file, words)
        assert r.stdout == "", (command, r.stdout)  # no empty predictions, no NaN JSON


def test_compare_with_a_damaged_run_is_one_line(damaged):
    work, good, made = damaged
    r = mlpcli(work, "runs", "compare", good.name, made["huge batch size"].name)
    one_line_error(r, "config.json", "batch_size")


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_init_from_a_special_file_is_refused_without_reading(tmp_path, special):
    """Fails on b35f5ce: /dev/zero was read until memory ran out; a FIFO hung."""
    if special == "fifo":
        special = tmp_path / "weights.fifo"
        os.mkfifo(special)
    r = mlpcli(tmp_path, "train", "xor", "--init", special, "--epochs", "2")
    one_line_error(r, "--init", "not a regular file")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_oversized_json_is_refused_before_reading(tmp_path, monkeypatch):
    from mlpcli.errors import RunError

    (tmp_path / "big.json").write_text(json.dumps({"options": {"name": "x" * 200}}))
    with pytest.raises(RunError, match="big.json: too large"):
        files.read_json(tmp_path / "big.json", limit=100)


def test_unreadable_weights_is_a_one_line_error(cli, monkeypatch):
    """Root reads any file whatever its mode, so the permission error is injected at open."""
    assert cli("train", "xor", "--epochs", "5", "-q").code == 0
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if str(path).endswith("weights.npz"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", refuse)
    r = cli("predict", "latest", "xor")
    assert r.code == 2 and "weights.npz" in r.err and "permission denied" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1 and r.out == ""


def test_resume_in_a_read_only_run_directory_is_a_one_line_error(cli, monkeypatch):
    """Root may write anywhere, so the read-only directory is simulated through os.access."""
    assert cli("train", "xor", "--epochs", "5", "--patience", "0", "-q").code == 0
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: (
        False if "runs/" in str(p) and mode & os.W_OK else real_access(p, mode, **kw)))
    r = cli("train", "--resume", "latest", "--epochs", "9", "-q")
    assert r.code == 2 and "read-only" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1


def test_latest_does_not_depend_on_the_time_zone(tmp_path):
    """Fails on b35f5ce: ids were local time, so a run made under UTC+14 and then one under
    UTC-12 sorted the wrong way round and `latest` named the older one."""
    for name, tz in (("first", "EAST-14"), ("second", "WEST+12")):
        r = mlpcli(tmp_path, "train", "xor", "--epochs", "3", "--name", name, "-q",
                   env={**ENV, "TZ": tz})
        assert r.returncode == 0, r.stderr
    assert runs.run_name(runs.resolve_run("latest", tmp_path / "runs")) == "second"


def test_evaluate_warns_about_unseen_categories_as_predict_does(cli, tmp_path):
    rows = [("red", 0.1 * i, i % 2) for i in range(40)] + [("blue", 0.1 * i, 1 - i % 2)
                                                          for i in range(40)]
    train_csv = tmp_path / "colors.csv"
    pd.DataFrame(rows, columns=["color", "x", "y"]).to_csv(train_csv, index=False)
    assert cli("train", train_csv, "--epochs", "3", "-q").code == 0
    new_csv = tmp_path / "new.csv"
    pd.DataFrame([("purple", 0.5, 1), ("red", 0.2, 0)],
                 columns=["color", "x", "y"]).to_csv(new_csv, index=False)
    predicted = cli("predict", "latest", new_csv)
    evaluated = cli("evaluate", "latest", new_csv, "--json")
    assert predicted.code == 0 and evaluated.code == 0, evaluated.err
    assert "purple" in predicted.err and "purple" in evaluated.err
    assert json.loads(evaluated.out)["rows"] == 2


def test_a_run_name_without_glyphs_in_the_font_draws_no_warning(tmp_path):
    """Fails on b35f5ce: matplotlib's 'Glyph … missing from font' warnings reached stderr."""
    r = mlpcli(tmp_path, "train", "xor", "--epochs", "3", "--name", "実験 xor", "-q")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "loss.png").read_bytes()[:4] == b"\x89PNG"

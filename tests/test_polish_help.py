"""Help and messages: readable metavars, grouped train options, --debug listed, messages that
stay consistent and copy-pasteable, predictions that join back, loss.png's marks."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_dirs

from mlpcli import runs
from mlpcli.report.plots import SMOOTH_AFTER, loss_figure

PLACEHOLDERS = re.compile(r"\{[A-Za-z.]+\}|<(str|int|float|list\[str\]|int range|float range)>")
COMMANDS = [["train"], ["gradcheck"], ["predict"], ["evaluate"], ["sweep"], ["runs", "list"],
            ["runs", "show"], ["runs", "compare"], ["datasets", "make"], ["datasets", "list"], []]


def _help_in_a_pipe(*command: str, columns: int = 80) -> str:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "mlpcli", *command, "--help"], env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "main")
def test_help_has_readable_metavars_and_fits_80_columns(command):
    text = _help_in_a_pipe(*command)
    assert not PLACEHOLDERS.search(text), PLACEHOLDERS.search(text).group(0)
    assert max(map(len, text.splitlines())) <= 80
    assert "\x1b[" not in text  # plain text in a pipe


def test_usage_lines_and_types_read_as_words():
    assert "Usage: mlpcli runs compare [OPTIONS] RUN...\n" in _help_in_a_pipe("runs", "compare")
    assert "Usage: mlpcli evaluate [OPTIONS] RUN DATA\n" in _help_in_a_pipe("evaluate")
    make = _help_in_a_pipe("datasets", "make")
    assert "Usage: mlpcli datasets make [OPTIONS] KIND\n" in make
    assert re.search(r"--n 1\.\.N\s", make) and "[x>=1]" not in make
    assert re.search(r"-s, --seed INTEGER\s+Seed of the generator", make)
    train = _help_in_a_pipe("train")
    assert re.search(r"-e, --epochs INTEGER", train) and re.search(r"--lr FLOAT", train)
    assert re.search(r"--reduction \[sum\|mean\]", train)


def test_train_options_are_grouped_under_headings():
    text = _help_in_a_pipe("train")
    headings = [line[:-1] for line in text.splitlines() if re.fullmatch(r"[A-Z][a-z]+:", line)]
    assert headings == ["Arguments", "Data", "Network", "Optimisation", "Stopping", "Output",
                        "Options"]
    sections = dict(zip(headings, re.split(r"\n(?:[A-Z][a-z]+):\n", text)[1:]))
    assert "--test-frac" in sections["Data"] and "--hidden" in sections["Network"]
    assert "--lr" in sections["Optimisation"] and "--patience" in sections["Stopping"]
    assert "--resume" in sections["Output"] and "--help" in sections["Options"]
    # every option of train is listed once
    assert text.count("--batch-size") == 1


def test_main_help_lists_debug_and_quiet_says_what_it_prints():
    assert "--debug" in _help_in_a_pipe()
    quiet = " ".join(_help_in_a_pipe("train", columns=200).split("--quiet")[1].split())
    assert "closing lines" in quiet and "stderr" in quiet


def test_quiet_still_warns_on_stderr(cli, tmp_path):
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(60)], "x": np.arange(60.0),
                          "y": np.arange(60) % 2})
    frame.to_csv(tmp_path / "ids.csv", index=False)
    result = cli("train", "ids.csv", "--epochs", 2, "-q")
    assert result.code == 0 and "Warning:" in result.err and "'id'" in result.err
    assert "Warning" not in result.out


def test_resume_hint_is_one_unwrapped_command_at_80_columns(tmp_path):
    from rich.console import Console

    from mlpcli.console import TrainingDisplay

    class Outcome:
        path = tmp_path / "a-rather-long-folder-of-runs" / "20261128-034006-127941-digits-h64"
        summary = {"status": "interrupted", "epochs_run": 7, "seconds": 1.0}
        result = type("R", (), {"epochs_run": 7})()

    out = io.StringIO()
    display = TrainingDisplay(Console(file=out, width=80, soft_wrap=False), quiet=True)
    display.print_outcome(Outcome(), signalled=True)
    command = next(line for line in out.getvalue().splitlines() if "--resume" in line)
    assert command.strip() == (f"mlpcli train --resume {Outcome.path.name} "
                               f"--runs-dir {Outcome.path.parent}")


def test_divergence_is_one_consistent_message_naming_reduction_mean(cli):
    result = cli("train", "moons", "--lr", 0.5, "--batch-size", 256, "--epochs", 20)
    assert result.code == 1
    epoch = re.search(r"diverged in epoch (\d+)", result.err).group(1)
    assert f"diverged in epoch {epoch};" in result.out  # the same epoch on both lines
    assert "epochs in" not in result.out.split("run saved")[0].split("diverged")[1][:40]
    assert "--reduction mean --lr 16" in result.err  # 0.5 · 32: the default batch's step
    assert "8×" in result.err
    small = cli("train", "moons", "--lr", 5, "--batch-size", 16, "--epochs", 5)
    assert small.code == 1 and "--reduction mean" not in small.err


def test_datasets_make_never_writes_minus_zero(cli):
    for kind in ("moons", "circles", "spirals", "sine", "xor"):
        text = cli("datasets", "make", kind, "--n", 3000, "--seed", 4).out
        cells = {cell for line in text.splitlines()[1:] for cell in line.split(",")}
        assert "-0" not in cells, kind
    # spirals start at the origin, where the generator computes −0.0 (main wrote "-0,-0,1")
    spirals = cli("datasets", "make", "spirals", "--n", 3000, "--seed", 4).out.splitlines()
    assert "0,0,1" in spirals


def test_predict_keeps_row_numbers_and_true_target(cli, runs_dir, tmp_path):
    cli("train", "iris", "--epochs", 20, "-q")
    iris = pd.read_csv(Path(runs.Run(run_dirs(runs_dir)[0]).config()["dataset"]["path"]))
    iris.iloc[::-7].to_csv(tmp_path / "some.csv", index=False)
    predicted = pd.read_csv(io.StringIO(cli("predict", "latest", "some.csv").out))
    assert list(predicted.columns[:3]) == ["row", "species", "pred_species"]
    assert list(predicted["row"]) == list(range(len(iris.iloc[::-7])))
    assert list(predicted["species"]) == list(iris["species"].iloc[::-7])


def test_runs_api_accepts_str(cli, runs_dir):
    cli("train", "xor", "--epochs", 3, "-q")
    (path,) = run_dirs(runs_dir)
    assert runs.resolve_run(path.name, str(runs_dir)) == path
    assert runs.resolve_run(str(path)) == path and runs.resolve_run(path) == path
    run = runs.Run(str(path))
    assert run.path == path and run.id == path.name and run.summary()["status"] == "finished"


def _metrics(n: int, low: float = 0.5) -> pd.DataFrame:
    epochs = np.arange(1, n + 1)
    rng = np.random.default_rng(0)
    return pd.DataFrame({"epoch": epochs,
                         "train_loss": low + 0.3 * np.exp(-epochs / 100) + 0.02 * rng.random(n),
                         "val_loss": low + 0.35 * np.exp(-epochs / 100) + 0.02 * rng.random(n)})


def test_loss_plot_marks_the_saved_epoch_and_labels_a_narrow_log_axis():
    fig = loss_figure(_metrics(200), "run", kept_epoch=120)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    low, high = ax.get_ylim()
    labels = [t.get_text() for t, v in zip(ax.get_yticklabels(), ax.get_yticks())
              if low <= v <= high and t.get_text()]
    assert len(labels) >= 3, labels
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "saved weights (epoch 120)" in legend
    assert any(list(line.get_xdata()) == [120, 120] for line in ax.get_lines())  # the marker line


def test_loss_plot_smooths_long_runs_and_keeps_the_raw_curve_faint():
    short = loss_figure(_metrics(SMOOTH_AFTER)).axes[0].get_lines()
    long = loss_figure(_metrics(SMOOTH_AFTER + 1)).axes[0].get_lines()
    assert len(short) == 2 and len(long) == 4
    faint = [line for line in long if line.get_alpha() == 0.3]
    assert len(faint) == 2
    smooth = next(line for line in long if line.get_alpha() is None and
                  line.get_label() == "train")
    raw = faint[0].get_ydata()
    assert np.std(np.diff(smooth.get_ydata())) < np.std(np.diff(raw)) / 3


def test_run_loss_png_is_written_with_the_best_epoch(cli, runs_dir):
    cli("train", "moons", "--epochs", 40, "--patience", 5, "-q")
    (path,) = run_dirs(runs_dir)
    summary = json.loads((path / "summary.json").read_text())
    assert (path / "loss.png").read_bytes()[:4] == b"\x89PNG" and summary["best_epoch"] >= 1

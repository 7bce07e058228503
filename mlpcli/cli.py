"""The command line: parse options, call the library, render, map errors to exit codes.

Exit codes: 0 success · 1 gradcheck failed or training diverged · 2 usage or input error ·
130 interrupted (Ctrl-C) · 141 training's output closed · 143 terminated (SIGTERM). Errors are
one line on stderr; `--debug` anywhere on the command line shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlpcli import __version__
from mlpcli.config import (
    ACTIVATION_NAMES,
    DTYPES,
    INIT_SCHEMES,
    LOSS_NAMES,
    REDUCTIONS,
    SCHEDULES,
    TASKS,
    Config,
)
from mlpcli.errors import ConfigError, MlpcliError

SIGPIPE = 13  # `train` exits 128 + 13 = 141 when its output is closed, as a shell reports SIGPIPE

app = typer.Typer(
    name="mlpcli",
    help="Train small neural networks on CSV data, check their gradients, inspect the runs.\n\n"
         "Example: mlpcli train xor",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
runs_app = typer.Typer(rich_markup_mode=None, help="List, show and compare training runs.\n\nExample: mlpcli runs list",
                       no_args_is_help=True)
datasets_app = typer.Typer(rich_markup_mode=None, help="Bundled and generated datasets.\n\nExample: mlpcli datasets list",
                           no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(datasets_app, name="datasets")

D = Config()  # the defaults, shown in --help; Config is the only place they are written
_invocation: list[str] = ["mlpcli"]  # the command line being run, recorded in each run


def _choices(name: str, values) -> type[Enum]:
    """An Enum of option values for Typer, from the tuple config.py defines them in."""
    return Enum(name, {v: v for v in values}, type=str)


Reduction = _choices("Reduction", REDUCTIONS)
Loss = _choices("Loss", LOSS_NAMES)
Activation = _choices("Activation", ACTIVATION_NAMES)
InitScheme = _choices("InitScheme", INIT_SCHEMES)
Task = _choices("Task", TASKS)
Schedule = _choices("Schedule", SCHEDULES)
Dtype = _choices("Dtype", DTYPES)


# the generators of mlpcli/generate.py (named here: importing it would load pandas at start-up)
Kind = _choices("Kind", ("moons", "circles", "spirals", "sine", "xor"))


def _hidden(value: str | None):
    """'64' or '64,32' → (64,) or (64, 32)."""
    if value is None:
        return None
    try:
        widths = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise typer.BadParameter(f"expected widths like 16 or 64,32, got {value!r}") from None
    if not widths or min(widths) < 1:
        raise typer.BadParameter(f"layer widths must be ≥ 1, got {value!r}")
    return widths


def _positive(value: float, flag: str) -> float:
    if not value > 0:
        raise typer.BadParameter(f"must be > 0, got {value}", param_hint=flag)
    return value


def _names(values):
    """Repeatable option whose values may also be comma-separated: a,b → (a, b)."""
    if not values:
        return values
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


# --- options shared by train and gradcheck (one definition each) -------------------------------
Data = Annotated[Optional[str], typer.Argument(help="CSV file or bundled dataset name (xor, iris, moons, …).", show_default=False, metavar="DATA")]
Hidden = Annotated[Optional[str], typer.Option("--hidden", "-H", metavar="WIDTHS", help=f"Hidden layer widths, e.g. 16 or 64,32.  [default: {','.join(map(str, D.hidden))}]", callback=_hidden, show_default=False)]
Target = Annotated[Optional[list[str]], typer.Option("--target", "-t", metavar="COLUMN", help="Target column (repeat or comma-separate for several outputs).  [default: last column]", callback=_names, show_default=False)]
Features = Annotated[Optional[list[str]], typer.Option("--features", metavar="COLUMNS", help="Feature columns to use (comma-separated).  [default: all others]", callback=_names, show_default=False)]
DropColumns = Annotated[Optional[list[str]], typer.Option("--drop-columns", metavar="COLUMNS", help="Columns to leave out, e.g. an id column (comma-separated).", callback=_names, show_default=False)]
TaskOpt = Annotated[Task, typer.Option("--task", help="auto: classification for text, boolean or small-integer targets, else regression.")]
Standardize = Annotated[bool, typer.Option("--standardize/--no-standardize", help="Standardize features (and regression targets) with training-row statistics.")]
LossOpt = Annotated[Loss, typer.Option("--loss", help="mse: ½(ŷ−y)² (the lecture's); ce: softmax cross-entropy (classification).")]
ReductionOpt = Annotated[Reduction, typer.Option("--reduction", help="Gradient of a minibatch: sum over its examples (the lecture's rule) or mean.")]
ActivationOpt = Annotated[Activation, typer.Option("--activation", help="Hidden-layer activation.")]
InitSchemeOpt = Annotated[Optional[InitScheme], typer.Option("--init-scheme", help="Weight initialisation.  [default: he for relu, glorot otherwise]", show_default=False)]
Init = Annotated[Optional[Path], typer.Option("--init", metavar="FILE.npz", help="Start from these weights: an .npz with W1 b1 W2 b2 … (e.g. a run's weights.npz).", show_default=False)]
WeightDecay = Annotated[float, typer.Option("--weight-decay", help="λ: adds λ/2·‖W‖² to the objective (biases excluded).", min=0)]
Seed = Annotated[int, typer.Option("--seed", "-s", help="Seed for the split, initialisation and shuffling.")]
Sep = Annotated[Optional[str], typer.Option("--sep", metavar="SEP", help="CSV delimiter (',', ';', 'tab').  [default: sniffed]", show_default=False)]
Encoding = Annotated[Optional[str], typer.Option("--encoding", metavar="NAME", help="File encoding, e.g. latin-1.  [default: utf-8]", show_default=False)]
Dropna = Annotated[bool, typer.Option("--dropna", help="Drop rows with missing values instead of stopping.")]
RunsDir = Annotated[Path, typer.Option("--runs-dir", metavar="DIR", help="Folder of run directories.")]


def _explicit(ctx: typer.Context) -> dict:
    """The Config options the user actually gave (so a --config file supplies the rest)."""
    fields, given = set(Config.fields()), {}
    for key, value in ctx.params.items():
        source = ctx.get_parameter_source(key)
        if key not in fields or source is None or source.name not in ("COMMANDLINE",
                                                                        "ENVIRONMENT"):
            continue
        value = value.value if isinstance(value, Enum) else value
        given[key] = str(value) if isinstance(value, Path) else (
            tuple(value) if isinstance(value, list) else value)
    return given


def _read_config_file(path: Path, runs_dir: Path) -> dict:
    """Options from a JSON file, or from a run's config.json when `path` names a run."""
    from mlpcli.runs import read_json, resolve_run

    if not path.exists():
        try:
            path = resolve_run(str(path), runs_dir) / "config.json"
        except MlpcliError:
            raise ConfigError(f"--config {path}: no such file or run") from None
    try:
        raw = read_json(path)
    except MlpcliError as e:
        raise ConfigError(f"--config {e}") from None
    return raw.get("options", raw)  # a run's config.json, or a plain {option: value} file


# --- train --------------------------------------------------------------------------------------

@app.command(no_args_is_help=True)
def train(
    ctx: typer.Context,
    data: Data = None,
    hidden: Hidden = None,
    epochs: Annotated[int, typer.Option("--epochs", "-e", help="Maximum number of epochs.", min=1)] = D.epochs,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", help="Minibatch size.", min=1)] = D.batch_size,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate ε (W ← W − ε∇W).")] = D.lr,
    seed: Seed = D.seed,
    reduction: ReductionOpt = Reduction(D.reduction),
    val_frac: Annotated[Optional[float], typer.Option("--val-frac", help="Fraction of rows held out for validation.  [default: 0.2 with ≥ 50 rows, else 0]", show_default=False)] = None,
    standardize: Standardize = D.standardize,
    shuffle: Annotated[bool, typer.Option("--shuffle/--no-shuffle", help="Reshuffle the training rows every epoch (else file order).")] = D.shuffle,
    init: Init = None,
    target: Target = None,
    features: Features = None,
    drop_columns: DropColumns = None,
    task: TaskOpt = Task(D.task),
    loss: LossOpt = Loss(D.loss),
    activation: ActivationOpt = Activation(D.activation),
    init_scheme: InitSchemeOpt = None,
    momentum: Annotated[float, typer.Option("--momentum", help="μ: v ← μv + g, w ← w − εv (PyTorch's convention).")] = D.momentum,
    nesterov: Annotated[bool, typer.Option("--nesterov", help="Nesterov momentum (needs --momentum).")] = D.nesterov,
    weight_decay: WeightDecay = D.weight_decay,
    schedule: Annotated[Schedule, typer.Option("--schedule", help="Learning-rate schedule over epochs.")] = Schedule(D.schedule),
    lr_min: Annotated[float, typer.Option("--lr-min", help="cosine: the final learning rate.")] = D.lr_min,
    step_size: Annotated[int, typer.Option("--step-size", help="step: epochs between decays.")] = D.step_size,
    gamma: Annotated[float, typer.Option("--gamma", help="step: decay factor.")] = D.gamma,
    patience: Annotated[int, typer.Option("--patience", help="Stop after this many epochs without improvement (val loss, else train loss); 0 = off.")] = D.patience,
    min_delta: Annotated[float, typer.Option("--min-delta", help="Smallest loss decrease that counts as improvement.")] = D.min_delta,
    dtype: Annotated[Dtype, typer.Option("--dtype", help="Floating-point type for training and saved weights.")] = Dtype(D.dtype),
    dropna: Dropna = D.dropna,
    sep: Sep = None,
    encoding: Encoding = None,
    runs_dir: RunsDir = Path(D.runs_dir),
    name: Annotated[Optional[str], typer.Option("--name", "-n", metavar="NAME", help="Name for the run (part of its id).", show_default=False)] = None,
    checkpoint_every: Annotated[float, typer.Option("--checkpoint-every", help="Seconds between checkpoints (0 = off).")] = D.checkpoint_every,
    config: Annotated[Optional[Path], typer.Option("--config", metavar="FILE|RUN", help="Take options from a JSON file or from a run (its config.json); options given here override them.", show_default=False)] = None,
    resume: Annotated[Optional[str], typer.Option("--resume", metavar="RUN", help="Continue a run (id, prefix, path or 'latest') from its checkpoint.", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the final line.")] = False,
):
    """Train an MLP on a CSV and save the run to runs/<id>/.

    Example: mlpcli train datasets/xor.csv --hidden 8 --epochs 2000
    """
    from mlpcli import console, experiment, runs

    given = _explicit(ctx)
    resume_path = None
    if resume is not None:
        resume_path = runs.resolve_run(resume, runs_dir)
        allowed = {"epochs", "checkpoint_every", "runs_dir"}
        extra = sorted(set(given) - allowed)
        if extra:
            raise ConfigError(f"--resume continues a run with its own options; only --epochs "
                              f"can change (got --{extra[0].replace('_', '-')})")
        options = runs.Run(resume_path).config().get("options", {})
        options.update(runs_dir=str(resume_path.parent))
    elif config is not None:
        options = _read_config_file(config, runs_dir)
    else:
        options = {}
    options = {**options, **given}
    if not options.get("data"):
        raise typer.BadParameter("give a CSV file or bundled dataset name, e.g. "
                                 "'mlpcli train xor'", param_hint="DATA")
    cfg = Config.from_dict(options, source=str(config or "options"))

    out = console.make_console()
    display = console.TrainingDisplay(out, quiet=quiet)
    # Ctrl-C / SIGTERM: before training starts they abort at once (nothing is written yet);
    # during training the trainer finishes its minibatch, the run is saved, exit 130 / 143
    caught: dict = {}

    def stop(signum, frame):
        caught.setdefault("signal", signum)
        trainer = caught.get("trainer")
        if trainer is None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)
        trainer.request_stop()

    def on_start(trainer):
        caught["trainer"] = trainer

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        outcome = experiment.train(cfg, callbacks=[display], argv=list(_invocation),
                                   resume=resume_path, on_start=on_start)
    finally:
        display.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print_outcome(out, outcome, quiet)
    status = outcome.summary["status"]
    if status == "diverged":
        console.error(outcome.summary["error"])
        raise typer.Exit(1)
    if status == "interrupted":
        resume_hint = (f"continue with: mlpcli train --resume {outcome.path.name} "
                       f"--runs-dir {outcome.path.parent}")
        if display.output_closed and "signal" not in caught:  # e.g. `mlpcli train … | head`
            console.make_console(stderr=True).print(
                f"output closed: training stopped after epoch {outcome.result.epochs_run}; "
                f"{resume_hint}")
            raise typer.Exit(128 + SIGPIPE)
        signum = caught.get("signal", signal.SIGINT)
        out.print(f"interrupted after epoch {outcome.result.epochs_run}; {resume_hint}")
        raise typer.Exit(128 + int(signum))


# --- gradcheck ----------------------------------------------------------------------------------

@app.command(short_help="Check backprop gradients against finite differences.")
def gradcheck(
    ctx: typer.Context,
    data: Data = None,
    hidden: Hidden = None,
    samples: Annotated[int, typer.Option("--samples", help="Rows of DATA to check on (or random rows without DATA).", min=1)] = 16,
    inputs: Annotated[int, typer.Option("--inputs", help="Random data: number of inputs.", min=1)] = 3,
    outputs: Annotated[int, typer.Option("--outputs", help="Random data: number of outputs (classes with --loss ce).", min=1)] = 2,
    reduction: ReductionOpt = Reduction(D.reduction),
    loss: LossOpt = Loss(D.loss),
    activation: ActivationOpt = Activation(D.activation),
    init_scheme: InitSchemeOpt = None,
    init: Init = None,
    weight_decay: WeightDecay = D.weight_decay,
    seed: Seed = D.seed,
    target: Target = None,
    features: Features = None,
    drop_columns: DropColumns = None,
    task: TaskOpt = Task(D.task),
    standardize: Standardize = D.standardize,
    dropna: Dropna = D.dropna,
    sep: Sep = None,
    encoding: Encoding = None,
    eps: Annotated[float, typer.Option("--eps", help="ε of the centered difference (f(θ+ε) − f(θ−ε)) / 2ε.", callback=lambda v: _positive(v, "--eps"))] = 1e-6,
    tol: Annotated[float, typer.Option("--tol", help="Largest relative error that passes.", callback=lambda v: _positive(v, "--tol"))] = 1e-7,
    max_coords: Annotated[int, typer.Option("--max-coords", help="Check at most this many coordinates per tensor (a seeded sample beyond).", min=1)] = 2000,
    explain: Annotated[bool, typer.Option("--explain", help="Show every parameter; for the 2-2-1 network, the lecture's hand-derived ∂f/∂w1…∂f/∂b3 too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
):
    """Check backprop's gradients against finite differences, parameter by parameter.

    Exit code 0 when every tensor passes, 1 when any fails.

    Example: mlpcli gradcheck datasets/xor.csv --hidden 2 --explain
    """
    from mlpcli import console, experiment
    from mlpcli.core import gradcheck as gc

    given = _explicit(ctx)
    cfg = Config.from_dict(given, source="options")
    model, X, Y, _ = experiment.gradcheck_problem(cfg, samples, inputs, outputs)
    report = gc.check_gradients(model, X, Y, loss=cfg.loss, reduction=cfg.reduction,
                                weight_decay=cfg.weight_decay, eps=eps, tol=tol,
                                max_coords=max_coords, seed=cfg.seed, keep_coordinates=explain)
    # the verdict is the exit status, even if the reader stops early (`… | head`)
    with contextlib.suppress(console.OutputClosed):
        if as_json:
            console.write_stdout(json.dumps(report.to_dict(), indent=2) + "\n")
        else:
            _show_gradcheck(report, model, X, Y, cfg, explain)
    raise typer.Exit(0 if report.passed else 1)


def _show_gradcheck(report, model, X, Y, cfg: Config, explain: bool) -> None:
    from mlpcli import console
    from mlpcli.core import gradcheck as gc

    out = console.make_console()
    source = cfg.data or f"random data ({len(X)} rows)"
    out.print(f"network {'-'.join(map(str, model.sizes))} ({model.activation}), loss {cfg.loss}, "
              f"reduction {cfg.reduction}, weight decay {cfg.weight_decay:g}, on {source}, "
              f"float64")
    if explain:
        rows = _explain_rows(report, model, X, Y, cfg)
        lecture = gc.is_lecture_network(model, cfg.loss)
        table, note = console.explain_table(rows, lecture, cap=9 if lecture else 60)
        out.print(table)
        if note:
            out.print(note)
        if lecture:
            out.print("by hand: ∂f/∂p = Σ over examples of (ŷ − y)·∂ŷ/∂p, e.g. "
                      "∂ŷ/∂w1 = w5·σ'(w1x1 + w2x2 + b1)·x1, ∂ŷ/∂w5 = σ(w1x1 + w2x2 + b1), "
                      "∂ŷ/∂b3 = 1")
            if cfg.data and cfg.standardize:
                out.print("x1, x2 are the standardized inputs (XOR's 0/1 become ±1); add "
                          "--no-standardize to use the raw values as in the lecture")
    out.print(console.gradcheck_table(report))
    out.print(console.gradcheck_verdict(report))


def _explain_rows(report, model, X, Y, cfg) -> list[dict]:
    from mlpcli.core import gradcheck as gc

    by_name = {c.name: c for c in report.coordinates}
    if gc.is_lecture_network(model, cfg.loss):
        hand = gc.lecture_gradients(model, X, Y, cfg.reduction, cfg.weight_decay)
        rows = []
        for p, coord in gc.lecture_coordinate_names().items():
            c = by_name[coord]
            rows.append({"name": p, "tensor": coord, "value": c.value, "lecture": hand[p],
                         "backprop": c.backprop, "numerical": c.numerical, "kink": c.kink})
        return rows
    return [{"name": c.name, "value": c.value, "backprop": c.backprop,
             "numerical": c.numerical, "kink": c.kink} for c in report.coordinates]


# --- predict / evaluate -------------------------------------------------------------------------

RunArg = Annotated[str, typer.Argument(help="Run id, unique id prefix, run name (its newest run), path, or 'latest'.", show_default=False, metavar="RUN")]
LabelledData = Annotated[str, typer.Argument(help="CSV file or bundled dataset name.", show_default=False, metavar="DATA")]


@app.command(short_help="Predict with a trained run on a CSV.")
def predict(
    run: RunArg,
    data: LabelledData,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="FILE", help="Write the CSV here instead of stdout.", show_default=False)] = None,
    runs_dir: RunsDir = Path(D.runs_dir),
    sep: Sep = None,
    encoding: Encoding = None,
):
    """Predict with a trained run on a CSV (the target column may be absent).

    Example: mlpcli predict latest datasets/xor.csv --out predictions.csv
    """
    from mlpcli import console, runs

    run_obj = runs.Run(runs.resolve_run(run, runs_dir))
    frame, warnings = runs.predict(run_obj, data, sep=sep, encoding=encoding)
    for w in warnings:
        console.warn(w)
    text = frame.to_csv(index=False)
    if out is None:
        console.write_stdout(text)
    else:
        _write_output(out, text, "--out")
        console.make_console(stderr=True).print(f"wrote {len(frame)} predictions to {out}")


@app.command(short_help="Score a trained run on labelled data.")
def evaluate(
    run: RunArg,
    data: LabelledData,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    runs_dir: RunsDir = Path(D.runs_dir),
    sep: Sep = None,
    encoding: Encoding = None,
):
    """Loss and accuracy (classification) or R² and RMSE (regression) of a run on labelled data.

    Example: mlpcli evaluate latest datasets/xor.csv
    """
    from mlpcli import console, runs

    run_obj = runs.Run(runs.resolve_run(run, runs_dir))
    scores, warnings = runs.evaluate(run_obj, data, sep=sep, encoding=encoding)
    for w in warnings:
        console.warn(w)
    if as_json:
        typer.echo(json.dumps(scores))
        return
    items = [(k, console.fmt(v, "acc" if k == "accuracy" else
                             "int" if k == "rows" else "loss")) for k, v in scores.items()]
    console.make_console().print(console.key_value_table(f"{run_obj.id} on {data}", items))


# --- runs ---------------------------------------------------------------------------------------

@runs_app.command("list")
def runs_list(
    runs_dir: RunsDir = Path(D.runs_dir),
    sort: Annotated[Optional[str], typer.Option("--sort", metavar="COLUMN", help="Sort by this column (ascending; e.g. val_loss).  [default: newest first]", show_default=False)] = None,
    csv: Annotated[Optional[str], typer.Option("--csv", metavar="FILE|-", help="Write the rows as CSV to FILE, or '-' for stdout.", show_default=False)] = None,
):
    """One row per run: options, status and final metrics.

    Example: mlpcli runs list --sort val_loss
    """
    from mlpcli import console, runs

    frame = runs.list_runs(runs_dir, sort=sort)
    if csv is not None:
        text = frame.to_csv(index=False)
        if csv == "-":
            console.write_stdout(text)
        else:
            _write_output(Path(csv), text, "--csv")
        return
    out = console.make_console()
    if frame.empty:
        out.print(f"no runs in {runs_dir}; train one with: mlpcli train xor")
        return
    out.print(console.runs_table(frame, width=out.width))


@runs_app.command("show")
def runs_show(run: RunArg, runs_dir: RunsDir = Path(D.runs_dir)):
    """A run's configuration, status, metrics, files and loss curve.

    Example: mlpcli runs show latest
    """
    from mlpcli import console, runs

    path = runs.resolve_run(run, runs_dir)
    out = console.make_console()
    for renderable in console.run_report(runs.Run(path)):
        out.print(renderable)


@runs_app.command("compare", short_help="Compare runs: differing options, metrics.")
def runs_compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more runs.", show_default=False, metavar="RUN...")],
    plot: Annotated[Optional[Path], typer.Option("--plot", metavar="FILE.png", help="Save the overlaid loss curves to this PNG.", show_default=False)] = None,
    runs_dir: RunsDir = Path(D.runs_dir),
):
    """The options that differ between runs, and their metrics side by side.

    Example: mlpcli runs compare 2026 latest --plot compare.png
    """
    from mlpcli import console, runs

    if len(run_ids) < 2:
        raise typer.BadParameter("give at least two runs to compare", param_hint="RUN_IDS")
    selected = [runs.Run(runs.resolve_run(r, runs_dir)) for r in run_ids]
    out = console.make_console()
    out.print(console.compare_table(selected))
    if plot is not None:
        from mlpcli.report.plots import comparison_plot

        runs.write_user_file(plot, comparison_plot({r.id: r.metrics() for r in selected}), "--plot")
        out.print(f"loss curves saved to {plot}")


# --- datasets -----------------------------------------------------------------------------------

@datasets_app.command("list")
def datasets_list():
    """Name, rows, features, target and task of every bundled dataset.

    Example: mlpcli datasets list
    """
    from rich.table import Table

    from mlpcli import console
    from mlpcli import data as data_mod

    table = Table(header_style="bold")
    for col in ("name", "rows", "features", "target", "task"):
        table.add_column(col, justify="right" if col in ("rows", "features") else "left")
    for row in data_mod.describe_bundled():
        table.add_row(row["name"], str(row["rows"]), str(row["features"]), row["target"],
                      row["task"])
    console.make_console().print(table)


@datasets_app.command("make")
def datasets_make(
    kind: Annotated[Kind, typer.Argument(help="Which dataset to generate.")],
    n: Annotated[Optional[int], typer.Option("--n", help="Number of rows.  [default: per kind]", min=1, show_default=False)] = None,
    noise: Annotated[Optional[float], typer.Option("--noise", help="Noise level σ.  [default: per kind]", min=0, show_default=False)] = None,
    seed: Seed = 0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="FILE", help="Write here instead of stdout.", show_default=False)] = None,
):
    """Generate a seeded dataset as CSV (target last).

    Example: mlpcli datasets make moons --n 500 --noise 0.1 --out moons.csv
    """
    from mlpcli import console
    from mlpcli.data import generate

    try:
        frame = generate.generate(kind.value, n=n, noise=noise, seed=seed)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    text = frame.to_csv(index=False, float_format="%.6g")
    if out is None:
        console.write_stdout(text)
    else:
        _write_output(out, text, "--out")
        typer.echo(f"wrote {len(frame)} rows to {out}", err=True)


def _write_output(path: Path, text: str, flag: str) -> None:
    """Write a command's output file (through devices, FIFOs, symlinks), or fail in one line."""
    from mlpcli import runs

    runs.write_user_file(path, text.encode(), flag)


# --- entry point --------------------------------------------------------------------------------

def _version(value: bool):
    if value:
        typer.echo(f"mlpcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.", callback=_version, is_eager=True)] = False,
):
    """Train small neural networks on CSV data, check their gradients, inspect the runs.

    Example: mlpcli train xor
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app and turn every error into an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    _invocation[1:] = args
    from mlpcli import console

    try:
        # without standalone mode, a command's typer.Exit(code) comes back as the return value
        returned = app(args=args, prog_name="mlpcli", standalone_mode=False)
        code = returned if isinstance(returned, int) else 0
        sys.stdout.flush()  # here, where a closed pipe is handled, rather than at exit
    except typer.Exit as e:
        code = e.exit_code
    except typer.TyperException as e:  # usage errors: bad option, value out of range, …
        if debug:
            raise
        if type(e).__name__ == "NoArgsIsHelpError":  # a command given no arguments: its help
            sys.stdout.write(e.format_message() + "\n")
        else:
            console.error(_usage_message(e))
        code = getattr(e, "exit_code", 2)
    except (typer.Abort, KeyboardInterrupt):
        if debug:
            raise
        console.error("interrupted")
        code = 130
    except MlpcliError as e:
        if debug:
            raise
        console.error(str(e))
        code = e.exit_code
    except (console.OutputClosed, BrokenPipeError):  # `mlpcli predict … | head`: the reader
        console.silence(sys.stdout)  # has what it wanted
        code = 0
    except Exception as e:  # a bug: say so in one line; --debug shows where
        if debug:
            raise
        console.error(f"unexpected {type(e).__name__}: {e} (rerun with --debug to see where, "
                      f"and please report it)")
        code = 1
    sys.exit(code)


def _usage_message(e: typer.TyperException) -> str:
    format_message = getattr(e, "format_message", None)
    message = " ".join((format_message() if format_message else str(e)).split())
    ctx = getattr(e, "ctx", None)
    if ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message

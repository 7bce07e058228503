"""The command line: parse options, call the library, render, map errors to exit codes.

Exit codes: 0 success · 1 gradcheck failed or training diverged · 2 usage or input error, or
stdout could not be written · 130 interrupted (Ctrl-C) · 141 training's output closed · 143
terminated (SIGTERM). Errors are one line on stderr; `--debug` anywhere on the command line shows
the traceback instead.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlpcli import __version__, config
from mlpcli.cli_groups import cache_app, datasets_app, runs_app, write_output, write_text
from mlpcli.clihelp import Command, Group, GroupedCommand
from mlpcli.config import (
    Config,
    GradcheckSettings,
)
from mlpcli.errors import ConfigError, MlpcliError
from mlpcli.options import (
    Activation,
    ActivationOpt,
    CacheDir,
    ClassWeight,
    D,
    Data,
    DropColumns,
    Dropna,
    Dtype,
    Encoding,
    Features,
    G,
    Hidden,
    Init,
    InitSchemeOpt,
    LabelledData,
    Loss,
    LossOpt,
    NoCache,
    OptimizerName,
    Reduction,
    ReductionOpt,
    RunArg,
    RunsDir,
    SampleWeight,
    Schedule,
    Seed,
    Sep,
    Split,
    Standardize,
    Target,
    Task,
    TaskOpt,
    Threads,
    WeightDecay,
    _floats,
)

app = typer.Typer(
    name="mlpcli",
    cls=Group,
    help="Train small neural networks on CSV data, check their gradients, inspect the runs.\n\n"
         "Example: mlpcli train xor",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (see mlpcli/completion.py)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(runs_app, name="runs")
app.add_typer(datasets_app, name="datasets")
app.add_typer(cache_app, name="cache")

_invocation: list[str] = ["mlpcli"]  # the command line being run, recorded in each run
COMPLETE_VAR = "_MLPCLI_COMPLETE"  # set by the script of --install-completion
OUTPUT_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)  # stdout cannot be written


# --- train --------------------------------------------------------------------------------------

@app.command(cls=GroupedCommand, no_args_is_help=True)
def train(
    ctx: typer.Context,
    data: Data = None,
    hidden: Hidden = None,
    epochs: Annotated[int, typer.Option("--epochs", "-e", rich_help_panel="Stopping", help="Maximum number of epochs.")] = D.epochs,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", rich_help_panel="Optimisation", help="Minibatch size (larger than the data: one batch of all rows).")] = D.batch_size,
    lr: Annotated[Optional[float], typer.Option("--lr", rich_help_panel="Optimisation", help="Learning rate ε (W ← W − ε∇W).  [default: sgd 0.001; adam, adamw, rmsprop 0.01; adagrad 0.1; unused by lbfgs]", show_default=False)] = None,
    seed: Seed = D.seed,
    reduction: ReductionOpt = Reduction(D.reduction),
    val_frac: Annotated[Optional[float], typer.Option("--val-frac", rich_help_panel="Data", help=f"Fraction of rows held out for validation.  [default: {config.VAL_FRAC:g} with ≥ {config.MIN_ROWS_FOR_VAL} rows, else 0]", show_default=False)] = None,
    test_frac: Annotated[float, typer.Option("--test-frac", metavar="F", rich_help_panel="Data", help="Fraction of rows held out as test rows (stratified for classification): never trained or validated on, scored once at the end.")] = D.test_frac,
    val_file: Annotated[Optional[str], typer.Option("--val-file", metavar="CSV", rich_help_panel="Data", help="Validation rows from this file (same columns and classes) instead of a split.", show_default=False)] = None,
    test_file: Annotated[Optional[str], typer.Option("--test-file", metavar="CSV", rich_help_panel="Data", help="Test rows from this file (same columns and classes), scored once at the end.", show_default=False)] = None,
    standardize: Standardize = D.standardize,
    shuffle: Annotated[bool, typer.Option("--shuffle/--no-shuffle", rich_help_panel="Optimisation", help="Reshuffle the training rows every epoch (else file order).")] = D.shuffle,
    init: Init = None,
    target: Target = None,
    features: Features = None,
    drop_columns: DropColumns = None,
    task: TaskOpt = Task(D.task),
    loss: LossOpt = Loss(D.loss),
    activation: ActivationOpt = Activation(D.activation),
    init_scheme: InitSchemeOpt = None,
    momentum: Annotated[float, typer.Option("--momentum", rich_help_panel="Optimisation", help="μ: v ← μv + g, w ← w − εv (PyTorch's convention).")] = D.momentum,
    nesterov: Annotated[bool, typer.Option("--nesterov", rich_help_panel="Optimisation", help="Nesterov momentum (needs --momentum).")] = D.nesterov,
    weight_decay: WeightDecay = D.weight_decay,
    schedule: Annotated[Schedule, typer.Option("--schedule", rich_help_panel="Optimisation", help="Learning-rate schedule over epochs.")] = Schedule(D.schedule),
    lr_min: Annotated[float, typer.Option("--lr-min", rich_help_panel="Optimisation", help="cosine: the final learning rate; plateau: the lowest.")] = D.lr_min,
    step_size: Annotated[int, typer.Option("--step-size", rich_help_panel="Optimisation", help="step: epochs between decays.")] = D.step_size,
    gamma: Annotated[float, typer.Option("--gamma", rich_help_panel="Optimisation", help="step: decay factor.")] = D.gamma,
    patience: Annotated[int, typer.Option("--patience", rich_help_panel="Stopping", help="Stop after this many epochs without improvement (val loss, else train loss); 0 = off.")] = D.patience,
    min_delta: Annotated[float, typer.Option("--min-delta", rich_help_panel="Stopping", help="Smallest loss decrease that counts as improvement.")] = D.min_delta,
    dtype: Annotated[Dtype, typer.Option("--dtype", rich_help_panel="Network", help="Floating-point type for training and saved weights.")] = Dtype(D.dtype),
    dropna: Dropna = D.dropna,
    sep: Sep = None,
    encoding: Encoding = None,
    runs_dir: RunsDir = D.runs_dir,
    name: Annotated[Optional[str], typer.Option("--name", "-n", rich_help_panel="Output", metavar="NAME", help="Name for the run (part of its id).", show_default=False)] = None,
    checkpoint_every: Annotated[float, typer.Option("--checkpoint-every", rich_help_panel="Output", help="Seconds between checkpoints (0 = off).")] = D.checkpoint_every,
    config_file: Annotated[Optional[Path], typer.Option("--config", rich_help_panel="Output", metavar="FILE|RUN", help="Take options from a JSON file or from a run (its config.json); options given here override them.", show_default=False)] = None,
    resume: Annotated[Optional[str], typer.Option("--resume", rich_help_panel="Output", metavar="RUN", help="Continue a run (id, prefix, path or 'latest') from its checkpoint.", show_default=False)] = None,
    animate: Annotated[bool, typer.Option("--animate", rich_help_panel="Output", help="Also write training.gif: the decision boundary every few epochs (two inputs).")] = D.animate,
    threads: Threads = "auto",
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", rich_help_panel="Output", help="Print only the closing lines: how the run ended, its final (and test) metrics and where it was saved; warnings and errors still go to stderr.")] = False,
    # --- optimizers, plateau schedule, clipping, class weights (README "Optimizers and schedules")
    optimizer: Annotated[OptimizerName, typer.Option("--optimizer", rich_help_panel="Optimisation", help="sgd (the lecture's), adam, adamw, rmsprop, adagrad (PyTorch's rules and defaults) or lbfgs (full batch, SciPy's L-BFGS-B; --epochs = its iterations).")] = OptimizerName(D.optimizer),
    betas: Annotated[Optional[str], typer.Option("--betas", rich_help_panel="Optimisation", metavar="B1,B2", help="adam, adamw: β₁,β₂ of the moment averages.  [default: 0.9,0.999]", callback=lambda v: _floats(v, "--betas"), show_default=False)] = None,
    adam_eps: Annotated[float, typer.Option("--adam-eps", rich_help_panel="Optimisation", help="adam, adamw: eps in ε·m̂/(√v̂ + eps).")] = D.adam_eps,
    alpha: Annotated[float, typer.Option("--alpha", rich_help_panel="Optimisation", help="rmsprop: smoothing constant of the squared-gradient average (with --momentum and --centered as PyTorch).")] = D.alpha,
    centered: Annotated[bool, typer.Option("--centered", rich_help_panel="Optimisation", help="rmsprop: divide by the gradient's estimated standard deviation.")] = D.centered,
    lr_decay: Annotated[float, typer.Option("--lr-decay", rich_help_panel="Optimisation", help="adagrad: ε_t = ε / (1 + (t−1)·lr_decay).")] = D.lr_decay,
    warmup: Annotated[int, typer.Option("--warmup", rich_help_panel="Optimisation", help="Linear learning-rate warm-up over the first N epochs (any schedule).")] = D.warmup,
    factor: Annotated[float, typer.Option("--factor", rich_help_panel="Optimisation", help="plateau: multiply the learning rate by this on a plateau.")] = D.factor,
    plateau_patience: Annotated[int, typer.Option("--plateau-patience", rich_help_panel="Optimisation", help="plateau: epochs without improvement of the monitored loss before reducing.")] = D.plateau_patience,
    threshold: Annotated[float, typer.Option("--threshold", rich_help_panel="Optimisation", help="plateau: relative improvement that counts (loss < best·(1 − threshold)).")] = D.threshold,
    cooldown: Annotated[int, typer.Option("--cooldown", rich_help_panel="Optimisation", help="plateau: epochs to wait after a reduction.")] = D.cooldown,
    clip_norm: Annotated[Optional[float], typer.Option("--clip-norm", rich_help_panel="Optimisation", metavar="C", help="Scale each minibatch gradient to global L2 norm ≤ C before the update.", show_default=False)] = None,
    class_weight: ClassWeight = None,
    sample_weight: SampleWeight = None,
    ftol: Annotated[float, typer.Option("--ftol", rich_help_panel="Optimisation", help="lbfgs: SciPy's ftol (stop when the relative decrease of f is below it).")] = D.ftol,
    gtol: Annotated[float, typer.Option("--gtol", rich_help_panel="Optimisation", help="lbfgs: SciPy's gtol (stop when every projected-gradient component is below it).")] = D.gtol,
    maxcor: Annotated[int, typer.Option("--maxcor", rich_help_panel="Optimisation", help="lbfgs: SciPy's maxcor (correction pairs kept).")] = D.maxcor,
):
    """Train an MLP on a CSV and save the run to runs/<id>/.

    Example: mlpcli train datasets/xor.csv --hidden 8 --epochs 2000
    """
    from mlpcli import console, experiment, runs
    from mlpcli.signals import StopOnSignals

    cfg, resume_path = config.train_options(config.given_options(ctx), config=config_file,
                                            resume=resume, find_run=runs.resolve_run)
    with console.TrainingDisplay(quiet=quiet) as display, StopOnSignals() as stop:
        outcome = experiment.train(cfg, callbacks=[display], argv=list(_invocation),
                                   resume=resume_path, on_start=stop.attach)
    display.print_outcome(outcome, signalled=stop.signum is not None)
    raise typer.Exit(stop.exit_code(outcome.summary["status"], display))


# --- sweep --------------------------------------------------------------------------------------

@app.command(cls=Command, short_help="Run many trainings: grid or random search, seeds, k-fold CV.",
             no_args_is_help=True, options_metavar="DATA [TRAIN OPTIONS] [OPTIONS]",
             context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def sweep(
    ctx: typer.Context,
    grid: Annotated[Optional[list[str]], typer.Option("--grid", metavar="NAME=V1|V2", help="Swept option and its values, e.g. lr=0.001|0.01 or \"hidden=8|64,32\" (repeatable; the grid is their product).", show_default=False)] = None,
    sample: Annotated[Optional[list[str]], typer.Option("--sample", metavar="NAME=DIST", help="Random-search distribution: log:A:B, uniform:A:B, int:A:B or a choice a|b|c (repeatable).", show_default=False)] = None,
    random: Annotated[Optional[int], typer.Option("--random", metavar="N", help="Draw N configurations from the --sample distributions (seeded by --seed).", min=1, show_default=False)] = None,
    seeds: Annotated[Optional[int], typer.Option("--seeds", metavar="K", help="Repeat every configuration with seeds seed, seed+1, …, seed+K−1.  [default: 1]", min=1, show_default=False)] = None,
    folds: Annotated[Optional[int], typer.Option("--folds", metavar="K", help="K-fold cross-validation (stratified for classification), the same folds for every configuration.", min=2, show_default=False)] = None,
    spec_file: Annotated[Optional[Path], typer.Option("--spec", metavar="FILE", help="A sweep as JSON, e.g. a sweep's sweep.json; options given here override it.", show_default=False)] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", metavar="N", help="Local worker processes (1: in this process).  [default: number of cores]", min=1, show_default=False)] = None,
    dask: Annotated[Optional[str], typer.Option("--dask", metavar="ADDRESS", help="Run the trials on a Dask cluster: its scheduler (tcp://host:8786), or 'local' for a LocalCluster here.", show_default=False)] = None,
    refit: Annotated[bool, typer.Option("--refit", help="Afterwards, train the best configuration on all rows as an ordinary run.")] = False,
    plots: Annotated[bool, typer.Option("--plots", help="Write each trial's loss.png (costs more than a small trial).")] = False,
    resume: Annotated[Optional[str], typer.Option("--resume", metavar="SWEEP", help="Continue an interrupted sweep: run only its missing and incomplete trials.", show_default=False)] = None,
    top: Annotated[int, typer.Option("--top", metavar="N", help="Leaderboard rows shown at the end.", min=1)] = 10,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the final table.")] = False,
):
    """Train DATA many times and rank the configurations; every `mlpcli train` option (see
    mlpcli train --help) is accepted and fixed for all trials unless swept.

    Example: mlpcli sweep xor --grid hidden=2|4|8|32 --seeds 100
    """
    from mlpcli import console
    from mlpcli.console import sweep as view
    from mlpcli.signals import StopOnSignals
    from mlpcli.sweep import runner

    spec, runs_dir, name, resume_path = _sweep_request(ctx, dict(
        grid=grid, sample=sample, random=random, seeds=seeds, folds=folds), spec_file, refit,
        resume)
    plan = runner.plan(spec)  # every check and the CSV read happen here: nothing written yet
    out = console.make_console()
    display = view.SweepDisplay(out, quiet, plan, workers=workers, dask=dask)
    with display, StopOnSignals() as signals:
        outcome = runner.run(plan, runs_dir=runs_dir, name=name, argv=list(_invocation),
                             workers=display.workers, dask=dask, plots=plots,
                             stop=signals.event(), observer=display, resume=resume_path)
    view.print_outcome(out, outcome, spec, top, quiet, runs_dir)
    if outcome.summary["status"] == "interrupted":
        raise typer.Exit(signals.exit_code("interrupted", display))
    if spec.refit:
        path = runner.refit(outcome, plan, runs_dir=runs_dir, argv=list(_invocation))
        view.print_refit(out, path)


def _sweep_request(ctx, swept: dict, spec_file, refit: bool, resume):
    """(spec, runs dir, name, sweep to resume) from the command line: every argument that is
    not a sweep option is a train option (or DATA), parsed and checked as `train` does."""
    from mlpcli import runs
    from mlpcli.sweep import runner
    from mlpcli.sweep import spec as sweep_spec

    train_cmd = typer.main.get_command(app).commands["train"]
    train_ctx = train_cmd.make_context("mlpcli sweep", list(ctx.args),
                                       resilient_parsing=not ctx.args)
    given = config.given_options(train_ctx)
    runs_dir, name = train_ctx.params["runs_dir"], train_ctx.params.get("name")
    config.check_runs_dir(runs_dir)
    if resume is None:
        base = train_ctx.params.get("config_file")
        base = config.read_options(config.config_path(base, runs_dir, runs.resolve_run),
                                   "--config") if base is not None else {}
        spec = sweep_spec.from_options(spec_file, {**base, **given}, swept, refit)
        return spec, runs_dir, name, None
    if spec_file or any(v for v in swept.values()) or \
            sweep_spec.from_options(None, given, swept, refit).fixed:
        raise ConfigError("--resume continues a sweep with its own spec; give no other options")
    path = runs.resolve_run(resume, runs_dir)
    return runner.load_resumable(path), runs_dir, name, path


# --- gradcheck ----------------------------------------------------------------------------------

@app.command(cls=GroupedCommand, short_help="Check backprop gradients against finite differences.")
def gradcheck(
    ctx: typer.Context,
    data: Data = None,
    hidden: Hidden = None,
    samples: Annotated[int, typer.Option("--samples", rich_help_panel="Check", help="Rows of DATA to check on (or random rows without DATA).")] = G.samples,
    inputs: Annotated[int, typer.Option("--inputs", rich_help_panel="Check", help="Random data: number of inputs.")] = G.inputs,
    outputs: Annotated[int, typer.Option("--outputs", rich_help_panel="Check", help="Random data: number of outputs (classes with --loss ce).")] = G.outputs,
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
    eps: Annotated[float, typer.Option("--eps", rich_help_panel="Check", help="ε of the centered difference (f(θ+ε) − f(θ−ε)) / 2ε.")] = G.eps,
    tol: Annotated[float, typer.Option("--tol", rich_help_panel="Check", help="Largest relative error that passes.")] = G.tol,
    max_coords: Annotated[int, typer.Option("--max-coords", rich_help_panel="Check", help="Check at most this many coordinates per tensor (a seeded sample beyond).")] = G.max_coords,
    explain: Annotated[bool, typer.Option("--explain", rich_help_panel="Check", help="Show every parameter; for the 2-2-1 network, the lecture's hand-derived ∂f/∂w1…∂f/∂b3 too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", rich_help_panel="Check", help="Print one JSON object instead of tables.")] = False,
    class_weight: ClassWeight = None,
    sample_weight: SampleWeight = None,
    threads: Threads = "auto",
):
    """Check backprop's gradients against finite differences, parameter by parameter.

    Exit code 0 when every tensor passes, 1 when any fails.

    Example: mlpcli gradcheck datasets/xor.csv --hidden 2 --explain
    """
    from mlpcli import console, experiment
    from mlpcli.console.gradcheck import show_gradcheck
    from mlpcli.core import gradcheck as gc
    from mlpcli.core.threads import blas_threads

    cfg = Config.from_dict(config.given_options(ctx), source="options")
    g = GradcheckSettings(samples, inputs, outputs, eps, tol, max_coords).validated(cfg)
    model, X, Y, row_weights = experiment.gradcheck_problem(cfg, g.samples, g.inputs, g.outputs)
    with blas_threads(cfg.threads, model.sizes):
        report = gc.check_gradients(model, X, Y, loss=cfg.loss, reduction=cfg.reduction,
                                    weight_decay=cfg.resolved_weight_decay, eps=g.eps, tol=g.tol,
                                    max_coords=g.max_coords, seed=cfg.seed,
                                    keep_coordinates=explain, row_weights=row_weights)
    # the verdict is the exit status, even if the reader stops early (`… | head`)
    with contextlib.suppress(console.OutputClosed):
        if as_json:
            console.write_stdout(json.dumps(report.to_dict(), indent=2) + "\n")
        else:
            show_gradcheck(report, model, X, Y, cfg, explain, row_weights)
    raise typer.Exit(0 if report.passed else 1)


# --- predict / evaluate -------------------------------------------------------------------------



@app.command(cls=Command, short_help="Predict with a trained run on a CSV.")
def predict(
    run: RunArg,
    data: LabelledData,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="FILE", help="Write the CSV here instead of stdout.", show_default=False)] = None,
    runs_dir: RunsDir = D.runs_dir,
    sep: Sep = None,
    encoding: Encoding = None,
):
    """Predict with a trained run on a CSV (the target column may be absent). Each output row
    starts with `row`, the input's 0-based data row, and the true target when the file has it.

    Example: mlpcli predict latest datasets/xor.csv --out predictions.csv
    """
    from mlpcli import console, runs

    run_obj = runs.Run(runs.resolve_run(run, runs_dir))
    frame, warnings = runs.predict(run_obj, data, sep=sep, encoding=encoding)
    for w in warnings:
        console.warn(w)
    write_text(frame.to_csv(index=False), "-" if out is None else str(out), "--out",
                f"wrote {len(frame)} predictions to {out}")


@app.command(cls=Command, short_help="Score a trained run on labelled data.")
def evaluate(
    run: RunArg,
    data: LabelledData,
    split: Annotated[Optional[Split], typer.Option("--split", help="Rows of the run's own training file (same sha256) to score; any other file is scored whole.  [default: the held-out rows: test, else val]", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    runs_dir: RunsDir = D.runs_dir,
    sep: Sep = None,
    encoding: Encoding = None,
    threads: Threads = "auto",
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
):
    """Loss and accuracy (classification) or R² and RMSE (regression) of a run on labelled
    data, saying which rows were scored, with the per-class report and confusion matrix, or
    R², RMSE and MAE per target.

    Example: mlpcli evaluate latest datasets/xor.csv
    """
    from mlpcli import console, runs

    run_obj = runs.Run(runs.resolve_run(run, runs_dir))
    scores, warnings = runs.evaluate(run_obj, data, sep=sep, encoding=encoding,
                                     split=split.value if split else None, threads=threads)
    for w in warnings:
        console.warn(w)
    if as_json:
        console.write_stdout(json.dumps(scores) + "\n")
        return
    from mlpcli.console.insight import report_renderables

    report = scores.pop("report")
    out = console.make_console()
    for renderable in [console.evaluation_table(run_obj.id, data, scores), "",
                       *report_renderables(report)]:
        out.print(renderable)


@app.command(short_help="Export a run as an ONNX model, preprocessing included.")
def export(
    run: RunArg,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="FILE", help="Where to write the model.  [default: <run id>.onnx]", show_default=False)] = None,
    dtype: Annotated[Optional[Dtype], typer.Option("--dtype", help="Precision of the model.  [default: the run's]", show_default=False)] = None,
    check: Annotated[Optional[bool], typer.Option("--check/--no-check", help="Compare onnxruntime with mlpcli predict on the run's validation rows.  [default: on when onnxruntime is installed]", show_default=False)] = None,
    runs_dir: RunsDir = D.runs_dir,
):
    """Write a run as an ONNX model taking the raw CSV columns (pip install 'mlpcli[onnx]').

    Example: mlpcli export latest -o model.onnx
    """
    from mlpcli.console.export import onnx_note
    from mlpcli.export.onnx import export as export_onnx

    path, result = export_onnx(run, runs_dir, out, dtype and dtype.value, check)
    onnx_note(path, result)


# --- report -------------------------------------------------------------------------------------

@app.command(short_help="Write a self-contained HTML report of a run, a sweep, or runs compared.")
def report(
    run_ids: Annotated[list[str], typer.Argument(help="A run, a sweep, or several runs to compare.", show_default=False, metavar="RUN|SWEEP|RUN RUN...")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="FILE.html", help="Where to write the page.  [default: report.html in the run or sweep directory; for several runs, in the current directory]", show_default=False)] = None,
    runs_dir: RunsDir = D.runs_dir,
):
    """One HTML page with everything about a run (or a sweep, or several runs side by side),
    pictures included: open it in any browser, offline, or send it to someone.

    Example: mlpcli report latest
    """
    from mlpcli import console, runs
    from mlpcli.report import html

    paths = [runs.resolve_run(r, runs_dir) for r in run_ids]
    if len(paths) > 1:
        page, default = html.compare_page([runs.Run(p) for p in paths]), Path("report.html")
    elif runs.is_sweep(paths[0]):
        from mlpcli.sweep.store import SweepDir

        trials = [runs.Run(p) for p in runs.run_dirs(paths[0])]
        page, default = html.sweep_page(SweepDir(paths[0]), trials), paths[0] / "report.html"
    else:
        page, default = html.run_page(runs.Run(paths[0])), paths[0] / "report.html"
    write_output(out or default, page, "--out")
    console.make_console().print(f"report written to {out or default}")


# --- entry point --------------------------------------------------------------------------------

def _version(value: bool):
    if value:
        from mlpcli.console import write_stdout

        write_stdout(f"mlpcli {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.", callback=_version, is_eager=True)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="On an error, show the traceback instead of one line (anywhere on the command line).")] = False,
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
    try:
        code = _run(args, debug)
    except KeyboardInterrupt as e:  # Ctrl-C before a command handles it (parsing, loading data)
        if debug:
            raise
        from mlpcli.console import error

        error(str(e) if str(e) else "interrupted")  # Interrupted says what was (not) saved
        code = getattr(e, "exit_code", 130)
    sys.exit(code)


def _run(args: list[str], debug: bool) -> int:
    from mlpcli import console

    try:
        # click's own main loop would turn Ctrl-C into a silent exit 130: run the command here
        command = typer.main.get_command(app)
        if os.environ.get(COMPLETE_VAR):  # a shell asking for completions: answer and exit
            command._main_shell_completion({}, "mlpcli", COMPLETE_VAR)
        with command.make_context("mlpcli", args) as ctx:
            command.invoke(ctx)
        console.write_stdout("")  # flush here, where a closed or full output is handled
        return 0
    except typer.Exit as e:
        return e.exit_code
    except typer.TyperException as e:  # usage errors: bad option, value out of range, …
        if debug:
            raise
        if type(e).__name__ == "NoArgsIsHelpError":  # a command given no arguments: its help
            _write_help(e.format_message() + "\n")
        else:
            console.error(_usage_message(e))
        return getattr(e, "exit_code", 2)
    except MlpcliError as e:  # includes OutputFailed: stdout could not be written
        if debug:
            raise
        console.error(str(e))
        return e.exit_code
    except (console.OutputClosed, BrokenPipeError):  # `mlpcli predict … | head`: the reader
        console.silence(sys.stdout)  # has what it wanted
        return 0
    except Exception as e:  # a bug: say so in one line; --debug shows where
        if debug:
            raise
        if isinstance(e, OSError) and e.filename is None and e.errno in OUTPUT_ERRNOS:
            console.silence(sys.stdout)  # click writing --help to a full disk: the only
            console.error(str(console.OutputFailed(e)))  # unnamed write left to fail here
            return 2
        console.error(f"unexpected {type(e).__name__}: {e} (rerun with --debug to see where, "
                      f"and please report it)")
        return 1


def _write_help(text: str) -> None:
    from mlpcli import console

    try:
        console.write_stdout(text)
    except console.OutputFailed as e:
        console.error(str(e))
    except console.OutputClosed:
        pass  # the exit status (2: no command given) says enough


def _usage_message(e: typer.TyperException) -> str:
    format_message = getattr(e, "format_message", None)
    message = " ".join((format_message() if format_message else str(e)).split())
    ctx = getattr(e, "ctx", None)
    if ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message

"""The `runs`, `datasets` and `cache` command groups, and how commands write a file the user names.

Like cli.py's commands, each parses, calls the library and renders; cli.py adds the groups to
the app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mlpcli.clihelp import Command, Group
from mlpcli.completion import complete_run
from mlpcli.errors import ConfigError
from mlpcli.options import CacheDir, D, Kind, RunArg, RunsDir, _names, _seed

runs_app = typer.Typer(rich_markup_mode=None, cls=Group, help="List, show and compare training runs.\n\nExample: mlpcli runs list",
                       no_args_is_help=True)
datasets_app = typer.Typer(rich_markup_mode=None, cls=Group, help="Bundled and generated datasets.\n\nExample: mlpcli datasets list",
                           no_args_is_help=True)

cache_app = typer.Typer(rich_markup_mode=None, cls=Group, help="The cache of parsed CSVs: what it holds, and emptying it.\n\nExample: mlpcli cache info",
                        no_args_is_help=True)


# --- runs ---------------------------------------------------------------------------------------

@runs_app.command("list", cls=Command)
def runs_list(
    sweep: Annotated[Optional[str], typer.Argument(help="A sweep: list its trials instead.", show_default=False, metavar="SWEEP", autocompletion=complete_run)] = None,
    runs_dir: RunsDir = D.runs_dir,
    sort: Annotated[Optional[str], typer.Option("--sort", metavar="COLUMN", help="Sort by this column, ascending; -COLUMN (e.g. --sort=-val_acc) for descending.  [default: newest first]", show_default=False)] = None,
    desc: Annotated[bool, typer.Option("--desc", help="Sort descending (best accuracy first with --sort val_acc).")] = False,
    columns: Annotated[Optional[list[str]], typer.Option("--columns", "-c", metavar="COLUMNS", help="Show these columns (comma-separated, e.g. id,lr,val_acc).", callback=_names, show_default=False)] = None,
    wide: Annotated[bool, typer.Option("--wide", help="Show every column, even wider than the terminal.")] = False,
    csv: Annotated[Optional[str], typer.Option("--csv", metavar="FILE|-", help="Write every column as CSV to FILE, or '-' for stdout.", show_default=False)] = None,
):
    """One row per run (a sweep: one row, or its trials with SWEEP): options, status, metrics.
    Columns whose value is the same in every run are left out (and named) to fit the terminal;
    a column that differs between runs is never left out.

    Example: mlpcli runs list --sort=-val_acc
    """
    from mlpcli import console, runs

    if sweep is not None:
        runs_dir = runs.resolve_run(sweep, runs_dir)
        if not runs.is_sweep(runs_dir):
            raise ConfigError(f"{sweep!r} is a run, not a sweep; 'mlpcli runs show {sweep}' "
                              f"shows it")
    frame = runs.list_runs(runs_dir, sort=sort or ("id" if sweep else None), descending=desc)
    if csv is not None:
        write_text(frame.to_csv(index=False), csv, "--csv", f"wrote {len(frame)} runs to {csv}")
        return
    out = console.make_console()
    if frame.empty:
        out.print(f"no runs in {runs_dir}; train one with: mlpcli train xor")
        return
    console.print_runs_listing(out, console.runs_listing(frame, out.width, columns, wide))


@runs_app.command("show", cls=Command)
def runs_show(
    run: RunArg,
    runs_dir: RunsDir = D.runs_dir,
    plots: Annotated[bool, typer.Option("--plots", help="(Re)draw the run's pictures from its files and data first (loss.png, confusion.png, boundary.png, …).")] = False,
):
    """A run's configuration, status, metrics, files and loss curve.

    Example: mlpcli runs show latest --plots
    """
    from mlpcli import console, runs
    from mlpcli.console.insight import pictures_lines, summary_report

    path = runs.resolve_run(run, runs_dir)
    out = console.make_console()
    if plots and runs.is_sweep(path):
        raise ConfigError(f"--plots draws one run's pictures; give a trial: {run}/TRIAL")
    if plots:
        for line in pictures_lines(path, *runs.redraw_pictures(runs.Run(path))):
            out.print(line)
    if runs.is_sweep(path):
        from mlpcli.console.sweep import sweep_report
        from mlpcli.sweep.store import SweepDir

        sweep = SweepDir(path)
        for renderable in sweep_report(sweep.id, sweep.info(), sweep.summary(), sweep.status(),
                                       sweep.leaderboard()):
            out.print(renderable)
        return
    view = _run_view(runs.Run(path), details=True)
    for renderable in [*console.run_report(view), *summary_report(view.summary)]:
        out.print(renderable)


def _run_view(run, details: bool = False):
    """What the console shows of `run`, read here: the console never reads files."""
    from mlpcli import console

    view = console.RunView(run.id, run.path, run.status(), run.summary(),
                           run.config().get("options", {}))
    if details:
        view.metrics = run.metrics()
        view.files = [(p.name, p.stat().st_size) for p in sorted(run.path.iterdir())
                      if p.is_file() and not p.name.startswith(".")]
    return view


@runs_app.command("compare", cls=Command, short_help="Compare runs: differing options, metrics.")
def runs_compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more runs.", show_default=False, metavar="RUN...", autocompletion=complete_run)],
    plot: Annotated[Optional[Path], typer.Option("--plot", metavar="FILE.png", help="Save the overlaid loss curves to this PNG.", show_default=False)] = None,
    runs_dir: RunsDir = D.runs_dir,
):
    """The options that differ between runs, and their metrics side by side.

    Example: mlpcli runs compare 2026 latest --plot compare.png
    """
    from mlpcli import console, runs

    if len(run_ids) < 2:
        raise typer.BadParameter("give at least two runs to compare", param_hint="RUN_IDS")
    selected = [runs.Run(runs.resolve_run(r, runs_dir)) for r in run_ids]
    out = console.make_console()
    console.print_uncut(out, console.compare_table([_run_view(r) for r in selected], out.width))
    if plot is not None:
        from mlpcli.report.plots import comparison_plot

        write_output(plot, comparison_plot({r.id: r.metrics() for r in selected}), "--plot")
        out.print(f"loss curves saved to {plot}")


@runs_app.command("export-mlflow", short_help="Replay runs and sweeps into MLflow tracking.")
def runs_export_mlflow(
    specs: Annotated[Optional[list[str]], typer.Argument(help="Runs and sweeps to export.  [default: all in --runs-dir]", show_default=False, metavar="[RUN|SWEEP]...", autocompletion=complete_run)] = None,
    tracking_uri: Annotated[str, typer.Option("--tracking-uri", metavar="URI", envvar="MLFLOW_TRACKING_URI", help="MLflow tracking store or server, e.g. sqlite:///mlflow.db or http://host:5000.", show_default=False)] = "",
    experiment: Annotated[str, typer.Option("--experiment", metavar="NAME", help="MLflow experiment (created if missing).")] = "mlpcli",
    runs_dir: RunsDir = D.runs_dir,
):
    """Log runs into MLflow: params, per-epoch metrics, tags, files; a sweep as parent and
    child runs. Exporting again updates instead of duplicating (pip install 'mlpcli[mlflow]').

    Example: mlpcli runs export-mlflow --tracking-uri sqlite:///mlflow.db
    """
    from mlpcli.console.export import mlflow_note
    from mlpcli.export.mlflow import export_runs

    exported, skipped = export_runs(specs or [], runs_dir, tracking_uri, experiment)
    mlflow_note(exported, skipped, tracking_uri, experiment)


# --- datasets -----------------------------------------------------------------------------------

@datasets_app.command("list", cls=Command)
def datasets_list():
    """Name, rows, features, target and task of every bundled dataset.

    Example: mlpcli datasets list
    """
    from mlpcli import console, data

    console.make_console().print(console.datasets_table(data.describe_bundled()))


@datasets_app.command("make", cls=Command)
def datasets_make(
    kind: Annotated[Kind, typer.Argument(help="Which dataset to generate: moons, circles, spirals, sine or xor.", metavar="KIND", show_default=False)],
    n: Annotated[Optional[int], typer.Option("--n", help="Number of rows.  [default: per kind]", min=1, show_default=False)] = None,
    noise: Annotated[Optional[float], typer.Option("--noise", help="Noise level σ.  [default: per kind]", min=0, show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Seed of the generator: the same seed gives the same rows.", callback=_seed)] = 0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="FILE", help="Write here instead of stdout.", show_default=False)] = None,
):
    """Generate a seeded dataset as CSV (target last).

    Example: mlpcli datasets make moons --n 500 --noise 0.1 --out moons.csv
    """
    from mlpcli.data import generate

    try:
        frame = generate.generate(kind.value, n=n, noise=noise, seed=seed)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    floats = frame.select_dtypes("float").columns
    frame[floats] = frame[floats] + 0.0  # -0.0 → 0.0: the CSV never holds "-0"
    text = frame.to_csv(index=False, float_format="%.6g")
    write_text(text, "-" if out is None else str(out), "--out", f"wrote {len(frame)} rows to {out}")


# --- cache --------------------------------------------------------------------------------------

@cache_app.command("info", cls=Command)
def cache_info(
    cache_dir: CacheDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
):
    """Where the cache of parsed CSVs is, its size and limit, and one row per entry: the file
    it was read from, its arrays and when it was last used (least recently used first).

    Example: mlpcli cache info
    """
    import json

    from mlpcli import console
    from mlpcli.data.cache import DataCache, enabled

    cache = DataCache.configured()
    entries = cache.entries()
    summary = {"dir": str(cache.root), "enabled": enabled(), "entries": len(entries),
               "bytes": sum(e.bytes for e in entries), "limit": cache.limit,
               "items": [{"key": e.key, "source": e.meta.get("source"), "bytes": e.bytes,
                          "last_used": e.last_used, "shapes": e.meta.get("arrays", {})}
                         for e in entries]}
    if as_json:
        console.write_stdout(json.dumps(summary) + "\n")
        return
    console.make_console().print(console.cache_report(summary))


@cache_app.command("clear", cls=Command)
def cache_clear(cache_dir: CacheDir = None):
    """Remove every entry of the cache of parsed CSVs (the next run on each file parses it
    again and fills the cache anew).

    Example: mlpcli cache clear
    """
    from mlpcli import console
    from mlpcli.data.cache import DataCache

    cache = DataCache.configured()
    n, size = cache.clear()
    console.make_console().print(f"removed {n} {'entry' if n == 1 else 'entries'} "
                                 f"({console.size_text(size)}) from {cache.root}",
                                 soft_wrap=True, markup=False)


def write_text(text: str, target: str, flag: str, done: str) -> None:
    """Write a command's text to stdout ('-') or to the file `target`, then say `done` on
    stderr (stdout may be the data)."""
    from mlpcli import console

    if target == "-":
        console.write_stdout(text)
        return
    write_output(Path(target), text, flag)
    console.make_console(stderr=True).print(done, soft_wrap=True, markup=False)


def write_output(path: Path, content: str | bytes, flag: str) -> None:
    """Write a command's output file (through devices, FIFOs, symlinks), or fail in one line."""
    from mlpcli import runs

    runs.write_user_file(path, content.encode() if isinstance(content, str) else content, flag)

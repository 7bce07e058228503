"""The command line's option declarations, one definition each, shared by the commands in
cli.py: choices from the registries in config.py, the callbacks that check values as they are
parsed, and the Annotated types of options several commands take."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from mlpcli import config
from mlpcli.completion import complete_data, complete_run
from mlpcli.config import (
    ACTIVATION_NAMES,
    DTYPES,
    INIT_SCHEMES,
    LOSS_NAMES,
    OPTIMIZER_NAMES,
    REDUCTIONS,
    SCHEDULES,
    TASKS,
    Config,
    GradcheckSettings,
)
from mlpcli.errors import ConfigError

D = Config()  # the defaults, shown in --help; Config is the only place they are written
G = GradcheckSettings()  # gradcheck's own defaults, likewise


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
OptimizerName = _choices("OptimizerName", OPTIMIZER_NAMES)
Split = _choices("Split", ("train", "val", "test", "all"))  # runs/inference.py's SPLITS


# the generators of mlpcli/data/generate.py (named here: importing it would load pandas at start-up)
Kind = _choices("Kind", ("moons", "circles", "spirals", "sine", "xor"))


def _hidden(value: str | None):
    """'64' or '64,32' → (64,) or (64, 32)."""
    if value is None:
        return None
    try:
        widths = tuple(int(v) for v in value.split(",") if v.strip())
        config.check_widths(widths)
    except ValueError:
        raise typer.BadParameter(f"expected widths like 16 or 64,32, got {value!r}") from None
    except ConfigError as e:
        raise typer.BadParameter(str(e).removeprefix("--hidden: ")) from None
    return widths


def _floats(value: str | None, flag: str):
    """'0.9,0.999' → (0.9, 0.999)."""
    if value is None:
        return None
    try:
        return tuple(float(v) for v in value.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected numbers like 0.9,0.999, got {value!r}",
                                 param_hint=flag) from None


def _names(values):
    """Repeatable option whose values may also be comma-separated: a,b → (a, b)."""
    return config.split_names(values) if values else values


def _seed(value: int) -> int:
    return config.check_count("--seed", value, low=0)


def _threads(value: str) -> int:
    """--threads N or auto → N, with 0 for auto (config.py's convention)."""
    if value == "auto":
        return 0
    try:
        return config.check_count("--threads", int(value), low=1)
    except (ValueError, ConfigError):
        raise typer.BadParameter(f"expected a number of threads ≥ 1 or 'auto', got {value!r}") \
            from None


def _cache_dir(ctx: typer.Context, value: str | None) -> str | None:
    """--cache-dir DIR: this process and its sweep workers keep parsed data there."""
    if value is not None and not ctx.resilient_parsing:
        if not value.strip():
            raise typer.BadParameter("expected a directory, got ''")
        os.environ["MLPCLI_CACHE_DIR"] = str(Path(value).expanduser().absolute())
    return value


def _no_cache(ctx: typer.Context, value: bool) -> bool:
    """--no-cache: this process and its sweep workers neither read nor write the data cache."""
    if value and not ctx.resilient_parsing:
        os.environ["MLPCLI_NO_CACHE"] = "1"
    return value


def _runs_dir(value: str) -> Path:
    config.check_runs_dir(value)  # before Path() turns "" into "."
    return Path(value)


# --- options shared by train and gradcheck (one definition each) -------------------------------
Data = Annotated[str | None, typer.Argument(help="CSV file or bundled dataset name (xor, iris, moons, …).", show_default=False, metavar="DATA", autocompletion=complete_data)]
Hidden = Annotated[str | None, typer.Option("--hidden", "-H", rich_help_panel="Network", metavar="WIDTHS", help=f"Hidden layer widths, e.g. 16 or 64,32.  [default: {','.join(map(str, D.hidden))}]", callback=_hidden, show_default=False)]
Target = Annotated[list[str] | None, typer.Option("--target", "-t", rich_help_panel="Data", metavar="COLUMN", help="Target column (repeat or comma-separate for several outputs).  [default: last column]", callback=_names, show_default=False)]
Features = Annotated[list[str] | None, typer.Option("--features", rich_help_panel="Data", metavar="COLUMNS", help="Feature columns to use (comma-separated).  [default: all others]", callback=_names, show_default=False)]
DropColumns = Annotated[list[str] | None, typer.Option("--drop-columns", rich_help_panel="Data", metavar="COLUMNS", help="Columns to leave out, e.g. an id column (comma-separated).", callback=_names, show_default=False)]
TaskOpt = Annotated[Task, typer.Option("--task", rich_help_panel="Data", help="auto: classification for text, boolean or small-integer targets, else regression.")]
Standardize = Annotated[bool, typer.Option("--standardize/--no-standardize", rich_help_panel="Data", help="Standardize features (and regression targets) with training-row statistics.")]
LossOpt = Annotated[Loss, typer.Option("--loss", rich_help_panel="Optimisation", help="mse: ½(ŷ−y)² (the lecture's); ce: softmax cross-entropy (classification).")]
ReductionOpt = Annotated[Reduction, typer.Option("--reduction", rich_help_panel="Optimisation", help="Gradient of a minibatch: sum over its examples (the lecture's rule) or mean.")]
ActivationOpt = Annotated[Activation, typer.Option("--activation", rich_help_panel="Network", help="Hidden-layer activation.")]
InitSchemeOpt = Annotated[InitScheme | None, typer.Option("--init-scheme", rich_help_panel="Network", help="Weight initialisation.  [default: he for relu, glorot otherwise]", show_default=False)]
Init = Annotated[Path | None, typer.Option("--init", rich_help_panel="Network", metavar="FILE.npz", help="Start from these weights: an .npz with W1 b1 W2 b2 … (e.g. a run's weights.npz).", show_default=False)]
WeightDecay = Annotated[float | None, typer.Option("--weight-decay", rich_help_panel="Optimisation", help="λ: adds λ/2·‖W‖² to the objective; adamw: decoupled w ← w − ελw. Biases are never decayed (PyTorch decays every parameter by default).  [default: 0; 0.01 for adamw]", min=0, show_default=False)]
Seed = Annotated[int, typer.Option("--seed", "-s", rich_help_panel="Optimisation", help="Seed for the split, initialisation and shuffling.", callback=_seed)]
Sep = Annotated[str | None, typer.Option("--sep", rich_help_panel="Data", metavar="SEP", help="CSV delimiter (',', ';', 'tab').  [default: sniffed]", show_default=False)]
Encoding = Annotated[str | None, typer.Option("--encoding", rich_help_panel="Data", metavar="NAME", help="File encoding, e.g. latin-1.  [default: utf-8]", show_default=False)]
Dropna = Annotated[bool, typer.Option("--dropna", rich_help_panel="Data", help="Drop rows with missing values instead of stopping.")]
Threads = Annotated[str, typer.Option("--threads", metavar="N|auto", rich_help_panel="Output", help="BLAS threads for the matrix products; auto: 1 for small layers (threads cost more than they save), else the cores not busy (see benchmarks/README.md).", callback=_threads)]
CacheDir = Annotated[str | None, typer.Option("--cache-dir", metavar="DIR", rich_help_panel="Data", help="Keep parsed CSVs here, so the next run on an unchanged file skips parsing.  [default: $XDG_CACHE_HOME/mlpcli, or $MLPCLI_CACHE_DIR]", callback=_cache_dir, show_default=False)]
NoCache = Annotated[bool, typer.Option("--no-cache", rich_help_panel="Data", help="Parse the CSV again, neither reading nor writing the data cache.", callback=_no_cache)]
RunsDir = Annotated[str, typer.Option("--runs-dir", rich_help_panel="Output", metavar="DIR", help="Folder of run directories.", callback=_runs_dir)]
ClassWeight = Annotated[str | None, typer.Option("--class-weight", rich_help_panel="Data", metavar="balanced|CLASS=W,…", help="Weigh each example's loss by its class: balanced (n / (k·n_class), scikit-learn's) or e.g. \"cat=2,dog=1\" (unnamed classes 1).", show_default=False)]
SampleWeight = Annotated[str | None, typer.Option("--sample-weight", rich_help_panel="Data", metavar="COLUMN", help="Weigh each example's loss by this numeric column (then not a feature).", show_default=False)]

RunArg = Annotated[str, typer.Argument(help="Run id, unique id prefix, run name (its newest run), path, or 'latest'.", show_default=False, metavar="RUN", autocompletion=complete_run)]
LabelledData = Annotated[str, typer.Argument(help="CSV file or bundled dataset name.", show_default=False, metavar="DATA", autocompletion=complete_data)]

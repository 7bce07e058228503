"""The run store: run directories written safely, listed, resolved and read back; inference.

    from mlpcli import runs
    runs.list_runs("runs")                 # a DataFrame, one row per run
    run = runs.Run(runs.resolve_run("latest"))
"""

from mlpcli.runs.files import load_npz, read_json, save_npz, write_atomic, write_json
from mlpcli.runs.inference import evaluate, predict, redraw_pictures
from mlpcli.runs.sweeps import is_sweep, sweep_dirs
from mlpcli.runs.store import (
    METRICS_COLUMNS,
    RUN_FILES,
    Run,
    RunWriter,
    create_run_dir,
    list_runs,
    load_checkpoint,
    metrics_line,
    now_iso,
    process_alive,
    resolve_run,
    run_dirs,
    run_name,
    run_row,
    sanitize_name,
)

__all__ = ["METRICS_COLUMNS", "RUN_FILES", "Run", "RunWriter", "create_run_dir", "evaluate",
           "is_sweep", "list_runs", "load_checkpoint", "load_npz", "metrics_line", "now_iso",
           "predict", "process_alive", "redraw_pictures",
           "read_json", "resolve_run", "run_dirs", "run_name", "run_row", "sanitize_name",
           "save_npz", "sweep_dirs", "write_atomic", "write_json"]

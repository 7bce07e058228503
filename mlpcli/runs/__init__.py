"""The run store: run directories written safely, listed, resolved and read back; inference.

    from mlpcli import runs
    runs.list_runs("runs")                 # a DataFrame, one row per run
    run = runs.Run(runs.resolve_run("latest"))
"""

from mlpcli.runs.files import (
    load_npz,
    read_json,
    save_npz,
    write_atomic,
    write_json,
    write_user_file,
)
from mlpcli.runs.inference import evaluate, predict, predict_frame, redraw_pictures
from mlpcli.runs.lock import RunLock, is_locked
from mlpcli.runs.run import METRICS_COLUMNS, Run
from mlpcli.runs.sweeps import is_sweep, sweep_dirs
from mlpcli.runs.store import (
    RUN_FILES,
    RunWriter,
    WriteError,
    create_run_dir,
    list_runs,
    load_checkpoint,
    lock_run,
    metrics_line,
    now_iso,
    resolve_run,
    run_dirs,
    run_name,
    run_row,
    sanitize_name,
    writing,
)

__all__ = ["METRICS_COLUMNS", "RUN_FILES", "Run", "RunLock", "RunWriter", "WriteError",
           "create_run_dir", "evaluate", "is_locked", "is_sweep", "list_runs", "load_checkpoint",
           "load_npz", "lock_run", "metrics_line", "now_iso", "predict", "predict_frame",
           "read_json", "redraw_pictures", "resolve_run", "run_dirs", "run_name", "run_row",
           "sanitize_name", "save_npz", "sweep_dirs", "write_atomic", "write_json",
           "write_user_file", "writing"]

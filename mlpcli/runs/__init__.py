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
from mlpcli.runs.inference import evaluate, predict
from mlpcli.runs.lock import RunLock, is_locked
from mlpcli.runs.run import METRICS_COLUMNS, Run
from mlpcli.runs.store import (
    RUN_FILES,
    RunWriter,
    WriteError,
    create_run_dir,
    list_runs,
    load_checkpoint,
    lock_run,
    now_iso,
    resolve_run,
    run_dirs,
    run_name,
    run_row,
    sanitize_name,
    writing,
)

__all__ = ["METRICS_COLUMNS", "RUN_FILES", "Run", "RunLock", "RunWriter", "create_run_dir",
           "evaluate", "list_runs", "load_checkpoint", "load_npz", "is_locked", "lock_run", "now_iso",
           "predict", "read_json", "resolve_run", "run_dirs", "run_name", "run_row",
           "sanitize_name", "save_npz", "write_atomic", "write_json", "write_user_file",
           "WriteError", "writing"]

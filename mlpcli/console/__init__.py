"""All terminal output, split by what it shows:

    terminal.py   consoles, `Error:`/`Warning:` lines, a closed or failing stdout, number formats
    live.py       the live view of `train` and its closing lines
    tables.py     runs, one run in detail, runs compared, datasets, key-value lists
    charts.py     curves drawn with characters
    gradcheck.py  the gradient check's tables and verdict

Nothing here reads files: callers hand over the values to show. The names below are the
package's interface (`from mlpcli import console; console.error(...)`).
"""

from mlpcli.console.live import TrainingDisplay
from mlpcli.console.tables import (
    RunView,
    cache_report,
    compare_table,
    datasets_table,
    evaluation_table,
    key_value_table,
    print_runs_listing,
    print_uncut,
    run_report,
    runs_listing,
    size_text,
)
from mlpcli.console.terminal import (
    OutputClosed,
    OutputFailed,
    _Console,  # noqa: F401  (tests build one on a StringIO)
    error,
    fmt,
    make_console,
    silence,
    warn,
    write_stdout,
)

__all__ = ["OutputClosed", "OutputFailed", "RunView", "TrainingDisplay", "cache_report",
           "compare_table", "size_text",
           "datasets_table", "error", "evaluation_table", "fmt", "key_value_table",
           "make_console", "print_runs_listing", "print_uncut", "run_report", "runs_listing",
           "silence", "warn", "write_stdout"]

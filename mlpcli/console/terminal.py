"""The terminal itself: consoles for stdout and stderr, error lines, a reader that goes away,
and how numbers are written. Colour only on a terminal and without NO_COLOR.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys

from rich.console import Console
from rich.text import Text

from mlpcli.errors import MlpcliError


class OutputClosed(Exception):
    """The reader of stdout went away (`mlpcli … | head`); stdout now goes to /dev/null.

    Not an OSError, so that click does not turn it into exit status 1 on its way out."""


class OutputFailed(MlpcliError):
    """stdout cannot be written (`> /dev/full`: the disk is full, or an I/O error). As with a
    closed output nothing more is written to it, but the command did not deliver: an error."""

    def __init__(self, error: OSError):
        super().__init__(f"cannot write to standard output ({error.strerror or error})")


class _Console(Console):
    """rich's Console, except that when the output cannot be written any more it goes quiet and
    raises OutputClosed (its reader went away) or OutputFailed (disk full, I/O error) for the
    command to handle, instead of exiting 1 or printing a traceback."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        silence(self.file)
        raise OutputClosed

    def _check_buffer(self) -> None:  # where rich writes and flushes its buffer
        try:
            super()._check_buffer()
        except OSError as e:  # BrokenPipeError went to on_broken_pipe above
            self.quiet = True
            silence(self.file)
            raise OutputFailed(e) from None


class _ClosedStdout(io.TextIOBase):
    """Stands for a stdout closed before mlpcli started (`mlpcli … >&-`, where Python sets
    sys.stdout to None): writing to it is like writing to a pipe whose reader has gone."""

    def write(self, text: str) -> int:
        raise BrokenPipeError


def write_stdout(text: str) -> None:
    """Write `text` to stdout, raising OutputClosed if its reader has gone (or it was closed
    from the start), OutputFailed if it cannot be written."""
    if sys.stdout is None:
        raise OutputClosed
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        silence(sys.stdout)
        raise OutputClosed from None
    except OSError as e:
        silence(sys.stdout)
        raise OutputFailed(e) from None


def silence(stream) -> None:
    """Point a stream whose reader has gone at /dev/null, so that nothing more fails on it (not
    even Python's flush at exit). A stream without a file descriptor (or None) is left alone."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


def make_console(stderr: bool = False) -> Console:
    no_color = bool(os.environ.get("NO_COLOR"))
    closed = None if stderr or sys.stdout is not None else _ClosedStdout()
    console = _Console(file=closed, stderr=stderr, no_color=no_color, highlight=False,
                       soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 160  # a pipe or file: don't squeeze tables into 80 columns
    return console


def is_live(console: Console) -> bool:
    return console.is_terminal and not os.environ.get("NO_COLOR")


def error(message: str) -> None:
    """One line on stderr: 'Error: …'."""
    make_console(stderr=True).print(Text(f"Error: {message}", style="bold red"), soft_wrap=True)


def warn(message: str) -> None:
    make_console(stderr=True).print(Text(f"Warning: {message}", style="yellow"), soft_wrap=True)


# --- numbers -----------------------------------------------------------------------------------

def fmt(value, kind: str = "loss") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "acc":
        return f"{100 * value:.1f}%"
    if kind == "seconds":
        if value < 10:
            return f"{value:.2f}s"
        return f"{value:.1f}s" if value < 600 else f"{value / 60:.1f}min"
    if kind == "int":
        return str(int(value))
    value = float(value)
    if value == 0:
        return "0"
    return f"{value:.4g}" if 1e-3 <= abs(value) < 1e4 else f"{value:.3e}"


# the final metrics of a run (summary.json's "final" and "best"), in the order they are shown
SUMMARY_METRICS = ("train_loss", "val_loss", "train_acc", "val_acc", "train_r2", "val_r2",
                   "val_rmse")


def metric_kind(key: str) -> str:
    """How `fmt` writes a metric: accuracies as percentages, everything else as a number."""
    return "acc" if key.endswith("_acc") else "loss"

"""The live view of `mlpcli train`: a progress bar and the recent epochs, then its closing lines.

Live redraw only on a terminal (and not with NO_COLOR); elsewhere plain lines, at most one every
few seconds. The training loop only hands records over; rich redraws on its own thread, a few
times a second.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from mlpcli.config import Config
from mlpcli.console.tables import test_scores
from mlpcli.console.terminal import (
    SUMMARY_METRICS,
    OutputClosed,
    OutputFailed,
    error,
    fmt,
    is_live,
    make_console,
    metric_kind,
    warn,
)

PLAIN_LINE_SECONDS = 5.0  # non-terminal output: at most one progress line this often
RECENT_EPOCHS = 8  # rows of the live table


def _layers(sizes) -> str:
    return "-".join(str(s) for s in sizes)


def _epoch_columns(classification: bool, has_val: bool) -> list[tuple[str, str, str]]:
    """(record field, heading, fmt kind) of the columns shown for each epoch."""
    score, kind, heading = ("acc", "acc", "acc") if classification else ("r2", "loss", "R²")
    columns = [("train_loss", "train loss", "loss"), ("val_loss", "val loss", "loss"),
               (f"train_{score}", f"train {heading}", kind),
               (f"val_{score}", f"val {heading}", kind)]
    return [c for c in columns if has_val or not c[0].startswith("val")]


def epoch_table(records, classification: bool, has_val: bool) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    columns = _epoch_columns(classification, has_val)
    for heading in ["epoch", *(c[1] for c in columns), "lr", "time"]:
        table.add_column(heading, justify="right")
    for r in records:
        table.add_row(str(r.epoch), *(fmt(getattr(r, key), kind) for key, _, kind in columns),
                      fmt(r.lr), fmt(r.seconds, "seconds"))
    return table


def _epochs(n: int) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


def resume_command(path) -> str:
    """`mlpcli train --resume ID`, with --runs-dir unless the run is in the default folder."""
    where = "" if Path(path).parent == Path(Config.runs_dir) else f" --runs-dir {path.parent}"
    return f"mlpcli train --resume {path.name}{where}"


class TrainingDisplay:
    """Training callback that shows progress: live on a terminal, sparse lines elsewhere.

    If the output's reader goes away (`mlpcli train … | head`), it says nothing more and asks
    the trainer to stop, as Ctrl-C does: the run is saved as interrupted and can be resumed.
    """

    def __init__(self, console: Console | None = None, quiet: bool = False):
        self.console = console or make_console()
        self.quiet = quiet
        self.live_mode = is_live(self.console) and not quiet
        self.recent: deque = deque(maxlen=RECENT_EPOCHS)
        self.latest = None
        self.output_closed = False
        self.output_error: str | None = None  # why stdout failed, when it did not just close
        self._live = None
        self._last_line = 0.0  # when the last plain progress line was printed
        self._last_line_epoch = 0

    def _print(self, renderable) -> None:
        if self.output_closed:
            return
        try:
            self.console.print(renderable)
        except OutputClosed:  # stop training as Ctrl-C would
            self.output_closed = True
        except OutputFailed as e:  # likewise, and say why at the end
            self.output_closed, self.output_error = True, str(e)

    # callbacks ------------------------------------------------------------------------------

    def on_run_start(self, info) -> None:
        cfg = info["config"]
        self.total = cfg.epochs
        self.classification = info["task"] == "classification"
        self.has_val = info["val_rows"] > 0
        if self.quiet:  # warnings still matter: on stderr
            for w in info["warnings"]:
                warn(w)
            return
        task = info["task"]
        if self.classification:
            classes = ", ".join(map(str, info["classes"][:10]))
            more = ", …" if len(info["classes"]) > 10 else ""
            task += f" ({len(info['classes'])} classes: {classes}{more})"
        self._print(f"[bold]training[/] {cfg.data}: {task}")
        test = f" / {info['test_rows']} test" if info.get("test_rows") else ""
        self._print(f"layers {_layers(info['layers'])}  ·  {info['train_rows']} train / "
                    f"{info['val_rows']} validation{test} rows  ·  seed {cfg.seed}")
        from mlpcli.core.optim import describe  # (loaded by now: training is set up)

        self._print(describe(cfg))
        for w in info["warnings"]:
            self._print(f"[yellow]Warning:[/] {w}")
        if info.get("resumed_from"):
            self._print(f"resuming after epoch {info['resumed_from']}")
        self._print(f"run directory: {info['path']}")

    def on_train_begin(self, trainer) -> None:
        if self.output_closed:  # already while announcing the run
            trainer.request_stop()
        if self.live_mode:
            self._live = Live(get_renderable=self._render, console=self.console,
                              refresh_per_second=4, transient=True)
            self._live.start()

    def on_epoch_end(self, record, trainer) -> None:
        self.recent.append(record)
        self.latest = record
        if not self.live_mode and not self.quiet:
            now = time.monotonic()
            if now - self._last_line >= PLAIN_LINE_SECONDS:
                self._last_line, self._last_line_epoch = now, record.epoch
                self._print(self._line(record))
                if self.output_closed:
                    trainer.request_stop()

    def on_train_end(self, result, trainer) -> None:
        self.stop()
        if self.quiet or self.latest is None:
            return
        if self.live_mode:  # the live view was transient: leave the last epochs on screen
            self._print(epoch_table(self.recent, self.classification, self.has_val))
        elif self._last_line_epoch != self.latest.epoch:
            self._print(self._line(self.latest))

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __enter__(self) -> TrainingDisplay:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def print_outcome(self, outcome, signalled: bool) -> None:
        """The closing lines of `mlpcli train`: final metrics, where the run is, and for a run
        that did not finish, why (a signal when `signalled`, else the output) and how to go on."""
        console, s = self.console, outcome.summary
        final = s.get("final") or {}
        done = _epochs(s["epochs_run"])
        head = f"{s['status']}: {done} in {fmt(s.get('seconds'), 'seconds')}"
        if s["status"] == "diverged":  # the same epoch as the error below
            head = (f"diverged in epoch {s['epochs_run'] + 1}; the weights after {done} "
                    f"({fmt(s.get('seconds'), 'seconds')}) are saved")
        if s.get("stopped_early"):
            head += f" (stopped early; weights of the best epoch, {s['best_epoch']})"
        console.print(head)
        parts = [f"{key} {fmt(final[key], metric_kind(key))}" for key in SUMMARY_METRICS
                 if final.get(key) is not None]
        if s.get("dropped_rows"):
            parts.append(f"{s['dropped_rows']} rows with missing values dropped (--dropna)")
        if parts:
            console.print("  ·  ".join(parts))
        if s.get("test"):
            console.print(test_scores(s["test"]))
        console.print(f"run saved to {outcome.path}")
        if s["status"] == "diverged":
            error(s["error"])
        elif s["status"] == "interrupted":
            epochs = outcome.result.epochs_run
            # never wrapped inside the command: it stays copy-pasteable at any width
            hint = resume_command(outcome.path)
            if self.output_error and not signalled:  # one line: an error
                error(f"{self.output_error}: training stopped after epoch {epochs}; continue "
                      f"with: {hint}")
            elif self.output_closed and not signalled:
                make_console(stderr=True).print(
                    f"output closed: training stopped after epoch {epochs}; continue with: "
                    f"{hint}", soft_wrap=True, markup=False)
            else:  # the command on a line of its own
                console.print(f"interrupted after epoch {epochs}; continue with:")
                console.print(f"  {hint}", soft_wrap=True, markup=False, highlight=False)

    # rendering ------------------------------------------------------------------------------

    def _line(self, r) -> str:
        parts = [f"epoch {r.epoch}/{self.total}"]
        parts += [f"{key} {fmt(getattr(r, key), kind)}" for key, _, kind in
                  _epoch_columns(self.classification, self.has_val)
                  if getattr(r, key) is not None]
        parts.append(fmt(r.seconds, "seconds"))
        return "  ".join(parts)

    def _render(self):
        done = self.latest.epoch if self.latest else 0
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=self.total, completed=done, width=40),
                    f"{done}/{self.total} epochs",
                    fmt(self.latest.seconds, "seconds") if self.latest else "")
        return Group(bar, epoch_table(list(self.recent), self.classification, self.has_val))

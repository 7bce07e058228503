"""All terminal output: the live training view, result tables, charts and error lines.

Live redraw and colour only on a terminal (and not with NO_COLOR); elsewhere plain lines, at
most one every few seconds while training. The training loop only hands records over; rich
redraws on its own thread, a few times a second.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from collections import deque

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

PLAIN_LINE_SECONDS = 5.0  # non-terminal output: at most one progress line this often
RECENT_EPOCHS = 8  # rows of the live table


class OutputClosed(Exception):
    """The reader of stdout went away (`mlpcli … | head`); stdout now goes to /dev/null.

    Not an OSError, so that click does not turn it into exit status 1 on its way out."""


class _Console(Console):
    """rich's Console, except that when the reader of the output goes away it goes quiet and
    raises OutputClosed for the command to handle, instead of exiting 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        silence(self.file)
        raise OutputClosed


def write_stdout(text: str) -> None:
    """Write `text` to stdout, raising OutputClosed if its reader has gone."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        silence(sys.stdout)
        raise OutputClosed from None


def silence(stream) -> None:
    """Point a stream whose reader has gone at /dev/null, so that nothing more fails on it (not
    even Python's flush at exit). A stream without a file descriptor is left alone."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def make_console(stderr: bool = False) -> Console:
    no_color = bool(os.environ.get("NO_COLOR"))
    console = _Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=True)
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


def _layers(sizes) -> str:
    return "-".join(str(s) for s in sizes)


# --- training display --------------------------------------------------------------------------

def epoch_table(records, classification: bool, has_val: bool) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("epoch", justify="right")
    table.add_column("train loss", justify="right")
    if has_val:
        table.add_column("val loss", justify="right")
    if classification:
        table.add_column("train acc", justify="right")
        if has_val:
            table.add_column("val acc", justify="right")
    table.add_column("lr", justify="right")
    table.add_column("time", justify="right")
    for r in records:
        row = [str(r.epoch), fmt(r.train_loss)]
        if has_val:
            row.append(fmt(r.val_loss))
        if classification:
            row.append(fmt(r.train_acc, "acc"))
            if has_val:
                row.append(fmt(r.val_acc, "acc"))
        row += [fmt(r.lr), fmt(r.seconds, "seconds")]
        table.add_row(*row)
    return table


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
        self._live = None
        self._last_line = 0.0  # when the last plain progress line was printed
        self._last_line_epoch = 0

    def _print(self, renderable) -> None:
        if self.output_closed:
            return
        try:
            self.console.print(renderable)
        except OutputClosed:
            self.output_closed = True

    # callbacks ------------------------------------------------------------------------------

    def on_run_start(self, info) -> None:
        cfg = info["config"]
        self.total = cfg.epochs
        self.classification = info["task"] == "classification"
        self.has_val = info["val_rows"] > 0
        if self.quiet:
            return
        task = info["task"]
        if self.classification:
            classes = ", ".join(map(str, info["classes"][:10]))
            more = ", …" if len(info["classes"]) > 10 else ""
            task += f" ({len(info['classes'])} classes: {classes}{more})"
        self._print(f"[bold]training[/] {cfg.data}: {task}")
        self._print(f"layers {_layers(info['layers'])}  ·  {info['train_rows']} train / "
                    f"{info['val_rows']} validation rows  ·  seed {cfg.seed}")
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

    # rendering ------------------------------------------------------------------------------

    def _line(self, r) -> str:
        parts = [f"epoch {r.epoch}/{self.total}", f"train_loss {fmt(r.train_loss)}"]
        if r.val_loss is not None:
            parts.append(f"val_loss {fmt(r.val_loss)}")
        if r.train_acc is not None:
            parts.append(f"train_acc {fmt(r.train_acc, 'acc')}")
        if r.val_acc is not None:
            parts.append(f"val_acc {fmt(r.val_acc, 'acc')}")
        parts.append(fmt(r.seconds, "seconds"))
        return "  ".join(parts)

    def _render(self):
        done = self.latest.epoch if self.latest else 0
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=self.total, completed=done, width=40),
                    f"{done}/{self.total} epochs",
                    fmt(self.latest.seconds, "seconds") if self.latest else "")
        return Group(bar, epoch_table(list(self.recent), self.classification, self.has_val))


def print_outcome(console: Console, outcome, quiet: bool = False) -> None:
    """The closing lines of `mlpcli train`: final metrics and where the run is."""
    s = outcome.summary
    final = s.get("final") or {}
    head = f"{s['status']}: {s['epochs_run']} epochs in {fmt(s.get('seconds'), 'seconds')}"
    if s.get("stopped_early"):
        head += f" (stopped early; weights of the best epoch, {s['best_epoch']})"
    console.print(head)
    parts = []
    for key, kind in (("train_loss", "loss"), ("val_loss", "loss"), ("train_acc", "acc"),
                      ("val_acc", "acc"), ("train_r2", "loss"), ("val_r2", "loss")):
        if final.get(key) is not None:
            parts.append(f"{key} {fmt(final[key], kind)}")
    if s.get("dropped_rows"):
        parts.append(f"{s['dropped_rows']} rows with missing values dropped (--dropna)")
    if parts:
        console.print("  ·  ".join(parts))
    console.print(f"run saved to {outcome.path}")


# --- gradcheck ---------------------------------------------------------------------------------

def gradcheck_table(report) -> Table:
    table = Table(title="Gradient check: backprop vs. centered differences", header_style="bold")
    for name, justify in (("tensor", "left"), ("shape", "left"), ("checked", "right"),
                          ("kinks", "right"), ("max abs err", "right"),
                          ("max rel err", "right"), ("result", "left")):
        table.add_column(name, justify=justify)
    for t in report.parameters:
        checked = f"{t.checked}" + (f" of {t.size} (sample)" if t.sampled else "")
        if t.all_kinks:
            result = "[yellow]unverified[/] (all kinks)"
        else:
            result = "[green]pass[/]" if t.passed else "[bold red]FAIL[/]"
        table.add_row(t.name, "×".join(map(str, t.shape)), checked, str(t.kinks),
                      f"{t.max_abs_error:.2e}", f"{t.max_rel_error:.2e}", result)
    return table


def gradcheck_verdict(report) -> str:
    rule = (f"relative error ≤ {report.tol:g} or absolute error ≤ {report.abs_tol:g} per "
            f"coordinate; ε = {report.eps:g}")
    kinks = sum(t.kinks for t in report.parameters)
    note = (f"; {kinks} coordinate(s) on a ReLU kink not judged" if kinks else "")
    unverified = [t.name for t in report.parameters if t.all_kinks]
    if unverified:
        note += (f"; {', '.join(unverified)}: every coordinate sits on a kink, nothing verified "
                 f"(try another --seed)")
    if report.passed:
        return f"[bold green]PASSED[/]: backprop matches finite differences ({rule}{note})"
    failed = ", ".join(t.name for t in report.parameters if not t.passed)
    return f"[bold red]FAILED[/]: {failed} differ from finite differences ({rule}{note})"


def explain_table(rows, lecture: bool, cap: int) -> tuple[Table, str]:
    """rows: dicts with name, value, (lecture), backprop, numerical, kink."""
    title = ("The lecture's nine partial derivatives ∂f/∂p, three ways" if lecture
             else "Every parameter: backprop vs. numerical ∂f/∂p")
    table = Table(title=title, header_style="bold")
    table.add_column("p")
    if lecture:
        table.add_column("tensor")
    table.add_column("value", justify="right")
    if lecture:
        table.add_column("by hand (lecture)", justify="right")
    table.add_column("backprop", justify="right")
    table.add_column("numerical", justify="right")
    table.add_column("note", justify="left")
    for r in rows[:cap]:
        cells = [r["name"]]
        if lecture:
            cells.append(r["tensor"])
        cells.append(f"{r['value']:+.6f}")
        if lecture:
            cells.append(f"{r['lecture']:+.10f}")
        cells += [f"{r['backprop']:+.10f}", f"{r['numerical']:+.10f}",
                  "kink" if r["kink"] else ""]
        table.add_row(*cells)
    note = ""
    if len(rows) > cap:
        note = f"showing {cap} of {len(rows)} parameters (use --json for all)"
    return table, note


# --- runs --------------------------------------------------------------------------------------

STATUS_STYLE = {"finished": "green", "running": "cyan", "interrupted": "yellow",
                "diverged": "red", "failed": "red", "crashed": "red", "damaged": "red"}


RUN_COLUMNS = {"id": "text", "status": "text", "dataset": "text", "epochs": "int",
               "hidden": "text", "lr": "loss", "batch_size": "int", "seed": "int",
               "train_loss": "loss", "val_loss": "loss", "train_acc": "acc", "val_acc": "acc",
               "seconds": "seconds"}
# left out, in this order, while the table is wider than the terminal (--csv has them all)
RUN_COLUMNS_DROPPABLE = ["seed", "batch_size", "lr", "seconds", "train_acc", "dataset",
                         "hidden", "epochs"]


def runs_table(frame, width: int | None = None) -> Table:
    """`runs list` as a table, without squeezing: columns that don't fit `width` are left out."""
    import pandas as pd

    rows = []
    for _, row in frame.iterrows():
        cells = {}
        for c, kind in RUN_COLUMNS.items():
            value = row[c]
            if pd.isna(value):  # None, NaN or <NA>
                cells[c] = "–"
            elif c == "status":
                cells[c] = f"[{STATUS_STYLE.get(value, 'white')}]{value}[/]"
            elif c == "dataset":
                cells[c] = _short(value)
            elif kind == "text":
                cells[c] = str(value)
            else:
                cells[c] = fmt(value, kind)
        rows.append(cells)

    def build(columns) -> Table:
        table = Table(header_style="bold")
        for c in columns:
            table.add_column(c.replace("batch_size", "batch").replace("_", " "), no_wrap=True,
                             justify="left" if RUN_COLUMNS[c] == "text" else "right")
        for cells in rows:
            table.add_row(*(cells[c] for c in columns))
        return table

    columns = [c for c in RUN_COLUMNS if c in ("id", "status") or
               any(cells[c] != "–" for cells in rows)]  # no all-empty columns
    table = build(columns)
    measure = Console(width=10_000).measure  # the table's natural width
    for c in RUN_COLUMNS_DROPPABLE:
        if width is None or measure(table).maximum <= width:
            break
        if c in columns:
            columns.remove(c)
            table = build(columns)
    return table


def _short(path) -> str:
    if not isinstance(path, str):
        return "–"
    return os.path.basename(path)


def key_value_table(title: str, items) -> Table:
    table = Table(title=title, show_header=False, box=None, pad_edge=False, title_justify="left",
                  title_style="bold")
    table.add_column(style="dim")
    table.add_column()
    for k, v in items:
        table.add_row(str(k), v if isinstance(v, Text) else str(v))
    return table


def ascii_chart(series: dict, width: int = 64, height: int = 12) -> str:
    """A small terminal chart of one or more curves (log scale when all values are positive)."""
    marks = ["●", "×", "+", "o", "*", "#"]
    clean = {k: [float(v) for v in vs if v == v] for k, vs in series.items()}
    clean = {k: v for k, v in clean.items() if v}
    if not clean:
        return "(no data to plot)"
    values = [v for vs in clean.values() for v in vs]
    log = min(values) > 0
    tf = (lambda v: math.log10(v)) if log else (lambda v: v)
    lo, hi = min(map(tf, values)), max(map(tf, values))
    if hi - lo < 1e-12:
        hi = lo + 1.0
    grid = [[" "] * width for _ in range(height)]
    for (_label, vs), mark in zip(clean.items(), marks):
        n = len(vs)
        for col in range(width):
            i = min(n - 1, round(col * (n - 1) / max(width - 1, 1))) if n > 1 else 0
            if n < width and col > (n - 1) * (width - 1) / max(n - 1, 1) + 0.5:
                break
            row = round((hi - tf(vs[i])) / (hi - lo) * (height - 1))
            grid[row][col] = mark
    def label(y):
        v = hi - y * (hi - lo) / (height - 1)
        return fmt(10**v if log else v)
    lines = []
    for y, row in enumerate(grid):
        axis = label(y) if y in (0, height // 2, height - 1) else ""
        lines.append(f"{axis:>10} │{''.join(row)}")
    n_max = max(len(v) for v in series.values())
    lines.append(f"{'':>10} └{'─' * width}")
    lines.append(f"{'':>10}  epoch 1{('epoch ' + str(n_max)).rjust(width - 7)}")
    legend = "   ".join(f"{m} {k}" for (k, _), m in zip(clean.items(), marks))
    lines.append(f"{'':>10}  {legend}" + ("   (log scale)" if log else ""))
    return "\n".join(lines)


def _file_size(path) -> str:
    size = path.stat().st_size
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def run_report(run) -> list:
    """Renderables for `runs show`: status, options, metrics, files, the loss curve."""
    summary, options = run.summary(), run.config().get("options", {})
    status = run.status()
    metrics = run.metrics()
    head = [
        ("run", run.id), ("status", Text(status, style=STATUS_STYLE.get(status, ""))),
        ("dataset", options.get("data")), ("task", summary.get("task", "–")),
        ("started", summary.get("started", "–")), ("ended", summary.get("ended") or "–"),
        ("epochs", f"{summary.get('epochs_run', len(metrics))} (best "
                   f"{summary.get('best_epoch', '–')}"
                   f"{', stopped early' if summary.get('stopped_early') else ''})"),
        ("training time", fmt(summary.get("seconds"), "seconds")),
        ("command", " ".join(summary.get("argv") or []) or "–"),
    ]
    if summary.get("error"):
        head.append(("error", Text(str(summary["error"]), style="red")))
    shown = {k: v for k, v in options.items() if v not in (None, [], "")}
    opts = [(k, ",".join(map(str, v)) if isinstance(v, list) else v) for k, v in shown.items()]
    final, best = summary.get("final") or {}, summary.get("best") or {}
    result = Table(title="Metrics", header_style="bold", title_justify="left", title_style="bold")
    result.add_column("")
    for key in ("train_loss", "val_loss", "train_acc", "val_acc", "train_r2", "val_r2",
                "val_rmse"):
        if final.get(key) is not None or best.get(key) is not None:
            result.add_column(key.replace("_", " "), justify="right")
    keys = [c.header.replace(" ", "_") for c in result.columns[1:]]
    kind = {k: "acc" if k.endswith("acc") else "loss" for k in keys}
    result.add_row("final (saved weights)", *(fmt(final.get(k), kind[k]) for k in keys))
    if best:
        result.add_row(f"best epoch ({best.get('epoch')})", *(fmt(best.get(k), kind[k])
                                                                for k in keys))
    files = [(p.name, _file_size(p)) for p in sorted(run.path.iterdir()) if p.is_file()
             and not p.name.startswith(".")]
    curves = {"train loss": list(metrics["train_loss"])}
    if metrics["val_loss"].notna().any():
        curves["val loss"] = list(metrics["val_loss"])
    return [
        key_value_table("Run", head), "",
        key_value_table("Options", opts), "",
        result, "",
        key_value_table(f"Files in {run.path}", files), "",
        Text("Loss per epoch", style="bold"), Text(ascii_chart(curves)),
    ]


def compare_table(runs) -> Table:
    """The options that differ between runs, then their metrics, one column per run."""
    options = [r.config().get("options", {}) for r in runs]
    summaries = [r.summary() for r in runs]
    table = Table(header_style="bold")
    table.add_column("")
    for r in runs:
        table.add_column(r.id, justify="right")
    keys = sorted({k for o in options for k in o})
    differ = [k for k in keys if len({json_key(o.get(k)) for o in options}) > 1]
    for k in differ:
        table.add_row(k, *(_cell(o.get(k)) for o in options))
    if not differ:
        table.add_row("options", *(["identical"] * len(runs)))
    table.add_section()
    table.add_row("status", *(r.status() for r in runs))
    table.add_row("epochs", *(str(s.get("epochs_run", "–")) for s in summaries))
    table.add_row("best epoch", *(str(s.get("best_epoch", "–")) for s in summaries))
    finals = [s.get("final") or {} for s in summaries]
    for key in ("train_loss", "val_loss", "train_acc", "val_acc", "val_r2", "val_rmse"):
        if any(f.get(key) is not None for f in finals):
            kind = "acc" if key.endswith("acc") else "loss"
            table.add_row(key, *(fmt(f.get(key), kind) for f in finals))
    table.add_row("seconds", *(fmt(s.get("seconds"), "seconds") for s in summaries))
    return table


def json_key(value) -> str:
    """A comparable form of an option's value (lists and dicts included)."""
    return json.dumps(value, sort_keys=True)


def _cell(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "–"
    return "–" if value is None else str(value)

"""Tables of results: runs, one run in detail, runs side by side, bundled datasets, key-value
lists. Each is built from values the caller read (a DataFrame, dicts): nothing here reads a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from mlpcli.console.charts import ascii_chart
from mlpcli.console.terminal import SUMMARY_METRICS, fmt, metric_kind


@dataclass
class RunView:
    """What the tables show of one run, as read from its directory by the caller."""

    id: str
    path: Path
    status: str
    summary: dict
    options: dict
    metrics: object = None  # metrics.csv as a DataFrame (for `runs show`)
    files: list = field(default_factory=list)  # (name, size in bytes) of its files


STATUS_STYLE = {"finished": "green", "running": "cyan", "interrupted": "yellow",
                "diverged": "red", "failed": "red", "crashed": "red", "damaged": "red"}


RUN_COLUMNS = {"id": "text", "status": "text", "kind": "text", "trials": "int",
               "dataset": "text", "epochs": "int", "hidden": "text", "activation": "text",
               "loss": "text", "lr": "option", "batch_size": "int", "seed": "int",
               "train_loss": "loss", "val_loss": "loss", "train_acc": "acc", "val_acc": "acc",
               "test_loss": "loss", "test_acc": "acc", "test_r2": "loss", "best_epoch": "int",
               "seconds": "seconds"}
# the columns shown without --wide, and the order in which columns whose value is the same in
# every listed run are left out while the table is wider than the terminal (--csv has them all)
DEFAULT_COLUMNS = [c for c in RUN_COLUMNS if c not in ("activation", "loss", "best_epoch",
                                                     "seconds")]
LEAVE_OUT_FIRST = ["seed", "batch_size", "kind", "status", "seconds", "dataset", "lr", "hidden",
                   "epochs", "trials", "train_acc", "train_loss", "test_loss", "val_loss",
                   "test_r2", "test_acc", "val_acc"]
MIN_ROWS_TO_COMPARE = 2  # with one run every column is "the same in every run"


@dataclass
class RunsListing:
    """`runs list` as shown: the table, the constant columns left out (name → value), and
    whether it is still wider than the terminal (it is never squeezed: cells stay whole)."""

    table: Table
    left_out: dict[str, str]
    too_wide: bool


def runs_listing(frame, width: int | None = None, columns=None, wide: bool = False) -> RunsListing:
    """`runs list`: `columns` as given, every column with `wide`, else the default columns
    without empty ones, leaving out columns that are the same in every run (in the order of
    LEAVE_OUT_FIRST; the status only when there are several runs) while the table is wider
    than `width`. A column whose values differ between the runs is never left out."""
    from mlpcli.errors import ConfigError

    if columns:
        unknown = [c for c in columns if c not in RUN_COLUMNS]
        if unknown:
            raise ConfigError(f"--columns: no column {unknown[0]!r}; choose from "
                              f"{', '.join(RUN_COLUMNS)}")
    cells = {c: [_list_cell(c, v) for v in frame[c]] for c in RUN_COLUMNS}
    if columns:
        shown = list(dict.fromkeys(columns))
    else:
        shown = [c for c in (RUN_COLUMNS if wide else DEFAULT_COLUMNS)
                 if c == "id" or any(v != "–" for v in cells[c])]
        if "trials" not in shown and "kind" in shown:  # no sweep: every row is a run
            shown.remove("kind")
    table, left_out = _runs_table(shown, cells), {}
    if columns or wide or width is None:
        return RunsListing(table, left_out, False)
    for c in LEAVE_OUT_FIRST:
        if _natural_width(table) <= width:
            break
        if c == "status" and len(frame) < MIN_ROWS_TO_COMPARE:
            continue  # a single run's status always shows
        if c in shown and len(set(cells[c])) == 1:
            shown.remove(c)
            left_out[c] = cells[c][0] if len(frame) >= MIN_ROWS_TO_COMPARE else None
            table = _runs_table(shown, cells)
    return RunsListing(table, left_out, _natural_width(table) > width)


def _list_cell(column: str, value) -> str:
    import pandas as pd

    kind = RUN_COLUMNS[column]
    if pd.isna(value):  # None, NaN or <NA>
        return "–"
    if column == "dataset":
        return _short(value)
    if kind == "option":  # as it was given: 0.0001, not 1.000e-04
        return f"{value:g}"
    return str(value) if kind == "text" else fmt(value, kind)


def _compact_table() -> Table:
    """A table of one row per run: a rule under the headings, no borders, two spaces between
    columns (many columns fit a terminal)."""
    return Table(header_style="bold", box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0))


def _runs_table(columns, cells) -> Table:
    table = _compact_table()
    for c in columns:
        table.add_column(_heading(c), no_wrap=True,
                         justify="left" if RUN_COLUMNS[c] == "text" else "right")
    for i in range(len(cells["id"])):
        table.add_row(*(_styled(c, cells[c][i]) for c in columns))
    return table


def _heading(column: str) -> str:
    """A column's heading, on two lines where it has two words (narrower columns)."""
    return column.replace("batch_size", "batch").replace("_r2", " R²").replace("_", "\n") \
        .replace(" ", "\n")


def _styled(column: str, cell: str) -> str:
    if column == "status" and cell != "–":
        return f"[{STATUS_STYLE.get(cell, 'white')}]{cell}[/]"
    return cell.replace("[", r"\[")


def _natural_width(table: Table) -> int:
    return Console(width=100_000).measure(table).maximum


def print_uncut(console: Console, table: Table) -> None:
    """Print a table at its natural width even on a narrower terminal: cells are never cut."""
    natural = _natural_width(table)
    if natural > console.width:
        table.width = natural
    console.print(table, crop=False)


def print_runs_listing(console: Console, listing: RunsListing) -> None:
    """The table, then a line naming the columns left out because every run has the same
    value, and a hint when the table is still wider than the terminal."""
    print_uncut(console, listing.table)
    if listing.left_out:
        same = ", ".join(c if v is None else f"{c} {v}"
                         for c, v in listing.left_out.items())
        what = "the same in every run" if None not in listing.left_out.values() else "to fit"
        console.print(f"left out ({what}; --wide shows every column): {same}",
                      soft_wrap=False, highlight=False, markup=False)
    if listing.too_wide:
        console.print("wider than the terminal; pick columns with e.g. --columns id,lr,val_acc",
                      soft_wrap=False, highlight=False)


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


SCORED_ROWS = {  # what `evaluate` scored, by (what DATA is to the run, split)
    ("training file", "test"): "its {rows} test rows (held out: never trained or validated on)",
    ("training file", "val"): "its {rows} validation rows (they chose the best epoch, so the "
                              "score is optimistic; train with --test-frac for test rows)",
    ("training file", "train"): "its {rows} training rows (the rows the run trained on)",
    ("training file", "all"): "all {rows} rows, training rows included",
    ("validation file", "val"): "all {rows} rows: the run's --val-file",
    ("test file", "test"): "all {rows} rows: the run's --test-file, never trained on",
    ("other file", "all"): "all {rows} rows (not the run's training file)",
}


def evaluation_table(run_id: str, data: str, scores: dict) -> Table:
    """`evaluate`: the scores, under a title that says which rows of DATA were scored."""
    which = SCORED_ROWS[scores["source"], scores["split"]].format(rows=scores["rows"])
    items = [(k, fmt(v, "acc" if k == "accuracy" else "loss")) for k, v in scores.items()
             if k not in ("split", "rows", "source")]
    return key_value_table(f"{run_id} on {data}: {which}", items)


def run_report(run: RunView) -> list:
    """Renderables for `runs show`: status, options, metrics, files, the loss curve."""
    summary, options, status, metrics = run.summary, run.options, run.status, run.metrics
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
    if summary.get("test"):
        head.append(("test rows", test_scores(summary["test"])))
    shown = {k: v for k, v in options.items() if v not in (None, [], "")}
    opts = [(k, ",".join(map(str, v)) if isinstance(v, list) else v) for k, v in shown.items()]
    final, best = summary.get("final") or {}, summary.get("best") or {}
    keys = [k for k in SUMMARY_METRICS if final.get(k) is not None or best.get(k) is not None]
    result = Table(title="Metrics", header_style="bold", title_justify="left", title_style="bold")
    result.add_column("")
    for key in keys:
        result.add_column(key.replace("_", " "), justify="right")
    result.add_row("final (saved weights)", *(fmt(final.get(k), metric_kind(k)) for k in keys))
    if best:
        result.add_row(f"best epoch ({best.get('epoch')})",
                       *(fmt(best.get(k), metric_kind(k)) for k in keys))
    files = [(name, size_text(size)) for name, size in run.files]
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


def test_scores(test: dict) -> str:
    """summary.json's `test` in one line: its scores, then how many rows (scored once)."""
    scores = [f"test_{key} {fmt(test[key], metric_kind(f'test_{key}'))}"
              for key in ("loss", "acc", "r2", "rmse") if test.get(key) is not None]
    where = f" of {test['file']}" if test.get("file") else ""
    return "  ·  ".join(scores) + f"  ({test['rows']} test rows{where}, scored once)"


def size_text(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


COMPARE_COLUMNS_MAX = 3  # more runs than this: one row per run instead of one column


def run_labels(runs: list[RunView]) -> list[str]:
    """What heads each run in `runs compare`: its --name when that is unique among them, else
    the shortest suffix of its id (whole "-"-separated parts) that is."""
    names = [r.options.get("name") for r in runs]
    labels = []
    for r, name in zip(runs, names):
        if name and names.count(name) == 1:
            labels.append(name)
            continue
        parts = r.id.split("-")
        for k in range(1, len(parts) + 1):
            suffix = "-".join(parts[-k:])
            if sum(other.id.endswith(suffix) for other in runs) == 1:
                break
        labels.append(suffix)
    return labels


def compare_table(runs: list[RunView], width: int | None = None) -> Table:
    """The options that differ between runs, then their status and metrics: one column per run,
    or one row per run when there are more than COMPARE_COLUMNS_MAX or the columns do not fit
    `width`. Cells are never cut (print with `print_uncut`)."""
    options = [r.options for r in runs]
    summaries = [r.summary for r in runs]
    keys = sorted({k for o in options for k in o} - {"name"})
    differ = [k for k in keys if len({json_key(o.get(k)) for o in options}) > 1]
    finals = [s.get("final") or {} for s in summaries]
    tests = [s.get("test") or {} for s in summaries]
    rows = [(k, [_cell(o.get(k)) for o in options]) for k in differ]
    rows += [("status", [r.status for r in runs]),
             ("epochs", [str(s.get("epochs_run", "–")) for s in summaries]),
             ("best epoch", [str(s.get("best_epoch", "–")) for s in summaries])]
    rows += [(key.replace("_", " "), [fmt(f.get(key), metric_kind(key)) for f in finals])
             for key in SUMMARY_METRICS if any(f.get(key) is not None for f in finals)]
    rows += [(f"test {key}", [fmt(t.get(key), metric_kind(f"test_{key}")) for t in tests])
             for key in ("loss", "acc", "r2", "rmse") if any(t.get(key) is not None for t in tests)]
    rows.append(("seconds", [fmt(s.get("seconds"), "seconds") for s in summaries]))
    labels = run_labels(runs)
    table = _compare_by_column(labels, rows, len(differ))
    if len(runs) > COMPARE_COLUMNS_MAX or (width is not None and _natural_width(table) > width):
        table = _compare_by_row(labels, rows, len(differ))
    return table


def _compare_by_column(labels, rows, n_options: int) -> Table:
    table = Table(header_style="bold")
    table.add_column("")
    for label in labels:
        table.add_column(label, justify="right", no_wrap=True)
    if not n_options:
        table.add_row("options", *(["identical"] * len(labels)))
    for i, (key, cells) in enumerate(rows):
        if i == n_options:
            table.add_section()
        table.add_row(key, *cells)
    return table


def _compare_by_row(labels, rows, n_options: int) -> Table:
    """One row per run; what every run shares (the same status, epochs, …) goes in a line
    under the table instead of a column."""
    same = [(key, cells[0]) for key, cells in rows[n_options:] if len(set(cells)) == 1]
    rows = rows[:n_options] + [(key, cells) for key, cells in rows[n_options:]
                               if len(set(cells)) > 1]
    table = _compact_table()
    table.add_column("run", no_wrap=True)
    for i, (key, _) in enumerate(rows):
        table.add_column(_heading(key), justify="right", no_wrap=True,
                         style="bold" if i < n_options else None)
    for j, label in enumerate(labels):
        table.add_row(label, *(cells[j] for _, cells in rows))
    if same:
        table.caption = "every run: " + ", ".join(f"{key} {value}" for key, value in same)
        table.caption_justify = "left"
    return table


def json_key(value) -> str:
    """A comparable form of an option's value (lists and dicts included)."""
    return json.dumps(value, sort_keys=True)


def _cell(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "–"
    return "–" if value is None else str(value)


def cache_report(summary: dict) -> list:
    """`cache info`: where the cache is, its size against its limit, one row per entry."""
    state = "" if summary["enabled"] else "  (turned off by MLPCLI_NO_CACHE)"
    head = Text(f"{summary['dir']}{state}\n{summary['entries']} "
                f"{'entry' if summary['entries'] == 1 else 'entries'}, "
                f"{size_text(summary['bytes'])} of {size_text(summary['limit'])}")
    if not summary["items"]:
        return head
    table = Table(header_style="bold", box=box.SIMPLE_HEAD)
    for col in ("source", "rows × inputs", "size", "last used"):
        table.add_column(col, justify="right" if col in ("size",) else "left")
    for item in summary["items"]:
        shape = item["shapes"].get("X_train", [[0, 0]])[0]
        used = datetime.fromtimestamp(item["last_used"]).strftime("%Y-%m-%d %H:%M")
        table.add_row(Text(str(item["source"])), f"{shape[0]:,} × {shape[1]}",
                      size_text(item["bytes"]), used)
    return Group(head, table)


def datasets_table(rows) -> Table:
    """`datasets list`: name, rows, features, target and task of each bundled dataset."""
    table = Table(header_style="bold")
    for col in ("name", "rows", "features", "target", "task"):
        table.add_column(col, justify="right" if col in ("rows", "features") else "left")
    for row in rows:
        table.add_row(row["name"], str(row["rows"]), str(row["features"]), row["target"],
                      row["task"])
    return table

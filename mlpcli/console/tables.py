"""Tables of results: runs, one run in detail, runs side by side, bundled datasets, key-value
lists. Each is built from values the caller read (a DataFrame, dicts): nothing here reads a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
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
               "dataset": "text", "epochs": "int",
               "hidden": "text", "lr": "loss", "batch_size": "int", "seed": "int",
               "train_loss": "loss", "val_loss": "loss", "train_acc": "acc", "val_acc": "acc",
               "test_loss": "loss", "test_acc": "acc", "test_r2": "loss", "seconds": "seconds"}
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
    if "trials" not in columns and "kind" in columns:  # no sweep: every row is a run
        columns.remove("kind")
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
    files = [(name, _size(size)) for name, size in run.files]
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


def _size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def compare_table(runs: list[RunView]) -> Table:
    """The options that differ between runs, then their metrics, one column per run."""
    options = [r.options for r in runs]
    summaries = [r.summary for r in runs]
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
    table.add_row("status", *(r.status for r in runs))
    table.add_row("epochs", *(str(s.get("epochs_run", "–")) for s in summaries))
    table.add_row("best epoch", *(str(s.get("best_epoch", "–")) for s in summaries))
    finals = [s.get("final") or {} for s in summaries]
    for key in SUMMARY_METRICS:
        if any(f.get(key) is not None for f in finals):
            table.add_row(key, *(fmt(f.get(key), metric_kind(key)) for f in finals))
    table.add_row("seconds", *(fmt(s.get("seconds"), "seconds") for s in summaries))
    return table


def json_key(value) -> str:
    """A comparable form of an option's value (lists and dicts included)."""
    return json.dumps(value, sort_keys=True)


def _cell(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "–"
    return "–" if value is None else str(value)


def datasets_table(rows) -> Table:
    """`datasets list`: name, rows, features, target and task of each bundled dataset."""
    table = Table(header_style="bold")
    for col in ("name", "rows", "features", "target", "task"):
        table.add_column(col, justify="right" if col in ("rows", "features") else "left")
    for row in rows:
        table.add_row(row["name"], str(row["rows"]), str(row["features"]), row["target"],
                      row["task"])
    return table

"""What `mlpcli sweep` shows: a live progress view, plain progress lines, the final leaderboard.

On a terminal: a progress bar over the trials (done / running / failed, ETA) and the current
top of the leaderboard, redrawn by rich a few times a second. Elsewhere: one plain line at most
every PLAIN_LINE_SECONDS. With --quiet: only the final table.
"""

from __future__ import annotations

import threading
import time

import pandas as pd
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from mlpcli.console import PLAIN_LINE_SECONDS, fmt, is_live

LIVE_TOP = 5  # leaderboard rows in the live view
FINAL_TOP = 10  # … and at the end


def _kind(metric: str) -> str:
    return "acc" if metric.endswith("acc") else "loss"


def leaderboard_table(board: pd.DataFrame, params: list[str], top: int = FINAL_TOP,
                      title: str | None = None) -> Table:
    """The leaderboard's first `top` rows as a table."""
    table = Table(header_style="bold", title=title, title_justify="left", title_style="bold")
    metric = board["metric"].iloc[0] if len(board) else "metric"
    columns = ["rank", *params, "trials", f"{metric} mean", "± std", "min", "max"]
    if "solved" in board:
        columns.append("solved")
    for c in columns:
        table.add_column(c, justify="left" if c in params else "right", no_wrap=True)
    kind = _kind(metric)
    for _, row in board.head(top).iterrows():
        cells = [str(row["rank"]), *(str(row[p]) for p in params), str(row["trials"]),
                 fmt(row["mean"], kind), fmt(row["std"], kind), fmt(row["min"], kind),
                 fmt(row["max"], kind)]
        if "solved" in board:
            cells.append(fmt(row["solved"], "acc"))
        table.add_row(*cells)
    return table


def best_line(best: dict | None) -> str:
    if not best:
        return "no configuration finished a trial"
    params = "  ".join(f"{k}={v}" for k, v in best["params"].items()) or "(the fixed options)"
    spread = "" if best.get("std") is None else f" ± {fmt(best['std'], _kind(best['metric']))}"
    return (f"best: {params}  ·  {best['metric']} {fmt(best['mean'], _kind(best['metric']))}"
            f"{spread} over {best['trials']} trial{'s' * (best['trials'] > 1)}")


class SweepDisplay:
    """Progress of a sweep: call start(), trial_started(), trial_done(), stop()."""

    def __init__(self, console: Console, quiet: bool, board_fn):
        self.console, self.quiet = console, quiet
        self.board_fn = board_fn  # rows -> leaderboard DataFrame
        self.live_mode = is_live(console) and not quiet
        self.rows: list[dict] = []
        self.running = 0
        self.total = 0
        self._lock = threading.Lock()
        self._live = None
        self._t0 = time.monotonic()
        self._last_line = 0.0

    def start(self, sweep_path, total: int, already: int, workers: str, params,
              warnings) -> None:
        self.total, self.already, self.params = total, already, params
        self._t0 = time.monotonic()
        if self.quiet:
            return
        resumed = f" ({already} done before)" if already else ""
        self.console.print(f"[bold]sweep[/] {total} trials{resumed} on {workers}")
        for w in warnings:
            self.console.print(f"[yellow]Warning:[/] {w}")
        self.console.print(f"sweep directory: {sweep_path}")
        if self.live_mode:
            self._live = Live(get_renderable=self._render, console=self.console,
                              refresh_per_second=4, transient=True)
            self._live.start()

    def trial_started(self, spec) -> None:
        with self._lock:
            self.running += 1

    def trial_done(self, trial, row: dict) -> None:
        with self._lock:
            self.running = max(0, self.running - 1)
            self.rows.append(row)
        if not self.live_mode and not self.quiet:
            now = time.monotonic()
            if now - self._last_line >= PLAIN_LINE_SECONDS or self._done() == self.total:
                self._last_line = now
                self.console.print(self._line())

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    # rendering ---------------------------------------------------------------------------------

    def _done(self) -> int:
        return self.already + len(self.rows)

    def _counts(self) -> tuple[int, int, float | None]:
        failed = sum(r["status"] in ("failed", "diverged") for r in self.rows)
        elapsed = time.monotonic() - self._t0
        left = self.total - self._done()
        eta = elapsed / len(self.rows) * left if self.rows and left else None
        return failed, left, eta

    def _line(self) -> str:
        failed, _, eta = self._counts()
        parts = [f"trials {self._done()}/{self.total}", f"running {self.running}",
                 f"failed {failed}"]
        board = self.board_fn(list(self.rows))
        if len(board) and board["mean"].notna().any():
            top = board.iloc[0]
            shown = " ".join(f"{p}={top[p]}" for p in self.params)
            parts.append(f"best {top['metric']} {fmt(top['mean'], _kind(top['metric']))}"
                         + (f" ({shown})" if shown else ""))
        if eta is not None:
            parts.append(f"ETA {fmt(eta, 'seconds')}")
        return "  ·  ".join(parts)

    def _render(self):
        with self._lock:
            rows, running = list(self.rows), self.running
        failed, _, eta = self._counts()
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=self.total, completed=self._done(), width=40),
                    f"{self._done()}/{self.total} trials", f"{running} running",
                    f"{failed} failed",
                    f"ETA {fmt(eta, 'seconds')}" if eta is not None else "")
        board = self.board_fn(rows)
        if not len(board):
            return bar
        return Group(bar, leaderboard_table(board, self.params, LIVE_TOP))


def sweep_report(sweep) -> list:
    """Renderables for `runs show SWEEP`: status and counts, the spec, the leaderboard."""
    from rich.text import Text

    from mlpcli.console import STATUS_STYLE, key_value_table

    info, summary, status = sweep.info(), sweep.summary(), sweep.status()
    spec = info.get("spec", {})
    counts = summary.get("trials") or {}
    head = [
        ("sweep", sweep.id), ("status", Text(status, style=STATUS_STYLE.get(status, ""))),
        ("dataset", info.get("dataset", {}).get("path", "–")), ("task", info.get("task")),
        ("search", f"{info.get('search')}: {info.get('configs')} configurations × "
                   f"{spec.get('seeds', 1)} seeds" + (f" × {spec['folds']} folds"
                                                      if spec.get("folds") else "")),
        ("trials", "  ".join(f"{k} {v}" for k, v in counts.items()) or "–"),
        ("started", summary.get("started", "–")), ("ended", summary.get("ended") or "–"),
        ("time", fmt(summary.get("seconds"), "seconds")),
        ("command", " ".join(info.get("argv") or []) or "–"),
    ]
    if summary.get("best_trial"):
        head.append(("best trial", f"{sweep.id}/{summary['best_trial']}  (or {sweep.id}:best)"))
    if summary.get("refit"):
        head.append(("refit", summary["refit"]))
    if summary.get("note"):
        head.append(("note", summary["note"]))
    swept = [(name, " | ".join(_value(v) for v in values))
             for name, values in spec.get("grid", {}).items()]
    swept += [(name, f"{dist}  ({spec.get('random')} draws)")
              for name, dist in spec.get("sample", {}).items()]
    fixed = [(k, _value(v)) for k, v in spec.get("fixed", {}).items()]
    board = sweep.leaderboard()
    out = [key_value_table("Sweep", head), "", key_value_table("Swept", swept or
                                                              [("–", "one configuration")]),
           "", key_value_table("Fixed options", fixed or [("–", "defaults")]), ""]
    out.append(leaderboard_table(board, info.get("params", []), FINAL_TOP, title="Leaderboard")
               if len(board) else Text("no trial has finished yet"))
    return out


def _value(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)

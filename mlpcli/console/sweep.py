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

from mlpcli.console.live import PLAIN_LINE_SECONDS
from mlpcli.console.terminal import fmt, is_live
from mlpcli.sweep.executors import default_workers
from mlpcli.sweep.leaderboard import leaderboard

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


def _frame(rows: list[dict]) -> pd.DataFrame:
    """trials.csv rows as a frame (an empty one with the columns the leaderboard reads)."""
    if not rows:
        return pd.DataFrame(columns=["status", "train_acc", "val_loss"])
    return pd.DataFrame(rows, dtype=object).infer_objects()


def print_outcome(console: Console, outcome, spec, top: int, quiet: bool, runs_dir) -> None:
    """The leaderboard, the best configuration, and what to do next."""
    console.print(leaderboard_table(outcome.sweep.leaderboard(), spec.params, top))
    if not quiet:
        console.print(best_line(outcome.summary.get("best")))
        if outcome.summary.get("note"):
            console.print(outcome.summary["note"])
    if outcome.summary["status"] == "interrupted":
        console.print(f"sweep interrupted; continue with: mlpcli sweep --resume "
                      f"{outcome.sweep.id} --runs-dir {runs_dir}")
    elif not quiet:
        console.print(f"sweep saved to {outcome.sweep.path}")


def print_refit(console: Console, path) -> None:
    if path is not None:
        console.print(f"refit: the best configuration trained on all rows: {path}")


class SweepDisplay:
    """Progress of a sweep, as the runner's observer: begin(), trial_started(), trial_done();
    a context manager that stops the live view on the way out."""

    def __init__(self, console: Console, quiet: bool, plan, workers: int | None = None,
                 dask: str | None = None):
        self.console, self.quiet, self.plan = console, quiet, plan
        self.workers = workers or default_workers()
        n = min(self.workers, len(plan.trials))
        self.where = (f"Dask {dask}" if dask else "this process" if n == 1
                      else f"{n} worker processes")
        self.output_closed = self.output_error = False  # (asked by signals.exit_code)
        self.live_mode = is_live(console) and not quiet
        self.rows: list[dict] = []
        self.running = 0
        self.total = 0
        self._lock = threading.Lock()
        self._live = None
        self._t0 = time.monotonic()
        self._last_line = 0.0

    def __enter__(self) -> SweepDisplay:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def board_fn(self, rows: list[dict]) -> pd.DataFrame:
        return leaderboard(_frame(rows), self.plan.spec.params, self.plan.task)

    def begin(self, sweep_path, already: int) -> None:
        self.total, self.already = len(self.plan.trials), already
        self.params = self.plan.spec.params
        self._t0 = time.monotonic()
        if self.quiet:
            return
        resumed = f" ({already} done before)" if already else ""
        self.console.print(f"[bold]sweep[/] {self.total} trials{resumed} on {self.where}")
        for w in self.plan.warnings:
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


def sweep_report(sweep_id: str, info: dict, summary: dict, status: str, board) -> list:
    """Renderables for `runs show SWEEP`: status and counts, the spec, the leaderboard (the
    caller reads sweep.json, summary.json and leaderboard.csv)."""
    from rich.text import Text

    from mlpcli.console.tables import STATUS_STYLE, key_value_table

    spec = info.get("spec", {})
    counts = summary.get("trials") or {}
    head = [
        ("sweep", sweep_id), ("status", Text(status, style=STATUS_STYLE.get(status, ""))),
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
        head.append(("best trial", f"{sweep_id}/{summary['best_trial']}  (or {sweep_id}:best)"))
    if summary.get("refit"):
        head.append(("refit", summary["refit"]))
    if summary.get("note"):
        head.append(("note", summary["note"]))
    swept = [(name, " | ".join(_value(v) for v in values))
             for name, values in spec.get("grid", {}).items()]
    swept += [(name, f"{dist}  ({spec.get('random')} draws)")
              for name, dist in spec.get("sample", {}).items()]
    fixed = [(k, _value(v)) for k, v in spec.get("fixed", {}).items()]
    out = [key_value_table("Sweep", head), "", key_value_table("Swept", swept or
                                                              [("–", "one configuration")]),
           "", key_value_table("Fixed options", fixed or [("–", "defaults")]), ""]
    out.append(leaderboard_table(board, info.get("params", []), FINAL_TOP, title="Leaderboard")
               if len(board) else Text("no trial has finished yet"))
    return out


def _value(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)

"""`mlpcli gradcheck` on the terminal: the network, the lecture's partial derivatives worked three
ways (with --explain), the table of tensors and the verdict."""

from __future__ import annotations

from rich.table import Table

from mlpcli.console.terminal import make_console
from mlpcli.core import gradcheck as gc


def show_gradcheck(report, model, X, Y, cfg, explain: bool, row_weights=None) -> None:
    """Print the check of `model` on (X, Y) as `cfg` set it up; `explain`: every parameter."""
    out = make_console()
    source = cfg.data or f"random data ({len(X)} rows)"
    out.print(f"network {'-'.join(map(str, model.sizes))} ({model.activation}), loss {cfg.loss}, "
              f"reduction {cfg.reduction}, weight decay {cfg.resolved_weight_decay:g}, "
              f"on {source}, float64")
    if explain:
        lecture = gc.is_lecture_network(model, cfg.loss)
        table, note = explain_table(explain_rows(report, model, X, Y, cfg, row_weights), lecture,
                                    cap=9 if lecture else 60)
        out.print(table)
        if note:
            out.print(note)
        if lecture:
            out.print("by hand: ∂f/∂p = Σ over examples of (ŷ − y)·∂ŷ/∂p, e.g. "
                      "∂ŷ/∂w1 = w5·σ'(w1x1 + w2x2 + b1)·x1, ∂ŷ/∂w5 = σ(w1x1 + w2x2 + b1), "
                      "∂ŷ/∂b3 = 1")
            if cfg.data and cfg.standardize:
                out.print("x1, x2 are the standardized inputs (XOR's 0/1 become ±1); add "
                          "--no-standardize to use the raw values as in the lecture")
    out.print(gradcheck_table(report))
    out.print(gradcheck_verdict(report))


def explain_rows(report, model, X, Y, cfg, row_weights=None) -> list[dict]:
    """One row per checked parameter; for the lecture's network, its nine scalars by name with
    the hand-derived value beside backprop's and the numerical one."""
    by_name = {c.name: c for c in report.coordinates}
    if gc.is_lecture_network(model, cfg.loss):
        hand = gc.lecture_gradients(model, X, Y, cfg.reduction, cfg.resolved_weight_decay,
                                    row_weights)
        rows = []
        for p, coord in gc.lecture_coordinate_names().items():
            c = by_name[coord]
            rows.append({"name": p, "tensor": coord, "value": c.value, "lecture": hand[p],
                         "backprop": c.backprop, "numerical": c.numerical, "kink": c.kink})
        return rows
    return [{"name": c.name, "value": c.value, "backprop": c.backprop,
             "numerical": c.numerical, "kink": c.kink} for c in report.coordinates]


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

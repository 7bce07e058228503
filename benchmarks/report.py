"""The text report of bench.py: each table built as plain data from the report dict, then
printed with rich, or as markdown (`--markdown`: rows ready to paste into a README)."""

from __future__ import annotations

from dataclasses import dataclass, field

from reading import GOAL_CACHE, GOAL_FIRST_READ, GOAL_MEMORY
from training import BUSY_GOALS, CASES, GOALS, IMPL_LABELS

PERCENT = ("matmuls", "gemm")  # ratios shown as a fraction of a ceiling
RATIO_LABELS = {"numpy": "÷ numpy loop", "torch": "÷ PyTorch", "sklearn": "÷ scikit-learn",
                "matmuls": "of matmuls", "gemm": "of limit"}


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    caption: str = ""
    left: int = 1  # the first `left` columns are text, the others numbers


# --- cells ----------------------------------------------------------------------------------

def fmt_rate(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.1f} k"


def fmt_ratio(value: float, percent: bool = False) -> str:
    return f"{value:.0%}" if percent else f"{value:.2f}×"


def fmt_goal(value: float, met: bool, percent: bool = False) -> str:
    """A ratio and whether it meets its goal: ✓ or ✗."""
    return f"{fmt_ratio(value, percent)} {'✓' if met else '✗'}"


def fmt_seconds(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f} s" if v >= 0.1 else f"{v * 1e3:.0f} ms"


def goal_text(peer: str, goal: float, at_most: bool = False) -> str:
    sign = "≤" if at_most else "≥"
    if peer in PERCENT:
        return f"{sign} {goal:.0%} of {'the GEMM limit' if peer == 'gemm' else 'matmuls only'}"
    return f"{sign} {goal:g}× {IMPL_LABELS[peer]}"


# --- the tables -----------------------------------------------------------------------------

def throughput_table(report: dict, cases: dict, goals_caption: str, title: str) -> Table:
    impls = report["impls"]
    shown = [impl for impl in impls if impl != "matmuls"]  # (matmuls has its own column)
    ratio_keys = [p for p in ("numpy", "torch", "sklearn") if p in impls] + list(PERCENT)
    t = Table(title, ["case", "shape", *(IMPL_LABELS[i] for i in shown), "matmuls only",
                      "GEMM limit", *(RATIO_LABELS[k] for k in ratio_keys)],
              caption=goals_caption, left=2)
    for name, r in cases.items():
        shape = r["shape"] + (f" ({r['rows']} rows)" if r["rows"] != CASES[name].rows else "")
        row = [name, shape]
        threads = {"torch": r.get("torch_threads"), "mlpcli": r.get("mlpcli_threads")}
        for impl in shown:
            cell = fmt_rate(r["samples_per_s"].get(impl))
            if threads.get(impl):
                cell += f" ({threads[impl]}t)"
            row.append(cell)
        row.append(fmt_rate(r["samples_per_s"].get("matmuls")))
        row.append(fmt_rate(r.get("gemm_limit_samples_per_s")))
        for key in ratio_keys:
            g, value = r["goals"].get(key), r["ratios"].get(key)
            row.append(fmt_goal(g["value"], g["met"], key in PERCENT) if g
                       else fmt_ratio(value, key in PERCENT) if value else "—")
        t.rows.append(row)
    return t


def goals_caption(goals: dict[str, dict]) -> str:
    """'goals: xor ≥ 15× PyTorch, …; digits …' from {case: {peer: goal}}."""
    return "goals: " + "; ".join(f"{name} " + ", ".join(goal_text(p, g) for p, g in gs.items())
                                 for name, gs in goals.items())


def memory_table(mem: dict) -> Table:
    t = Table(f"peak memory, {mem['case']} case, one epoch in a fresh process (MiB)",
              ["implementation", "data X+Y", "after imports", "peak RSS", "increase",
               "increase ÷ data"])
    for impl, r in mem["results"].items():
        t.rows.append([IMPL_LABELS[impl], f"{r['data_mib']:.0f}", f"{r['baseline_mib']:.0f}",
                       f"{r['peak_mib']:.0f}", f"{r['increase_mib']:.0f}",
                       f"{r['increase_per_data']:.2f}×"])
    return t


def e2e_table(e2e: dict) -> Table:
    t = Table("`mlpcli train` end to end vs the bare Trainer (per-epoch seconds)",
              ["case", "epochs", "bare Trainer", "train --quiet", "train (display)",
               "quiet ÷ bare", "display ÷ bare"])
    for name, r in e2e.items():
        sec = r["seconds_per_epoch"]
        t.rows.append([name, str(r["epochs"]),
                       *(f"{sec[k] * 1e3:.3f} ms" for k in ("bare", "quiet", "display")),
                       fmt_goal(r["ratio_quiet"], r["ratio_quiet"] <= r["goal"]),
                       fmt_goal(r["ratio_display"], r["ratio_display"] <= r["goal"])])
    return t


def startup_table(st: dict) -> Table:
    t = Table("start-up (median of 5 runs)", ["command", "seconds", "÷ import numpy"],
              caption=f"goal: ≤ {st['goal']:g}× `python -c 'import numpy'`")
    for cmd, sec in st["seconds"].items():
        ratio = st["ratios"].get(cmd)
        t.rows.append([cmd, f"{sec:.3f}", fmt_goal(ratio, ratio <= st["goal"]) if ratio else "1"])
    return t


def reading_table(rd: dict) -> Table:
    goals = {g["name"]: g for g in rd["goals"]}
    t = Table(f"reading a {rd['rows']:,} × {rd['columns']} CSV to training arrays "
              f"(load_dataset in a fresh process, median of {rd['reps']})",
              ["file", "size", f"today's reader ({rd['baseline_commit']})", "first read",
               "today ÷ first", "warm cache", "first ÷ cache", "warm cache + one pass"],
              caption=f"goals: first read ≥ {GOAL_FIRST_READ:g}× faster than today's reader; "
                      f"a warm-cache read ≥ {GOAL_CACHE:g}× faster than the first read. "
                      f"+ one pass: then summing every array (a memory-mapped hit reads its "
                      f"pages only then, as the first epoch would)")
    for kind, s in rd["seconds"].items():
        first, cache = goals.get(f"reading {kind} first read"), goals.get(f"reading {kind} cache")
        t.rows.append([kind, f"{rd['files'][kind]['mib']:.0f} MiB", fmt_seconds(s.get("today")),
                       fmt_seconds(s.get("first")),
                       fmt_goal(first["value"], first["met"]) if first else "—",
                       fmt_seconds(s.get("cached")),
                       fmt_goal(cache["value"], cache["met"]) if cache else "—",
                       fmt_seconds(s["cached"] + rd["pass_seconds"][kind]["cached"])
                       if "cached" in s else "—"])
    return t


def reading_memory_table(rd: dict) -> Table:
    goals = {g["name"]: g for g in rd["goals"]}
    shape = rd["files"]["numeric"]
    t = Table(f"peak RSS of `mlpcli train` on the numeric file, --epochs 1 (MiB); training "
              f"arrays: {shape['rows']:,} rows × ({shape['inputs']} inputs + "
              f"{shape['outputs']} outputs)",
              ["dtype", "training arrays", "tiny CSV", "first read", "(first − tiny) ÷ arrays",
               "warm cache", "(warm − tiny) ÷ arrays"],
              caption=f"goal: peak less the tiny CSV's (interpreter and imports) ≤ "
                      f"{GOAL_MEMORY:g}× the training arrays")
    for dtype, r in rd["memory"].items():
        row = [dtype, f"{r['arrays_mib']:.0f}", f"{r['baseline_mib']:.0f}"]
        for when in ("first", "cached"):
            g = goals.get(f"memory {dtype} {when}")
            row += ([f"{r['peak_mib'][when]:.0f}", fmt_goal(g["value"], g["met"])] if g
                    else ["—", "—"])
        t.rows.append(row)
    return t


# --- printing -------------------------------------------------------------------------------

def header_lines(report: dict) -> list[str]:
    m, s = report["machine"], report["settings"]
    lines = [f"machine: {m['cpu']} · {m['cores']} cores · Python {m['python']} · numpy "
             f"{m['numpy']} ({m['blas']}) · torch {m['torch'] or 'absent'} · scikit-learn "
             f"{m['sklearn'] or 'absent'} · pandas {m['pandas']} · pyarrow "
             f"{m['pyarrow'] or 'absent'} · mlpcli {m['mlpcli']}",
             f"mode {'quick' if s['quick'] else 'full'} · {s['reps']} interleaved reps · "
             f"≥ {s['target_seconds']} s per measurement · median samples/s · "
             f"{s['total_seconds'] / 60:.1f} min · other processes used "
             f"{s['other_cpu_load']:.2f} cores on average"]
    lines += [f"note: {note}" for note in report["notes"]]
    if report["gemm_gflops"]:
        sizes = ", ".join(map(str, s["gemm_sizes"]))
        lines.append(f"peak GEMM (best n×n @ n×n over n = {sizes} and every rep): "
                     + " · ".join(f"{dt} {v:.1f} GFLOP/s" for dt, v in
                                  report["gemm_gflops"].items()))
    return lines


def tables(report: dict) -> list[Table]:
    out = [throughput_table(report, report["cases"],
                            goals_caption({n: GOALS[n] for n in report["cases"]}),
                            f"training throughput, quiet (other processes used "
                            f"{report['other_cpu_load_quiet']:.2f} cores): median samples/s; "
                            f"ratios are mlpcli ÷ peer; (Nt): threads")]
    if report.get("busy"):
        busy = report["busy"]
        spinner = busy["spinner"]
        out.append(throughput_table(
            report, busy["cases"],
            "goals: every case " + ", ".join(goal_text(p, g) for p, g in BUSY_GOALS.items()),
            f"training throughput, busy: a background loop spinning one core (it got "
            f"{spinner.get('cores_used', 0):.2f} cores; other processes "
            f"{busy['other_cpu_load']:.2f}); large cases on fewer rows, median of "
            f"{busy['reps']}"))
    if report.get("memory"):
        out.append(memory_table(report["memory"]))
    if report.get("end_to_end"):
        out.append(e2e_table(report["end_to_end"]))
    if report.get("startup"):
        out.append(startup_table(report["startup"]))
    if report.get("reading"):
        out.append(reading_table(report["reading"]))
        if report["reading"]["memory"]:
            out.append(reading_memory_table(report["reading"]))
    return out


def verdict(report: dict) -> str:
    if report["all_goals_met"]:
        return "every goal met"
    return "goals missed: " + ", ".join(report["missed"])


def print_report(report: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table as RichTable

    def marked(text: str) -> str:
        return escape(text).replace("✓", "[green]✓[/]").replace("✗", "[red]✗[/]")

    console = Console()
    if not console.is_terminal:  # a file or pipe: wide enough for every column
        console = Console(width=250)
    for line in header_lines(report):
        console.print(escape(line).replace("note:", "[yellow]note[/]:", 1))
    for t in tables(report):
        rich = RichTable(title=t.title, caption=t.caption or None)
        for i, col in enumerate(t.columns):
            rich.add_column(col, justify="left" if i < t.left else "right",
                            no_wrap=i < t.left)
        for row in t.rows:
            rich.add_row(*map(marked, row))
        console.print(rich)
    console.print(marked(verdict(report).replace("goals missed", "✗ goals missed")
                         .replace("every goal met", "✓ every goal met")))


def print_markdown(report: dict) -> None:
    """The same report as markdown: header lines, then each table with its title and caption."""
    print("\n".join(f"{line}  " for line in header_lines(report)))
    for t in tables(report):
        print(f"\n**{t.title}**\n")
        print("| " + " | ".join(t.columns) + " |")
        print("|" + "|".join("---" if i < t.left else "---:" for i in range(len(t.columns)))
              + "|")
        for row in t.rows:
            print("| " + " | ".join(row) + " |")
        if t.caption:
            print(f"\n{t.caption}")
    print(f"\n{verdict(report)}")

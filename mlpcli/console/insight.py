"""What a model's outputs score, as tables: the per-class report and the confusion matrix of a
classifier, per-target scores of a regression (the dicts of core/metrics.py; nothing read here).
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

SCORE = "{:.3f}".format  # precision, recall, F1, R² … as scikit-learn's report prints them


def _table(title: str) -> Table:
    return Table(title=title, header_style="bold", title_justify="left", title_style="bold")


def classification_table(report: dict) -> Table:
    """Per class: precision, recall, F1, support; then accuracy, balanced accuracy, averages."""
    table = _table("Per class")
    table.add_column("class")
    for name in ("precision", "recall", "F1", "support"):
        table.add_column(name, justify="right")
    for label, s in report["classes"].items():
        table.add_row(label, SCORE(s["precision"]), SCORE(s["recall"]), SCORE(s["f1"]),
                      str(s["support"]))
    n = str(report["macro avg"]["support"])
    table.add_section()
    table.add_row("accuracy", "", "", SCORE(report["accuracy"]), n)
    table.add_row("balanced accuracy", "", SCORE(report["balanced_accuracy"]), "", n)
    for avg in ("macro avg", "weighted avg"):
        s = report[avg]
        table.add_row(avg, SCORE(s["precision"]), SCORE(s["recall"]), SCORE(s["f1"]), n)
    return table


def confusion_table(report: dict) -> Table:
    """Rows: true class; columns: predicted class; cells: count and share of the true class."""
    labels = report["labels"]
    table = _table("Confusion matrix (rows: true class, columns: predicted)")
    table.add_column("true \\ predicted")
    for label in labels:
        table.add_column(label, justify="right")
    for i, label in enumerate(labels):
        cells = []
        for j, (count, share) in enumerate(zip(report["confusion"][i],
                                               report["confusion_normalized"][i])):
            text = Text(f"{count} ({100 * share:.0f}%)")
            if count:
                text.stylize("bold green" if i == j else "red")
            cells.append(text)
        table.add_row(label, *cells)
    return table


def regression_table(report: dict) -> Table:
    """R², RMSE and MAE per target (original units), and over all targets."""
    table = _table("Per target")
    table.add_column("target")
    for name in ("R²", "RMSE", "MAE"):
        table.add_column(name, justify="right")

    def row(name, s):
        r2 = "–" if s["r2"] is None else SCORE(s["r2"])
        table.add_row(name, r2, f"{s['rmse']:.4g}", f"{s['mae']:.4g}")

    for name, s in report["targets"].items():
        row(name, s)
    if len(report["targets"]) > 1:
        table.add_section()
        row("overall", report)
    return table


def report_renderables(report: dict) -> list:
    """The tables of a report (classification or regression), then its notes."""
    if "classes" not in report:
        return [regression_table(report)]
    parts = [classification_table(report), "", confusion_table(report)]
    roc = report.get("roc")
    if roc:
        auc = "undefined (one class only)" if roc["auc"] is None else SCORE(roc["auc"])
        parts.append(f"ROC AUC (positive class {roc['positive']!r}): {auc}")
    parts += [Text(f"note: {note}", style="yellow") for note in report.get("notes", [])]
    return parts


def summary_report(summary: dict) -> list:
    """`runs show`'s last part: the report summary.json holds for the saved weights."""
    report = (summary.get("final") or {}).get("report")
    if not report:
        return []
    rows = "validation rows" if report.get("split") == "val" else "training rows"
    if "classes" not in report:
        return ["", Text(f"On the {rows}", style="bold"), regression_table(report)]
    return ["", Text(f"On the {rows}", style="bold"), confusion_table(report)]


def pictures_lines(path, written: list[str], notes: list[str]) -> list:
    """What `runs show --plots` drew, and what it left out."""
    lines = [Text(f"drew {', '.join(written)} in {path}", style="green")]
    lines += [Text(f"note: {note}", style="yellow") for note in notes]
    return [*lines, ""]

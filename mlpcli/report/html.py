"""The self-contained HTML report of a run, a sweep, or several runs compared.

One template (template.html: inline CSS, a few lines of inline JavaScript to sort tables) filled
with escaped values; pictures inlined as base64 PNG/GIF. Nothing refers to anything outside the
file, so the page opens anywhere, offline.

The pages are built from what the caller opened: a run is anything with `id`, `path`,
`status()`, `summary()`, `config()`, `model_info()` and `metrics()` (a runs.Run); a sweep adds
`info()` and `leaderboard()` (a sweep.store.SweepDir). Reading the pictures is the only I/O here.
"""

from __future__ import annotations

import base64
import html
import json
import math
import numbers
from importlib import resources
from string import Template

from mlpcli import __version__

# the run's own pictures, in the order the page shows them, with what each shows
PICTURES = {
    "boundary.png": "What the network predicts over its inputs (the plane of two, or the "
                    "line of one), with the data on top.",
    "training.gif": "The prediction over the plane as training went on.",
    "hidden.png": "Each first-layer hidden unit's activation over the same inputs.",
    "confusion.png": "Confusion matrix: rows are the true class, columns the predicted one; "
                     "shares are of the true class.",
    "roc.png": "ROC curve of the positive class.",
    "fit.png": "Predicted against true values with the identity line; residuals beside it.",
    "loss.png": "Training and validation loss per epoch.",
}
METRICS = ("train_loss", "val_loss", "train_acc", "val_acc", "train_r2", "val_r2",
           "train_rmse", "val_rmse")


# --- cells ------------------------------------------------------------------------------------

def _e(value) -> str:
    return html.escape("–" if value is None else str(value))


def _num(value, kind: str = "") -> str:
    """A number as the tables show it: accuracies (kind "acc") in %, integers as they are, other
    numbers to 4 significant digits."""
    if value is None or isinstance(value, str):
        return _e(value)
    if isinstance(value, float) and math.isnan(value):
        return "–"
    if kind == "acc":
        return f"{100 * value:.1f}%"
    if isinstance(value, numbers.Integral):  # numpy's integers too
        return str(int(value))
    return f"{value:.4g}"


def _table(headers, rows, *, numeric=(), sortable=False, cls="") -> str:
    """A table: `rows` of already-formatted HTML cells; `numeric` column indices align right."""
    classes = " ".join(c for c in (cls, "sortable" if sortable else "") if c)
    head = "".join(f'<th class="num">{h}</th>' if i in numeric else f"<th>{h}</th>"
                   for i, h in enumerate(headers))
    body = []
    for row in rows:
        tr_cls, cells = ("", row) if not isinstance(row, tuple) else row
        tds = "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                      for i, c in enumerate(cells))
        body.append(f'<tr{f" class={chr(34)}{tr_cls}{chr(34)}" if tr_cls else ""}>{tds}</tr>')
    return (f'<div class="scroll"><table class="{classes}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _kv(items) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in items)
    return f'<div class="scroll"><table class="kv"><tbody>{rows}</tbody></table></div>'


def _badge(status: str) -> str:
    return f'<span class="badge {_e(status)}">{_e(status)}</span>'


def _image(name: str, data: bytes, caption: str, wide: bool = False) -> str:
    mime = "image/gif" if name.endswith(".gif") else "image/png"
    src = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return (f'<figure{" class=wide" if wide else ""}><img src="{src}" alt="{_e(name)}">'
            f"<figcaption><b>{_e(name)}</b> · {_e(caption)}</figcaption></figure>")


def _fill(title: str, body: str) -> str:
    template = resources.files("mlpcli.report").joinpath("template.html").read_text("utf-8")
    return Template(template).substitute(title=_e(title), body=body, version=_e(__version__))


# --- parts of a run ---------------------------------------------------------------------------

def _metric(key: str, value) -> str:
    return _num(value, "acc" if key.endswith("_acc") else "")


def metrics_table(summary: dict) -> str:
    """Final (saved weights) and best-epoch metrics."""
    final, best = summary.get("final") or {}, summary.get("best") or {}
    keys = [k for k in METRICS if final.get(k) is not None or best.get(k) is not None]
    if not keys:
        return '<p class="muted">No metrics recorded yet.</p>'
    rows = [["final (saved weights)", *(_metric(k, final.get(k)) for k in keys)]]
    if best:
        rows.append([f"best epoch ({_e(best.get('epoch'))})",
                     *(_metric(k, best.get(k)) for k in keys)])
    return _table(["", *(k.replace("_", " ") for k in keys)], rows,
                  numeric=range(1, len(keys) + 1))


def classification_tables(report: dict) -> str:
    """The per-class report and the confusion matrix of metrics.classification_report."""
    rows = [[_e(label), *(f"{s[k]:.3f}" for k in ("precision", "recall", "f1")),
             str(s["support"])] for label, s in report["classes"].items()]
    n = str(report["macro avg"]["support"])
    rows.append(("sep", ["accuracy", "", "", f"{report['accuracy']:.3f}", n]))
    rows.append(["balanced accuracy", "", f"{report['balanced_accuracy']:.3f}", "", n])
    for avg in ("macro avg", "weighted avg"):
        s = report[avg]
        rows.append([avg, *(f"{s[k]:.3f}" for k in ("precision", "recall", "f1")), n])
    per_class = _table(["class", "precision", "recall", "F1", "support"], rows,
                       numeric=(1, 2, 3, 4))
    labels = report["labels"]
    matrix = []
    for i, label in enumerate(labels):
        cells = []
        for count, share in zip(report["confusion"][i], report["confusion_normalized"][i]):
            alpha = 0.08 + 0.6 * share if count else 0
            cells.append(f'<span style="display:block;background:rgba(31,95,168,{alpha:.2f})">'
                         f"{count}<br> <small>{100 * share:.0f}%</small></span>")
        matrix.append([f"<b>{_e(label)}</b>", *cells])
    confusion = _table(["true \\ predicted", *map(_e, labels)], matrix,
                       numeric=range(1, len(labels) + 1), cls="confusion")
    parts = [f'<div class="cols"><div><h3>Per class</h3>{per_class}</div>'
             f"<div><h3>Confusion matrix</h3>{confusion}</div></div>"]
    roc = report.get("roc")
    if roc:
        auc = "undefined (one class only)" if roc["auc"] is None else f"{roc['auc']:.3f}"
        parts.append(f"<p>ROC AUC (positive class <code>{_e(roc['positive'])}</code>): "
                     f"<b>{auc}</b></p>")
    parts += [f'<p class="note">note: {_e(n)}</p>' for n in report.get("notes", [])]
    return "".join(parts)


def regression_table(report: dict) -> str:
    rows = [[_e(name), _num(s["r2"]), _num(s["rmse"]), _num(s["mae"])]
            for name, s in report["targets"].items()]
    if len(report["targets"]) > 1:
        rows.append(("sep", ["overall", _num(report["r2"]), _num(report["rmse"]),
                             _num(report["mae"])]))
    return _table(["target", "R²", "RMSE", "MAE"], rows, numeric=(1, 2, 3))


def report_section(summary: dict) -> str:
    report = (summary.get("final") or {}).get("report")
    if not report:
        return ""
    rows = "validation" if report.get("split") == "val" else "training"
    body = (classification_tables(report) if "classes" in report
            else regression_table(report))
    return f'<p class="muted">On the {rows} rows, with the saved weights.</p>{body}'


def pictures_section(run) -> str:
    """The run's pictures (loss.png drawn from metrics.csv when it is missing)."""
    figures = []
    for name, caption in PICTURES.items():
        path = run.path / name
        if path.is_file():
            data = path.read_bytes()
        elif name == "loss.png":
            from mlpcli.report.plots import loss_plot

            data = loss_plot(run.metrics(), run.id)
        else:
            continue
        figures.append(_image(name, data, caption, wide=name == "hidden.png"))
    notes = ((run.summary().get("pictures") or {}).get("skipped")) or []
    return (f'<div class="cards">{"".join(figures)}</div>'
            + "".join(f'<p class="note">{_e(n)}</p>' for n in notes))


def _overview(run, summary: dict, config: dict) -> list:
    options = config.get("options", {})
    layers = run.model_info().get("layers") if (run.path / "model.json").exists() else None
    return [
        ("dataset", _e(options.get("data") or summary.get("dataset"))),
        ("task", _e(summary.get("task"))),
        ("network", _e(" → ".join(map(str, layers)) if layers else None)
         + (f" ({_e(options.get('activation'))}, loss {_e(options.get('loss'))})"
            if layers else "")),
        ("rows", _e(f"{config.get('dataset', {}).get('train_rows', '–')} training, "
                    f"{config.get('dataset', {}).get('val_rows', '–')} validation")),
        ("epochs", _e(f"{summary.get('epochs_run', '–')} (best {summary.get('best_epoch', '–')}"
                      f"{', stopped early' if summary.get('stopped_early') else ''})")),
        ("training time", _num(summary.get("seconds")) + " s"),
        ("started", _e(summary.get("started"))), ("ended", _e(summary.get("ended"))),
        ("command", f"<code>{_e(' '.join(summary.get('argv') or []))}</code>"),
        *([("error", _e(summary["error"]))] if summary.get("error") else []),
    ]


def _options(config: dict) -> str:
    shown = [(k, _value(v)) for k, v in config.get("options", {}).items()
             if v not in (None, [], "")]
    return _kv((k, _e(v)) for k, v in shown)


def _files(run) -> str:
    rows = [[_e(p.name), f"{p.stat().st_size:,}"] for p in sorted(run.path.iterdir())
            if p.is_file() and not p.name.startswith(".") and p.name != "report.html"]
    return _table(["file", "bytes"], rows, numeric=(1,))


def run_body(run, level: int = 1) -> str:
    """The sections of one run (h1 page or h3 trial section inside a sweep page)."""
    summary, config, status = run.summary(), run.config(), run.status()
    h = "h2" if level == 1 else "h4"
    sections = [
        f"<{h}>Overview</{h}>{_kv(_overview(run, summary, config))}",
        f"<{h}>Metrics</{h}>{metrics_table(summary)}",
    ]
    report = report_section(summary)
    if report:
        sections.append(f"<{h}>What the network learned</{h}>{report}")
    sections.append(f"<{h}>Pictures</{h}>{pictures_section(run)}")
    if level == 1:
        sections.append(f'<div class="cols"><div><{h}>Options</{h}>{_options(config)}</div>'
                        f"<div><{h}>Files</{h}><p class=muted><code>{_e(run.path)}</code></p>"
                        f"{_files(run)}</div></div>")
    return f"<p>{_badge(status)}</p>" + "".join(sections)


def run_page(run) -> str:
    header = (f'<header class="page"><h1>Run {_e(run.id)}</h1>'
              f'<p class="sub">mlpcli run report</p></header>')
    return _fill(f"mlpcli · {run.id}", header + run_body(run))


# --- a sweep ----------------------------------------------------------------------------------

def _leaderboard_rows(board) -> list:
    """Leaderboard cells: the metric's statistics in its own format (accuracies in %)."""
    rows = []
    for record in board.astype(object).where(board.notna(), None).to_dict("records"):
        kind = "acc" if str(record.get("metric", "")).endswith("_acc") else ""
        rows.append([_num(v, kind if c in ("mean", "std", "min", "max") else "")
                     for c, v in record.items()])
    return rows


def _value(v) -> str:
    """An option's value as on the command line: 64,32 for a list."""
    return ",".join(map(str, v)) if isinstance(v, list) else str(v)


def _spec(spec: dict) -> str:
    """The swept options (their values or distributions) and the fixed ones, side by side."""
    swept = [(k, _e(" | ".join(_value(x) for x in v))) for k, v in spec.get("grid", {}).items()]
    swept += [(k, _e(f"{v}  ({spec.get('random')} draws)"))
              for k, v in spec.get("sample", {}).items()]
    fixed = [(k, _e(_value(v))) for k, v in spec.get("fixed", {}).items()]
    return (f'<div class="cols"><div><h3>Swept</h3>{_kv(swept or [("–", "one configuration")])}'
            f'</div><div><h3>Fixed options</h3>{_kv(fixed or [("–", "defaults")])}</div></div>')


def sweep_page(sweep, trials: list) -> str:
    """The spec, the sortable leaderboard, the metric against each swept parameter (sweep.png),
    and one section per trial."""
    info, summary, status = sweep.info(), sweep.summary(), sweep.status()
    spec = info.get("spec", {})
    board = sweep.leaderboard()
    columns = list(board.columns)
    rows = _leaderboard_rows(board)
    numeric = [i for i, c in enumerate(columns) if board[c].dtype.kind in "fiu"]
    best = summary.get("best_trial")
    head = [
        ("status", _badge(status)),
        ("dataset", _e(info.get("dataset", {}).get("path"))), ("task", _e(info.get("task"))),
        ("search", _e(f"{info.get('search')}: {info.get('configs')} configurations × "
                      f"{spec.get('seeds', 1)} seeds"
                      + (f" × {spec['folds']} folds" if spec.get("folds") else ""))),
        ("trials", _e("  ".join(f"{k} {v}" for k, v in (summary.get("trials") or {}).items()))),
        ("best trial", f'<a href="#trial-{_e(best)}">{_e(best)}</a>' if best else "–"),
        ("time", _num(summary.get("seconds")) + " s"),
        ("command", f"<code>{_e(' '.join(info.get('argv') or []))}</code>"),
    ]
    parts = [f'<header class="page"><h1>Sweep {_e(sweep.id)}</h1>'
             f'<p class="sub">mlpcli sweep report</p>'
             f'<nav class="toc"><a href="#spec">Spec</a><a href="#leaderboard">Leaderboard</a>'
             f'<a href="#params">Metric by parameter</a><a href="#trials">Trials</a></nav>'
             f"</header>",
             f'<h2 id="spec">Spec</h2>{_kv(head)}{_spec(spec)}',
             f'<h2 id="leaderboard">Leaderboard</h2><p class="muted">Click a heading to sort.'
             f"</p>{_table(map(_e, columns), rows, numeric=numeric, sortable=True)}"]
    picture = sweep.path / "sweep.png"
    parts.append('<h2 id="params">Metric by parameter</h2>' + (
        '<div class="single">' + _image("sweep.png", picture.read_bytes(), "The metric of "
                                        "every trial against each swept parameter.") + "</div>"
        if picture.is_file()
        else '<p class="muted">No sweep.png in the sweep directory.</p>'))
    links = " ".join(f'<a href="#trial-{_e(t.id)}">{_e(t.id)}</a>' for t in trials)
    parts.append(f'<h2 id="trials">Trials</h2><nav class="toc">{links}</nav>')
    for trial in trials:
        params = trial.config().get("sweep", {}).get("params", {})
        swept = "  ".join(f"{k}={_e(_value(v))}" for k, v in params.items())
        parts.append(f'<section class="trial" id="trial-{_e(trial.id)}">'
                     f"<h3>{_e(trial.id)}</h3><p class=muted>{swept}</p>"
                     f"{run_body(trial, level=2)}</section>")
    return _fill(f"mlpcli · sweep {sweep.id}", "".join(parts))


# --- runs compared ----------------------------------------------------------------------------

def compare_page(runs: list) -> str:
    """What `runs compare` shows, as a page: differing options, metrics side by side, and the
    loss curves overlaid."""
    from mlpcli.report.plots import comparison_plot

    configs = [r.config().get("options", {}) for r in runs]
    summaries = [r.summary() for r in runs]
    keys = sorted({k for c in configs for k in c})
    differing = [k for k in keys if len({json.dumps(c.get(k), sort_keys=True)
                                         for c in configs}) > 1]
    ids = [f'<a href="#run-{i}">{_e(r.id)}</a>' for i, r in enumerate(runs)]
    option_rows = [[_e(k), *(_e(c.get(k)) for c in configs)] for k in differing]
    metric_rows = [["status", *(_badge(r.status()) for r in runs)],
                   ["epochs", *(_e(s.get("epochs_run")) for s in summaries)],
                   ["best epoch", *(_e(s.get("best_epoch")) for s in summaries)]]
    finals = [s.get("final") or {} for s in summaries]
    metric_rows += [[_e(k), *(_metric(k, f.get(k)) for f in finals)]
                    for k in METRICS if any(f.get(k) is not None for f in finals)]
    cols = range(1, len(runs) + 1)
    overlay = comparison_plot({r.id: r.metrics() for r in runs})
    curves = ('<div class="single">' + _image("loss curves", overlay, "Loss per epoch: solid "
                                              "training, dashed validation.") + "</div>")
    body = [f'<header class="page"><h1>{len(runs)} runs compared</h1>'
            f'<p class="sub">mlpcli comparison report</p></header>',
            "<h2>Options that differ</h2>" + (
                _table(["option", *ids], option_rows, sortable=False) if option_rows
                else '<p class="muted">The runs have the same options.</p>'),
            f"<h2>Metrics</h2>{_table(['', *ids], metric_rows, numeric=cols)}",
            f"<h2>Loss curves</h2>{curves}"]
    for i, run in enumerate(runs):
        body.append(f'<section class="trial" id="run-{i}"><h2>{_e(run.id)}</h2>'
                    f"{run_body(run, level=2)}</section>")
    return _fill(f"mlpcli · {len(runs)} runs compared", "".join(body))

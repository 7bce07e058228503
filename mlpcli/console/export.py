"""What `mlpcli export` and `mlpcli runs export-mlflow` print: one line per thing written."""

from __future__ import annotations

from mlpcli.console.terminal import make_console, warn


def onnx_note(path, check) -> None:
    """The model written, and how onnxruntime compared with `mlpcli predict` (if checked)."""
    out = make_console(stderr=True)
    if check is None:
        out.print(f"wrote {path} (not checked: pip install onnxruntime to compare it with "
                  f"mlpcli predict)")
        return
    out.print(f"wrote {path}; onnxruntime matches mlpcli predict on {check.rows} rows "
              f"(largest relative difference {check.max_rel_error:.2g}, tolerance "
              f"{check.tolerance:g})")


def mlflow_note(exported, skipped, tracking_uri: str, experiment: str) -> None:
    """One line per exported run or sweep, a warning per skipped one, then where to look."""
    out = make_console(stderr=True)
    for line in skipped:
        warn(line)
    for item in exported:
        trials = f" with {len(item.children)} trials" if item.children else ""
        out.print(f"{item.action} MLflow run {item.mlflow_id} for {item.mlpcli_id}{trials}")
    where = (f"open {tracking_uri}" if tracking_uri.startswith(("http://", "https://"))
             else f"mlflow ui --backend-store-uri {tracking_uri}")
    out.print(f"{len(exported)} exported to experiment {experiment!r} at {tracking_uri}; "
              f"look at them with: {where}")

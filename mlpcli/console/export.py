"""What `mlpcli export` and `mlpcli runs export-mlflow` print: one line per thing written."""

from __future__ import annotations

from mlpcli.console.terminal import make_console


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

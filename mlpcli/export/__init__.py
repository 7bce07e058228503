"""Taking mlpcli models and runs elsewhere: ONNX (onnx.py), MLflow (mlflow.py) and
scikit-learn-style estimators (estimators.py).

This package sits above the run store and experiment.py: it reads run directories through
mlpcli.runs and trains through mlpcli.experiment; nothing below imports it. The third-party
libraries (onnx, onnxruntime, mlflow) are optional extras, imported only when used.
"""

from __future__ import annotations

import importlib

from mlpcli.errors import ConfigError


def require(module: str, extra: str, what: str):
    """Import an optional dependency, or a one-line ConfigError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{what} needs the {module.split('.')[0]} package: "
                          f"pip install 'mlpcli[{extra}]'") from None

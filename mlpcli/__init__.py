"""mlpcli: train small neural networks on CSV data from the terminal.

`from mlpcli import MLPClassifier, MLPRegressor` gives the scikit-learn-style estimators
(mlpcli/export/estimators.py); they are imported on first use, so `import mlpcli` and
`mlpcli --help` load neither numpy nor pandas.
"""

__version__ = "0.1.0"

_LAZY = {"MLPClassifier": "mlpcli.export.estimators", "MLPRegressor": "mlpcli.export.estimators"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mlpcli' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])

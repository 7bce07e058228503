"""One run directory opened for reading: its files, checked, and its status.

Readers never modify a run. Every missing or damaged file is a RunError that names it (and, for
JSON, the field: schema.py); a run's status comes from summary.json, except that `running` is
true only while a process holds the run's lock (lock.py), else the run `crashed`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpcli.errors import ConfigError, MlpcliError, RunError
from mlpcli.runs import schema
from mlpcli.runs.files import load_npz, read_json
from mlpcli.runs.lock import is_locked

METRICS_COLUMNS = ["epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds",
                   "grad_norm", "val_bacc", "train_r2", "val_r2"]
# the columns of older runs, still read (their missing columns empty)
LEGACY_METRICS_COLUMNS = (METRICS_COLUMNS[:7], METRICS_COLUMNS[:9])


@dataclass
class Run:
    """A run directory opened for reading. Each accessor raises RunError for a bad file."""

    path: Path

    def __post_init__(self):
        self.path = Path(self.path)  # runs.Run("runs/<id>") as well as runs.Run(Path(...))

    @property
    def id(self) -> str:
        return self.path.name

    def _json(self, name: str) -> dict:
        path = self.path / name
        return schema.check(name, read_json(path), path)

    def config(self) -> dict:
        return self._json("config.json")

    def model_info(self) -> dict:
        return self._json("model.json")

    def summary(self) -> dict:
        return self._json("summary.json")

    def weights(self) -> dict[str, np.ndarray]:
        """weights.npz's arrays, each finite (NaN weights would predict nothing)."""
        path = self.path / "weights.npz"
        sizes = self.model_info()["layers"]
        itemsize = np.dtype(self.model_info().get("dtype", "float64")).itemsize
        expected = sum((a + 1) * b for a, b in zip(sizes, sizes[1:])) * itemsize
        arrays = load_npz(path, what="weights", limit=2 * expected + 2**20)
        for key, array in arrays.items():
            if array.dtype.kind not in "fiu":
                raise RunError(f"weights file {path}: {key} holds {array.dtype} values, "
                               f"not numbers")
            if not np.isfinite(array).all():
                raise RunError(f"weights file {path}: {key} holds non-finite values "
                               f"(NaN or infinity); the run cannot predict")
        return arrays

    def metrics(self):
        """metrics.csv as a DataFrame (a trailing incomplete line, if any, is ignored)."""
        import pandas as pd

        path = self.path / "metrics.csv"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RunError(f"{path}: missing") from None
        except (OSError, UnicodeDecodeError) as e:
            raise RunError(f"{path}: cannot read ({e})") from None
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]
        if not text:  # created, then stopped before its header was complete: no epoch yet
            text = ",".join(METRICS_COLUMNS) + "\n"
        try:
            frame = pd.read_csv(io.StringIO(text))
        except Exception as e:  # pandas raises several parser error types
            raise RunError(f"{path}: damaged CSV ({e})") from None
        if list(frame.columns) in LEGACY_METRICS_COLUMNS:
            frame = frame.reindex(columns=METRICS_COLUMNS)
        if list(frame.columns) != METRICS_COLUMNS:
            raise RunError(f"{path}: unexpected columns {list(frame.columns)}")
        if frame.empty:  # a header only: no epoch completed yet
            return frame.astype(float).astype({"epoch": int})
        for column in METRICS_COLUMNS:  # every cell a number or empty (a loss may be inf:
            values = frame[column]  # a validation loss that overflowed as training diverged)
            if not pd.api.types.is_numeric_dtype(values):
                raise RunError(f"{path}: damaged (column {column!r} holds text)")
        epochs = frame["epoch"]
        if epochs.isna().any() or (epochs != np.floor(epochs)).any():
            raise RunError(f"{path}: damaged (column 'epoch' holds non-integers)")
        return frame

    def status(self) -> str:
        """summary.json's status, with 'crashed' for a `running` run that no process is
        training (nobody holds its lock: lock.py), whatever became of its pid or host.

        Raises RunError naming the file when summary.json, model.json or weights.npz is damaged
        (or weights.npz is missing from a finished run): such a run has no trustworthy status.
        """
        status = self.summary()["status"]
        if status == "finished" or (self.path / "model.json").exists():  # (a run that ended
            self.check_files(weights_required=status == "finished")  # at once has none yet)
        if status == "running" and not is_locked(self.path):
            return "crashed"
        return status

    def check_files(self, weights_required: bool = False) -> None:
        """Integrity check: model.json holds a network mlpcli could have written, weights.npz
        (if present, or required) is a complete .npz of finite arrays holding W1 and b1.
        Reads only; RunError names the file."""
        self.model_info()
        path = self.path / "weights.npz"
        if not path.exists():
            if weights_required:
                raise RunError(f"{path}: missing")
            return
        if not {"W1", "b1"} <= set(self.weights()):
            raise RunError(f"weights file {path} is damaged (no W1 and b1 arrays)")

    def model(self):
        """(MLP, Preprocessor) as saved: everything `predict` needs."""
        from mlpcli.core.kernels import MLP
        from mlpcli.data import Preprocessor

        info = self.model_info()
        try:
            model = MLP(info["layers"], info["activation"], np.dtype(info.get("dtype", "float64")))
            pre = Preprocessor.from_dict(info["preprocessing"])
        except (KeyError, TypeError, ValueError, MlpcliError) as e:
            raise RunError(f"{self.path / 'model.json'}: damaged ({type(e).__name__}: {e})") \
                from None
        if pre.n_outputs != model.sizes[-1]:
            raise RunError(f"{self.path / 'model.json'}: damaged (layers[-1]: expected "
                           f"{pre.n_outputs} outputs for its targets and classes)")
        try:
            model.load_params(self.weights(), source=str(self.path / "weights.npz"))
        except ConfigError as e:
            raise RunError(str(e)) from None
        return model, pre

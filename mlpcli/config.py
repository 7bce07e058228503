"""The run configuration: one frozen dataclass whose fields are the `train` options, one to one.

Defaults live here and only here; the CLI shows them in --help by reading this class. A config
file (a run's config.json) is read with `Config.from_dict`, where an unknown key is an error.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from mlpcli.errors import ConfigError

TASKS = ("auto", "regression", "classification")
LOSS_NAMES = ("mse", "ce")
REDUCTIONS = ("sum", "mean")
ACTIVATION_NAMES = ("relu", "tanh", "sigmoid")
SCHEDULES = ("constant", "step", "cosine")
DTYPES = ("float64", "float32")
INIT_SCHEMES = ("he", "glorot")


@dataclass(frozen=True)
class Config:
    # --- data ---
    data: str = ""  # CSV path or bundled dataset name
    target: tuple[str, ...] = ()  # target column(s); empty = the last column
    features: tuple[str, ...] = ()  # feature columns; empty = every other column
    drop_columns: tuple[str, ...] = ()  # columns to leave out
    task: str = "auto"  # auto | regression | classification
    standardize: bool = True  # standardize features (and regression targets) on the training rows
    val_frac: float | None = None  # validation fraction; None = 0.2 for ≥ 50 rows, else 0
    dropna: bool = False  # drop rows with missing values instead of failing
    sep: str | None = None  # CSV delimiter; None = sniff comma/semicolon/tab
    encoding: str | None = None  # file encoding; None = UTF-8 (a BOM is ignored)
    # --- model ---
    hidden: tuple[int, ...] = (32,)  # hidden layer widths
    activation: str = "relu"  # relu | tanh | sigmoid
    init_scheme: str | None = None  # he | glorot; None = he for relu, glorot otherwise
    init: str | None = None  # start from these weights (.npz with W1 b1 W2 b2 …)
    # --- objective ---
    loss: str = "mse"  # mse = ½(ŷ−y)²; ce = softmax cross-entropy
    reduction: str = "sum"  # sum (the lecture's rule) | mean over the minibatch
    weight_decay: float = 0.0  # λ: adds λ/2‖W‖² to the objective (biases excluded)
    # --- optimizer ---
    lr: float = 0.001  # learning rate ε (small: the sum reduction scales steps by the batch)
    momentum: float = 0.0  # μ: v ← μv + g, w ← w − ε v
    nesterov: bool = False  # Nesterov momentum
    schedule: str = "constant"  # constant | step | cosine
    lr_min: float = 0.0  # cosine: final learning rate
    step_size: int = 100  # step: epochs between decays
    gamma: float = 0.5  # step: decay factor
    # --- loop ---
    epochs: int = 5000  # maximum number of epochs (early stopping usually ends sooner)
    batch_size: int = 32  # minibatch size
    shuffle: bool = True  # reshuffle the training rows every epoch
    patience: int = 50  # early stopping: epochs without improvement; 0 = off
    min_delta: float = 0.0  # early stopping: smallest improvement that counts
    seed: int = 0  # one seed for split, initialisation and shuffling
    dtype: str = "float64"  # float64 | float32
    # --- output ---
    runs_dir: str = "runs"  # where run directories are created
    name: str | None = None  # a name for the run (part of its id)
    checkpoint_every: float = 5.0  # seconds between checkpoints; 0 = off

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def fields(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> Config:
        """Build from plain JSON values; unknown keys are an error, lists become tuples."""
        unknown = sorted(set(d) - set(cls.fields()))
        if unknown:
            raise ConfigError(f"{source}: unknown option(s) {', '.join(unknown)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**values).validated()

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in
                ((k, getattr(self, k)) for k in self.fields())}

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes).validated()

    @property
    def resolved_init_scheme(self) -> str:
        return self.init_scheme or ("he" if self.activation == "relu" else "glorot")

    # --- validation ------------------------------------------------------------------------

    def validated(self) -> Config:
        """Return self after checking every value; raise ConfigError naming the option."""
        choices = {
            "task": TASKS, "loss": LOSS_NAMES, "reduction": REDUCTIONS,
            "activation": ACTIVATION_NAMES, "schedule": SCHEDULES, "dtype": DTYPES,
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                got = getattr(self, key)
                raise ConfigError(
                    f"--{_flag(key)} must be one of {', '.join(allowed)}; got {got!r}")
        if self.init_scheme not in (None, *INIT_SCHEMES):
            raise ConfigError(f"--init-scheme must be he or glorot; got {self.init_scheme!r}")
        if not self.hidden or any(int(h) != h or h < 1 for h in self.hidden):
            raise ConfigError(f"--hidden needs positive layer widths, e.g. 16 or 64,32; got "
                              f"{','.join(map(str, self.hidden)) or 'nothing'}")
        _positive(self, "lr", self.lr)
        for key in ("epochs", "batch_size", "step_size"):
            if int(getattr(self, key)) != getattr(self, key) or getattr(self, key) < 1:
                raise ConfigError(f"--{_flag(key)} must be a whole number ≥ 1; got "
                                  f"{getattr(self, key)}")
        if self.val_frac is not None and not 0 <= self.val_frac < 1:
            raise ConfigError(f"--val-frac must be in [0, 1); got {self.val_frac}")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"--momentum must be in [0, 1); got {self.momentum}")
        if self.nesterov and self.momentum == 0:
            raise ConfigError("--nesterov needs --momentum > 0")
        for key in ("weight_decay", "lr_min", "min_delta", "checkpoint_every"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"--{_flag(key)} must be ≥ 0; got {value}")
        if not 0 < self.gamma <= 1:
            raise ConfigError(f"--gamma must be in (0, 1]; got {self.gamma}")
        if self.patience < 0:
            raise ConfigError(f"--patience must be ≥ 0; got {self.patience}")
        if self.schedule == "cosine" and self.lr_min > self.lr:
            raise ConfigError(f"--lr-min ({self.lr_min}) must not exceed --lr ({self.lr})")
        return self


def _flag(key: str) -> str:
    return key.replace("_", "-")


def _positive(cfg, key, value):
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"--{_flag(key)} must be > 0; got {value}")

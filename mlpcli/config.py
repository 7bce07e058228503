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
SCHEDULES = ("constant", "step", "cosine", "plateau")
DTYPES = ("float64", "float32")
INIT_SCHEMES = ("he", "glorot")
OPTIMIZER_NAMES = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs")
# --lr when not given, per optimizer: measured on the bundled data with the default sum reduction
# (README, "Optimizers and schedules"); lbfgs has no learning rate (its line search sets the step)
DEFAULT_LR = {"sgd": 0.001, "adam": 0.01, "adamw": 0.01, "rmsprop": 0.01, "adagrad": 0.1}


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
    weight_decay: float | None = None  # λ (biases excluded); None = 0.01 for adamw, else 0
    # --- optimizer ---
    lr: float | None = None  # learning rate ε; None = DEFAULT_LR of the optimizer
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
    # --- optimizers, plateau schedule, clipping, class weights (core/optim.py, core/lbfgs.py) ---
    optimizer: str = "sgd"  # sgd | adam | adamw | rmsprop | adagrad | lbfgs
    betas: tuple[float, ...] = (0.9, 0.999)  # adam, adamw: β₁, β₂
    adam_eps: float = 1e-8  # adam, adamw: eps added to √v̂
    alpha: float = 0.99  # rmsprop: smoothing constant of the squared-gradient average
    centered: bool = False  # rmsprop: divide by the gradient's estimated variance
    lr_decay: float = 0.0  # adagrad: ε_t = ε / (1 + (t−1)·lr_decay)
    warmup: int = 0  # epochs of linear learning-rate warm-up (any schedule)
    factor: float = 0.1  # plateau: the learning rate is multiplied by this on a plateau
    plateau_patience: int = 10  # plateau: epochs without improvement before reducing
    threshold: float = 1e-4  # plateau: relative improvement that counts (mode min, rel)
    cooldown: int = 0  # plateau: epochs to wait after a reduction before counting again
    clip_norm: float | None = None  # C: gradient scaled to L2 norm ≤ C; None off; inf: measure
    class_weight: str | None = None  # balanced | "cat=2,dog=1"; None = every class weighs 1
    sample_weight: str | None = None  # numeric column of per-row weights (then not a feature)
    ftol: float = 2.220446049250313e-09  # lbfgs: SciPy's ftol (relative decrease of f)
    gtol: float = 1e-05  # lbfgs: SciPy's gtol (largest projected-gradient component)
    maxcor: int = 10  # lbfgs: SciPy's maxcor (corrections kept: the curvature memory)

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

    @property
    def resolved_lr(self) -> float | None:
        """--lr, or the optimizer's default; None for lbfgs, which has no learning rate."""
        return DEFAULT_LR.get(self.optimizer) if self.lr is None else self.lr

    @property
    def resolved_weight_decay(self) -> float:
        if self.weight_decay is not None:
            return self.weight_decay
        return 0.01 if self.optimizer == "adamw" else 0.0  # PyTorch's AdamW default

    def resolved(self) -> Config:
        """This config with every per-optimizer default filled in (as config.json records it)."""
        return self.replace(lr=self.resolved_lr, weight_decay=self.resolved_weight_decay,
                            init_scheme=self.resolved_init_scheme)

    # --- validation ------------------------------------------------------------------------

    def validated(self) -> Config:
        """Return self after checking every value; raise ConfigError naming the option."""
        choices = {
            "task": TASKS, "loss": LOSS_NAMES, "reduction": REDUCTIONS,
            "activation": ACTIVATION_NAMES, "schedule": SCHEDULES, "dtype": DTYPES,
            "optimizer": OPTIMIZER_NAMES,
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
        if self.resolved_lr is not None:
            _positive(self, "lr", self.resolved_lr)
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
            value = self.resolved_weight_decay if key == "weight_decay" else getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"--{_flag(key)} must be ≥ 0; got {value}")
        if not 0 < self.gamma <= 1:
            raise ConfigError(f"--gamma must be in (0, 1]; got {self.gamma}")
        if self.patience < 0:
            raise ConfigError(f"--patience must be ≥ 0; got {self.patience}")
        if self.schedule in ("cosine", "plateau") and self.lr_min > (self.resolved_lr or 0):
            raise ConfigError(f"--lr-min ({self.lr_min}) must not exceed --lr "
                              f"({self.resolved_lr})")
        self._validate_optimizer()
        return self

    def _validate_optimizer(self) -> None:
        """The options of core/optim.py, plateau, clipping and class weights."""
        opt = self.optimizer
        only = {  # option: (is it set?, the optimizers it applies to)
            "momentum": (self.momentum != 0, ("sgd", "rmsprop")),
            "nesterov": (self.nesterov, ("sgd",)),
            "betas": (tuple(self.betas) != (0.9, 0.999), ("adam", "adamw")),
            "adam_eps": (self.adam_eps != 1e-8, ("adam", "adamw")),
            "alpha": (self.alpha != 0.99, ("rmsprop",)),
            "centered": (self.centered, ("rmsprop",)),
            "lr_decay": (self.lr_decay != 0, ("adagrad",)),
        }
        for key, (is_set, optimizers) in only.items():
            if is_set and opt not in optimizers:
                raise ConfigError(f"--{_flag(key)} applies to --optimizer "
                                  f"{' or '.join(optimizers)}, not {opt}")
        if opt == "lbfgs":
            for key, is_set in (("lr", self.lr is not None),
                                ("schedule", self.schedule != "constant"),
                                ("warmup", self.warmup != 0), ("clip_norm", self.clip_norm)):
                if is_set:
                    raise ConfigError(f"--{_flag(key)} does not apply to --optimizer lbfgs "
                                      f"(full-batch, its line search sets each step)")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"--betas needs two values in [0, 1), e.g. 0.9,0.999; got "
                              f"{','.join(map(str, self.betas))}")
        if not 0 <= self.alpha < 1:
            raise ConfigError(f"--alpha must be in [0, 1); got {self.alpha}")
        if not 0 < self.factor < 1:
            raise ConfigError(f"--factor must be in (0, 1); got {self.factor}")
        for key in ("adam_eps", "ftol", "gtol"):
            _positive(self, key, getattr(self, key))
        if self.clip_norm is not None and not self.clip_norm > 0:  # inf: measure, never clip
            raise ConfigError(f"--clip-norm must be > 0 (inf: record grad_norm without "
                              f"clipping); got {self.clip_norm}")
        for key in ("lr_decay", "threshold"):
            if not (math.isfinite(getattr(self, key)) and getattr(self, key) >= 0):
                raise ConfigError(f"--{_flag(key)} must be ≥ 0; got {getattr(self, key)}")
        for key in ("warmup", "plateau_patience", "cooldown", "maxcor"):
            value, least = getattr(self, key), 1 if key == "maxcor" else 0
            if int(value) != value or value < least:
                raise ConfigError(f"--{_flag(key)} must be a whole number ≥ {least}; got "
                                  f"{value}")
        if self.class_weight is not None:
            parse_class_weight(self.class_weight)


def parse_class_weight(text: str) -> str | dict[str, float]:
    """--class-weight: "balanced", or {class: weight} from "cat=2,dog=1" (weights > 0)."""
    if text == "balanced":
        return text
    weights = {}
    for item in text.split(","):
        name, eq, value = item.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if not eq or not name.strip() or not (math.isfinite(weight) and weight > 0):
            raise ConfigError(f"--class-weight must be balanced or class=weight pairs with "
                              f"weights > 0, e.g. \"cat=2,dog=1\"; got {text!r}")
        weights[name.strip()] = weight
    return weights


def _flag(key: str) -> str:
    return key.replace("_", "-")


def _positive(cfg, key, value):
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"--{_flag(key)} must be > 0; got {value}")

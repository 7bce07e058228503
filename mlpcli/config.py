"""The run configuration: one frozen dataclass whose fields are the `train` options, one to one.

Defaults live here and only here; the CLI shows them in --help by reading this class. Values from
a JSON file (`--config`, a run's config.json) are checked strictly against the fields' types by
`Config.from_dict`: JSON booleans for flags, whole numbers where counts are meant, finite numbers,
lists where lists are meant, null only where a field is optional, no unknown keys.
`train_options` merges the command line with `--config` or `--resume`.

Nothing here imports numpy or pandas: `mlpcli --help` reads this module.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import stat
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from mlpcli.errors import ConfigError, MlpcliError

# The values each choice accepts. core/ keys its registries by these names (tests/test_imports.py
# checks that they agree); they are written here so that the command line can offer them
# without importing numpy.
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

VAL_FRAC = 0.2  # default validation fraction (--val-frac) ...
MIN_ROWS_FOR_VAL = 50  # ... for data with at least this many rows (smaller data trains on all)
INT64_MAX = 2**63 - 1  # counts and seeds are stored as int64 (numpy, pandas): no larger value fits
MAX_CONFIG_BYTES = 1 << 20  # a config file holds a few hundred bytes; refuse to read more
PARAM_COPIES = 3  # training holds θ, ∇θ and the best epoch's θ (plus the velocity with momentum)
WORKSPACE_ARRAYS = 3  # per layer and row: activation, delta and a product's scratch


def default_init_scheme(activation: str) -> str:
    """He for ReLU (keeps the variance of ReLU activations), Glorot for tanh and sigmoid."""
    return "he" if activation == "relu" else "glorot"


def split_names(values) -> tuple[str, ...]:
    """Column names given once or repeatedly, each possibly comma-separated: 'a,b' → (a, b)."""
    if isinstance(values, str):
        values = [values]
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class Config:
    # --- data ---
    data: str = ""  # CSV path or bundled dataset name
    target: tuple[str, ...] = ()  # target column(s); empty = the last column
    features: tuple[str, ...] = ()  # feature columns; empty = every other column
    drop_columns: tuple[str, ...] = ()  # columns to leave out
    task: str = "auto"  # auto | regression | classification
    standardize: bool = True  # standardize features (and regression targets) on the training rows
    val_frac: float | None = None  # validation fraction; None = VAL_FRAC (≥ MIN_ROWS_FOR_VAL rows)
    dropna: bool = False  # drop rows with missing values instead of failing
    sep: str | None = None  # CSV delimiter; None = sniff comma/semicolon/tab
    encoding: str | None = None  # file encoding; None = UTF-8 (a BOM is ignored)
    # --- model ---
    hidden: tuple[int, ...] = (32,)  # hidden layer widths
    activation: str = "relu"  # relu | tanh | sigmoid
    init_scheme: str | None = None  # he | glorot; None = default_init_scheme(activation)
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
    # --- held-out evaluation and CPU threads ---
    test_frac: float = 0.0  # fraction of rows held out as test rows, scored once at the end
    val_file: str | None = None  # validation rows from this CSV instead of a split
    test_file: str | None = None  # test rows from this CSV instead of a split
    threads: int = 0  # BLAS threads; 0 = auto (the rule in mlpcli/core/threads.py)
    animate: bool = False  # write training.gif: the decision boundary every few epochs

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def fields(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, d, source: str = "config") -> Config:
        """Build from JSON values, checked strictly against the fields' types (see the module
        docstring); ConfigError naming `source`, the key and the expected type otherwise."""
        if not isinstance(d, dict):
            raise ConfigError(f"{source}: expected a JSON object of options, got "
                              f"{_show(d)}")
        unknown = sorted(set(d) - set(cls.fields()))
        if unknown:
            raise ConfigError(f"{source}: unknown option(s) {', '.join(map(str, unknown))}")
        hints = typing.get_type_hints(cls)
        values = {k: _typed(source, k, v, hints[k]) for k, v in d.items()}
        return cls(**values).validated()

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in
                ((k, getattr(self, k)) for k in self.fields())}

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes).validated()

    @property
    def resolved_init_scheme(self) -> str:
        return self.init_scheme or default_init_scheme(self.activation)

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
                raise ConfigError(f"--{_flag(key)} must be one of {', '.join(allowed)}; got "
                                  f"{getattr(self, key)!r}")
        if self.init_scheme not in (None, *INIT_SCHEMES):
            raise ConfigError(f"--init-scheme must be one of {', '.join(INIT_SCHEMES)}; got "
                              f"{self.init_scheme!r}")
        check_widths(self.hidden)
        check_fits("--hidden " + ",".join(map(str, self.hidden)), [1, *self.hidden, 1], rows=1,
                   itemsize=4 if self.dtype == "float32" else 8,
                   copies=PARAM_COPIES + self._optimizer_copies())
        if self.resolved_lr is not None:
            _positive("lr", self.resolved_lr)
        for key in ("epochs", "batch_size", "step_size"):
            check_count(f"--{_flag(key)}", getattr(self, key), low=1)
        check_count("--patience", self.patience, low=0)
        check_count("--seed", self.seed, low=0)
        if self.val_frac is not None and not 0 <= self.val_frac < 1:
            raise ConfigError(f"--val-frac must be in [0, 1); got {self.val_frac}")
        check_held_out(self.val_frac, self.test_frac, self.val_file, self.test_file)
        check_count("--threads", self.threads, low=0)
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
        if self.schedule in ("cosine", "plateau") and self.lr_min > (self.resolved_lr or 0):
            raise ConfigError(f"--lr-min ({self.lr_min}) must not exceed --lr "
                              f"({self.resolved_lr})")
        check_runs_dir(self.runs_dir)
        self._validate_optimizer()
        return self

    def _optimizer_copies(self) -> int:
        """Vectors of θ's size the optimizer keeps (moments; L-BFGS: its curvature pairs)."""
        return {"sgd": int(self.momentum > 0), "adam": 2, "adamw": 2, "adagrad": 1,
                "rmsprop": 1 + int(self.momentum > 0) + int(self.centered),
                "lbfgs": 2 * self.maxcor + 2}[self.optimizer]

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
            _positive(key, getattr(self, key))
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


def _positive(key, value):
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"--{_flag(key)} must be > 0; got {value}")


def check_count(flag: str, value: int, low: int) -> int:
    """A whole number in low … 2**63−1 (what int64 holds), or a ConfigError naming `flag`."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= INT64_MAX:
        raise ConfigError(f"{flag} must be a whole number from {low} to {INT64_MAX} (2**63−1); "
                          f"got {value}")
    return value


def check_widths(widths) -> None:
    """Hidden layer widths: at least one, each a whole number ≥ 1."""
    if not widths or any(not 1 <= h <= INT64_MAX for h in widths):
        raise ConfigError(f"--hidden: layer widths must be whole numbers ≥ 1, e.g. 16 or 64,32; "
                          f"got {','.join(map(str, widths))!r}")


def check_held_out(val_frac, test_frac, val_file, test_file) -> None:
    """ConfigError for a test fraction out of range, fractions that leave no training rows, or
    a file and a fraction both choosing the same held-out rows."""
    if not 0 <= test_frac < 1:  # also rejects NaN
        raise ConfigError(f"--test-frac must be in [0, 1); got {test_frac}")
    if val_frac is not None and test_frac and val_frac + test_frac >= 1:
        raise ConfigError(f"--val-frac {val_frac} and --test-frac {test_frac} leave no training "
                          f"rows (together they must be below 1)")
    if test_file and test_frac:
        raise ConfigError("--test-file and --test-frac both choose the test rows; give one")
    if val_file and val_frac:
        raise ConfigError("--val-file and --val-frac both choose the validation rows; give one")


def check_runs_dir(value) -> None:
    if not str(value):
        raise ConfigError("--runs-dir must not be empty (use . for the current directory)")


@dataclass(frozen=True)
class GradcheckSettings:
    """gradcheck's own options; the network and the data come from Config."""

    samples: int = 16  # rows of DATA to check on (or of random data without DATA)
    inputs: int = 3  # random data: number of inputs
    outputs: int = 2  # random data: number of outputs (classes with --loss ce)
    eps: float = 1e-6  # ε of the centered difference (f(θ+ε) − f(θ−ε)) / 2ε
    tol: float = 1e-7  # largest relative error that passes
    max_coords: int = 2000  # coordinates checked per tensor; a seeded sample beyond

    def validated(self, cfg: Config) -> GradcheckSettings:
        for key in ("samples", "inputs", "outputs", "max_coords"):
            check_count(f"--{_flag(key)}", getattr(self, key), low=1)
        _positive("eps", self.eps)
        _positive("tol", self.tol)
        if not cfg.data:  # random data of `samples` rows (DATA's rows bound them otherwise),
            # evaluated in extended precision (16-byte long doubles)
            check_fits(f"--samples {self.samples} --inputs {self.inputs} --outputs "
                       f"{self.outputs}", [self.inputs, *cfg.hidden, self.outputs],
                       rows=self.samples, itemsize=16)
        return self


# --- memory -------------------------------------------------------------------------------------

def network_bytes(sizes, rows: int, itemsize: int, copies: int = PARAM_COPIES) -> int:
    """Bytes a network of layer `sizes` needs: `copies` of its parameters (W and b per layer)
    plus a workspace of WORKSPACE_ARRAYS values per unit for each of `rows` examples."""
    params = sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:]))
    return itemsize * (copies * params + WORKSPACE_ARRAYS * rows * sum(sizes))


def memory_bytes() -> int | None:
    """This machine's physical memory, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits(what: str, sizes, rows: int, itemsize: int, copies: int = PARAM_COPIES) -> None:
    """Refuse, before anything is allocated, a problem larger than the machine's memory."""
    needed, available = network_bytes(sizes, rows, itemsize, copies), memory_bytes()
    if available is not None and needed > available:
        raise ConfigError(f"{what}: needs at least {_gib(needed)} of memory, more than this "
                          f"machine's {_gib(available)}; use fewer or narrower layers")


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


# --- strict types for JSON values ---------------------------------------------------------------

def _typed(source: str, key: str, value, kind):
    """`value` as field `key` of type `kind` takes it, or a ConfigError saying what was expected.
    A single value stands for a one-element list, as an option given once on the command line
    does (`"hidden": 32` is one layer; `"target": "a,b"` two columns, as --target a,b)."""
    optional = typing.get_origin(kind) in (typing.Union, types.UnionType)
    if optional:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
        if value is None:
            return None
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        if item is str and isinstance(value, str):
            return split_names(value)
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if all(_is(v, item) for v in items):
            return tuple(items)
    elif _is(value, kind):
        return float(value) if kind is float else value
    raise ConfigError(f"{source}: {key!r} must be {_expected(kind, optional)}; got {_show(value)}")


def _is(value, kind) -> bool:
    if kind is bool:
        return type(value) is bool
    if kind is int:
        return type(value) is int
    if kind is float:
        return type(value) in (int, float) and _finite(value)
    return isinstance(value, kind)


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer beyond float's range
        return False


def _expected(kind, optional: bool) -> str:
    words = {bool: "true or false (a JSON boolean)", int: "a whole number", str: "a string",
             float: "a finite number"}
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        text = ("a list of whole numbers, e.g. [64, 32]" if item is int
                else "a list of column names, e.g. [\"a\", \"b\"]")
    else:
        text = words[kind]
    return text + (" or null" if optional else "")


def _show(value) -> str:
    """A JSON value as the user wrote it, cut to keep the message on one line."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# --- merging the command line with --config and --resume ----------------------------------------

def given_options(ctx) -> dict:
    """The Config options the user actually gave on the command line (or in the environment),
    so that --config or --resume supplies the rest. `ctx` is the command's click context."""
    fields, given = set(Config.fields()), {}
    for key, value in ctx.params.items():
        source = ctx.get_parameter_source(key)
        if key not in fields or source is None or source.name not in ("COMMANDLINE",
                                                                        "ENVIRONMENT"):
            continue
        value = getattr(value, "value", value)  # an Enum choice: its string
        given[key] = str(value) if isinstance(value, Path) else (
            tuple(value) if isinstance(value, list) else value)
    return given


def train_options(given: dict, *, config: Path | None = None, resume: str | None = None,
                  find_run=None) -> tuple[Config, Path | None]:
    """The Config of `mlpcli train`, and the run directory to resume (or None).

    `given`: options from the command line (they win); `config`: a JSON file, a run directory
    or a run (its config.json supplies the rest); `resume`: a run, whose own options are kept
    (only --epochs and --checkpoint-every may change). `find_run(spec, runs_dir) -> Path`
    resolves a run id, prefix, name or 'latest' (it lives in mlpcli.runs, above this module)."""
    runs_dir = given.get("runs_dir", Config.runs_dir)
    check_runs_dir(runs_dir)
    resume_path = None
    if resume is not None:
        if config is not None:
            raise ConfigError("--resume continues a run with its own options; it cannot be "
                              "combined with --config")
        resume_path = find_run(resume, runs_dir)
        changed = sorted(set(given) - {"epochs", "checkpoint_every", "runs_dir", "threads"})
        if changed:
            got = "DATA" if changed[0] == "data" else f"--{_flag(changed[0])}"
            raise ConfigError(f"--resume continues a run with its own options; only --epochs "
                              f"can change (got {got})")
        options = {**read_options(resume_path, "--resume"), "runs_dir": str(resume_path.parent)}
    elif config is not None:
        options = read_options(config_path(Path(config), runs_dir, find_run), "--config")
    else:
        options = {}
    source = f"--config {config}" if config is not None else (
        f"--resume {resume}" if resume is not None else "options")
    cfg = Config.from_dict({**options, **given}, source=source)
    if not cfg.data:
        raise ConfigError("give a CSV file or bundled dataset name, e.g. 'mlpcli train xor'")
    return cfg, resume_path


def config_path(path: Path, runs_dir, find_run) -> Path:
    """--config FILE, a run directory (its config.json), or a run id/name/prefix/'latest'."""
    if path.exists():
        return path
    try:
        return find_run(str(path), runs_dir)
    except MlpcliError:
        raise ConfigError(f"--config {path}: no such file or run") from None


def read_options(path: Path, flag: str) -> dict:
    """The options of a JSON config file, or of a run directory's config.json; the file must be
    a regular file of at most MAX_CONFIG_BYTES (not a device, a FIFO or a huge file)."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{flag} {path}: not a regular file; give a JSON file or a run")
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{flag} {path}: {info.st_size} bytes is too large for a config "
                              f"file (at most {MAX_CONFIG_BYTES})")
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"{flag} {path}: cannot read ({e.strerror})") from None
    if len(raw) > MAX_CONFIG_BYTES:  # it grew while being read
        raise ConfigError(f"{flag} {path}: too large for a config file")
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ConfigError(f"{flag} {path}: not valid JSON ({' '.join(str(e).split())})") \
            from None
    if isinstance(value, dict) and "options" in value:  # a run's config.json
        value = value["options"]
    if not isinstance(value, dict):
        raise ConfigError(f"{flag} {path}: expected a JSON object of options, got "
                          f"{_show(value)}")
    return value

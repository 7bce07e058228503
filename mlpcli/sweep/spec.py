"""A sweep's specification, and its expansion into a plain list of trials.

    --grid lr=0.001|0.01 --grid hidden=8|64,32      cartesian product of the values
    --random 20 --sample lr=log:1e-4:1e-1          20 draws per grid point, seeded by --seed
    --seeds 5 --folds 5                             each configuration × seeds × folds

A swept NAME is a `train` option's long name (`batch-size` or `batch_size`). Values are
separated by `|`; for options whose values never hold a comma, by `,` too. Every value is
turned into the type of its Config field here, so a wrong name or value is rejected (ConfigError
naming the parameter) before anything runs.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from mlpcli.config import Config
from mlpcli.errors import ConfigError, MlpcliError

SPEC_VERSION = 1
# options a trial cannot vary: what the sweep itself is about, or where it writes
NOT_SWEPT = {
    "data": "every trial uses the sweep's DATA",
    "seed": "use --seeds K to repeat each configuration with K seeds",
    "runs_dir": "the sweep writes to one --runs-dir",
    "name": "trials are named by the sweep",
    "checkpoint_every": "it does not change a trial's result",
}
FREE_TEXT = ("sep", "encoding", "init")  # text options whose values may hold a comma
DISTRIBUTIONS = ("log", "uniform", "int")
_TYPES = {f.name: str(f.type) for f in dataclasses.fields(Config)}


@dataclass
class SweepSpec:
    """What to run: options fixed for every trial, the swept parameters, the repetitions."""

    fixed: dict  # Config options given for every trial (data and seed included)
    grid: dict = field(default_factory=dict)  # name -> list of values (JSON-native)
    sample: dict = field(default_factory=dict)  # name -> distribution text, e.g. "log:1e-4:1e-1"
    random: int = 0  # draws per grid point from `sample`
    seeds: int = 1  # seeds per configuration: seed, seed+1, …
    folds: int = 0  # k-fold cross-validation (0: the validation split of --val-frac)
    refit: bool = False  # train the best configuration on all training rows at the end

    @property
    def seed(self) -> int:
        return int(self.fixed.get("seed", Config.seed))

    @property
    def params(self) -> list[str]:
        """The swept parameters, in the order of trials.csv's columns."""
        return [*self.grid, *(n for n in self.sample if n not in self.grid)]

    def to_dict(self) -> dict:
        return {"version": SPEC_VERSION, "fixed": self.fixed, "grid": self.grid,
                "sample": self.sample, "random": self.random, "seeds": self.seeds,
                "folds": self.folds, "refit": self.refit}

    @classmethod
    def from_dict(cls, d: dict, source: str) -> SweepSpec:
        known = {"version", "fixed", "grid", "sample", "random", "seeds", "folds", "refit",
                 "search", "params", "configs", "trials"}  # the last four: written for readers
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)} (expected fixed, "
                              f"grid, sample, random, seeds, folds, refit)")
        grid = d.get("grid") or {}
        if not isinstance(grid, dict) or not isinstance(d.get("sample") or {}, dict):
            raise ConfigError(f"{source}: grid and sample must be objects {{name: values}}")
        spec = cls(fixed=dict(d.get("fixed") or {}),
                   grid={param_name(k): [parse_value(param_name(k), v) for v in
                                         (vs if isinstance(vs, list) else [vs])]
                         for k, vs in grid.items()},
                   sample={param_name(k): str(v) for k, v in (d.get("sample") or {}).items()},
                   random=d.get("random", 0), seeds=d.get("seeds", 1),
                   folds=d.get("folds", 0), refit=bool(d.get("refit", False)))
        return spec.checked()

    def checked(self) -> SweepSpec:
        """Self, after checking the counts and that every parameter and distribution is valid."""
        for key, low in (("random", 0), ("seeds", 1), ("folds", 0)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"--{key} must be a whole number ≥ {low}; got {value!r}")
        if self.folds == 1:
            raise ConfigError("--folds needs at least 2 folds (or 0 for a validation split)")
        for name, values in self.grid.items():
            if not values:
                raise ConfigError(f"--grid {name}: no values")
        for name, text in self.sample.items():
            Distribution.parse(name, text)
        if self.sample and not self.random:
            raise ConfigError("--sample needs --random N, the number of configurations to draw")
        if self.random and not self.sample:
            raise ConfigError("--random N draws from --sample distributions; give at least one, "
                              "e.g. --sample lr=log:1e-4:1e-1")
        both = sorted(set(self.grid) & set(self.sample))
        if both:
            raise ConfigError(f"{both[0]} is both in --grid and in --sample; choose one")
        if self.folds and self.fixed.get("val_frac") is not None:
            raise ConfigError("--folds holds out each fold in turn for validation; leave out "
                              "--val-frac")
        if self.folds and "val_frac" in self.params:
            raise ConfigError("--folds holds out each fold in turn; val_frac cannot be swept")
        held_out = [k for k in ("test_frac", "val_file", "test_file", "animate")
                    if self.fixed.get(k) or k in self.params]
        if held_out:  # the trials split the training file's rows only, and draw no GIF
            why = ("a sweep draws each trial's pictures only with --plots; animate the best "
                   "configuration with train --animate" if held_out[0] == "animate" else
                   "a sweep validates on the training file's own rows (score the best "
                   "configuration on test rows with train --test-frac)")
            raise ConfigError(f"--{held_out[0].replace('_', '-')} is for `mlpcli train`; {why}")
        return self


@dataclass(frozen=True)
class Trial:
    """One training run of a sweep: a configuration, a seed and (with --folds) a fold."""

    id: str  # also the name of its run directory
    config: int  # index of its configuration, 0-based
    params: dict  # the swept parameters' values
    seed: int
    fold: int | None  # 0-based fold index, or None without --folds
    folds: int  # number of folds (0 without --folds)

    def options(self, fixed: dict) -> dict:
        """The Config options of this trial."""
        return {**fixed, **self.params, "seed": self.seed}


# --- names and values ---------------------------------------------------------------------------

def param_name(name: str) -> str:
    """`batch-size` / `--batch-size` / `batch_size` → `batch_size`; ConfigError if not sweepable."""
    key = name.strip().lstrip("-").replace("-", "_")
    if key in NOT_SWEPT:
        raise ConfigError(f"--grid/--sample {key}: cannot be swept ({NOT_SWEPT[key]})")
    if key not in _TYPES:
        options = ", ".join(sorted(k for k in _TYPES if k not in NOT_SWEPT))
        raise ConfigError(f"--grid/--sample {name!r}: not a train option (one of: {options})")
    return key


def _comma_free(name: str) -> bool:
    """Whether values of this option never contain a comma (so ',' may separate them)."""
    return name not in FREE_TEXT and not _TYPES[name].startswith("tuple")


def split_values(name: str, text: str) -> list[str]:
    parts = [p.strip() for p in text.split("|")]
    if _comma_free(name):
        parts = [q.strip() for p in parts for q in p.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise ConfigError(f"--grid {name}={text}: empty value; separate values with '|'")
    return parts


def parse_value(name: str, value):
    """One value of option `name` from text (or JSON), as its Config field holds it."""
    kind, flag = _TYPES[name], f"--grid {name}"
    text = str(value).strip() if not isinstance(value, (list, tuple)) else value
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            lowered = text.lower()
            if lowered in ("true", "yes", "on", "1"):
                return True
            if lowered in ("false", "no", "off", "0"):
                return False
            raise ValueError
        if kind == "int":
            number = float(text)
            if number != int(number):
                raise ValueError
            return int(number)
        if kind in ("float", "float | None"):
            if kind == "float | None" and (value is None or text.lower() == "none"):
                return None
            number = float(text)
            if not math.isfinite(number):
                raise ValueError
            return number
        if kind == "tuple[int, ...]":
            items = text if isinstance(text, (list, tuple)) else text.split(",")
            widths = [int(str(v).strip()) for v in items if str(v).strip()]
            if not widths or min(widths) < 1:
                raise ValueError
            return widths
        if kind == "tuple[str, ...]":
            items = text if isinstance(text, (list, tuple)) else text.split(",")
            return [str(v).strip() for v in items if str(v).strip()]
    except (TypeError, ValueError):
        expected = {"bool": "true or false", "int": "a whole number",
                    "float": "a number", "float | None": "a number",
                    "tuple[int, ...]": "layer widths like 16 or 64,32"}[kind]
        raise ConfigError(f"{flag}: {value!r} is not {expected}") from None
    text = None if text.lower() == "none" and kind == "str | None" else text
    if name not in FREE_TEXT:  # a choice (activation, loss, …): Config checks it
        try:
            Config().replace(**{name: text})
        except ConfigError as e:
            raise ConfigError(f"{flag}: {e}") from None
    return text


def value_text(value) -> str:
    """A parameter value as trials.csv and the leaderboard show it: 64,32 · true · 0.01."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    return str(value) if not isinstance(value, float) else f"{value:.6g}"


def _assignments(items: list[str], flag: str, example: str):
    """NAME=TEXT items → (option name, TEXT), each option at most once."""
    seen = set()
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"{flag} {item!r}: expected NAME=…, e.g. {example}")
        key = param_name(name)
        if key in seen:
            raise ConfigError(f"{flag} {key} given twice; give all its values in one {flag}")
        seen.add(key)
        yield key, text.strip()


def parse_grid(items: list[str]) -> dict:
    """--grid NAME=V1|V2 … → {name: [values]} (a repeated value once)."""
    grid = {}
    for key, text in _assignments(items, "--grid", "lr=0.001|0.01"):
        values = [parse_value(key, v) for v in split_values(key, text)]
        grid[key] = list({value_text(v): v for v in values}.values())
    return grid


def parse_sample(items: list[str]) -> dict:
    """--sample NAME=DIST … → {name: distribution text}, each checked."""
    sample = {}
    for key, text in _assignments(items, "--sample", "lr=log:1e-4:1e-1"):
        Distribution.parse(key, text)
        sample[key] = text
    return sample


@dataclass(frozen=True)
class Distribution:
    """log:a:b (log-uniform), uniform:a:b, int:a:b (inclusive), or a choice a|b|c."""

    name: str
    kind: str  # log | uniform | int | choice
    low: float = 0.0
    high: float = 0.0
    choices: tuple = ()

    @classmethod
    def parse(cls, name: str, text: str) -> Distribution:
        kind, _, rest = text.partition(":")
        if kind not in DISTRIBUTIONS:
            values = [parse_value(name, v) for v in split_values(name, text)]
            return cls(name, "choice", choices=tuple(values))
        flag = f"--sample {name}={text}"
        bounds = rest.split(":")
        try:
            low, high = (float(b) for b in bounds)
        except ValueError:
            raise ConfigError(f"{flag}: expected {kind}:LOW:HIGH with two numbers") from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ConfigError(f"{flag}: needs finite LOW < HIGH")
        field_type = _TYPES[name]
        if field_type not in ("int", "float", "float | None"):
            raise ConfigError(f"{flag}: {name} is not numeric; sample it as a choice a|b|c")
        if kind == "log" and low <= 0:
            raise ConfigError(f"{flag}: a log-uniform range needs LOW > 0")
        if kind == "int" and (low != int(low) or high != int(high)):
            raise ConfigError(f"{flag}: int:LOW:HIGH needs whole numbers")
        if kind == "uniform" and field_type == "int":
            raise ConfigError(f"{flag}: {name} takes whole numbers; use int:{rest}")
        return cls(name, kind, low, high)

    def draw(self, rng: np.random.Generator):
        if self.kind == "choice":
            return self.choices[int(rng.integers(len(self.choices)))]
        if self.kind == "int":
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if self.kind == "log":
            value = float(np.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        else:
            value = float(rng.uniform(self.low, self.high))
        return int(round(value)) if _TYPES[self.name] == "int" else float(f"{value:.6g}")


# --- expansion ----------------------------------------------------------------------------------

def configurations(spec: SweepSpec) -> list[dict]:
    """The configurations to try, in order: the grid's product, each with `random` draws."""
    names = list(spec.grid)
    points = [dict(zip(names, combo)) for combo in itertools.product(*spec.grid.values())]
    if not spec.random:
        return points
    rng = np.random.default_rng(spec.seed)
    dists = [Distribution.parse(n, t) for n, t in spec.sample.items()]
    return [{**point, **{d.name: d.draw(rng) for d in dists}}
            for point in points for _ in range(spec.random)]


def expand(spec: SweepSpec) -> list[Trial]:
    """Every trial of the sweep: configuration × seed × fold, in that order."""
    configs = configurations(spec)
    digits = len(str(len(configs) - 1))
    seeds = [spec.seed + i for i in range(spec.seeds)]
    folds = list(range(spec.folds)) if spec.folds else [None]
    trials = []
    for c, params in enumerate(configs):
        for seed in seeds:
            for fold in folds:
                tid = f"c{c:0{digits}d}-s{seed}" + ("" if fold is None else f"-f{fold}")
                trials.append(Trial(tid, c, params, seed, fold, spec.folds))
    return trials


def validate(spec: SweepSpec, trials: list[Trial]) -> list[Config]:
    """Each configuration as a Config (ConfigError naming the configuration if one is invalid)."""
    configs = {}
    for t in trials:
        if t.config in configs:
            continue
        try:
            configs[t.config] = Config.from_dict(t.options(spec.fixed), source="sweep")
        except ConfigError as e:
            shown = " ".join(f"{k}={value_text(v)}" for k, v in t.params.items())
            raise ConfigError(f"configuration {shown}: {e}" if shown else str(e)) from None
    return [configs[c] for c in sorted(configs)]


def from_options(spec_file, given: dict, swept: dict, refit: bool) -> SweepSpec:
    """The sweep's spec: --spec FILE (if any), overridden by the train options `given` (those a
    trial can take, plus DATA and --seed) and the sweep options `swept` (grid, sample, random,
    seeds, folds)."""
    from mlpcli.runs import read_json

    spec = SweepSpec(fixed={})
    if spec_file is not None:
        try:
            raw = read_json(spec_file)
        except MlpcliError as e:
            raise ConfigError(f"--spec {e}") from None
        spec = SweepSpec.from_dict(raw.get("spec", raw), source=str(spec_file))
    fixed = {k: v for k, v in given.items() if k not in NOT_SWEPT or k in ("data", "seed")}
    spec.fixed = {**spec.fixed, **fixed}
    spec.grid.update(parse_grid(swept["grid"] or []))
    spec.sample.update(parse_sample(swept["sample"] or []))
    for key in ("random", "seeds", "folds"):
        if swept[key] is not None:
            setattr(spec, key, swept[key])
    spec.refit = spec.refit or refit
    return spec

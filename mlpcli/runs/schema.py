"""What each JSON file of a run directory must hold, checked before anything uses it.

A file that parses but holds something else (a string where a number belongs, an integer too
large for int64, a layer of 10¹² units, an unknown loss, no classes) makes its run `damaged`:
`check(kind, value, path)` raises a RunError naming the file and the field. Keys not listed
here are allowed (newer versions may add some), but must still be plain JSON values.
"""

from __future__ import annotations

import math

from mlpcli.config import ACTIVATION_NAMES, DTYPES, LOSS_NAMES
from mlpcli.errors import RunError

INT64_MAX = 2**63 - 1
MAX_UNITS = 2**24  # widths beyond this are not a network mlpcli wrote
MAX_PARAMETERS = 2**32  # 32 GiB of float64: more than any run on one machine
STATUSES = ("running", "finished", "interrupted", "diverged", "failed")
TASK_NAMES = ("regression", "classification")
ENCODINGS = ("binary", "onehot", "regression")


class Bad(Exception):
    """A field (`where`, e.g. `.options.seed`) that is not what was `expected`."""

    def __init__(self, expected: str, where: str = ""):
        super().__init__(expected)
        self.expected, self.where = expected, where


# --- field checks: each returns nothing or raises Bad ----------------------------------------

def integer(lo: int = 0, hi: int = INT64_MAX):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise Bad(f"an integer in {lo}…{hi}")
    return check


def number(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise Bad("a finite number")


def text(v):
    if not isinstance(v, str):
        raise Bad("text")


def boolean(v):
    if not isinstance(v, bool):
        raise Bad("true or false")


def scalar(v):
    if not (v is None or isinstance(v, (str, bool, int, float))):
        raise Bad("a plain value")
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT64_MAX:
        raise Bad("an integer within int64")


def one_of(*names):
    def check(v):
        if v not in names:
            raise Bad(f"one of {', '.join(names)}")
    return check


def optional(inner):
    def check(v):
        if v is not None:
            inner(v)
    return check


def list_of(inner, min_len: int = 0):
    def check(v):
        if not isinstance(v, list) or len(v) < min_len:
            raise Bad(f"a list{f' of at least {min_len}' if min_len else ''}")
        for i, item in enumerate(v):
            _at(f"[{i}]", inner, item)
    return check


def dict_of(inner):
    def check(v):
        if not isinstance(v, dict):
            raise Bad("an object")
        for key, item in v.items():
            _at(f".{key}", inner, item)
    return check


def fields(spec: dict, required=()):
    """An object whose listed keys pass their checks; other keys hold plain values."""
    def check(v):
        if not isinstance(v, dict):
            raise Bad("an object")
        for key in required:
            if key not in v:
                raise Bad(f"a {key!r} field")
        for key, item in v.items():
            _at(f".{key}", spec.get(key, plain), item)
    return check


def plain(v):
    """A JSON value of bounded depth: a scalar, or a list/object of scalars and lists."""
    if isinstance(v, (list, dict)):
        items = v.values() if isinstance(v, dict) else v
        for item in items:
            if isinstance(item, dict) or (isinstance(item, list) and
                                          any(isinstance(i, (list, dict)) for i in item)):
                raise Bad("a plain value (not nested this deep)")
            if isinstance(item, list):
                for i in item:
                    scalar(i)
            else:
                scalar(item)
    else:
        scalar(v)


def _at(where: str, check, value):
    try:
        check(value)
    except Bad as e:
        raise Bad(e.expected, where + e.where) from None


# --- the files ------------------------------------------------------------------------------

COUNT = optional(integer())
REPORT_DEPTH = 6  # the report's nesting: split → classes → class → score; confusion rows


def bounded(depth: int):
    """Any JSON value nested at most `depth` lists/objects deep (scalars checked as scalars)."""
    def check(v):
        if isinstance(v, (list, dict)):
            if depth == 0:
                raise Bad("a value nested less deeply")
            items = v.values() if isinstance(v, dict) else v
            for item in items:
                bounded(depth - 1)(item)
        else:
            scalar(v)
    return check


def metrics(v):
    """final/best: numbers by name (None where one does not apply), and the full "report"."""
    if v is None:
        return
    if not isinstance(v, dict):
        raise Bad("an object")
    for key, item in v.items():
        _at(f".{key}", bounded(REPORT_DEPTH) if key == "report" else optional(number), item)


METRICS = metrics

SUMMARY = fields({
    "status": one_of(*STATUSES), "epochs_run": COUNT, "best_epoch": COUNT,
    "seconds": optional(number), "wall_seconds": optional(number),
    "stopped_early": optional(boolean), "error": optional(text), "name": optional(text),
    "dataset": optional(text), "argv": optional(list_of(text)), "started": optional(text),
    "ended": optional(text), "pid": optional(integer()), "host": optional(text),
    "task": optional(text), "dropped_rows": COUNT, "final": METRICS, "best": METRICS,
    "resumed": optional(list_of(dict_of(plain))), "id": optional(text),
}, required=("status",))

OPTIONS = fields({
    "data": optional(text), "name": optional(text), "hidden": list_of(integer(1, MAX_UNITS)),
    "epochs": integer(1), "batch_size": integer(1), "seed": integer(0),
    "lr": optional(number),  # (none for lbfgs: its line search sets each step)
    "loss": one_of(*LOSS_NAMES), "activation": one_of(*ACTIVATION_NAMES),
    "dtype": one_of(*DTYPES),
})

CONFIG = fields({"options": OPTIONS, "dataset": optional(dict_of(plain)),  # (held-out files)
                 "argv": optional(list_of(text)), "versions": optional(dict_of(scalar)),
                 # a sweep trial's: its sweep, trial id, fold and swept values
                 "sweep": optional(fields({"params": optional(dict_of(plain))}))},
                required=("options",))

NAMES = list_of(text)
NUMBERS = list_of(number)

PREPROCESSING = fields({
    "features": NAMES, "categories": dict_of(list_of(text, 1)), "input_names": NAMES,
    "x_mean": NUMBERS, "x_std": NUMBERS, "targets": list_of(text, 1),
    "task": one_of(*TASK_NAMES), "classes": list_of(scalar), "encoding": one_of(*ENCODINGS),
    "y_mean": NUMBERS, "y_std": NUMBERS, "loss": one_of(*LOSS_NAMES), "standardize": boolean,
}, required=("features", "categories", "input_names", "x_mean", "x_std", "targets", "task",
             "classes", "encoding", "y_mean", "y_std", "loss", "standardize"))

MODEL = fields({
    "layers": list_of(integer(1, MAX_UNITS), 2), "activation": one_of(*ACTIVATION_NAMES),
    "loss": one_of(*LOSS_NAMES), "task": one_of(*TASK_NAMES), "features": NAMES,
    "inputs": NAMES, "targets": list_of(text, 1), "classes": list_of(scalar),
    "dtype": one_of(*DTYPES), "preprocessing": PREPROCESSING,
}, required=("layers", "activation", "preprocessing"))

FILES = {"summary.json": SUMMARY, "config.json": CONFIG, "model.json": MODEL}


def check(name: str, value, path) -> dict:
    """`value` (the parsed file `name` of a run) if it holds what it should; else RunError."""
    try:
        FILES[name](value)
        if name == "model.json":
            _check_model(value)
    except Bad as e:
        where = e.where.lstrip(".") or "the file"
        raise RunError(f"{path}: damaged ({where}: expected {e.expected})") from None
    return value


def _check_model(info: dict) -> None:
    """Agreements between model.json's fields: parameters, inputs, classes."""
    sizes = info["layers"]
    if sum((a + 1) * b for a, b in zip(sizes, sizes[1:])) > MAX_PARAMETERS:
        raise Bad(f"a network of at most {MAX_PARAMETERS} parameters", ".layers")
    pre = info["preprocessing"]
    if len(pre["x_mean"]) != len(pre["input_names"]) or len(pre["x_std"]) != len(
            pre["input_names"]):
        raise Bad("one mean and one std per input", ".preprocessing.x_mean")
    if len(pre["input_names"]) != sizes[0]:
        raise Bad(f"{len(pre['input_names'])} inputs, one per input name", ".layers[0]")
    if pre["task"] == "classification" and len(pre["classes"]) < 2:
        raise Bad("at least two classes for classification", ".preprocessing.classes")

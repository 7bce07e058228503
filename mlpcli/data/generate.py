"""Seeded toy-dataset generators returning DataFrames with columns x1, x2, ..., y (target last)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np
import pandas as pd

BYTES_PER_ROW = 256  # peak memory per row, arrays to CSV text (measured ~100; 2.5× margin)


def max_rows() -> int:
    """The most rows generated at once: those that fit in half the machine's memory."""
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return memory // 2 // BYTES_PER_ROW


def _check(n: int, noise: float) -> None:
    """Raise ValueError unless n is an integer in 1…max_rows() and noise a finite number >= 0."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if n > max_rows():
        raise ValueError(
            f"n = {n} rows would need about {n * BYTES_PER_ROW / 2**30:.3g} GiB of memory; "
            f"at most {max_rows()} rows fit in half of this machine's memory"
        )
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.number)):
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    if not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")


def _frame(X: np.ndarray, y: np.ndarray, rng: np.random.Generator | None) -> pd.DataFrame:
    """Assemble columns x1..xd, y; shuffle rows with rng unless rng is None."""
    if rng is not None:
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
    cols = {f"x{j + 1}": X[:, j] for j in range(X.shape[1])}
    cols["y"] = y
    return pd.DataFrame(cols)


def make_moons(n: int, noise: float, seed: int) -> pd.DataFrame:
    """Two interleaving half circles; class 0 is the upper moon, class 1 the lower one."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t0), np.sin(t0)]),
            np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)]),
        ]
    )
    X = X + noise * rng.standard_normal(X.shape)
    y = np.repeat(np.arange(2, dtype=np.int64), [n0, n1])
    return _frame(X, y, rng)


def make_circles(n: int, noise: float, seed: int, factor: float = 0.5) -> pd.DataFrame:
    """Two concentric circles: class 0 has radius 1, class 1 has radius ``factor``."""
    _check(n, noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0.0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2 * np.pi, n1, endpoint=False)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t0), np.sin(t0)]),
            factor * np.column_stack([np.cos(t1), np.sin(t1)]),
        ]
    )
    X = X + noise * rng.standard_normal(X.shape)
    y = np.repeat(np.arange(2, dtype=np.int64), [n0, n1])
    return _frame(X, y, rng)


def make_spirals(n: int, noise: float, seed: int, classes: int = 3) -> pd.DataFrame:
    """CS231n spiral: K arms with radius r in [0, 1] and angle t over 4 rad per arm plus noise."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    counts = n // classes + (np.arange(classes) < n % classes)
    y = np.repeat(np.arange(classes, dtype=np.int64), counts)
    r = np.concatenate([np.linspace(0.0, 1.0, c) for c in counts])
    t = 4.0 * (y + r) + noise * rng.standard_normal(n)
    X = np.column_stack([r * np.sin(t), r * np.cos(t)])
    return _frame(X, y, rng)


def make_sine(n: int, noise: float, seed: int) -> pd.DataFrame:
    """Regression: x uniform in [-3, 3], y = sin(x) + noise * N(0, 1)."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, n)
    y = np.sin(x) + noise * rng.standard_normal(n)
    return _frame(x[:, None], y, None)


def make_xor(n: int, noise: float, seed: int) -> pd.DataFrame:
    """XOR of the unit-square corners, balanced over corners, with gaussian noise on x.

    n=4, noise=0 gives the truth table in order; with noise=0 the features are int64.
    """
    _check(n, noise)
    rng = np.random.default_rng(seed)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.int64)[np.arange(n) % 4]
    y = corners[:, 0] ^ corners[:, 1]
    X = corners if noise == 0 else corners + noise * rng.standard_normal(corners.shape)
    return _frame(X, y, None if (n == 4 and noise == 0) else rng)


GENERATORS: dict[str, Callable[[int, float, int], pd.DataFrame]] = {
    "moons": make_moons,
    "circles": make_circles,
    "spirals": make_spirals,
    "sine": make_sine,
    "xor": make_xor,
}

DEFAULTS: dict[str, dict[str, float]] = {
    "moons": {"n": 1000, "noise": 0.2},
    "circles": {"n": 1000, "noise": 0.1},
    "spirals": {"n": 900, "noise": 0.2},
    "sine": {"n": 500, "noise": 0.1},
    "xor": {"n": 4, "noise": 0.0},
}


def generate(
    kind: str, n: int | None = None, noise: float | None = None, seed: int = 0
) -> pd.DataFrame:
    """Make dataset ``kind`` with n and noise defaulting to DEFAULTS[kind]."""
    if kind not in GENERATORS:
        raise ValueError(f"unknown dataset kind {kind!r}; valid kinds: {', '.join(GENERATORS)}")
    d = DEFAULTS[kind]
    return GENERATORS[kind](
        int(d["n"]) if n is None else n, d["noise"] if noise is None else noise, seed
    )

"""The bundled datasets (datasets/*.csv, shipped inside the wheel): where they are, their names,
what DATA names, and a description of each for `datasets list`."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np

from mlpcli.data.columns import parse_column, resolve_task, select_columns
from mlpcli.data.csvread import read_csv
from mlpcli.data.source import STDIN, directory_error
from mlpcli.errors import DataError


def bundled_dir() -> Path:
    """The bundled datasets: inside the installed package, else the repository's datasets/."""
    packaged = importlib.resources.files("mlpcli") / "datasets"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "datasets"


def bundled_names() -> list[str]:
    """Sorted names (file stems) of the bundled CSV datasets."""
    folder = bundled_dir()
    return sorted(p.stem for p in folder.glob("*.csv")) if folder.is_dir() else []


def resolve_data(data: str | Path) -> Path:
    """`-` (standard input) or an existing path as is, else a bundled dataset by name ("xor" or
    "xor.csv"). Whether the path can be read as a CSV is checked when it is opened."""
    path = Path(data)
    if path.is_dir():
        raise directory_error(path)
    if str(data) == STDIN or path.exists():
        return path
    name = str(data)
    stem = name[: -len(".csv")] if name.endswith(".csv") else name
    names = bundled_names()
    if stem in names:
        return bundled_dir() / f"{stem}.csv"
    raise DataError(f"no such file or bundled dataset: {name!r} (bundled: {', '.join(names)})")


def describe_bundled() -> list[dict]:
    """One record per bundled dataset, sorted by name: {"name", "rows", "features", "target",
    "task"}, with the target the last column and the task as `--task auto` decides it."""
    out = []
    for name in bundled_names():
        df = read_csv(bundled_dir() / f"{name}.csv")
        source = df.attrs["source"]
        targets, feats = select_columns(df, None, None, (), source)
        target = targets[0]
        col = parse_column(df[target], target, source)
        keep = ~(col.missing | col.infinite)
        task = resolve_task("auto", {target: col.take(np.flatnonzero(keep))}, source)
        out.append(
            {"name": name, "rows": len(df), "features": len(feats), "target": target, "task": task}
        )
    return out

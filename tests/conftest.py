"""Shared fixtures: run the CLI in-process in a temporary directory."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mlpcli.cli import main

# every CSV the suite reads with PyArrow is read again with pandas' C parser and compared column by
# column (mlpcli.data.csvread.check_readers); subprocesses inherit it
os.environ["MLPCLI_CHECK_READERS"] = "1"
# the data cache of the whole session, for files of any size: every run of the suite whose data
# was read before (by another test) takes its arrays from the cache, memory-mapped read-only
os.environ["MLPCLI_CACHE_DIR"] = tempfile.mkdtemp(prefix="mlpcli-test-cache-")
os.environ["MLPCLI_CACHE_MIN_BYTES"] = "0"
os.environ.pop("MLPCLI_NO_CACHE", None)

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(tmp_path, capsys, monkeypatch):
    """cli("train", "xor", ...) -> Result(code, out, err), run in tmp_path as the cwd."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("MLPCLI_CACHE_DIR", "MLPCLI_NO_CACHE"):  # --cache-dir, --no-cache set these
        monkeypatch.setenv(name, os.environ.get(name, ""))  # for the process: undone after

    def run(*args) -> Result:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    return tmp_path / "runs"


def run_dirs(runs_dir: Path) -> list[Path]:
    return sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.exists() else []


@pytest.fixture(scope="session")
def big(tmp_path_factory) -> Path:
    """20 000 rows of moons: epochs of milliseconds, so a signal or a second process lands
    while the first still trains."""
    from mlpcli.data.generate import generate

    path = tmp_path_factory.mktemp("data") / "big.csv"
    generate("moons", n=20000, noise=0.2, seed=0).to_csv(path, index=False)
    return path

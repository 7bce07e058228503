"""Start-up: `mlpcli --help`, `mlpcli --version` and every command's `--help` import none of
the heavy libraries. Each is imported only inside the commands that use it, which keeps
`mlpcli --help` within 2× the time of `python -c "import numpy"` (benchmarks/bench.py measures
the times; this test checks the cause, without timing anything).

One child process imports mlpcli.cli and runs every help command in turn, with an import hook
that records, for the first import of each heavy library, the mlpcli source lines that led to it.
A failure names the library and that chain, e.g. `pandas ← mlpcli/data/csvread.py:19 ←
mlpcli/data/__init__.py:12 ← mlpcli/cli.py:30`.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer.main

from mlpcli.cli import app

HEAVY = ("numpy", "pandas", "pyarrow", "matplotlib", "scipy", "dask", "onnx", "mlflow",
         "sklearn", "torch")

# Runs in the child: argv[1] the heavy names, argv[2] a JSON list of argument lists, argv[3]
# where to write {"import": {lib: chain}, "<args>": {lib: chain}, …} (what each step imported
# first). Help text goes to stdout, which the test ignores.
PROBE = r"""
import importlib.util, json, sys, traceback
from pathlib import Path

heavy, runs, out = set(sys.argv[1].split(",")), json.loads(sys.argv[2]), sys.argv[3]
package = Path(importlib.util.find_spec("mlpcli").origin).parent  # (not imported yet)
first = {}

class Watch:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in heavy and top not in first:
            chain = []
            for frame in reversed(traceback.extract_stack()[:-1]):
                file = Path(frame.filename)
                if file.is_relative_to(package):
                    chain.append(f"{file.relative_to(package.parent).as_posix()}:{frame.lineno}")
            first[top] = chain
        return None

sys.meta_path.insert(0, Watch())
seen = {}

def step(key):
    seen[key] = {m: c for m, c in first.items() if not any(m in s for s in seen.values())}

import mlpcli.cli
step("import")
for args in runs:
    try:
        mlpcli.cli.main(args)
    except SystemExit:
        pass
    step(" ".join(args))
Path(out).write_text(json.dumps(seen))
"""


def command_paths(command=None, path=()) -> list[list[str]]:
    """Every command and command group of the app, as argument lists: ["train"], ["runs"],
    ["runs", "list"], …"""
    command = command or typer.main.get_command(app)
    found = []
    for name, sub in getattr(command, "commands", {}).items():
        found.append([*path, name])
        found += command_paths(sub, (*path, name))
    return found


HELP_RUNS = [["--help"], ["--version"]] + [[*p, "--help"] for p in command_paths()]


@pytest.fixture(scope="module")
def first_imports(tmp_path_factory) -> dict[str, dict[str, list[str]]]:
    out = tmp_path_factory.mktemp("startup") / "imports.json"
    r = subprocess.run([sys.executable, "-c", PROBE, ",".join(HEAVY), json.dumps(HELP_RUNS),
                        str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())


def describe(imports: dict[str, list[str]]) -> str:
    return "; ".join(" ← ".join([lib, *chain]) for lib, chain in sorted(imports.items()))


def test_every_command_is_probed():
    assert ["train"] in command_paths() and ["runs", "list"] in command_paths()
    assert ["datasets", "make", "--help"] in HELP_RUNS


def test_importing_the_cli_loads_no_heavy_library(first_imports):
    assert not first_imports["import"], describe(first_imports["import"])


@pytest.mark.parametrize("args", HELP_RUNS, ids=" ".join)
def test_help_and_version_load_no_heavy_library(first_imports, args):
    imported = first_imports[" ".join(args)]
    assert not imported, f"mlpcli {' '.join(args)} imports " + describe(imported)


def test_the_probe_sees_an_eager_import_and_where_it_comes_from(tmp_path):
    """The hook works: importing the numerical core loads numpy, and says from where."""
    out = tmp_path / "imports.json"
    probe = PROBE.replace("import mlpcli.cli", "import mlpcli.core.kernels")
    r = subprocess.run([sys.executable, "-c", probe, "numpy", "[]", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    chain = json.loads(out.read_text())["import"]["numpy"]
    assert chain and chain[-1].startswith("mlpcli/core/"), chain


def test_help_through_the_real_entry_point_loads_no_heavy_library():
    """`python -m mlpcli --help` as a user runs it (every module it loads, from -X importtime)."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "mlpcli", "--help"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in r.stderr.splitlines()
              if line.startswith("import time:")}
    assert "mlpcli" in loaded and not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_command_line_needs_no_standalone_click():
    """Typer carries its own click; the default install has no other (importing the standalone
    one made `pip install .` fail with ModuleNotFoundError: No module named 'click')."""
    code = ("import sys; sys.modules['click'] = None\n"  # any `import click` now fails
            "from mlpcli.cli import main\n"
            "main(['runs', '--help'])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Usage: mlpcli runs [OPTIONS] COMMAND [ARGS]..." in result.stdout

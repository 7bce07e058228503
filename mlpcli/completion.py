"""Shell completion of arguments (Typer's `autocompletion=`): RUN completes run ids, run names,
sweeps, SWEEP:best and SWEEP/TRIAL, and 'latest'; DATA completes bundled dataset names and
files. A shell asks for them by running `mlpcli` with _MLPCLI_COMPLETE set (the script of
`mlpcli --install-completion` does); nothing here may print or fail.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from mlpcli.config import Config


def _runs_dir(ctx) -> str:
    value = (ctx.params or {}).get("runs_dir") if ctx is not None else None
    return str(value or Config.runs_dir)


def complete_run(ctx, incomplete: str) -> list[str]:
    """Run ids and names in --runs-dir (newest first), sweeps with :best, a sweep's trials
    after SWEEP/, 'latest'."""
    from mlpcli import runs

    runs_dir = _runs_dir(ctx)
    with contextlib.suppress(Exception):
        if "/" in incomplete:  # SWEEP/TRIAL
            prefix = incomplete.rpartition("/")[0]
            sweep = runs.resolve_run(prefix, runs_dir)
            return [f"{prefix}/{p.name}" for p in sorted(sweep.iterdir())
                    if runs.is_sweep(sweep) and (p / "summary.json").is_file()]
        found = ["latest"]
        for path in reversed(runs.run_dirs(runs_dir)):
            found += [path.name, runs.run_name(path)]
        for path in reversed(runs.sweep_dirs(runs_dir)):
            found += [path.name, f"{path.name}:best"]
        return [c for c in dict.fromkeys(found) if c and c.startswith(incomplete)]
    return []


def complete_data(incomplete: str) -> list[str]:
    """Bundled dataset names, then files and folders whose path starts with `incomplete`."""
    from mlpcli.data import bundled_names

    found = []
    with contextlib.suppress(Exception):
        found += [name for name in bundled_names() if name.startswith(incomplete)]
    with contextlib.suppress(OSError):
        prefix, slash, _ = incomplete.rpartition("/")
        for path in sorted(Path(prefix + slash or ".").iterdir()):
            text = prefix + slash + path.name
            if text.startswith(incomplete) and not path.name.startswith("."):
                found.append(text + "/" if path.is_dir() else text)
    return found

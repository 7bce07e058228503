"""Reading data: a generated 1 000 000 × 20 CSV (and a variant with two text columns) read by
today's reader, by the new one, and from the parsed-data cache; and the peak memory of
`mlpcli train` on it. Every timing is a fresh child process (this file: `python reading.py
PATH MODE [CACHE_DIR]` prints the seconds of one `load_dataset` call as JSON).

The child calls `load_dataset(PATH, rng=np.random.default_rng(0), **kwargs)` with, by MODE:
`plain` — no cache argument (today's reader: the package on PYTHONPATH is then the code of
BASELINE_COMMIT, which has no cache); `nocache` — cache=None (the new code's first read);
`cache` — cache=DataCache(CACHE_DIR) (a warm cache once the bench has filled it).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from training import BenchError

ROOT = Path(__file__).resolve().parent.parent  # the checkout this script belongs to
DATA_DIR = Path(__file__).resolve().parent / ".data"  # generated CSVs, kept between runs
BASELINE_COMMIT = "f8d294f"  # main before issue 17: pandas' C parser, no cache

ROWS, QUICK_ROWS, TINY_ROWS = 1_000_000, 200_000, 200
FEATURES = 19  # numeric feature columns, then the 0/1 target: 20 columns
TEXT_COLUMNS = {"city": ("Lisbon", "Oslo", "Quito", "Hanoi", "Perth"),  # replace the last two
                "colour": ("red", "green", "blue")}  # numeric features in the "text" file
KINDS = ("numeric", "text")
GENERATOR_VERSION = 1  # in the file names: bump when the files' contents change
CHUNK_ROWS = 100_000

GOAL_FIRST_READ = 3.0  # today's reader ÷ the new first read, at least
GOAL_CACHE = 10.0  # the new first read ÷ a warm-cache read, at least
GOAL_MEMORY = 2.5  # (peak RSS − a tiny CSV's) ÷ the training arrays, at most


# --- the files ------------------------------------------------------------------------------

def make_csv(kind: str, rows: int) -> Path:
    """The generated CSV of `kind` with `rows` data rows, written once (atomically) into
    DATA_DIR and reused: 19 standard-normal features with 6 significant digits and a 0/1 target
    from a noisy linear rule (seeded); in "text", features 17 and 18 are replaced by a city
    (5 values) and a colour (3 values)."""
    path = DATA_DIR / f"{kind}-{rows}-v{GENERATOR_VERSION}.csv"
    if path.exists():
        return path
    DATA_DIR.mkdir(exist_ok=True)
    rng = np.random.default_rng(17)
    w = rng.standard_normal(FEATURES)
    names = [f"x{i}" for i in range(FEATURES)] + ["target"]
    fmt = ["%.6g"] * FEATURES + ["%d"]
    if kind == "text":
        names[FEATURES - 2 : FEATURES] = list(TEXT_COLUMNS)
        fmt[FEATURES - 2 : FEATURES] = ["%s", "%s"]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as f:
            f.write(",".join(names) + "\n")
            for start in range(0, rows, CHUNK_ROWS):
                n = min(CHUNK_ROWS, rows - start)
                X = rng.standard_normal((n, FEATURES))
                y = (X @ w + rng.standard_normal(n) > 0).astype(np.int64)
                words = [np.array(v)[rng.integers(0, len(v), n)] for v in TEXT_COLUMNS.values()]
                table = np.empty((n, FEATURES + 1), dtype=object)
                table[:, :FEATURES], table[:, FEATURES] = X, y
                if kind == "text":
                    table[:, FEATURES - 2], table[:, FEATURES - 1] = words
                np.savetxt(f, table, fmt=fmt, delimiter=",")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def extract_baseline(into: Path) -> tuple[Path | None, str | None]:
    """The mlpcli package of BASELINE_COMMIT, extracted from this checkout's git history into
    `into`: (the directory to put on PYTHONPATH, None), or (None, why not)."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE_COMMIT, "mlpcli"],
                                 capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        stderr = getattr(e, "stderr", b"") or b""
        return None, (f"today's reader skipped: no commit {BASELINE_COMMIT} to extract "
                      f"({stderr.decode(errors='replace').strip() or e})")
    return into, None


def has_cache() -> bool:
    """Whether the checkout's mlpcli has the parsed-data cache (mlpcli.data.cache)."""
    return importlib.util.find_spec("mlpcli.data.cache") is not None


# --- one timed read (in a child) -------------------------------------------------------------

def child_load(path: str, mode: str, cache_dir: str | None = None) -> None:
    """Time one `load_dataset` call (its imports done beforehand) and print it as JSON."""
    for module in ("pandas", "pyarrow", "pyarrow.csv"):  # a lazy import is not reading time
        with contextlib.suppress(ImportError):
            __import__(module)
    import mlpcli
    from mlpcli.data import load_dataset

    kwargs = {}
    if mode == "nocache":
        kwargs["cache"] = None
    elif mode == "cache":
        from mlpcli.data.cache import DataCache

        kwargs["cache"] = DataCache(Path(cache_dir))
    t0 = time.perf_counter()
    ds = load_dataset(path, rng=np.random.default_rng(0), **kwargs)
    seconds = time.perf_counter() - t0
    # one pass over every array, as the first epoch makes: a memory-mapped cache hit reads its
    # pages only now
    arrays = [a for a in (ds.X_train, ds.Y_train, ds.X_val, ds.Y_val, ds.X_test, ds.Y_test)
              if a is not None]
    t0 = time.perf_counter()
    for a in arrays:
        a.sum()
    pass_seconds = time.perf_counter() - t0
    parts = [a for a in (ds.X_train, ds.X_val, ds.X_test) if a is not None]
    print(json.dumps({"seconds": seconds, "pass_seconds": pass_seconds,
                      "package": str(Path(mlpcli.__file__).parent),
                      "rows": sum(len(a) for a in parts), "inputs": ds.X_train.shape[1],
                      "outputs": ds.Y_train.shape[1]}))


def timed_read(path: Path, mode: str, cache_dir: Path | None = None,
               baseline: Path | None = None) -> dict:
    """Run child_load in a fresh process: its JSON. `baseline`: the extracted old package,
    put first on PYTHONPATH (and checked to be the one imported)."""
    env = dict(os.environ)
    if baseline is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(baseline), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, __file__, str(path), mode, *([str(cache_dir)] if cache_dir else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise BenchError(f"reading {path.name} ({mode}) failed:\n{proc.stderr}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    if baseline is not None and Path(r["package"]) != baseline / "mlpcli":
        raise BenchError(f"today's reader: imported {r['package']}, not the extracted copy")
    return r


# --- the measurements ------------------------------------------------------------------------

def bench_reading(quick: bool, reps: int, say) -> dict:
    """Read times (median of `reps` interleaved children) and peak memory of `mlpcli train`;
    `say(text)` tells what runs."""
    rows = QUICK_ROWS if quick else ROWS
    say(f"reading: generating {rows}-row CSVs (once, kept in {DATA_DIR})")
    files = {kind: make_csv(kind, rows) for kind in KINDS}
    notes = []
    cache = has_cache()
    if not cache:
        notes.append("this checkout's mlpcli has no parsed-data cache (mlpcli.data.cache): the "
                     "new first read is load_dataset without a cache argument; cache rows skipped")
    with tempfile.TemporaryDirectory(prefix="mlpcli-bench-read-") as tmp:
        tmp = Path(tmp)
        (tmp / "baseline").mkdir()
        baseline, why = extract_baseline(tmp / "baseline")
        if why:
            notes.append(why)
        modes = {"today": baseline is not None, "first": True, "cached": cache}
        modes = [m for m, on in modes.items() if on]
        shape, fill = {}, {}
        if cache:
            say("reading: filling the cache")
            for kind, path in files.items():
                fill[kind] = timed_read(path, "cache", tmp / "cache")["seconds"]
        child_mode = {"today": "plain", "first": "nocache" if cache else "plain",
                      "cached": "cache"}
        times = {kind: {m: [] for m in modes} for kind in KINDS}
        passes = {kind: {m: [] for m in modes} for kind in KINDS}
        for rep in range(reps):  # interleaved: every rep reads every file every way once
            say(f"reading: rep {rep + 1} of {reps}")
            for kind, path in files.items():
                for mode in modes:
                    r = timed_read(path, child_mode[mode],
                                   tmp / "cache" if mode == "cached" else None,
                                   baseline if mode == "today" else None)
                    times[kind][mode].append(r["seconds"])
                    passes[kind][mode].append(r["pass_seconds"])
                    if mode == "first":
                        shape[kind] = {k: r[k] for k in ("rows", "inputs", "outputs")}
        say("reading: peak memory of mlpcli train")
        memory = bench_train_memory(files["numeric"], shape["numeric"], tmp, cache)
    seconds = {kind: {m: statistics.median(v) for m, v in t.items()} for kind, t in times.items()}
    pass_seconds = {kind: {m: statistics.median(v) for m, v in t.items()}
                    for kind, t in passes.items()}
    return {
        "rows": rows, "columns": FEATURES + 1, "reps": reps, "baseline_commit": BASELINE_COMMIT,
        "files": {kind: {"path": str(p), "mib": p.stat().st_size / 2**20, **shape[kind]}
                  for kind, p in files.items()},
        "seconds": seconds, "all_seconds": times, "cache_fill_seconds": fill,
        "pass_seconds": pass_seconds,
        "goals": reading_goals(seconds) + memory_goals(memory),
        "memory": memory, "notes": notes,
    }


def bench_train_memory(path: Path, shape: dict, tmp: Path, cache: bool) -> dict:
    """Peak RSS of `mlpcli train PATH --epochs 1 -q` per dtype: with a fresh cache directory
    (the first read), then again with it warm; less the peak of the same command on a tiny CSV
    (interpreter and imports), over the bytes of the training arrays."""
    from endtoend import mlpcli_command
    from memory import peak_rss_mib

    tiny = make_csv("numeric", TINY_ROWS)
    out = {}
    for dtype in ("float64", "float32"):
        cache_dir = tmp / f"train-cache-{dtype}"

        def peak(data: Path, cache_dir: Path = cache_dir, dtype: str = dtype) -> float:
            cmd = [*mlpcli_command(), "train", str(data), "--epochs", "1", "-q",
                   "--runs-dir", str(tmp / "runs"), "--dtype", dtype]
            return peak_rss_mib(cmd + (["--cache-dir", str(cache_dir)] if cache else []))

        itemsize = np.dtype(dtype).itemsize
        arrays = shape["rows"] * (shape["inputs"] + shape["outputs"]) * itemsize / 2**20
        baseline = peak(tiny, tmp / f"tiny-cache-{dtype}")
        r = {"arrays_mib": arrays, "baseline_mib": baseline, "peak_mib": {}, "per_arrays": {}}
        for when in ("first", "cached") if cache else ("first",):
            r["peak_mib"][when] = peak(path)  # the first call fills cache_dir
            r["per_arrays"][when] = (r["peak_mib"][when] - baseline) / arrays
        shutil.rmtree(tmp / "runs", ignore_errors=True)
        out[dtype] = r
    return out


def reading_goals(seconds: dict) -> list[dict]:
    goals = []
    for kind, s in seconds.items():
        if "today" in s:
            value = s["today"] / s["first"]
            goals.append({"name": f"reading {kind} first read", "value": value,
                          "goal": GOAL_FIRST_READ, "met": value >= GOAL_FIRST_READ})
        if "cached" in s:
            value = s["first"] / s["cached"]
            goals.append({"name": f"reading {kind} cache", "value": value,
                          "goal": GOAL_CACHE, "met": value >= GOAL_CACHE})
    return goals


def memory_goals(memory: dict) -> list[dict]:
    return [{"name": f"memory {dtype} {when}", "value": value, "goal": GOAL_MEMORY,
             "met": value <= GOAL_MEMORY, "at_most": True}
            for dtype, r in memory.items() for when, value in r["per_arrays"].items()]


if __name__ == "__main__":
    child_load(*sys.argv[1:])

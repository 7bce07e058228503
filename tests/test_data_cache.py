"""The parsed-data cache (mlpcli/data/cache.py): hits equal fresh parses, every change misses,
damaged entries are rebuilt, the size stays bounded, concurrent fills all succeed."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time

import numpy as np
import pytest

from mlpcli.data import load_dataset
from mlpcli.data.cache import DataCache, MappedArray, parse_size
from mlpcli.errors import ConfigError

ARRAYS = ("X_train", "Y_train", "X_val", "Y_val", "train_rows", "val_rows", "w_train", "w_val",
          "X_test", "Y_test", "test_rows")


def write_csv(path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    colour = rng.choice(["red", "green", "blue"], n)
    y = np.where(x[:, 0] + (colour == "red") > 0, "yes", "no")
    w = rng.integers(1, 4, n)
    lines = ["a,b,c,colour,w,y"] + [f"{r[0]:.6g},{r[1]:.6g},{r[2]:.6g},{k},{wi},{yi}"
                                     for r, k, wi, yi in zip(x, colour, w, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def load(path, cache, seed=0, **options):
    rng = np.random.default_rng(seed)
    data = load_dataset(path, rng=rng, cache=cache, **options)
    return data, rng.random()  # the generator's next draw: a hit must leave it as a miss does


def assert_same(a, b):
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and x.shape == y.shape, name
            assert np.array_equal(x, y) and np.array_equal(np.signbit(x), np.signbit(y)), name
    assert a.preprocessor.to_dict() == b.preprocessor.to_dict()
    assert (a.warnings, a.n_rows, a.n_columns, a.val_frac, a.n_dropped, a.sha256) == \
           (b.warnings, b.n_rows, b.n_columns, b.val_frac, b.n_dropped, b.sha256)


@pytest.fixture
def cache(tmp_path):
    return DataCache(tmp_path / "cache", min_bytes=0)


@pytest.mark.parametrize("options", [
    {},
    {"test_frac": 0.2, "sample_weight": "w"},
    {"target": "a", "drop_columns": ["y"], "dtype": np.float32},
    {"val_frac": 0.0, "standardize": False},
])
def test_a_hit_returns_the_arrays_of_a_fresh_parse(tmp_path, cache, options):
    path = write_csv(tmp_path / "d.csv")
    fresh, draw = load(path, None, **options)
    first, draw1 = load(path, cache, **options)  # miss: parsed, then stored
    hit, draw2 = load(path, cache, **options)
    assert isinstance(hit.X_train, np.memmap) and not hit.X_train.flags.writeable
    assert_same(fresh, first)
    assert_same(fresh, hit)
    assert draw == draw1 == draw2
    assert len(cache.entries()) == 1


def test_evaluate_finds_the_entry_with_the_validation_fraction_made_explicit(tmp_path, cache):
    path = write_csv(tmp_path / "d.csv")
    default, _ = load(path, cache)  # --val-frac not given: 0.2 for 300 rows
    hits = []
    cache_load = cache.load
    cache.load = lambda key: hits.append(cache_load(key)) or hits[-1]
    explicit, _ = load(path, cache, val_frac=default.val_frac)
    assert hits[-1] is not None
    assert_same(default, explicit)


def test_one_changed_byte_misses_even_with_the_old_size_and_times(tmp_path, cache):
    path = write_csv(tmp_path / "d.csv")
    before, _ = load(path, cache)
    st = path.stat()
    raw = bytearray(path.read_bytes())
    i = raw.index(b"\n") + 1  # the first digit of row 1's first cell
    while not chr(raw[i]).isdigit():
        i += 1
    raw[i] = ord("7") if raw[i] != ord("7") else ord("3")
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # the same size and mtime as before
    after, _ = load(path, cache)
    fresh, _ = load(path, None)
    assert_same(after, fresh)
    assert after.sha256 != before.sha256
    assert len(cache.entries()) == 2


@pytest.mark.parametrize("change", [
    {"target": "c"}, {"features": ["a", "b"]}, {"drop_columns": ["colour"]},
    {"standardize": False}, {"dtype": np.float32}, {"val_frac": 0.5}, {"seed": 1},
    {"test_frac": 0.1}, {"task": "classification", "target": "w"}, {"loss": "ce"},
    {"sample_weight": "w"},
])
def test_an_option_that_changes_the_arrays_misses(tmp_path, cache, change):
    path = write_csv(tmp_path / "d.csv")
    load(path, cache)
    changed, _ = load(path, cache, **change)
    fresh, _ = load(path, None, **change)
    assert_same(changed, fresh)
    assert len(cache.entries()) == 2


def test_the_same_bytes_under_another_name_hit(tmp_path, cache):
    a = write_csv(tmp_path / "a.csv")
    b = tmp_path / "b.csv"
    b.write_bytes(a.read_bytes())
    load(a, cache)
    hit, _ = load(b, cache)
    assert len(cache.entries()) == 1 and hit.path == b


@pytest.mark.parametrize("damage", ["truncate", "garbage", "meta", "format", "missing"])
def test_a_damaged_entry_is_ignored_and_rebuilt(tmp_path, cache, damage):
    path = write_csv(tmp_path / "d.csv")
    fresh, _ = load(path, None)
    load(path, cache)
    (entry,) = cache.entries()
    x = entry.path / "X_train.npy"
    if damage == "truncate":
        x.write_bytes(x.read_bytes()[:-100])
    elif damage == "garbage":
        x.write_bytes(os.urandom(x.stat().st_size))
    elif damage == "meta":
        (entry.path / "meta.json").write_text("{not json")
    elif damage == "format":
        meta = json.loads((entry.path / "meta.json").read_text())
        (entry.path / "meta.json").write_text(json.dumps({**meta, "format": 999}))
    else:
        x.unlink()
    again, _ = load(path, cache)
    assert_same(again, fresh)
    rebuilt, _ = load(path, cache)  # …and stored again: a hit now
    assert isinstance(rebuilt.X_train, np.memmap)
    assert_same(rebuilt, fresh)


def test_least_recently_used_entries_are_evicted_beyond_the_limit(tmp_path):
    paths = [write_csv(tmp_path / f"d{i}.csv", seed=i) for i in range(3)]
    probe = DataCache(tmp_path / "probe", min_bytes=0)
    load(paths[0], probe)
    size = probe.entries()[0].bytes
    cache = DataCache(tmp_path / "cache", limit=int(2.5 * size), min_bytes=0)
    load(paths[0], cache)
    time.sleep(0.02)
    load(paths[1], cache)
    time.sleep(0.02)
    load(paths[0], cache)  # used again: now paths[1]'s entry is the least recently used
    time.sleep(0.02)
    load(paths[2], cache)
    sources = sorted(os.path.basename(e.meta["source"]) for e in cache.entries())
    assert sources == ["d0.csv", "d2.csv"]
    assert sum(e.bytes for e in cache.entries()) <= cache.limit


def test_two_processes_filling_the_same_entry_both_succeed(tmp_path):
    path = write_csv(tmp_path / "d.csv", n=20_000)
    root = tmp_path / "cache"
    script = (
        "import sys, numpy as np\n"
        "from mlpcli.data import load_dataset\n"
        "from mlpcli.data.cache import DataCache\n"
        "d = load_dataset(sys.argv[1], rng=np.random.default_rng(0),"
        " cache=DataCache(sys.argv[2], min_bytes=0))\n"
        "print(float(d.X_train.sum()), float(d.X_val.sum()))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), str(root)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert outs[0][0] == outs[1][0]
    cache = DataCache(root, min_bytes=0)
    assert len(cache.entries()) == 1
    assert not list((root / "tmp").iterdir())  # the loser's temporary entry is gone
    hit, _ = load(path, cache)
    fresh, _ = load(path, None)
    assert_same(hit, fresh)


def test_a_files_hash_is_remembered_until_it_changes(tmp_path, cache, monkeypatch):
    path = write_csv(tmp_path / "d.csv")
    old = time.time() - 60
    os.utime(path, (old, old))  # not modified just now (else the hash is not trusted yet)
    calls = []
    digest = "0" * 64

    def compute():
        calls.append(1)
        return digest

    assert cache.content_sha256(path, compute) == digest
    assert cache.content_sha256(path, compute) == digest
    assert len(calls) == 1
    path.write_text(path.read_text() + "\n")  # changed: hashed again
    cache.content_sha256(path, compute)
    assert len(calls) == 2


def test_a_hash_taken_just_after_a_change_is_not_trusted(tmp_path, cache):
    path = write_csv(tmp_path / "d.csv")  # modified now: a change within the same clock tick
    calls = []                            # could leave its times unchanged

    def compute():
        calls.append(1)
        return "1" * 64

    cache.content_sha256(path, compute)
    cache.content_sha256(path, compute)
    assert len(calls) == 2


def test_small_files_and_pipes_are_not_cached(tmp_path):
    path = write_csv(tmp_path / "d.csv")
    cache = DataCache(tmp_path / "cache")  # the default: files of at least 1 MiB
    load(path, cache)
    assert cache.entries() == []
    assert not cache.accepts(tmp_path)  # a directory


def test_cached_arrays_go_to_worker_processes_by_file_name(tmp_path, cache):
    from mlpcli.sweep.trial import TrialData

    path = write_csv(tmp_path / "d.csv", n=5000)
    load(path, cache, val_frac=0.0)
    data, _ = load(path, cache, val_frac=0.0)
    shared = TrialData(X=data.X_train, Y=data.Y_train, rows=data.train_rows, pre={},
                       dataset={})
    sent = shared.by_reference()
    assert isinstance(sent.X, MappedArray) and isinstance(sent.Y, MappedArray)
    assert len(pickle.dumps(sent)) < 2000 < data.X_train.nbytes
    back = pickle.loads(pickle.dumps(sent)).resolved()
    assert isinstance(back.X, np.memmap) and np.array_equal(back.X, data.X_train)
    fresh = TrialData(X=np.array(data.X_train), Y=data.Y_train, rows=data.train_rows, pre={},
                      dataset={})
    assert isinstance(fresh.by_reference().X, np.ndarray)  # not from the cache: sent whole


def test_sizes_parse_and_bad_sizes_are_config_errors():
    assert parse_size("2G") == 2 << 30
    assert parse_size("500M") == 500 << 20
    assert parse_size("1.5KiB") == 1536
    assert parse_size("123") == 123
    for bad in ("", "lots", "-1G", "inf"):
        with pytest.raises(ConfigError, match="must be a size such as 2G"):
            parse_size(bad)


# --- the command line -----------------------------------------------------------------------------

def test_train_fills_the_cache_and_the_second_run_is_identical(cli, tmp_path):
    path = write_csv(tmp_path / "d.csv", n=2000)
    cache_dir = tmp_path / "c"
    first = cli("train", str(path), "--epochs", "3", "--cache-dir", str(cache_dir), "-q")
    assert first.code == 0, first.err
    assert len(DataCache(cache_dir).entries()) == 1
    second = cli("train", str(path), "--epochs", "3", "--cache-dir", str(cache_dir), "-q")
    assert second.code == 0, second.err
    runs = sorted((tmp_path / "runs").iterdir())
    w = [np.load(r / "weights.npz") for r in runs]
    assert all(np.array_equal(w[0][k], w[1][k]) for k in w[0].files)
    info = cli("cache", "info", "--cache-dir", str(cache_dir), "--json")
    summary = json.loads(info.out)
    assert summary["entries"] == 1 and summary["items"][0]["source"] == str(path)
    assert summary["items"][0]["shapes"]["X_train"][0] == [1600, 7]
    text = cli("cache", "info", "--cache-dir", str(cache_dir))
    assert "1 entry" in text.out and "d.csv" in text.out and "1,600 × 7" in text.out
    cleared = cli("cache", "clear", "--cache-dir", str(cache_dir))
    assert cleared.code == 0 and "removed 1 entry" in cleared.out
    assert json.loads(cli("cache", "info", "--cache-dir", str(cache_dir), "--json").out)[
        "entries"] == 0


def test_no_cache_neither_reads_nor_writes(cli, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "d.csv")
    cache_dir = tmp_path / "c"
    monkeypatch.setenv("MLPCLI_CACHE_DIR", str(cache_dir))
    result = cli("train", str(path), "--epochs", "1", "--no-cache", "-q")
    assert result.code == 0, result.err
    assert not (cache_dir / "datasets").exists()


def test_a_bad_cache_limit_is_one_line_and_exit_2(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MLPCLI_CACHE_LIMIT", "lots")
    result = cli("train", str(write_csv(tmp_path / "d.csv")), "--epochs", "1")
    assert result.code == 2
    assert "MLPCLI_CACHE_LIMIT must be a size such as 2G or 500M, got 'lots'" in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("split", ["val", "test", "train", "all"])
def test_evaluate_on_the_training_file_takes_its_rows_without_parsing_and_scores_as_parsing(
        cli, tmp_path, monkeypatch, split):
    from mlpcli.runs import inference

    path = write_csv(tmp_path / "d.csv", n=400)
    cache_dir = str(tmp_path / "c")
    trained = cli("train", str(path), "--epochs", "2", "--test-frac", "0.2", "-q",
                  "--cache-dir", cache_dir)
    assert trained.code == 0, trained.err

    def no_parsing(*args, **kwargs):
        raise AssertionError("evaluate parsed the run's training file")

    with monkeypatch.context() as m:  # the run's own file: its rows come from the Dataset
        m.setattr(inference, "read_csv", no_parsing)
        held = cli("evaluate", "latest", str(path), "--split", split, "--json",
                   "--cache-dir", cache_dir)
    real = inference._scored_rows  # the other way: parse the file, transform the split's rows
    monkeypatch.setattr(inference, "_scored_rows", lambda *a: (*real(*a)[:3], None))
    parsed = cli("evaluate", "latest", str(path), "--split", split, "--json", "--no-cache")
    assert held.code == parsed.code == 0, held.err + parsed.err
    assert json.loads(held.out) == json.loads(parsed.out)
    rows = {"val": 64, "test": 80, "train": 256, "all": 400}[split]
    assert json.loads(held.out)["rows"] == rows


def test_a_cache_that_cannot_be_written_is_skipped_and_the_run_goes_on(cli, tmp_path):
    path = write_csv(tmp_path / "d.csv")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be\n")
    first = cli("train", str(path), "--epochs", "2", "-q", "--cache-dir", str(blocker))
    second = cli("train", str(path), "--epochs", "2", "-q", "--cache-dir", str(blocker))
    assert first.code == second.code == 0, first.err + second.err
    assert blocker.read_text().startswith("a file")
    info = cli("cache", "info", "--cache-dir", str(blocker), "--json")
    assert info.code == 0 and json.loads(info.out)["entries"] == 0

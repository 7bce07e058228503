"""The parsed-data cache: a CSV's training arrays, kept so the next run on it skips parsing.

    <root>/datasets/<key>/meta.json   what the entry is (format, key, source, arrays' shapes)
                         /<name>.npy  each array, memory-mapped read-only when used
    <root>/hashes/<id>.json           a file's sha256, remembered with its size and times

An entry's key is a sha256 of the CSV's content hash and of every option that changes the arrays
(the caller's `fields`), with this module's FORMAT and mlpcli's version. So an edited file, or
another --target, is a miss; the same bytes under another name are a hit. Hashing a large file
takes a while, so a file's hash is remembered with its device, inode, size and modification and
change times, and trusted while all of them are unchanged (and the file was not modified within
RACY_SECONDS of being hashed: such a change could leave its times unchanged).

Entries are written into a temporary directory and renamed into place, so a reader sees a whole
entry or none; two processes filling the same entry both succeed (the second rename finds the
first's entry and discards its own). An entry that cannot be read back as described — truncated,
garbage, another format — is a miss, removed and rebuilt. After each store the least recently
used entries are removed until the total is within the limit (default 2 GiB).

The cache is on by default under $XDG_CACHE_HOME/mlpcli (~/.cache/mlpcli); MLPCLI_CACHE_DIR
moves it (what --cache-dir sets), MLPCLI_NO_CACHE=1 turns it off (--no-cache), and
MLPCLI_CACHE_LIMIT bounds it ("500M", "4G"; bytes without a suffix). Files smaller than
MLPCLI_CACHE_MIN_BYTES (default 1M) are not cached: they parse faster than an entry is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpcli import __version__
from mlpcli.errors import ConfigError

FORMAT = 1  # bump when an entry's layout or meaning changes
DEFAULT_LIMIT = 2 << 30  # bytes
MIN_BYTES = 1 << 20  # smaller files are parsed in less time than an entry takes to write
RACY_SECONDS = 2.0  # a hash is trusted only for files last modified this long before hashing
STALE_SECONDS = 3600  # a temporary entry this old was left by a process that died
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def default_root() -> Path:
    """$MLPCLI_CACHE_DIR, else $XDG_CACHE_HOME/mlpcli, else ~/.cache/mlpcli."""
    if os.environ.get("MLPCLI_CACHE_DIR"):
        return Path(os.environ["MLPCLI_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlpcli"


def enabled() -> bool:
    """False when MLPCLI_NO_CACHE is set (to anything but 0)."""
    return os.environ.get("MLPCLI_NO_CACHE", "") in ("", "0")


def parse_size(text: str, name: str = "MLPCLI_CACHE_LIMIT") -> int:
    """Bytes from "2G", "500M", "64K" or a plain number; ConfigError otherwise."""
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = value[-1:] if value[-1:] in _UNITS else ""
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        number = -1.0
    if not number >= 0 or number == float("inf"):
        raise ConfigError(f"{name} must be a size such as 2G or 500M, got {text!r}")
    return int(number * _UNITS[unit])


@dataclass
class Entry:
    key: str
    path: Path
    bytes: int
    last_used: float
    meta: dict


class DataCache:
    """The cache under `root` (see the module docstring)."""

    def __init__(self, root: str | Path, limit: int = DEFAULT_LIMIT, min_bytes: int = MIN_BYTES):
        self.root, self.limit, self.min_bytes = Path(root), limit, min_bytes

    @classmethod
    def configured(cls) -> DataCache:
        """The cache at the place and with the limit the environment gives."""
        limit = os.environ.get("MLPCLI_CACHE_LIMIT")
        smallest = os.environ.get("MLPCLI_CACHE_MIN_BYTES")
        return cls(default_root(), DEFAULT_LIMIT if not limit else parse_size(limit),
                   MIN_BYTES if not smallest else parse_size(smallest, "MLPCLI_CACHE_MIN_BYTES"))

    @classmethod
    def from_env(cls) -> DataCache | None:
        """The configured cache, or None when MLPCLI_NO_CACHE turns it off."""
        return cls.configured() if enabled() else None

    @property
    def entries_dir(self) -> Path:
        return self.root / "datasets"

    # --- keys -----------------------------------------------------------------------------------

    def accepts(self, path: Path) -> bool:
        """True for a regular file of at least min_bytes (a pipe is read once, then gone)."""
        try:
            st = path.stat()
        except OSError:
            return False
        return path.is_file() and st.st_size >= self.min_bytes

    @staticmethod
    def key(fields: dict) -> str:
        """The entry key of `fields` (JSON-able: the content hash and the array options)."""
        text = json.dumps({"format": FORMAT, "mlpcli": __version__, **fields}, sort_keys=True,
                          default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def content_sha256(self, path: Path, compute) -> str:
        """The file's sha256: remembered (see the module docstring), else `compute()`."""
        path = Path(path).resolve()
        memo = self.root / "hashes" / f"{hashlib.sha256(str(path).encode()).hexdigest()}.json"
        stamp = _stamp(path)
        try:
            record = json.loads(memo.read_text())
            if (record["stamp"] == stamp and record["path"] == str(path)
                    and stamp[3] / 1e9 < record["hashed_at"] - RACY_SECONDS):
                return record["sha256"]
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            pass
        hashed_at = time.time()
        digest = compute()
        try:
            if _stamp(path) == stamp:  # unchanged while it was hashed
                _write_json(memo, {"path": str(path), "stamp": stamp, "sha256": digest,
                                   "hashed_at": hashed_at})
        except OSError:  # a cache that cannot be written: hashed again next time
            pass
        return digest

    # --- entries ------------------------------------------------------------------------------

    def load(self, key: str) -> tuple[dict, dict] | None:
        """(arrays by name, memory-mapped read-only; meta) of the entry, or None (a damaged
        entry is removed)."""
        path = self.entries_dir / key
        try:
            meta = json.loads((path / "meta.json").read_text())
            if meta.get("format") != FORMAT or meta.get("key") != path.resolve().name:
                raise ValueError("another format or key")
            arrays = {}
            for name, (shape, dtype) in meta["arrays"].items():
                a = np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                if list(a.shape) != shape or a.dtype.str != dtype:
                    raise ValueError(f"{name}.npy is not the array meta.json describes")
                arrays[name] = a
        except FileNotFoundError:
            if path.exists():
                _remove(path)
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            _remove(path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path / "meta.json")  # last used, for eviction
        return arrays, meta

    def store(self, key: str, arrays: dict, meta: dict, alias: str | None = None) -> None:
        """Write an entry (arrays: name -> ndarray, None ones left out), also found under
        `alias` (another key meaning the same arrays, e.g. with a default made explicit); never
        raises for a full disk or an unwritable directory — the run goes on without the cache."""
        arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items() if a is not None}
        size = sum(a.nbytes for a in arrays.values())
        if size > self.limit:
            return
        meta = {**meta, "format": FORMAT, "key": key,
                "arrays": {n: [list(a.shape), a.dtype.str] for n, a in arrays.items()}}
        tmp = self.root / "tmp" / f"{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir(parents=True)
            for name, a in arrays.items():
                np.save(tmp / f"{name}.npy", a, allow_pickle=False)
            _write_json(tmp / "meta.json", meta)
            self.entries_dir.mkdir(parents=True, exist_ok=True)
            try:
                tmp.rename(self.entries_dir / key)
            except OSError:  # another process stored it first: theirs is the same
                _remove(tmp)
            if alias is not None and alias != key:
                with contextlib.suppress(FileExistsError):
                    (self.entries_dir / alias).symlink_to(key, target_is_directory=True)
            self.evict()
        except OSError:
            _remove(tmp)

    def entries(self) -> list[Entry]:
        """Every entry, least recently used first."""
        out = []
        for path in self.entries_dir.glob("*") if self.entries_dir.is_dir() else []:
            if path.is_symlink():  # an alias: counted with its entry, removed when it is gone
                if not path.exists():
                    path.unlink(missing_ok=True)
                continue
            try:
                meta = json.loads((path / "meta.json").read_text())
                used = (path / "meta.json").stat().st_mtime
            except (OSError, ValueError):
                meta, used = {}, 0.0
            size = sum(f.stat().st_size for f in path.glob("*") if f.is_file())
            out.append(Entry(path.name, path, size, used, meta))
        return sorted(out, key=lambda e: e.last_used)

    def evict(self) -> list[Entry]:
        """Remove least recently used entries until the total is within the limit, and
        temporary entries of processes that died; the entries removed."""
        entries, removed = self.entries(), []
        total = sum(e.bytes for e in entries)
        for entry in entries:
            if total <= self.limit:
                break
            _remove(entry.path)
            total -= entry.bytes
            removed.append(entry)
        tmp = self.root / "tmp"
        for path in tmp.glob("*") if tmp.is_dir() else []:
            try:
                if time.time() - path.stat().st_mtime > STALE_SECONDS:
                    _remove(path)
            except OSError:
                pass
        return removed

    def clear(self) -> tuple[int, int]:
        """Remove everything; (entries, bytes) removed."""
        entries = self.entries()
        for name in ("datasets", "hashes", "tmp"):
            _remove(self.root / name)
        return len(entries), sum(e.bytes for e in entries)


# --- sharing cached arrays between processes --------------------------------------------------

@dataclass(frozen=True)
class MappedArray:
    """A cached array passed to another process on this machine by its file name, so that
    the processes share one copy of it (the page cache) instead of each holding its own."""

    path: str

    def open(self) -> np.ndarray:
        return np.load(self.path, mmap_mode="r", allow_pickle=False)


def by_reference(a):
    """A whole memory-mapped cache array as a MappedArray; anything else as it is."""
    if isinstance(a, np.memmap) and isinstance(a.base, mmap.mmap) and a.filename:
        return MappedArray(a.filename)
    return a


def resolve(a):
    """The array a MappedArray names, opened; anything else as it is."""
    return a.open() if isinstance(a, MappedArray) else a


# --- helpers ------------------------------------------------------------------------------------

def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_text(json.dumps(data))
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

"""Files mlpcli owns: written whole or not at all, read back without trusting them.

Every file is written to a temporary name, flushed, fsynced and renamed over its target, so a
reader (or a crash) sees the old file or the new one, never a mix. JSON and npz readers turn
every missing or damaged file into an error that names it; npz files are never unpickled.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from mlpcli.errors import ConfigError, RunError


# --- writing files safely ---------------------------------------------------------------------

def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees the old file or the new one, never a mix."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # disk full, Ctrl-C in a library caller, …: leave no temporary file
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (best effort: not every platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: Path, obj) -> None:
    write_atomic(path, (json.dumps(_jsonable(obj), indent=2) + "\n").encode())


def save_npz(path: Path, arrays: dict) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_atomic(path, buf.getvalue())


def _jsonable(obj):
    """JSON-native copy: numpy scalars to Python, non-finite floats to None, tuples to lists."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


# --- reading files carefully ------------------------------------------------------------------

def read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except FileNotFoundError:
        raise RunError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"{path}: damaged JSON ({e})") from None
    except OSError as e:
        raise RunError(f"{path}: cannot read ({e.strerror})") from None
    if not isinstance(value, dict):
        raise RunError(f"{path}: damaged JSON (expected an object)")
    return value


def load_npz(path, what: str = "weights") -> dict[str, np.ndarray]:
    """Arrays from an .npz file, never unpickling; ConfigError for a bad --init, else RunError."""
    path = Path(path)
    error = ConfigError if what == "--init" else RunError
    if not path.exists():
        raise error(f"{what} file {path} does not exist")
    if path.is_dir():
        raise error(f"{what} file {path} is a directory, not an .npz file")
    if not zipfile.is_zipfile(path):  # an .npz is a zip archive of .npy arrays
        with open(path, "rb") as f:
            single_array = f.read(6) == b"\x93NUMPY"
        kind = "a single .npy array" if single_array else "not an .npz file"
        raise error(f"{what} file {path} is {kind}; expected an .npz archive of arrays "
                    f"W1 b1 W2 b2 … (like a run's weights.npz)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise error(f"{what} file {path} holds object arrays; only plain numeric arrays "
                        f"are accepted (it is never unpickled)") from None
        raise error(f"{what} file {path} is not a valid .npz file ({e})") from None
    except (OSError, EOFError) as e:
        raise error(f"{what} file {path} is not a valid .npz file ({e})") from None
    except Exception as e:  # zipfile.BadZipFile and friends from a truncated file
        raise error(f"{what} file {path} is damaged or not an .npz file "
                    f"({type(e).__name__}: {e})") from None

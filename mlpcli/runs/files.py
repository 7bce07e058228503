"""Files mlpcli owns, files a user names, and reading both back without trusting them.

Files inside a run directory are written to a temporary name, flushed, fsynced and renamed over
their target, so a reader (or a crash) sees the old file or the new one, never a mix. A path the
user names (--out, --csv, --plot) is written *through* instead: see `write_user_file`. JSON and
npz readers accept regular files only, read a bounded number of bytes, and turn every missing or
damaged file into an error that names it; npz files are never unpickled.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import stat
import sys
import zipfile
from pathlib import Path

import numpy as np

from mlpcli.errors import ConfigError, RunError

JSON_MAX_BYTES = 64 * 2**20  # config/model/summary JSON are kilobytes; model.json with many
                             # categories a few megabytes
NPZ_MAX_BYTES = 16 * 2**30  # weights beyond this would not fit the memory of a laptop either


def os_error_reason(e: OSError) -> str:
    """A short, user-facing reason for an OSError: 'disk full', 'permission denied', …"""
    reasons = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EROFS: "read-only file system", errno.ENOENT: "no such file or directory",
               errno.EISDIR: "is a directory", errno.ENOTDIR: "a parent is not a directory",
               errno.EFBIG: "file too large"}
    return reasons.get(e.errno, e.strerror or type(e).__name__)


# --- writing files safely ---------------------------------------------------------------------

def write_atomic(path: Path, data: bytes, like: os.stat_result | None = None) -> None:
    """Write `data` to `path` so that a reader sees the old file or the new one, never a mix.

    `like`: the stat of the file being replaced, whose mode (e.g. 600) and, where allowed,
    owner the new file keeps."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if like is not None:
                os.fchmod(f.fileno(), stat.S_IMODE(like.st_mode))
                if (like.st_uid, like.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(PermissionError):
                        os.fchown(f.fileno(), like.st_uid, like.st_gid)
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


def remove_stale_temporaries(directory: Path) -> list[str]:
    """Delete `.NAME.PID.tmp` files left by writers that died (kill -9 mid-write).

    Only for a directory this process is about to write (it holds the run's lock), never from a
    reader; a temporary of a live process is left alone."""
    removed = []
    for tmp in Path(directory).glob(".*.tmp"):
        pid = tmp.name[:-len(".tmp")].rpartition(".")[2]
        if not pid.isdigit() or _pid_alive(int(pid)):
            continue
        try:
            tmp.unlink()
            removed.append(tmp.name)
        except OSError:
            pass
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


# --- writing a file the user named ------------------------------------------------------------

def write_user_file(path, data: bytes, flag: str) -> None:
    """Write `data` to a path the user gave with `flag`, respecting what that path is.

    - `-`: standard output.
    - a device or FIFO (/dev/null, /dev/full, a named pipe): written through, never replaced.
    - a symlink: its target is written; the link stays.
    - an existing regular file with other hard links: rewritten in place, so every link sees it.
    - otherwise (a new file, or an existing one with one link): replaced atomically, keeping
      the existing file's mode and owner, so a failure (disk full) leaves the old contents.
    Every failure is a ConfigError naming `flag`, the path and the reason ('disk full', …).
    """
    if str(path) == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(path)
    target = Path(os.path.realpath(path))  # through symlinks, to the file they name
    try:
        try:
            st = os.stat(target)
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if st is None and not target.parent.is_dir():
            raise ConfigError(f"{flag} {path}: directory {target.parent} does not exist")
        if st is not None and not stat.S_ISREG(st.st_mode):
            _write_fd(os.open(target, os.O_WRONLY), data)  # device, FIFO: through, as is
        elif st is not None and st.st_nlink > 1:
            _write_fd(os.open(target, os.O_WRONLY | os.O_TRUNC), data)  # keep the hard links
        else:
            write_atomic(target, data, like=st)
    except OSError as e:
        raise ConfigError(f"{flag} {path}: cannot write ({os_error_reason(e)})") from None


def _write_fd(fd: int, data: bytes) -> None:
    with open(fd, "wb", closefd=True) as f:
        f.write(data)
        f.flush()  # /dev/full reports ENOSPC here, not at write()


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

def read_bounded(path: Path, limit: int, error=RunError) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; `error` naming it otherwise.

    A FIFO or device (/dev/zero) is refused before it is read, so nothing hangs or reads
    without end."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO: no hang
    except FileNotFoundError:
        raise error(f"{path}: missing") from None
    except OSError as e:
        raise error(f"{path}: cannot read ({os_error_reason(e)})") from None
    with open(fd, "rb", closefd=True) as f:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise error(f"{path}: is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{path}: not a regular file (a device, pipe or socket); "
                        f"give a file")
        if st.st_size > limit:
            raise error(f"{path}: too large ({st.st_size} bytes; at most {limit} expected)")
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise error(f"{path}: cannot read ({os_error_reason(e)})") from None
    if len(data) > limit:
        raise error(f"{path}: too large (more than {limit} bytes)")
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def read_json(path: Path, error=RunError, limit: int = JSON_MAX_BYTES) -> dict:
    """A JSON object from a regular file (bounded size; NaN/Infinity and deep nesting refused)."""
    data = read_bounded(path, limit, error)
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as e:
        raise error(f"{path}: damaged JSON ({e})") from None
    except RecursionError:
        raise error(f"{path}: damaged JSON (nested too deeply)") from None
    if not isinstance(value, dict):
        raise error(f"{path}: damaged JSON (expected an object)")
    return value


def load_npz(path, what: str = "weights", limit: int = NPZ_MAX_BYTES) -> dict[str, np.ndarray]:
    """Arrays from an .npz file, never unpickling; ConfigError for a bad --init, else RunError.

    Only a regular file is opened (a FIFO or /dev/zero is refused before reading), and arrays
    whose total size exceeds `limit` bytes are refused before they are decompressed."""
    path = Path(path)
    error = ConfigError if what == "--init" else RunError
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise error(f"{what} file {path} does not exist") from None
    except IsADirectoryError:
        raise error(f"{what} file {path} is a directory, not an .npz file") from None
    except OSError as e:
        raise error(f"{what} file {path}: cannot read ({os_error_reason(e)})") from None
    with open(fd, "rb", closefd=True) as f:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise error(f"{what} file {path} is a directory, not an .npz file")
        if not stat.S_ISREG(mode):
            raise error(f"{what} file {path} is not a regular file (a device, pipe or "
                        f"socket); give an .npz file")
        try:
            return _read_npz(f, path, what, error, limit)
        except OSError as e:
            raise error(f"{what} file {path}: cannot read ({os_error_reason(e)})") from None


def _read_npz(f, path: Path, what: str, error, limit: int) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(f):  # an .npz is a zip archive of .npy arrays
        f.seek(0)
        kind = "a single .npy array" if f.read(6) == b"\x93NUMPY" else "not an .npz file"
        raise error(f"{what} file {path} is {kind}; expected an .npz archive of arrays "
                    f"W1 b1 W2 b2 … (like a run's weights.npz)")
    f.seek(0)
    try:
        with zipfile.ZipFile(f) as z:
            size = sum(info.file_size for info in z.infolist())
        if size > limit:
            raise error(f"{what} file {path} holds {size} bytes of arrays, more than the "
                        f"{limit} expected")
        f.seek(0)
        with np.load(f, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise error(f"{what} file {path} holds object arrays; only plain numeric arrays "
                        f"are accepted (it is never unpickled)") from None
        raise error(f"{what} file {path} is not a valid .npz file ({e})") from None
    except EOFError as e:
        raise error(f"{what} file {path} is not a valid .npz file ({e})") from None
    except (OSError, error):
        raise
    except Exception as e:  # zipfile.BadZipFile and friends from a truncated file
        raise error(f"{what} file {path} is damaged or not an .npz file "
                    f"({type(e).__name__}: {e})") from None

"""The run lock: one trainer per run directory, and the truth about "running".

A process that trains in a run directory holds an exclusive `flock` on the directory itself from
before it writes anything until it has written its last file. The kernel releases the lock when
the process ends, however it ends (kill -9 included), so:

- a second trainer (`--resume` of a run that is training) is refused, naming the holder;
- a run whose summary says `running` is running exactly while its lock is held; otherwise it
  crashed, whatever became of its pid or of the host's name.

The directory is locked rather than a lock file inside it so that taking the lock, and failing
to, changes nothing in the run (a refused resume leaves it byte-for-byte as it was) and no lock
file can be deleted from under its holder. The holder is named from summary.json's pid and
host, which the trainer writes right after taking the lock; they describe, the lock decides.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from mlpcli.errors import RunError
from mlpcli.runs.files import os_error_reason, read_json

_RETRY_SECONDS = 0.25  # a reader's probe holds a shared lock for microseconds: wait it out


class RunLock:
    """The exclusive lock on one run directory, held by this process until `release()`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise RunError naming the process that holds it."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as e:
            raise RunError(f"{self.path}: cannot open the run ({os_error_reason(e)})") \
                from None
        deadline = time.monotonic() + _RETRY_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
                os.close(fd)
                raise RunError(f"{self.path} is still training ({_holder(self.path)}); wait "
                               f"for it to end before resuming") from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked(path: Path) -> bool:
    """Whether a process is training in run `path` now.

    Reads only: probes the directory with a non-blocking shared flock, released at once."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:  # a file system without locks: nothing can be shown to train there
        return False
    finally:
        os.close(fd)  # also releases the probe's shared lock
    return False


def _holder(path: Path) -> str:
    try:
        summary = read_json(path / "summary.json")
    except RunError:
        summary = {}
    pid, host = summary.get("pid"), summary.get("host")
    if not isinstance(pid, int):
        return "by another process"
    where = f" on {host}" if isinstance(host, str) else ""
    return f"process {pid}{where}; stop it with kill -INT {pid}"

"""Paths the user names (predict --out, runs list --csv, runs compare --plot, datasets make
--out) are written *through*: devices stay devices, FIFOs are written to, symlinks and hard links
are kept, a file keeps its mode, and every failure is one line with exit status 2.

Real special files and real processes. As root, the devices are fresh nodes of /dev/null and
/dev/full made in the test's directory, so that a regression (replacing the path by a regular
file) cannot destroy the machine's own /dev/null; other users cannot replace /dev's entries,
so for them the real ones are used."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX special files")

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


def mlpcli(cwd: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlpcli", *map(str, args)], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=120)


def one_line_error(r: subprocess.CompletedProcess, *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "wrote" not in r.stderr and "saved" not in r.stdout


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A directory with two finished xor runs."""
    work = tmp_path_factory.mktemp("outputs")
    for seed in (0, 1):
        r = mlpcli(work, "train", "xor", "--epochs", "20", "--seed", seed, "-q")
        assert r.returncode == 0, r.stderr
    return work


def device(work: Path, name: str, minor: int) -> Path:
    """A character device like /dev/<name> (same major/minor), made in `work` when allowed."""
    node = work / name
    if not node.exists():
        try:
            os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        except OSError:  # not root: /dev/<name> itself, which this user cannot replace
            return Path("/dev") / name
    return node


@pytest.fixture(scope="module")
def null(work) -> Path:
    return device(work, "null", 3)


@pytest.fixture(scope="module")
def full(work) -> Path:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    return device(work, "full", 7)


@pytest.fixture(scope="module")
def expected(work) -> str:
    r = mlpcli(work, "predict", "latest", "xor")
    assert r.returncode == 0 and r.stdout.startswith("row,y,pred_y"), r.stderr
    return r.stdout


def test_dev_null_stays_a_device(work, null):
    for args in (("predict", "latest", "xor", "--out"), ("runs", "list", "--csv"),
                 ("datasets", "make", "moons", "--out")):
        r = mlpcli(work, *args, null)
        assert r.returncode == 0, r.stderr
        assert stat.S_ISCHR(os.lstat(null).st_mode), args
    assert os.lstat(null).st_rdev == os.makedev(1, 3)


@pytest.mark.parametrize("args", [("predict", "latest", "xor", "--out"),
                                  ("runs", "list", "--csv"),
                                  ("datasets", "make", "moons", "--out")])
def test_dev_full_is_a_one_line_disk_full_error(work, full, args):
    r = mlpcli(work, *args, full)
    one_line_error(r, str(full), "disk full")
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_compare_plot_to_dev_full_fails_and_a_directory_is_refused(work, full):
    run_ids = sorted(p.name for p in (work / "runs").iterdir())
    one_line_error(mlpcli(work, "runs", "compare", *run_ids, "--plot", full),
                   "--plot", "disk full")
    one_line_error(mlpcli(work, "runs", "compare", *run_ids, "--plot", work), "--plot",
                   "is a directory")
    one_line_error(mlpcli(work, "runs", "compare", *run_ids, "--plot",
                          work / "no" / "such" / "x.png"), "--plot", "does not exist")
    assert not (work / "no").exists()


def test_a_fifo_is_written_to_not_replaced(work, expected):
    fifo = work / "predictions.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    r = mlpcli(work, "predict", "latest", "xor", "--out", fifo)
    reader.join(timeout=60)
    assert r.returncode == 0, r.stderr
    assert received == [expected]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_dash_means_standard_output(work, expected):
    r = mlpcli(work, "predict", "latest", "xor", "--out", "-")
    assert r.returncode == 0 and r.stdout == expected, r.stderr
    assert not (work / "-").exists()


def test_symlink_is_followed_and_kept(work, expected):
    target = work / "real.csv"
    target.write_text("old\n")
    link = work / "link.csv"
    link.symlink_to(target.name)
    r = mlpcli(work, "predict", "latest", "xor", "--out", link)
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == "real.csv"
    assert target.read_text() == expected


def test_hard_links_and_mode_are_kept(work, expected):
    a, b = work / "a.csv", work / "b.csv"
    a.write_text("old\n")
    os.link(a, b)
    os.chmod(a, 0o600)
    r = mlpcli(work, "predict", "latest", "xor", "--out", a)
    assert r.returncode == 0, r.stderr
    assert b.read_text() == expected and os.stat(a).st_ino == os.stat(b).st_ino
    assert os.stat(a).st_nlink == 2 and stat.S_IMODE(os.stat(a).st_mode) == 0o600

    single = work / "private.csv"  # one link: replaced atomically, mode kept
    single.write_text("old\n")
    os.chmod(single, 0o600)
    r = mlpcli(work, "runs", "list", "--csv", single)
    assert r.returncode == 0, r.stderr
    assert single.read_text().startswith("id,") and stat.S_IMODE(single.stat().st_mode) == 0o600
    assert not list(work.glob(".*.tmp"))


def test_a_new_file_gets_the_umask_mode(work, expected):
    out = work / "new.csv"
    r = mlpcli(work, "predict", "latest", "xor", "--out", out)
    assert r.returncode == 0 and "wrote 4 predictions" in r.stderr
    umask = os.umask(0)
    os.umask(umask)
    assert out.read_text() == expected and stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_failed_write_keeps_the_old_file_and_names_the_reason(tmp_path, monkeypatch):
    """A permission error at the rename (root cannot be refused by modes, so it is injected)."""
    from mlpcli.errors import ConfigError
    from mlpcli.runs import files

    out = tmp_path / "x.csv"
    out.write_text("old\n")

    def refuse(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(ConfigError, match=r"--out .*x.csv: cannot write \(permission denied\)"):
        files.write_user_file(out, b"new\n", "--out")
    assert out.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]

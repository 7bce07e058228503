"""Where DATA's bytes come from (issue 19 items 2, 10, 12): pipes and FIFOs read once and whole,
compressed files, special files refused, CR-only line endings, codecs that are not encodings.

Each of these failed on b35f5ce: a pipe lost its first 64 KiB (the sniff consumed them) and was
hashed empty, a .gz file was "binary", /dev/zero was sniffed as a binary CSV, a CR-only file
stopped with "new-line character seen in unquoted field", --encoding rot13 raised a TypeError.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpcli.data import load_dataset, read_csv
from mlpcli.errors import ConfigError, DataError

ROWS = 20_000


def csv_bytes(rows: int = ROWS) -> bytes:
    """A CSV of `rows` rows, well over the 64 KiB sniff sample (about 0.4 MB)."""
    rng = np.random.default_rng(0)
    A = np.round(rng.uniform(0, 1, (rows, 2)), 6)
    lines = ["a,b,y"] + [f"{a},{b},{i % 2}" for i, (a, b) in enumerate(A)]
    return ("\n".join(lines) + "\n").encode()


def expected_frame(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data))


HANG = 60  # seconds: a read still blocked on a FIFO by then will never finish (not a speed test)


def finishing(fn, *args, **kwargs):
    """fn(*args, **kwargs), failing the test instead of hanging if it blocks on a FIFO."""
    out = {}

    def run():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(HANG)
    if t.is_alive():
        pytest.fail(f"{fn.__name__} blocked reading the FIFO (it opened it a second time)")
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.fixture
def fifo(tmp_path):
    """A FIFO and a function that starts a thread writing bytes into it."""
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    threads = []

    def feed(data: bytes) -> Path:
        def write():
            try:
                with open(path, "wb") as f:
                    f.write(data)
            except BrokenPipeError:  # the reader stopped early (the bug under test)
                pass

        t = threading.Thread(target=write, daemon=True)
        t.start()
        threads.append(t)
        return path

    yield feed
    for t in threads:
        t.join(timeout=10)


def test_a_fifo_is_read_whole_not_missing_the_sniffed_64_kib(fifo):
    data = csv_bytes()
    df = finishing(read_csv, fifo(data))
    assert df.shape == (ROWS, 3)
    assert list(df.columns) == ["a", "b", "y"]
    pd.testing.assert_frame_equal(df, expected_frame(data), check_like=False)


def test_load_dataset_from_a_fifo_records_the_rows_and_hash_of_what_came_through(fifo):
    data = csv_bytes()
    ds = finishing(load_dataset, fifo(data), rng=np.random.default_rng(0))
    assert ds.n_rows == ROWS
    assert len(ds.X_train) + len(ds.X_val) == ROWS
    assert ds.sha256 == hashlib.sha256(data).hexdigest()
    assert ds.sha256 != hashlib.sha256(b"").hexdigest()


def test_dash_reads_standard_input(monkeypatch):
    data = csv_bytes(500)

    class Stdin:
        buffer = io.BytesIO(data)

        def isatty(self):
            return False

    monkeypatch.setattr(sys, "stdin", Stdin())
    df = read_csv("-")
    pd.testing.assert_frame_equal(df, expected_frame(data))
    assert df.attrs["source"] == "standard input"


def test_dash_with_a_terminal_on_stdin_is_refused(monkeypatch):
    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    with pytest.raises(DataError, match="nothing is piped in"):
        read_csv("-")


COMPRESSORS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


@pytest.mark.parametrize("ext", COMPRESSORS)
def test_compressed_files_are_read_directly_and_hashed_as_stored(tmp_path, ext):
    data = csv_bytes()
    stored = COMPRESSORS[ext](data)
    path = tmp_path / f"data.csv.{ext}"
    path.write_bytes(stored)
    pd.testing.assert_frame_equal(read_csv(path), expected_frame(data))
    ds = load_dataset(path, rng=np.random.default_rng(0))
    assert ds.n_rows == ROWS
    assert ds.sha256 == hashlib.sha256(stored).hexdigest()


def test_compression_is_recognised_by_content_also_through_a_pipe(fifo):
    data = csv_bytes()
    df = finishing(read_csv, fifo(gzip.compress(data)))  # `cat data.csv.gz | mlpcli train -`
    pd.testing.assert_frame_equal(df, expected_frame(data))


def test_a_cut_short_gzip_file_is_one_clean_error(tmp_path):
    stored = gzip.compress(csv_bytes())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(stored[: len(stored) // 2])
    with pytest.raises(DataError, match=r"cut\.csv\.gz: cannot decompress"):
        read_csv(path)


def test_a_ragged_row_in_a_gzip_file_is_located(tmp_path):
    path = tmp_path / "r.csv.gz"
    path.write_bytes(gzip.compress(b"a,b,y\n1,2,0\n1,2,3,4\n"))
    with pytest.raises(DataError, match="line 3 has 4 fields, expected 3"):
        read_csv(path)


def test_zstd_without_the_zstandard_package_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "zstandard", None)  # import fails
    path = tmp_path / "data.csv.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 32)
    with pytest.raises(DataError, match="zstd-compressed.*pip install zstandard"):
        read_csv(path)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused_without_being_read(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    with pytest.raises(DataError, match=f"{device} is a device, not a CSV file"):
        read_csv(device)


def test_cr_only_line_endings_are_read_like_lf(tmp_path):
    text = "x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"
    lf, cr = tmp_path / "lf.csv", tmp_path / "cr.csv"
    lf.write_bytes(text.encode())
    cr.write_bytes(text.replace("\n", "\r").encode())
    pd.testing.assert_frame_equal(read_csv(cr), read_csv(lf))


@pytest.mark.parametrize("codec", ["rot13", "base64", "hex"])
def test_a_codec_that_is_not_a_text_encoding_is_a_config_error(tmp_path, codec):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,y\n1,0\n2,1\n")
    with pytest.raises(ConfigError, match=f"--encoding '{codec}' is not a text encoding"):
        read_csv(path, encoding=codec)

"""Where a CSV's bytes come from: a regular file, a pipe (FIFO, process substitution, `-` for
stdin) or a compressed file, always readable more than once.

A regular file is read from disk each time it is needed (sniffing, parsing, locating an error),
so large files are never held twice. A pipe can be read only once: its whole content is read into
memory first, then sniffed, hashed and parsed from there. gzip, bz2, xz and zstd data is
recognised by its first bytes (whatever the file is called) and decompressed while reading; the
sha256 is that of the bytes as stored. Devices and directories are refused before anything is
read, so `/dev/zero` can never be read without bound.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import stat
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mlpcli.errors import DataError

STDIN = "-"  # DATA meaning standard input
CHUNK = 1 << 20  # bytes per read when hashing or scanning a file
MAGIC_BYTES = 10  # enough to recognise every compression format below

# errors a damaged compressed stream raises while it is read
DECOMPRESS_ERRORS = (EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)


def _compression(head: bytes) -> str | None:
    """The compression format whose magic number starts `head`, or None for plain data."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head[:3] == b"BZh" and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):  # block or empty
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return None


@dataclass
class Source:
    """A CSV input: `name` for messages; `data` holds the stored bytes of an input that could be
    read only once (None for a regular file, read from `path` when needed)."""

    path: Path
    name: str
    data: bytes | None
    compression: str | None
    digest: str | None = None  # the sha256, once computed (or known from the cache)

    @property
    def is_plain_file(self) -> bool:
        """A regular, uncompressed file: pandas may read it from its path."""
        return self.data is None and self.compression is None

    def _stored(self) -> BinaryIO:
        return io.BytesIO(self.data) if self.data is not None else open(self.path, "rb")

    def open(self) -> BinaryIO:
        """A fresh binary stream of the (decompressed) content."""
        raw = self._stored()
        if self.compression == "gzip":
            return gzip.GzipFile(fileobj=raw)
        if self.compression == "bz2":
            return bz2.BZ2File(raw)
        if self.compression == "xz":
            return lzma.LZMAFile(raw)
        if self.compression == "zstd":
            try:
                import zstandard
            except ImportError:
                raw.close()
                raise DataError(
                    f"{self.name} is zstd-compressed; reading it needs the zstandard package "
                    "(pip install zstandard), or decompress it first"
                ) from None
            return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return raw

    def head(self, size: int) -> bytes:
        """The first `size` bytes of the content (fewer if it is shorter)."""
        with self.open() as f:
            return _read_upto(f, size, self.name)

    def sha256(self) -> str:
        """Hex sha256 of the bytes as stored (compressed files: of the compressed bytes);
        computed once."""
        if self.digest is None:
            self.digest = (hashlib.sha256(self.data).hexdigest() if self.data is not None
                           else file_sha256(self.path))
        return self.digest

    def decompress_error(self, e: Exception) -> DataError:
        """The one-line DataError for a damaged compressed stream."""
        return DataError(
            f"{self.name}: cannot decompress the {self.compression} data ({e}); "
            "the file is damaged or cut short"
        )


def _read_upto(f: BinaryIO, size: int, name: str) -> bytes:
    """Up to `size` bytes of `f` (several reads: a decompressor may return fewer at a time)."""
    parts, got = [], 0
    try:
        while got < size and (chunk := f.read(size - got)):
            parts.append(chunk)
            got += len(chunk)
    except DECOMPRESS_ERRORS as e:
        raise DataError(f"{name}: cannot decompress the data ({e}); the file is damaged") from None
    return b"".join(parts)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def directory_error(path: Path) -> DataError:
    return DataError(f"{path} is a directory, not a CSV file; pass a .csv file")


def open_source(path: str | Path) -> Source:
    """The Source for a path (or `-`); DataError for what cannot be read as a CSV."""
    path = Path(path)
    if str(path) == STDIN:
        if sys.stdin is None or sys.stdin.isatty():
            raise DataError("DATA is '-' (standard input) but nothing is piped in; "
                            "pipe a CSV into mlpcli or pass a file name")
        data = _read_all(sys.stdin.buffer, "standard input")
        return Source(path, "standard input", data, _compression(data[:MAGIC_BYTES]))
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise directory_error(path)
        if stat.S_ISREG(mode):
            with open(path, "rb") as f:
                magic = f.read(MAGIC_BYTES)
            return Source(path, path.name, None, _compression(magic))
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            with open(path, "rb") as f:
                data = _read_all(f, path.name)
            return Source(path, path.name, data, _compression(data[:MAGIC_BYTES]))
    except PermissionError:
        raise DataError(f"{path.name}: permission denied; check the file's permissions") from None
    except FileNotFoundError:
        raise DataError(f"no such file: {str(path)!r}") from None
    except OSError as e:
        raise DataError(f"{path.name}: cannot read the file ({e.strerror})") from None
    raise DataError(
        f"{path} is a device, not a CSV file; pass a regular file or a pipe"
    )


def _read_all(f: BinaryIO, name: str) -> bytes:
    """Everything a pipe delivers, read once."""
    try:
        return f.read()
    except OSError as e:
        raise DataError(f"{name}: cannot read ({e.strerror})") from None

"""Bounded intake of a log file: everything :mod:`frame_core.data.limits` demands is checked
here, on the first bytes and while the file streams, before pandas or pyarrow sees it.

:func:`staged_log` turns a path, bytes or a binary file object into a :class:`StagedLog`: a
file on disk that is plain text (checked: UTF-8, line lengths, header width, column names) or
Parquet (checked from its footer: columns, types, uncompressed size). Gzip is decompressed in
a stream into a temporary file, in 1 MiB steps, and stops at the first byte past the size
limit or the ratio limit; memory stays bounded by the step size whatever the file holds.
Temporary files live in ``tmp_dir`` (the workspace's ``tmp/`` in the app) and are removed
when the context ends.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from frame_core.common.errors import InputError
from frame_core.data.limits import DEFAULT_LIMITS, InputLimits, mib, over_limit
from frame_core.data.parquet_checks import check_parquet

Source = str | os.PathLike | bytes | BinaryIO
DELIMITERS = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}
STEP = 1024**2  # bytes read, decompressed or scanned per step
_NL = 10


@dataclasses.dataclass
class StagedLog:
    """A checked log file on disk. ``kind`` is ``"text"`` or ``"parquet"``; for text,
    ``delimiter`` and ``columns`` come from the header and ``lines`` counts the data lines
    (rows, unless a quoted field holds a line break); for Parquet, ``lines`` is its row count."""

    path: Path
    name: str
    kind: str
    delimiter: str | None = None
    columns: list[str] = dataclasses.field(default_factory=list)
    lines: int = 0
    bom: bool = False


class _TextScan:
    """Checks text as it streams: binary data, UTF-8, the header (width, names) and every
    line's length. Raises InputError at the first problem."""

    def __init__(self, name: str, limits: InputLimits):
        self.name, self.limits = name, limits
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.offset = 0  # bytes seen
        self.line_len = 0  # bytes of the current, unfinished line
        self.newlines = 0
        self.header = bytearray()
        self.header_done = False
        self.nonblank = False
        self.bom = False
        self.delimiter: str | None = None
        self.columns: list[str] = []
        self.kind_parquet = False  # set when a gzip stream turns out to hold Parquet

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self.offset == 0:
            if chunk[:3] == b"\xef\xbb\xbf":
                self.bom = True
            if b"\x00" in chunk[:65536]:
                raise InputError(f"{self.name} is not a text table (it contains binary data); "
                                 "upload a CSV, TSV, Parquet or gzip-compressed CSV file")
        self._utf8(chunk, final=False)
        if not self.nonblank and chunk.strip():
            self.nonblank = True
        arr = np.frombuffer(chunk, dtype=np.uint8)
        nl = np.flatnonzero(arr == _NL)
        if not self.header_done:
            self._header(chunk, int(nl[0]) if len(nl) else None)
        if len(nl):
            first = self.line_len + int(nl[0])
            gaps = np.diff(nl) - 1 if len(nl) > 1 else np.empty(0, dtype=np.int64)
            longest = max(first, int(gaps.max()) if len(gaps) else 0)
            if longest > self.limits.max_line_bytes:
                at = 0 if first > self.limits.max_line_bytes else 1 + int(np.argmax(gaps > self.limits.max_line_bytes))
                self._long_line(self.newlines + at + 1)
            self.newlines += len(nl)
            self.line_len = len(chunk) - int(nl[-1]) - 1
        else:
            self.line_len += len(chunk)
        if self.line_len > self.limits.max_line_bytes:
            self._long_line(self.newlines + 1)
        self.offset += len(chunk)

    def _long_line(self, line_no: int) -> None:
        what = "the header (line 1)" if line_no == 1 else f"line {line_no:,}"
        raise over_limit(self.name, f"{what} is longer than {self.limits.max_line_bytes:,} bytes",
                         f"{self.limits.max_line_bytes:,}-byte line", "max_line_bytes")

    def _utf8(self, chunk: bytes, final: bool) -> None:
        try:
            self.decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            try:
                chunk.decode("cp1252")
                guess = "Latin-1/Windows-1252"
            except UnicodeDecodeError:
                guess = "an unknown encoding"
            raise InputError(
                f"{self.name} is not UTF-8 text (byte {self.offset + exc.start:,} is invalid; it looks like "
                f"{guess}); re-save it as UTF-8 and upload again"
            ) from None

    def _header(self, chunk: bytes, nl_at: int | None) -> None:
        part = chunk if nl_at is None else chunk[:nl_at]
        self.header += part
        counts = {d: self.header.count(d.encode()) for d in DELIMITERS}
        widest = max(counts.values())
        if widest + 1 > self.limits.max_columns:
            raise over_limit(self.name, f"the header has more than {self.limits.max_columns:,} columns",
                             f"{self.limits.max_columns:,}-column", "max_columns")
        if nl_at is not None:
            self.header_done = True
            self._parse_header()

    def _parse_header(self) -> None:
        raw = bytes(self.header)
        if raw[:3] == b"\xef\xbb\xbf":
            raw = raw[3:]
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        counts = {d: text.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        if counts[best] == 0:
            if not text.strip():
                return  # blank first line: pandas' own message follows
            raise InputError(f"{self.name} has a single column (header: {text[:80]!r}); "
                             "use comma, tab, semicolon or pipe between columns")
        self.delimiter = best
        self.columns = [c.strip().strip('"') for c in text.split(best)]
        for i, c in enumerate(self.columns):
            if len(c) > self.limits.max_name_chars:
                raise over_limit(self.name, f"column {i + 1}'s name is {len(c):,} characters long",
                                 f"{self.limits.max_name_chars:,}-character column name", "max_name_chars")

    def finish(self) -> None:
        self._utf8(b"", final=True)
        if not self.header_done and self.header:
            self.header_done = True
            self._parse_header()
        if self.line_len > 0:
            self.newlines += 1  # a last line without a line break

    @property
    def data_lines(self) -> int:
        return max(0, self.newlines - 1)


def _gunzip_to(src: BinaryIO, dst: BinaryIO, name: str, limits: InputLimits, scan: _TextScan, first_out) -> None:
    """Decompress a gzip stream (one or more members) from ``src`` into ``dst``, feeding each
    piece to ``scan`` (unless it turned out to be Parquet); InputError at the first byte past
    ``limits.max_bytes`` or past ``limits.max_ratio`` × the compressed bytes read so far (once
    over ``limits.ratio_floor_bytes``)."""
    d = zlib.decompressobj(wbits=31)
    fed = out = 0
    pending = b""
    member_open = trailing = False
    while not trailing or pending:
        if not pending:
            if trailing:
                break
            pending = src.read(64 * 1024)
            if not pending:
                break
            fed += len(pending)
        allowed = min(limits.max_bytes, max(limits.ratio_floor_bytes, int(limits.max_ratio * fed)))
        room = max(1, min(STEP, allowed - out + 1))
        try:
            piece = d.decompress(pending, room)
        except zlib.error as exc:
            raise InputError(f"{name} looks gzip-compressed but cannot be decompressed ({exc})") from None
        member_open = True
        pending = d.unconsumed_tail
        if d.eof:  # the rest is in unused_data (unconsumed_tail may still hold a stale copy of it)
            pending = d.unused_data
            d, member_open = zlib.decompressobj(wbits=31), False
            if pending and pending[:2] != b"\x1f\x8b":
                pending, trailing = b"", True  # padding after the last member is ignored
        if piece:
            out += len(piece)
            if out > limits.max_bytes:
                raise over_limit(name, "it expands past the size limit when decompressed",
                                 mib(limits.max_bytes), "max_bytes")
            if out > allowed:
                raise over_limit(name, f"it expands more than {limits.max_ratio:,.0f}× when decompressed "
                                 "(a gzip bomb?)", f"{limits.max_ratio:,.0f}× ratio", "max_ratio")
            if out == len(piece):
                first_out(piece)
            if not scan.kind_parquet:
                scan.feed(piece)
            dst.write(piece)
    if member_open:
        raise InputError(f"{name} looks gzip-compressed but cannot be decompressed (it is truncated or damaged)")


def _copy_capped(src: BinaryIO, dst: BinaryIO, name: str, limits: InputLimits) -> int:
    n = 0
    while chunk := src.read(STEP):
        n += len(chunk)
        if n > limits.max_bytes:
            raise over_limit(name, "the file is too large", mib(limits.max_bytes), "max_bytes")
        dst.write(chunk)
    return n


@contextlib.contextmanager
def _as_path(source: Source, name: str, limits: InputLimits, tmp_dir) -> Iterator[Path]:
    """The source as a file on disk (bytes and file objects are copied into ``tmp_dir``)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"file not found: {path}")
        if path.is_dir():
            raise InputError(f"{path} is a folder; give the path of a log file inside it")
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise over_limit(name, f"the file is {mib(size)}", mib(limits.max_bytes), "max_bytes")
        yield path
        return
    fd, tmp = tempfile.mkstemp(prefix=".frame-upload-", suffix=".bin", dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(source, (bytes, bytearray, memoryview)):
                if len(source) > limits.max_bytes:
                    raise over_limit(name, "the file is too large", mib(limits.max_bytes), "max_bytes")
                out.write(source)
            else:
                if hasattr(source, "seek"):
                    with contextlib.suppress(OSError, ValueError):
                        source.seek(0)
                _copy_capped(source, out, name, limits)
        yield Path(tmp)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def source_name(source: Source) -> str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "uploaded file"
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return str(Path(str(getattr(source, "name", "uploaded file"))).name)


@contextlib.contextmanager
def staged_log(source: Source, *, limits: InputLimits = DEFAULT_LIMITS, tmp_dir=None,
               name: str | None = None) -> Iterator[StagedLog]:
    """Check ``source`` against ``limits`` and yield it as a :class:`StagedLog` on disk.

    Raises InputError (one line) for: a missing file or a folder, a file over the size limit
    (after decompression), a gzip bomb (ratio), an empty, binary, non-UTF-8, spreadsheet or
    zip file, a header wider than the column limit or with an over-long name, a line over the
    line limit, and Parquet files with too many, nested or binary columns or too much data.
    """
    name = name or source_name(source)
    if tmp_dir is not None:
        Path(tmp_dir).mkdir(parents=True, exist_ok=True)
    with _as_path(source, name, limits, tmp_dir) as path:
        with open(path, "rb") as fh:
            magic = fh.read(8)
        if magic[:2] == b"\x1f\x8b":
            with _gunzipped(path, name, limits, tmp_dir) as staged:
                yield staged
            return
        yield _stage_plain(path, name, limits, magic)


def _stage_plain(path: Path, name: str, limits: InputLimits, magic: bytes, empty_msg: str | None = None) -> StagedLog:
    if magic[:4] == b"PAR1":
        rows = check_parquet(path, name, limits, path.stat().st_size)
        return StagedLog(path=path, name=name, kind="parquet", lines=rows)
    _refuse_archives(magic, name)
    scan = _TextScan(name, limits)
    with open(path, "rb") as fh:
        while chunk := fh.read(STEP):
            scan.feed(chunk)
    scan.finish()
    if not scan.nonblank:
        raise InputError(empty_msg or f"{name} is empty; it needs a header row and at least one data row")
    return StagedLog(path=path, name=name, kind="text", delimiter=scan.delimiter, columns=scan.columns,
                     lines=scan.data_lines, bom=scan.bom)


def _refuse_archives(magic: bytes, name: str) -> None:
    if magic[:4] == b"PK\x03\x04" or magic[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise InputError(
            f"{name} is a spreadsheet or zip archive, not a text table; "
            "export it from the spreadsheet as CSV (UTF-8) and upload that"
        )


@contextlib.contextmanager
def _gunzipped(path: Path, name: str, limits: InputLimits, tmp_dir) -> Iterator[StagedLog]:
    fd, tmp = tempfile.mkstemp(prefix=".frame-gunzip-", suffix=".dat", dir=tmp_dir)
    scan = _TextScan(name, limits)

    def first_out(piece: bytes) -> None:
        if piece[:4] == b"PAR1":
            scan.kind_parquet = True
        else:
            _refuse_archives(piece[:8], name)

    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            _gunzip_to(src, out, name, limits, scan, first_out)
        if scan.kind_parquet:
            rows = check_parquet(Path(tmp), name, limits, path.stat().st_size)
            yield StagedLog(path=Path(tmp), name=name, kind="parquet", lines=rows)
            return
        scan.finish()
        if not scan.nonblank:
            raise InputError(f"{name} is an empty gzip file")
        yield StagedLog(path=Path(tmp), name=name, kind="text", delimiter=scan.delimiter, columns=scan.columns,
                        lines=scan.data_lines, bom=scan.bom)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def stage_upload(fileobj: BinaryIO, dest_dir: str | os.PathLike, *, limits: InputLimits = DEFAULT_LIMITS) -> Path:
    """Copy an uploaded file object into ``dest_dir`` (1 MiB at a time, capped at the size
    limit) and return the new file's path: the app validates from there."""
    Path(dest_dir).mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="upload-", suffix=".bin", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            if hasattr(fileobj, "seek"):
                fileobj.seek(0)
            _copy_capped(fileobj, out, source_name(fileobj), limits)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def remove_quietly(path) -> None:
    """Delete a staged file or folder; missing is fine."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            p.unlink()

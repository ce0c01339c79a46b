"""Generators of the large hostile files of the bad-input corpus (issue 17), written at test
time into a temporary folder: small on disk (gzip members repeated, or Parquet footers), huge
once expanded. Each returns the file's path; :data:`CASES` names every case with the extra
options, the expected message and the option the message must point to."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

HEADER = b"user_id,video_id,playing_time,duration_time,interaction_timestamp\n"
MIB = 1024**2


def _repeat_member(path: Path, prefix: bytes, block: bytes, total: int) -> Path:
    """A gzip file of ``prefix`` then ``block`` repeated to about ``total`` bytes, written as
    the same compressed member again and again (cheap to make, as large as you like)."""
    member = gzip.compress(block, compresslevel=9, mtime=0)
    with open(path, "wb") as fh:
        fh.write(gzip.compress(prefix, mtime=0))
        for _ in range(max(1, total // len(block))):
            fh.write(member)
    return path


def wide_header(path: Path, columns: int) -> Path:
    names = ",".join(f"c{i}" for i in range(columns)).encode()
    path.write_bytes(gzip.compress(names + b"\n" + b",".join([b"1"] * columns) + b"\n", compresslevel=1))
    return path


def single_line(path: Path, mb: int = 500) -> Path:
    """One line of ``a,a,a,…`` of ``mb`` MB (the issue's 509 KB file): a header of 250 M columns."""
    return _repeat_member(path, b"", b"a," * (4 * MIB), mb * 10**6)


def long_data_line(path: Path, mb: int = 500) -> Path:
    """A valid header, then one data line of ``mb`` MB without a delimiter or line break."""
    return _repeat_member(path, HEADER, b"x" * (4 * MIB), mb * 10**6)


def rows_block(random_share: float, pad: int = 0, seed: int = 0) -> bytes:
    """About 1 MiB of log rows; ``random_share`` of them carry random digits, so the block
    compresses more or less (the knob of the bombs' ratio); ``pad`` zeros before each
    timestamp make the duplicate rows longer (a higher ratio still)."""
    rng = np.random.default_rng(seed)
    dup = f"u1,v1,5.0,10.0,{'0' * pad}1\n"
    rows = []
    for i in range(max(1, MIB // len(dup))):
        if rng.random() < random_share:
            rows.append(f"u{rng.integers(1e9)},v{rng.integers(1e9)},{rng.random():.6f},10.0,{i}\n")
        else:
            rows.append(dup)
    return "".join(rows).encode()


def bomb(path: Path, random_share: float, total_mb: int, pad: int = 0) -> Path:
    """A log of ``total_mb`` MB of (mostly duplicate) rows; the ratio follows ``random_share``
    and ``pad``."""
    return _repeat_member(path, HEADER, rows_block(random_share, pad), total_mb * 10**6)


def ratio_of(path: Path) -> float:
    """Decompressed / compressed size of a gzip file, measured by streaming it."""
    d = zlib.decompressobj(wbits=31)
    out = 0
    data = path.read_bytes()
    while data:
        out += len(d.decompress(data, 0))
        data = d.unused_data
        d = zlib.decompressobj(wbits=31) if data else d
    return out / path.stat().st_size


def parquet_wide(path: Path, columns: int = 100_000) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arr = pa.array([0], pa.int8())
    table = pa.Table.from_arrays([arr] * columns, names=[f"c{i}" for i in range(columns)])
    pq.write_table(table, path, use_dictionary=False, write_statistics=False, compression="none", store_schema=False)
    return path


def parquet_big_row_group(path: Path, rows: int = 5_000_000) -> Path:
    """One row group of ``rows`` constant rows: a few KB on disk, ``rows`` × 5 values in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    zeros = pa.array(np.zeros(rows, dtype="int8"))
    table = pa.table({"user_id": zeros, "video_id": zeros, "playing_time": zeros, "duration_time": zeros,
                      "interaction_timestamp": zeros})
    pq.write_table(table, path, row_group_size=rows, compression="zstd")
    return path


def parquet_nested(path: Path, depth: int = 40) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    value: list = [1]
    for _ in range(depth):
        value = [value]
    table = pa.table({"user_id": ["u1"], "video_id": ["v1"], "playing_time": [1.0], "duration_time": [2.0],
                      "tags": [value]})
    pq.write_table(table, path)
    return path


def parquet_binary(path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"user_id": pa.array([b"\x00\xff" * 8], pa.binary()), "video_id": ["v1"],
                      "playing_time": [1.0], "duration_time": [2.0]})
    pq.write_table(table, path)
    return path


RATIOS = {"bomb_600x": (450, 800), "bomb_400x": (300, 500), "bomb_150x": (110, 250), "bomb_40x_over_size": (20, 80),
          "bomb_5x_over_size": (3, 10)}
"""The band each bomb's measured ratio must fall in (a test checks it: the names are honest)."""

# name: (generator(path), file name, extra CLI options, expected message, option named in it)
CASES = {
    "wide_header_1e5": (lambda p: wide_header(p, 100_000), "wide_1e5.csv.gz", [],
                        "the header has more than 1,000 columns", "--max-columns"),
    "wide_header_1e6": (lambda p: wide_header(p, 1_000_000), "wide_1e6.csv.gz", [],
                        "the header has more than 1,000 columns", "--max-columns"),
    "single_line_500mb": (single_line, "line.csv.gz", [], "the header has more than 1,000 columns",
                          "--max-columns"),
    "data_line_500mb": (long_data_line, "data_line.csv.gz", [], "line 2 is longer than 1,048,576 bytes",
                        "--max-line-bytes"),
    "bomb_600x": (lambda p: bomb(p, 0.0, 1500, pad=2000), "bomb_600x.csv.gz", [], "expands more than 100×",
                   "--max-ratio"),
    "bomb_400x": (lambda p: bomb(p, 0.0, 1000), "bomb_400x.csv.gz", [], "expands more than 100×",
                  "--max-ratio"),
    "bomb_150x": (lambda p: bomb(p, 0.003, 400), "bomb_150x.csv.gz", [], "expands more than 100×",
                  "--max-ratio"),
    "bomb_40x_over_size": (lambda p: bomb(p, 0.015, 100), "bomb_40x.csv.gz", ["--max-mb", "32"],
                           "expands past the size limit", "--max-mb"),
    "bomb_5x_over_size": (lambda p: bomb(p, 0.2, 20), "bomb_5x.csv.gz", ["--max-mb", "8"],
                          "expands past the size limit", "--max-mb"),
    "parquet_1e5_columns": (parquet_wide, "wide.parquet", [], "Parquet footer", "--max-columns"),
    "parquet_big_row_group": (parquet_big_row_group, "rowgroup.parquet", ["--max-mb", "64"],
                              "in memory", "--max-mb"),
    "parquet_nested": (parquet_nested, "nested.parquet", [], "column 'tags' is nested", None),
    "parquet_binary": (parquet_binary, "binary.parquet", [], "column 'user_id' holds binary data", None),
}

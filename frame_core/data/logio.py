"""Reading interaction logs from disk or memory into a raw DataFrame.

Supported: CSV, TSV (any of ``,`` ``\\t`` ``;`` ``|`` as delimiter, sniffed from the header),
gzip-compressed CSV/TSV, and Parquet. Text must be UTF-8, with or without a byte-order mark.
The format is told by the file's first bytes, not its name, so a misnamed file still reads or
gets a message that says what it really is.

Whole-file problems raise :class:`~frame_core.common.errors.InputError` with one clear line.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from frame_core.common.errors import InputError

DEFAULT_MAX_BYTES = 2 * 1024**3  # 2 GiB after decompression
_DELIMITERS = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}

Source = str | os.PathLike | bytes | BinaryIO


def _read_bytes(source: Source, max_bytes: int) -> tuple[bytes, str]:
    """Return (raw bytes, display name) of a path, bytes or binary file object."""
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), "uploaded file"
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)
        name = getattr(source, "name", "uploaded file")
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(f"file not found: {path}")
        if path.is_dir():
            raise InputError(f"{path} is a folder; give the path of a log file inside it")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{path.name} is {size / 1e6:,.0f} MB, over the {max_bytes / 1e6:,.0f} MB limit; "
                "split the log or raise the limit"
            )
        data, name = path.read_bytes(), path.name
    if len(data) > max_bytes:
        raise InputError(f"{name} is over the {max_bytes / 1e6:,.0f} MB size limit")
    return data, str(name)


def _gunzip(data: bytes, name: str, max_bytes: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            out = fh.read(max_bytes + 1)
    except (OSError, EOFError) as exc:
        raise InputError(f"{name} looks gzip-compressed but cannot be decompressed ({exc})") from None
    if len(out) > max_bytes:
        raise InputError(
            f"{name} expands past the {max_bytes / 1e6:,.0f} MB size limit when decompressed; "
            "split the log into smaller files"
        )
    return out


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:65536]:
        raise InputError(
            f"{name} is not a text table (it contains binary data); "
            "upload a CSV, TSV, Parquet or gzip-compressed CSV file"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            data.decode("cp1252")
            guess = "Latin-1/Windows-1252"
        except UnicodeDecodeError:
            guess = "an unknown encoding"
        raise InputError(
            f"{name} is not UTF-8 text (byte {exc.start} is invalid; it looks like {guess}); "
            "re-save it as UTF-8 and upload again"
        ) from None
    return text.lstrip("\ufeff")


def _sniff_delimiter(text: str, name: str) -> str:
    header = text[: text.find("\n")] if "\n" in text else text
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        raise InputError(
            f"{name} has a single column (header: {header[:80]!r}); "
            "use comma, tab, semicolon or pipe between columns"
        )
    return best


def _parse_text(text: str, data: bytes, delim: str, dtype: dict, name: str) -> pd.DataFrame:
    """Parse delimited text: Arrow's multithreaded parser first (fast); when it refuses the
    file, pandas' C parser, which also gives the precise message for malformed files."""
    body = data[3:] if data[:3] == b"\xef\xbb\xbf" else data
    try:
        return pd.read_csv(io.BytesIO(body), sep=delim, dtype=dtype or None, engine="pyarrow")
    except Exception:  # noqa: BLE001 - any Arrow refusal falls back to the C parser below
        pass
    try:
        return pd.read_csv(
            io.StringIO(text), sep=delim, dtype=dtype or None, skipinitialspace=True, low_memory=False
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{name} has no columns; it needs a header row") from None
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{name} is not a well-formed {_DELIMITERS[delim]}-separated table: {msg}") from None


def _check_row_delimiter(df: pd.DataFrame, delim: str, name: str) -> None:
    """Catch a header and rows that use different delimiters: then every row lands in the
    first column and the others are empty."""
    if len(df) == 0 or df.shape[1] < 2:
        return
    rest_empty = df.iloc[:, 1:].isna().all(axis=1).mean()
    if rest_empty < 0.9:
        return
    first = df.iloc[:, 0].astype(str)
    for other, label in _DELIMITERS.items():
        if other != delim and first.str.contains(other, regex=False).mean() > 0.9:
            raise InputError(
                f"{name}: the header is {_DELIMITERS[delim]}-separated but the rows are {label}-separated; "
                "use one delimiter throughout the file"
            )


def read_table(source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES, id_columns=()) -> pd.DataFrame:
    """Read a log file into a raw DataFrame with the source's own column names.

    ``id_columns`` are source column names read as strings (ids keep leading zeros).
    Raises InputError for whole-file problems: empty, binary, not UTF-8, not a table, too big.
    """
    data, name = _read_bytes(source, max_bytes)
    if not data.strip():
        raise InputError(f"{name} is empty; it needs a header row and at least one data row")
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, name, max_bytes)
        if not data.strip():
            raise InputError(f"{name} is an empty gzip file")
    if data[:4] == b"PAR1":
        try:
            df = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many types for corrupt files
            raise InputError(f"{name} is not a readable Parquet file ({type(exc).__name__})") from None
        for col in id_columns:
            if col in df.columns:
                df[col] = df[col].astype("str")
        return df
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise InputError(
            f"{name} is a spreadsheet or zip archive, not a text table; "
            "export it from the spreadsheet as CSV (UTF-8) and upload that"
        )
    text = _decode(data, name)
    delim = _sniff_delimiter(text, name)
    header = text[: text.find("\n")] if "\n" in text else text
    columns = [c.strip().strip('"') for c in header.split(delim)]
    dtype = {c: "str" for c in id_columns if c in columns}
    df = _parse_text(text, data, delim, dtype, name)
    df.columns = [str(c).strip() for c in df.columns]
    _check_row_delimiter(df, delim, name)
    if len(df) == 0:
        raise InputError(
            f"{name} has a header ({', '.join(df.columns[:8])}) but no data rows; "
            "export the log with its rows"
        )
    return df

"""Reading interaction logs from disk or memory into a raw DataFrame.

Supported: CSV, TSV (any of ``,`` ``\\t`` ``;`` ``|`` as delimiter, sniffed from the header),
gzip-compressed CSV/TSV, and Parquet. Text must be UTF-8, with or without a byte-order mark.
The format is told by the file's first bytes, not its name, so a misnamed file still reads or
gets a message that says what it really is.

Whole-file problems raise :class:`~frame_core.common.errors.InputError` with one clear line.
"""

from __future__ import annotations

import pandas as pd

from frame_core.common.errors import InputError
from frame_core.data import intake
from frame_core.data.limits import DEFAULT_LIMITS, InputLimits

Source = intake.Source
DEFAULT_MAX_BYTES = DEFAULT_LIMITS.max_bytes  # 2,048 MiB after decompression
_DELIMITERS = intake.DELIMITERS


def _parse_text(staged: intake.StagedLog, dtype: dict, nrows: int | None) -> pd.DataFrame:
    """Parse a checked text table from disk: Arrow's multithreaded parser first (fast); when it
    refuses the file, pandas' C parser, which also gives the precise message for malformed
    files. Both read the file from disk, so no decoded copy of it is held."""
    name, delim = staged.name, staged.delimiter
    if nrows is None:
        try:
            return pd.read_csv(staged.path, sep=delim, dtype=dtype or None, engine="pyarrow", encoding="utf-8")
        except Exception:  # noqa: BLE001 - any Arrow refusal falls back to the C parser below
            pass
    try:
        return pd.read_csv(staged.path, sep=delim, dtype=dtype or None, skipinitialspace=True, low_memory=False,
                           encoding="utf-8-sig", nrows=nrows)
    except pd.errors.EmptyDataError:
        raise InputError(f"{name} has no columns; it needs a header row") from None
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{name} is not a well-formed {_DELIMITERS[delim]}-separated table: {msg[:200]}") from None


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


def read_table(source: Source, *, max_bytes: int | None = None, limits: InputLimits | None = None, id_columns=(),
               tmp_dir=None, nrows: int | None = None, name: str | None = None) -> pd.DataFrame:
    """Read a log file into a raw DataFrame with the source's own column names.

    The file is first checked against ``limits`` (:mod:`frame_core.data.limits`; ``max_bytes``
    overrides its size limit) by :func:`frame_core.data.intake.staged_log`, in bounded memory,
    with temporary files in ``tmp_dir``; ``name`` is the file name messages use. ``id_columns`` are source column names read as strings
    (ids keep leading zeros). ``nrows`` reads only the first rows (a preview). Raises
    InputError for whole-file problems: empty, binary, not UTF-8, not a table, over a limit.
    """
    limits = limits or DEFAULT_LIMITS
    if max_bytes is not None:
        limits = InputLimits(**{**limits.__dict__, "max_bytes": int(max_bytes)})
    with intake.staged_log(source, limits=limits, tmp_dir=tmp_dir, name=name) as staged:
        return _read_staged(staged, id_columns, nrows)


def _read_staged(staged: intake.StagedLog, id_columns, nrows: int | None) -> pd.DataFrame:
    name = staged.name
    if staged.kind == "parquet":
        try:
            if nrows is None:
                df = pd.read_parquet(staged.path)
            else:  # a preview reads the first batch only
                import pyarrow.parquet as pq

                batch = next(pq.ParquetFile(staged.path).iter_batches(batch_size=max(1, nrows)), None)
                df = batch.to_pandas() if batch is not None else pd.read_parquet(staged.path)
        except Exception as exc:  # pyarrow raises many types for corrupt files
            raise InputError(f"{name} is not a readable Parquet file ({type(exc).__name__})") from None
        for col in id_columns:
            if col in df.columns:
                df[col] = df[col].astype("str")
        return df
    if staged.delimiter is None:
        raise InputError(f"{name} has no header row; the first line must name the columns")
    delim = staged.delimiter
    dtype = {c: "str" for c in id_columns if c in staged.columns}
    df = _parse_text(staged, dtype, nrows)
    df.columns = [str(c).strip() for c in df.columns]
    _check_row_delimiter(df, delim, name)
    if len(df) == 0:
        raise InputError(
            f"{name} has a header ({', '.join(df.columns[:8])}) but no data rows; "
            "export the log with its rows"
        )
    return df


def preview_table(source: Source, *, limits: InputLimits | None = None, tmp_dir=None, nrows: int = 10,
                  name: str | None = None) -> tuple[pd.DataFrame, int]:
    """(first ``nrows`` rows, data lines in the file) after the same checks as
    :func:`read_table`; the whole file is scanned but only the first rows are parsed. The line
    count is the row count unless a quoted field holds a line break (Parquet: its rows)."""
    with intake.staged_log(source, limits=limits or DEFAULT_LIMITS, tmp_dir=tmp_dir, name=name) as staged:
        return _read_staged(staged, (), nrows), staged.lines

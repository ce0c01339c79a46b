"""Footer checks of a Parquet log against the input limits (README "Input limits"), made
before any column is read: the footer's size (pyarrow needs about 200× a footer's size in
memory to open it), leaf columns, column names, nested or binary columns, and the columns'
size in memory. Part of the bounded intake of :mod:`frame_core.data.intake`."""

from __future__ import annotations

from pathlib import Path

from frame_core.common.errors import InputError
from frame_core.data.limits import InputLimits, mib, over_limit


def check_parquet(path: Path, name: str, limits: InputLimits, stored_bytes: int) -> int:
    """Footer checks of a Parquet file: leaf columns, names, nested or binary columns, and the
    uncompressed size of its row groups. Returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    size = path.stat().st_size
    with open(path, "rb") as fh:
        if size < 12:
            raise InputError(f"{name} is not a readable Parquet file (too short)")
        fh.seek(size - 8)
        tail = fh.read(8)
    footer = int.from_bytes(tail[:4], "little")
    if tail[4:] != b"PAR1" or footer > size - 8:
        raise InputError(f"{name} is not a readable Parquet file (no footer)")
    footer_cap = max(4 * 1024**2, 4096 * limits.max_columns)  # metadata of many columns costs pyarrow ~200× in memory
    if footer > footer_cap:
        raise over_limit(name, f"its Parquet footer (the metadata) is {mib(footer)}, more than {mib(footer_cap)}: "
                         "too many columns or row groups", f"{limits.max_columns:,}-column", "max_columns")
    try:
        pf = pq.ParquetFile(path)
        meta = pf.metadata
        schema = pf.schema_arrow
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for corrupt files
        raise InputError(f"{name} is not a readable Parquet file ({type(exc).__name__})") from None
    if meta.num_columns > limits.max_columns:
        raise over_limit(name, f"it has {meta.num_columns:,} columns", f"{limits.max_columns:,}-column",
                         "max_columns")
    for f in schema:
        if len(f.name) > limits.max_name_chars:
            raise over_limit(name, f"a column name is {len(f.name):,} characters long",
                             f"{limits.max_name_chars:,}-character column name", "max_name_chars")
        t = f.type
        if pa.types.is_nested(t):
            raise InputError(f"{name}: column {f.name[:60]!r} is nested ({str(t)[:60]}); a log needs flat columns "
                             "of text or numbers: flatten or drop it and export again")
        if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            raise InputError(f"{name}: column {f.name[:60]!r} holds binary data; store ids as text or numbers "
                             "and export again")
    total = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    in_memory = max(total, 8 * meta.num_rows * meta.num_columns)  # at least 8 bytes a value once read
    if in_memory > limits.max_bytes:
        raise over_limit(name, f"its {meta.num_rows:,} rows × {meta.num_columns:,} columns take about "
                         f"{mib(in_memory)} in memory", mib(limits.max_bytes), "max_bytes")
    if total > limits.ratio_floor_bytes and total > limits.max_ratio * max(stored_bytes, 1):
        raise over_limit(name, f"its columns expand {total / max(stored_bytes, 1):,.0f}× when decompressed",
                         f"{limits.max_ratio:,.0f}× ratio", "max_ratio")
    return int(meta.num_rows)

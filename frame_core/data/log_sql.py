"""DuckDB over a stored clean log (a Parquet file of the :mod:`frame_core.common.schema`
columns, rows in source order): the connection settings and the SQL that more than one module
needs, such as the chronological split (docs/design.md §5) as a window query.

Row numbers are DuckDB's ``file_row_number`` (0-based, in file order), the same row order as
the pandas frame :meth:`frame_core.services.workspace.Workspace.load_log` returns.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from frame_core.common import schema as S

MEMORY_LIMIT = "2GB"
"""DuckDB's memory limit per connection; larger sorts and joins spill to its temp folder."""


def connect(temp_dir: str | os.PathLike | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with bounded memory (:data:`MEMORY_LIMIT`; results come in
    no particular order unless the query has ORDER BY), spilling to
    ``temp_dir`` (DuckDB's default when None), using ``threads`` (all cores when None)."""
    con = duckdb.connect(":memory:", config={"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": False})
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_dir is not None:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(temp_dir)])
    return con


def source(path) -> str:
    """``read_parquet(...)`` of a log file with its row numbers as ``row`` (SQL text; the path
    is quoted as an SQL string literal)."""
    quoted = str(Path(path)).replace("'", "''")
    return f"(SELECT *, file_row_number AS row FROM read_parquet('{quoted}', file_row_number = true))"


def split_select(path, test_frac: float = 0.2, val_frac: float = 0.1) -> str:
    """SQL selecting ``row`` and ``part`` (0 train, 1 validation, 2 test) of every row: per
    user, by (interaction_timestamp, row), the last floor(test_frac·n) rows are test and the
    floor(val_frac·n) before them validation, as :func:`frame_core.data.split.chronological_split`."""
    return f"""
        SELECT row, CASE WHEN pos >= n - nt THEN 2 WHEN pos >= n - nt - nv THEN 1 ELSE 0 END::TINYINT AS part
        FROM (
            SELECT row, pos, n, floor({float(test_frac)!r} * n + 1e-9) AS nt, floor({float(val_frac)!r} * n + 1e-9) AS nv
            FROM (
                SELECT row,
                       row_number() OVER (PARTITION BY {S.USER} ORDER BY {S.TIMESTAMP}, row) - 1 AS pos,
                       count(*) OVER (PARTITION BY {S.USER}) AS n
                FROM {source(path)}
            )
        )"""


def new_video_test_share(con: duckdb.DuckDBPyConnection, path) -> float:
    """Share of test views (chronological split) whose video has no training view; NaN when
    there is no test view."""
    q = f"""
        WITH s AS ({split_select(path)}),
        t AS (SELECT l.{S.VIDEO} AS v, s.part FROM {source(path)} l JOIN s USING (row)),
        trained AS (SELECT DISTINCT v FROM t WHERE part = 0)
        SELECT count(*) AS n, count(*) FILTER (WHERE v NOT IN (SELECT v FROM trained)) AS new
        FROM t WHERE part = 2"""
    n, new = con.execute(q).fetchone()
    return float(new) / n if n else float("nan")

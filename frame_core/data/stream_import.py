"""Streamed import: a text log is parsed by Arrow in blocks, checked block by block
(:mod:`frame_core.data.arrow_blocks`) and written as it goes to a Parquet file of the clean
log (docs/design.md §1 and README "Large logs"); memory stays bounded by the block size plus
a few bytes per row (:mod:`frame_core.data.import_tally`), whatever the file's size.

:func:`import_to_parquet` gives the same clean rows and the same
:class:`~frame_core.data.validation.ValidationReport` (counts by reason, examples, warnings,
statistics) as the pandas path, :func:`frame_core.data.validation.validate_log`; the tests
compare both on the bad-input corpus and on generated logs. Files Arrow cannot stream (Parquet
sources, malformed text, duplicate column names) take the pandas path and are written to the
same Parquet, so every message of that path still holds.

The stored Parquet: ids as dictionary-encoded strings, times float64 seconds, flags int8, one
row group per block (:data:`BLOCK_BYTES` of text, about 150,000 rows), snappy-compressed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from pandas._libs.parsers import STR_NA_VALUES

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.data import intake, logio
from frame_core.data import validation as V
from frame_core.data.arrow_blocks import CODE, ColumnPlan, check_block
from frame_core.data.import_tally import Tally
from frame_core.data.limits import DEFAULT_LIMITS, InputLimits
from frame_core.data.stream_report import build_report

BLOCK_BYTES = 8 * 1024**2
PROBE_BYTES = 256 * 1024  # the first block, read once for the column names and types
NULLS = sorted(STR_NA_VALUES)  # pandas' default na_values: what the pandas path reads as missing
PARQUET_OPTIONS = {"compression": "snappy", "use_dictionary": [S.USER, S.VIDEO], "write_statistics": False,
                   "dictionary_pagesize_limit": 64 * 1024**2}


class _Fallback(Exception):
    """Arrow cannot stream this file: take the pandas path."""


class _TextColumn(Exception):
    def __init__(self, column: str):
        self.column = column


def import_to_parquet(source, out_path, *, mapping=None, time_unit: str = "s", max_bytes: int | None = None,
                      limits: InputLimits | None = None, tmp_dir=None, name: str | None = None) -> V.ValidationReport:
    """Read, check and store a log: the clean rows go to the Parquet file ``out_path`` (written
    atomically: a temporary name, renamed at the end) and the validation report is returned.
    Arguments as :func:`frame_core.data.validation.import_log`. Raises InputError, one line, for
    the same problems and with the same messages; nothing is left at ``out_path`` then."""
    mapping = V.parse_mapping(mapping)
    if time_unit not in V._UNIT_FACTOR:
        raise InputError(f"bad time unit {time_unit!r}; use s or ms")
    limits = limits or DEFAULT_LIMITS
    if max_bytes is not None:
        limits = InputLimits(**{**limits.__dict__, "max_bytes": int(max_bytes)})
    out_path = Path(out_path)
    part = out_path.with_name(f".{out_path.name}.part-{os.getpid()}-{threading.get_ident()}")
    try:
        with intake.staged_log(source, limits=limits, tmp_dir=tmp_dir, name=name) as staged:
            report_name = name or _report_name(source)
            try:
                if staged.kind != "text" or staged.delimiter is None:
                    raise _Fallback
                report = _stream(staged, part, mapping, time_unit, report_name, tmp_dir)
            except _Fallback:
                report = _via_frame(staged, part, mapping, time_unit, report_name)
        os.replace(part, out_path)
    finally:
        with contextlib.suppress(OSError):
            part.unlink()
    return report


def _report_name(source) -> str:
    name = getattr(source, "name", None) or ("uploaded file" if isinstance(source, (bytes, bytearray)) else str(source))
    return str(name).rsplit("/", 1)[-1]


def _via_frame(staged, part: Path, mapping, time_unit: str, name: str) -> V.ValidationReport:
    """The pandas path (whole file in memory), written to the same Parquet layout."""
    inverse = {v: k for k, v in mapping.items()}
    raw = logio._read_staged(staged, [inverse.get(S.USER, S.USER), inverse.get(S.VIDEO, S.VIDEO)], None)
    clean, report = V.validate_log(raw, mapping=mapping, time_unit=time_unit, name=name)
    table = pa.Table.from_pandas(clean, preserve_index=False)
    table = table.cast(_schema([c for c in S.OPTIONAL_FLAGS if c in clean.columns]))
    pq.write_table(table, part, row_group_size=1 << 20, **PARQUET_OPTIONS)
    return report


def _schema(flags) -> pa.Schema:
    fields = [(S.USER, pa.string()), (S.VIDEO, pa.string()), (S.PLAY, pa.float64()), (S.DURATION, pa.float64()),
              (S.TIMESTAMP, pa.float64())] + [(f, pa.int8()) for f in flags]
    return pa.schema(fields)


def _reader(staged, types=None, block_bytes: int | None = None):
    return pcsv.open_csv(
        staged.path,
        read_options=pcsv.ReadOptions(block_size=block_bytes or BLOCK_BYTES, use_threads=True),
        parse_options=pcsv.ParseOptions(delimiter=staged.delimiter),
        convert_options=pcsv.ConvertOptions(column_types=types or {}, null_values=NULLS, strings_can_be_null=True),
    )


def _probe(staged, name: str) -> tuple[list[str], pa.Schema]:
    """Column names (stripped) and the inferred types of the first block; the first block's
    whole-file checks of the pandas path (no data rows, mixed delimiters)."""
    try:
        reader = _reader(staged, block_bytes=PROBE_BYTES)
        first = next((b for b in reader if b.num_rows), None)
    except (pa.ArrowInvalid, StopIteration):
        raise _Fallback from None
    raw_names = reader.schema.names
    names = [str(c).strip() for c in raw_names]
    if len(set(names)) != len(names) or any(not c for c in names):
        raise _Fallback  # pandas renames duplicate and blank headers: leave those to it
    if first is None:
        raise InputError(f"{name} has a header ({', '.join(names[:8])}) but no data rows; export the log with its rows")
    head = first.slice(0, 50_000).to_pandas()
    head.columns = names
    logio._check_row_delimiter(head, staged.delimiter, name)
    return raw_names, reader.schema


def _plan(raw_names, schema: pa.Schema, mapping: dict, time_unit: str, name: str) -> ColumnPlan:
    names = [str(c).strip() for c in raw_names]
    unknown = [s for s in mapping if s not in names]
    if unknown:
        raise InputError(f"--map names column(s) {', '.join(unknown)} that {name} does not have; "
                         f"columns found: {', '.join(names[:20])}")
    target: dict[str, str] = {}
    used = []
    for raw, stripped in zip(raw_names, names):
        t = mapping.get(stripped, stripped)
        if t not in target:  # the first of several columns mapped to one name wins
            target[t] = raw
            used.append(t)
    missing = [c for c in S.REQUIRED if c not in target]
    if missing:
        raise V._missing_columns_error(pd.DataFrame(columns=names), missing, name)
    core = {S.USER, S.VIDEO, S.PLAY, S.DURATION, S.TIMESTAMP}
    flags = tuple(c for c in S.OPTIONAL_FLAGS if c in target)
    extra = tuple(target[t] for t in used if t not in core and t not in flags)
    inferred = {f.name: f.type for f in schema}
    numeric = [target[c] for c in (*S.TIME_COLUMNS, *flags) if c in target]
    text = frozenset(c for c in numeric if pa.types.is_string(inferred.get(c, pa.null())))
    src = {c: target.get(c) for c in (*core, *flags)}
    display = {}
    for raw, t in inferred.items():
        if raw in (target[S.USER], target[S.VIDEO]):
            continue  # ids are text
        if pa.types.is_integer(t):
            display[raw] = "int"
        elif pa.types.is_floating(t):
            display[raw] = "float"
    return ColumnPlan(source=src, flags=flags, extra=extra, factor=V._UNIT_FACTOR[time_unit], text_times=text,
                      display=display)


_CONVERSION = re.compile(r"In CSV column #(\d+): .*conversion error", re.S)


def _stream(staged, part: Path, mapping, time_unit: str, name: str, tmp_dir) -> V.ValidationReport:
    raw_names, schema = _probe(staged, name)
    plan = _plan(raw_names, schema, mapping, time_unit, name)
    for _ in range(len(S.TIME_COLUMNS) + len(plan.flags) + 1):
        try:
            tally = _pass(staged, part, plan)
            break
        except _TextColumn as exc:  # a number column holds text past the first block: read it as text
            plan = ColumnPlan(source=plan.source, flags=plan.flags, extra=plan.extra, factor=plan.factor,
                              text_times=plan.text_times | {exc.column},
                              display={k: v for k, v in plan.display.items() if k != exc.column})  # shown as text, as pandas does
    else:
        raise _Fallback
    dup = _duplicates(tally, part, plan)
    if len(dup):
        _drop_duplicates(tally, part, dup, staged, plan)
    return build_report(tally, part, name, time_unit, plan.source.get(S.TIMESTAMP) is not None, tmp_dir)


def _pass(staged, part: Path, plan: ColumnPlan) -> Tally:
    """One pass over the file: check every block, write the clean rows, tally the rest."""
    tally = Tally(staged.lines, plan.display)
    writer_q: queue.Queue = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def write() -> None:
        writer = None
        try:
            while (table := writer_q.get()) is not None:
                if writer is None:
                    writer = pq.ParquetWriter(part, table.schema, **PARQUET_OPTIONS)
                writer.write_table(table)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            failure.append(exc)
            while writer_q.get() is not None:
                pass
        finally:
            if writer is not None:
                writer.close()

    thread = threading.Thread(target=write, name="frame-parquet-writer", daemon=True)
    thread.start()
    wrote = False
    try:
        reader = _reader(staged, plan.column_types())
        first = 0
        for batch in _batches(reader, raw_index=list(reader.schema.names)):
            block = check_block(batch, plan, first)
            tally.add(block, batch, first)
            first += batch.num_rows
            if block.clean.num_rows or not wrote:
                writer_q.put(block.clean)
                wrote = True
            if failure:
                break
    finally:
        writer_q.put(None)
        thread.join()
    if failure:
        raise failure[0]
    return tally


def _batches(reader, raw_index: list[str]):
    """The reader's batches; a number column that holds text raises _TextColumn, any other
    Arrow refusal _Fallback."""
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            m = _CONVERSION.search(str(exc))
            if m and int(m.group(1)) < len(raw_index):
                raise _TextColumn(raw_index[int(m.group(1))]) from None
            raise _Fallback from None
        if batch.num_rows:
            yield batch


def _duplicates(tally: Tally, part: Path, plan: ColumnPlan) -> np.ndarray:
    """Clean-row positions that are exact copies of an earlier clean row (all source columns
    equal, the extra columns through their hash as on the pandas path); the first is kept."""
    cand = tally.duplicate_candidates()
    if len(cand) == 0:
        return cand
    cols = [S.USER, S.VIDEO, S.PLAY, S.DURATION, S.TIMESTAMP]
    sub = _take_rows(part, cand, cols).to_pandas()
    if tally.extra_key is not None:
        sub["x"] = tally.extra_key[cand]
    return cand[sub.duplicated(keep="first").to_numpy()]


def _take_rows(path: Path, positions: np.ndarray, columns) -> pa.Table:
    """Rows at sorted ``positions`` of a Parquet file, reading only the row groups that hold them."""
    pf = pq.ParquetFile(path)
    sizes = np.array([pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)], dtype="int64")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    group = np.searchsorted(starts, positions, side="right") - 1
    parts = []
    for g in np.unique(group):
        t = pf.read_row_group(int(g), columns=list(columns))
        parts.append(t.take(pa.array(positions[group == g] - starts[g])))
    return pa.concat_tables(parts)


def _drop_duplicates(tally: Tally, part: Path, dup: np.ndarray, staged, plan: ColumnPlan) -> None:
    """Remove the duplicate rows from the written file and the tallies, and report them with
    their source rows (read again from the source: only these rows are kept)."""
    ids = _take_rows(part, dup, [S.USER, S.VIDEO])
    tally.users.remove(ids.column(0).to_pylist())
    tally.videos.remove(ids.column(1).to_pylist())
    keep = np.ones(tally.n_clean, dtype=bool)
    keep[dup] = False
    rows = tally.row[: tally.n_clean][dup].astype("int64")
    for name in ("ratio", "duration", "key", "row"):
        setattr(tally, name, getattr(tally, name)[: tally.n_clean][keep])
    tally.n_clean = int(keep.sum())
    reader = _reader(staged, plan.column_types())
    first = 0
    for batch in _batches(reader, list(reader.schema.names)):
        inside = rows[(rows >= first) & (rows < first + batch.num_rows)] - first
        if len(inside):
            tally.add_rejected(batch, inside, np.full(len(inside), CODE["duplicate"], dtype="int8"), first)
        first += batch.num_rows
    # rewrite without the duplicates, re-checking the clock order on the rows that remain
    tmp = part.with_name(part.name + ".dedup")
    pf = pq.ParquetFile(part)
    offset, last, unsorted = 0, -np.inf, False
    with pq.ParquetWriter(tmp, pf.schema_arrow, **PARQUET_OPTIONS) as writer:
        for g in range(pf.num_row_groups):
            t = pf.read_row_group(g)
            t = t.filter(pa.array(keep[offset: offset + t.num_rows]))
            offset += pf.metadata.row_group(g).num_rows
            ts = t.column(S.TIMESTAMP).to_numpy()
            if len(ts):
                unsorted |= bool(ts[0] < last) or bool((np.diff(ts) < 0).any())
                last = float(ts[-1])
            writer.write_table(t)
    os.replace(tmp, part)
    tally.unsorted = unsorted

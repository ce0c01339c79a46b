"""The row checks of :mod:`frame_core.data.validation`, vectorised over one Arrow record batch
of a streamed text log (docs/design.md §1, "rows that can't be used").

A :class:`ColumnPlan` says which source column feeds which schema column and how it is read
(ids as text, times as float64). :func:`check_block` gives, for one batch, each row's reason
code (0 = usable, else the index of the first reason that applies, in the order of
:data:`frame_core.data.validation.REASONS`), the clean rows as an Arrow table of the log schema
(times in seconds), and what the duplicate check and the report need: a 64-bit hash of each
usable row's values, its watch ratio and duration.

The rules are the pandas path's, value for value: ids are stripped of whitespace and missing
when null or empty (the null markers are pandas' ``na_values``: ``NA``, ``n/a``, ``null``…);
times are missing (``bad_time``) when null, text or not finite; flags are 0/1 after rounding.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from frame_core.common import schema as S

REASON_KEYS = ("missing_id", "id_too_long", "bad_time", "duration_le_0", "negative_play", "duplicate")
"""Reason codes 1, 2, … in this order (0 = usable); the same order as validation.REASONS."""
CODE = {k: i + 1 for i, k in enumerate(REASON_KEYS)}
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_MIX = np.uint64(1_000_003)


@dataclasses.dataclass(frozen=True)
class ColumnPlan:
    """Source column (by name) of each schema column, after ``--map``; ``None`` when absent
    (only the timestamp and the flags may be). ``extra`` are the other source columns: they
    count in the duplicate check only. ``text_times`` lists the time/flag source columns that
    are read as text and converted here (set when Arrow refused to read them as numbers)."""

    source: dict[str, str | None]
    flags: tuple[str, ...]
    extra: tuple[str, ...]
    factor: float
    text_times: frozenset[str] = frozenset()
    display: dict[str, str] = dataclasses.field(default_factory=dict)
    """How the report shows each source column's values: "int" or "float" where the first
    block read as whole numbers or numbers (the pandas path's types)."""

    def column_types(self) -> dict[str, pa.DataType]:
        """Arrow types for the CSV reader, by source column name."""
        types = {self.source[S.USER]: pa.string(), self.source[S.VIDEO]: pa.string()}
        numeric = [self.source[c] for c in S.TIME_COLUMNS if self.source.get(c)] + [self.source[f] for f in self.flags]
        for col in numeric:
            types[col] = pa.string() if col in self.text_times else pa.float64()
        for col in self.extra:
            types[col] = pa.string()
        return types


def _float(arr, text: bool) -> np.ndarray:
    """float64 values of a column; null, text and anything not a number become NaN."""
    if text:
        arr = pc.utf8_trim_whitespace(arr)
        ok = pc.fill_null(pc.match_substring_regex(arr, _NUMBER), False)
        arr = pc.cast(pc.if_else(ok, arr, pa.scalar(None, pa.string())), pa.float64())
    return pc.fill_null(arr, float("nan")).to_numpy(zero_copy_only=False).astype("float64", copy=False)


def _ids(arr) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """(stripped ids, missing, longer than the id limit)."""
    ids = pc.utf8_trim_whitespace(arr)
    nbytes = pc.fill_null(pc.binary_length(ids), 0).to_numpy(zero_copy_only=False)
    if len(nbytes) and nbytes.max() > S.MAX_ID_LENGTH:  # characters ≤ bytes: count them only then
        return ids, nbytes == 0, pc.fill_null(pc.utf8_length(ids), 0).to_numpy(zero_copy_only=False) > S.MAX_ID_LENGTH
    return ids, nbytes == 0, np.zeros(len(nbytes), dtype=bool)


def _mix(key: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Fold 64-bit words into a running row key (multiply-xorshift; wraps modulo 2^64)."""
    x = values.astype("uint64", copy=False) * np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(29)
    return key * _MIX ^ x


@dataclasses.dataclass
class Block:
    """What one batch gives. ``reason`` has one code per row of the batch; the other arrays
    one entry per usable row: ``clean`` (Arrow table of the log schema), ``key`` (hash of the
    values the duplicate check compares), ``extra_key`` (hash of the extra columns, or None),
    ``ratio`` (playing / duration) and ``duration`` (seconds)."""

    reason: np.ndarray
    clean: pa.Table
    key: np.ndarray
    extra_key: np.ndarray | None
    ratio: np.ndarray
    duration: np.ndarray


def check_block(batch: pa.RecordBatch, plan: ColumnPlan, first_row: int) -> Block:
    """Check one batch whose first row is data row ``first_row`` (0-based) of the file."""
    n = batch.num_rows
    col = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
    src = plan.source
    users, u_miss, u_long = _ids(col[src[S.USER]])
    videos, v_miss, v_long = _ids(col[src[S.VIDEO]])
    text = plan.text_times
    play = _float(col[src[S.PLAY]], src[S.PLAY] in text) * plan.factor
    dur = _float(col[src[S.DURATION]], src[S.DURATION] in text) * plan.factor
    if src.get(S.TIMESTAMP):
        ts = _float(col[src[S.TIMESTAMP]], src[S.TIMESTAMP] in text) * plan.factor
    else:
        ts = np.arange(first_row, first_row + n, dtype="float64")
    conditions = (
        u_miss | v_miss,
        u_long | v_long,
        ~(np.isfinite(play) & np.isfinite(dur) & np.isfinite(ts)),
        dur <= 0,
        play < 0,
    )
    reason = np.zeros(n, dtype="int8")
    for code, cond in enumerate(conditions, start=1):
        reason[(reason == 0) & cond] = code
    keep = reason == 0
    mask = pa.array(keep)
    clean_cols = {
        S.USER: pc.filter(users, mask),
        S.VIDEO: pc.filter(videos, mask),
        S.PLAY: pa.array(play[keep]),
        S.DURATION: pa.array(dur[keep]),
        S.TIMESTAMP: pa.array(ts[keep]),
    }
    for f in plan.flags:
        v = np.nan_to_num(_float(col[src[f]], src[f] in text)[keep], nan=0.0)
        clean_cols[f] = pa.array(v.clip(0, 1).round().astype("int8"))
    clean = pa.table(clean_cols)
    # the duplicate key: the three times and the ids' byte lengths (cheap; candidates that
    # share a key are compared exactly, ids included, by stream_import._duplicates)
    key = _mix(_mix((play[keep] + 0.0).view("uint64"), (dur[keep] + 0.0).view("uint64")), (ts[keep] + 0.0).view("uint64"))
    lengths = pc.binary_length(clean_cols[S.USER]).to_numpy(zero_copy_only=False).astype("uint64")
    key = _mix(key, lengths << np.uint64(32) | pc.binary_length(clean_cols[S.VIDEO]).to_numpy(zero_copy_only=False).astype("uint64"))
    extra_key = None
    extras = [src[f] for f in plan.flags] + list(plan.extra)
    if extras:
        extra = pa.table({f"x{i}": pc.cast(col[name], pa.string()) for i, name in enumerate(extras)}).filter(mask)
        extra_key = pd.util.hash_pandas_object(extra.to_pandas(), index=False).to_numpy()
    pk, dk = play[keep], dur[keep]
    return Block(reason=reason, clean=clean, key=key, extra_key=extra_key, ratio=pk / dk, duration=dk)

"""What a streamed import keeps while the blocks go by, in bounded memory: rejection counts
and examples, the first rejected rows (for ``rejected.csv``), views per user and per video,
and the watch ratio and duration of every usable row (for the exact medians of the report).

The report's warnings and statistics are then the pandas path's
(:func:`frame_core.data.validation._add_warnings_and_stats`), computed from these tallies; the
few that need the chronological split (the sparsity note) ask DuckDB over the stored Parquet
(:mod:`frame_core.data.log_sql`). Memory: 16 bytes per usable row for the ratio and duration,
8 for the duplicate key and 4 for the row number, plus one entry per distinct id.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from frame_core.data.arrow_blocks import REASON_KEYS

N_EXAMPLES = 5
MAX_REJECTED_KEPT = 100_000
_COMBINE_AT = 2_000_000


def _shown(val, kind: str | None):
    """A source value as the pandas path shows it: text that the column's first block read as
    whole numbers (``kind`` "int") or numbers ("float") is shown as a number."""
    if kind is None or val is None:
        return val
    try:
        x = float(val)
    except (TypeError, ValueError):
        return val
    if kind == "int" and x == int(x) and abs(x) < 2**63:
        return int(x)
    return x if kind in ("int", "float") else val


def _shown_column(col: pd.Series, kind: str) -> pd.Series:
    num = pd.to_numeric(col, errors="coerce")
    if num.isna().sum() != col.isna().sum():
        return col  # some text in it: the pandas path would have kept it as text too
    if kind == "int" and num.notna().all() and (num == num.round()).all():
        return num.astype("int64")
    return num


class IdCounts:
    """Views per distinct id over a stream of string arrays (merged with Arrow group-bys)."""

    def __init__(self):
        self.parts: list[pa.Table] = []
        self.size = 0

    def add(self, ids: pa.Array) -> None:
        vc = pc.value_counts(ids)
        self.parts.append(pa.table({"id": vc.field("values"), "n": vc.field("counts")}))
        self.size += len(vc)
        if self.size > _COMBINE_AT:
            self._combine()

    def _combine(self) -> None:
        if len(self.parts) > 1:
            t = pa.concat_tables(self.parts).group_by("id").aggregate([("n", "sum")])
            self.parts = [t.rename_columns(["id", "n"])]
        self.size = sum(len(p) for p in self.parts)

    def remove(self, ids) -> None:
        """Take one view off each of ``ids`` (rows found to be duplicates after the stream)."""
        if len(ids):
            minus = pd.Series(ids, dtype=object).value_counts()
            self.parts.append(pa.table({"id": pa.array([str(x) for x in minus.index], pa.string()),
                                        "n": pa.array(-minus.to_numpy(), pa.int64())}))
            self._combine()

    def counts(self) -> np.ndarray:
        """Views of every distinct id (ids with no view left are dropped)."""
        self._combine()
        if not self.parts:
            return np.zeros(0, dtype="int64")
        n = self.parts[0].column("n").to_numpy()
        return n[n > 0]


class Tally:
    """Accumulates the blocks of one import (see the module docstring). ``capacity`` is an
    upper bound on the rows (the staged file's line count); arrays grow if it is exceeded."""

    def __init__(self, capacity: int, display: dict[str, str] | None = None):
        cap = max(int(capacity), 1)
        self.display = display or {}
        self.ratio = np.empty(cap, dtype="float64")
        self.duration = np.empty(cap, dtype="float64")
        self.key = np.empty(cap, dtype="uint64")
        self.extra_key: np.ndarray | None = None
        self.row = np.empty(cap, dtype="int64" if cap >= 2**31 else "int32")
        self.n_clean = 0
        self.n_input = 0
        self.rejected = dict.fromkeys(REASON_KEYS, 0)
        self.examples: dict[str, list[dict[str, Any]]] = {}
        self.rejected_parts: list[pd.DataFrame] = []
        self.n_rejected_kept = 0
        self.users = IdCounts()
        self.videos = IdCounts()
        self.last_ts = -np.inf
        self.unsorted = False

    def _grow(self, need: int) -> None:
        if need <= len(self.ratio):
            return
        cap = max(need, 2 * len(self.ratio))
        for name in ("ratio", "duration", "key", "row", "extra_key"):
            arr = getattr(self, name)
            if arr is not None:
                new = np.empty(cap, dtype=arr.dtype)
                new[: self.n_clean] = arr[: self.n_clean]
                setattr(self, name, new)

    def add(self, block, raw: pa.RecordBatch, first_row: int) -> None:
        n_ok = block.clean.num_rows
        a, b = self.n_clean, self.n_clean + n_ok
        self._grow(b)
        self.ratio[a:b] = block.ratio
        self.duration[a:b] = block.duration
        self.key[a:b] = block.key
        if block.extra_key is not None:
            if self.extra_key is None:
                self.extra_key = np.empty(len(self.ratio), dtype="uint64")
            self.extra_key[a:b] = block.extra_key
        ok = block.reason == 0
        self.row[a:b] = first_row + np.flatnonzero(ok)
        self.n_clean = b
        self.n_input += len(block.reason)
        ts = block.clean.column(4).to_numpy()
        if len(ts):
            self.unsorted |= bool(ts[0] < self.last_ts) or bool((np.diff(ts) < 0).any())
            self.last_ts = float(ts[-1])
        self.users.add(block.clean.column(0))
        self.videos.add(block.clean.column(1))
        if not ok.all():
            self.add_rejected(raw, np.flatnonzero(~ok), block.reason[~ok], first_row)

    def add_rejected(self, raw, idx: np.ndarray, reason_codes: np.ndarray, first_row: int) -> None:
        """Count and keep rows ``idx`` of ``raw`` (a batch or table of source rows) with their
        reason codes; ``first_row`` is the data-row number of ``raw``'s first row."""
        keys = np.asarray(REASON_KEYS, dtype=object)[reason_codes.astype("int64") - 1]
        for code in np.unique(reason_codes):
            k = REASON_KEYS[int(code) - 1]
            sel = idx[reason_codes == code]
            self.rejected[k] += len(sel)
            have = self.examples.setdefault(k, [])
            if len(have) < N_EXAMPLES:
                for i, rec in zip(sel[: N_EXAMPLES - len(have)], raw.take(pa.array(sel[: N_EXAMPLES - len(have)])).to_pylist()):
                    rec = {key: _shown(val, self.display.get(key)) for key, val in rec.items()}
                    rec["line"] = int(first_row + i) + 2  # the header is line 1
                    for key, val in rec.items():
                        if isinstance(val, str) and len(val) > 60:
                            rec[key] = val[:57] + "…"
                    have.append(rec)
        room = MAX_REJECTED_KEPT - self.n_rejected_kept
        if room > 0:
            take = idx[:room]
            frame = raw.take(pa.array(take)).to_pandas()
            for col, kind in self.display.items():
                if col in frame.columns:
                    frame[col] = _shown_column(frame[col], kind)
            frame.insert(0, "reason", keys[:room])
            frame.insert(0, "line", first_row + take + 2)
            self.rejected_parts.append(frame)
            self.n_rejected_kept += len(take)

    def rejected_rows(self) -> pd.DataFrame:
        """The first rejected rows, by line, at most :data:`MAX_REJECTED_KEPT`."""
        if not self.rejected_parts:
            return pd.DataFrame()
        out = pd.concat(self.rejected_parts, ignore_index=True).sort_values("line", kind="stable")
        return out.head(MAX_REJECTED_KEPT).reset_index(drop=True)

    def sorted_examples(self) -> dict[str, list[dict[str, Any]]]:
        return {k: sorted(v, key=lambda r: r["line"])[:N_EXAMPLES] for k, v in self.examples.items() if v}

    def duplicate_candidates(self) -> np.ndarray:
        """Clean-row positions whose key occurs more than once (true duplicates and hash
        collisions; :mod:`frame_core.data.stream_import` compares them exactly)."""
        key = self.key[: self.n_clean]
        if self.n_clean < 2:
            return np.zeros(0, dtype="int64")
        s = np.sort(key)
        twice = s[1:][s[1:] == s[:-1]]
        if len(twice) == 0:
            return np.zeros(0, dtype="int64")
        return np.flatnonzero(np.isin(key, np.unique(twice)))

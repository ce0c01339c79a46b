"""Turning a raw table into the clean log of :mod:`frame_core.common.schema`, with a validation report.

Rows that cannot be used are **rejected, never silently dropped**: each gets the first reason
that applies, in this order, and the report counts them and keeps examples.

=================  ====================================================================
reason             meaning
=================  ====================================================================
missing_id         user_id or video_id is empty
id_too_long        an id is longer than 256 characters
bad_time           playing_time, duration_time or interaction_timestamp is not a finite
                   number (text, NaN, inf)
duration_le_0      duration_time ≤ 0 (unknown length; the watch ratio is undefined)
negative_play      playing_time < 0
duplicate          an exact copy of an earlier row (all columns equal); the first is kept
=================  ====================================================================
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.data.limits import InputLimits
from frame_core.data.logio import Source, read_table
from frame_core.data.sparsity import loop_note, sparsity_warnings

REASONS = {
    "missing_id": "user_id or video_id is missing",
    "id_too_long": f"an id is longer than {S.MAX_ID_LENGTH} characters",
    "bad_time": "a time is not a finite number (text, NaN or inf)",
    "duration_le_0": "duration_time is zero or negative",
    "negative_play": "playing_time is negative",
    "duplicate": "exact duplicate of an earlier row",
}
_UNIT_FACTOR = {"s": 1.0, "ms": 1e-3}
N_EXAMPLES = 5
MAX_REJECTED_KEPT = 100_000


@dataclasses.dataclass
class ValidationReport:
    """What import did. ``rejected`` maps reason → count; ``examples`` reason → list of dicts
    (the source row, with its 1-based data ``line`` number); ``warnings`` are sentences."""

    source: str
    n_input: int
    n_clean: int
    rejected: dict[str, int]
    examples: dict[str, list[dict[str, Any]]]
    warnings: list[str]
    stats: dict[str, float]
    rejected_rows: pd.DataFrame = dataclasses.field(repr=False, default_factory=pd.DataFrame)

    @property
    def n_rejected(self) -> int:
        return int(sum(self.rejected.values()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (no DataFrames)."""
        return {
            "source": self.source,
            "n_input": self.n_input,
            "n_clean": self.n_clean,
            "n_rejected": self.n_rejected,
            "rejected": self.rejected,
            "examples": json.loads(json.dumps(self.examples, default=str)),
            "warnings": self.warnings,
            "stats": self.stats,
        }

    def to_text(self) -> str:
        lines = [
            f"{self.source}: {self.n_input:,} rows read, {self.n_clean:,} accepted, "
            f"{self.n_rejected:,} rejected"
        ]
        for reason, count in self.rejected.items():
            if count:
                lines.append(f"  rejected {count:,} rows: {REASONS[reason]} ({reason})")
                for ex in self.examples.get(reason, [])[:3]:
                    shown = ", ".join(f"{k}={v}" for k, v in ex.items())
                    lines.append(f"      e.g. {shown[:200]}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        for k, v in self.stats.items():
            lines.append(f"  {k}: {v:,.4g}")
        return "\n".join(lines)


def parse_mapping(items) -> dict[str, str]:
    """Parse ``["src=dst", ...]`` (or a dict) into a mapping from source to schema column."""
    if items is None:
        return {}
    if isinstance(items, dict):
        pairs = items.items()
    else:
        pairs = []
        for item in items:
            if "=" not in item:
                raise InputError(f"bad --map {item!r}: write it as SOURCE=TARGET, e.g. play_time_ms=playing_time")
            src, dst = item.split("=", 1)
            pairs.append((src.strip(), dst.strip()))
    mapping = {}
    for src, dst in pairs:
        if dst not in S.ALL_COLUMNS:
            raise InputError(f"bad mapping target {dst!r}; targets are {', '.join(S.ALL_COLUMNS)}")
        mapping[src] = dst
    return mapping


def suggest_mapping(columns) -> tuple[dict[str, str], str | None]:
    """Guess a mapping from known aliases (source → schema) and the unit it implies."""
    mapping, unit = {}, None
    present = set(columns)
    for col in columns:
        key = str(col).strip().lower()
        if key in S.ALIASES:
            target, u = S.ALIASES[key]
            if target not in present and target not in mapping.values():
                mapping[col] = target
                if u and target in (S.PLAY, S.DURATION):
                    unit = u
    return mapping, unit


def _missing_columns_error(df: pd.DataFrame, missing: list[str], name: str) -> InputError:
    found = ", ".join(map(str, df.columns[:20])) + (" …" if len(df.columns) > 20 else "")
    sugg, unit = suggest_mapping(df.columns)
    hint = ""
    if sugg:
        hint = " Suggested mapping: " + ", ".join(f"{s}={d}" for s, d in sugg.items())
        if unit:
            hint += f", time unit {unit}"
        hint += " (command line: " + " ".join(f"--map {s}={d}" for s, d in sugg.items())
        hint += f" --time-unit {unit})." if unit else ")."
    return InputError(
        f"{name} lacks required column(s) {', '.join(missing)}; columns found: {found}.{hint}"
    )


def _to_float(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _ids(col: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(col):
        # 12.0 -> "12" (ids read as floats because of gaps); NaN stays missing
        vals = col.to_numpy()
        out = pd.Series(np.where(np.isfinite(vals), vals, np.nan), index=col.index)
        as_int = out.dropna()
        if len(as_int) and np.all(as_int == np.floor(as_int)):
            return out.astype("Int64").astype("str")
    if not (pd.api.types.is_string_dtype(col) and col.dtype != object):
        col = col.astype("str")
    return col.str.strip()


def validate_log(
    raw: pd.DataFrame,
    *,
    mapping: dict[str, str] | None = None,
    time_unit: str = "s",
    name: str = "log",
) -> tuple[pd.DataFrame, ValidationReport]:
    """Clean a raw table. Returns (clean log, report).

    ``mapping`` renames source columns to schema columns; ``time_unit`` ("s" or "ms") is the
    unit of the source's playing, duration and timestamp columns. The clean log has the
    columns of :mod:`frame_core.common.schema` (times in seconds), a fresh RangeIndex in source row
    order, and no rejected row. Raises InputError when a required column is missing or no
    usable row remains.
    """
    if time_unit not in _UNIT_FACTOR:
        raise InputError(f"bad time unit {time_unit!r}; use s or ms")
    mapping = dict(mapping or {})
    unknown = [s for s in mapping if s not in raw.columns]
    if unknown:
        raise InputError(
            f"--map names column(s) {', '.join(unknown)} that {name} does not have; "
            f"columns found: {', '.join(map(str, raw.columns[:20]))}"
        )
    df = raw.rename(columns=mapping)
    df = df.loc[:, ~df.columns.duplicated()]
    missing = [c for c in S.REQUIRED if c not in df.columns]
    if missing:
        raise _missing_columns_error(raw, missing, name)
    n = len(df)
    warnings: list[str] = []

    users = _ids(df[S.USER])
    videos = _ids(df[S.VIDEO])
    factor = _UNIT_FACTOR[time_unit]
    play = _to_float(df[S.PLAY]) * factor
    dur = _to_float(df[S.DURATION]) * factor
    if S.TIMESTAMP in df.columns:
        ts = _to_float(df[S.TIMESTAMP]) * factor
    else:
        ts = np.arange(n, dtype="float64")
        warnings.append(
            "no interaction_timestamp column: row order is used as the clock for the "
            "chronological split"
        )

    u_na = users.isna().to_numpy() | (users.str.len().fillna(0).to_numpy() == 0)
    v_na = videos.isna().to_numpy() | (videos.str.len().fillna(0).to_numpy() == 0)
    too_long = (users.str.len().fillna(0).to_numpy() > S.MAX_ID_LENGTH) | (
        videos.str.len().fillna(0).to_numpy() > S.MAX_ID_LENGTH
    )
    bad_time = ~(np.isfinite(play) & np.isfinite(dur) & np.isfinite(ts))
    conditions = [
        ("missing_id", u_na | v_na),
        ("id_too_long", too_long),
        ("bad_time", bad_time),
        ("duration_le_0", dur <= 0),
        ("negative_play", play < 0),
    ]
    reason = np.full(n, "", dtype=object)
    open_ = np.ones(n, dtype=bool)
    for key, cond in conditions:
        hit = open_ & cond
        reason[hit] = key
        open_ &= ~hit

    flags = [c for c in S.OPTIONAL_FLAGS if c in df.columns]
    clean = pd.DataFrame(
        {
            S.USER: users.array,
            S.VIDEO: videos.array,
            S.PLAY: play,
            S.DURATION: dur,
            S.TIMESTAMP: ts,
        }
    )
    for c in flags:
        clean[c] = np.nan_to_num(_to_float(df[c]), nan=0.0).clip(0, 1).round().astype("int8")
    # exact duplicates among otherwise valid rows, judged on the source row
    dup = np.zeros(n, dtype=bool)
    if open_.any():
        dup[open_] = _duplicated(raw, df, users, videos, play, dur, ts, open_)
    reason[dup] = "duplicate"
    open_ &= ~dup

    rejected = {k: int((reason == k).sum()) for k in REASONS}
    examples: dict[str, list[dict[str, Any]]] = {}
    rej_idx = np.flatnonzero(~open_)
    rejected_rows = raw.iloc[rej_idx[:MAX_REJECTED_KEPT]].copy()
    rejected_rows.insert(0, "reason", reason[rej_idx[:MAX_REJECTED_KEPT]])
    rejected_rows.insert(0, "line", rej_idx[:MAX_REJECTED_KEPT] + 2)  # header is line 1
    for k in REASONS:
        if rejected[k]:
            idx = np.flatnonzero(reason == k)[:N_EXAMPLES]
            ex = raw.iloc[idx].astype(object).where(raw.iloc[idx].notna(), None)
            recs = ex.to_dict(orient="records")
            for i, rec in zip(idx, recs):
                rec["line"] = int(i) + 2
                for key, val in rec.items():
                    if isinstance(val, str) and len(val) > 60:
                        rec[key] = val[:57] + "…"
            examples[k] = recs

    clean = clean.loc[open_].reset_index(drop=True)
    report = ValidationReport(
        source=name,
        n_input=n,
        n_clean=len(clean),
        rejected=rejected,
        examples=examples,
        warnings=warnings,
        stats={},
        rejected_rows=rejected_rows,
    )
    if len(clean) == 0:
        reasons = "; ".join(f"{v:,} {REASONS[k]}" for k, v in rejected.items() if v)
        raise InputError(f"{name}: no usable row remains out of {n:,} ({reasons})")
    _add_warnings_and_stats(clean, report, time_unit)
    return clean, report


def _duplicated(raw, df, users, videos, play, dur, ts, keep) -> np.ndarray:
    """Exact duplicates (first kept) among rows ``keep``, judged on every source column.

    Each row gets a 64-bit hash of its values; only rows whose hash occurs more than once are
    then compared exactly, so a hash collision can never reject a row.
    """
    cols = {
        "u": users[keep].factorize()[0],
        "v": videos[keep].factorize()[0],
        "p": play[keep],
        "d": dur[keep],
        "t": ts[keep],
    }
    used = {S.USER, S.VIDEO, S.PLAY, S.DURATION, S.TIMESTAMP}
    extra = [c for c in df.columns if c not in used]
    if extra:
        cols["x"] = pd.util.hash_pandas_object(df.loc[keep, extra].astype(str), index=False).to_numpy()
    h = np.zeros(int(keep.sum()), dtype="uint64")
    for arr in cols.values():
        h = h * np.uint64(1_000_003) ^ pd.util.hash_array(np.asarray(arr))
    cand = pd.Series(h).duplicated(keep=False).to_numpy()
    out = np.zeros(len(h), dtype=bool)
    if cand.any():
        sub = pd.DataFrame({k: np.asarray(v)[cand] for k, v in cols.items()})
        out[cand] = sub.duplicated(keep="first").to_numpy()
    return out


def _add_warnings_and_stats(clean: pd.DataFrame, report: ValidationReport, time_unit: str) -> None:
    r = (clean[S.PLAY] / clean[S.DURATION]).to_numpy()
    n = len(clean)
    w = report.warnings
    if (note := loop_note(r)) is not None:
        w.append(note)
    huge = int((r > 100).sum())
    if huge:
        w.append(
            f"{huge:,} rows have playing_time over 100× duration_time: check that both columns "
            "use the same unit (e.g. --time-unit ms applies to both)"
        )
    med_dur = float(np.median(clean[S.DURATION]))
    if time_unit == "s" and med_dur > 3600:
        w.append(
            f"the median duration is {med_dur:,.0f} s (over an hour): the times may be in "
            "milliseconds; if so, import with --time-unit ms"
        )
    if time_unit == "ms" and med_dur < 0.5:
        w.append(
            f"the median duration is {med_dur * 1000:,.1f} ms: the times may already be in "
            "seconds; if so, import with --time-unit s"
        )
    ts = clean[S.TIMESTAMP].to_numpy()
    if n > 1 and bool((np.diff(ts) < 0).any()):
        w.append(
            "timestamps are not sorted; the split sorts each user's views by "
            "(interaction_timestamp, row order)"
        )
    counts = clean[S.USER].value_counts()
    few = int((counts < 5).sum())
    if few:
        w.append(
            f"{few:,} of {len(counts):,} users have fewer than 5 views; they get no test or "
            "validation rows under the 70/10/20 chronological split"
        )
    w.extend(sparsity_warnings(clean))
    report.stats = {
        "users": float(len(counts)),
        "videos": float(clean[S.VIDEO].nunique()),
        "views": float(n),
        "full_view_share": float((r >= 1).mean()),
        "median_watch_ratio": float(np.median(r)),
    }


def import_log(
    source: Source,
    *,
    mapping=None,
    time_unit: str = "s",
    max_bytes: int | None = None,
    limits: InputLimits | None = None,
    tmp_dir=None,
    name: str | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read and validate a log file through pandas: the whole file as one frame, then
    :func:`validate_log`. The CLI and the workspace use the streamed path,
    :func:`frame_core.data.log_import.import_log` (same arguments, same results); this one is
    the reference it is tested against, and serves the files Arrow cannot stream."""
    mapping = parse_mapping(mapping)
    inverse = {v: k for k, v in mapping.items()}
    id_cols = [inverse.get(S.USER, S.USER), inverse.get(S.VIDEO, S.VIDEO)]
    raw = read_table(source, max_bytes=max_bytes, limits=limits, id_columns=id_cols, tmp_dir=tmp_dir, name=name)
    if name is None:
        name = getattr(source, "name", None) or (
            "uploaded file" if isinstance(source, (bytes, bytearray)) else str(source)
        )
        name = str(name).rsplit("/", 1)[-1]
    return validate_log(raw, mapping=mapping, time_unit=time_unit, name=name)


import_log_pandas = import_log
"""The pandas path under the name the tests and benchmarks compare against."""

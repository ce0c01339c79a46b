"""Descriptive statistics of a clean log along the clip timeline (Home, Skip Explorer, Learn).

Everything here is pure pandas/numpy, vectorised (no Python loop over rows) and follows the
clip conventions of :mod:`frame_core.data.labels`:

- the watch ratio of a view is ``r = playing_time / duration_time``; a **full view** is ``r ≥ 1``;
- the **skip clip** of a view that is not a full view is ``k = min(floor(r · nc), nc - 1)``
  (leaving exactly on a boundary counts for the next clip);
- positions along a video are **fractions** of its duration in ``[0, 1]``; clip ``c`` spans
  ``[c / nc, (c + 1) / nc)``. Callers multiply by a duration (seconds) to show seconds.

"Retention" at a position ``x`` is the share of views still playing at ``x``: views with
``r ≥ x``. At clip boundary ``b`` (``x = b / nc``) it equals the share of views that are full
views or whose skip clip is ``≥ b``, i.e. the views that reached clip ``b``; at ``x = 1`` it is
the full-view share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.data.labels import check_nc, check_policy, is_full_view, skip_clip

_EPS = 1e-9
SORT_KEYS = {
    "views": "most views first",
    "early_skip_share": "highest early-skip share first (left in the first clip)",
    "full_view_share": "highest full-view share first",
}


# ------------------------------------------------------------------------------- per log
def watch_ratio(log: pd.DataFrame) -> np.ndarray:
    """``playing_time / duration_time`` of every row (float64)."""
    return log[S.PLAY].to_numpy(dtype="float64") / log[S.DURATION].to_numpy(dtype="float64")


def kpis(log: pd.DataFrame) -> dict[str, float]:
    """Headline numbers: users, videos, views, full-view share, median watch ratio.

    Shares and medians are NaN for an empty log (nothing to divide by)."""
    n = len(log)
    r = watch_ratio(log) if n else np.zeros(0)
    return {
        "users": int(log[S.USER].nunique()) if n else 0,
        "videos": int(log[S.VIDEO].nunique()) if n else 0,
        "views": int(n),
        "full_view_share": float(np.mean(r >= 1)) if n else float("nan"),
        "median_watch_ratio": float(np.median(r)) if n else float("nan"),
    }


def clip_edges(nc: int) -> np.ndarray:
    """Clip boundaries as fractions of the video: ``[0, 1/nc, …, 1]`` (nc + 1 values)."""
    nc = check_nc(nc)
    return np.arange(nc + 1, dtype="float64") / nc


def skip_histogram(playing_time, duration_time, nc: int) -> pd.DataFrame:
    """Where views ended, per clip. One row per clip with columns:

    - ``clip`` (0-based), ``start``, ``end`` (fractions of the video);
    - ``reached``: views that reached the clip's start (full views included);
    - ``skips``: views that left inside the clip (full views excluded);
    - ``skip_share``: ``skips / all views`` (the histogram; with the full-view share it sums to 1);
    - ``leave_rate``: ``skips / reached`` (the chance of leaving in the clip once reached, NaN when
      no view reached it). ``1 - leave_rate`` is what a ``watched-positive`` clip label models.
    """
    return skip_histogram_from_counts(*skip_counts(playing_time, duration_time, nc))


def skip_counts(playing_time, duration_time, nc: int) -> tuple[np.ndarray, int, int]:
    """(views that left inside each clip (nc,), full views, all views): everything
    :func:`skip_histogram`, :func:`label_counts` and :func:`median_skip_clip` need (the
    ``*_from_counts`` forms take these, so a log too large for memory can count them in SQL)."""
    nc = check_nc(nc)
    p = np.asarray(playing_time, dtype="float64")
    d = np.asarray(duration_time, dtype="float64")
    full = is_full_view(p, d)
    k = skip_clip(p, d, nc)
    return np.bincount(k[~full], minlength=nc)[:nc].astype("int64"), int(full.sum()), len(p)


def skip_histogram_from_counts(skips: np.ndarray, n_full: int, n: int) -> pd.DataFrame:
    """:func:`skip_histogram` from :func:`skip_counts`."""
    skips = np.asarray(skips, dtype="int64")
    nc = len(skips)
    # reached clip b: full views, plus skips with k >= b  -> reverse cumulative sum of skips
    reached = (n_full + np.cumsum(skips[::-1])[::-1]).astype("int64")
    edges = clip_edges(nc)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = skips / n if n else np.full(nc, np.nan)
        rate = np.where(reached > 0, skips / np.maximum(reached, 1), np.nan)
    return pd.DataFrame(
        {
            "clip": np.arange(nc, dtype="int64"),
            "start": edges[:-1],
            "end": edges[1:],
            "reached": reached,
            "skips": skips,
            "skip_share": share,
            "leave_rate": rate,
        }
    )


def retention_at_boundaries(playing_time, duration_time, nc: int) -> pd.DataFrame:
    """Share of views still playing at each clip boundary ``b = 0 … nc``.

    Columns ``boundary``, ``position`` (``b / nc``), ``views`` (count) and ``retained`` (share).
    ``retained`` is 1 at ``b = 0`` (for a non-empty log) and the full-view share at ``b = nc``;
    it matches :func:`skip_histogram`'s ``reached`` column divided by the number of views.
    """
    nc = check_nc(nc)
    h = skip_histogram(playing_time, duration_time, nc)
    n = len(np.asarray(playing_time))
    n_full = int(is_full_view(playing_time, duration_time).sum())
    counts = np.append(h["reached"].to_numpy(), n_full)
    return pd.DataFrame(
        {
            "boundary": np.arange(nc + 1, dtype="int64"),
            "position": clip_edges(nc),
            "views": counts,
            "retained": counts / n if n else np.full(nc + 1, np.nan),
        }
    )


def retention_curve(playing_time, duration_time, points: int = 201) -> pd.DataFrame:
    """Fine-grained retention: share of views with ``r ≥ x`` at ``points`` positions ``x`` from 0
    to 1 (the last point uses the full-view rule ``playing_time ≥ duration_time``).

    Columns ``position`` (fraction) and ``retained`` (share; NaN for no views)."""
    points = max(int(points), 2)
    p = np.asarray(playing_time, dtype="float64")
    d = np.asarray(duration_time, dtype="float64")
    x = np.linspace(0.0, 1.0, points)
    n = len(p)
    if n == 0:
        return pd.DataFrame({"position": x, "retained": np.full(points, np.nan)})
    r = np.sort(p / d)
    still = n - np.searchsorted(r, x - _EPS, side="left")
    still[-1] = int(is_full_view(p, d).sum())
    return pd.DataFrame({"position": x, "retained": still / n})


# ------------------------------------------------------------------------------- per video
def video_codes(log: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    """``(codes, videos)``: for every row the 0-based index of its video in ``videos`` (the
    distinct video ids in order of first appearance). One factorisation serves all per-video
    statistics; looking rows up by id again would cost seconds on a large log."""
    codes, uniques = pd.factorize(log[S.VIDEO], sort=False)
    return np.asarray(codes, dtype="int64"), pd.Index(np.asarray(uniques, dtype=object), name=S.VIDEO)


def video_table(log: pd.DataFrame, nc: int, codes: tuple[np.ndarray, pd.Index] | None = None) -> pd.DataFrame:
    """One row per video (index ``video_id``), sorted by views (most first, ties by id order of
    first appearance). Columns:

    - ``views``, ``full_views``, ``full_view_share``;
    - ``early_skip_share``: share of views that left inside the first clip (changes with nc);
    - ``mean_watch_ratio`` (loops capped at 1), ``duration`` (mean duration_time, seconds; a
      median would cost a sort of the whole log, callers that need it take it from the video's rows);
    - ``code``: the video's index in :func:`video_codes` (pass the same ``codes`` to reuse them).
    """
    nc = check_nc(nc)
    cols = ["views", "full_views", "full_view_share", "early_skip_share", "mean_watch_ratio", "duration", "code"]
    if len(log) == 0:
        return pd.DataFrame(columns=cols, index=pd.Index([], name=S.VIDEO))
    codes, uniques = codes if codes is not None else video_codes(log)
    p = log[S.PLAY].to_numpy(dtype="float64")
    d = log[S.DURATION].to_numpy(dtype="float64")
    full = is_full_view(p, d)
    k = skip_clip(p, d, nc)
    nv = len(uniques)
    views = np.bincount(codes, minlength=nv)
    n_full = np.bincount(codes, weights=full, minlength=nv)
    early = np.bincount(codes, weights=(~full) & (k == 0), minlength=nv)
    ratio = np.bincount(codes, weights=np.minimum(p / d, 1.0), minlength=nv)
    dur = np.bincount(codes, weights=d, minlength=nv)
    out = pd.DataFrame(
        {
            "views": views.astype("int64"),
            "full_views": n_full.astype("int64"),
            "full_view_share": n_full / views,
            "early_skip_share": early / views,
            "mean_watch_ratio": ratio / views,
            "duration": dur / views,
            "code": np.arange(nv, dtype="int64"),
        },
        index=uniques,
    )
    order = np.argsort(-views, kind="stable")
    return out.iloc[order]


def skip_heatmap(
    log: pd.DataFrame,
    nc: int,
    top_n: int = 30,
    sort_by: str = "views",
    table: pd.DataFrame | None = None,
    codes: tuple[np.ndarray, pd.Index] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Skip share per clip for the ``top_n`` most-viewed videos.

    Returns ``(matrix, summary)``: ``matrix`` has one row per chosen video (index ``video_id``) and
    columns ``0 … nc-1``; cell ``(v, c)`` is the share of v's views that **left inside clip c**
    (a row plus the video's full-view share sums to 1). ``summary`` is :func:`video_table` for the
    same videos. Rows are ordered by ``sort_by`` (a key of :data:`SORT_KEYS`, descending; ties
    by views). ``table`` and ``codes`` may pass a precomputed :func:`video_table` and
    :func:`video_codes` of the same log (and nc).

    Cost is O(rows): one factorisation and a few bincounts; rows are matched to the chosen
    videos through their integer codes, and no videos × clips matrix is made for videos that
    are not shown.
    """
    nc = check_nc(nc)
    if sort_by not in SORT_KEYS:
        raise ValueError(f"sort_by must be one of {', '.join(SORT_KEYS)}")
    if codes is None:
        codes = video_codes(log)
    if table is None:
        table = video_table(log, nc, codes)
    top = table.iloc[: max(int(top_n), 0)]
    if sort_by != "views":
        top = top.sort_values([sort_by, "views"], ascending=[False, False], kind="stable")
    n_top = len(top)
    if n_top == 0:
        return pd.DataFrame(columns=list(range(nc)), index=pd.Index([], name=S.VIDEO), dtype="float64"), top
    row_codes, uniques = codes
    slot = np.full(len(uniques), -1, dtype="int64")
    slot[top["code"].to_numpy(dtype="int64")] = np.arange(n_top)
    pos = slot[row_codes]
    sel = np.flatnonzero(pos >= 0)
    p = log[S.PLAY].to_numpy(dtype="float64")[sel]
    d = log[S.DURATION].to_numpy(dtype="float64")[sel]
    row = pos[sel]
    skip = ~is_full_view(p, d)
    k = skip_clip(p, d, nc)
    counts = np.bincount(row[skip] * nc + k[skip], minlength=n_top * nc).reshape(n_top, nc)
    views = top["views"].to_numpy(dtype="float64")[:, None]
    matrix = pd.DataFrame(counts / views, index=top.index, columns=list(range(nc)))
    return matrix, top


# ------------------------------------------------------------------------------- per user
def user_views(log: pd.DataFrame, user, nc: int) -> pd.DataFrame:
    """The views of one user in time order (interaction_timestamp, then row order). Columns:
    ``row`` (position in the log), ``interaction_timestamp``, ``video_id``, ``duration_time``,
    ``playing_time``, ``watch_ratio``, ``full_view`` (bool), ``skip_clip`` (nullable Int64, NA for
    full views) and ``leave_position`` (``min(r, 1)``, fraction of the video)."""
    nc = check_nc(nc)
    mask = (log[S.USER] == user).to_numpy(dtype=bool)
    idx = np.flatnonzero(mask)
    sub = log.iloc[idx]
    ts = sub[S.TIMESTAMP].to_numpy(dtype="float64") if S.TIMESTAMP in sub else np.arange(len(sub), dtype="float64")
    order = np.lexsort((idx, ts))
    sub = sub.iloc[order]
    idx = idx[order]
    p = sub[S.PLAY].to_numpy(dtype="float64")
    d = sub[S.DURATION].to_numpy(dtype="float64")
    full = is_full_view(p, d)
    k = pd.array(skip_clip(p, d, nc), dtype="Int64")
    k[full] = pd.NA
    r = p / d
    return pd.DataFrame(
        {
            "row": idx.astype("int64"),
            S.TIMESTAMP: ts[order],
            S.VIDEO: sub[S.VIDEO].to_numpy(dtype=object),
            S.DURATION: d,
            S.PLAY: p,
            "watch_ratio": r,
            "full_view": full,
            "skip_clip": k,
            "leave_position": np.minimum(r, 1.0),
        }
    ).reset_index(drop=True)


def most_frequent(values, n: int | None = None) -> list:
    """Distinct values by count, most frequent first (ties by first appearance). Pass a Series
    rather than ``.to_numpy()`` of a string column: factorising Arrow strings is much faster."""
    codes, uniques = pd.factorize(values if isinstance(values, pd.Series) else pd.Series(values), sort=False)
    if len(uniques) == 0:
        return []
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    order = np.argsort(-counts, kind="stable")
    if n is not None:
        order = order[:n]
    return list(np.asarray(uniques, dtype=object)[order])


# ------------------------------------------------------------------------------- labels
def label_counts(playing_time, duration_time, nc: int) -> pd.DataFrame:
    """How many clip labels each policy makes, without building them (closed form).

    One row per policy (``paper``, ``watched-positive``) with ``positive``, ``negative``,
    ``unlabelled`` counts over all views × nc clips. Full views give nc positives under both;
    a skip in clip k gives one negative, plus k positives under ``watched-positive``. Clips after
    the skip clip are unlabelled under both policies."""
    return label_counts_from_counts(*skip_counts(playing_time, duration_time, nc))


def label_counts_from_counts(skips: np.ndarray, n_full: int, n: int) -> pd.DataFrame:
    """:func:`label_counts` from :func:`skip_counts`."""
    skips = np.asarray(skips, dtype="int64")
    nc = len(skips)
    n_skip = int(skips.sum())
    watched = int((skips * np.arange(nc)).sum())
    total = n * nc
    rows = []
    for policy, pos in (("paper", nc * n_full), ("watched-positive", nc * n_full + watched)):
        rows.append(
            {"policy": policy, "positive": pos, "negative": n_skip, "unlabelled": total - pos - n_skip}
        )
    return pd.DataFrame(rows)


def median_skip_clip(playing_time, duration_time, nc: int) -> float:
    """Median skip clip (0-based) over the views that are not full views; NaN if there are none."""
    return median_from_counts(skip_counts(playing_time, duration_time, nc)[0])


def median_from_counts(skips: np.ndarray) -> float:
    """:func:`median_skip_clip` from the skips per clip of :func:`skip_counts` (the median of
    the multiset, the mean of the two middle values for an even count)."""
    c = np.cumsum(np.asarray(skips, dtype="int64"))
    n = int(c[-1]) if len(c) else 0
    if n == 0:
        return float("nan")
    lo, hi = np.searchsorted(c, (n - 1) // 2, side="right"), np.searchsorted(c, n // 2, side="right")
    return (float(lo) + float(hi)) / 2.0


def clip_label_profile(playing_time, duration_time, nc: int, policy: str) -> pd.DataFrame:
    """Per clip of a set of views (usually one video's): how many views give it a ``positive``,
    a ``negative`` or no label under ``policy``.

    Negatives are the skips in the clip under both policies. Positives are the full views under
    ``paper``; under ``watched-positive`` they are the views that got past the clip (full views,
    plus skips in a later clip)."""
    nc = check_nc(nc)
    check_policy(policy)
    h = skip_histogram(playing_time, duration_time, nc)
    n = len(np.asarray(playing_time))
    n_full = int(is_full_view(playing_time, duration_time).sum())
    neg = h["skips"].to_numpy()
    if policy == "paper":
        pos = np.full(nc, n_full, dtype="int64")
    else:
        pos = h["reached"].to_numpy() - neg
    return pd.DataFrame({"clip": h["clip"], "positive": pos, "negative": neg, "unlabelled": n - pos - neg})


def label_strings(playing_time, duration_time, nc: int, policy: str) -> list[str]:
    """One string of nc characters per view: ``+`` positive, ``−`` negative, ``·`` unlabelled
    (meant for short lists, e.g. one user's views)."""
    nc = check_nc(nc)
    check_policy(policy)
    p = np.asarray(playing_time, dtype="float64")
    d = np.asarray(duration_time, dtype="float64")
    full = is_full_view(p, d)
    k = skip_clip(p, d, nc)
    before = "+" if policy == "watched-positive" else "·"
    return [
        "+" * nc if f else before * int(kk) + "−" + "·" * (nc - int(kk) - 1) for f, kk in zip(full.tolist(), k.tolist())
    ]


def world_scenes(world: dict, video_id) -> pd.DataFrame:
    """Ground-truth scenes of one video from a synthetic world (``world.json`` of
    :mod:`frame_core.synth.world`): columns ``start``, ``end`` (seconds), ``theme`` (id) and
    ``theme_name``. Empty when the world has no such video or an unexpected shape."""
    cols = ["start", "end", "theme", "theme_name"]
    try:
        names = {int(t["id"]): str(t.get("name", t["id"])) for t in world.get("themes", [])}
        scenes = world["videos"][str(video_id)]["scenes"]
        rows = [(float(a), float(b), int(t), names.get(int(t), str(t))) for a, b, t in scenes]
    except (KeyError, TypeError, ValueError, AttributeError):
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(rows, columns=cols)

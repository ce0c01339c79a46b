"""Out-of-core page queries over a stored clean log (Home, Skip Explorer, Graph Inspector):
DuckDB over the dataset's Parquet file, so no page holds the whole log in memory
(docs/design.md §7, "Page queries on big logs"; README "Large logs").

:class:`LogQueries` answers what the pages ask with the numbers of the pandas functions in
:mod:`frame_core.services.analytics` (the tests compare both): KPIs, the per-video table of the
heatmap's videos, the skip heatmap, one video's views, one user's views, ids ranked by views.
Conventions are those of :mod:`frame_core.services.analytics` (watch ratio ``r = playing /
duration``, full view ``r ≥ 1``, skip clip ``min(floor(r·nc), nc − 1)``); rows are numbered in
file order from 0 (the row order of the pandas frame).

Summaries that every page needs and that cost a pass over the whole log are built once, by
:meth:`LogQueries.prepare`, into ``derived_dir`` (written atomically; kept until the dataset
goes; ``format.json`` names their layout, and summaries of an older layout are rebuilt):

- ``users.parquet`` and ``videos.parquet``: id, views, first row and ``rank`` (0 = most views;
  ties by first row); videos also carry their full views, the sum of min(r, 1) and the sum of
  durations (the N_c-free columns of the per-video table);
- ``by_user.parquet`` (user rank, video rank, video, playing, duration, timestamp, row, part of
  the split)
  and ``by_video.parquet`` (video rank, user rank, playing, duration, timestamp, row, part): the
  log sorted by rank, then row, in row groups of :data:`frame_core.services.log_summaries.ROW_GROUP` rows. A query for some users
  or videos reads only the row groups whose rank range holds them (Parquet min/max statistics,
  which DuckDB checks for every value of an IN list), and the heatmap's top videos are the first
  rows of ``by_video``;
- ``split.parquet`` (each row's part of the chronological split, by row) and ``kpis.json``.
"""

from __future__ import annotations

import fcntl
import json
import threading
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.data import log_sql
from frame_core.data.labels import check_nc
from frame_core.services import analytics as A
from frame_core.services import log_summaries

SUMMARIES = log_summaries.SUMMARIES


_q = log_summaries.quote


def _skip_clip(nc: int, sql_type: str = "BIGINT") -> str:
    """SQL of a view's skip clip, as :func:`frame_core.data.labels.skip_clip`."""
    return f"LEAST(GREATEST(floor({S.PLAY} * {nc}.0 / {S.DURATION} + 1e-9), 0), {nc - 1})::{sql_type}"


class LogQueries:
    """Queries over the clean log ``path``; summaries live in ``derived_dir``. One DuckDB
    connection per object, used under a lock (DuckDB connections are not shared across
    threads); ``threads`` caps DuckDB's worker threads."""

    def __init__(self, path, derived_dir, threads: int | None = None, temp_dir=None, stats: dict | None = None):
        """``stats``: the import report's statistics of this log (users, videos, views,
        full_view_share, median_watch_ratio), used as the KPIs instead of recomputing them (an
        exact median of a 50M-row log would need its column in memory)."""
        self.path = Path(path)
        self._stats = stats
        self.derived = Path(derived_dir)
        self._lock = threading.Lock()
        self._con = log_sql.connect(temp_dir, threads)
        self._src = log_sql.source(self.path)

    def close(self) -> None:
        self._con.close()

    def _df(self, sql: str, params=None) -> pd.DataFrame:
        with self._lock:
            return self._con.execute(sql, params or []).df()

    # --------------------------------------------------------------------- summaries
    @property
    def prepared(self) -> bool:
        return log_summaries.current(self.derived) and all((self.derived / f).exists() for f in SUMMARIES)

    def prepare(self) -> None:
        """Build the summaries (see the module docstring) unless they exist. One builder at a
        time per folder (a file lock, so the Data page's save and a page's first open, or two
        processes, never build or delete each other's files); a DuckDB failure (memory, disk)
        becomes an InputError that says so."""
        if self.prepared:
            return
        self.derived.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.derived / ".prepare.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.prepared:  # built meanwhile by another object or process
                return
            try:
                self._build()
            except duckdb.Error as exc:
                first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
                raise InputError(f"the page summaries of this dataset could not be built ({type(exc).__name__}: "
                                 f"{first}); free memory or disk space in the workspace and open the page again") from None

    def _build(self) -> None:
        """The summaries, under the locks of :meth:`prepare`."""
        log_summaries.build(self._con, self._src, self.path, self.derived, self._stats)

    def _ids_file(self, column: str) -> Path:
        """``users.parquet`` or ``videos.parquet`` of the summaries."""
        return self.derived / ("users.parquet" if column == S.USER else "videos.parquet")

    def _rank(self, column: str, ident: str) -> int:
        """Rank of one id (−1, which no row has, when it is not in the log)."""
        r = self._ranks(column, [ident])["rank"]
        return int(r.iloc[0]) if len(r) else -1

    # --------------------------------------------------------------------- Home
    def kpis(self) -> dict:
        """:func:`frame_core.services.analytics.kpis` of the log."""
        self.prepare()
        return json.loads((self.derived / "kpis.json").read_text())

    def ranked_ids(self, column: str, limit: int | None = None) -> tuple[list[str], int]:
        """(ids by views, most first, ties by first appearance; at most ``limit``) and how many
        distinct ids there are: :func:`frame_core.services.analytics.most_frequent`."""
        self.prepare()
        f = self._ids_file(column)
        lim = "" if limit is None else f" LIMIT {int(limit)}"
        ids = self._df(f"SELECT id FROM read_parquet({_q(f)}) ORDER BY views DESC, first_row{lim}")["id"]
        ids = ids.astype(str).tolist()
        total = self._df(f"SELECT count(*) AS n FROM read_parquet({_q(f)})")["n"].iloc[0]
        return ids, int(total)

    def data_facts(self) -> tuple[float, float, int]:
        """(share of test views whose video has no training view, median views per video, test
        users) of the chronological split: the inputs of
        :func:`frame_core.evaluation.verdict.data_facts`, from the summaries."""
        self.prepare()
        bu, vf = _q(self.derived / "by_user.parquet"), _q(self.derived / "videos.parquet")
        n, new, users = self._df(f"""WITH trained AS (SELECT DISTINCT vr FROM read_parquet({bu}) WHERE part = 0)
            SELECT count(*) AS n, count(*) FILTER (WHERE vr NOT IN (SELECT vr FROM trained)) AS new,
                   count(DISTINCT ur) AS users FROM read_parquet({bu}) WHERE part = 2""").iloc[0]
        med = self._df(f"SELECT median(views) AS m FROM read_parquet({vf})")["m"].iloc[0]
        return (float(new) / n if n else float("nan")), float("nan") if pd.isna(med) else float(med), int(users)

    def skip_counts(self, nc: int) -> tuple[np.ndarray, int, int]:
        """:func:`frame_core.services.analytics.skip_counts` of the whole log: (views that left
        inside each clip, full views, all views), counted in SQL."""
        nc = check_nc(nc)
        self.prepare()
        k = _skip_clip(nc)
        df = self._df(f"""SELECT {k} AS k, count(*) AS n FROM read_parquet({_q(self.derived / 'by_video.parquet')})
                          WHERE {S.PLAY} < {S.DURATION} GROUP BY ALL""")
        skips = np.zeros(nc, dtype="int64")
        skips[df["k"].to_numpy(dtype="int64")] = df["n"].to_numpy(dtype="int64")
        full, n = self._df(f"SELECT coalesce(sum(full_views), 0) AS f, coalesce(sum(views), 0) AS n "
                           f"FROM read_parquet({_q(self.derived / 'videos.parquet')})").iloc[0]
        return skips, int(full), int(n)

    # --------------------------------------------------------------------- Skip Explorer
    def _skip_counts(self, nc: int, where: str, k_is: int | None = None) -> pd.DataFrame:
        """(vr, k, n): views that ended before the end (r < 1) in skip clip k, of the videos
        whose rank passes ``where`` (SQL over ``vr``), read from ``by_video.parquet``."""
        k = _skip_clip(nc)
        only = "" if k_is is None else f" AND {k} = {int(k_is)}"
        return self._df(f"""SELECT vr, {k} AS k, count(*) AS n FROM read_parquet({_q(self.derived / 'by_video.parquet')})
                            WHERE ({where}) AND {S.PLAY} < {S.DURATION}{only} GROUP BY ALL""")

    def _table(self, stats: pd.DataFrame, early: pd.DataFrame) -> pd.DataFrame:
        """The per-video table from ``videos.parquet`` rows (in rank order) and the (vr, n)
        counts of views left in the first clip."""
        stats = stats.sort_values("rank", kind="stable")
        views = stats["views"].to_numpy(dtype="int64")
        n_early = pd.Series(early["n"].to_numpy(dtype="float64"), index=early["vr"].to_numpy(dtype="int64"))
        n_early = n_early.groupby(level=0).sum().reindex(stats["rank"].to_numpy(dtype="int64"), fill_value=0.0)
        return pd.DataFrame({
            "views": views,
            "full_views": stats["full_views"].to_numpy(dtype="int64"),
            "full_view_share": stats["full_views"].to_numpy(dtype="float64") / views,
            "early_skip_share": n_early.to_numpy(dtype="float64") / views,
            "mean_watch_ratio": stats["ratio_sum"].to_numpy(dtype="float64") / views,
            "duration": stats["dur_sum"].to_numpy(dtype="float64") / views,
            "code": stats["code"].to_numpy(dtype="int64"),
        }, index=pd.Index(stats["id"].astype(str).to_numpy(dtype=object), name=S.VIDEO))

    def _video_stats(self, where: str, params=None) -> pd.DataFrame:
        return self._df(f"""SELECT id, views, full_views, ratio_sum, dur_sum, code, rank
                            FROM read_parquet({_q(self.derived / 'videos.parquet')}) WHERE {where}""", params)

    def video_table(self, nc: int, videos: list[str]) -> pd.DataFrame:
        """:func:`frame_core.services.analytics.video_table` rows of ``videos`` (same columns;
        ``code`` is the video's index in order of first appearance), most views first."""
        nc = check_nc(nc)
        self.prepare()
        stats = self._video_stats("id IN (SELECT unnest(?::VARCHAR[]))", [list(map(str, videos))])
        ranks = ",".join(str(int(r)) for r in stats["rank"])
        early = (self._skip_counts(nc, f"vr IN ({ranks})", k_is=0) if ranks
                 else pd.DataFrame({"vr": [], "k": [], "n": []}))
        return self._table(stats, early)

    def skip_heatmap(self, nc: int, top_n: int = 30, sort_by: str = "views") -> tuple[pd.DataFrame, pd.DataFrame]:
        """:func:`frame_core.services.analytics.skip_heatmap`: (matrix, summary) of the
        ``top_n`` most-viewed videos, rows ordered by ``sort_by``. The top videos are ranks
        0 … top_n − 1, the first rows of ``by_video.parquet``."""
        nc = check_nc(nc)
        if sort_by not in A.SORT_KEYS:
            raise ValueError(f"sort_by must be one of {', '.join(A.SORT_KEYS)}")
        self.prepare()
        n = max(int(top_n), 0)
        stats = self._video_stats(f"rank < {n}")
        counts = self._skip_counts(nc, f"vr < {n}") if n else pd.DataFrame({"vr": [], "k": [], "n": []})
        top = self._table(stats, counts[counts["k"] == 0])
        if top.empty:
            empty = pd.DataFrame(columns=list(range(nc)), index=pd.Index([], name=S.VIDEO), dtype="float64")
            return empty, top
        if sort_by != "views":
            top = top.sort_values([sort_by, "views"], ascending=[False, False], kind="stable")
        id_of = dict(zip(stats["rank"].to_numpy(dtype="int64").tolist(), stats["id"].astype(str)))
        pos = pd.Index(top.index).get_indexer([id_of[int(r)] for r in counts["vr"]])
        grid = np.zeros((len(top), nc), dtype="float64")
        np.add.at(grid, (pos, counts["k"].to_numpy(dtype="int64")), counts["n"].to_numpy(dtype="float64"))
        views = top["views"].to_numpy(dtype="float64")[:, None]
        return pd.DataFrame(grid / views, index=top.index, columns=list(range(nc))), top

    def video_rows(self, video_id: str) -> pd.DataFrame:
        """playing_time and duration_time of one video's views, in row order."""
        self.prepare()
        r = self._rank(S.VIDEO, video_id)
        return self._df(f"""SELECT {S.PLAY}, {S.DURATION} FROM read_parquet({_q(self.derived / 'by_video.parquet')})
                            WHERE vr = {r} ORDER BY row""")

    def user_views(self, user_id: str, nc: int) -> pd.DataFrame:
        """:func:`frame_core.services.analytics.user_views` of one user (``row`` is the row in
        the whole log)."""
        self.prepare()
        r = self._rank(S.USER, user_id)
        sub = self._df(f"""SELECT ? AS {S.USER}, {S.VIDEO}, {S.PLAY}, {S.DURATION}, {S.TIMESTAMP}, row
                           FROM read_parquet({_q(self.derived / 'by_user.parquet')})
                           WHERE ur = {r} ORDER BY row""", [str(user_id)])
        rows = sub.pop("row").to_numpy(dtype="int64")
        out = A.user_views(sub, str(user_id), nc)
        out["row"] = rows[out["row"].to_numpy(dtype="int64")] if len(out) else out["row"]
        return out

    # --------------------------------------------------------------------- Graph Inspector
    def _ranks(self, column: str, ids) -> pd.DataFrame:
        """(id, rank) of those of ``ids`` that are in the log."""
        f = self._ids_file(column)
        return self._df(f"SELECT id, rank FROM read_parquet({_q(f)}) WHERE id IN (SELECT unnest(?::VARCHAR[]))",
                        [[str(i) for i in ids]])

    def rows_of(self, *, users=None, videos=None) -> pd.DataFrame:
        """Every row of the given users or videos (or both: either), with its global ``row``
        and ``part`` (0 train, 1 validation, 2 test), in row order. Read from the sorted copies:
        only the row groups of those ids."""
        self.prepare()
        uf = _q(self.derived / "users.parquet")
        parts = []
        if users is not None:
            r = self._ranks(S.USER, users)
            parts.append(self._df(
                f"""SELECT u.id AS {S.USER}, b.{S.VIDEO}, b.{S.PLAY}, b.{S.DURATION}, b.{S.TIMESTAMP}, b.row, b.part
                    FROM read_parquet({_q(self.derived / 'by_user.parquet')}) b
                    JOIN (SELECT id, rank FROM read_parquet({uf}) WHERE rank IN (SELECT unnest(?::BIGINT[]))) u
                      ON b.ur = u.rank
                    WHERE b.ur IN (SELECT unnest(?::INTEGER[]))""", [r["rank"].tolist()] * 2))
        if videos is not None:
            r = self._ranks(S.VIDEO, videos)
            vid = self._df(f"""SELECT u.id AS {S.USER}, b.vr, b.{S.PLAY}, b.{S.DURATION}, b.{S.TIMESTAMP}, b.row, b.part
                               FROM read_parquet({_q(self.derived / 'by_video.parquet')}) b
                               JOIN read_parquet({uf}) u ON b.ur = u.rank
                               WHERE b.vr IN (SELECT unnest(?::INTEGER[]))""", [r["rank"].tolist()])
            name = dict(zip(r["rank"].astype("int64").tolist(), r["id"].astype(str)))
            vid.insert(1, S.VIDEO, [name[int(x)] for x in vid.pop("vr")])
            parts.append(vid)
        cols = [S.USER, S.VIDEO, S.PLAY, S.DURATION, S.TIMESTAMP, "row", "part"]
        if not parts:
            return self._all_rows()
        out = pd.concat([p[cols] for p in parts], ignore_index=True) if len(parts) > 1 else parts[0][cols]
        out = out.drop_duplicates("row") if len(parts) > 1 else out
        return out.sort_values("row", kind="stable").reset_index(drop=True)

    def label_pairs(self, nc: int, *, user_ranks=None, video_ranks=None) -> pd.DataFrame:
        """One row per (user rank ``ur``, video rank ``vr``) pair among the views of the given
        users or videos (by rank: :meth:`ranks`): ``neg`` has bit k set when a view that was
        not full ended in clip k (skip clip as :func:`frame_core.data.labels.skip_clip`),
        ``full`` says some view was full, ``neg_train`` and ``full_train`` the same over the
        training views only (part 0 of the split), ``views`` counts them all. A pair's clip
        labels, hence its edges in both user–clip graphs under either policy, depend on its
        views only through ``neg`` and ``full`` (:func:`frame_core.services.ego_queries.pair_views`),
        so the ego views need these pairs, not the views."""
        nc = check_nc(nc)
        self.prepare()
        k = _skip_clip(nc, "UTINYINT")
        neg = f"CASE WHEN {S.PLAY} < {S.DURATION} THEN (1::UBIGINT << {k}) ELSE 0::UBIGINT END"
        full = f"{S.PLAY} >= {S.DURATION}"
        aggs = (f"bit_or({neg}) AS neg, bool_or({full}) AS full, "
                f"bit_or(CASE WHEN part = 0 THEN {neg} ELSE 0::UBIGINT END) AS neg_train, "
                f"bool_or(part = 0 AND {full}) AS full_train, count(*) AS views")
        parts = []
        for ranks, f, col in ((user_ranks, "by_user.parquet", "ur"), (video_ranks, "by_video.parquet", "vr")):
            if ranks is not None and len(ranks):
                parts.append(self._df(f"""SELECT ur, vr, {aggs} FROM read_parquet({_q(self.derived / f)})
                                          WHERE {col} IN (SELECT unnest(?::INTEGER[])) GROUP BY ur, vr""",
                                      [np.asarray(ranks, dtype="int64").tolist()]))
        cols = ["ur", "vr", "neg", "full", "neg_train", "full_train", "views"]
        if not parts:
            return pd.DataFrame({c: np.zeros(0, dtype="uint64" if c.startswith("neg") else
                                             bool if c.startswith("full") else "int64") for c in cols})
        out = pd.concat(parts, ignore_index=True)[cols] if len(parts) > 1 else parts[0][cols]
        return out.drop_duplicates(["ur", "vr"]).reset_index(drop=True)

    def ranks(self, column: str, ids) -> np.ndarray:
        """Ranks of those of ``ids`` that are in the log (users or videos by views)."""
        self.prepare()
        return self._ranks(column, ids)["rank"].to_numpy(dtype="int64")

    def id_table(self, column: str, ranks) -> pd.DataFrame:
        """(rank, id, first_row, views) of the given ranks of users or videos."""
        self.prepare()
        f = self._ids_file(column)
        return self._df(f"SELECT rank, id, first_row, views FROM read_parquet({_q(f)}) "
                        "WHERE rank IN (SELECT unnest(?::BIGINT[]))", [np.asarray(ranks, dtype="int64").tolist()])

    def _all_rows(self) -> pd.DataFrame:
        """Every row with its part (``rows_of()`` with neither users nor videos)."""
        split = _q(self.derived / "split.parquet")
        return self._df(
            f"""SELECT l.*, s.part FROM (SELECT {S.USER}, {S.VIDEO}, {S.PLAY}, {S.DURATION}, {S.TIMESTAMP}, row
                                        FROM {self._src}) l
                JOIN read_parquet({split}) s USING (row) ORDER BY row""")

    def views_of(self, column: str, ids) -> dict[str, int]:
        """Views of each of ``ids`` (ids not in the log are left out)."""
        self.prepare()
        f = self._ids_file(column)
        df = self._df(f"SELECT id, views FROM read_parquet({_q(f)}) WHERE id IN (SELECT unnest(?::VARCHAR[]))",
                      [[str(i) for i in ids]])
        return dict(zip(df["id"].astype(str), df["views"].astype(int)))

    def first_rows(self, column: str, ids) -> pd.Series:
        """Row of each id's first view (index: the id)."""
        self.prepare()
        f = self._ids_file(column)
        df = self._df(f"SELECT id, first_row FROM read_parquet({_q(f)}) WHERE id IN (SELECT unnest(?::VARCHAR[]))",
                      [[str(i) for i in ids]])
        return pd.Series(df["first_row"].to_numpy(dtype="int64"), index=df["id"].astype(str).to_numpy(dtype=object))

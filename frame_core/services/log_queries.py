"""Out-of-core page queries over a stored clean log (Home, Skip Explorer, Graph Inspector):
DuckDB over the dataset's Parquet file, so no page holds the whole log in memory
(docs/design.md §4; README "Large logs").

:class:`LogQueries` answers what the pages ask with the numbers of the pandas functions in
:mod:`frame_core.services.analytics` (the tests compare both): KPIs, the per-video table of the
heatmap's videos, the skip heatmap, one video's views, one user's views, ids ranked by views.
Conventions are those of :mod:`frame_core.services.analytics` (watch ratio ``r = playing /
duration``, full view ``r ≥ 1``, skip clip ``min(floor(r·nc), nc − 1)``); rows are numbered in
file order from 0 (the row order of the pandas frame).

Summaries that every page needs and that cost a pass over the whole log are built once, by
:meth:`LogQueries.prepare`, into ``derived_dir`` (written atomically; kept until the dataset
goes): ``users.parquet`` and ``videos.parquet`` (id, views, first row; most views first),
``split.parquet`` (each row's part of the chronological split, by row) and
``kpis.json``.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.data import log_sql
from frame_core.data.labels import check_nc
from frame_core.services import analytics as A

SUMMARIES = ("users.parquet", "videos.parquet", "split.parquet", "kpis.json")


def _q(path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


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
        return all((self.derived / f).exists() for f in SUMMARIES)

    def prepare(self) -> None:
        """Build the summaries (see the module docstring) unless they exist."""
        if self.prepared:
            return
        self.derived.mkdir(parents=True, exist_ok=True)
        tag = f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            con = self._con
            for col, out in ((S.USER, "users.parquet"), (S.VIDEO, "videos.parquet")):
                if (self.derived / out).exists():
                    continue
                tmp = self.derived / (out + tag)
                con.execute(f"""COPY (SELECT {col} AS id, count(*) AS views, min(row) AS first_row FROM {self._src}
                                GROUP BY {col} ORDER BY views DESC, first_row) TO {_q(tmp)} (FORMAT parquet)""")
                os.replace(tmp, self.derived / out)
            if not (self.derived / "split.parquet").exists():
                tmp = self.derived / ("split.parquet" + tag)
                con.execute(f"COPY (SELECT row, part FROM ({log_sql.split_select(self.path)}) ORDER BY row) "
                            f"TO {_q(tmp)} (FORMAT parquet)")
                os.replace(tmp, self.derived / "split.parquet")
            users = con.execute(f"SELECT count(*) FROM read_parquet({_q(self.derived / 'users.parquet')})").fetchone()[0]
            videos = con.execute(f"SELECT count(*) FROM read_parquet({_q(self.derived / 'videos.parquet')})").fetchone()[0]
            if self._stats and {"full_view_share", "median_watch_ratio"} <= set(self._stats):
                views = int(self._stats.get("views", 0))
                full, med = self._stats["full_view_share"], self._stats["median_watch_ratio"]
            else:  # no import report: compute (exact median, so the ratio column is held once)
                views, full, med = con.execute(
                    f"SELECT count(*), avg(CASE WHEN {S.PLAY} >= {S.DURATION} THEN 1.0 ELSE 0.0 END), "
                    f"median({S.PLAY} / {S.DURATION}) FROM read_parquet({_q(self.path)})").fetchone()
        k = {"users": int(users), "videos": int(videos), "views": int(views),
             "full_view_share": float(full) if views else float("nan"),
             "median_watch_ratio": float(med) if views else float("nan")}
        tmp = self.derived / ("kpis.json" + tag)
        tmp.write_text(json.dumps(k))
        os.replace(tmp, self.derived / "kpis.json")

    # --------------------------------------------------------------------- Home
    def kpis(self) -> dict:
        """:func:`frame_core.services.analytics.kpis` of the log."""
        self.prepare()
        return json.loads((self.derived / "kpis.json").read_text())

    def ranked_ids(self, column: str, limit: int | None = None) -> tuple[list[str], int]:
        """(ids by views, most first, ties by first appearance; at most ``limit``) and how many
        distinct ids there are: :func:`frame_core.services.analytics.most_frequent`."""
        self.prepare()
        f = self.derived / ("users.parquet" if column == S.USER else "videos.parquet")
        lim = "" if limit is None else f" LIMIT {int(limit)}"
        ids = self._df(f"SELECT id FROM read_parquet({_q(f)}) ORDER BY views DESC, first_row{lim}")["id"]
        ids = ids.astype(str).tolist()
        total = self._df(f"SELECT count(*) AS n FROM read_parquet({_q(f)})")["n"].iloc[0]
        return ids, int(total)

    # --------------------------------------------------------------------- Skip Explorer
    def video_table(self, nc: int, videos: list[str]) -> pd.DataFrame:
        """:func:`frame_core.services.analytics.video_table` rows of ``videos`` (same columns;
        ``code`` is the video's index in order of first appearance), most views first."""
        nc = check_nc(nc)
        self.prepare()
        vf = self.derived / "videos.parquet"
        k = f"LEAST(GREATEST(floor({S.PLAY} * {nc}.0 / {S.DURATION} + 1e-9), 0), {nc - 1})"
        sql = f"""
            WITH want AS (SELECT unnest(?::VARCHAR[]) AS id),
            codes AS (SELECT id, views AS total, first_row,
                             (row_number() OVER (ORDER BY first_row)) - 1 AS code FROM read_parquet({_q(vf)})),
            agg AS (SELECT {S.VIDEO} AS id, count(*) AS views,
                           sum(CASE WHEN {S.PLAY} >= {S.DURATION} THEN 1 ELSE 0 END) AS full_views,
                           sum(CASE WHEN {S.PLAY} < {S.DURATION} AND {k} = 0 THEN 1 ELSE 0 END) AS early,
                           sum(LEAST({S.PLAY} / {S.DURATION}, 1.0)) AS ratio, sum({S.DURATION}) AS dur
                    FROM read_parquet({_q(self.path)}) WHERE {S.VIDEO} IN (SELECT id FROM want) GROUP BY {S.VIDEO})
            SELECT a.id, a.views, a.full_views, a.early, a.ratio, a.dur, c.code, c.first_row
            FROM agg a JOIN codes c USING (id) ORDER BY a.views DESC, c.first_row"""
        df = self._df(sql, [list(map(str, videos))])
        views = df["views"].to_numpy(dtype="int64")
        out = pd.DataFrame({
            "views": views,
            "full_views": df["full_views"].to_numpy(dtype="int64"),
            "full_view_share": df["full_views"].to_numpy(dtype="float64") / views,
            "early_skip_share": df["early"].to_numpy(dtype="float64") / views,
            "mean_watch_ratio": df["ratio"].to_numpy(dtype="float64") / views,
            "duration": df["dur"].to_numpy(dtype="float64") / views,
            "code": df["code"].to_numpy(dtype="int64"),
        }, index=pd.Index(df["id"].astype(str).to_numpy(dtype=object), name=S.VIDEO))
        return out

    def skip_heatmap(self, nc: int, top_n: int = 30, sort_by: str = "views") -> tuple[pd.DataFrame, pd.DataFrame]:
        """:func:`frame_core.services.analytics.skip_heatmap`: (matrix, summary) of the
        ``top_n`` most-viewed videos, rows ordered by ``sort_by``."""
        nc = check_nc(nc)
        if sort_by not in A.SORT_KEYS:
            raise ValueError(f"sort_by must be one of {', '.join(A.SORT_KEYS)}")
        top_ids, _ = self.ranked_ids(S.VIDEO, max(int(top_n), 0))
        if not top_ids:
            empty = pd.DataFrame(columns=list(range(nc)), index=pd.Index([], name=S.VIDEO), dtype="float64")
            return empty, self.video_table(nc, [])
        top = self.video_table(nc, top_ids)
        if sort_by != "views":
            top = top.sort_values([sort_by, "views"], ascending=[False, False], kind="stable")
        k = f"LEAST(GREATEST(floor({S.PLAY} * {nc}.0 / {S.DURATION} + 1e-9), 0), {nc - 1})"
        counts = self._df(
            f"""SELECT {S.VIDEO} AS id, {k}::BIGINT AS k, count(*) AS n FROM read_parquet({_q(self.path)})
                WHERE {S.VIDEO} IN (SELECT unnest(?::VARCHAR[])) AND {S.PLAY} < {S.DURATION} GROUP BY ALL""",
            [top_ids])
        pos = pd.Index(top.index).get_indexer(counts["id"].astype(str).to_numpy(dtype=object))
        grid = np.zeros((len(top), nc), dtype="float64")
        np.add.at(grid, (pos, counts["k"].to_numpy(dtype="int64")), counts["n"].to_numpy(dtype="float64"))
        views = top["views"].to_numpy(dtype="float64")[:, None]
        return pd.DataFrame(grid / views, index=top.index, columns=list(range(nc))), top

    def video_rows(self, video_id: str) -> pd.DataFrame:
        """playing_time and duration_time of one video's views, in row order."""
        return self._df(f"SELECT {S.PLAY}, {S.DURATION} FROM {self._src} WHERE {S.VIDEO} = ? ORDER BY row",
                        [str(video_id)])

    def user_views(self, user_id: str, nc: int) -> pd.DataFrame:
        """:func:`frame_core.services.analytics.user_views` of one user (``row`` is the row in
        the whole log)."""
        sub = self._df(f"SELECT {S.USER}, {S.VIDEO}, {S.PLAY}, {S.DURATION}, {S.TIMESTAMP}, row FROM {self._src} "
                       f"WHERE {S.USER} = ? ORDER BY row", [str(user_id)])
        rows = sub.pop("row").to_numpy(dtype="int64")
        out = A.user_views(sub, str(user_id), nc)
        out["row"] = rows[out["row"].to_numpy(dtype="int64")] if len(out) else out["row"]
        return out

    # --------------------------------------------------------------------- Graph Inspector
    def rows_of(self, *, users=None, videos=None) -> pd.DataFrame:
        """Every row of the given users or videos (or both: either), with its global ``row``
        and ``part`` (0 train, 1 validation, 2 test), in row order."""
        self.prepare()
        split = _q(self.derived / "split.parquet")
        cond, params = [], []
        if users is not None:
            cond.append(f"{S.USER} IN (SELECT unnest(?::VARCHAR[]))")
            params.append([str(u) for u in users])
        if videos is not None:
            cond.append(f"{S.VIDEO} IN (SELECT unnest(?::VARCHAR[]))")
            params.append([str(v) for v in videos])
        where = " OR ".join(cond) if cond else "TRUE"
        return self._df(
            f"""SELECT l.*, s.part FROM (SELECT {S.USER}, {S.VIDEO}, {S.PLAY}, {S.DURATION}, {S.TIMESTAMP}, row
                                        FROM {self._src} WHERE {where}) l
                JOIN read_parquet({split}) s USING (row) ORDER BY row""", params)

    def views_of(self, column: str, ids) -> dict[str, int]:
        """Views of each of ``ids`` (ids not in the log are left out)."""
        self.prepare()
        f = self.derived / ("users.parquet" if column == S.USER else "videos.parquet")
        df = self._df(f"SELECT id, views FROM read_parquet({_q(f)}) WHERE id IN (SELECT unnest(?::VARCHAR[]))",
                      [[str(i) for i in ids]])
        return dict(zip(df["id"].astype(str), df["views"].astype(int)))

    def first_rows(self, column: str, ids) -> pd.Series:
        """Row of each id's first view (index: the id)."""
        self.prepare()
        f = self.derived / ("users.parquet" if column == S.USER else "videos.parquet")
        df = self._df(f"SELECT id, first_row FROM read_parquet({_q(f)}) WHERE id IN (SELECT unnest(?::VARCHAR[]))",
                      [[str(i) for i in ids]])
        return pd.Series(df["first_row"].to_numpy(dtype="int64"), index=df["id"].astype(str).to_numpy(dtype=object))

"""The page-query summaries of a stored log, written once per dataset (docs/design.md §7,
"Page queries on big logs"; the layout is described in :mod:`frame_core.services.log_queries`)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from frame_core.common import schema as S
from frame_core.data import log_sql

SUMMARIES = ("users.parquet", "videos.parquet", "by_video.parquet", "by_user.parquet", "split.parquet",
             "kpis.json", "format.json")
FORMAT = 2  # layout of the summaries; 1 had no ranks, per-video sums or sorted copies
ROW_GROUP = 65_536  # rows per row group of the sorted copies: what one id lookup reads at least


def quote(path) -> str:
    """A path as an SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def current(derived: Path) -> bool:
    """Whether ``derived`` holds summaries of this layout (``format.json`` says :data:`FORMAT`)."""
    try:
        return json.loads((derived / "format.json").read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def fresh(derived: Path) -> None:
    """Remove summaries of another layout (or a half-written set) before a rebuild."""
    if not current(derived):
        for f in [*SUMMARIES, *(p.name for p in derived.glob("*.tmp-*"))]:  # a killed build's leftovers too
            (derived / f).unlink(missing_ok=True)


def build(con, src: str, path: Path, derived: Path, stats: dict | None) -> None:
    """Write the summaries of the log ``path`` (``src``: its SQL source with row numbers) into
    ``derived`` with the connection ``con``; the caller holds the locks
    (:meth:`frame_core.services.log_queries.LogQueries.prepare`). ``stats``: the import
    report's statistics (KPIs), or None to compute them."""
    tag = f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    fresh(derived)

    def copy(select: str, out: str, options: str = "") -> None:
        if (derived / out).exists():
            return
        tmp = derived / (out + tag)
        con.execute(f"COPY ({select}) TO {quote(tmp)} (FORMAT parquet{options})")
        os.replace(tmp, derived / out)

    full = f"CASE WHEN {S.PLAY} >= {S.DURATION} THEN 1 ELSE 0 END"
    video_sums = (f", sum({full}) AS full_views, sum(LEAST({S.PLAY} / {S.DURATION}, 1.0)) AS ratio_sum, "
                  f"sum({S.DURATION}) AS dur_sum")
    for col, out, extra in ((S.USER, "users.parquet", ""), (S.VIDEO, "videos.parquet", video_sums)):
        copy(f"""SELECT *, (row_number() OVER (ORDER BY views DESC, first_row)) - 1 AS rank,
                        (row_number() OVER (ORDER BY first_row)) - 1 AS code
                 FROM (SELECT {col} AS id, count(*) AS views, min(row) AS first_row{extra}
                       FROM {src} GROUP BY {col}) ORDER BY rank""", out)
    rg = f", ROW_GROUP_SIZE {ROW_GROUP}"
    vf, uf = quote(derived / "videos.parquet"), quote(derived / "users.parquet")
    bu = quote(derived / "by_user.parquet")
    copy(f"""SELECT u.rank::INTEGER AS ur, v.rank::INTEGER AS vr, l.{S.VIDEO}, l.{S.PLAY}, l.{S.DURATION},
                    l.{S.TIMESTAMP}, l.row, s.part FROM {src} l
             JOIN ({log_sql.split_select(path)}) s USING (row)
             JOIN (SELECT id, rank FROM read_parquet({uf})) u ON l.{S.USER} = u.id
             JOIN (SELECT id, rank FROM read_parquet({vf})) v ON l.{S.VIDEO} = v.id
             ORDER BY ur, row""", "by_user.parquet", rg)
    copy(f"SELECT row, part FROM read_parquet({bu}) ORDER BY row", "split.parquet")
    copy(f"""SELECT vr, ur, {S.PLAY}, {S.DURATION}, {S.TIMESTAMP}, row, part FROM read_parquet({bu})
             ORDER BY vr, row""", "by_video.parquet", rg)
    users = con.execute(f"SELECT count(*) FROM read_parquet({uf})").fetchone()[0]
    videos = con.execute(f"SELECT count(*) FROM read_parquet({vf})").fetchone()[0]
    if stats and {"full_view_share", "median_watch_ratio"} <= set(stats):
        views = int(stats.get("views", 0))
        full, med = stats["full_view_share"], stats["median_watch_ratio"]
    else:  # no import report: compute (exact median, so the ratio column is held once)
        views, full, med = con.execute(
            f"SELECT count(*), avg(CASE WHEN {S.PLAY} >= {S.DURATION} THEN 1.0 ELSE 0.0 END), "
            f"median({S.PLAY} / {S.DURATION}) FROM read_parquet({quote(path)})").fetchone()
    k = {"users": int(users), "videos": int(videos), "views": int(views),
         "full_view_share": float(full) if views else float("nan"),
         "median_watch_ratio": float(med) if views else float("nan")}
    for name, obj in (("kpis.json", k), ("format.json", {"format": FORMAT})):
        tmp = derived / (name + tag)
        tmp.write_text(json.dumps(obj))
        os.replace(tmp, derived / name)

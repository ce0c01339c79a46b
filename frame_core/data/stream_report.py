"""The validation report of a streamed import, from its tallies: the same warnings,
sentence for sentence, and the same statistics as the pandas path
(:func:`frame_core.data.validation._add_warnings_and_stats`, :mod:`frame_core.data.sparsity`).
The only part that needs the whole log at once, the share of test views on videos with no
training view, is a DuckDB query over the stored Parquet (:mod:`frame_core.data.log_sql`),
run only when most videos have fewer than five views and the log has over
:data:`IN_MEMORY_ROWS` rows."""

from __future__ import annotations

import numpy as np

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.data import validation as V
from frame_core.data.import_tally import Tally
from frame_core.data.sparsity import FEW_VIEWS, MOST, loop_note, sparsity_warnings

IN_MEMORY_ROWS = 5_000_000
"""Up to this many rows the sparsity note reads three columns back and uses pandas; beyond,
DuckDB computes the split out of core."""


def build_report(tally: Tally, part, name: str, time_unit: str, has_timestamp: bool, tmp_dir) -> V.ValidationReport:
    """The report of a finished pass (``part``: the written clean Parquet). Raises the pandas
    path's InputError when no usable row remains."""
    n = tally.n_clean
    rejected = {k: int(tally.rejected.get(k, 0)) for k in V.REASONS}
    if n == 0:
        reasons = "; ".join(f"{v:,} {V.REASONS[k]}" for k, v in rejected.items() if v)
        raise InputError(f"{name}: no usable row remains out of {tally.n_input:,} ({reasons})")
    warnings: list[str] = []
    if not has_timestamp:
        warnings.append("no interaction_timestamp column: row order is used as the clock for the chronological split")
    r = tally.ratio[:n]
    if (note := loop_note(r)) is not None:
        warnings.append(note)
    huge = int((r > 100).sum())
    if huge:
        warnings.append(
            f"{huge:,} rows have playing_time over 100× duration_time: check that both columns "
            "use the same unit (e.g. --time-unit ms applies to both)"
        )
    full_share = float((r >= 1).mean())
    med_ratio = float(np.median(r))
    med_dur = float(np.median(tally.duration[:n]))
    if time_unit == "s" and med_dur > 3600:
        warnings.append(f"the median duration is {med_dur:,.0f} s (over an hour): the times may be in "
                        "milliseconds; if so, import with --time-unit ms")
    if time_unit == "ms" and med_dur < 0.5:
        warnings.append(f"the median duration is {med_dur * 1000:,.1f} ms: the times may already be in "
                        "seconds; if so, import with --time-unit s")
    if n > 1 and tally.unsorted:
        warnings.append("timestamps are not sorted; the split sorts each user's views by "
                        "(interaction_timestamp, row order)")
    per_user = tally.users.counts()
    few = int((per_user < 5).sum())
    if few:
        warnings.append(f"{few:,} of {len(per_user):,} users have fewer than 5 views; they get no test or "
                        "validation rows under the 70/10/20 chronological split")
    per_video = tally.videos.counts()
    warnings.extend(_sparsity(per_video, part, tmp_dir))
    return V.ValidationReport(
        source=name, n_input=tally.n_input, n_clean=n, rejected=rejected, examples=tally.sorted_examples(),
        warnings=warnings,
        stats={"users": float(len(per_user)), "videos": float(len(per_video)), "views": float(n),
               "full_view_share": full_share, "median_watch_ratio": med_ratio},
        rejected_rows=tally.rejected_rows(),
    )


def _sparsity(per_video: np.ndarray, part, tmp_dir) -> list[str]:
    """:func:`frame_core.data.sparsity.sparsity_warnings` from the views per video."""
    sparse = float((per_video < FEW_VIEWS).mean())
    if sparse <= MOST:
        return []
    if int(per_video.sum()) <= IN_MEMORY_ROWS:  # small enough: the pandas path itself, on three columns
        import pandas as pd

        return sparsity_warnings(pd.read_parquet(part, columns=[S.USER, S.VIDEO, S.TIMESTAMP]))
    from frame_core.data import log_sql

    con = log_sql.connect(tmp_dir)
    try:
        new = log_sql.new_video_test_share(con, part)
    finally:
        con.close()
    text = (f"most videos have fewer than {FEW_VIEWS} views ({sparse:.0%} of {len(per_video):,} videos; median "
            f"{np.median(per_video):g} view(s) per video); expect new videos in the test set")
    if np.isfinite(new):
        text += (f": {new:.0%} of test views are of videos with no training view, where the graph and id embeddings "
                 "know nothing and only content features (the video files) can help, so fine- and coarse-grained "
                 "models may tie")
    return [text]

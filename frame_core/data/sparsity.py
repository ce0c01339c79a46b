"""Validation-report notes on how much the log can teach per video (docs/design.md §5 split):
views per video, the share of test views on videos never seen in training, and what the loop
share means next to the full-view share.

With few views per video, most test videos are new: the graph and id embeddings know nothing
about them, so only content features (the video files) can help, and fine- and coarse-grained
models tend to tie.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.common import schema as S

FEW_VIEWS = 5
"""A video with fewer views than this is 'sparse'."""
MOST = 0.5


def sparsity_warnings(clean: pd.DataFrame) -> list[str]:
    """Sentences for the report when most videos have fewer than :data:`FEW_VIEWS` views
    (empty list otherwise). ``clean``: a validated log with ids, times and timestamps."""
    if len(clean) == 0:
        return []
    from frame_core.data.split import TEST, TRAIN, chronological_split

    per_video = clean[S.VIDEO].astype(str).value_counts()
    sparse = float((per_video < FEW_VIEWS).mean())
    if sparse <= MOST:
        return []
    part = chronological_split(clean.reset_index(drop=True))
    vids = clean[S.VIDEO].astype(str).to_numpy()
    train = set(vids[part == TRAIN])
    test = vids[part == TEST]
    new = float(np.mean([v not in train for v in test])) if len(test) else float("nan")
    text = (f"most videos have fewer than {FEW_VIEWS} views ({sparse:.0%} of {len(per_video):,} videos; median "
            f"{per_video.median():g} view(s) per video); expect new videos in the test set")
    if np.isfinite(new):
        text += (f": {new:.0%} of test views are of videos with no training view, where the graph and id embeddings "
                 "know nothing and only content features (the video files) can help, so fine- and coarse-grained "
                 "models may tie")
    return [text]


def loop_note(r: np.ndarray) -> str | None:
    """The loop warning in words, separated from the full-view share (``r`` = watch ratios).
    None without loops."""
    loops = float((r > 1).mean())
    if loops == 0:
        return None
    full = float((r >= 1).mean())
    text = (f"{loops:.1%} of views are loops (played past the end, watch ratio > 1); they count as full views. "
            f"Full views (ratio ≥ 1) are {full:.1%} of views")
    if full > 0 and loops / full > 0.95:
        text += (", so almost every full view is a loop: the source likely records replays in the playing time, "
                 "which is common and harmless for the labels")
    else:
        text += f", of which {full - loops:.1%} of views end exactly at the end"
    return text

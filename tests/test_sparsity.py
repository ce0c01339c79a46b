"""Validation-report notes: sparse videos (new test videos) and the loop share apart from the full-view share."""

from __future__ import annotations

import numpy as np
import pandas as pd


def test_sparsity_warning_and_loop_share_apart_from_full_views():
    from frame_core.data.sparsity import loop_note, sparsity_warnings

    rows = []
    for u in range(10):  # every view on its own video: all test videos are new
        for t in range(10):
            rows.append((f"u{u}", f"v{u}_{t}", 12.0 if t % 2 else 3.0, 10.0, float(t)))
    log = pd.DataFrame(rows, columns=["user_id", "video_id", "playing_time", "duration_time", "interaction_timestamp"])
    (w,) = sparsity_warnings(log)
    assert w.startswith("most videos have fewer than 5 views (100% of 100 videos; median 1 view(s) per video); "
                        "expect new videos in the test set: 100% of test views are of videos with no training view")
    dense = pd.concat([log.assign(video_id=log["video_id"].str[-1])] * 1)  # 10 videos, 10 views each
    assert sparsity_warnings(dense) == []
    r = np.array([1.2, 1.5, 0.3, 0.5])  # every full view loops
    note = loop_note(r)
    assert note.startswith("50.0% of views are loops") and "Full views (ratio ≥ 1) are 50.0% of views" in note
    assert "almost every full view is a loop" in note
    note2 = loop_note(np.array([1.2, 1.0, 1.0, 0.5]))
    assert "Full views (ratio ≥ 1) are 75.0%" in note2 and "50.0% of views end exactly at the end" in note2
    assert loop_note(np.array([0.5, 1.0])) is None

"""Playing served videos with the world's own viewing process (docs/design.md §10).

:func:`play_views` calls :func:`frame_core.synth.viewing.view_outcomes`, the function that
generated the world's log, with common random numbers (:mod:`frame_core.simulate.crn`) keyed by
(seed, user, video): the same pair always plays the same way in one simulation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.simulate.crn import crn_view_noise
from frame_core.simulate.world_state import SimWorld
from frame_core.synth.viewing import view_outcomes


def leave_clip(play: np.ndarray, duration: np.ndarray, full: np.ndarray, nc: int) -> np.ndarray:
    """The clip (0-based, of ``nc`` equal clips) where a skipped view ended, by the labelling
    rule :func:`frame_core.data.labels.skip_clip` (``min(floor(r · nc), nc − 1)``, docs/design.md
    §2); −1 for a full view."""
    from frame_core.data.labels import skip_clip

    return np.where(full, -1, skip_clip(play, duration, nc))


def play_views(world: SimWorld, u: np.ndarray, v: np.ndarray, seed: int | None = None, *, noise: dict | None = None,
               nc: int = 8) -> pd.DataFrame:
    """Play video ``v[i]`` for user ``u[i]`` (world indices) and return one row per view:
    ``playing_time`` (s), ``duration_time`` (s), ``watch_ratio`` (play / duration; > 1 for a
    loop), ``full_view`` (bool), ``leave_clip`` (−1 for a full view, else the clip of ``nc``
    where the user left), ``like``, ``follow``, ``forward``. ``noise`` replaces the common random
    numbers of ``seed`` (the generator's own draws, in tests)."""
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    if noise is None:
        noise = crn_view_noise(int(seed or 0), u, v)
    out = view_outcomes(world.vid, world.usr, u, v, noise)
    dur = world.durations[v]
    return pd.DataFrame({
        "playing_time": out["play"], "duration_time": dur, "watch_ratio": out["play"] / dur,
        "full_view": out["full"], "leave_clip": leave_clip(out["play"], dur, out["full"], nc),
        "like": out["like"].astype(np.int8), "follow": out["follow"].astype(np.int8),
        "forward": out["forward"].astype(np.int8),
    })

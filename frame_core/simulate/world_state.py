"""A synthetic world ready to be played: the generator's hidden state rebuilt from
``world.json``, the world's log, and which videos each user has already viewed.

``world.json`` stores each user's likes, dislikes and patience and each video's scenes, but not
the per-theme noise of the leave logits, nor the bounce and loop propensities. They are
rebuilt exactly from the generator settings in ``world.json`` (seed, users, videos, per_user)
with the generator's own :func:`frame_core.synth.world.build_world`, then checked against every
value ``world.json`` does store, so an edited world or one from another generator version is
refused instead of being played wrongly (docs/design.md §10).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.synth.world import WORLD_VERSION, _ids, build_world, load_world

WORLD_FILE = "world.json"
LOG_FILE = "interactions.csv"


@dataclasses.dataclass
class SimWorld:
    """A playable world. ``vid`` / ``usr`` are the generator's arrays (indexed by video / user
    index), ``user_ids`` / ``video_ids`` the ids in index order, ``log`` the clean log of
    ``interactions.csv`` (seconds), ``log_u`` / ``log_v`` its rows' user and video indices and
    ``seen`` the (users × videos) CSR 0/1 matrix of pairs viewed in the log."""

    path: Path
    settings: dict
    raw: dict
    vid: dict
    usr: dict
    user_ids: np.ndarray
    video_ids: np.ndarray
    log: pd.DataFrame
    log_u: np.ndarray
    log_v: np.ndarray
    seen: sp.csr_matrix

    @property
    def n_users(self) -> int:
        return int(self.user_ids.size)

    @property
    def n_videos(self) -> int:
        return int(self.video_ids.size)

    @property
    def durations(self) -> np.ndarray:
        """Video durations in seconds, by video index."""
        return self.vid["duration"]


def _whole(settings: dict, key: str, low: int) -> int:
    v = settings.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or float(v) != int(v) or v < low:
        raise InputError(f"world.json settings.{key} must be a whole number ≥ {low}, got {v!r}")
    return int(v)


def _check_matches(world: dict, vid: dict, usr: dict, user_ids, video_ids) -> None:
    """InputError unless world.json's stored values are those of the rebuilt state."""
    videos, users = world.get("videos"), world.get("users")
    if not isinstance(videos, dict) or not isinstance(users, dict):
        raise InputError("world.json lacks its videos or users tables; regenerate it with `python -m frame_core synth`")
    if list(videos) != list(video_ids) or list(users) != list(user_ids):
        raise InputError("world.json's user or video ids are not the ones its settings generate; "
                         "it was edited or written by another generator version")
    try:
        dur = np.array([float(videos[k]["duration"]) for k in video_ids])
        qual = np.array([float(videos[k]["quality"]) for k in video_ids])
        scenes = [videos[k]["scenes"] for k in video_ids]
        likes = [sorted(int(t) for t in users[k]["likes"]) for k in user_ids]
        dislikes = [sorted(int(t) for t in users[k]["dislikes"]) for k in user_ids]
        pat = np.array([float(users[k]["patience"]) for k in user_ids])
    except (KeyError, TypeError, ValueError):
        raise InputError("world.json has a video or user entry without duration, quality, scenes, likes, "
                         "dislikes or patience; regenerate it with `python -m frame_core synth`") from None
    ok = (np.allclose(dur, vid["duration"], atol=1e-6) and np.allclose(qual, np.round(vid["quality"], 3), atol=1e-6)
          and np.allclose(pat, np.round(usr["patience"], 3), atol=1e-6))
    for i in range(len(video_ids)) if ok else ():
        ns = int(vid["n_scenes"][i])
        want = [(round(float(vid["starts"][i, s]), 3), round(float(vid["ends"][i, s]), 3), int(vid["themes"][i, s]))
                for s in range(ns)]
        if [tuple(x) for x in scenes[i]] != want:
            ok = False
            break
    taste = usr["taste"]
    ok = ok and all(likes[i] == np.flatnonzero(taste[i] == 1).tolist() and
                    dislikes[i] == np.flatnonzero(taste[i] == -1).tolist() for i in range(len(user_ids)))
    if not ok:
        raise InputError("world.json does not match the world its settings generate (it was edited, or written by "
                         "another generator version), so its users cannot be played; regenerate it with "
                         "`python -m frame_core synth`")


def load_sim_world(world_dir) -> SimWorld:
    """Load a world folder (``world.json`` + ``interactions.csv``, as ``synth`` writes them).

    Raises InputError (one line) when the path is not a folder, lacks either file, or the
    world cannot be rebuilt exactly (see the module docstring)."""
    from frame_core.data.validation import import_log

    d = Path(world_dir)
    if not d.exists():
        raise InputError(f"{d} does not exist: give the folder that `python -m frame_core synth` wrote")
    if not d.is_dir():
        raise InputError(f"{d} is a file, not a world folder: give the folder holding world.json "
                         "(for a real log without a world, add --replay)")
    if not (d / WORLD_FILE).is_file():
        raise InputError(f"no {WORLD_FILE} in {d}: a simulation needs a synthetic world folder written by "
                         "`python -m frame_core synth` (for a real log, use --replay)")
    if not (d / LOG_FILE).is_file():
        raise InputError(f"no {LOG_FILE} in {d}: the world folder must hold the log the world generated")
    world = load_world(d)
    if not isinstance(world, dict) or world.get("version") != WORLD_VERSION:
        raise InputError(f"{d / WORLD_FILE} is not a version-{WORLD_VERSION} world file; regenerate it with "
                         "`python -m frame_core synth`")
    settings = world.get("settings") if isinstance(world.get("settings"), dict) else {}
    n_users, n_videos = _whole(settings, "users", 1), _whole(settings, "videos", 1)
    seed = _whole(settings, "seed", 0)
    per_user = settings.get("per_user")
    if isinstance(per_user, bool) or not isinstance(per_user, (int, float)) or not per_user >= 1:
        raise InputError(f"world.json settings.per_user must be a number ≥ 1, got {per_user!r}")
    if n_users * n_videos > 2_000_000_000:
        raise InputError("world too large to simulate here (users × videos above 2e9)")
    vid, usr, _streams = build_world(n_users, n_videos, float(per_user), seed)
    user_ids, video_ids = _ids("u", n_users), _ids("v", n_videos)
    _check_matches(world, vid, usr, user_ids, video_ids)
    log, _report = import_log(d / LOG_FILE)
    lu = pd.Index(user_ids.astype(str)).get_indexer(log[S.USER].astype(str))
    lv = pd.Index(video_ids.astype(str)).get_indexer(log[S.VIDEO].astype(str))
    if (lu < 0).any() or (lv < 0).any():
        raise InputError(f"{d / LOG_FILE} has users or videos that are not in world.json: the log and the world "
                         "do not belong together")
    seen = sp.csr_matrix((np.ones(lu.size, dtype=np.int8), (lu, lv)), shape=(n_users, n_videos))
    seen.data[:] = 1
    return SimWorld(path=d, settings=settings, raw=world, vid=vid, usr=usr, user_ids=user_ids.astype(str),
                    video_ids=video_ids.astype(str), log=log, log_u=lu.astype(np.int64), log_v=lv.astype(np.int64),
                    seen=seen)

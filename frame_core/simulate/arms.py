"""The arms of a simulated A/B test: a finished run, or a reference policy (docs/design.md §10).

Every arm scores (user, video) pairs of a world in blocks of users; :func:`serve_block` then
serves each user the top-K videos they have not viewed, best score first, ties by video order.

- :class:`RunArm`: the run's predicted full-view probability (``Run.predict``; users and videos
  the run has not seen get its cold-start scores).
- ``random``: a uniform random order, fresh every round (keyed by seed, round, user, video).
- ``popularity``: the number of full views each video has in the arm's own log (the world's log
  plus what this arm served), ties by the number of views.
- ``oracle``: the world's true full-view probability
  (:func:`frame_core.synth.viewing.full_view_probability`): the ceiling of any policy.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.simulate.crn import pair_keys, uniforms
from frame_core.simulate.world_state import SimWorld
from frame_core.synth.viewing import full_view_probability

REFERENCE_ARMS = ("random", "popularity", "oracle")


@dataclasses.dataclass
class Arm:
    """One arm. ``name`` is what results call it; ``kind`` is ``run`` or a reference arm name."""

    name: str
    kind: str
    seed: int = 0
    run: object | None = None
    run_path: Path | None = None
    full_counts: np.ndarray | None = None
    view_counts: np.ndarray | None = None

    def observe(self, v: np.ndarray, full: np.ndarray, n_videos: int) -> None:
        """Count views (video indices ``v``, full-view flags ``full``) into the arm's log."""
        if self.view_counts is None:
            self.view_counts = np.zeros(n_videos, dtype=np.int64)
            self.full_counts = np.zeros(n_videos, dtype=np.int64)
        self.view_counts += np.bincount(v, minlength=n_videos)
        self.full_counts += np.bincount(v, weights=full.astype(np.float64), minlength=n_videos).astype(np.int64)

    def scores(self, world: SimWorld, users: np.ndarray, round_: int) -> np.ndarray:
        """(len(users), n_videos) float64 scores, higher is served first."""
        nu, nv = users.size, world.n_videos
        uu = np.repeat(users, nv)
        vv = np.tile(np.arange(nv, dtype=np.int64), nu)
        if self.kind == "random":
            return uniforms(pair_keys(self.seed, uu, vv, salt=1000 + round_), 1)[:, 0].reshape(nu, nv)
        if self.kind == "oracle":
            return full_view_probability(world.vid, world.usr, uu, vv).reshape(nu, nv)
        if self.kind == "popularity":
            views = self.view_counts.astype(np.float64)
            pop = self.full_counts + views / (views.max() + 1.0)
            return np.broadcast_to(pop, (nu, nv)).copy()
        pairs = pd.DataFrame({S.USER: world.user_ids[uu], S.VIDEO: world.video_ids[vv], S.DURATION: world.durations[vv]})
        return self.run.predict(pairs)["p_full"].to_numpy(dtype=np.float64).reshape(nu, nv)


def serve_block(scores: np.ndarray, seen_block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` unseen videos per row of ``scores`` (rows: users of the block).

    ``seen_block`` is a bool array of the same shape. Returns flat arrays ``(row, video,
    rank)`` (rank 1-based), fewer than ``k`` per row when fewer unseen videos remain. Ties keep
    video order."""
    s = np.where(seen_block, -np.inf, np.nan_to_num(scores, nan=-1e300))
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    ok = ~np.take_along_axis(seen_block, order, axis=1)
    rows = np.repeat(np.arange(scores.shape[0]), order.shape[1]).reshape(order.shape)
    rank = np.cumsum(ok, axis=1)
    return rows[ok], order[ok], rank[ok]


def score_of(scores: np.ndarray, rows: np.ndarray, videos: np.ndarray) -> np.ndarray:
    return scores[rows, videos]


def parse_run_list(runs) -> list[Path]:
    """Run folders from a comma-separated string (InputError when it names none) or a list
    (may be empty: reference arms only, for the API and tests)."""
    if isinstance(runs, (list, tuple)) and not runs:
        return []
    items = [s.strip() for s in runs.split(",")] if isinstance(runs, str) else [str(s).strip() for s in (runs or [])]
    items = [s for s in items if s]
    if not items:
        raise InputError("no runs given: pass --runs RUN_A,RUN_B (finished run folders)")
    return [Path(s) for s in items]


def load_run_arms(runs, log: pd.DataFrame, log_label: str, seed: int, names=None) -> list[Arm]:
    """One :class:`Arm` per finished run folder, each checked to be trained on ``log`` (its
    ``config.json`` data hash must be the log's). An arm is named after its folder unless
    ``names`` (one per run) says otherwise. InputError (one line) for a folder that is not a
    finished run, a run of another dataset, or two arms with the same name."""
    from frame_core.data.prepare import log_sha256
    from frame_core.runs.loader import load_run

    want = log_sha256(log)
    arms: list[Arm] = []
    paths = parse_run_list(runs)
    if names is not None and len(names) != len(paths):
        raise InputError(f"{len(names)} arm names for {len(paths)} runs")
    for i, path in enumerate(paths):
        name = str(names[i]) if names is not None else (path.name or str(path))
        if name in REFERENCE_ARMS:
            raise InputError(f"run folder {path} is named like the reference arm {name!r}; rename the folder")
        if any(a.name == name for a in arms):
            raise InputError(f"two runs are both named {name!r}; give each arm a run folder with its own name")
        run = load_run(path)
        data = run.info.get("data") if isinstance(run.info.get("data"), dict) else {}
        got = data.get("sha256")
        if got != want:
            src = data.get("source") or "an unknown log"
            raise InputError(f"run {name} was trained on another dataset ({src}, data hash {str(got)[:12]}…), not on "
                             f"{log_label} (data hash {want[:12]}…); train it on this log")
        arms.append(Arm(name=name, kind="run", seed=seed, run=run, run_path=path))
    return arms


def reference_arms(seed: int, names=REFERENCE_ARMS) -> list[Arm]:
    return [Arm(name=n, kind=n, seed=seed) for n in names]

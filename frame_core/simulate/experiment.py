"""The simulated A/B test: arms serve, the world plays, rounds repeat (docs/design.md §10).

:func:`run_simulation` is the entry point of ``python -m frame_core simulate`` and of the app's
Simulate job. Output files are described in :mod:`frame_core.simulate.report`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.simulate.arms import load_run_arms, reference_arms, serve_block
from frame_core.simulate.player import play_views
from frame_core.simulate.refit import refit_arm, refittable, served_log_rows
from frame_core.simulate.report import write_outputs
from frame_core.simulate.world_state import SimWorld, load_sim_world

log = logging.getLogger(__name__)
ProgressFn = Callable[[dict], None]
BLOCK_PAIRS = 400_000  # user × video pairs scored at once (bounds memory; never a full dense matrix)


def check_int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise InputError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def check_options(k, rounds, seed, timeline_nc, refit_budget_s, n_boot) -> tuple:
    k = check_int("--k", k, 1, 1000)
    rounds = check_int("--rounds", rounds, 1, 50)
    seed = check_int("--seed", seed, 0, 2**32 - 1)
    timeline_nc = check_int("--timeline-nc", timeline_nc, 1, 64)
    n_boot = check_int("--bootstrap", n_boot, 100, 100_000)
    if isinstance(refit_budget_s, bool) or not isinstance(refit_budget_s, (int, float)) or \
            not 0 <= refit_budget_s <= 86_400:
        raise InputError(f"--refit-budget must be from 0 to 86400 seconds, got {refit_budget_s!r}")
    return k, rounds, seed, timeline_nc, float(refit_budget_s), n_boot


def serve_round(world: SimWorld, arm, seen: sp.csr_matrix, k: int, round_: int, seed: int, timeline_nc: int,
                cancel=None) -> pd.DataFrame:
    """One round of one arm: every user gets the arm's top-``k`` unseen videos, played by the
    world. One row per served view (see :func:`frame_core.simulate.player.play_views`) plus
    ``arm, round, user_id, rank, video_id, score`` and the indices ``u``, ``v``."""
    block = max(1, BLOCK_PAIRS // max(1, world.n_videos))
    parts = []
    for start in range(0, world.n_users, block):
        if cancel is not None and cancel.is_set():
            from frame_core.common.errors import CancelledError

            raise CancelledError("simulation cancelled")
        users = np.arange(start, min(world.n_users, start + block), dtype=np.int64)
        scores = arm.scores(world, users, round_)
        seen_b = seen[users].toarray() > 0
        rows, videos, ranks = serve_block(scores, seen_b, k)
        parts.append(pd.DataFrame({"u": users[rows], "v": videos, "rank": ranks, "score": scores[rows, videos]}))
    served = pd.concat(parts, ignore_index=True)
    played = play_views(world, served["u"].to_numpy(), served["v"].to_numpy(), seed, nc=timeline_nc)
    out = pd.concat([served, played], axis=1)
    out.insert(0, "round", round_)
    out.insert(0, "arm", arm.name)
    out.insert(3, S.USER, world.user_ids[out["u"].to_numpy()])
    out.insert(5, S.VIDEO, world.video_ids[out["v"].to_numpy()])
    return out


def run_simulation(world_dir, runs, *, out_dir, k: int = 5, rounds: int = 1, seed: int = 0,
                   refit_budget_s: float = 300.0, timeline_nc: int = 8, n_boot: int = 2000,
                   names=None, progress: ProgressFn | None = None, cancel=None) -> dict:
    """Simulate an A/B test of ``runs`` (finished run folders trained on the world's log; a
    comma-separated string or a list) against the reference arms on the world in ``world_dir``.

    Every round, every arm serves every user its top-``k`` videos among those the user has not
    viewed in the log or been served by this arm before; the world plays them with common random
    numbers of ``seed``. With ``rounds > 1`` run arms are refit before each later round
    (:mod:`frame_core.simulate.refit`, ``refit_budget_s`` seconds each; 0 keeps the models
    fixed). ``timeline_nc`` clips define ``leave_clip`` and the skip-in-first-clip rate.
    Writes the files of :mod:`frame_core.simulate.report` into ``out_dir`` and returns the
    summary dict (also ``simulation.json``). InputError for bad input, CancelledError on cancel.
    """
    t0 = time.perf_counter()
    k, rounds, seed, timeline_nc, refit_budget_s, n_boot = check_options(k, rounds, seed, timeline_nc,
                                                                          refit_budget_s, n_boot)
    emit = progress or (lambda event: None)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    world = load_sim_world(world_dir)
    emit({"event": "status", "message": f"world loaded: {world.n_users} users, {world.n_videos} videos"})
    arms = load_run_arms(runs, world.log, f"{world.path}/interactions.csv", seed, names) + reference_arms(seed)
    if rounds > 1 and refit_budget_s > 0:
        for a in arms:
            if a.kind == "run":
                refittable(a)
    full_log = (world.log[S.PLAY].to_numpy() >= world.log[S.DURATION].to_numpy())
    seen = {}
    for a in arms:
        a.observe(world.log_v, full_log, world.n_videos)
        seen[a.name] = world.seen.copy()
    all_views, served_rows, refits = [], {a.name: [] for a in arms}, []
    steps, step = rounds * len(arms), 0
    for r in range(1, rounds + 1):
        for a in arms:
            if r > 1 and a.kind == "run" and refit_budget_s > 0:
                emit({"event": "status", "message": f"round {r}: refitting {a.name}"})
                info = refit_arm(a, world.log, served_rows[a.name], refit_budget_s, cancel=cancel)
                refits.append({"arm": a.name, "round": r, **info})
            views = serve_round(world, a, seen[a.name], k, r, seed, timeline_nc, cancel)
            seen[a.name] = seen[a.name] + sp.csr_matrix(
                (np.ones(len(views), dtype=np.int8), (views["u"], views["v"])), shape=world.seen.shape)
            a.observe(views["v"].to_numpy(), views["full_view"].to_numpy(), world.n_videos)
            served_rows[a.name].append(served_log_rows(world.log, views, r))
            all_views.append(views)
            step += 1
            emit({"event": "arm_done", "arm": a.name, "round": r, "done": step, "total": steps,
                  "full_view_rate": float(views["full_view"].mean()) if len(views) else None})
    views = pd.concat(all_views, ignore_index=True)
    settings = {"world": str(world.path), "runs": [str(a.run_path) for a in arms if a.kind == "run"],
                "arms": [a.name for a in arms], "k": k, "rounds": rounds, "seed": seed,
                "refit": "refit from the run's config" if rounds > 1 and refit_budget_s > 0 else "none (models fixed)",
                "refit_budget_s": refit_budget_s, "timeline_nc": timeline_nc, "bootstrap": n_boot,
                "world_seed": world.settings.get("seed"), "users": world.n_users, "videos": world.n_videos}
    summary = write_outputs(out, views, settings, refits, mode="world")
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    emit({"event": "done", "done": steps, "total": steps})
    log.info("simulation written to %s in %.1f s", out, summary["seconds"])
    return summary

"""Writing a synthetic world: ``interactions.csv``, ``world.json`` and (optionally) the rendered
videos; :func:`generate_world` is the entry point (see :mod:`frame_core.synth`)."""

from __future__ import annotations

import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from frame_core.common.atomic import atomic_open, atomic_write_bytes
from frame_core.common.errors import InputError
from frame_core.synth.render import _render_seed, render_frames, write_webm
from frame_core.synth.viewing import _simulate
from frame_core.synth.world import (
    EPOCH_START,
    FPS,
    FRAME_H,
    FRAME_W,
    THEMES,
    WORLD_VERSION,
    Progress,
    _check_args,
    _expose,
    _ids,
    _timestamps,
    build_world,
)

log = logging.getLogger(__name__)



def _write_log(path: Path, user_ids, video_ids, u: np.ndarray, v: np.ndarray, columns: dict) -> None:
    """Write the log as CSV (pyarrow: fast at millions of rows; floats in shortest form)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def ids(names, idx):
        return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(list(names), pa.string()))

    table = pa.table({"user_id": ids(user_ids, u), "video_id": ids(video_ids, v), **columns})
    with atomic_open(path) as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        if table.num_rows:
            pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def _world_json(settings: dict, vid: dict, usr: dict, video_ids, user_ids) -> str:
    def dumps(obj):
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)

    lines = ["{", f'"version":{WORLD_VERSION},', f'"settings":{dumps(settings)},', '"themes":[']
    lines.append(",\n".join(dumps(asdict(t)) for t in THEMES))
    lines.append("],")
    lines.append('"videos":{')
    entries = []
    starts, ends, themes = vid["starts"], vid["ends"], vid["themes"]
    for i, vid_id in enumerate(video_ids):
        ns = int(vid["n_scenes"][i])
        scenes = [[round(float(starts[i, s]), 3), round(float(ends[i, s]), 3), int(themes[i, s])] for s in range(ns)]
        entry = {"duration": float(vid["duration"][i]), "quality": round(float(vid["quality"][i]), 3), "scenes": scenes}
        entries.append(f"{dumps(vid_id)}:{dumps(entry)}")
    lines.append(",\n".join(entries))
    lines.append("},")
    lines.append('"users":{')
    entries = []
    taste = usr["taste"]
    for i, user_id in enumerate(user_ids):
        entry = {
            "likes": np.flatnonzero(taste[i] == 1).tolist(),
            "dislikes": np.flatnonzero(taste[i] == -1).tolist(),
            "patience": round(float(usr["patience"][i]), 3),
        }
        entries.append(f"{dumps(user_id)}:{dumps(entry)}")
    lines.append(",\n".join(entries))
    lines.append("}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def generate_world(
    out_dir,
    *,
    users: int = 300,
    videos: int = 400,
    per_user: float = 40,
    seed: int = 0,
    video: bool = True,
    progress: Progress | None = None,
    workers: int | None = None,
) -> dict:
    """Generate a synthetic world into ``out_dir`` (see the module docstring).

    ``progress(done, total, stage)`` is called from the calling thread as the work advances;
    an exception it raises (e.g. a cancel) stops the generation. ``workers`` threads render and
    encode videos (OpenCV releases the GIL while encoding; default: up to 2).

    Returns a summary: ``users``, ``videos``, ``views``, ``full_view_share``,
    ``median_watch_ratio``, ``bytes_videos`` (0 without videos), ``seconds`` (wall time).
    Raises :class:`InputError` for bad arguments or an unwritable ``out_dir``.
    """
    t0 = time.perf_counter()
    out, n_users, n_videos, per_user, seed = _check_args(out_dir, users, videos, per_user, seed)

    def report(done, total, stage):
        if progress is not None:
            progress(int(done), int(total), stage)

    steps = 5
    report(0, steps, "world")
    vid, usr, (r_exp, r_view, r_time) = build_world(n_users, n_videos, per_user, seed)
    report(1, steps, "exposure")
    u, v = _expose(r_exp, usr["counts"], vid["popularity"])
    report(2, steps, "views")
    sim = _simulate(r_view, vid, usr, u, v)
    ts = _timestamps(r_time, u, sim["play"], n_users)
    report(3, steps, "writing log")

    user_ids, video_ids = _ids("u", n_users), _ids("v", n_videos)
    order = np.lexsort((np.arange(u.size), u, ts))  # by time, then user, then per-user order
    _write_log(
        out / "interactions.csv",
        user_ids,
        video_ids,
        u[order],
        v[order],
        {
            "playing_time": sim["play"][order],
            "duration_time": vid["duration"][v[order]],
            "interaction_timestamp": ts[order],
            "like": sim["like"][order].astype(np.int8),
            "follow": sim["follow"][order].astype(np.int8),
            "forward": sim["forward"][order].astype(np.int8),
        },
    )
    settings = {
        "seed": seed,
        "users": n_users,
        "videos": n_videos,
        "per_user": per_user,
        "fps": FPS,
        "frame_size": [FRAME_W, FRAME_H],
        "epoch_start": EPOCH_START,
        "time_unit": "s",
        "hue_scale": "OpenCV 0-179",
        "speed_unit": "px/s",
    }
    atomic_write_bytes(out / "world.json", _world_json(settings, vid, usr, video_ids, user_ids).encode("utf-8"))
    report(4, steps, "writing log")

    bytes_videos = 0
    if video:
        vdir = out / "videos"
        try:
            vdir.mkdir(exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create video folder {str(vdir)!r}: {exc.strerror or exc}") from None
        report(0, n_videos, "rendering videos")

        def render_one(i: int) -> int:
            ns = int(vid["n_scenes"][i])
            scenes = [(vid["starts"][i, s], vid["ends"][i, s], int(vid["themes"][i, s])) for s in range(ns)]
            frames = render_frames(float(vid["duration"][i]), scenes, _render_seed(seed, i))
            path = vdir / f"{video_ids[i]}.webm"
            write_webm(path, frames)
            return path.stat().st_size

        n_workers = max(1, int(workers)) if workers is not None else max(1, min(2, os.cpu_count() or 1))
        if n_workers == 1:
            for i in range(n_videos):
                bytes_videos += render_one(i)
                report(i + 1, n_videos, "rendering videos")
        else:
            pool = ThreadPoolExecutor(n_workers, thread_name_prefix="synth-render")
            try:
                for done, size in enumerate(pool.map(render_one, range(n_videos)), start=1):
                    bytes_videos += size
                    report(done, n_videos, "rendering videos")
            finally:
                # On an error or a cancel raised by ``progress``, drop the videos not started yet.
                pool.shutdown(wait=True, cancel_futures=True)
    report(steps, steps, "done")

    ratio = sim["play"] / vid["duration"][v]
    summary = {
        "users": n_users,
        "videos": n_videos,
        "views": int(u.size),
        "full_view_share": round(float(sim["full"].mean()) if u.size else 0.0, 4),
        "median_watch_ratio": round(float(np.median(ratio)) if u.size else 0.0, 4),
        "bytes_videos": int(bytes_videos),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    log.info("synthetic world written to %s: %s", out, summary)
    return summary

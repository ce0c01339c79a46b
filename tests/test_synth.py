"""The synthetic world generator (frame_core.synth.world): determinism, schema, world structure, videos."""

from __future__ import annotations

import json
import math
import re

import cv2
import numpy as np
import pandas as pd
import pytest

from frame_core import synth
from frame_core.common.errors import InputError

COLUMNS = ["user_id", "video_id", "playing_time", "duration_time", "interaction_timestamp", "like", "follow", "forward"]


def _world(tmp_path_factory, name, **kw):
    out = tmp_path_factory.mktemp(name)
    summary = synth.generate_world(out, **{"video": False, **kw})
    log = pd.read_csv(out / "interactions.csv", dtype={"user_id": str, "video_id": str})
    world = json.loads((out / "world.json").read_text())
    return out, summary, log, world


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    """A world big enough for statistical checks (6,000 views, no videos)."""
    return _world(tmp_path_factory, "medium", users=200, videos=150, per_user=30, seed=3)


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 11), (b, 11), (c, 12)):
        synth.generate_world(out, users=25, videos=30, per_user=9, seed=seed, video=False)
    for name in ("interactions.csv", "world.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()


def test_schema_units_and_counts(medium):
    _, summary, log, world = medium
    assert list(log.columns) == COLUMNS
    assert len(log) == summary["views"] == 200 * 30  # the total is exact
    assert summary["users"] == log["user_id"].nunique() == 200
    assert set(log["video_id"]) <= set(world["videos"]) and len(world["videos"]) == 150
    assert all(re.fullmatch(r"u\d{4}", x) for x in log["user_id"].unique())
    assert all(re.fullmatch(r"v\d{4}", x) for x in log["video_id"].unique())
    assert not log.duplicated(["user_id", "video_id"]).any()
    per_user = log.groupby("user_id").size()
    assert per_user.min() >= 15 and per_user.max() <= 45  # 0.5x .. 1.5x per_user
    # Seconds, rounded to the millisecond.
    dur, play = log["duration_time"], log["playing_time"]
    assert dur.between(synth.MIN_DURATION, synth.MAX_DURATION).all()
    assert np.allclose(play, play.round(3)) and np.allclose(dur, dur.round(3))
    assert np.allclose(dur * synth.FPS, np.round(dur * synth.FPS), atol=0.01)  # whole frames
    r = play / dur
    assert (play >= 0).all() and r.max() <= 3.0 + 1e-9
    full = r >= 1
    assert 0.25 < full.mean() < 0.65
    assert (r[full] > 1).mean() > 0.1  # some full views loop
    assert ((r < 1) & (play > dur - 0.001 + 1e-9)).sum() == 0
    assert summary["full_view_share"] == pytest.approx(full.mean(), abs=1e-4)
    assert summary["median_watch_ratio"] == pytest.approx(np.median(r), abs=1e-3)
    for flag in ("like", "follow", "forward"):
        assert set(log[flag].unique()) <= {0, 1}
        assert log.loc[full, flag].mean() > log.loc[~full, flag].mean()  # correlated with full views
    # Timestamps: whole seconds from 2026-01-01 on, strictly increasing per user, users interleaved.
    ts = log["interaction_timestamp"]
    assert ts.dtype.kind == "i" and ts.min() >= synth.EPOCH_START
    assert ts.is_monotonic_increasing
    assert log.groupby("user_id")["interaction_timestamp"].apply(lambda s: s.diff().dropna().gt(0).all()).all()
    pos = log.reset_index().groupby("user_id")["index"].agg(["min", "max", "size"])
    assert ((pos["max"] - pos["min"] + 1) > pos["size"]).mean() > 0.9  # rows of others in between
    # Durations in the log match the world.
    assert np.allclose(dur, log["video_id"].map(lambda v: world["videos"][v]["duration"]))


def test_world_json_ground_truth(medium):
    out, _, _, world = medium
    assert world["version"] == synth.WORLD_VERSION
    assert [t["name"] for t in world["themes"]] == [t.name for t in synth.THEMES]
    assert 8 <= len(world["themes"]) <= 12
    k = len(world["themes"])
    for entry in world["videos"].values():
        scenes = entry["scenes"]
        assert synth.MIN_SCENES <= len(scenes) <= synth.MAX_SCENES
        assert scenes[0][0] == 0.0 and scenes[-1][1] == pytest.approx(entry["duration"])
        for (_, e0, t0), (s1, _, t1) in zip(scenes, scenes[1:]):
            assert e0 == pytest.approx(s1) and t0 != t1
        assert all(e - s >= synth.MIN_SCENE_S - 1e-6 and 0 <= t < k for s, e, t in scenes)
    for entry in world["users"].values():
        assert 1 <= len(entry["dislikes"]) <= 3 and 2 <= len(entry["likes"]) <= 4
        assert not set(entry["likes"]) & set(entry["dislikes"])
    loaded = synth.load_world(out)
    assert isinstance(next(iter(loaded["videos"].values()))["scenes"][0], tuple)


def test_scene_boundaries_do_not_line_up_with_clip_boundaries(medium):
    _, _, _, world = medium
    for nc in (4, 8):
        near, total = 0, 0
        for entry in world["videos"].values():
            edges = np.linspace(0, entry["duration"], nc + 1)[1:-1]
            for _, end, _ in entry["scenes"][:-1]:
                total += 1
                near += np.abs(edges - end).min() < 0.05
        assert total > 200
        assert near / total < 0.1


def test_skips_concentrate_inside_disliked_scenes(medium):
    _, _, log, world = medium
    left = {"dislike": 0, "neutral": 0, "like": 0}
    reached = {"dislike": 0, "neutral": 0, "like": 0}
    for user, vid, play, dur in log[["user_id", "video_id", "playing_time", "duration_time"]].itertuples(index=False):
        taste = world["users"][user]
        for start, end, theme in world["videos"][vid]["scenes"]:
            if play < start:
                break
            kind = "dislike" if theme in taste["dislikes"] else "like" if theme in taste["likes"] else "neutral"
            reached[kind] += 1
            if play < end and play < dur:
                left[kind] += 1
                break
    rate = {k: left[k] / reached[k] for k in left}
    # A reached disliked scene is usually where the user leaves; liked and neutral ones rarely.
    assert rate["dislike"] > 0.6
    assert rate["neutral"] < 0.3 and rate["like"] < 0.2
    assert rate["dislike"] > 3 * rate["neutral"]
    skips = sum(left.values())
    assert left["dislike"] / skips > 0.5  # although disliked scenes are a minority of reached ones
    assert reached["dislike"] / sum(reached.values()) < 0.3


def test_videos_are_readable_vp9_with_matching_duration(tmp_path):
    out = tmp_path / "w"
    calls = []
    summary = synth.generate_world(
        out, users=4, videos=3, per_user=2, seed=5, workers=1, progress=lambda d, t, s: calls.append((d, t, s))
    )
    log = pd.read_csv(out / "interactions.csv", dtype={"video_id": str})
    world = json.loads((out / "world.json").read_text())
    files = sorted((out / "videos").glob("*.webm"))
    assert [f.stem for f in files] == sorted(world["videos"])
    assert summary["bytes_videos"] == sum(f.stat().st_size for f in files) > 0
    for f in files:
        cap = cv2.VideoCapture(str(f))
        assert cap.isOpened()
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode(errors="replace")
        fps = cap.get(cv2.CAP_PROP_FPS)
        frames = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            assert frame.shape == (synth.FRAME_H, synth.FRAME_W, 3)
            frames += 1
        cap.release()
        duration = world["videos"][f.stem]["duration"]
        assert fourcc.upper().startswith("VP9") or fourcc.upper() == "VP90"
        assert fps == pytest.approx(synth.FPS)
        assert frames == round(duration * synth.FPS)
        assert abs(frames / fps - duration) <= 0.2
        assert np.allclose(log.loc[log["video_id"] == f.stem, "duration_time"], duration)
    # Progress: the log stages, then one call per video, then done.
    stages = [s for _, _, s in calls]
    assert stages[0] == "world" and stages[-1] == "done"
    renders = [(d, t) for d, t, s in calls if s == "rendering videos"]
    assert renders[-1] == (3, 3) and [d for d, _ in renders] == sorted(d for d, _ in renders)
    # Rendering videos does not change the log.
    synth.generate_world(tmp_path / "nv", users=4, videos=3, per_user=2, seed=5, video=False)
    assert (tmp_path / "nv" / "interactions.csv").read_bytes() == (out / "interactions.csv").read_bytes()
    assert (tmp_path / "nv" / "world.json").read_bytes() == (out / "world.json").read_bytes()


def test_video_false_writes_no_videos(tmp_path):
    summary = synth.generate_world(tmp_path, users=3, videos=4, per_user=2, video=False)
    assert summary["bytes_videos"] == 0
    assert not (tmp_path / "videos").exists()
    assert not list(tmp_path.rglob("*.webm"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["interactions.csv", "world.json"]


def test_small_catalogue_and_small_per_user(tmp_path):
    # More views wanted than videos exist: each user sees every video once, no duplicates.
    s = synth.generate_world(tmp_path / "a", users=5, videos=3, per_user=10, video=False)
    log = pd.read_csv(tmp_path / "a" / "interactions.csv")
    assert s["views"] == len(log) == 15 and not log.duplicated(["user_id", "video_id"]).any()
    s = synth.generate_world(tmp_path / "b", users=7, videos=50, per_user=1, video=False)
    assert s["views"] == 7
    s = synth.generate_world(tmp_path / "c", users=1, videos=1, per_user=1, video=False)
    assert s["views"] == 1


def test_themes_are_visually_distinct():
    """A handcrafted descriptor (colour, texture, motion) tells the themes apart despite jitter."""

    def descriptor(frames):
        hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2HSV) for f in frames]).astype(np.float32)
        h = hsv[..., 0] * (2 * math.pi / 180)
        s, v = hsv[..., 1] / 255, hsv[..., 2] / 255
        return np.array([
            (np.cos(h) * s).mean(), (np.sin(h) * s).mean(), s.mean(), v.mean(), v.std(),
            np.abs(np.diff(v, axis=2)).mean(), np.abs(np.diff(v, axis=1)).mean(), np.abs(np.diff(v, axis=0)).mean(),
        ])

    feats, labels = [], []
    for theme in synth.THEMES:
        for rep in range(4):
            frames = synth.render_frames(2.0, [(0.0, 2.0, theme.id)], np.random.default_rng(1000 * rep + theme.id))
            feats.append(descriptor(frames[:4]))
            labels.append(theme.id)
    x, y = np.array(feats), np.array(labels)
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    # Leave-one-out nearest centroid.
    correct = 0
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        cents = np.stack([x[keep & (y == t)].mean(0) for t in range(len(synth.THEMES))])
        correct += np.argmin(((cents - x[i]) ** 2).sum(1)) == y[i]
    assert correct / len(x) >= 0.9
    # Renders of one theme are not identical (per-video variation).
    a = synth.render_frames(1.0, [(0.0, 1.0, 0)], np.random.default_rng(1))
    b = synth.render_frames(1.0, [(0.0, 1.0, 0)], np.random.default_rng(2))
    assert not np.array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(users=0), "users"),
        (dict(videos=0), "videos"),
        (dict(per_user=0.5), "per_user"),
        (dict(per_user=float("nan")), "per_user"),
        (dict(users="many"), "users"),
        (dict(users=2.5), "users"),
        (dict(seed=-1), "seed"),
        (dict(users=True), "users"),
    ],
)
def test_bad_arguments_raise_input_error(tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        synth.generate_world(tmp_path, **{"users": 3, "videos": 3, "per_user": 2, "video": False, **kwargs})
    assert not (tmp_path / "interactions.csv").exists()


def test_unwritable_out_dir_raises_input_error(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        synth.generate_world(blocker, users=2, videos=2, per_user=1, video=False)
    with pytest.raises(InputError, match="cannot write"):
        synth.generate_world(blocker / "sub", users=2, videos=2, per_user=1, video=False)
    with pytest.raises(InputError):
        synth.generate_world("", users=2, videos=2, per_user=1, video=False)

"""Frame sampling: sample times by hand, exact frame indices, sequential == seek, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from frame_core.common.errors import InputError
from frame_core.video import UnreadableVideoError, read_clip_frames, sample_frame_indices, sample_times
from frame_core.video.frames import MAX_NC

from .video_factory import decode_index, strip_webm_duration, write_truncated, write_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("frames")
    return {
        "webm": write_video(d / "a.webm", n=48, fps=24),
        "mp4": write_video(d / "b.mp4", n=50, fps=25),
        "short": write_video(d / "s.webm", n=5, fps=10),
        "dir": d,
    }


def test_sample_times_by_hand():
    # 12 s, 4 clips of 3 s, k = 3 -> sub-interval centres 0.5, 1.5, 2.5 within each clip
    t = sample_times(12.0, 4, 3)
    assert t.shape == (4, 3)
    np.testing.assert_allclose(t[0], [0.5, 1.5, 2.5])
    np.testing.assert_allclose(t[3], [9.5, 10.5, 11.5])
    # one clip, one frame: the middle of the video
    np.testing.assert_allclose(sample_times(10.0, 1, 1), [[5.0]])
    # k = 2, N_c = 2, 8 s: clip 1 covers [4, 8) -> 5 and 7
    np.testing.assert_allclose(sample_times(8.0, 2, 2), [[1.0, 3.0], [5.0, 7.0]])


def test_sample_frame_indices_by_hand():
    # 48 frames, 4 clips of 12 frames, k = 3: floor of 2, 6, 10 inside each clip
    idx = sample_frame_indices(48, 4, 3)
    assert idx.dtype == np.int64
    assert idx.tolist() == [[2, 6, 10], [14, 18, 22], [26, 30, 34], [38, 42, 46]]
    # 10 frames, 3 clips (3.33 frames each), k = 1: centres 1.67, 5, 8.33 -> 1, 5, 8
    assert sample_frame_indices(10, 3, 1).tolist() == [[1], [5], [8]]
    # fewer frames than samples: indices repeat, stay in range
    assert sample_frame_indices(2, 4, 3).tolist() == [[0, 0, 0], [0, 0, 0], [1, 1, 1], [1, 1, 1]]
    assert sample_frame_indices(1, 1, 3).tolist() == [[0, 0, 0]]


@pytest.mark.parametrize("nc", [1, 2, 3, 7, 8, 13, 64])
def test_indices_match_times_and_stay_in_their_clip(nc):
    rng = np.random.default_rng(nc)
    for n in rng.integers(1, 2000, size=20).tolist() + [nc, nc * 3, 1]:
        fps = 30.0
        idx = sample_frame_indices(n, nc, 3)
        t = sample_times(n / fps, nc, 3)
        expect = np.minimum(np.floor(t * fps + 1e-9).astype(int), n - 1)
        assert np.array_equal(idx, expect), (n, nc)
        start = np.floor(np.arange(nc) * n / nc)[:, None]
        end = np.ceil((np.arange(nc) + 1) * n / nc)[:, None]
        assert ((idx >= np.minimum(start, n - 1)) & (idx <= np.maximum(end - 1, 0))).all()
        assert (np.diff(idx.ravel()) >= 0).all()


@pytest.mark.parametrize("bad", [(0, 3), (65, 3), (2.5, 3), (4, 0), ("x", 3)])
def test_bad_nc_k(bad):
    with pytest.raises(InputError):
        sample_times(10.0, *bad)
    assert MAX_NC == 64


@pytest.mark.parametrize("kind", ["webm", "mp4"])
@pytest.mark.parametrize("method", ["sequential", "seek", "auto"])
def test_read_clip_frames_gets_the_planned_frames(videos, kind, method):
    path = videos[kind]
    n = 48 if kind == "webm" else 50
    for nc in (1, 4):
        cf = read_clip_frames(path, nc, 3, size=(96, 64), method=method)
        assert cf.frames.shape == (nc, 3, 64, 96, 3) and cf.frames.dtype == np.uint8
        got = [decode_index(f) for f in cf.frames.reshape(-1, 64, 96, 3)]
        assert got == sample_frame_indices(n, nc, 3).ravel().tolist()
        assert cf.info.frames == n
        if method != "auto":
            assert cf.method == method


def test_sequential_and_seek_are_identical(videos):
    for kind in ("webm", "mp4"):
        a = read_clip_frames(videos[kind], 8, 3, method="sequential")
        b = read_clip_frames(videos[kind], 8, 3, method="seek")
        assert a.frames.shape == (8, 3, 64, 64, 3)
        assert np.array_equal(a.frames, b.frames)


def test_auto_picks_seek_only_for_few_samples(videos, tmp_path):
    long = write_video(tmp_path / "long.mp4", n=240, fps=24, size=(64, 48))
    assert read_clip_frames(long, 1, 3, method="auto").method == "seek"
    assert read_clip_frames(long, 8, 3, method="auto").method == "sequential"


def test_more_clips_than_frames(videos):
    cf = read_clip_frames(videos["short"], 64, 3, size=(96, 64))
    assert cf.frames.shape == (64, 3, 64, 96, 3)
    got = [decode_index(f) for f in cf.frames.reshape(-1, 64, 96, 3)]
    assert got == sample_frame_indices(5, 64, 3).ravel().tolist()


def test_truncated_webm_is_unreadable(videos, tmp_path):
    bad = write_truncated(videos["webm"], tmp_path / "cut.webm", 0.5)
    with pytest.raises(UnreadableVideoError, match="truncated"):
        read_clip_frames(bad, 4, 3, method="sequential")
    # auto falls back to sequential or seek fails on the missing tail: never returns garbage
    with pytest.raises(UnreadableVideoError):
        read_clip_frames(bad, 4, 3)


def test_webm_without_duration_is_counted_by_decoding(videos, tmp_path):
    # live-recorded WebM has no duration: OpenCV's CAP_PROP_FRAME_COUNT is then absurd
    bad_meta = strip_webm_duration(videos["webm"], tmp_path / "live.webm")
    cap = cv2.VideoCapture(str(bad_meta))
    assert not 1 <= cap.get(cv2.CAP_PROP_FRAME_COUNT) <= 1e6
    cap.release()
    for method in ("auto", "seek", "sequential"):
        cf = read_clip_frames(bad_meta, 4, 3, size=(96, 64), method=method)
        assert cf.info.frames == 48 and cf.info.frames_source == "decoded"
        assert cf.info.duration == pytest.approx(2.0)
        got = [decode_index(f) for f in cf.frames.reshape(-1, 64, 96, 3)]
        assert got == sample_frame_indices(48, 4, 3).ravel().tolist()

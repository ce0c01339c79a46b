"""Video import: probe values, name sanitising, and the report (bad files, log cross-checks)."""

from __future__ import annotations

import pandas as pd
import pytest

from frame_core.common.errors import InputError
from frame_core.video import UnreadableVideoError, check_videos, probe_video, sanitise_name

from .video_factory import write_bad_files, write_truncated, write_video


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe")
    write_video(d / "v1.webm", n=48, fps=24, size=(96, 64))  # 2.0 s
    write_video(d / "v2.mp4", n=75, fps=25, size=(80, 48))  # 3.0 s
    write_video(d / "v3.webm", n=60, fps=20, size=(64, 64))  # 3.0 s
    write_truncated(d / "v3.webm", d / "cut.webm", 0.5)
    write_truncated(d / "v2.mp4", d / "cut2.mp4", 0.6)
    write_bad_files(d)
    (d / "readme.txt").write_text("not a video")
    return d


@pytest.mark.parametrize("verify", [False, True])
def test_probe_values(folder, verify):
    a = probe_video(folder / "v1.webm", verify=verify)
    assert (a.video_id, a.frames, a.width, a.height) == ("v1", 48, 96, 64)
    assert a.fps == pytest.approx(24.0) and a.duration == pytest.approx(2.0)
    assert a.frames_source == ("decoded" if verify else "metadata")
    b = probe_video(folder / "v2.mp4", verify=verify)
    assert (b.frames, b.width, b.height) == (75, 80, 48)
    assert b.fps == pytest.approx(25.0) and b.duration == pytest.approx(3.0)
    assert b.size_bytes == (folder / "v2.mp4").stat().st_size


@pytest.mark.parametrize(
    "name, reason",
    [("empty.mp4", "0 bytes"), ("notes.mp4", "not a readable video"), ("cut2.mp4", "not a readable video")],
)
def test_probe_bad_files(folder, name, reason):
    with pytest.raises(UnreadableVideoError, match=reason) as e:
        probe_video(folder / name)
    assert isinstance(e.value, InputError) and name in str(e.value)


def test_probe_truncated_webm_needs_verify(folder):
    # the WebM header keeps the original length: only a full decode sees that the data stops early
    with pytest.raises(UnreadableVideoError, match="truncated"):
        probe_video(folder / "cut.webm", verify=True)


def test_report_names_every_bad_file(folder):
    seen = []
    rep = check_videos(folder, progress=lambda done, total, stage: seen.append((done, total, stage)))
    assert sorted(v.video_id for v in rep.videos) == ["v1", "v2", "v3"]
    bad = {i.name: i.detail for i in rep.by_kind("unreadable")}
    assert set(bad) == {"cut.webm", "cut2.mp4", "empty.mp4", "notes.mp4"}
    assert "truncated" in bad["cut.webm"] and "0 bytes" in bad["empty.mp4"]
    assert sorted(rep.bad_files) == sorted(bad) and not rep.ok
    assert [i.name for i in rep.by_kind("ignored")] == ["readme.txt"]
    assert rep.n_files == 7
    assert seen[0] == (0, 7, "probe") and seen[-1] == (7, 7, "probe")
    text = rep.to_text()
    for name in bad:
        assert name in text
    frame = rep.issues_frame()
    assert list(frame.columns) == ["name", "video_id", "severity", "kind", "detail"]
    assert rep.videos_frame().shape[0] == 3


def test_report_against_log(folder):
    log = pd.DataFrame(
        {
            "video_id": ["v1", "v1", "v2", "v9", "cut"],
            "duration_time": [2.0, 2.4, 5.0, 7.0, 3.0],
        }
    )
    rep = check_videos(folder, log=log, verify=False)
    assert [i.video_id for i in rep.by_kind("missing_file")] == ["v9"]  # cut.webm exists, only unreadable
    assert [i.name for i in rep.by_kind("no_views")] == ["v3.webm"]
    mism = rep.by_kind("duration_mismatch")
    assert [i.name for i in mism] == ["v2.mp4"] and "3.00 s" in mism[0].detail and "5.00 s" in mism[0].detail
    with pytest.raises(InputError, match="video_id"):
        check_videos(folder, log=pd.DataFrame({"x": [1]}))


@pytest.mark.parametrize(
    "raw, safe",
    [
        ("clip.mp4", "clip.mp4"),
        ("../../etc/passwd.mp4", "passwd.mp4"),
        ("..\\..\\win\\evil.webm", "evil.webm"),
        ("my video (1).MP4", "my_video_1.mp4"),
        ("/abs/path/x.mkv", "x.mkv"),
        ("..mp4", "mp4"),
        ("???.mp4", ""),
        (".hidden.mov", "hidden.mov"),
        ("a;rm -rf $HOME.avi", "a_rm_-rf_HOME.avi"),
    ],
)
def test_sanitise_name(raw, safe):
    assert sanitise_name(raw) == safe


def test_uploads_are_sanitised_and_staged(folder):
    good = (folder / "v1.webm").read_bytes()
    uploads = [
        ("../../../tmp/evil path.webm", good),
        ("v2.mp4", (folder / "v2.mp4").read_bytes()),
        ("v2.webm", good),  # same video id as v2.mp4
        ("???.mp4", good),
        ("zero.mp4", b""),
        ("doc.pdf", b"%PDF"),
    ]
    rep = check_videos(uploads)
    assert sorted(v.name for v in rep.videos) == ["evil_path.webm", "v2.mp4"]
    kinds = {(i.name, i.kind) for i in rep.issues}
    assert ("evil_path.webm", "renamed") in kinds
    assert ("v2.webm", "duplicate") in kinds
    assert ("???.mp4", "invalid_name") in kinds
    assert ("zero.mp4", "unreadable") in kinds
    assert ("doc.pdf", "ignored") in kinds


def test_missing_folder_and_no_videos(tmp_path):
    with pytest.raises(InputError, match="not found"):
        check_videos(tmp_path / "nope")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InputError, match="no video files"):
        check_videos(tmp_path)

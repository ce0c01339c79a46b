"""CLI contract (docs/design.md §9): exit codes, one-line errors, outputs."""

import subprocess
import sys

import pandas as pd
import pytest

from .conftest import KUAIRAND, KUAIRAND_MAP, ROOT

HEADER = "user_id,video_id,playing_time,duration_time,interaction_timestamp\n"


def run(*args):
    return subprocess.run([sys.executable, "-m", "frame_core", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def assert_one_line_error(res):
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "content",
    [
        b"",
        HEADER.encode(),
        bytes(range(256)) * 4,
        b"a,b,c\n1,2,3\n",
        HEADER.encode() + b"u,v,abc,def,1\n",
        HEADER.encode() + b"u,v,1,0,1\nu,v,2,0,2\n",
    ],
    ids=["empty", "header-only", "binary", "missing-columns", "strings-in-numbers", "zero-durations"],
)
def test_validate_broken_files_exit_2(tmp_path, content):
    f = tmp_path / "bad.csv"
    f.write_bytes(content)
    assert_one_line_error(run("validate", f))


def test_validate_kuairand_with_mapping():
    res = run("validate", KUAIRAND, "--time-unit", "ms", *[a for m in KUAIRAND_MAP for a in ("--map", m)])
    assert res.returncode == 0, res.stderr
    assert "rejected 7,738 rows: duration_time is zero or negative" in res.stdout
    assert "41,828 rows read" in res.stdout


def test_labels_command_hand_cases(tmp_path):
    log = tmp_path / "log.csv"
    # full view, loop, leave at 0 s, leave exactly on a boundary (r = 0.25), mid-clip skip
    log.write_text(HEADER + "u,full,10,10,1\nu,loop,30,10,2\nu,zero,0,10,3\nu,edge,2.5,10,4\nu,mid,5.5,10,5\n")
    out = tmp_path / "labels.csv"
    res = run("labels", log, "--nc", 4, "--policy", "paper", "--out", out)
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == ["user_id", "video_id", "clip", "label"]
    got = {v: g[["clip", "label"]].values.tolist() for v, g in df.groupby("video_id")}
    assert got == {
        "full": [[0, 1], [1, 1], [2, 1], [3, 1]],
        "loop": [[0, 1], [1, 1], [2, 1], [3, 1]],
        "zero": [[0, 0]],
        "edge": [[1, 0]],
        "mid": [[2, 0]],
    }
    res = run("labels", log, "--nc", 4, "--out", out)  # default policy: watched-positive
    got = {v: g[["clip", "label"]].values.tolist() for v, g in pd.read_csv(out).groupby("video_id")}
    assert got["edge"] == [[0, 1], [1, 0]] and got["mid"] == [[0, 1], [1, 1], [2, 0]] and got["zero"] == [[0, 0]]
    res = run("labels", log, "--nc", 1, "--out", out)
    got = {v: g[["clip", "label"]].values.tolist() for v, g in pd.read_csv(out).groupby("video_id")}
    assert got == {"full": [[0, 1]], "loop": [[0, 1]], "zero": [[0, 0]], "edge": [[0, 0]], "mid": [[0, 0]]}


def test_bad_arguments_exit_2(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(HEADER + "u,v,1,2,3\n")
    assert_one_line_error(run("labels", log, "--nc", 0, "--out", tmp_path / "o.csv"))
    assert_one_line_error(run("labels", log, "--nc", 4, "--policy", "x", "--out", tmp_path / "o.csv"))
    assert_one_line_error(run("validate", tmp_path / "missing.csv"))
    assert_one_line_error(run("validate", tmp_path))
    assert_one_line_error(run("validate", log, "--map", "nonsense"))
    assert_one_line_error(run("nosuchcommand"))


def test_videos_folder_beside_the_log_is_used_unless_told_otherwise(tmp_path, capsys):
    import argparse

    from frame_core.cli.common import default_videos as _default_videos

    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "v1.webm").write_bytes(b"x")
    log = tmp_path / "interactions.csv"
    args = argparse.Namespace(log=str(log), videos=None, features=None, no_videos=False)
    _default_videos(args)
    assert args.videos == str(tmp_path / "videos")
    assert "note: using the video files" in capsys.readouterr().err
    for kw in ({"no_videos": True}, {"features": "f.parquet"}, {"videos": "elsewhere"}):
        a = argparse.Namespace(**{"log": str(log), "videos": None, "features": None, "no_videos": False, **kw})
        _default_videos(a)
        assert a.videos == kw.get("videos")
    (tmp_path / "videos" / "v1.webm").unlink()  # an empty folder is not used
    args = argparse.Namespace(log=str(log), videos=None, features=None, no_videos=False)
    _default_videos(args)
    assert args.videos is None

"""embed_videos end to end, ClipFeatures.lookup, and the features file (save/load/validation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from frame_core.common.errors import InputError
from frame_core.video import ClipFeatures, embed_videos, load_clip_features, save_clip_features

from .onnx_writer import global_pool_model
from .video_factory import write_bad_files, write_truncated, write_video


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("embed")
    write_video(d / "v1.webm", n=48, fps=24, hue=10)
    write_video(d / "v2.mp4", n=50, fps=25, hue=60)
    write_video(d / "v3.webm", n=30, fps=10, hue=120)
    write_truncated(d / "v1.webm", d / "cut.webm", 0.5)
    write_bad_files(d)  # empty.mp4 (0 bytes), notes.mp4 (text renamed .mp4)
    return d


@pytest.fixture(scope="module")
def embedded(folder, tmp_path_factory):
    calls = []
    feats, rep = embed_videos(
        folder, 4, cache_dir=tmp_path_factory.mktemp("cache"), progress=lambda *a: calls.append(a)
    )
    return feats, rep, calls


def test_good_files_embedded_bad_files_reported(embedded):
    feats, rep, calls = embedded
    assert feats.video_list == ["v1", "v2", "v3"]
    assert len(feats) == 12 and feats.matrix.shape == (12, 78) and feats.matrix.dtype == np.float32
    assert feats.video_ids.tolist() == ["v1"] * 4 + ["v2"] * 4 + ["v3"] * 4
    assert feats.clips.tolist() == [0, 1, 2, 3] * 3 and feats.clips.dtype == np.int64
    assert feats.nc == 4 and feats.encoder_id.startswith("handcrafted-v1")
    bad = {i.name: i.detail for i in rep.by_kind("unreadable")}
    assert set(bad) == {"cut.webm", "empty.mp4", "notes.mp4"}
    assert "truncated" in bad["cut.webm"] and "0 bytes" in bad["empty.mp4"]
    assert "not a readable video" in bad["notes.mp4"]
    assert [v.video_id for v in rep.videos] == ["v1", "v2", "v3"]
    assert calls[0] == (0, 6, "embed") and calls[-1] == (6, 6, "embed") and len(calls) == 7
    assert "cut.webm" in rep.to_text()


def test_workers_do_not_change_results(folder, embedded):
    feats = embedded[0]
    for workers in (1, 3):
        calls = []
        f, rep = embed_videos(folder, 4, cache_dir=False, workers=workers, progress=lambda *a, c=calls: c.append(a[0]))
        assert np.array_equal(f.matrix, feats.matrix) and f.video_ids.tolist() == feats.video_ids.tolist()
        assert sorted(i.name for i in rep.by_kind("unreadable")) == ["cut.webm", "empty.mp4", "notes.mp4"]
        assert calls == list(range(7))


def test_lookup(embedded):
    feats = embedded[0]
    rows, found = feats.lookup(["v2", "v1", "nope", "v3", "v3"], [1, 3, 0, 4, -1])
    assert found.tolist() == [True, True, False, False, False]
    assert np.array_equal(rows[0], feats.matrix[5]) and np.array_equal(rows[1], feats.matrix[3])
    assert (rows[2:] == 0).all() and rows.dtype == np.float32
    # ids compared as strings
    f = ClipFeatures(["7", "7"], [0, 1], np.eye(2), "x", 2)
    assert f.lookup([7, 7], [1, 0])[1].all()


def test_uploads_and_log(folder, tmp_path):
    uploads = [("../x/v1.webm", (folder / "v1.webm").read_bytes()), ("junk.mp4", b"")]
    log = pd.DataFrame({"video_id": ["v1", "v9"], "duration_time": [2.0, 3.0]})
    feats, rep = embed_videos(uploads, 2, k=1, cache_dir=False, log=log)
    assert feats.video_list == ["v1"] and feats.matrix.shape == (2, 78)
    assert [i.name for i in rep.by_kind("unreadable")] == ["junk.mp4"]
    assert [i.video_id for i in rep.by_kind("missing_file")] == ["v9"]
    assert not rep.by_kind("duration_mismatch")


def test_all_bad_or_bad_args(tmp_path):
    write_bad_files(tmp_path)
    with pytest.raises(InputError, match="none of the 2 video files"):
        embed_videos(tmp_path, 2, cache_dir=False)
    with pytest.raises(InputError, match="N_c"):
        embed_videos(tmp_path, 0, cache_dir=False)
    with pytest.raises(InputError, match="N_c"):
        embed_videos(tmp_path, 65, cache_dir=False)
    with pytest.raises(InputError):
        embed_videos(tmp_path / "missing", 2, cache_dir=False)


def test_onnx_encoder_end_to_end(folder, tmp_path):
    enc_path = global_pool_model(tmp_path / "pool.onnx")
    from frame_core.video import OnnxEncoder

    feats, _ = embed_videos(folder, 2, encoder=OnnxEncoder(enc_path, input_size=(32, 32)), cache_dir=tmp_path / "c")
    assert feats.matrix.shape == (6, 3) and feats.encoder_id.startswith("onnx-v1")
    feats2, rep2 = embed_videos(folder, 2, encoder=str(enc_path), cache_dir=tmp_path / "c")
    assert rep2.cache_hits == 0  # default input size 224 is another encoder id


# --------------------------------------------------------------------------- features file
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_save_load_round_trip(embedded, tmp_path, suffix):
    feats = embedded[0]
    path = save_clip_features(feats, tmp_path / f"sub/features{suffix}")
    back = load_clip_features(path)
    assert back.video_ids.tolist() == feats.video_ids.tolist()
    assert back.clips.tolist() == feats.clips.tolist()
    assert back.matrix.dtype == np.float32 and np.array_equal(back.matrix, feats.matrix)
    assert back.nc == 4
    assert back.encoder_id == (feats.encoder_id if suffix == ".parquet" else "unknown")
    if suffix == ".parquet":
        schema = pq.read_schema(path)
        assert schema.field("video_id").type == pa.string() and schema.field("clip").type == pa.int64()
        assert schema.field("f0").type == pa.float32() and schema.names[-1] == "f77"
    assert not list(path.parent.glob(".*tmp"))


def test_load_accepts_other_csv_layouts(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text("clip,video_id,f10,f2,brightness\n1,007,0.5,1,3\n0,007,0.25,2,4\n0,8,1,1,1\n")
    f = load_clip_features(p)
    assert f.video_ids.tolist() == ["007", "007", "8"]  # ids stay strings, sorted by (id, clip)
    assert f.clips.tolist() == [0, 1, 0] and f.nc == 2
    assert f.matrix.tolist() == [[2, 0.25, 4], [1, 0.5, 3], [1, 1, 1]]  # f2, f10, then others


@pytest.mark.parametrize(
    "content, match",
    [
        ("video_id,f0\na,1\n", "missing column"),
        ("video_id,clip\na,0\n", "no feature columns"),
        ("video_id,clip,f0\n", "no rows"),
        ("video_id,clip,f0\na,0,x\n", "numeric"),
        ("video_id,clip,f0\na,0,\n", "finite"),
        ("video_id,clip,f0\na,0,inf\n", "finite"),
        ("video_id,clip,f0\na,-1,1\n", "non-negative integer"),
        ("video_id,clip,f0\na,0.5,1\n", "non-negative integer"),
        ("video_id,clip,f0\na,0,1\na,0,2\n", "unique"),
        ("video_id,clip,f0\n,0,1\n", "video_id"),
        ('video_id,clip,f0\n"a,0,1\n', "cannot read"),
    ],
)
def test_bad_features_files(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(InputError, match=match):
        load_clip_features(p)


def test_bad_features_binary_files(tmp_path, embedded):
    with pytest.raises(InputError, match="not found"):
        load_clip_features(tmp_path / "missing.parquet")
    p = tmp_path / "trunc.parquet"
    good = save_clip_features(embedded[0], tmp_path / "good.parquet").read_bytes()
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match="not a readable Parquet file"):  # judged from its footer first
        load_clip_features(p)
    z = tmp_path / "zeros.parquet"
    z.write_bytes(b"\x00" * 64)
    with pytest.raises(InputError):
        load_clip_features(z)
    # metadata N_c smaller than the clips present
    t = pa.table({"video_id": ["a"], "clip": [3], "f0": pa.array([1.0], pa.float32())})
    pq.write_table(t.replace_schema_metadata({b"frame.nc": b"2"}), tmp_path / "nc.parquet")
    with pytest.raises(InputError, match="N_c"):
        load_clip_features(tmp_path / "nc.parquet")

"""Clip features files (``train --features``, ``tune --features``) are held to the input limits
of a log before pandas or pyarrow reads them (issue 17; README "Input limits"): size, gzip
ratio, columns (4,098 by default for features), column-name length and line length. Each
refusal is one line naming the option that raises the limit; the CLI exits 2 with it."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from frame_core.cli.main import main
from frame_core.common.errors import InputError
from frame_core.data.features import ClipFeatures
from frame_core.data.limits import FEATURE_LIMITS, FEATURE_MAX_COLUMNS, InputLimits
from frame_core.video import load_clip_features, save_clip_features


def _features_csv(path, dim: int, videos=("v1", "v2"), nc: int = 2) -> None:
    rows = [(v, c) for v in videos for c in range(nc)]
    df = pd.DataFrame({"video_id": [r[0] for r in rows], "clip": [r[1] for r in rows]})
    for i in range(dim):
        df[f"f{i}"] = np.linspace(0, 1, len(rows)) + i
    df.to_csv(path, index=False)


@pytest.fixture
def log_csv(tiny_log, tmp_path):
    p = tmp_path / "log.csv"
    tiny_log.to_csv(p, index=False)
    return p


def test_features_within_limits_load_also_gzipped(tmp_path):
    p = tmp_path / "f.csv"
    _features_csv(p, 3)
    gz = tmp_path / "f.csv.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    for path in (p, gz):
        f = load_clip_features(path)
        assert f.dim == 3 and f.nc == 2 and f.video_list == ["v1", "v2"]
        assert f.matrix[1].tolist() == pytest.approx([1 / 3, 1 + 1 / 3, 2 + 1 / 3])


def test_a_wide_genuine_embedding_passes_the_features_default(tmp_path):
    """2,048 features (an ONNX model's pooled output) are over the log's 1,000-column limit but
    within the features default; the log's limit would refuse them."""
    feats = ClipFeatures(["a", "a"], [0, 1], np.ones((2, 2048), np.float32), nc=2)
    path = save_clip_features(feats, tmp_path / "wide.parquet")
    assert load_clip_features(path).dim == 2048
    assert FEATURE_LIMITS.max_columns == FEATURE_MAX_COLUMNS == 4098
    with pytest.raises(InputError, match="2,050 columns, over the 1,000-column limit.*--max-columns"):
        load_clip_features(path, limits=InputLimits())


@pytest.mark.parametrize(
    "limits, match",
    [
        (InputLimits(max_columns=4), "more than 4 columns.*--max-columns"),
        (InputLimits(max_line_bytes=20), "longer than 20 bytes.*--max-line-bytes"),
        (InputLimits(max_bytes=64), "the file is 0.0 MiB.*--max-mb"),
        (InputLimits(max_name_chars=1), "name is 8 characters long.*--max-name-chars"),
    ],
)
def test_each_limit_refuses_a_features_csv_in_one_line(tmp_path, limits, match):
    p = tmp_path / "f.csv"
    _features_csv(p, 3)
    with pytest.raises(InputError, match=match) as exc:
        load_clip_features(p, limits=limits)
    assert "\n" not in str(exc.value)


def test_a_features_gzip_bomb_is_refused_by_its_ratio(tmp_path):
    """32 MiB of one repeated row in a ~33 KiB gzip: refused once past the 16 MiB floor."""
    row = b"v1,0," + b"0," * 30 + b"0\n"
    header = b"video_id,clip," + b",".join(f"f{i}".encode() for i in range(31)) + b"\n"
    p = tmp_path / "bomb.csv.gz"
    p.write_bytes(gzip.compress(header + row * (32 * 1024**2 // len(row)), compresslevel=9))
    assert p.stat().st_size < 200_000
    with pytest.raises(InputError, match="expands more than 100×.*--max-ratio"):
        load_clip_features(p)


def test_a_features_parquet_with_too_many_columns_is_refused_from_its_footer(tmp_path):
    t = pa.table({"video_id": ["a"], "clip": [0], **{f"f{i}": pa.array([1.0], pa.float32()) for i in range(10)}})
    pq.write_table(t, tmp_path / "f.parquet")
    with pytest.raises(InputError, match="12 columns, over the 8-column limit.*--max-columns"):
        load_clip_features(tmp_path / "f.parquet", limits=InputLimits(max_columns=8))


def test_train_features_refusals_exit_2_with_one_line(log_csv, tmp_path, capsys):
    wide = tmp_path / "wide.csv"
    wide.write_text("video_id,clip," + ",".join(f"f{i}" for i in range(FEATURE_MAX_COLUMNS)) + "\n")
    long_line = tmp_path / "long.csv"
    long_line.write_text("video_id,clip,f0\nv1,0," + "1" * 2_000_000 + "\n")
    cases = [
        ([str(wide)], "more than 4,098 columns, over the 4,098-column limit"),
        ([str(long_line)], "line 2 is longer than 1,048,576 bytes"),
        ([str(long_line), "--max-line-bytes", "100"], "longer than 100 bytes"),
    ]
    for extra, match in cases:
        rc = main(["train", str(log_csv), "--nc", "2", "--epochs", "1", "--out", str(tmp_path / "run"),
                   "--features", *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2, (extra, err)
        assert len(err) == 1 and err[0].startswith("error: ") and match in err[0], err
    assert not (tmp_path / "run").exists()


def test_max_columns_raises_the_features_limit_too(log_csv, tmp_path, capsys):
    """--max-columns given: it is the features file's limit as well (here lower than the default)."""
    p = tmp_path / "f.csv"
    _features_csv(p, 6)
    rc = main(["train", str(log_csv), "--nc", "2", "--epochs", "1", "--out", str(tmp_path / "run"),
               "--features", str(p), "--max-columns", "5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "over the 5-column limit" in err[0] and "--max-columns" in err[0]

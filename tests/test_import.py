"""Log import and validation: formats, encodings, rejected rows, warnings, whole-file errors."""

import gzip
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frame_core.common.errors import InputError
from frame_core.data.validation import import_log, parse_mapping, suggest_mapping

from .conftest import KUAIRAND, KUAIRAND_MAP

HEADER = "user_id,video_id,playing_time,duration_time,interaction_timestamp\n"


def imp(text: str | bytes, **kw):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return import_log(data, name="t.csv", **kw)


def test_clean_csv_roundtrip(tiny_log):
    clean, rep = imp(tiny_log.to_csv(index=False))
    assert rep.n_input == rep.n_clean == 6 and rep.n_rejected == 0
    pd.testing.assert_frame_equal(clean, tiny_log, check_dtype=False)
    assert rep.stats["full_view_share"] == pytest.approx(2 / 6)
    assert rep.stats["median_watch_ratio"] == pytest.approx(np.median([1, 1.2, 0, 0.25, 0.75, 0.25]))


def test_formats_tsv_gzip_parquet_bom(tiny_log):
    csv = tiny_log.to_csv(index=False)
    tsv = tiny_log.to_csv(index=False, sep="\t")
    buf = io.BytesIO()
    tiny_log.to_parquet(buf)
    for data in (
        csv.encode(),
        tsv.encode(),
        gzip.compress(csv.encode()),
        buf.getvalue(),
        b"\xef\xbb\xbf" + csv.encode(),  # UTF-8 with BOM
        csv.replace(",", ";").encode(),
    ):
        clean, rep = imp(data)
        assert rep.n_clean == 6
        assert list(clean.columns)[:5] == list(tiny_log.columns)


def test_ids_stay_strings_with_leading_zeros():
    clean, _ = imp(HEADER + "007,0042,1,2,1\n7,42,2,2,2\n")
    assert clean.user_id.tolist() == ["007", "7"]
    assert clean.video_id.tolist() == ["0042", "42"]


def test_rejected_rows_by_reason_with_examples():
    text = HEADER + "\n".join(
        [
            "u1,v1,5,10,1",  # ok
            ",v1,5,10,2",  # missing id
            "u1,v2,abc,10,3",  # non-numeric
            "u1,v3,nan,10,4",  # NaN
            "u1,v4,inf,10,5",  # inf
            "u1,v5,5,0,6",  # duration 0
            "u1,v6,5,-3,7",  # duration < 0
            "u1,v7,-1,10,8",  # negative play time
            "u1,v1,5,10,1",  # exact duplicate of line 2
            "u2,v1,10,10,9",  # ok
        ]
    )
    clean, rep = imp(text)
    assert rep.n_clean == 2
    assert rep.rejected == {
        "missing_id": 1, "id_too_long": 0, "bad_time": 3, "duration_le_0": 2, "negative_play": 1, "duplicate": 1,
    }
    assert rep.examples["duplicate"][0]["line"] == 10
    assert rep.examples["missing_id"][0]["line"] == 3
    assert set(rep.rejected_rows["reason"]) == {"missing_id", "bad_time", "duration_le_0", "negative_play", "duplicate"}
    assert "rejected 3 rows" in rep.to_text()


def test_warnings_loops_huge_ratio_unsorted_few_views():
    text = HEADER + "u1,v1,20,10,5\nu1,v2,5000,10,4\nu1,v3,1,10,3\n"
    _, rep = imp(text)
    joined = " ".join(rep.warnings)
    assert "loops" in joined and "over 100×" in joined and "not sorted" in joined and "fewer than 5 views" in joined


def test_milliseconds_look_is_warned_and_mapping_units_work():
    text = "uid,item_id,play_time_ms,duration_ms,time_ms\na,b,5000,10000,1000\na,c,10000,10000,2000\n"
    with pytest.raises(InputError) as exc:
        imp(text)
    msg = str(exc.value)
    assert "columns found: uid, item_id, play_time_ms, duration_ms, time_ms" in msg
    assert "--map play_time_ms=playing_time" in msg and "--time-unit ms" in msg
    clean, rep = imp(
        text,
        mapping=["uid=user_id", "item_id=video_id", "play_time_ms=playing_time", "duration_ms=duration_time",
                 "time_ms=interaction_timestamp"],
        time_unit="ms",
    )
    assert clean.playing_time.tolist() == [5.0, 10.0] and clean.interaction_timestamp.tolist() == [1.0, 2.0]
    _, rep = imp("user_id,video_id,playing_time,duration_time\na,b,5000,10000\n")
    assert any("milliseconds" in w for w in rep.warnings)
    assert any("row order" in w for w in rep.warnings)  # no timestamp column


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"", "is empty"),
        (b"   \n", "is empty"),
        (HEADER.encode(), "no data rows"),
        (bytes(range(256)) * 10, "binary"),
        ("user_id,video_id\né,b\n".encode("latin-1"), "not UTF-8"),
        (b"PK\x03\x04" + b"\x00" * 100, "spreadsheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "spreadsheet"),
        (b"just one column\nvalue\n", "single column"),
        (b"user_id,video_id,playing_time\nu,v,1\n", "lacks required column(s) duration_time"),
        (HEADER.encode() + b"u,v,x,y,z\n", "no usable row"),
        (HEADER.encode() + b"u,v,1,0,1\n", "no usable row"),
        (gzip.compress(b"", mtime=0)[:10], "cannot be decompressed"),
        (b"PAR1garbage", "Parquet"),
        (HEADER.encode() + b'u,v,1,2,3\n"unterminated,v,1,2,3\n', "well-formed"),
    ],
)
def test_whole_file_problems_raise_one_clear_error(data, fragment):
    with pytest.raises(InputError) as exc:
        imp(data)
    assert fragment in str(exc.value)
    assert "\n" not in str(exc.value)


def test_gzip_bomb_is_stopped_by_the_size_limit():
    data = gzip.compress(HEADER.encode() + b"u,v,1,2,3\n" * 200_000)
    with pytest.raises(InputError, match="expands past"):
        imp(data, max_bytes=100_000)


def test_mapping_parsing_and_suggestions():
    assert parse_mapping(["a=playing_time", " b = duration_time "]) == {"a": "playing_time", "b": "duration_time"}
    with pytest.raises(InputError, match="SOURCE=TARGET"):
        parse_mapping(["nonsense"])
    with pytest.raises(InputError, match="bad mapping target"):
        parse_mapping(["a=nope"])
    with pytest.raises(InputError, match="does not have"):
        imp(HEADER + "u,v,1,2,3\n", mapping=["missing=playing_time"])
    sugg, unit = suggest_mapping(["user_id", "video_id", "play_time_ms", "duration_ms", "time_ms"])
    assert sugg == {"play_time_ms": "playing_time", "duration_ms": "duration_time", "time_ms": "interaction_timestamp"}
    assert unit == "ms"


def test_kuairand_sample_rejects_the_zero_durations():
    clean, rep = import_log(KUAIRAND, mapping=KUAIRAND_MAP, time_unit="ms")
    assert rep.n_input == 41_828
    assert rep.rejected["duration_le_0"] == 7_738
    assert rep.n_clean == 41_828 - 7_738 - rep.rejected["duplicate"]
    assert rep.stats["users"] == 664
    assert 0.37 < rep.stats["full_view_share"] < 0.39


cells = st.one_of(
    st.none(), st.text(max_size=12), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["", "nan", "inf", "-1", "=1+1", "1e400"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(cells, cells, cells, cells, cells), min_size=1, max_size=25))
def test_import_never_crashes_and_keeps_invariants(rows):
    df = pd.DataFrame(rows, columns=HEADER.strip().split(","))
    # CRLF line ends make the writer quote any cell holding \r or \n; with "\n" alone pandas leaves
    # a bare \r unquoted, which every CSV reader (ours, pandas, Excel) takes as a line break
    data = df.to_csv(index=False, lineterminator="\r\n").encode()
    try:
        clean, rep = imp(data)
    except InputError as exc:
        assert str(exc)
        return
    assert rep.n_clean + rep.n_rejected == rep.n_input == len(df)
    assert (clean.duration_time > 0).all() and (clean.playing_time >= 0).all()
    assert np.isfinite(clean[["playing_time", "duration_time", "interaction_timestamp"]].to_numpy()).all()
    assert clean.user_id.str.len().gt(0).all() and clean.video_id.str.len().gt(0).all()

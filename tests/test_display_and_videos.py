"""Display of hostile ids and colliding video names (issue 17)."""

from __future__ import annotations

import pandas as pd
import pytest

from frame_core.common.display import visible, visible_frame
from frame_core.common.errors import InputError
from frame_core.services.workspace import Workspace, refuse_video_collisions, video_collisions


def test_bidi_controls_are_shown_escaped():
    assert visible("\u202egpj.exe") == "\\u202egpj.exe"  # not "exe.jpg"
    assert visible("a\u200bb") == "a\\u200bb"  # a zero-width space is not hidden
    assert visible("v\u2066x\u2069") == "v\\u2066x\\u2069"
    assert visible("u\x07") == "u\\u0007"
    assert visible("plain id 007, José, 東京") == "plain id 007, José, 東京"


def test_visible_frame_escapes_only_display_copies():
    df = pd.DataFrame({"user_id": ["\u202eabc", "ok"], "n": [1, 2]})
    shown = visible_frame(df)
    assert shown["user_id"].tolist() == ["\\u202eabc", "ok"]
    assert df["user_id"].iloc[0] == "\u202eabc"  # the data is untouched
    plain = pd.DataFrame({"user_id": ["a"]})
    assert visible_frame(plain) is plain


def test_md_escape_shows_bidi_escaped():
    from app.components.data import md_escape

    assert "\u202e" not in md_escape("\u202egpj.exe") and "u202egpj" in md_escape("\u202egpj.exe")


def test_colliding_video_names_are_found():
    names = ["v0001.webm", "../v0001.webm", "v 0002.webm", "v_0002.webm", "v0003.webm", "V0003.webm"]
    clashes = video_collisions(names)
    assert clashes == {"v0001.webm": ["v0001.webm", "../v0001.webm"], "v_0002.webm": ["v 0002.webm", "v_0002.webm"]}
    with pytest.raises(InputError, match="would all be stored as v0001.webm"):
        refuse_video_collisions(names)


def test_colliding_uploads_are_refused_and_nothing_is_stored(tmp_path, tiny_log):
    from frame_core.data.validation import validate_log

    ws = Workspace(tmp_path / "ws").ensure()
    log, report = validate_log(tiny_log)
    videos = [("v0001.webm", b"first"), ("../v0001.webm", b"second"), ("v 0002.webm", b"third"),
              ("v_0002.webm", b"fourth")]
    with pytest.raises(InputError, match="would all be stored as"):
        ws.add_dataset(log, report, name="clash", videos=videos)
    assert ws.list_datasets(include_bundled=False) == []
    assert not [p for p in ws.datasets_dir.iterdir()]  # no half-written dataset left


def test_manifest_counts_the_files_on_disk(tmp_path, tiny_log):
    from frame_core.data.validation import validate_log

    ws = Workspace(tmp_path / "ws").ensure()
    log, report = validate_log(tiny_log)
    info = ws.add_dataset(log, report, name="ok", videos=[("v1.webm", b"a"), ("v2.WEBM", b"b")])
    files = sorted(p.name for p in info.videos_dir.iterdir())
    assert files == ["v1.webm", "v2.webm"] and info.manifest["video_files"] == 2
    assert (info.videos_dir / "v1.webm").read_bytes() == b"a"

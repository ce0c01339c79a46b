"""Workspace store: atomic datasets, no overwriting, safe names, formula-safe CSV."""

import io

import pandas as pd
import pytest

from frame_core.common.errors import InputError
from frame_core.common.safe_csv import neutralise, to_csv_bytes
from frame_core.services.workspace import Workspace, safe_video_name, slugify

HEADER = "user_id,video_id,playing_time,duration_time,interaction_timestamp\n"


def test_import_list_load_delete(workspace_env, tiny_log):
    ws = Workspace()
    info, rep = ws.import_file(tiny_log.to_csv(index=False).encode(), name="My Log.csv")
    assert info.id == "my-log" and info.rows == 6 and info.users == 2
    info2, _ = ws.import_file(tiny_log.to_csv(index=False).encode(), name="My Log.csv")
    assert info2.id != info.id  # never overwrites
    ids = [d.id for d in ws.list_datasets(include_bundled=False)]
    assert ids == sorted([info.id, info2.id])
    pd.testing.assert_frame_equal(ws.load_log(info.id), tiny_log, check_dtype=False)
    # survives a "restart": a new Workspace object on the same folder
    assert {d.id for d in Workspace().list_datasets(include_bundled=False)} == {info.id, info2.id}
    ws.delete_dataset(info.id)
    assert [d.id for d in ws.list_datasets(include_bundled=False)] == [info2.id]


def test_bad_import_stores_nothing_and_keeps_existing(workspace_env, tiny_log):
    ws = Workspace()
    good, _ = ws.import_file(tiny_log.to_csv(index=False).encode(), name="good.csv")
    for bad in (b"", b"\x00\x01binary", HEADER.encode(), b"a,b\n1,2\n"):
        with pytest.raises(InputError):
            ws.import_file(bad, name="good.csv")
    assert [d.id for d in ws.list_datasets(include_bundled=False)] == [good.id]
    assert not [p for p in ws.datasets_dir.iterdir() if p.name.startswith(".tmp")]


def test_ids_and_names_are_sanitised():
    assert slugify("../../etc/passwd") == "passwd"
    assert slugify("A B/../C.csv.gz") == "c"
    assert slugify("") == "dataset"
    assert safe_video_name("../../v1.webm") == "v1.webm"
    assert safe_video_name("clip one!.MP4") == "clip_one.mp4"
    with pytest.raises(InputError):
        safe_video_name("notes.txt")
    ws = Workspace("/tmp/nowhere-frame")
    for bad in ("../x", "a/b", "", "X"):
        with pytest.raises(InputError):
            ws.load_log(bad)


def test_bundled_samples_are_listed_read_only(workspace_env):
    ws = Workspace()
    ids = [d.id for d in ws.list_datasets()]
    assert "sample-kuairand" in ids
    with pytest.raises(InputError):
        ws.delete_dataset("sample-kuairand")
    assert len(ws.load_log("sample-kuairand")) > 30_000


def test_formula_injection_is_neutralised():
    df = pd.DataFrame({"user_id": ["=1+1", "+x", "-y", "@z", "ok", "\tt"], "n": [-1, 2, 3, 4, 5, 6]})
    out = neutralise(df)
    assert out.user_id.tolist() == ["'=1+1", "'+x", "'-y", "'@z", "ok", "'\tt"]
    assert out.n.tolist() == [-1, 2, 3, 4, 5, 6]  # numbers untouched
    back = pd.read_csv(io.BytesIO(to_csv_bytes(df)))
    assert back.user_id.iloc[0] == "'=1+1"


def _import_many(root: str, n: int, tag: int) -> list[str]:
    import pandas as pd

    from frame_core.services.workspace import Workspace

    log = pd.DataFrame({"user_id": [f"u{tag}"] * 3, "video_id": ["a", "b", "c"], "playing_time": [1.0, 2.0, 3.0],
                        "duration_time": [3.0, 3.0, 3.0], "interaction_timestamp": [1.0, 2.0, 3.0]})
    ws = Workspace(root)
    return [ws.import_file(log.to_csv(index=False).encode(), name="same name.csv")[0].id for _ in range(n)]


def test_two_processes_importing_at_once_do_not_mix_or_lose_datasets(tmp_path):
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_import_many, [(str(tmp_path), 6, 1), (str(tmp_path), 6, 2)])
    ids = results[0] + results[1]
    assert len(set(ids)) == 12
    ws = Workspace(tmp_path)
    assert sorted(d.id for d in ws.list_datasets(include_bundled=False)) == sorted(ids)
    for tag, mine in ((1, results[0]), (2, results[1])):
        for ds in mine:  # each dataset holds exactly what its own process wrote
            assert ws.load_log(ds)["user_id"].tolist() == [f"u{tag}"] * 3

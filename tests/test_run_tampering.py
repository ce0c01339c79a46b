"""Damaged and tampered run folders (issue 17): each case is listed as unusable with its reason,
never raises in a listing, and ``load_run`` / ``predict`` refuse it in one line (exit 2). A
pickle payload in ``weights.pt`` is never executed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from frame_core import runs as R
from frame_core.cli.main import main
from frame_core.common.errors import InputError
from frame_core.services import engine as E
from frame_core.training.pipeline import train_run

from .engine_world import fast_config, synth_log
from .test_app_pages_train import open_page, tiny_dataset, train_runs, ws  # noqa: F401, F811 - ws is a fixture

MARKER = "pwned.txt"


class _Payload:
    """Unpickling this would create a file (``open(path, "w")``): the proof that nothing ran."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _random_bytes(run: Path) -> None:
    (run / R.WEIGHTS).write_bytes(np.random.default_rng(0).bytes(4096))


def _pickle_payload(run: Path) -> None:
    torch.save({"emb": _Payload(str(run / MARKER))}, run / R.WEIGHTS)


def _config_list(run: Path) -> None:
    (run / R.CONFIG).write_text("[1, 2, 3]")


def _config_text(run: Path) -> None:
    (run / R.CONFIG).write_text("this is not JSON {")


def _config_fields(run: Path) -> None:
    import json

    info = json.loads((run / R.CONFIG).read_text())
    info["config"]["nc"] = "many"
    (run / R.CONFIG).write_text(json.dumps(info))


def _metrics_list(run: Path) -> None:
    (run / R.METRICS).write_text('["auc", 0.9]')


def _no_weights(run: Path) -> None:
    (run / R.WEIGHTS).unlink()


def _wrong_shape(run: Path) -> None:  # valid tensors that do not fit the model: found on load
    state = torch.load(run / R.WEIGHTS, weights_only=True)
    state = {k: torch.zeros(3, 3) for k in state}
    torch.save(state, run / R.WEIGHTS)


TAMPERINGS = {
    "random_bytes_weights": (_random_bytes, "weights.pt is not a PyTorch weights file"),
    "pickle_payload_weights": (_pickle_payload, "weights.pt holds objects other than tensors"),
    "config_is_a_list": (_config_list, "config.json holds a list, not a JSON object"),
    "config_not_json": (_config_text, "config.json is not valid JSON"),
    "config_bad_field": (_config_fields, "config.json has invalid settings"),
    "metrics_is_a_list": (_metrics_list, "metrics.json holds a list"),
    "weights_missing": (_no_weights, "weights.pt is missing"),
}


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    world = synth_log(tmp_path_factory.mktemp("world"), users=16, videos=20, per_user=10, seed=3)
    out = tmp_path_factory.mktemp("runs") / "good"
    train_run(world, out, fast_config(nc=2), source="tamper-test")
    world.to_csv(out.parent / "pairs.csv", index=False)
    return out


def tampered(good_run: Path, root: Path, name: str) -> Path:
    dst = root / name
    shutil.copytree(good_run, dst)
    TAMPERINGS[name][0](dst)
    return dst


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_tampered_run_is_unusable_everywhere(good_run, tmp_path, name, capsys):
    root = tmp_path / "runs"
    shutil.copytree(good_run, root / "good")
    bad = tampered(good_run, root, name)
    expected = TAMPERINGS[name][1]
    problem = R.run_problem(bad)
    assert problem is not None and expected in problem, problem
    assert R.run_problem(root / "good") is None

    listed = R.list_runs(root)  # never raises, never lists the bad run
    assert list(listed["run_id"]) == ["good"]
    unusable = R.unusable_runs(root)
    assert list(unusable["run_id"]) == [name]
    assert unusable["problem"].iloc[0] == f"run {name} cannot be used: {problem}"
    assert list(E.list_finished_runs(root)["run_id"]) == ["good"]
    assert list(E.unusable_runs(root, "tamper-test")["run_id"]) == [name]

    with pytest.raises(InputError, match=f"run {name} cannot be used"):
        R.load_run(bad)
    with pytest.raises(InputError, match="cannot be used"):
        E.load_run(bad)

    code = main(["predict", str(bad), str(good_run.parent / "pairs.csv"), "--out", str(tmp_path / "p.csv")])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert err.startswith(f"error: run {name} cannot be used: ") and err.count("\n") == 1, err
    assert "Traceback" not in out + err
    assert not (bad / MARKER).exists() and not Path(MARKER).exists()  # the payload never ran


def test_weights_of_the_wrong_shape_are_found_when_loading(good_run, tmp_path, capsys):
    bad = tmp_path / "shape"
    shutil.copytree(good_run, bad)
    _wrong_shape(bad)
    assert R.run_problem(bad) is None  # tensors, so the cheap check passes …
    with pytest.raises(InputError, match="run shape cannot be used: its files do not fit together"):
        R.load_run(bad)  # … and loading says why in one line
    code = main(["predict", str(bad), str(good_run.parent / "pairs.csv"), "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot be used" in err


def test_check_follows_a_repaired_folder(good_run, tmp_path):
    run = tmp_path / "r"
    shutil.copytree(good_run, run)
    original = (run / R.CONFIG).read_bytes()
    _config_list(run)
    assert R.run_problem(run) is not None
    (run / R.CONFIG).write_bytes(original)
    os.utime(run / R.CONFIG, ns=(1, 1))  # a new file version, even within one mtime tick
    assert R.run_problem(run) is None


def test_done_without_config_is_unusable(good_run, tmp_path):
    root = tmp_path / "runs"
    run = root / "noconfig"
    shutil.copytree(good_run, run)
    (run / R.CONFIG).unlink()
    assert list(R.unusable_runs(root)["run_id"]) == ["noconfig"]
    assert "config.json is missing" in R.unusable_runs(root)["problem"].iloc[0]
    assert R.list_runs(root).empty


def test_pages_list_tampered_runs_as_unusable(ws):  # noqa: F811
    """Compare, Recommend and Train with one good run pair and every tampering beside it: no
    exception or error box; a warning and a table give each unusable run and its reason."""
    ds = tiny_dataset(ws)
    train_runs(ws, ds)
    good = ws.runs_dir / "run-nc4"
    for name in TAMPERINGS:
        tampered(good, ws.runs_dir, name)
    for page, key in (("app_pages/compare.py", "compare_unusable"), ("app_pages/recommend.py", "rec_unusable")):
        at = open_page(page, ds)
        assert not at.exception and not at.error, (page, [e.value for e in at.error])
        assert any(f"{len(TAMPERINGS)} finished runs cannot be used" in w.value for w in at.warning), page
        table = next(d.value for d in at.dataframe if "problem" in d.value.columns)
        assert set(table["run_id"]) == set(TAMPERINGS), page
        for rid, problem in zip(table["run_id"], table["problem"], strict=True):
            assert problem.startswith(f"run {rid} cannot be used: ") and TAMPERINGS[rid][1] in problem
        if key == "rec_unusable":
            options = at.selectbox(key="rec_run").options
            assert len(options) == 2 and not any(n in o for o in options for n in TAMPERINGS)
    at = open_page("app_pages/train.py", ds)
    assert not at.exception and not at.error


def _huge_npy_header(path: Path, shape=(2**40,), descr="<f8", tail=b"\0" * 64) -> None:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    path.write_bytes(buf.getvalue() + tail)


def test_a_npy_whose_header_lies_about_its_size_is_refused_not_allocated(good_run, tmp_path, capsys):
    """Hostile-input probe (issue 17 item 9): a 128-byte video_durations.npy declaring 2^40
    values made np.load ask for 8 TiB, and predict said "out of memory; try a smaller dataset"."""
    bad = tmp_path / "npy"
    shutil.copytree(good_run, bad)
    _huge_npy_header(bad / "video_durations.npy")
    with pytest.raises(InputError, match="run npy cannot be used: video_durations.npy declares 8,796,093,022,208 "
                                         "bytes of data .* but holds 64"):
        R.load_run(bad)
    code = main(["predict", str(bad), str(good_run.parent / "pairs.csv"), "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "declares" in err and "out of memory" not in err, err


def test_load_npy_checks_the_header_before_reading(tmp_path):
    from frame_core.common.safe_npy import load_npy

    good = tmp_path / "good.npy"
    np.save(good, np.arange(6, dtype="float32").reshape(2, 3))
    assert load_npy(good).tolist() == [[0, 1, 2], [3, 4, 5]]
    short = tmp_path / "short.npy"
    short.write_bytes(good.read_bytes()[:-4])  # truncated by one value
    with pytest.raises(InputError, match="declares 24 bytes of data \\(2×3 float32\\) but holds 20"):
        load_npy(short)
    obj = tmp_path / "obj.npy"
    _huge_npy_header(obj, shape=(1,), descr="|O", tail=b"")
    with pytest.raises(InputError, match="holds Python objects, refused unopened"):
        load_npy(obj)
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not an npy file at all")
    with pytest.raises(InputError, match="junk.npy is not a valid .npy file"):
        load_npy(junk)
    with pytest.raises(InputError, match="cannot be read"):
        load_npy(tmp_path / "missing.npy")

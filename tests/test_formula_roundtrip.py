"""Formula quoting only on spreadsheet downloads (issue 17): ids that start with ``=``, ``+``,
``-`` or ``@`` go through a training run's files and ``predict`` unchanged, while the app's
download bytes still neutralise them."""

from __future__ import annotations

import io

import pandas as pd

from frame_core.cli.main import main
from frame_core.common import schema as S
from frame_core.common.safe_csv import to_csv_bytes
from frame_core.runs import TEST_CLIP_PRED, TEST_PRED
from frame_core.training.pipeline import train_run

from .engine_world import fast_config, synth_log

PREFIXES = ("=", "+", "-", "@")


def formula_log(tmp_path) -> pd.DataFrame:
    log = synth_log(tmp_path / "w", users=16, videos=20, per_user=10, seed=5)
    users = sorted(log[S.USER].unique())
    videos = sorted(log[S.VIDEO].unique())
    umap = {u: f"{PREFIXES[i % 4]}{u}" if i % 2 == 0 else u for i, u in enumerate(users)}
    vmap = {v: f"{PREFIXES[i % 4]}SUM({v})" if i % 3 == 0 else v for i, v in enumerate(videos)}
    log[S.USER] = log[S.USER].map(umap)
    log[S.VIDEO] = log[S.VIDEO].map(vmap)
    return log


def test_run_files_and_predict_keep_true_ids(tmp_path, capsys):
    log = formula_log(tmp_path)
    assert log[S.USER].str.startswith(PREFIXES).any() and log[S.VIDEO].str.startswith(PREFIXES).any()
    log_path = tmp_path / "log.csv"
    log.to_csv(log_path, index=False)
    run = train_run(log, tmp_path / "run", fast_config(nc=2), source="formula")
    users, videos = set(log[S.USER]), set(log[S.VIDEO])
    for name in (TEST_PRED, TEST_CLIP_PRED):
        stored = pd.read_csv(run.path / name, dtype={S.USER: str, S.VIDEO: str})
        assert set(stored[S.USER]) <= users and set(stored[S.VIDEO]) <= videos, name
        assert stored[S.USER].str.startswith(PREFIXES).any(), name
        assert not stored[S.USER].str.startswith("'").any(), name

    out = tmp_path / "pred.csv"
    assert main(["predict", str(run.path), str(log_path), "--out", str(out)]) == 0, capsys.readouterr().err
    pred = pd.read_csv(out, dtype={S.USER: str, S.VIDEO: str})
    assert pred[S.USER].tolist() == log[S.USER].tolist()  # row by row, the ids of the input
    assert pred[S.VIDEO].tolist() == log[S.VIDEO].tolist()
    # the stored predictions join back onto the log on the true ids
    joined = run.test_predictions().merge(log[[S.USER, S.VIDEO]].drop_duplicates(), on=[S.USER, S.VIDEO])
    assert len(joined) == len(run.test_predictions())

    labels = tmp_path / "labels.csv"
    assert main(["labels", str(log_path), "--nc", "2", "--out", str(labels)]) == 0
    assert set(pd.read_csv(labels, dtype={S.USER: str})[S.USER]) <= users


def test_downloads_still_neutralise():
    df = pd.DataFrame({S.USER: ["=u1", "u2"], "p_full": [0.5, 0.25]})
    back = pd.read_csv(io.BytesIO(to_csv_bytes(df)), dtype={S.USER: str})
    assert back[S.USER].tolist() == ["'=u1", "u2"]

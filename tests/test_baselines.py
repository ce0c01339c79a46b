"""Baselines: every model trains and scores on a tiny world, cold ids, the reference formula,
results.csv / results.md, determinism by seed, progress and cancel, the compare CLI."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest

from frame_core.baselines import BASELINE_MODELS, make_model, results_markdown, run_comparison
from frame_core.baselines.base import full_view
from frame_core.baselines.compare import RESULT_COLUMNS, split_log
from frame_core.baselines.reference import LogRegBaseline, PopularityBaseline
from frame_core.cli.main import main
from frame_core.common.errors import CancelledError, InputError
from frame_core.evaluation.metrics import METRIC_KEYS, video_metrics

ENGINE = importlib.util.find_spec("frame_core.training.trainer") is not None and (
    importlib.util.find_spec("frame_core.model.scorer") is not None
)
MODELS = [*BASELINE_MODELS, *(["frame", "coarse"] if ENGINE else [])]


def tiny_world(n_users: int = 40, n_videos: int = 30, per_user: int = 20, seed: int = 0) -> pd.DataFrame:
    """Users with a taste for full views that depends on their and the video's latent rate."""
    rng = np.random.default_rng(seed)
    u_rate = rng.normal(0, 1, n_users)
    v_rate = rng.normal(0, 1, n_videos)
    dur = rng.uniform(5, 60, n_videos).round(1)
    rows = []
    for u in range(n_users):
        for t, v in enumerate(rng.choice(n_videos, per_user, replace=False)):
            p = 1 / (1 + np.exp(-(u_rate[u] + v_rate[v] - 0.3)))
            play = dur[v] * (rng.uniform(1.0, 1.5) if rng.random() < p else rng.uniform(0, 0.95))
            rows.append((f"u{u}", f"v{v}", round(play, 2), dur[v], 1000.0 * u + t))
    return pd.DataFrame(rows, columns=["user_id", "video_id", "playing_time", "duration_time", "interaction_timestamp"])


@pytest.fixture(scope="module")
def world():
    return split_log(tiny_world())


@pytest.fixture(scope="module")
def fitted(world):
    train, val, _ = world
    return {name: make_model(name, max_epochs=2, patience=1).fit(train, val, seed=0) for name in MODELS}


def cold_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["u0", "new_user", "new_user", "u1"],
            "video_id": ["new_video", "v0", "new_video", "v1"],
            "playing_time": [1.0, 1.0, 1.0, 1.0],
            "duration_time": [12.0, 30.0, 7.0, 20.0],
            "interaction_timestamp": [1.0, 2.0, 3.0, 4.0],
        }
    )


@pytest.mark.parametrize("name", MODELS)
def test_every_model_trains_and_produces_all_metrics(name, world, fitted):
    _, _, test = world
    p = fitted[name].predict(test)
    assert p.dtype == np.float64 and p.shape == (len(test),)
    assert np.all((p > 0) & (p < 1))
    m = video_metrics(pd.DataFrame({"user_id": test["user_id"], "y": full_view(test), "p_full": p}))
    assert set(m) == set(METRIC_KEYS)
    assert all(math.isfinite(v) for v in m.values())
    if name in BASELINE_MODELS:  # the engine's FRAME needs more than 2 one-step epochs
        assert m["auc"] > 0.5  # the tiny world is learnable from user and video rates


@pytest.mark.parametrize("name", MODELS)
def test_cold_users_and_videos_get_scores(name, fitted):
    p = fitted[name].predict(cold_rows())
    assert p.shape == (4,) and np.all(np.isfinite(p)) and np.all((p > 0) & (p < 1))


def test_popularity_formula_by_hand():
    train = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "b"],
            "video_id": ["x", "y", "x", "y"],
            "playing_time": [10.0, 1.0, 10.0, 10.0],  # full, skip, full, full (loop)
            "duration_time": [10.0, 10.0, 10.0, 5.0],
        }
    )
    m = PopularityBaseline(prior=2).fit(train, train.iloc[:0])
    # g = 3/4; ū_a = (1 + 2·0.75) / (2 + 2) = 0.625; v̄_x = (2 + 1.5) / 4 = 0.875
    # p(a, x) = σ(logit 0.625 + logit 0.875 − logit 0.75): odds = (5/3)·7 / 3 = 35/9
    q = pd.DataFrame({"user_id": ["a", "new", "a", "new"], "video_id": ["x", "x", "new", "new"]})
    np.testing.assert_allclose(m.predict(q), [35 / 44, 0.875, 0.625, 0.75], rtol=1e-12)


def test_logreg_leaves_the_row_out_and_handles_one_class(world):
    train, val, test = world
    m = LogRegBaseline().fit(train, val)
    X = m._features(train, full_view(train))
    y = full_view(train)
    s_u = train.groupby("user_id")["user_id"].transform("size").to_numpy()
    s_pos = pd.Series(y).groupby(train["user_id"].to_numpy()).transform("sum").to_numpy()
    loo = (s_pos - y + 5 * m.g_) / (s_u - 1 + 5)
    np.testing.assert_allclose(X[:, 1], np.log(loo / (1 - loo)), rtol=1e-9)
    all_full = train.assign(playing_time=train["duration_time"])
    p = LogRegBaseline().fit(all_full, val).predict(test)
    assert np.all((p > 0) & (p < 1)) and np.ptp(p) == 0


@pytest.mark.parametrize("name", ["deepfm", "lightgcn"])
def test_same_seed_same_predictions(name, world):
    train, val, test = world
    a = make_model(name, max_epochs=2).fit(train, val, seed=3).predict(test)
    b = make_model(name, max_epochs=2).fit(train, val, seed=3).predict(test)
    c = make_model(name, max_epochs=2).fit(train, val, seed=4).predict(test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_progress_events_and_cancel(world):
    train, val, _ = world
    events = []
    make_model("nfm", max_epochs=2, patience=5).fit(train, val, seed=0, progress=events.append)
    assert [e["epoch"] for e in events] == [1, 2]
    assert {"model", "epoch", "loss", "val_auc", "elapsed"} <= set(events[0])
    cancel = threading.Event()
    cancel.set()
    for name in ("afn", "lightgcn", "popularity"):
        with pytest.raises(CancelledError):
            make_model(name).fit(train, val, cancel=cancel)


def test_comparison_writes_results_csv_and_md(tmp_path):
    events = []
    res = run_comparison(
        tiny_world(), "popularity,logreg,difm", seeds=2, out_dir=tmp_path, max_epochs=1, progress=events.append
    )
    assert tuple(res.columns) == RESULT_COLUMNS
    csv = pd.read_csv(tmp_path / "results.csv")
    assert list(csv.columns) == ["model", "seed", "auc", "gauc", "logloss", "recall@3", "ndcg@3", "recall@5", "ndcg@5"]
    assert csv[["model", "seed"]].values.tolist() == [[m, s] for m in ("popularity", "logreg", "difm") for s in (0, 1)]
    assert np.isfinite(csv[list(METRIC_KEYS)].to_numpy()).all()
    md = (tmp_path / "results.md").read_text()
    table = [line for line in md.split("Verdict:")[0].splitlines() if line.startswith("|")]  # the metrics table
    assert len(table) == 2 + 3 and table[0].startswith("| Model | AUC | GAUC | Logloss |")
    assert all(" ± " in line for line in table[2:])
    for col in range(len(METRIC_KEYS)):
        assert sum("**" in line.split("|")[2 + col] for line in table[2:]) >= 1
    assert {"run_start", "epoch", "run_done"} <= {e["event"] for e in events}
    assert {(e["run"], e["n_runs"]) for e in events if e["event"] == "run_done"} == {(i, 6) for i in range(1, 7)}
    assert len(pd.read_csv(tmp_path / "test_predictions.csv")) == 6 * len(split_log(tiny_world())[2])


def test_markdown_bold_best_and_lower_logloss():
    res = pd.DataFrame(
        [
            {"model": "a", "seed": 0, **dict.fromkeys(METRIC_KEYS, 0.6)},
            {"model": "a", "seed": 1, **dict.fromkeys(METRIC_KEYS, 0.8)},
            {"model": "b", "seed": 0, **dict.fromkeys(METRIC_KEYS, 0.5), "logloss": 0.4},
            {"model": "b", "seed": 1, **dict.fromkeys(METRIC_KEYS, 0.5), "logloss": 0.4},
        ]
    )
    rows = [
        line.split("|")[2:-1]
        for line in results_markdown(res).splitlines()
        if line.startswith("| a") or line.startswith("| b")
    ]
    assert rows[0][0].strip() == "**0.7000 ± 0.1414**" and rows[1][0].strip() == "0.5000 ± 0.0000"
    assert rows[0][2].strip() == "0.7000 ± 0.1414" and rows[1][2].strip() == "**0.4000 ± 0.0000**"


def test_bad_input_is_an_input_error():
    with pytest.raises(InputError, match="unknown model"):
        run_comparison(tiny_world(), ["deepfm", "thacil"], seeds=1)
    with pytest.raises(InputError, match="seeds"):
        run_comparison(tiny_world(), ["popularity"], seeds=0)
    with pytest.raises(InputError, match="no test rows"):
        run_comparison(tiny_world(per_user=3), ["popularity"], seeds=1)


def test_compare_cli(tmp_path, capsys):
    log = tmp_path / "log.csv"
    world = tiny_world()
    world.assign(playing_time=world["playing_time"] * 1000, duration_time=world["duration_time"] * 1000).rename(
        columns={"playing_time": "play_time_ms", "duration_time": "duration_ms"}
    ).to_csv(log, index=False)
    args = ["compare", str(log), "--models", "popularity,logreg", "--seeds", "2", "--time-unit", "ms"]
    maps = ["--map", "play_time_ms=playing_time", "--map", "duration_ms=duration_time"]
    assert main([*args, *maps, "--out", str(tmp_path / "out")]) == 0
    assert "| logreg |" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "out" / "results.csv")) == 4
    assert main([*args, *maps, "--models", "popularity,thacil", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown model 'thacil'") and "Traceback" not in err


def test_deepctr_import_is_quiet():
    code = (
        "import threading; from frame_core.baselines._deepctr import load; m = load(); "
        "assert threading.active_count() == 1, threading.enumerate(); print(m.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0.3.0"


def test_cold_id_is_the_view_weighted_average_id(fitted, world):
    import torch

    from frame_core.baselines.features import fill_oov_row

    table = torch.tensor([[9.0, 9.0], [1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(fill_oov_row(table, torch.tensor([0.0, 3.0, 1.0])), [[1.5, 3.0], [1, 2], [3, 6]])
    train = world[0]
    m = fitted["afn"]
    w = m.features_.id_weights(train)["video"]
    for table in (m.model_.embedding_dict, m.model_.linear_model.embedding_dict):
        e = table["video"].weight.detach().numpy().astype("float64")
        np.testing.assert_allclose(e[0], (w[:, None] * e).sum(0) / w.sum(), rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(not ENGINE, reason="the FRAME engine is not importable")
def test_engine_models_get_visual_features_and_baselines_do_not(tmp_path):
    import json

    from .engine_world import random_features

    world = tiny_world()
    videos = sorted(world["video_id"].astype(str).unique())
    calls = []

    def feats(nc):
        calls.append(nc)
        return random_features(videos, nc=nc, dim=5)

    train, val, test = split_log(world)
    frame = make_model("frame", max_epochs=2, features_for_nc=feats).fit(train, val, seed=0)
    assert frame.model_.feat_dim == 5 and calls == [8]
    assert np.isfinite(frame.predict(test)).all()
    assert not hasattr(make_model("popularity", features_for_nc=feats), "features_for_nc")
    calls.clear()
    res = run_comparison(world, ["coarse", "popularity"], seeds=[0, 1], max_epochs=2, features_for_nc=feats,
                         out_dir=tmp_path, save_predictions=False)
    assert calls == [1]  # once per N_c, not once per seed
    assert len(res) == 4
    assert json.loads((tmp_path / "comparison.json").read_text())["engine_inputs"] == "visual clip features"

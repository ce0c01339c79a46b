"""Engine functions behind the Compare and Recommend pages: run tables, Δ vs coarse, pairing,
the classroom experiment, Run.recommend, held-out views, run status, config help."""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from frame_core import runs as R
from frame_core.common.seeds import parse_seeds
from frame_core.evaluation.stats import aggregate_runs, fmt_mean_std
from frame_core.model.config import FrameConfig, field_help
from frame_core.services import recommend as REC
from frame_core.services import run_tables as T
from frame_core.training.pipeline import train_run

from .engine_world import fast_config, synth_log


def _runs(rows):
    cols = ["run_id", "dataset", "model", "nc", "policy", "embeddings", "video_score", "epochs", "emb_dim", "setting",
            "seed", "auc", "gauc", "logloss"]
    return pd.DataFrame(rows, columns=cols)


RUNS = _runs([
    ("f0", "d", "FRAME", 8, "watched-positive", "id", "product", 10, 32, "s1", 0, 0.80, 0.7, 0.5),
    ("f1", "d", "FRAME", 8, "watched-positive", "id", "product", 10, 32, "s1", 1, 0.82, 0.7, 0.5),
    ("c0", "d", "coarse (N_c = 1)", 1, "—", "id", "product", 10, 32, "s1", 0, 0.75, 0.6, 0.6),
    ("c1", "d", "coarse (N_c = 1)", 1, "—", "id", "product", 10, 32, "s1", 1, 0.77, 0.6, 0.6),
    ("g0", "d", "FRAME", 8, "watched-positive", "id", "product", 5, 32, "s2", 0, 0.90, 0.7, 0.5),
])


def test_summary_table_delta_against_the_coarse_row_of_the_same_setting():
    agg, disp = T.summary_table(RUNS)
    row = agg[(agg["setting"] == "s1") & (agg["nc"] == 8)].iloc[0]
    assert row["auc_mean"] == pytest.approx(0.81) and row["auc_std"] == pytest.approx(np.std([0.8, 0.82], ddof=1))
    assert row["delta_auc"] == pytest.approx(0.81 - 0.76)
    assert math.isnan(agg[agg["nc"] == 1]["delta_auc"].iloc[0])  # coarse rows have no Δ
    assert math.isnan(agg[agg["setting"] == "s2"]["delta_auc"].iloc[0])  # no coarse row in that setting
    assert disp.columns[:9].tolist() == ["model", "N_c", "policy", "inputs", "video score", "runs", "seeds", "AUC",
                                         "Δ AUC vs coarse"]
    assert disp.loc[agg["setting"] == "s2", "AUC"].iloc[0] == "0.9000"  # one seed: the mean alone, no "± nan"


def test_coarse_twin_and_pairing():
    frame, coarse = T.frame_and_coarse(RUNS)
    assert frame["run_id"].tolist() == ["f1", "f0", "g0"]  # paired setting first, then by AUC
    assert coarse["run_id"].tolist() == ["c1", "c0"]
    assert T.coarse_twin(coarse, RUNS.set_index("run_id").loc["f0"]) == "c0"  # same setting and seed
    assert T.coarse_twin(coarse, RUNS.set_index("run_id").loc["g0"]) == "c0"  # other setting: same seed
    assert T.coarse_twin(coarse, None) == "c1"  # best by AUC


def test_prepare_runs_and_labels():
    raw = RUNS.assign(policy="paper").astype({"nc": object})
    raw.loc[len(raw)] = ["x", "d", "FRAME", None, "paper", "id", "product", 1, 1, "s9", 0, 0.5, 0.5, 0.7]
    out = T.prepare_runs(raw)
    assert "x" not in set(out["run_id"]) and out["nc"].dtype.kind == "i"
    assert set(out.loc[out["nc"] == 1, "policy"]) == {"—"}
    assert T.run_label(out.iloc[0]) == "FRAME N_c=8, paper, id, seed 0, test AUC 0.800"  # words, no folder id
    r = out.iloc[0].copy()
    r["created"] = "2026-12-03T14:02:09+00:00"
    assert T.run_label(r).endswith(", 3 Dec 14:02 UTC")
    assert T.run_title(r) == ("FRAME with N_c = 8 clips (label policy paper), learned id-embedding inputs, seed 0 · "
                              "test AUC 0.800 · trained 3 Dec 14:02 UTC")
    c = out[out["nc"] == 1].iloc[0]
    assert T.run_title(c).startswith("The coarse model (N_c = 1, one clip per video), learned id-embedding inputs")


def test_classroom_specs_and_results():
    specs = T.classroom_specs("ds", has_videos=False)
    assert len(specs) == len(T.CLASSROOM_NCS) * len(T.CLASSROOM_SEEDS)
    kinds, params = {s[0] for s in specs}, [s[1] for s in specs]
    assert kinds == {"train"} and all(p["config"]["id_embeddings"] and not p["visual"] for p in params)
    FrameConfig.from_dict(params[0]["config"])  # a valid config
    jobs = [SimpleNamespace(params=p, result={"auc": 0.6 + 0.1 * (p["config"]["nc"] == 8)}) for p in params]
    res = T.classroom_results(jobs)
    assert len(res) == 6 and res.groupby("nc")["auc"].mean().to_dict() == pytest.approx({1: 0.6, 8: 0.7})
    assert res["gauc"].isna().all()


def test_stats_and_seeds():
    agg = aggregate_runs(pd.DataFrame({"m": ["a", "a", "b"], "auc": [0.5, 0.7, 0.9], "seed": [1, 0, 0]}), ["m"], ["auc"])
    a = agg.set_index("m")
    assert a.loc["a", "auc_std"] == pytest.approx(0.1414213, rel=1e-5) and math.isnan(a.loc["b", "auc_std"])
    assert a.loc["a", "seeds"] == "0, 1"
    assert fmt_mean_std(0.5, float("nan")) == "0.5000" and fmt_mean_std(float("nan"), 0.1) == "–"
    assert parse_seeds(3) == [0, 1, 2] and parse_seeds("3") == [0, 1, 2] and parse_seeds("4,2,4") == [4, 2]
    for bad in (0, "x", "-1,2", [], 101):
        with pytest.raises(Exception, match="seed"):
            parse_seeds(bad)


def test_field_help_covers_every_field():
    h = field_help()
    assert set(h) == set(FrameConfig().to_dict())
    assert all(h.values()) and "N_c" in h["nc"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    log = synth_log(tmp_path_factory.mktemp("w"), users=20, videos=25, per_user=10, seed=4)
    run = train_run(log, tmp_path_factory.mktemp("r") / "run", fast_config(nc=3, epochs=1), source="t")
    return log, run


def test_recommend_excludes_training_views_and_ranks_by_p_full(trained):
    log, run = trained
    parts = REC.split_log(log)
    user = parts[S_USER].iloc[0]
    seen = set(parts.loc[(parts[S_USER] == user) & (parts["part"] == 0), "video_id"])
    top = run.recommend(user, k=5)
    assert top["rank"].tolist() == [1, 2, 3, 4, 5]
    assert not set(top["video_id"]) & seen
    assert top["p_full"].is_monotonic_decreasing
    assert len(run.candidates(user)) == run.maps.n_videos - len(seen)
    again = run.predict(top[["user_id", "video_id", "duration_time"]])
    np.testing.assert_allclose(again["p_full"], top["p_full"])
    cold = run.recommend("nobody", k=3)
    assert len(cold) == 3 and len(run.candidates("nobody")) == run.maps.n_videos


def test_heldout_views_and_outcomes(trained):
    log, run = trained
    parts = REC.split_log(log)
    act = REC.user_activity(parts)
    user = act.index[0]
    views = REC.heldout_views(parts, user, nc=3)
    assert len(views) == act.loc[user, "held_out"] > 0
    assert set(views["part_name"]) <= {"val", "test"}
    assert ((views["skip_clip"] == -1) == views["full_view"]).all()
    assert REC.outcome_text(None) == "not viewed"
    assert REC.outcome_text(views.iloc[0]).endswith(f"({views.iloc[0]['part_name']})")
    assert REC.heldout_views(parts, "nobody", nc=3).empty


def test_run_status_helpers(trained, tmp_path):
    _, run = trained
    t = R.finished_at(run.path)
    assert t is not None and t <= time.time()
    assert R.finished_at(tmp_path) is None
    assert (run.path.name, t) in R.runs_signature(run.path.parent)
    assert R.runs_signature(tmp_path / "absent") == ()


S_USER = "user_id"


def test_blend_weights_table():
    import json

    from frame_core.model.blend import Blend

    b = Blend(["frame", "coarse", "logreg"], [0.9, 0.1, 0.3], -0.2, "stacking", 0.8, {"frame": 0.78, "coarse": 0.7, "logreg": 0.72})
    details = pd.DataFrame({"model": ["frame", "ensemble"], "seed": [0, 0], "blend": ["", json.dumps(b.to_dict())]})
    t = T.blend_weights(details)
    assert len(t) == 1 and t.iloc[0]["w_frame"] == 0.9 and t.iloc[0]["method"] == "stacking"
    assert t.iloc[0]["val_auc_coarse"] == 0.7
    assert T.blend_weights(None).empty and T.blend_weights(details[details["model"] == "frame"]).empty


def test_settings_are_labelled_by_what_differs_from_the_defaults():
    from frame_core.model.config import FrameConfig
    from frame_core.services.engine import SETTING_LABEL_MAX, describe_setting, setting_labels

    d = FrameConfig().to_dict()
    assert describe_setting(d) == "defaults"
    assert describe_setting({**d, "seed": 3, "nc": 1, "policy": "paper", "id_embeddings": True}) == "defaults"
    changed = {**d, "lr": 0.01, "factor_share": True, "cold_dropout": None, "mlp_sizes": [32, 16]}
    assert describe_setting(changed) == "mlp_sizes 32,16, factor_share on, cold_dropout auto, lr 0.01"
    # two settings of one dataset that read the same get their hash; other datasets are left alone
    labels = setting_labels(["defaults", "defaults", "defaults", "lr 0.01"], ["aaa111", "bbb222", "ccc333", "ddd444"],
                            ["ds1", "ds1", "ds2", "ds1"])
    assert labels == ["defaults · aaa111", "defaults · bbb222", "defaults", "lr 0.01"]
    long = ", ".join(f"field{i} {i}" for i in range(20))
    (cut,) = setting_labels([long], ["eee555"], ["ds1"])
    assert cut.endswith("… · eee555") and len(cut) == SETTING_LABEL_MAX + len(" · eee555")

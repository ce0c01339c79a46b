"""The FRAME + coarse + logreg ensemble: the blend's guarantee on validation AUC, its weights,
and the ensemble inside a comparison."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frame_core.baselines.compare import run_comparison
from frame_core.evaluation.metrics import auc
from frame_core.model.blend import Blend, fit_blend

from .engine_world import synth_log


def _scores(rng, n=400):
    y = (rng.random(n) < 0.4).astype(float)
    a = np.clip(0.4 + 0.3 * (y - 0.4) + rng.normal(0, 0.2, n), 0.01, 0.99)  # informative
    b = np.clip(0.4 + 0.15 * (y - 0.4) + rng.normal(0, 0.2, n), 0.01, 0.99)  # weaker, partly independent
    c = rng.random(n)  # noise
    return {"frame": a, "coarse": b, "logreg": c}, y


def test_stacking_combines_two_informative_members():
    scores, y = _scores(np.random.default_rng(0))
    blend = fit_blend(scores, y)
    assert blend.method == "stacking"
    assert blend.val_auc >= max(auc(y, p) for p in scores.values())
    w = dict(zip(blend.members, blend.weights, strict=True))
    assert w["frame"] > w["coarse"] > abs(w["logreg"])  # the noise member gets (almost) nothing
    again = Blend.from_dict(json.loads(json.dumps(blend.to_dict())))
    np.testing.assert_allclose(again.predict(scores), blend.predict(scores))
    assert "frame" in blend.describe() and "(stacking)" in blend.describe()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(20, 200), st.floats(0.05, 0.95))
def test_blend_validation_auc_is_never_below_a_member(seed, n, share):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < share).astype(float)
    scores = {m: rng.random(n) * (1 + k * y) / (2 + k) for k, m in enumerate(("frame", "coarse", "logreg"))}
    blend = fit_blend(scores, y)
    if len(np.unique(y)) < 2:
        assert blend.method == "mean"
        return
    assert blend.val_auc >= max(auc(y, p) for p in scores.values()) - 1e-12
    assert blend.val_auc == pytest.approx(auc(y, blend.predict(scores)))
    p = blend.predict(scores)
    assert np.all((p > 0) & (p < 1)) and p.shape == (n,)


def test_fallback_to_the_best_member_keeps_its_ranking():
    # a member that ranks perfectly but whose log-odds scale misleads the stack
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1] * 10, dtype=float)
    perfect = np.where(y > 0, 0.51, 0.49) + np.linspace(0, 1e-3, len(y))
    loud = np.where(y > 0, 0.9, 0.1)
    loud[:6] = 0.99  # confidently wrong on a few rows
    blend = fit_blend({"frame": perfect, "coarse": loud}, y)
    assert blend.val_auc >= auc(y, perfect) - 1e-12
    if blend.method == "best member":
        assert blend.weights[1] == 0.0 and blend.weights[0] > 0


def test_ensemble_in_a_comparison_reuses_its_members(tmp_path):
    log = synth_log(tmp_path / "w", users=24, videos=30, per_user=12, seed=5)
    events = []
    res = run_comparison(log, "frame,coarse,logreg,ensemble", seeds=1, max_epochs=2, patience=1,
                         out_dir=tmp_path / "cmp", progress=events.append)
    assert list(res["model"]) == ["frame", "coarse", "logreg", "ensemble"]
    assert res.drop(columns=["model", "seed"]).notna().all().all()
    details = pd.read_csv(tmp_path / "cmp" / "runs.csv")
    ens = details[details["model"] == "ensemble"].iloc[0]
    blend = Blend.from_dict(json.loads(ens["blend"]))
    assert blend.members == ["frame", "coarse", "logreg"]
    members = details[details["model"].isin(blend.members)].set_index("model")["val_auc"]
    assert ens["val_auc"] >= members.max() - 1e-9
    # the members were trained once: one run_start per model, and the ensemble's own events carry no epochs
    starts = [e["model"] for e in events if e["event"] == "run_start"]
    assert starts == ["frame", "coarse", "logreg", "ensemble"]
    ens_epochs = [e for e in events if e["event"] == "epoch" and e["model"] == "ensemble"]
    assert len(ens_epochs) == 1 and "blend" in ens_epochs[0]


def test_ensemble_run_folder_obeys_the_run_contract(tmp_path):
    from frame_core import runs as R
    from frame_core.cli.main import main
    from frame_core.data.split import TEST, with_split
    from frame_core.services.engine import list_finished_runs
    from frame_core.training.ensemble_run import train_ensemble_run

    from .engine_world import fast_config

    log = synth_log(tmp_path / "w", users=24, videos=30, per_user=12, seed=6)
    out = tmp_path / "runs" / "ens"
    run = train_ensemble_run(log, out, fast_config(nc=4), source="t")
    for name in (R.CONFIG, R.METRICS, R.HISTORY, R.TEST_PRED, R.TEST_CLIP_PRED, R.DONE, "blend.json", "logreg.json"):
        assert (out / name).exists(), name
    m = json.loads((out / R.METRICS).read_text())
    for k in ("auc", "gauc", "logloss", "recall@3", "ndcg@3", "recall@5", "ndcg@5", "val_auc"):
        assert m[k] is not None, k
    assert m["val_auc"] >= max(m["member_val_auc"].values()) - 1e-9
    again = R.load_run(out)
    assert isinstance(again, R.EnsembleRun) and again.nc == 4
    # reloading scores the test rows exactly as written
    full, part = with_split(log)
    test = full[part == TEST].reset_index(drop=True)
    pred = again.predict(test)
    written = again.test_predictions()
    np.testing.assert_allclose(pred["p_full"].to_numpy(), written["p_full"].to_numpy(), rtol=1e-6)
    assert [c for c in pred.columns if c.startswith("p_clip_")] == [f"p_clip_{c}" for c in range(4)]
    top = again.recommend(test["user_id"].iloc[0], k=3)
    assert len(top) == 3 and top["p_full"].is_monotonic_decreasing
    listed = list_finished_runs(out.parent)
    assert listed["model"].tolist() == ["ensemble"]  # members live inside the folder, not beside it
    # the CLI's predict takes an ensemble run folder like any other
    log.to_csv(tmp_path / "log.csv", index=False)
    assert main(["predict", str(out), str(tmp_path / "log.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(log)
    assert run.blend.members == ["frame", "coarse", "logreg"]

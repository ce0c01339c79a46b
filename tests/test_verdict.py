"""The verdict engine: weighted bootstrap AUC against a by-hand computation, a clear win, a clear
loss and a tie (verdict consistent with the interval, interval around the delta), seed spread,
row alignment, the likely reason, and verdict.csv from ``compare``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from frame_core.baselines import run_comparison
from frame_core.common.errors import InputError
from frame_core.evaluation import verdict as V
from frame_core.evaluation.metrics import auc
from tests.test_baselines import tiny_world


def scored_world(n_users=200, per_user=10, seed=0):
    """y and a latent signal; scores of strength s are signal · s + noise."""
    rng = np.random.default_rng(seed)
    users = np.repeat([f"u{i}" for i in range(n_users)], per_user)
    signal = rng.normal(size=len(users))
    y = (signal + rng.normal(size=len(users)) > 0).astype(int)
    return rng, users, signal, y


def score(rng, signal, strength):
    return 1 / (1 + np.exp(-(strength * signal + rng.normal(size=len(signal)))))


def test_weighted_auc_matches_duplicated_rows_by_hand():
    y = np.array([1, 0, 1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.4, 0.4, 0.3, 0.8])
    users = np.array(["a", "a", "b", "b", "c", "c"])
    codes, _ = V.bootstrap_weights(users, n_boot=1)
    counts = np.array([[1.0, 1.0, 1.0], [2.0, 0.0, 1.0], [0.0, 3.0, 0.0]])
    got = V.weighted_auc_replicates(y, p, codes, counts)
    assert got[0] == pytest.approx(auc(y, p))
    # replicate 2: user a twice, c once → rows a, a, c
    keep = np.r_[0, 1, 0, 1, 4, 5]
    assert got[1] == pytest.approx(auc(y[keep], p[keep]))
    # replicate 3: user b three times: one positive and one negative tied at 0.4 → 0.5
    assert got[2] == pytest.approx(0.5)


def test_bootstrap_counts_draw_users_with_replacement():
    codes, counts = V.bootstrap_weights(["x", "y", "y", "z"], n_boot=50, seed=3)
    assert list(codes) == [0, 1, 1, 2]
    assert counts.shape == (50, 3) and (counts.sum(axis=1) == 3).all()


@pytest.mark.parametrize("strengths, expected", [((2.0, 0.3), V.A_BETTER), ((0.3, 2.0), V.B_BETTER),
                                                 ((1.0, 1.0), V.NO_CLEAR)])
def test_clear_win_clear_loss_and_tie(strengths, expected):
    rng, users, signal, y = scored_world()
    seeds = [0, 1, 2]
    p_a = [score(rng, signal, strengths[0]) for _ in seeds]
    p_b = [score(rng, signal, strengths[1]) for _ in seeds]
    v = V.paired_verdict(y, users, p_a, p_b, seeds_a=seeds, seeds_b=seeds, n_boot=300)
    assert v.verdict == expected
    assert v.ci_low <= v.delta_auc <= v.ci_high
    assert (v.verdict == V.A_BETTER) == (v.ci_low > 0) and (v.verdict == V.B_BETTER) == (v.ci_high < 0)
    assert v.delta_auc == pytest.approx(np.mean([auc(y, p) for p in p_a]) - np.mean([auc(y, p) for p in p_b]))
    assert np.isfinite(v.se_seed) and not v.single_seed
    sentence = V.verdict_sentence(v)
    assert sentence.startswith({V.A_BETTER: "FRAME is better", V.B_BETTER: "The coarse model is better",
                                V.NO_CLEAR: "No clear difference on this dataset"}[expected])


def test_identical_models_give_zero_and_single_seed_is_flagged():
    rng, users, signal, y = scored_world(n_users=30)
    p = score(rng, signal, 1.0)
    v = V.paired_verdict(y, users, [p], [p.copy()], n_boot=100)
    assert v.delta_auc == 0 and v.ci_low == v.ci_high == 0 and v.verdict == V.NO_CLEAR
    assert v.single_seed and np.isnan(v.se_seed)
    assert "one seed per model" in V.likely_reason(v, None)


def test_seed_spread_widens_the_interval():
    rng, users, signal, y = scored_world()
    p = [score(rng, signal, 1.0) for _ in range(3)]
    q = [score(rng, signal, 1.0) for _ in range(3)]
    one = V.paired_verdict(y, users, p[:1], q[:1], n_boot=200)
    assert one.single_seed and np.isnan(one.se_seed)
    three = V.paired_verdict(y, users, p, q, seeds_a=[0, 1, 2], seeds_b=[0, 1, 2], n_boot=200)
    assert three.se_seed > 0
    assert (three.ci_high - three.ci_low) == pytest.approx(2 * V.Z95 * np.hypot(three.se_boot, three.se_seed))


def test_reason_names_new_videos_without_content():
    rng, users, signal, y = scored_world(n_users=40)
    p = score(rng, signal, 1.0)
    v = V.paired_verdict(y, users, [p, p], [p, p], seeds_a=[0, 1], seeds_b=[0, 1], n_boot=50)
    facts = V.DataFacts(new_video_share=0.8, visual=False, median_views_per_video=1.0, test_users=40)
    reason = V.likely_reason(v, facts)
    assert reason.startswith("80% of test views are of videos with no training view")
    assert "no content features" in reason and "add the video files or more views per video" in reason
    assert "content" in V.likely_reason(v, V.DataFacts(0.8, True, 1.0, 40))
    assert V.likely_reason(v, V.DataFacts(0.1, False, 9.0, 400)) == "The test set has only 40 users, so the interval is wide."


def test_align_predictions_matches_rows_and_refuses_mismatches():
    a = pd.DataFrame({"user_id": ["u", "u", "w"], "video_id": ["x", "x", "y"], "interaction_timestamp": [1, 1, 2],
                      "y": [1, 0, 1], "p_full": [0.9, 0.1, 0.5]})
    b = a.iloc[[2, 0]].assign(p_full=[0.3, 0.7])  # other order, one row short
    rows, ps = V.align_predictions([a, b])
    assert len(rows) == 2 and list(ps[0]) == [0.9, 0.5] and list(ps[1]) == [0.7, 0.3]
    with pytest.raises(InputError, match="share no test row"):
        V.align_predictions([a, a.assign(user_id="other")])
    with pytest.raises(InputError, match="disagree"):
        V.align_predictions([a, a.assign(y=[0, 0, 1])])
    with pytest.raises(InputError, match="both full views and skips"):
        V.paired_verdict([1, 1], ["u", "w"], [[0.1, 0.2]], [[0.3, 0.4]])


def test_compare_writes_verdict_csv_and_markdown(tmp_path):
    run_comparison(tiny_world(), "popularity,logreg", seeds=2, out_dir=tmp_path, max_epochs=1)
    ver = pd.read_csv(tmp_path / "verdict.csv", keep_default_na=False)
    assert list(ver.columns) == list(V.VERDICT_COLUMNS)
    assert ver[["model_a", "model_b"]].values.tolist() == [["popularity", "logreg"]]
    r = ver.iloc[0]
    assert r["verdict"] in V.VERDICTS and r["ci_low"] <= r["delta_auc"] <= r["ci_high"]
    assert (r["verdict"] == V.A_BETTER) == (r["ci_low"] > 0) and (r["verdict"] == V.B_BETTER) == (r["ci_high"] < 0)
    res = pd.read_csv(tmp_path / "results.csv")
    means = res.groupby("model")["auc"].mean()
    assert r["delta_auc"] == pytest.approx(means["popularity"] - means["logreg"], abs=1e-9)
    md = (tmp_path / "results.md").read_text()
    assert "| popularity | logreg |" in md and "95 % interval" in md

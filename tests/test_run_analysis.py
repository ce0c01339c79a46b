"""Run comparison helpers (frame_core.evaluation.run_analysis) against hand-computed values."""

import numpy as np
import pandas as pd
import pytest

from frame_core.evaluation import metrics as M
from frame_core.evaluation import run_analysis as A


def test_roc_and_pr_match_metrics():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.clip(0.3 * y + 0.7 * rng.random(300), 0, 1)
    roc = A.roc_points(y, p, max_points=10_000)
    assert roc.iloc[0][["fpr", "tpr"]].tolist() == [0.0, 0.0] and roc.iloc[-1][["fpr", "tpr"]].tolist() == [1.0, 1.0]
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(M.auc(y, p))
    # hand example: y = 1, 0, 1 ranked by p: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    assert A.average_precision([1, 0, 1], [0.9, 0.8, 0.7]) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert A.roc_points([1, 1], [0.2, 0.3]).empty and A.pr_points([0, 0], [0.2, 0.3]).empty
    assert len(A.roc_points(y, p, max_points=50)) <= 50


def test_aggregate_and_mean_std():
    runs = pd.DataFrame({"model": ["F", "F", "C"], "seed": [0, 1, 0], "auc": [0.8, 0.82, 0.7]})
    agg = A.aggregate_runs(runs, ["model"], ["auc"]).set_index("model")
    assert agg.loc["F", "auc_mean"] == pytest.approx(0.81)
    assert agg.loc["F", "auc_std"] == pytest.approx(np.std([0.8, 0.82], ddof=1))
    assert np.isnan(agg.loc["C", "auc_std"]) and agg.loc["F", "seeds"] == "0, 1"
    table = A.mean_std_table(agg.reset_index(), ["model"], ["auc"]).set_index("model")
    assert table.loc["F", "AUC"] == "0.8100 ± 0.0141" and table.loc["C", "AUC"] == "0.7000"


def test_per_user_comparison_signs_and_join():
    a = pd.DataFrame({"user_id": ["u", "u", "w", "w"], "video_id": ["1", "2", "1", "2"],
                      "interaction_timestamp": [1, 2, 1, 2], "y": [1, 0, 1, 0], "p_full": [0.9, 0.1, 0.2, 0.8]})
    b = a.assign(p_full=[0.1, 0.9, 0.2, 0.8])
    pu = A.per_user_comparison(a, b, "auc").set_index("user_id")
    assert pu.loc["u", "a"] == 1.0 and pu.loc["u", "b"] == 0.0 and pu.loc["u", "outcome"] == "A better"
    assert pu.loc["w", "outcome"] == "tie"
    ll = A.per_user_comparison(a, b, "logloss").set_index("user_id")
    assert ll.loc["u", "diff"] > 0  # lower logloss for A is a positive difference


def test_clip_contributions():
    c = A.clip_contributions([0.9, 0.5, 0.99], "product")
    assert c.loc[c["rank"] == 1, "clip"].item() == 1
    assert c["contribution"].tolist() == pytest.approx(np.log([0.9, 0.5, 0.99]).tolist())
    assert c.loc[1, "score_without"] == pytest.approx(0.9 * 0.99)
    m = A.clip_contributions([0.9, 0.5, 0.99], "mean")
    assert m.loc[1, "score_without"] == pytest.approx((0.9 + 0.99) / 2)
    assert m.loc[1, "contribution"] == pytest.approx(np.mean([0.9, 0.5, 0.99]) - (0.9 + 0.99) / 2)
    with pytest.raises(ValueError):
        A.clip_contributions([0.5], "sum")

"""Metrics against hand-computed values (docs/design.md §5)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from frame_core.evaluation import metrics as M

L3, L5 = math.log2(3), math.log2(5)


def test_auc_counts_ties_as_half():
    # pairs (pos, neg): (0.9, 0.9) tie = 0.5, (0.9, 0.1) = 1, (0.4, 0.9) = 0, (0.4, 0.1) = 1
    assert M.auc([1, 0, 1, 0], [0.9, 0.9, 0.4, 0.1]) == pytest.approx(2.5 / 4)


def test_auc_single_class_is_nan():
    assert math.isnan(M.auc([1, 1], [0.2, 0.3]))
    assert math.isnan(M.auc([], []))


def test_gauc_weights_users_by_rows_and_skips_one_class_users():
    users = ["a", "a", "a", "b", "b", "c", "c"]
    y = [1, 0, 0, 1, 0, 1, 1]
    p = [0.8, 0.3, 0.5, 0.2, 0.6, 0.1, 0.9]
    # a: AUC 1 (3 rows), b: AUC 0 (2 rows), c: one class, left out
    assert M.gauc(users, y, p) == pytest.approx((3 * 1.0 + 2 * 0.0) / 5)
    assert math.isnan(M.gauc(["a", "a"], [1, 1], [0.1, 0.2]))


def test_logloss_clips_probabilities():
    want = -(math.log(1e-7) + math.log(0.5)) / 2
    assert M.logloss([1, 0], [0.0, 0.5]) == pytest.approx(want)
    assert M.logloss([0], [1.0]) == pytest.approx(-math.log(1e-7))


def test_ranking_metrics_hand_computed():
    users = ["a"] * 4 + ["b"] * 2 + ["c"] + ["d"] * 2
    y = [0, 1, 0, 1] + [0, 0] + [1] + [0, 1]
    p = [0.9, 0.8, 0.7, 0.1] + [0.5, 0.4] + [0.3] + [0.5, 0.5]
    r = M.ranking_metrics(users, y, p)
    # a: ranks 0..3 = rows 0,1,2,3; relevant rows 1 (rank 1) and 3 (rank 3); 2 relevant
    ndcg_a3 = (1 / L3) / (1 + 1 / L3)
    ndcg_a5 = (1 / L3 + 1 / L5) / (1 + 1 / L3)
    # b: no relevant row -> left out. c: fewer than K rows, hit at rank 0.
    # d: tie -> input order: row 0 (irrelevant) first, relevant at rank 1
    ndcg_d = 1 / L3
    assert r["recall@3"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert r["ndcg@3"] == pytest.approx((ndcg_a3 + 1 + ndcg_d) / 3)
    assert r["recall@5"] == pytest.approx(1.0)
    assert r["ndcg@5"] == pytest.approx((ndcg_a5 + 1 + ndcg_d) / 3)


def test_ranking_metrics_no_relevant_rows_is_nan():
    r = M.ranking_metrics(["a", "a"], [0, 0], [0.2, 0.1])
    assert all(math.isnan(v) for v in r.values())


def test_video_metrics_keys_and_values():
    df = pd.DataFrame({"user_id": ["a", "a", "b", "b"], "y": [1, 0, 0, 1], "p_full": [0.9, 0.2, 0.3, 0.8]})
    m = M.video_metrics(df)
    assert tuple(m) == M.METRIC_KEYS
    assert m["auc"] == 1.0 and m["gauc"] == 1.0
    assert m["recall@3"] == 1.0 and m["ndcg@3"] == 1.0


def test_skip_localisation_hand_computed():
    true = [0, 2, 1]
    probs = np.array([[0.1, 0.5, 0.9], [0.9, 0.8, 0.2], [0.5, 0.5, 0.9]])  # argmin 0, 2, 0 (tie -> first)
    out = M.skip_localisation(true, probs, train_skip_clips=[1, 1, 0], nc=3)
    assert out["hit@1"] == pytest.approx(2 / 3)
    assert out["random"] == pytest.approx(1 / 3)
    assert out["prior"] == pytest.approx(1 / 3)  # the prior always guesses clip 1
    empty = M.skip_localisation([], np.zeros((0, 3)), [0], nc=3)
    assert math.isnan(empty["hit@1"])


def test_skip_distribution_is_a_survival_split():
    from frame_core.evaluation.evaluate import skip_distribution

    d = skip_distribution(np.array([[0.5, 0.5, 1.0], [1.0, 1.0, 1.0]]))
    # row 0: P(end at 0) ∝ 0.5, at 1 ∝ 0.5·0.5, at 2 ∝ 0.25·0 -> normalised (2/3, 1/3, 0)
    assert d[0] == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert d[1] == pytest.approx([1 / 3] * 3)  # no skip mass at all: uniform

"""The sequential baselines ``alpine`` and ``mtin``: histories in time order without test rows,
a world where only the order of a user's views carries the signal, cold ids, the compare CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from frame_core.baselines import make_model
from frame_core.baselines.alpine import AlpineBaseline, cross_time_neighbours
from frame_core.baselines.base import full_view
from frame_core.baselines.compare import split_log
from frame_core.baselines.history import PAD, HistoryStore
from frame_core.baselines.sequential import auto_batch_size, mean_visual_table
from frame_core.cli.main import main
from frame_core.data.features import ClipFeatures
from frame_core.evaluation.metrics import auc

SEQUENTIAL = ("alpine", "mtin")


def order_world(n_users: int = 70, n_videos: int = 40, per_user: int = 40, seed: int = 0) -> pd.DataFrame:
    """Each user alternates runs of 5–11 full views and 5–11 skips of random videos: every user
    and every video has about the same full-view rate, so only the order of the history tells
    what comes next."""
    rng = np.random.default_rng(seed)
    dur = rng.uniform(5, 60, n_videos).round(1)
    rows = []
    for u in range(n_users):
        labels: list[int] = []
        state = int(rng.integers(2))
        while len(labels) < per_user:
            labels += [state] * int(rng.integers(5, 12))
            state = 1 - state
        for t, (v, y) in enumerate(zip(rng.choice(n_videos, per_user), labels[:per_user])):
            play = dur[v] * (rng.uniform(1.0, 1.3) if y else rng.uniform(0.05, 0.9))
            rows.append((f"u{u}", f"v{v}", round(play, 2), dur[v], 1000.0 * u + t))
    return pd.DataFrame(rows, columns=["user_id", "video_id", "playing_time", "duration_time", "interaction_timestamp"])


@pytest.fixture(scope="module")
def world():
    return split_log(order_world())


@pytest.fixture(scope="module")
def fitted(world):
    train, val, _ = world
    return {name: make_model(name, max_epochs=12, patience=12).fit(train, val, seed=0) for name in SEQUENTIAL}


def bag_of_history_auc(train, val, test) -> float:
    """Logistic regression on the full-view share and size of the same last-50 window, as a bag."""
    store = HistoryStore(train, val, full_view(train), full_view(val))

    def feats(df):
        win = store.windows(df, 50)
        lab = np.where(win >= 0, store.labels[np.maximum(win, 0)], 0)
        n = (win >= 0).sum(1)
        return np.column_stack([lab.sum(1) / np.maximum(n, 1), np.log1p(n)])

    m = LogisticRegression().fit(feats(train), full_view(train))
    return auc(full_view(test), m.predict_proba(feats(test))[:, 1])


def test_order_of_the_history_carries_the_signal(world, fitted):
    train, val, test = world
    y = full_view(test)
    bag = bag_of_history_auc(train, val, test)
    refs = {name: auc(y, make_model(name).fit(train, val).predict(test)) for name in ("popularity", "logreg")}
    assert bag < 0.6 and max(refs.values()) < 0.6  # the bag and the rates carry (almost) nothing
    for name, model in fitted.items():
        a = auc(y, model.predict(test))
        assert a > max(bag, *refs.values()) + 0.1, (name, a, bag, refs)


def test_no_test_row_reaches_a_history(world, fitted):
    train, val, test = world
    for model in fitted.values():
        store = model.store_
        assert len(store) == len(train) + len(val) and set(np.unique(store.origin)) == {0, 1}
        for df, origin in ((train, 0), (val, 1), (test, 2)):
            X = model._pack(df).numpy()
            col = 4
            for length, label in model.blocks:
                pos = X[:, col : col + length] - 1  # the packed event positions (-1 = padding)
                col += 2 * length
                assert pos.min() >= PAD and pos.max() < len(store)
                rows, _ = np.nonzero(pos >= 0)
                ev = pos[pos >= 0]
                # every event is a training or validation row of the same user, strictly earlier
                assert np.all(store.origin[ev] <= 1)
                assert np.all(store.users[ev] == df["user_id"].to_numpy()[rows])
                assert np.all(store.ts[ev] < df["interaction_timestamp"].to_numpy()[rows])
                if label is not None:
                    assert np.all(store.labels[ev] == label)
                if origin == 0:  # a training row never sees a validation row (they come later)
                    assert np.all(store.origin[ev] == 0)
                if origin == 2:  # a test row sees the user's whole record (up to the window size)
                    n_hist = (pos >= 0).sum(1)
                    per_user = pd.Series(store.users).value_counts() if label is None else pd.Series(
                        store.users[store.labels == label]).value_counts()
                    expect = np.minimum(per_user.reindex(df["user_id"]).fillna(0).to_numpy(), length)
                    np.testing.assert_array_equal(n_hist, expect)


def test_histories_by_hand():
    train = pd.DataFrame({"user_id": ["a", "a", "a", "b"], "video_id": ["x", "y", "z", "x"],
                          "playing_time": [10.0, 1.0, 10.0, 1.0], "duration_time": [10.0] * 4,
                          "interaction_timestamp": [3.0, 1.0, 2.0, 5.0]})
    val = pd.DataFrame({"user_id": ["a"], "video_id": ["w"], "playing_time": [1.0], "duration_time": [10.0],
                        "interaction_timestamp": [4.0]})
    store = HistoryStore(train, val, full_view(train), full_view(val))
    assert list(store.videos) == ["y", "z", "x", "w", "x"]  # a by time, then b
    q = pd.DataFrame({"user_id": ["a", "a", "b", "new"], "interaction_timestamp": [2.0, 9.0, 5.0, 9.0]})
    np.testing.assert_array_equal(store.windows(q, 3), [[-1, -1, 0], [1, 2, 3], [-1, -1, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(store.windows(q, 2, label=1), [[-1, -1], [1, 2], [-1, -1], [-1, -1]])
    # no timestamp: the whole record, gaps measured from the latest event (t = 5)
    nots = q.drop(columns="interaction_timestamp")
    np.testing.assert_array_equal(store.windows(nots, 2), [[2, 3], [2, 3], [-1, 4], [-1, -1]])
    np.testing.assert_allclose(store.gaps(nots, store.windows(nots, 2))[0], [2.0, 1.0])


def test_cold_users_and_videos_get_finite_scores(fitted):
    q = pd.DataFrame({"user_id": ["u0", "nobody", "nobody", "u1"], "video_id": ["v_new", "v0", "v_new", "v1"],
                      "playing_time": 1.0, "duration_time": [12.0, 30.0, 7.0, 20.0],
                      "interaction_timestamp": [1e9, 1e9, 2.0, 1e9]})
    for model in fitted.values():
        assert (model.history_windows(q)[0][1:3] == PAD).all()  # the cold user has no history
        p = model.predict(q)
        assert p.shape == (4,) and np.all(np.isfinite(p)) and np.all((p > 0) & (p < 1))
        assert model.predict(q.drop(columns="interaction_timestamp")).shape == (4,)


def test_cross_time_neighbour_is_the_most_similar_earlier_node():
    import torch

    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9], [1.0, 0.05]]])
    mask = torch.tensor([[False, True, True, True, True]])
    # step 3 (≈ [0,1]) links to step 1, step 4 (≈ [1,0]) to step 2; step 0 is padding, 1–2 have none
    assert cross_time_neighbours(x, mask).tolist() == [[-1, -1, -1, 1, 2]]


def test_visual_features_reach_the_sequential_models(world):
    train, val, test = world
    videos = np.unique(pd.concat([train, val, test])["video_id"])
    rng = np.random.default_rng(0)
    feats = ClipFeatures(np.repeat(videos, 8), np.tile(np.arange(8), len(videos)),
                         rng.normal(size=(8 * len(videos), 5)).astype("float32"), nc=8)
    ids, table = mean_visual_table(feats)
    assert table.shape == (len(videos), 5) and np.allclose(table.mean(0), 0, atol=1e-5)
    asked = []
    m = AlpineBaseline(features_for_nc=lambda nc: asked.append(nc) or feats)
    m.config.max_epochs = 1
    m.fit(train, val)
    assert asked == [8] and m.model_.tables.visual_proj is not None
    cold = test.assign(video_id=videos[0]).iloc[:3].assign(user_id="nobody")
    assert np.all(np.isfinite(m.predict(cold)))


def test_auto_batch_size():
    assert [auto_batch_size(n) for n in (10, 3_500, 14_330, 24_000, 10**7)] == [128, 128, 512, 1024, 1024]


def test_compare_cli_with_the_sequential_models(tmp_path):
    log = tmp_path / "log.csv"
    order_world(n_users=20, per_user=20).to_csv(log, index=False)
    out = tmp_path / "out"
    assert main(["compare", str(log), "--models", "alpine,mtin,popularity", "--seeds", "2", "--epochs", "2",
                 "--out", str(out)]) == 0
    res = pd.read_csv(out / "results.csv")
    assert sorted(res["model"].unique()) == ["alpine", "mtin", "popularity"] and len(res) == 6
    assert not res.isna().any().any()
    preds = pd.read_csv(out / "test_predictions.csv")
    assert set(preds["model"]) == {"alpine", "mtin", "popularity"} and preds["p_full"].between(0, 1).all()

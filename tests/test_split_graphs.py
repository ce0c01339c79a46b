"""Chronological split and user–clip graphs: hand-computed values and leakage checks."""

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from frame_core.data.graphs import IdMaps, binary_matrix, build_graphs, graphs_for_log, normalize, to_torch_csr
from frame_core.data.labels import clip_labels
from frame_core.data.split import TEST, TRAIN, VAL, chronological_split


def make_log(n_views_per_user, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    t = 0
    for u, n in enumerate(n_views_per_user):
        for _ in range(n):
            t += 1
            d = float(rng.uniform(5, 20))
            rows.append((f"u{u}", f"v{rng.integers(0, 15)}", float(rng.uniform(0, 1.3)) * d, d, float(t)))
    return pd.DataFrame(rows, columns=["user_id", "video_id", "playing_time", "duration_time", "interaction_timestamp"])


def test_split_counts_per_user():
    log = make_log([10, 4, 25, 1])
    part = chronological_split(log)
    for u, n in zip(["u0", "u1", "u2", "u3"], [10, 4, 25, 1]):
        p = part[log.user_id.eq(u).to_numpy()]
        assert (p == TEST).sum() == n * 2 // 10
        assert (p == VAL).sum() == n // 10
        assert (p == TRAIN).sum() == n - n * 2 // 10 - n // 10


def test_split_is_chronological_with_row_order_tiebreak():
    log = pd.DataFrame(
        {
            "user_id": ["a"] * 10,
            "video_id": [f"v{i}" for i in range(10)],
            "playing_time": 1.0,
            "duration_time": 2.0,
            # shuffled clock with a tie at 9: the later row of the tie is the last
            "interaction_timestamp": [5, 9, 1, 2, 3, 4, 9, 6, 7, 8],
        }
    )
    part = chronological_split(log)
    # n = 10: last 2 test (rows 1 and 6, both t=9), the one before (t=8, row 9) validation
    assert part.tolist() == [TRAIN, TEST, TRAIN, TRAIN, TRAIN, TRAIN, TEST, TRAIN, TRAIN, VAL]


def test_normalisation_hand_values():
    R = binary_matrix(np.array([0, 0, 1]), np.array([0, 1, 1]), (3, 2))
    sym = normalize(R, "symmetric").toarray()
    # du = [2, 1, 0], dc = [1, 2]
    expected = np.array([[1 / np.sqrt(2 * 1), 1 / np.sqrt(2 * 2)], [0, 1 / np.sqrt(1 * 2)], [0, 0]])
    np.testing.assert_allclose(sym, expected, rtol=1e-6)
    row = normalize(R, "row").toarray()
    np.testing.assert_allclose(row, [[0.5, 0.5], [0, 1], [0, 0]])
    t = to_torch_csr(normalize(R))
    assert t.layout == torch.sparse_csr
    np.testing.assert_allclose(t.to_dense().numpy(), expected, rtol=1e-6)


def test_graphs_hand_example():
    # toy: 2 users, 1 video, N_c = 4; u0 full view, u1 left at r = 0.55 -> clip 2
    log = pd.DataFrame(
        {"user_id": ["u0", "u1"], "video_id": ["v0", "v0"], "playing_time": [8.0, 5.5],
         "duration_time": [8.0, 10.0], "interaction_timestamp": [1.0, 2.0]}
    )
    part = np.array([TRAIN, TRAIN])
    maps, labels, g = graphs_for_log(log, part, 4, "watched-positive")
    assert g.RP.toarray().tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert g.RN.toarray().tolist() == [[0, 0, 0, 0], [0, 0, 1, 0]]
    _, _, g = graphs_for_log(log, part, 4, "paper")
    assert g.RP.toarray().tolist() == [[1, 1, 1, 1], [0, 0, 0, 0]]
    rp, rn = g.torch()
    assert rp.layout == torch.sparse_csr and tuple(rp.shape) == (2, 4)


def test_maps_are_contiguous_and_unknown_is_minus_one():
    log = make_log([5, 5])
    maps = IdMaps.from_log(log)
    assert sorted(maps.user_index(log.user_id).tolist()) == sorted([0] * 5 + [1] * 5)
    assert maps.user_index(["nobody"]).tolist() == [-1]
    assert IdMaps.from_dict(maps.to_dict()).videos.tolist() == maps.videos.tolist()


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(1, 30), min_size=1, max_size=8), nc=st.integers(1, 16),
       policy=st.sampled_from(["watched-positive", "paper"]), seed=st.integers(0, 1000))
def test_no_validation_or_test_row_reaches_a_graph(counts, nc, policy, seed):
    log = make_log(counts, seed)
    part = chronological_split(log)
    maps = IdMaps.from_log(log)
    labels = clip_labels(log.playing_time, log.duration_time, nc, policy)
    u, v = maps.user_index(log.user_id), maps.video_index(log.video_id)
    g = build_graphs(u, v, labels, part, maps.n_users, maps.n_videos)
    # rebuild from training rows only, and from all rows: the graphs must equal the former
    train = part == TRAIN
    lab_t = clip_labels(log.playing_time[train], log.duration_time[train], nc, policy)
    rows = np.flatnonzero(train)[lab_t.row]
    exp_p = binary_matrix(u[rows][lab_t.label == 1], (v[rows] * nc + lab_t.clip)[lab_t.label == 1], g.shape)
    exp_n = binary_matrix(u[rows][lab_t.label == 0], (v[rows] * nc + lab_t.clip)[lab_t.label == 0], g.shape)
    assert (g.RP != exp_p).nnz == 0 and (g.RN != exp_n).nnz == 0
    # and no (user, clip) edge comes only from a held-out row
    held = ~train[labels.row]
    only_held = set(zip(u[labels.row[held]], v[labels.row[held]] * nc + labels.clip[held])) - set(
        zip(u[rows], v[rows] * nc + lab_t.clip)
    )
    edges = set(zip(*g.RP.nonzero())) | set(zip(*g.RN.nonzero()))
    assert not (only_held & edges)


def test_bad_norm_is_an_input_error():
    from frame_core.common.errors import InputError

    with pytest.raises(InputError):
        normalize(binary_matrix(np.array([0]), np.array([0]), (1, 1)), "nope")

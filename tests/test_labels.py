"""Clip labels (docs/design.md §2): hand-computed cases and property-based invariants."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frame_core.common.errors import InputError
from frame_core.data.labels import clip_labels, labels_frame, skip_clip


def as_tuples(lab):
    return list(zip(lab.row.tolist(), lab.clip.tolist(), lab.label.tolist()))


@pytest.mark.parametrize("policy", ["watched-positive", "paper"])
def test_full_view_and_loop_give_all_clips_positive(policy):
    lab = clip_labels([10.0, 25.0], [10.0, 10.0], 4, policy)  # r = 1 and a loop r = 2.5
    assert as_tuples(lab) == [(0, c, 1) for c in range(4)] + [(1, c, 1) for c in range(4)]


@pytest.mark.parametrize("policy", ["watched-positive", "paper"])
def test_leaving_at_zero_seconds_is_negative_on_clip_0(policy):
    assert as_tuples(clip_labels([0.0], [10.0], 4, policy)) == [(0, 0, 0)]


def test_leaving_on_a_boundary_counts_for_the_next_clip():
    # r = 0.25 with N_c = 4 -> clip 1 (docs/design.md §2)
    assert as_tuples(clip_labels([2.5], [10.0], 4, "paper")) == [(0, 1, 0)]
    assert as_tuples(clip_labels([2.5], [10.0], 4)) == [(0, 0, 1), (0, 1, 0)]
    # a boundary that is inexact in binary floating point: 0.7 / 2.8 = 0.25
    assert skip_clip([0.7], [2.8], 4).tolist() == [1]
    assert skip_clip([2.1], [2.8], 4).tolist() == [3]  # r = 0.75 -> clip 3


def test_skip_mid_clip_watched_positive_vs_paper():
    # r = 0.55, N_c = 8 -> floor(4.4) = 4
    assert as_tuples(clip_labels([5.5], [10.0], 8)) == [(0, 0, 1), (0, 1, 1), (0, 2, 1), (0, 3, 1), (0, 4, 0)]
    assert as_tuples(clip_labels([5.5], [10.0], 8, "paper")) == [(0, 4, 0)]


def test_almost_full_view_is_last_clip_negative():
    # r = 0.999 -> k = min(floor(7.992), 7) = 7
    assert as_tuples(clip_labels([9.99], [10.0], 8, "paper")) == [(0, 7, 0)]


def test_nc_1_is_the_coarse_model():
    lab = clip_labels([10.0, 9.0, 0.0], [10.0, 10.0, 10.0], 1)
    assert as_tuples(lab) == [(0, 0, 1), (1, 0, 0), (2, 0, 0)]
    assert as_tuples(clip_labels([10.0, 9.0], [10.0, 10.0], 1, "paper")) == [(0, 0, 1), (1, 0, 0)]


@pytest.mark.parametrize("nc", [0, 65, 2.5, "x", None])
def test_bad_nc_is_an_input_error(nc):
    with pytest.raises(InputError):
        clip_labels([1.0], [2.0], nc)


def test_bad_policy_is_an_input_error():
    with pytest.raises(InputError, match="policy"):
        clip_labels([1.0], [2.0], 4, "nope")


def test_labels_frame_columns(tiny_log):
    out = labels_frame(tiny_log, 4, "paper")
    assert list(out.columns) == ["user_id", "video_id", "clip", "label"]
    # u1: v1 full (4), v2 loop (4), v3 at 0 s (1), v4 at r=0.25 (1); u2: v1 r=0.75 (1), v2 r=0.25 (1)
    assert len(out) == 12
    assert out[out.video_id.eq("v4") & out.user_id.eq("u1")][["clip", "label"]].values.tolist() == [[1, 0]]


views = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=1e4, allow_nan=False),
        st.floats(min_value=1e-3, max_value=1e4, allow_nan=False),
    ),
    min_size=0,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(views=views, nc=st.integers(1, 64), policy=st.sampled_from(["watched-positive", "paper"]))
def test_label_invariants(views, nc, policy):
    play = np.array([v[0] for v in views], dtype=float)
    dur = np.array([v[1] for v in views], dtype=float)
    lab = clip_labels(play, dur, nc, policy)
    assert ((lab.clip >= 0) & (lab.clip < nc)).all()
    for i in range(len(views)):
        mine = lab.clip[lab.row == i]
        labels = lab.label[lab.row == i]
        if play[i] >= dur[i]:  # a full view gives N_c positives
            assert sorted(mine.tolist()) == list(range(nc)) and labels.all()
        else:  # a skip gives exactly one negative
            assert (labels == 0).sum() == 1
            k = int(mine[labels == 0][0])
            assert k == min(int(np.floor(play[i] * nc / dur[i] + 1e-9)), nc - 1)
            if policy == "paper":  # and nothing else
                assert len(mine) == 1
            else:  # the clips before it are positive
                assert mine.tolist() == list(range(k + 1))
    assert (np.diff(lab.row) >= 0).all()

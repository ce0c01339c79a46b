"""Score attribution on a trained tiny run: the parts add up to the score difference against
the user's average candidate, the full-mix score is the run's own score, and a switched-off
input has no share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from frame_core.model.attribution import PARTS, Attributor
from frame_core.runs import load_run
from frame_core.services import recommend as REC
from frame_core.training.pipeline import train_run

from .engine_world import fast_config, synth_log


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("attr")
    log = synth_log(d / "world", users=20, videos=25, per_user=10)
    runs = {}
    for name, kw in (("full", {}), ("nometa", {"metadata": False, "video_score": "mean"})):
        train_run(log, d / name, fast_config(nc=4, id_embeddings=True, **kw))
        runs[name] = load_run(d / name)
    return log, runs


@pytest.mark.parametrize("name", ["full", "nometa"])
def test_parts_add_up_to_the_difference_from_the_average_candidate(trained, name):
    log, runs = trained
    run = runs[name]
    att = Attributor(run.model).prepare()
    user = str(log["user_id"].iloc[0])
    top = run.recommend(user, 3)
    cand = run.candidates(user)
    pool = pd.DataFrame({"user_id": user, "video_id": [str(v) for v in np.asarray(run.maps.videos)[cand]],
                         "duration_time": run.durations[cand]})
    mean_score = run.predict(pool)["p_full"].mean()
    for _, row in top.iterrows():
        out = REC.explain_score(run, att, user, row["video_id"])
        assert out["score"] == pytest.approx(row["p_full"], abs=1e-5)  # the mix of all parts is the real score
        assert out["baseline"] == pytest.approx(mean_score, abs=1e-5)
        assert sum(out["parts"].values()) == pytest.approx(out["difference"], abs=1e-9)
        assert set(out["parts"]) == set(PARTS)
    if name == "nometa":
        assert out["parts"]["metadata"] == 0.0
    # against itself there is nothing to explain
    v = int(np.flatnonzero(np.asarray(run.maps.videos).astype(str) == str(top["video_id"].iloc[0]))[0])
    same = att.explain(0, v, np.array([v]))
    assert same["difference"] == pytest.approx(0.0, abs=1e-12) and all(abs(x) < 1e-12 for x in same["parts"].values())


def test_heldout_check_ranks_the_users_validation_and_test_videos(trained):
    log, runs = trained
    run = runs["full"]
    parts = REC.split_log(log)
    user = str(REC.user_activity(parts).index[0])
    chk = REC.heldout_check(run, parts, user)
    held = REC.heldout_views(parts, user, run.nc)
    assert len(chk) == len(held) > 0
    n = int(chk["candidates"].iloc[0])
    assert n == len(run.candidates(user))
    assert chk["predicted rank"].between(1, n).all()
    assert chk["predicted rank"].is_monotonic_increasing  # sorted by score, best first
    top1 = run.recommend(user, 1)
    best = chk.iloc[0]
    assert (best["predicted rank"] == 1) == (best["p_full"] >= top1["p_full"].iloc[0] - 1e-12)

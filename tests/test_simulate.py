"""Simulated A/B test and replay estimator (docs/design.md §10): the player is the generator's
own viewing process, common random numbers, determinism, bootstrap, replay, error paths."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frame_core.cli.main import main
from frame_core.simulate import bootstrap as B
from frame_core.simulate import load_sim_world, run_replay, run_simulation
from frame_core.simulate.arms import Arm
from frame_core.simulate.crn import crn_view_noise
from frame_core.simulate.experiment import serve_round
from frame_core.simulate.player import leave_clip, play_views
from frame_core.synth import generate_world
from frame_core.synth.viewing import _simulate, draw_view_noise, full_view_probability, view_outcomes
from frame_core.synth.world import _expose, build_world
from frame_core.training.pipeline import train_run

from .conftest import ROOT
from .engine_world import fast_config

SAMPLE = ROOT / "sample_data" / "synthetic"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 24-user world and two quick runs on its log (N_c = 4 and the coarse N_c = 1)."""
    d = tmp_path_factory.mktemp("sim")
    generate_world(d / "world", users=24, videos=30, per_user=10, seed=3, video=False)
    world = load_sim_world(d / "world")
    train_run(world.log, d / "fine", fast_config(nc=4), source="tiny")
    train_run(world.log, d / "coarse", fast_config(nc=1), source="tiny")
    return d


def _md5(p):
    return hashlib.md5(p.read_bytes()).hexdigest()


def test_generator_refactor_keeps_the_bundled_sample_byte_identical(tmp_path):
    generate_world(tmp_path, users=400, videos=240, per_user=50, seed=7, video=False)
    for name in ("interactions.csv", "world.json"):
        assert _md5(tmp_path / name) == _md5(SAMPLE / name), name


def test_player_reproduces_the_generators_own_log(tiny):
    world = load_sim_world(tiny / "world")
    vid, usr, (r_exp, r_view, _t) = build_world(24, 30, 10.0, 3)
    u, v = _expose(r_exp, usr["counts"], vid["popularity"])
    played = play_views(world, u, v, noise=draw_view_noise(r_view, u.size))
    got = pd.Series(played["playing_time"].to_numpy(), index=pd.MultiIndex.from_arrays(
        [world.user_ids[u], world.video_ids[v]]))
    logged = world.log.set_index(["user_id", "video_id"])["playing_time"]
    assert len(logged) == len(got) == u.size
    np.testing.assert_array_equal(got.loc[logged.index].to_numpy(), logged.to_numpy())
    # ... and the generator's chunked path is the same function
    vid2, usr2, (r_exp2, r_view2, _) = build_world(24, 30, 10.0, 3)
    u2, v2 = _expose(r_exp2, usr2["counts"], vid2["popularity"])
    np.testing.assert_array_equal(_simulate(r_view2, vid2, usr2, u2, v2)["play"], played["playing_time"].to_numpy())


def test_full_view_probability_matches_the_viewing_process():
    vid, usr, _ = build_world(6, 5, 5.0, 11)
    n = 20_000
    rng = np.random.default_rng(0)
    for uu, vv in [(0, 0), (3, 2), (5, 4)]:
        u = np.full(n, uu)
        v = np.full(n, vv)
        rate = view_outcomes(vid, usr, u, v, draw_view_noise(rng, n))["full"].mean()
        p = full_view_probability(vid, usr, u[:1], v[:1])[0]
        assert abs(rate - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-3


def test_crn_depends_only_on_seed_user_video():
    a = crn_view_noise(5, np.array([1, 2, 3]), np.array([7, 8, 9]))
    b = crn_view_noise(5, np.array([9, 2, 0, 1]), np.array([9, 8, 1, 7]))
    for key in a:
        np.testing.assert_array_equal(a[key][1], b[key][1])
        np.testing.assert_array_equal(a[key][0], b[key][3])
    c = crn_view_noise(6, np.array([1]), np.array([7]))
    assert not np.array_equal(a["leave_u"][0], c["leave_u"][0])
    assert 0 < a["leave_u"].min() and a["leave_u"].max() < 1


def test_two_arms_serving_the_same_list_get_identical_outcomes(tiny):
    world = load_sim_world(tiny / "world")
    full = world.log["playing_time"].to_numpy() >= world.log["duration_time"].to_numpy()
    outs = []
    for name in ("pop_a", "pop_b"):
        arm = Arm(name=name, kind="popularity")
        arm.observe(world.log_v, full, world.n_videos)
        outs.append(serve_round(world, arm, world.seen, 3, 1, seed=4, timeline_nc=8))
    cols = ["user_id", "video_id", "playing_time", "full_view", "leave_clip", "like"]
    pd.testing.assert_frame_equal(outs[0][cols], outs[1][cols])
    other = serve_round(world, Arm(name="oracle", kind="oracle"), world.seen, 3, 1, seed=4, timeline_nc=8)
    both = outs[0].merge(other, on=["user_id", "video_id"], suffixes=("_p", "_o"))
    assert len(both) > 0  # where popularity and the oracle agree on a video, its outcome is the same
    np.testing.assert_array_equal(both["playing_time_p"], both["playing_time_o"])


def test_same_run_under_two_names_gets_identical_outcomes_end_to_end(tiny, tmp_path):
    shutil.copytree(tiny / "fine", tmp_path / "fine_copy")
    run_simulation(tiny / "world", [tiny / "fine", tmp_path / "fine_copy"], out_dir=tmp_path / "out", k=3, seed=2,
                   n_boot=200)
    views = pd.read_csv(tmp_path / "out" / "views.csv")
    a = views[views.arm == "fine"].drop(columns="arm").reset_index(drop=True)
    b = views[views.arm == "fine_copy"].drop(columns="arm").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    diff = pd.read_csv(tmp_path / "out" / "differences.csv")
    row = diff[(diff.arm_a == "fine") & (diff.arm_b == "fine_copy") & (diff.metric == "full_view_rate")].iloc[0]
    assert row.difference == row.lo == row.hi == 0.0


def test_simulation_is_deterministic_and_complete(tiny, tmp_path):
    runs = f"{tiny / 'fine'},{tiny / 'coarse'}"
    kw = dict(k=2, rounds=2, seed=9, refit_budget_s=600, n_boot=200)
    run_simulation(tiny / "world", runs, out_dir=tmp_path / "a", **kw)
    run_simulation(tiny / "world", runs, out_dir=tmp_path / "b", **kw)
    for name in ("results.csv", "views.csv", "user_outcomes.csv", "arms.csv", "differences.csv", "summary.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    res = pd.read_csv(tmp_path / "a" / "results.csv")
    assert list(res.columns) == ["arm", "round", "users", "served", "full_view_rate", "mean_watch_ratio",
                                 "watch_seconds", "skip_first_clip_rate"]
    assert list(res.arm.unique()) == ["fine", "coarse", "random", "popularity", "oracle"]
    assert (res.served == 24 * 2).all() and (res.users == 24).all()
    views = pd.read_csv(tmp_path / "a" / "views.csv", dtype={"user_id": str, "video_id": str})
    # nothing the user viewed in the log, and nothing served twice to a user by one arm
    world = load_sim_world(tiny / "world")
    logged = set(zip(world.log.user_id, world.log.video_id, strict=True))
    assert not any((u, v) in logged for u, v in zip(views.user_id, views.video_id, strict=True))
    assert not views.duplicated(["arm", "user_id", "video_id"]).any()
    refits = pd.read_csv(tmp_path / "a" / "refits.csv")
    assert set(refits.arm) == {"fine", "coarse"} and (refits["round"] == 2).all()
    # the oracle's full-view rate is the best in expectation; on 48 views per round it is at least random's
    arms = pd.read_csv(tmp_path / "a" / "arms.csv").set_index("arm")
    assert arms.loc["oracle", "full_view_rate"] >= arms.loc["random", "full_view_rate"]
    assert arms.loc["oracle", "gap_closed"] == pytest.approx(1.0) and arms.loc["random", "gap_closed"] == 0.0
    run_simulation(tiny / "world", runs, out_dir=tmp_path / "c", **{**kw, "seed": 10, "rounds": 1})
    other = pd.read_csv(tmp_path / "c" / "views.csv")
    first = views[views["round"] == 1].reset_index(drop=True)
    assert not np.array_equal(other["playing_time"].to_numpy(), first["playing_time"].to_numpy())


def test_leave_clip_follows_the_labelling_rule():
    play = np.array([0.0, 2.5, 2.4999, 9.99, 10.0, 12.0])
    dur = np.full(6, 10.0)
    full = play >= dur
    np.testing.assert_array_equal(leave_clip(play, dur, full, 4), [0, 1, 0, 3, -1, -1])


# ------------------------------------------------------------------------------------ bootstrap
def test_bootstrap_on_hand_made_numbers():
    num = {"a": np.array([1.0, 0.0, 1.0, 1.0]), "b": np.array([0.0, 0.0, 1.0, 0.0])}
    den = {"a": np.ones(4), "b": np.ones(4)}
    d = B.ratio_draws(num, den, 500, seed=1)
    assert d["a"].shape == (500,) and set(np.round(d["a"] * 4)) <= {0, 1, 2, 3, 4}
    # paired: b is a with two users' full views removed, so a − b ∈ [0, 1] in every resample
    diff = d["a"] - d["b"]
    assert diff.min() >= 0 and diff.max() <= 1
    np.testing.assert_array_equal(B.ratio_draws(num, den, 500, seed=1)["a"], d["a"])  # reproducible
    same = B.ratio_draws({"x": num["a"], "y": num["a"].copy()}, {"x": den["a"], "y": den["a"]}, 300, seed=2)
    assert B.interval(same["x"] - same["y"]) == (0.0, 0.0)
    assert B.interval(np.arange(101.0)) == pytest.approx((2.5, 97.5))
    assert np.isnan(B.interval(np.array([np.nan]))[0])
    m = B.mean_draws({"w": np.array([2.0, 4.0])}, 1000, seed=3)["w"]
    assert set(np.unique(m)) <= {2.0, 3.0, 4.0} and 2.9 < m.mean() < 3.1
    zero = B.ratio_draws({"z": np.zeros(3)}, {"z": np.zeros(3)}, 100, seed=0)["z"]
    assert np.isnan(zero).all()


# ------------------------------------------------------------------------------------ replay
def _replay_log():
    rows = []
    spec = {"u1": [("v0", 1), ("v1", 1), ("v2", 0), ("v3", 1), ("v4", 1)],
            "u2": [("v0", 1), ("v1", 0), ("v2", 1), ("v4", 0), ("v3", 0)],
            "u3": [("v0", 1), ("v2", 0), ("v3", 0), ("v5", 0), ("v1", 1)]}
    for u, views in spec.items():
        for t, (v, full) in enumerate(views):
            rows.append((u, v, 10.0 if full else 3.0, 10.0, float(t)))
    return pd.DataFrame(rows, columns=["user_id", "video_id", "playing_time", "duration_time",
                                       "interaction_timestamp"])


def test_replay_on_a_hand_made_log(tmp_path):
    # 5 views per user: the last one is the test period. Popularity (full views before the test
    # period, ties by views): v0 3.75, v2 1.75, v1 = v3 1.5, v4 = v5 0.25. Top-2 of the unseen:
    # u1 {v4, v5} → v4 matches (full); u2 {v3, v5} → v3 matches (skip); u3 {v1, v4} → v1 (full).
    run_replay(_replay_log(), [], out_dir=tmp_path, k=2, seed=0, n_boot=200)
    res = pd.read_csv(tmp_path / "results.csv").set_index("arm")
    assert res.loc["popularity", "served"] == 6
    assert res.loc["popularity", "matched"] == 3 and res.loc["popularity", "matched_users"] == 3
    assert res.loc["popularity", "full_view_rate"] == pytest.approx(2 / 3)
    views = pd.read_csv(tmp_path / "views.csv")
    pop = views[views.arm == "popularity"]
    assert sorted(zip(pop.user_id, pop.video_id, strict=True)) == [("u1", "v4"), ("u1", "v5"), ("u2", "v3"),
                                                                    ("u2", "v5"), ("u3", "v1"), ("u3", "v4")]
    rnd = res.loc["random"]
    assert 0 <= rnd.matched <= rnd.served == 6
    summary = (tmp_path / "summary.md").read_text()
    assert "matches" in summary and "Few matches" in summary
    diffs = pd.read_csv(tmp_path / "differences.csv")
    assert not diffs["enough_matches"].any() and not diffs["excludes_zero"].any()  # 3 matches: nothing is "real"


# ------------------------------------------------------------------------------------ errors
def _cli(capsys, *args):
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def _assert_error(code, err, *words):
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    for w in words:
        assert w in err[0], err


def test_cli_error_paths(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    runs = f"{tiny / 'fine'},{tiny / 'coarse'}"
    (tmp_path / "empty").mkdir()
    _assert_error(*_cli(capsys, "simulate", tmp_path / "empty", "--runs", runs, "--out", out), "no world.json")
    _assert_error(*_cli(capsys, "simulate", tiny / "world" / "interactions.csv", "--runs", runs, "--out", out),
                  "--replay")
    _assert_error(*_cli(capsys, "simulate", tmp_path / "missing", "--runs", runs, "--out", out), "does not exist")
    _assert_error(*_cli(capsys, "simulate", tiny / "world", "--runs", runs, "--k", "0", "--out", out), "--k")
    _assert_error(*_cli(capsys, "simulate", tiny / "world", "--runs", runs, "--rounds", "0", "--out", out), "--rounds")
    _assert_error(*_cli(capsys, "simulate", tiny / "world", "--runs", ",", "--out", out), "no runs")
    _assert_error(*_cli(capsys, "simulate", tiny / "world", "--runs", tmp_path / "nope", "--out", out))
    _assert_error(*_cli(capsys, "simulate", tiny / "world", "--runs", f"{tiny / 'fine'},{tiny / 'fine'}", "--out", out),
                  "both named")
    _assert_error(*_cli(capsys, "simulate", tiny / "world", "--runs", runs, "--replay", "--rounds", "2", "--out", out))
    _assert_error(*_cli(capsys, "simulate", tiny / "world", "--runs", "x", "--k", "two", "--out", out))
    # a run of another dataset: the tiny runs against the bundled sample world
    _assert_error(*_cli(capsys, "simulate", SAMPLE, "--runs", tiny / "fine", "--out", out), "another dataset",
                  "fine")
    assert not out.exists()


def test_edited_world_is_refused(tiny, tmp_path, capsys):
    shutil.copytree(tiny / "world", tmp_path / "w")
    p = tmp_path / "w" / "world.json"
    import re

    p.write_text(re.sub(r'"patience":-?[0-9.]+', '"patience":1.499', p.read_text(), count=1))
    _assert_error(*_cli(capsys, "simulate", tmp_path / "w", "--runs", tiny / "fine", "--out", tmp_path / "o"),
                  "does not match")
    p.write_text("{not json")
    _assert_error(*_cli(capsys, "simulate", tmp_path / "w", "--runs", tiny / "fine", "--out", tmp_path / "o"),
                  "world")


def test_cli_simulate_and_replay_write_their_files(tiny, tmp_path, capsys):
    code, err = _cli(capsys, "simulate", tiny / "world", "--runs", f"{tiny / 'fine'},{tiny / 'coarse'}", "--k", "2",
                     "--bootstrap", "200", "--out", tmp_path / "s")
    assert code == 0, err
    assert "Simulated A/B test" in (tmp_path / "s" / "summary.md").read_text()
    code, err = _cli(capsys, "simulate", tiny / "world" / "interactions.csv", "--replay", "--runs",
                     f"{tiny / 'fine'},{tiny / 'coarse'}", "--k", "3", "--bootstrap", "200", "--out", tmp_path / "r")
    assert code == 0, err
    res = pd.read_csv(tmp_path / "r" / "results.csv")
    assert list(res.arm) == ["fine", "coarse", "random", "popularity"] and "matched" in res.columns


@given(pairs=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), min_size=1, max_size=40),
       seed=st.integers(0, 2**32 - 1), data=st.data())
@settings(max_examples=40, deadline=None)
def test_crn_noise_of_a_pair_does_not_depend_on_the_batch(pairs, seed, data):
    u = np.array([p[0] for p in pairs])
    v = np.array([p[1] for p in pairs])
    perm = np.array(data.draw(st.permutations(range(len(pairs)))))
    a = crn_view_noise(seed, u, v)
    b = crn_view_noise(seed, u[perm], v[perm])
    for key in a:
        np.testing.assert_array_equal(a[key][perm], b[key])
    assert (a["where"] > 0).all() and (a["where"] < 1).all() and (a["loop_extra"] > 0).all()

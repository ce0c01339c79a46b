"""The out-of-core page queries (DuckDB over the stored Parquet) give the pandas analytics'
numbers, and the ego views built from filtered queries equal those of the full graphs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frame_core.common import schema as S
from frame_core.data.graphs import graphs_for_log
from frame_core.data.split import TRAIN, chronological_split
from frame_core.services import analytics as A
from frame_core.services import ego_queries as EQ
from frame_core.services import graph_views as GV
from frame_core.services.workspace import Workspace


def _hand_log() -> pd.DataFrame:
    """12 views by hand: ties in views (v2/v3), a boundary leave (r = 0.25), a loop, a user
    whose views are out of time order, and one video seen once."""
    rows = [
        ("u1", "v1", 10.0, 10.0, 1), ("u1", "v2", 2.5, 10.0, 2), ("u1", "v3", 13.0, 10.0, 3),
        ("u2", "v1", 0.5, 10.0, 9), ("u2", "v2", 7.0, 10.0, 4), ("u2", "v3", 9.99, 10.0, 5),
        ("u3", "v1", 3.0, 12.0, 6), ("u3", "v4", 20.0, 20.0, 7), ("u3", "v1", 11.0, 12.0, 8),
        ("u4", "v2", 0.0, 10.0, 10), ("u4", "v3", 5.0, 10.0, 11), ("u4", "v1", 12.0, 12.0, 12),
    ]
    return pd.DataFrame(rows, columns=[S.USER, S.VIDEO, S.PLAY, S.DURATION, S.TIMESTAMP]).astype(
        {S.TIMESTAMP: "float64"})


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """(workspace, dataset id, clean log) of the hand-made log and of a random one."""
    ws = Workspace(tmp_path_factory.mktemp("ws")).ensure()
    rng = np.random.default_rng(3)
    n = 3000
    rand = pd.DataFrame({
        S.USER: [f"u{i}" for i in rng.integers(0, 60, n)],
        S.VIDEO: [f"v{i}" for i in rng.zipf(1.5, n) % 80],
        S.PLAY: np.round(rng.uniform(0, 40, n), 1),
        S.DURATION: np.round(rng.uniform(5, 30, n), 1),
        S.TIMESTAMP: rng.integers(0, 500, n).astype("float64"),
    })
    out = {}
    for tag, log in (("hand", _hand_log()), ("random", rand)):
        info, _ = ws.import_file(log.to_csv(index=False).encode(), name=f"{tag}.csv")
        out[tag] = (ws, info.id, ws.load_log(info.id))
    return out


@pytest.mark.parametrize("tag", ["hand", "random"])
def test_kpis_and_rankings_equal_the_pandas_ones(stored, tag):
    ws, ds, log = stored[tag]
    q = ws.queries(ds)
    k, ref = q.kpis(), A.kpis(log)
    assert {x: k[x] for x in ("users", "videos", "views")} == {x: ref[x] for x in ("users", "videos", "views")}
    assert k["full_view_share"] == pytest.approx(ref["full_view_share"], abs=1e-12)
    assert k["median_watch_ratio"] == pytest.approx(ref["median_watch_ratio"], abs=1e-12)
    for col in (S.USER, S.VIDEO):
        ids, total = q.ranked_ids(col)
        assert ids == [str(x) for x in A.most_frequent(log[col])] and total == log[col].nunique()


@pytest.mark.parametrize("tag", ["hand", "random"])
@pytest.mark.parametrize("nc", [1, 4, 8])
@pytest.mark.parametrize("sort_by", list(A.SORT_KEYS))
def test_heatmap_and_video_table_equal_the_pandas_ones(stored, tag, nc, sort_by):
    ws, ds, log = stored[tag]
    q = ws.queries(ds)
    matrix, top = q.skip_heatmap(nc, 5, sort_by)
    ref_m, ref_top = A.skip_heatmap(log, nc, 5, sort_by)
    assert list(top.index) == list(ref_top.index)
    pd.testing.assert_frame_equal(top, ref_top, check_dtype=False, check_names=False, atol=1e-12)
    np.testing.assert_allclose(matrix.to_numpy(), ref_m.to_numpy(), atol=1e-12)


def test_hand_log_heatmap_by_hand(stored):
    ws, ds, _ = stored["hand"]
    matrix, top = ws.queries(ds).skip_heatmap(4, 2, "views")
    # v1: 5 views; skips: u2 r=0.05 -> clip 0, u3 r=0.25 -> clip 1 (boundary), u3 r=11/12 -> clip 3
    assert list(top.index) == ["v1", "v2"] and int(top.loc["v1", "views"]) == 5
    assert matrix.loc["v1"].tolist() == pytest.approx([0.2, 0.2, 0.0, 0.2])
    assert top.loc["v1", "full_view_share"] == pytest.approx(0.4)


@pytest.mark.parametrize("tag", ["hand", "random"])
def test_one_video_and_one_user_equal_the_pandas_ones(stored, tag):
    ws, ds, log = stored[tag]
    q = ws.queries(ds)
    vid = str(A.most_frequent(log[S.VIDEO])[0])
    ref = log.loc[(log[S.VIDEO] == vid).to_numpy(), [S.PLAY, S.DURATION]].reset_index(drop=True)
    pd.testing.assert_frame_equal(q.video_rows(vid), ref, check_dtype=False)
    for user in A.most_frequent(log[S.USER])[:3]:
        got, want = q.user_views(str(user), 4), A.user_views(log, user, 4)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)


@pytest.mark.parametrize("tag", ["hand", "random"])
def test_split_summary_is_the_chronological_split(stored, tag):
    ws, ds, log = stored[tag]
    rows = ws.queries(ds).rows_of(users=log[S.USER].unique().tolist())
    np.testing.assert_array_equal(rows["part"].to_numpy(), chronological_split(log))


@pytest.mark.parametrize("tag", ["hand", "random"])
@pytest.mark.parametrize("train_only", [True, False])
@pytest.mark.parametrize("norm", ["symmetric", "row"])
@pytest.mark.parametrize("policy", ["watched-positive", "paper"])
def test_ego_views_from_queries_equal_the_full_graph_ones(stored, tag, train_only, norm, policy):
    ws, ds, log = stored[tag]
    q = ws.queries(ds)
    part = chronological_split(log) if train_only else np.full(len(log), TRAIN, dtype="int8")
    maps, _, g = graphs_for_log(log, part, 4, policy, norm=norm)
    for who in A.most_frequent(log[S.USER])[:2]:
        full = GV.ego_user(g, maps, int(maps.user_index([who])[0]), 12)
        lm, lg = EQ.local_graphs(q, mode="user", who=str(who), nc=4, policy=policy, norm=norm,
                                 train_only=train_only, cap=12)
        local = GV.ego_user(lg, lm, int(lm.user_index([who])[0]), 12)
        cols = ["user", "video", "clip", "sign"]
        pd.testing.assert_frame_equal(local.edges[cols], full.edges[cols])
        np.testing.assert_allclose(local.edges["weight"], full.edges["weight"], rtol=1e-6)
        near = maps.users[GV.neighbours(g, int(maps.user_index([who])[0]), full.cols)]
        near_local = lm.users[GV.neighbours(lg, int(lm.user_index([who])[0]), local.cols)]
        assert list(near_local) == list(near)
        rows_full = np.concatenate([[maps.user_index([who])[0]], maps.user_index(near)])
        rows_local = np.concatenate([[lm.user_index([who])[0]], lm.user_index(near)])
        b_full, b_local = GV.signed_block(g, rows_full, full.cols), GV.signed_block(lg, rows_local, local.cols)
        for key in ("signed", "RP_norm", "RN_norm"):
            np.testing.assert_allclose(b_local[key], b_full[key], rtol=1e-6)
    for who in A.most_frequent(log[S.VIDEO])[:2]:
        full = GV.ego_video(g, maps, int(maps.video_index([who])[0]), 6)
        lm, lg = EQ.local_graphs(q, mode="video", who=str(who), nc=4, policy=policy, norm=norm,
                                 train_only=train_only, cap=6)
        local = GV.ego_video(lg, lm, int(lm.video_index([who])[0]), 6)
        assert local.total_users == full.total_users
        cols = ["user", "video", "clip", "sign"]
        pd.testing.assert_frame_equal(local.edges[cols], full.edges[cols])
        np.testing.assert_allclose(local.edges["weight"], full.edges["weight"], rtol=1e-6)


def test_bundled_sample_is_queried_from_a_cached_parquet(tmp_path):
    ws = Workspace(tmp_path).ensure()
    q = ws.queries("sample-synthetic")
    assert q.path.is_file() and str(q.path).startswith(str(ws.cache_dir))
    assert q.kpis()["views"] == len(ws.load_log("sample-synthetic"))


def test_an_ego_view_too_large_is_refused_with_a_message(stored, monkeypatch):
    from frame_core.common.errors import InputError

    ws, ds, _ = stored["hand"]
    monkeypatch.setattr(EQ, "MAX_ROWS", 4)  # v1 has 5 views
    with pytest.raises(InputError, match="needs 5 views"):
        EQ.local_graphs(ws.queries(ds), mode="video", who="v1", nc=4, policy="paper", norm="row",
                        train_only=False, cap=10)
    maps, g = EQ.local_graphs(ws.queries(ds), mode="video", who="v4", nc=4, policy="paper", norm="row",
                              train_only=False, cap=10)
    assert "v4" in list(maps.videos) and g.RP.nnz + g.RN.nnz > 0  # 1 view, its user's 3: under the cap


@pytest.mark.parametrize("tag", ["hand", "random"])
def test_rows_of_ids_are_the_logs_rows_with_their_split_part(stored, tag):
    ws, ds, log = stored[tag]
    q = ws.queries(ds)
    part = chronological_split(log)
    users = [str(u) for u in A.most_frequent(log[S.USER])[1:4]] + ["no-such-user"]
    videos = [str(v) for v in A.most_frequent(log[S.VIDEO])[:2]]
    for kw, mask in (({"users": users}, log[S.USER].isin(users)),
                     ({"videos": videos}, log[S.VIDEO].isin(videos)),
                     ({"users": users, "videos": videos}, log[S.USER].isin(users) | log[S.VIDEO].isin(videos)),
                     ({"users": ["no-such-user"]}, log[S.USER].isin([]))):
        got = q.rows_of(**kw)
        want_rows = np.flatnonzero(mask.to_numpy())
        np.testing.assert_array_equal(got["row"].to_numpy(), want_rows)
        np.testing.assert_array_equal(got["part"].to_numpy(), part[want_rows])
        want = log.iloc[want_rows][[S.USER, S.VIDEO, S.PLAY, S.DURATION, S.TIMESTAMP]].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[want.columns].astype({S.USER: str, S.VIDEO: str}),
                                      want.astype({S.USER: str, S.VIDEO: str}), check_dtype=False)
    assert len(q.rows_of()) == len(log)


def test_sorted_copies_keep_each_id_in_few_row_groups(tmp_path, monkeypatch):
    """by_video / by_user are sorted by rank, so the row groups' rank ranges do not overlap
    (what lets DuckDB skip all but an id's own row groups), and rank 0 is the most viewed."""
    import pyarrow.parquet as pq

    from frame_core.services import log_queries as LQ

    monkeypatch.setattr(LQ.log_summaries, "ROW_GROUP", 2048)  # DuckDB's smallest row group (one vector)
    rng = np.random.default_rng(5)
    n = 12_288
    log = pd.DataFrame({S.USER: [f"u{i}" for i in rng.integers(0, 50, n)],
                        S.VIDEO: [f"v{i}" for i in rng.zipf(1.4, n) % 60],
                        S.PLAY: rng.uniform(0, 20, n).round(1), S.DURATION: rng.uniform(5, 20, n).round(1),
                        S.TIMESTAMP: np.arange(n, dtype="float64")})
    ws = Workspace(tmp_path).ensure()
    info, _ = ws.import_file(log.to_csv(index=False).encode(), name="groups.csv")
    q = ws.queries(info.id)
    q.prepare()
    for name, col in (("by_video.parquet", "vr"), ("by_user.parquet", "ur")):
        md = pq.ParquetFile(q.derived / name).metadata
        assert md.num_row_groups >= 4
        idx = md.schema.to_arrow_schema().get_field_index(col)
        ranges = [(md.row_group(i).column(idx).statistics.min, md.row_group(i).column(idx).statistics.max)
                  for i in range(md.num_row_groups)]
        assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:]))
    top = pd.read_parquet(q.derived / "videos.parquet").sort_values("rank")
    assert top["id"].iloc[0] == A.most_frequent(log[S.VIDEO])[0]


def test_summaries_of_an_older_layout_are_rebuilt(stored):
    ws, ds, log = stored["hand"]
    q = ws.queries(ds)
    q.prepare()
    (q.derived / "format.json").write_text('{"format": 1}')
    (q.derived / "by_video.parquet").write_bytes(b"not parquet")
    q2 = ws.queries(ds)
    assert not q2.prepared
    q2.prepare()
    assert q2.prepared
    vid = str(A.most_frequent(log[S.VIDEO])[0])
    ref = log.loc[(log[S.VIDEO] == vid).to_numpy(), [S.PLAY, S.DURATION]].reset_index(drop=True)
    pd.testing.assert_frame_equal(q2.video_rows(vid), ref, check_dtype=False)


@settings(max_examples=150, deadline=None)
@given(views=st.lists(st.tuples(st.integers(0, 4), st.floats(0, 30, allow_nan=False), st.floats(0.1, 20)),
                      min_size=1, max_size=40),
       nc=st.sampled_from([1, 2, 3, 4, 7, 8, 63, 64]), policy=st.sampled_from(["watched-positive", "paper"]))
def test_a_pairs_synthetic_views_have_its_views_labels(views, nc, policy):
    """pair_views: the (pair, clip, label) set of the few synthetic views equals that of the
    pair's real views, for any views, N_c (bit 63 included) and policy."""
    from frame_core.data.labels import clip_labels, is_full_view, skip_clip

    pair = np.array([v[0] for v in views])
    play, dur = np.array([v[1] for v in views]), np.array([v[2] for v in views])
    lab = clip_labels(play, dur, nc, policy)
    real = set(zip(pair[lab.row].tolist(), lab.clip.tolist(), lab.label.tolist()))
    full, k = is_full_view(play, dur), skip_clip(play, dur, nc).astype("uint64")
    ids = np.unique(pair)
    neg = [np.bitwise_or.reduce(np.where(~full[pair == p], np.uint64(1) << k[pair == p], np.uint64(0)))
           for p in ids]
    pairs = pd.DataFrame({"ur": ids, "vr": np.zeros(len(ids), dtype="int64"), "neg": np.array(neg, dtype="uint64"),
                          "full": [bool(full[pair == p].any()) for p in ids]})
    i, syn_play = EQ.pair_views(pairs, nc, train_only=False)
    lab2 = clip_labels(syn_play, np.ones(len(syn_play)), nc, policy)
    got = set(zip(ids[i][lab2.row].tolist(), lab2.clip.tolist(), lab2.label.tolist()))
    assert got == real
    assert len(i) <= len(views) + len(ids)


def test_two_objects_preparing_one_folder_build_it_once(stored, monkeypatch):
    """prepare() holds a file lock and re-checks: a second object (or process) waiting on it
    finds the summaries built and neither rebuilds nor deletes them."""
    import threading

    from frame_core.services import log_queries as LQ

    ws, ds, _ = stored["random"]
    first = ws.queries(ds)
    first.prepare()
    for f in LQ.SUMMARIES:
        (first.derived / f).unlink()
    (first.derived / "by_user.parquet.tmp-1-dead").write_bytes(b"a killed build's leftover")
    builds = []
    real = LQ.LogQueries._build

    def counted(self):
        builds.append(1)
        real(self)

    monkeypatch.setattr(LQ.LogQueries, "_build", counted)
    objs = [ws.queries(ds) for _ in range(3)]
    threads = [threading.Thread(target=o.prepare) for o in objs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and all(o.prepared for o in objs)
    assert not list(first.derived.glob("*.tmp-*"))


def test_a_duckdb_failure_while_building_is_one_clear_message(stored, monkeypatch):
    import duckdb

    from frame_core.common.errors import InputError
    from frame_core.services import log_queries as LQ

    ws, ds, _ = stored["hand"]
    q = ws.queries(ds)
    q.prepare()
    (q.derived / "format.json").unlink()

    def fail(self):
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block\nmore detail")

    monkeypatch.setattr(LQ.LogQueries, "_build", fail)
    with pytest.raises(InputError, match=r"could not be built \(OutOfMemoryException: Out of Memory Error: could not "
                                         r"allocate block\); free memory or disk space"):
        ws.queries(ds).prepare()


def test_ranks_and_ego_views_work_on_an_object_not_yet_prepared(stored):
    ws, ds, log = stored["hand"]
    q = ws.queries(ds)
    for f in q.derived.glob("*"):
        f.unlink()
    fresh = ws.queries(ds)
    assert list(fresh.ranks(S.VIDEO, ["v1", "nope"])) == [0]  # v1 has the most views
    maps, g = EQ.local_graphs(ws.queries(ds), mode="video", who="v1", nc=4, policy="paper", norm="row",
                              train_only=False, cap=10)
    assert "v1" in list(maps.videos)


def test_an_ego_view_with_too_many_labels_is_refused_before_they_are_made(stored, monkeypatch):
    from frame_core.common.errors import InputError

    ws, ds, _ = stored["hand"]
    monkeypatch.setattr(EQ, "MAX_LABELS", 10)
    with pytest.raises(InputError, match=r"needs \d+ clip labels at N_c = 64, more than the 10 .*lower N_c"):
        EQ.local_graphs(ws.queries(ds), mode="video", who="v1", nc=64, policy="watched-positive", norm="row",
                        train_only=False, cap=10)


@pytest.mark.parametrize("tag", ["hand", "random"])
def test_data_facts_from_the_summaries_equal_the_pandas_ones(stored, tag):
    from frame_core.evaluation import verdict as V
    from frame_core.services import recommend as R

    ws, ds, log = stored[tag]
    want = V.data_facts(R.split_log(log), False)
    share, med, users = ws.queries(ds).data_facts()
    assert share == pytest.approx(want.new_video_share, abs=1e-12, nan_ok=True)
    assert np.isnan(share) == np.isnan(want.new_video_share)
    assert med == want.median_views_per_video and users == want.test_users


@settings(max_examples=150, deadline=None)
@given(views=st.lists(st.tuples(st.floats(0, 30, allow_nan=False), st.floats(0.1, 20)), min_size=0, max_size=60),
       nc=st.sampled_from([1, 2, 3, 8, 64]))
def test_skip_counts_give_the_histogram_labels_and_median_of_the_views(views, nc):
    """The *_from_counts forms (what the Learn page uses on logs of any size) against direct
    computations: np.median of the skip clips, clip_labels' own counts, and skips + full views."""
    from frame_core.data.labels import clip_labels, is_full_view, skip_clip

    p = np.array([v[0] for v in views], dtype="float64")
    d = np.array([v[1] for v in views], dtype="float64")
    skips, n_full, n = A.skip_counts(p, d, nc)
    full = is_full_view(p, d)
    k = skip_clip(p, d, nc)[~full]
    med = A.median_from_counts(skips)
    assert (np.isnan(med) and len(k) == 0) or med == float(np.median(k))
    hist = A.skip_histogram_from_counts(skips, n_full, n)
    assert hist["skips"].sum() + n_full == n
    assert (hist["reached"].to_numpy() == [int(full.sum() + (k >= b).sum()) for b in range(nc)]).all()
    counts = A.label_counts_from_counts(skips, n_full, n).set_index("policy")
    for policy in ("paper", "watched-positive"):
        lab = clip_labels(p, d, nc, policy)
        assert counts.loc[policy, "positive"] == int((lab.label == 1).sum())
        assert counts.loc[policy, "negative"] == int((lab.label == 0).sum())
        assert counts.loc[policy, "unlabelled"] == n * nc - len(lab.label)

"""Trainer: determinism, progress, cancel, edge cases (docs/design.md §5, issue edge cases)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import torch

from frame_core.common.errors import CancelledError, InputError
from frame_core.data.prepare import prepare_data
from frame_core.data.split import TEST
from frame_core.evaluation.evaluate import compute_test_metrics, predict_part
from frame_core.model.sparse import edge_values
from frame_core.training.trainer import build_model, effective_batch_size, make_scorer, train_model

from .engine_world import fast_config, random_log, synth_log


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return synth_log(tmp_path_factory.mktemp("world"), users=30, videos=40, per_user=14)


def _train(log, **kw):
    cfg = fast_config(**kw)
    data = prepare_data(log, cfg.nc, cfg.policy, cfg.norm)
    res = train_model(data, cfg)
    rows, p, pc = predict_part(make_scorer(res.model, data), data, TEST)
    return data, res, p, pc, (compute_test_metrics(data, rows, p, pc) if len(rows) else {})


def test_same_seed_same_result_other_seed_differs(world):
    _, r1, p1, _, m1 = _train(world, seed=3)
    _, r2, p2, _, m2 = _train(world, seed=3)
    np.testing.assert_array_equal(p1, p2)
    pd.testing.assert_frame_equal(r1.history.drop(columns=["epoch_seconds", "epoch_cpu_seconds", "elapsed"]),
                                  r2.history.drop(columns=["epoch_seconds", "epoch_cpu_seconds", "elapsed"]))
    assert m1["auc"] == m2["auc"]
    _, _, p3, _, _ = _train(world, seed=4)
    assert not np.array_equal(p1, p3)


def test_progress_events(world):
    events = []
    cfg = fast_config(nc=2, epochs=2, patience=5)
    data = prepare_data(world, 2)
    train_model(data, cfg, progress=events.append)
    steps = [e for e in events if e["event"] == "step"]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert len(epochs) == 2
    assert {"epoch", "step", "n_steps", "loss", "elapsed"} <= set(steps[0])
    assert {"epoch", "loss", "val_auc", "elapsed", "best_epoch"} <= set(epochs[0])
    assert steps[-1]["step"] == steps[-1]["n_steps"]


def test_cancel_token_stops_training(world):
    cancel = threading.Event()

    def progress(ev):
        if ev["event"] == "step":
            cancel.set()

    data = prepare_data(world, 2)
    seen = []
    with pytest.raises(CancelledError):
        train_model(data, fast_config(nc=2, epochs=50), progress=lambda e: (seen.append(e), progress(e)), cancel=cancel)
    assert len([e for e in seen if e["event"] == "step"]) == 1


def test_best_epoch_is_restored(world):
    data, res, _, _, _ = _train(world, nc=2, epochs=3, patience=3)
    c = res.checks  # several validation checks per epoch on a small log: the best check is kept
    assert res.selection == "val_auc"
    best = c.loc[c["val_auc"].idxmax()]
    assert res.best_epoch == int(np.ceil(best["epoch"] - 1e-9))
    assert res.history["val_auc"].max() <= best["val_auc"]  # epoch rows hold each epoch's last check
    # the restored model reproduces the best check's validation AUC
    from frame_core.evaluation.evaluate import val_metrics

    assert val_metrics(data, make_scorer(res.model, data))["val_auc"] == pytest.approx(best["val_auc"])


def test_coarse_nc1(world):
    _, res, p, pc, m = _train(world, nc=1)
    assert pc.shape[1] == 1
    np.testing.assert_allclose(p, pc[:, 0], rtol=1e-6)
    assert 0 <= m["auc"] <= 1


def test_no_full_view_at_all():
    log = random_log(full_share=0.0)
    data, res, p, _, m = _train(log, nc=3)
    assert np.isfinite(p).all()
    assert np.isnan(m["auc"]) and res.selection == "last_epoch"


def test_single_user():
    log = random_log(n_users=1, n_videos=20, per_user=20)
    _, res, p, _, m = _train(log, nc=4)
    assert len(p) == 4 and np.isfinite(p).all()


def test_empty_validation_split_keeps_last_epoch():
    log = random_log(per_user=8)  # 8 views per user: 1 test row, 0 validation rows
    data, res, _, _, _ = _train(log, nc=2, epochs=3)
    assert (data.part == 1).sum() == 0
    assert res.selection == "last_epoch" and res.best_epoch == 3 and len(res.history) == 3


def test_users_and_videos_only_in_test():
    log = random_log(seed=5)
    part = np.zeros(len(log), "int8")
    uid, vid = log["user_id"].to_numpy(), log["video_id"].to_numpy()
    part[uid == "u1"] = TEST  # a user only in test
    part[vid == "v2"] = TEST  # a video only in test
    data = prepare_data(log, 4, part=part)
    res = train_model(data, fast_config(nc=4))
    rows, p, pc = predict_part(make_scorer(res.model, data), data, TEST)
    m = compute_test_metrics(data, rows, p, pc)
    assert np.isfinite(p).all() and m["n_test_cold_user"] > 0 and m["n_test_cold_video"] > 0


def test_no_training_rows_is_an_input_error():
    log = random_log(per_user=2)
    with pytest.raises(InputError):
        prepare_data(log, 2, part=np.full(len(log), TEST, "int8"))


def test_edge_values_lookup():
    import scipy.sparse as sp

    R = sp.csr_matrix(np.array([[0, 0.5, 0], [0.25, 0, 0.75]], dtype="float32"))
    out = edge_values(R, np.array([0, 1]), np.array([[1, 2], [0, 2]]))
    np.testing.assert_array_equal(out, [[0.5, 0.0], [0.25, 0.75]])


def test_batch_edges_are_taken_out_of_the_graph(world):
    """With exclusion, a batch made of all of one user's training views gives that user the
    cold interest vector σ(0) (all their edges are removed)."""
    from frame_core.training.batches import batch_edges as _batch_edges
    from frame_core.training.trainer import build_model

    cfg = fast_config(nc=2)
    data = prepare_data(world, 2)
    m = build_model(data, cfg)
    u0 = 0
    rows = np.flatnonzero((data.user_idx == u0) & (data.part == 0))
    all_clips = data.video_idx[:, None] * 2 + np.arange(2)
    ev_p = torch.from_numpy(edge_values(data.graphs.RP_norm, data.user_idx, all_clips))[rows]
    ev_n = torch.from_numpy(edge_values(data.graphs.RN_norm, data.user_idx, all_clips))[rows]
    r = torch.from_numpy(rows)
    u = torch.from_numpy(data.user_idx)[r]
    clips = torch.from_numpy(all_clips)[r]
    uniq, inv = torch.unique(clips, return_inverse=True)
    rem = _batch_edges(u, clips, inv, torch.from_numpy(data.clip_mask)[r], torch.from_numpy(data.clip_y)[r],
                       ev_p, ev_n)
    with torch.no_grad():
        hup, hun = m.user_interest(m.h_c0_all(), rem)
    torch.testing.assert_close(hup[u0], m.cold_user(), atol=1e-5, rtol=0)
    torch.testing.assert_close(hun[u0], m.cold_user(), atol=1e-5, rtol=0)


def test_effective_batch_size():
    assert effective_batch_size(2048, 100_000) == 2048
    assert effective_batch_size(2048, 1600) == 100
    assert effective_batch_size(2048, 10) == 32


def test_id_tables_train_at_their_own_learning_rate():
    from frame_core.training.data_rules import resolve_emb_lr
    from frame_core.training.optimizer import adam

    data = prepare_data(random_log(seed=5), 2)
    cfg = fast_config(nc=2, lr=1e-3, emb_lr=2e-2, user_embedding=True)
    model = build_model(data, cfg)
    groups = adam(model, cfg, resolve_emb_lr(cfg, data)).param_groups
    assert [g["lr"] for g in groups] == [1e-3, 2e-2]
    f = model.factors
    tables = {id(model.clip_id.weight), id(model.user_e.weight), id(f.p.weight), id(f.q.weight), id(f.bu.weight),
              id(f.bc.weight)}
    assert {id(p) for p in groups[1]["params"]} == tables
    assert len(groups[0]["params"]) + 6 == len(list(model.parameters()))
    with pytest.raises(InputError, match="emb_lr"):
        fast_config(emb_lr=0)


def test_auto_emb_lr_follows_views_per_video():
    from frame_core.training.data_rules import DENSE_EMB_LR, resolve_emb_lr

    log = random_log(seed=6)
    data = prepare_data(log, 2)
    train = data.rows(0)
    per_video = len(train) / len(np.unique(data.video_idx[train]))  # hand count for this log
    cfg = fast_config(nc=2, lr=1e-3)
    assert cfg.emb_lr is None
    expected = DENSE_EMB_LR if per_video >= 10 else 1e-3
    assert resolve_emb_lr(cfg, data) == expected
    assert resolve_emb_lr(cfg.replace(emb_lr=5e-3), data) == 5e-3
    one_view_each = log.drop_duplicates("video_id")  # every video seen once: sparse → lr
    sparse = prepare_data(one_view_each, 2)
    assert resolve_emb_lr(cfg, sparse) == 1e-3
    dense = prepare_data(pd.concat([log] * 12, ignore_index=True), 2)  # ≥ 10 views per video
    assert resolve_emb_lr(cfg, dense) == DENSE_EMB_LR

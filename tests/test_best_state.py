"""The best checkpoint kept in memory or spilled to disk (frame_core/training/best_state.py)."""

from __future__ import annotations

import gc

import numpy as np
import torch

from frame_core.data.prepare import prepare_data
from frame_core.training import best_state as B
from frame_core.training.trainer import train_model

from .engine_world import fast_config, synth_log


def _module():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Embedding(50, 4), torch.nn.Linear(4, 3))
    m.register_buffer("steps", torch.tensor([3], dtype=torch.int64))
    return m


def _state(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


def _scramble(m):
    with torch.no_grad():
        for t in m.state_dict().values():
            t.add_(7) if t.is_floating_point() else t.fill_(-1)


def test_kept_state_is_restored_bit_for_bit_in_memory_and_on_disk():
    for spill in (10**9, 0):
        m = _module()
        best = B.BestState(spill_bytes=spill)
        assert not best.saved
        best.keep(m)
        assert best.saved and best.on_disk == (spill == 0)
        want = _state(m)
        _scramble(m)
        best.restore(m)
        for k, v in m.state_dict().items():
            assert v.dtype == want[k].dtype
            assert torch.equal(v, want[k]), k
        best.close()


def test_a_later_keep_replaces_the_files_and_close_removes_them():
    m = _module()
    best = B.BestState(spill_bytes=0)
    best.keep(m)
    folder = best._dir
    assert folder.is_dir() and len(list(folder.glob("*.npy"))) == len(m.state_dict())
    _scramble(m)
    second = _state(m)
    best.keep(m)
    _scramble(m)
    best.restore(m)
    assert all(torch.equal(v, second[k]) for k, v in m.state_dict().items())
    best.close()
    assert not folder.exists() and not best.saved


def test_an_abandoned_spill_folder_is_removed_when_the_object_goes():
    best = B.BestState(spill_bytes=0)
    best.keep(_module())
    folder = best._dir
    del best
    gc.collect()
    assert not folder.exists()


def test_training_with_the_best_state_on_disk_gives_the_same_model(tmp_path, monkeypatch):
    log = synth_log(tmp_path, users=20, videos=24, per_user=12)
    cfg = fast_config(nc=2, epochs=3, patience=3)
    data = prepare_data(log, cfg.nc, cfg.policy, cfg.norm)
    mem = train_model(data, cfg)
    monkeypatch.setattr(B, "SPILL_BYTES", 0)  # every best check goes to disk
    disk = train_model(data, cfg)
    assert mem.best_epoch == disk.best_epoch
    a, b = mem.model.state_dict(), disk.model.state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)

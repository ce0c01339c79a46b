"""Logit calibration on validation: never worse validation Logloss, consistent clip and video
probabilities, identity on small validation sets, saved with the run."""

from __future__ import annotations

import numpy as np
import torch

from frame_core import runs as R
from frame_core.data.prepare import prepare_data
from frame_core.evaluation import metrics as M
from frame_core.training.pipeline import train_run
from frame_core.training.trainer import calibrate_scores, make_scorer, train_model

from .engine_world import fast_config, random_log, synth_log


def _val_logloss(model, data):
    rows = data.rows(1)
    p, pc = make_scorer(model, data).prepare().score_indices(data.user_idx[rows], data.video_idx[rows])
    return M.logloss(data.y[rows], p), M.auc(data.y[rows], p), p, pc


def test_calibration_lowers_validation_logloss_and_keeps_probabilities_consistent(tmp_path):
    log = synth_log(tmp_path / "w", users=160, videos=40, per_user=12, seed=12)
    for nc in (1, 4):
        data = prepare_data(log, nc)
        res = train_model(data, fast_config(nc=nc, epochs=3, lr=0.03))  # a large step: poorly calibrated
        fitted = res.model.calib.clone()
        res.model.calib.copy_(torch.tensor([1.0, 0.0]))
        raw_ll, raw_auc, _, _ = _val_logloss(res.model, data)
        calibrate_scores(res.model, make_scorer(res.model, data), data)
        assert torch.allclose(res.model.calib, fitted)  # the trainer fitted the same
        ll, auc, p, pc = _val_logloss(res.model, data)
        assert res.model.calib[0] > 0 and ll <= raw_ll + 1e-9
        if nc == 1:
            np.testing.assert_allclose(p, pc[:, 0], rtol=1e-6)  # one clip: the same probability
            assert auc == raw_auc  # a monotone map of the only logit


def test_small_validation_sets_are_not_calibrated():
    log = random_log()  # a dozen users: far fewer than 100 validation rows
    data = prepare_data(log, 3)
    res = train_model(data, fast_config(nc=3))
    assert res.model.calib.tolist() == [1.0, 0.0]


def test_calibration_is_saved_with_the_run(tmp_path):
    log = synth_log(tmp_path / "w", users=160, videos=40, per_user=12, seed=13)
    run = train_run(log, tmp_path / "run", fast_config(nc=3, epochs=3, lr=0.03))
    again = R.load_run(tmp_path / "run")
    assert torch.equal(again.model.calib, run.model.calib)
    np.testing.assert_allclose(again.predict(log.head(40))["p_full"], run.predict(log.head(40))["p_full"])

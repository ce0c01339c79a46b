"""Time estimates from measured throughput and the training-curve note, by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from frame_core.services import estimates as ES


def fake_run(root, name, nc, rows, epochs_run, seconds, created="2026-12-01T10:00:00+00:00"):
    d = root / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"created": created, "data": {"rows": rows}, "config": {"nc": nc}}))
    (d / "metrics.json").write_text(json.dumps({"epochs_run": epochs_run, "train_seconds": seconds, "nc": nc}))
    (d / "DONE").write_text("x")


def test_estimate_from_measured_runs(tmp_path):
    assert ES.estimate_training(tmp_path, 1000, 8, 50) is None  # nothing measured: no guess
    fake_run(tmp_path, "a", 8, 1000, 10, 20.0)  # 500 view-epochs / s
    fake_run(tmp_path, "b", 8, 2000, 10, 20.0)  # 1000
    fake_run(tmp_path, "c", 1, 1000, 4, 2.0)  # 2000
    (tmp_path / "unfinished").mkdir()
    est = ES.estimate_training(tmp_path, 3000, 8, 50)
    assert est.seconds == pytest.approx(3000 * 10 / 750)  # median rate 750, median 10 epochs
    assert "2 finished run(s) with N_c > 1" in est.basis and est.text == "about 40 s"
    assert ES.estimate_training(tmp_path, 3000, 8, 5).seconds == pytest.approx(3000 * 5 / 750)  # capped by max epochs
    assert ES.estimate_training(tmp_path, 3000, 1, 50).seconds == pytest.approx(3000 * 4 / 2000)
    assert ES.estimate_training(tmp_path, 3000, 1, 50).text == "under 10 s"  # not "about under 10 s"
    both = ES.estimate_jobs(tmp_path, 3000, [(8, 50), (1, 50)])
    assert both.seconds == pytest.approx(40 + 6)


@pytest.mark.parametrize("s, text", [(3, "under 10 s"), (44, "40 s"), (61, "1 min"), (725, "12 min"), (5400, "1.5 h")])
def test_fmt_about(s, text):
    assert ES.fmt_about(s) == text


def test_curve_note_names_overfitting_and_the_epoch_kept():
    h = pd.DataFrame({"epoch": [1, 2, 3, 4, 5, 6], "loss": [0.9, 0.7, 0.6, 0.5, 0.4, 0.3],
                      "val_auc": [0.60, 0.70, 0.72, 0.71, 0.69, 0.68]})
    note = ES.curve_note(h, 3)
    assert note.startswith("Overfitting: validation AUC peaked at epoch 3 (0.7200) and fell to 0.6800 by epoch 6")
    assert "The weights of epoch 3" in note
    flat = h.assign(val_auc=[0.60, 0.70, 0.72, 0.719, 0.718, 0.718])
    assert ES.curve_note(flat, 3) == "The weights of epoch 3 (best validation AUC 0.7200) are kept."
    rising = h.assign(val_auc=[0.6, 0.61, 0.62, 0.63, 0.64, 0.65])
    assert "still rising" in ES.curve_note(rising, 6)
    assert ES.curve_note(h.assign(val_auc=float("nan"))) == ""

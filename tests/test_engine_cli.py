"""CLI contract of train / predict / ablate (docs/design.md §9): outputs, exit code 2 with `error:`."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from frame_core.cli.main import main

from .engine_world import random_log

FAST = ["--epochs", "1", "--emb-dim", "8", "--batch-size", "64"]


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory):
    p = tmp_path_factory.mktemp("cli") / "log.csv"
    random_log(n_users=10, n_videos=12, per_user=10).to_csv(p, index=False)
    return p


def test_train_then_predict(log_csv, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(log_csv), "--nc", "2", "--out", str(run), "--seed", "1", *FAST]) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert {"auc", "gauc", "logloss", "recall@3", "ndcg@3", "recall@5", "ndcg@5", "val_auc"} <= set(m)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["config"]["seed"] == 1 and cfg["config"]["epochs"] == 1
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), str(log_csv), "--out", str(out)]) == 0
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["user_id", "video_id", "p_full", "p_clip_0", "p_clip_1"]
    # a pairs-only table (no playing_time) works too
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"user_id": ["u0", "zz"], "video_id": ["v1", "new"]}).to_csv(pairs, index=False)
    assert main(["predict", str(run), str(pairs), "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 2
    assert "pairs scored" in capsys.readouterr().out


def test_train_with_shared_clip_factors_round_trips_through_the_run_folder(log_csv, tmp_path):
    run = tmp_path / "run"
    assert main(["train", str(log_csv), "--nc", "3", "--out", str(run), "--factor-share", *FAST]) == 0
    assert json.loads((run / "config.json").read_text())["config"]["factor_share"] is True
    off = tmp_path / "off"  # --no-factor-share overrides the automatic rule
    assert main(["train", str(log_csv), "--nc", "3", "--out", str(off), "--no-factor-share", *FAST]) == 0
    assert json.loads((off / "config.json").read_text())["config"]["factor_share"] is False
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), str(log_csv), "--out", str(out)]) == 0  # weights with the video table load
    pred = pd.read_csv(out)
    assert pred["p_full"].between(0, 1).all() and len(pred) == len(pd.read_csv(log_csv))
    # the run's own test predictions are what predict gives for the same rows
    test = pd.read_csv(run / "test_predictions.csv")
    again = pred.merge(test, on=["user_id", "video_id"], suffixes=("", "_run")).drop_duplicates(["user_id", "video_id"])
    assert len(again) and (again["p_full"] - again["p_full_run"]).abs().max() < 1e-5


@pytest.mark.parametrize(
    "argv_tail",
    [
        ["--nc", "0"],
        ["--nc", "2", "--policy", "bogus"],
        ["--nc", "2", "--epochs", "0"],
        ["--nc", "2", "--map", "nope=playing_time"],
        ["--nc", "2", "--features", "/nonexistent/features.parquet"],
    ],
)
def test_train_bad_input_exits_2(log_csv, tmp_path, capsys, argv_tail):
    with pytest.raises(SystemExit) as exc:
        rc = main(["train", str(log_csv), "--out", str(tmp_path / "r"), *argv_tail])
        raise SystemExit(rc)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_bad_files_exit_2(log_csv, tmp_path, capsys):
    assert main(["train", str(tmp_path / "missing.csv"), "--nc", "2", "--out", str(tmp_path / "r")]) == 2
    assert main(["predict", str(tmp_path), str(log_csv), "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)


def test_ablate(log_csv, tmp_path, capsys):
    out = tmp_path / "abl"
    assert main(["ablate", str(log_csv), "--nc", "1,2", "--seeds", "1", "--out", str(out), *FAST]) == 0
    res = pd.read_csv(out / "results.csv")
    assert len(res) == 3 and (out / "results.md").exists()
    assert main(["ablate", str(log_csv), "--nc", "1,x", "--out", str(out)]) == 2


def test_subprocess_exit_code_and_single_error_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "frame_core", "train", str(tmp_path / "nope.csv"), "--nc", "4",
                        "--out", str(tmp_path / "r")], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2
    assert p.stderr.strip().startswith("error: ") and len(p.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("value, want", [("0.3", 0.3), ("auto", "resolved")])
def test_train_cold_dropout_option(log_csv, tmp_path, value, want):
    from frame_core.data.log_import import import_log
    from frame_core.data.prepare import prepare_data
    from frame_core.model.config import FrameConfig
    from frame_core.training.data_rules import resolve_cold_dropout

    run = tmp_path / "run"
    assert main(["train", str(log_csv), "--nc", "2", "--out", str(run), "--cold-dropout", value, *FAST]) == 0
    got = json.loads((run / "config.json").read_text())["config"]["cold_dropout"]
    if want == "resolved":  # the run records the rate it trained with
        want = resolve_cold_dropout(FrameConfig(cold_dropout=None), prepare_data(import_log(log_csv)[0], 2))
    assert got == pytest.approx(want)


@pytest.mark.parametrize("value", ["1.5", "lots"])
def test_train_bad_cold_dropout_exits_2(log_csv, tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exc:  # argparse's own refusals exit; the config's return 2
        raise SystemExit(main(["train", str(log_csv), "--nc", "2", "--out", str(tmp_path / "r"), "--cold-dropout", value,
                               *FAST]))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cold" in err[0].lower()


def test_a_run_with_fixed_race_settings_records_the_data_rules_it_trained_with(tmp_path):
    """Explicit video score and edge exclusion (no race) on a dense log: factor_share auto resolves
    to on, which adds a table to the weights, so config.json must name the resolved values."""
    log = tmp_path / "dense.csv"
    random_log(n_users=150, n_videos=10, per_user=10, seed=1).to_csv(log, index=False)
    run = tmp_path / "run"
    assert main(["train", str(log), "--nc", "4", "--out", str(run), "--video-score", "product",
                 "--exclude-batch-edges", "true", "--cold-dropout", "auto", *FAST]) == 0
    info = json.loads((run / "config.json").read_text())
    assert info["config"]["factor_share"] is True and info["config"]["cold_dropout"] is not None
    assert info["requested_config"]["factor_share"] is None and info["requested_config"]["cold_dropout"] is None
    assert main(["predict", str(run), str(log), "--out", str(tmp_path / "p.csv")]) == 0

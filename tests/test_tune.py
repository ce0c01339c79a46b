"""``tune``: Optuna search on validation AUC, resume after SIGKILL, several workers on one study."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from frame_core.common.errors import InputError
from frame_core.experiments.study_storage import open_storage
from frame_core.experiments.tune import parse_budget, run_tune
from frame_core.experiments.tune_space import FLIP, PROBES, SPACE, default_params, probe_params, space_for
from frame_core.model.config import FrameConfig

from .engine_world import synth_log

ROOT = Path(__file__).resolve().parents[1]
FAST = {"emb_dim": 8, "mlp_sizes": [8], "epochs": 3, "patience": 2, "batch_size": 64}


def test_parse_budget():
    assert parse_budget("10m") == 600 and parse_budget("90s") == 90 and parse_budget("1.5h") == 5400
    assert parse_budget(45) == 45
    for bad in ("", "0", "ten minutes", "-5m"):
        with pytest.raises(InputError, match="budget"):
            parse_budget(bad)


def test_first_trial_is_the_default_configuration():
    base = FrameConfig()
    p = default_params(base, emb_lr=0.003)
    assert set(p) == set(SPACE)  # every searched switch has its default value in the first trial
    assert FrameConfig().replace(**p).to_dict() == base.replace(emb_lr=0.003).to_dict()


def test_probe_trials_change_one_measured_switch_each():
    base = FrameConfig()
    first = default_params(base, emb_lr=0.01)
    probes = probe_params(first, SPACE)
    assert len(probes) == len(PROBES)
    for probe, params in zip(PROBES, probes):
        changed = {k for k in params if params[k] != first[k]}
        assert changed == set(probe) and set(params) == set(first)
        FrameConfig().replace(**params).validated()  # each is a valid configuration
    # factor_share's probe is the opposite of what the defaults resolved to on the log
    assert probes[0]["factor_share"] is True
    on = default_params(base, emb_lr=0.01, factor_share=True)
    assert on["factor_share"] is True and probe_params(on, SPACE)[0]["factor_share"] is False
    # with visual features the id-table switches are not searched: their probes are left out
    visual = {k: v for k, v in SPACE.items() if k not in ("factor_share", "bias_init", "emb_lr")}
    assert probe_params(first, visual) == []
    # a probe equal to the defaults is no probe
    assert len(probe_params({**first, "bias_init": "data"}, SPACE)) == len(PROBES) - 1


def _study(out: Path):
    import optuna

    storage = open_storage(f"sqlite:///{out / 'study.db'}")
    return optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)


def test_two_workers_share_one_study_and_never_evaluate_a_trial_twice(tmp_path):
    log = synth_log(tmp_path / "w", users=30, videos=30, per_user=12, seed=7)
    out = run_tune(log, tmp_path / "t", nc=3, budget_s=40, config=FrameConfig(**FAST), workers=2, heartbeat_s=1)
    lines = [json.loads(x) for x in (tmp_path / "t" / "evaluations.jsonl").read_text().splitlines()]
    numbers = [x["trial"] for x in lines]
    assert len(numbers) == len(set(numbers)) >= 3  # each trial evaluated once
    assert len({x["pid"] for x in lines}) == 2  # both workers evaluated trials
    study = _study(tmp_path / "t")
    assert sorted(t.number for t in study.trials) == list(range(len(study.trials)))
    by_number = {t.number: t.params for t in study.trials}
    first = by_number[0]
    for i, probe in enumerate(PROBES[:2], start=1):  # then one trial per probe, before TPE samples
        probe = {k: (not first[k]) if v == FLIP else v for k, v in probe.items()}
        assert {k: by_number[i][k] for k in probe} == probe  # (at least 3 trials ran: 0, 1 and 2)
        assert all(by_number[i][k] == first[k] for k in first if k not in probe)
    assert (tmp_path / "t" / "run" / "DONE").exists()
    best = json.loads((tmp_path / "t" / "best_config.json").read_text())
    done = [t.value for t in study.trials if t.state.name == "COMPLETE"]
    assert best["val_auc"] == pytest.approx(max(done)) and out["best_value"] == pytest.approx(max(done))
    FrameConfig.from_dict(best["config"])
    trials = pd.read_csv(tmp_path / "t" / "trials.csv")
    assert {"number", "state", "value", "seconds", "p_lr"} <= set(trials.columns)


def _start_and_kill(cmd: list[str], env: dict, out: Path, tmp_path: Path) -> tuple[subprocess.Popen, str]:
    """Start ``tune`` with a 600 s budget, wait for a finished trial and a running one that has
    stored all its choices, then SIGKILL it. Returns the process and the end of its stderr."""
    err = open(tmp_path / "first.err", "wb")  # noqa: SIM115 - closed below, read on failure
    proc = subprocess.Popen([*cmd, "--budget", "600s"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            time.sleep(0.5)
            if (out / "study.db").exists():
                try:
                    trials = _study(out).trials
                except Exception:  # noqa: BLE001 - the database may not be ready yet
                    continue
                states = [t.state.name for t in trials]
                full = max((len(t.params) for t in trials if t.state.name == "COMPLETE"), default=0)
                # kill once the running trial has stored all its choices: a trial killed before its
                # first suggestion has no parameters to retry with, and is retried with new ones
                if full and states[-1] == "RUNNING" and len(trials[-1].params) == full:
                    break
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        err.close()
    return proc, (tmp_path / "first.err").read_text(errors="replace")[-2000:]


@pytest.mark.slow
def test_a_killed_tune_resumes_where_it_stopped(tmp_path):
    log = synth_log(tmp_path / "w", users=30, videos=30, per_user=12, seed=8)
    log.to_csv(tmp_path / "log.csv", index=False)
    (tmp_path / "cfg.json").write_text(json.dumps(FAST))
    out = tmp_path / "t"
    cmd = [sys.executable, "-m", "frame_core", "tune", str(tmp_path / "log.csv"), "--nc", "3", "--out", str(out),
           "--heartbeat", "1", "--seed", "3", "--config", str(tmp_path / "cfg.json")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    # a long budget: the process is killed long before it ends, however loaded the machine is.
    # A trial here takes about a second, so the kill can land just after one trial finished and
    # before the next began; then the study is continued and killed again (at most 4 tries)
    for _attempt in range(4):
        proc, first_err = _start_and_kill(cmd, env, out, tmp_path)
        try:
            before = {t.number: t.state.name for t in _study(out).trials}
        except IndexError:  # no study in the database (or no database): say what the first tune printed
            raise AssertionError(f"the first tune never created its study (exit {proc.returncode}):\n{first_err}") from None
        if "RUNNING" in before.values():
            break
    assert "COMPLETE" in before.values() and "RUNNING" in before.values(), (before, first_err)
    killed = max(n for n, s in before.items() if s == "RUNNING")
    time.sleep(5)  # more than 4 heartbeats: the dead trial is stale
    done = subprocess.run([*cmd, "--budget", "25s"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    after = _study(out).trials
    states = {t.number: t.state.name for t in after}
    for n, s in before.items():  # finished trials are kept as they were
        if s == "COMPLETE":
            assert states[n] == "COMPLETE"
    assert states[killed] == "FAIL"  # the killed trial was failed …
    retried = [t for t in after if t.system_attrs.get("failed_trial") == killed]
    assert retried and retried[0].params == [t for t in after if t.number == killed][0].params  # … and retried
    assert (out / "run" / "DONE").exists() and "best trial" in done.stdout


def _open(url: str) -> str:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        open_storage(url)
        return "ok"
    except Exception as e:  # noqa: BLE001 - the test reports which error a process met
        return type(e).__name__


def test_processes_opening_a_new_study_database_together_all_succeed(tmp_path):
    # opening an empty database writes its schema; without the retry, 6 processes doing it at
    # once fail with IntegrityError / "database is locked" in most rounds (measured: 17 of 60)
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(6) as pool:
        for i in range(3):
            results = pool.map(_open, [f"sqlite:///{tmp_path / f's{i}.db'}"] * 6)
            assert results == ["ok"] * 6, results


def test_a_tuned_run_on_a_dense_log_loads_with_the_settings_it_trained(tmp_path):
    """On a dense log factor_share auto resolves to on, which adds a table to the weights: the
    tuned run's config.json must name what was trained, or the folder would not load."""
    from frame_core.data.prepare import prepare_data
    from frame_core.runs.loader import load_run
    from frame_core.training.data_rules import SHARE_VIEWS_PER_VIDEO, train_views_per_video

    from .engine_world import random_log

    assert space_for(FrameConfig())["factor_share"] == ("cat", (False, True))  # auto is no choice of its own
    log = random_log(n_users=150, n_videos=10, per_user=10, seed=2)  # 7 training views per user
    assert train_views_per_video(prepare_data(log, 3)) >= SHARE_VIEWS_PER_VIDEO  # so auto means on
    out = tmp_path / "t"
    run_tune(log, out, nc=3, budget_s=30, config=FrameConfig(**{**FAST, "epochs": 1}), workers=1, heartbeat_s=1)
    info = json.loads((out / "run" / "config.json").read_text())
    assert info["config"]["cold_dropout"] is not None and info["config"]["factor_share"] in (True, False)
    run = load_run(out / "run")  # the weights fit the config
    assert len(run.predict(log.head(5))) == 5

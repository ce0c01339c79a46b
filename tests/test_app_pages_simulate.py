"""AppTest of the Simulate page: a world simulation (a tiny world standing in for the bundled
synthetic sample) and the replay estimator on a dataset without a world; queueing from the form."""

from __future__ import annotations

import pandas as pd
import pytest

from frame_core.services import samples as SAMPLES
from frame_core.services.jobs import DONE, JobQueue
from frame_core.services.jobs.runners import run_claimed
from frame_core.synth import generate_world
from tests.test_app_pages_train import figures, open_page, tiny_dataset, train_runs, ws  # noqa: F401

PAGE = "app_pages/simulate.py"


@pytest.fixture
def tiny_world(tmp_path, monkeypatch):
    """sample_data/ replaced by a folder whose synthetic sample is a 20-user world."""
    root = tmp_path / "sample"
    generate_world(root / "synthetic", users=20, videos=24, per_user=8, seed=5, video=False)
    monkeypatch.setattr(SAMPLES, "SAMPLE_DIR", root)  # the one place the workspace reads it from
    return root


def _simulate_now(wspace, ds_id: str, runs: list[str], **params) -> str:
    q = JobQueue(wspace)
    job = q.submit("simulate", {"dataset_id": ds_id, "runs": runs, "k": 2, "seed": 1, **params}, label="test")
    done = run_claimed(q, job.id)
    assert done.status == DONE, done.error
    return job.id


def test_world_simulation_shows_arms_gap_scatter_and_timeline(ws, tiny_world):  # noqa: F811
    train_runs(ws, "sample-synthetic")
    job_id = _simulate_now(ws, "sample-synthetic", ["run-nc4", "run-nc1"])
    at = open_page(PAGE, "sample-synthetic")
    figs = figures(at)
    arms = pd.read_csv(JobQueue(ws).simulations_dir / job_id / "arms.csv")
    spec = figs["Arms with 95 % bootstrap intervals over users"]
    bars = spec["data"][0]
    assert len(bars["x"]) == 5 and bars["x"][2:] == ["random", "popularity", "oracle"]
    assert bars["y"] == pytest.approx(arms["full_view_rate"].tolist())
    assert "Gap closed toward the oracle: (arm − random) / (oracle − random)" in figs
    assert any(t.startswith("Per user:") for t in figs)
    strips = [t for t in figs if " → u" in t]
    assert len(strips) == 3  # arm A, arm B and the oracle
    assert not at.exception
    # the user picker changes the timeline
    users = at.selectbox(key=f"sim_user_{job_id}").options
    at.selectbox(key=f"sim_user_{job_id}").set_value(users[-1]).run()
    assert not at.exception and any(users[-1] in t for t in figures(at))


def test_replay_on_a_dataset_without_world(ws):  # noqa: F811
    ds = tiny_dataset(ws)
    train_runs(ws, ds)
    at = open_page(PAGE, ds)
    assert any("replay estimator" in i.value for i in at.info)
    _simulate_now(ws, ds, ["run-nc4", "run-nc1"])
    at = open_page(PAGE, ds)
    figs = figures(at)
    spec = figs["Replay estimate: full-view rate of the matched views (95 % interval)"]
    assert spec["data"][0]["x"] == ["FRAME N_c=4 · id · -nc4", "coarse N_c=1 · id · -nc1", "random", "popularity"]
    assert any("matched" in m.value for m in at.markdown)
    assert not at.exception


def test_form_queues_a_simulation_with_the_default_pair(ws, tiny_world):  # noqa: F811
    train_runs(ws, "sample-synthetic")
    at = open_page(PAGE, "sample-synthetic")
    assert at.multiselect[0].value == ["run-nc4", "run-nc1"]
    at.number_input[0].set_value(3)
    at.button[0].click().run()
    assert not at.exception
    jobs = [j for j in JobQueue(ws).list(kinds=("simulate",))]
    assert len(jobs) == 1 and jobs[0].params["runs"] == ["run-nc4", "run-nc1"] and jobs[0].params["k"] == 3


def test_no_runs_says_what_to_do(ws):  # noqa: F811
    ds = tiny_dataset(ws)
    at = open_page(PAGE, ds)
    assert any("No finished run of this dataset" in w.value for w in at.warning)
    assert not at.exception


def test_learn_page_explains_auc_versus_ab_test(ws):  # noqa: F811
    at = open_page("app_pages/learn.py")
    assert any(h.value.startswith("8 · Offline AUC versus a simulated A/B test") for h in at.header)
    assert any("replay estimator" in m.value for m in at.markdown)
    assert not at.exception

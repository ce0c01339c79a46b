"""Background job queue (frame_core.services.jobs.queue): queueing, one at a time, cancel, killed workers,
concurrent launches, and the rename that commits a run. Workers are real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from frame_core.common.errors import InputError
from frame_core.services import engine as E
from frame_core.services.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, Job, JobQueue
from frame_core.services.workspace import Workspace


def random_log(users: int = 30, videos: int = 40, per_user: int = 12, seed: int = 0) -> pd.DataFrame:
    """A small log with both full views and skips for every user."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        for i, v in enumerate(rng.choice(videos, per_user, replace=False)):
            dur = float(5 + (v % 7) * 3)
            play = dur if rng.random() < 0.45 else round(float(rng.uniform(0, dur * 0.99)), 3)
            rows.append((f"u{u}", f"v{v}", play, dur, 1_700_000_000 + 60 * i + u))
    return pd.DataFrame(rows, columns=["user_id", "video_id", "playing_time", "duration_time", "interaction_timestamp"])


@pytest.fixture
def queue(workspace_env):
    q = JobQueue(Workspace().ensure())
    yield q
    # never leave a worker behind: cancel, then kill what is still alive
    for j in q.list():
        if j.active:
            q.cancel(j.id)
    deadline = time.monotonic() + 10
    while any(j.status == RUNNING for j in q.refresh()) and time.monotonic() < deadline:
        time.sleep(0.1)
    for j in q.list():
        if j.status == RUNNING:
            q.force_stop(j.id)


def wait_for(pred, timeout=30.0, poll=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(poll)
    return False


def test_submit_validates_and_writes_one_record(queue):
    with pytest.raises(InputError):
        queue.submit("nope", {})
    with pytest.raises(InputError):
        queue.submit("train", {"dataset_id": "x", "config": {"nc": 0}})
    with pytest.raises(InputError):
        queue.submit("train", {"dataset_id": "x", "config": {"no_such_field": 1}})
    assert queue.list() == []
    a = queue.submit("sleep", {"steps": 1, "step_s": 0}, label="a")
    b = queue.submit("sleep", {"steps": 1, "step_s": 0}, label="b")
    assert a.id != b.id and [j.id for j in queue.list()] == [a.id, b.id]
    rec = json.loads(queue.record_path(a.id).read_text())
    assert rec["status"] == QUEUED and rec["label"] == "a"
    # a corrupt or half-written record is ignored, never raised
    (queue.dir / "garbage.json").write_text("{not json")
    assert [j.id for j in queue.list()] == [a.id, b.id]
    assert queue.get("../etc/passwd") is None


def test_jobs_run_one_at_a_time_in_order_and_chain(queue):
    jobs = [queue.submit("sleep", {"steps": 3, "step_s": 0.05}, label=str(i)) for i in range(3)]
    first = queue.pump()
    assert first is not None
    assert queue.pump() is None  # one running: nothing else starts
    states = [j.status for j in queue.list()]
    assert states == [RUNNING, QUEUED, QUEUED]
    # the worker chains to the next job by itself; no more pumping from here
    assert wait_for(lambda: all(j.status == DONE for j in queue.refresh()), timeout=60)
    first.wait(5)
    done = queue.list()
    for prev, nxt in zip(done, done[1:], strict=False):
        assert nxt.started >= prev.finished  # never overlapping
    assert [j.id for j in done] == [j.id for j in jobs]
    events = queue.progress(done[0])
    assert [e["epoch"] for e in events] == [1, 2, 3] and all("elapsed" in e and "t" in e for e in events)
    assert (queue.dest_dir(done[0]) / "progress.jsonl").exists()  # moved with the committed output


def test_cancel_queued_and_running(queue):
    a = queue.submit("sleep", {"steps": 400, "step_s": 0.05})
    b = queue.submit("sleep", {"steps": 1, "step_s": 0})
    assert queue.cancel(b.id).status == CANCELLED  # queued: at once
    proc = queue.pump()
    assert wait_for(lambda: queue.progress(a.id))
    queue.cancel(a.id)
    proc.wait(20)
    job = queue.refresh() and queue.get(a.id)
    assert job.status == CANCELLED and job.cancel_requested
    assert not queue.dest_dir(job).exists()  # nothing committed
    assert queue.get(b.id).status == CANCELLED and queue.get(b.id).started is None
    assert queue.remove(a.id) and queue.get(a.id) is None


def test_failing_job_is_failed_with_message_and_queue_goes_on(queue):
    bad = queue.submit("sleep", {"steps": 3, "step_s": 0, "fail_at": 1})
    good = queue.submit("sleep", {"steps": 1, "step_s": 0})
    queue.pump()
    assert wait_for(lambda: queue.refresh() and queue.get(good.id).terminal, timeout=60)
    b = queue.get(bad.id)
    assert b.status == FAILED and "failing on purpose" in b.error
    assert "Traceback" in queue.log_tail(bad.id)
    assert queue.get(good.id).status == DONE


def test_killed_worker_is_failed_never_done(queue):
    """SIGKILL a real worker mid-job: the job is failed and nothing is committed."""
    a = queue.submit("sleep", {"steps": 400, "step_s": 0.05})
    proc = queue.pump()
    assert wait_for(lambda: queue.progress(a.id))
    assert queue.worker_alive(a.id)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert not queue.worker_alive(a.id)
    job = next(j for j in queue.refresh() if j.id == a.id)
    assert job.status == FAILED and "died" in job.error
    assert not queue.dest_dir(job).exists()


def test_killed_training_run_is_never_listed_finished(queue):
    ws = Workspace()
    info = ws.add_dataset(random_log(), _report(), name="tiny")
    cfg = {"nc": 4, "epochs": 100_000, "patience": 100_000, "emb_dim": 8, "batch_size": 64}
    job = queue.submit("train", {"dataset_id": info.id, "config": cfg})
    proc = queue.pump()
    # "prepare" comes after the engine created its run folder (config.json, status running)
    assert wait_for(lambda: any(e.get("event") in ("prepare", "epoch") for e in queue.progress(job.id)), timeout=60)
    assert (queue.work_dir(job.id) / "config.json").exists()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    job = next(j for j in queue.refresh() if j.id == job.id)
    assert job.status == FAILED
    assert E.list_finished_runs(ws.runs_dir).empty
    assert not (ws.runs_dir / job.id).exists()


def test_training_job_commits_a_finished_run(queue):
    ws = Workspace()
    info = ws.add_dataset(random_log(), _report(), name="tiny")
    job = queue.submit("train", {"dataset_id": info.id, "config": {"nc": 2, "epochs": 1, "emb_dim": 8}}, label="t")
    queue.pump()
    job = queue.wait(job.id, timeout=90, pump=False)
    assert job.status == DONE, (job.error, queue.log_tail(job.id))
    assert job.result["nc"] == 2 and 0 <= job.result["auc"] <= 1
    runs = E.list_finished_runs(ws.runs_dir)
    assert list(runs["run_id"]) == [job.id] and runs.loc[0, "dataset"] == info.id
    run_dir = ws.runs_dir / job.id
    for f in ("config.json", "history.csv", "metrics.json", "test_predictions.csv", "progress.jsonl", "DONE"):
        assert (run_dir / f).exists(), f
    assert any(e.get("event") == "epoch" for e in queue.progress(job))


def test_concurrent_pumps_start_one_worker(queue):
    for _ in range(3):
        queue.submit("sleep", {"steps": 20, "step_s": 0.05})
    started, barrier = [], threading.Barrier(4)

    def go():
        q = JobQueue(queue.root)  # as another session would
        barrier.wait()
        p = q.pump()
        if p is not None:
            started.append(p)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(started) == 1
    assert sum(j.status == RUNNING for j in queue.list()) == 1


def test_reconcile_after_commit_counts_as_done(queue):
    """A worker that died after renaming its output (the commit point) but before recording."""
    job = queue.submit("sleep", {"steps": 1, "step_s": 0})
    rec = queue.get(job.id)
    rec.status, rec.started, rec.pid = RUNNING, time.time(), 999_999
    queue._write(rec)
    queue.dest_dir(rec).mkdir(parents=True)
    assert next(j for j in queue.refresh() if j.id == job.id).status == DONE
    # without the output it would have been failed
    j2 = queue.submit("sleep", {"steps": 1, "step_s": 0})
    r2 = Job.from_dict({**queue.get(j2.id).to_dict(), "status": RUNNING, "started": time.time()})
    queue._write(r2)
    assert next(j for j in queue.refresh() if j.id == j2.id).status == FAILED


def _report():
    from frame_core.data.validation import import_log

    return import_log(random_log().to_csv(index=False).encode(), name="tiny.csv")[1]


def test_compare_with_videos_gives_the_engine_models_visual_features(tmp_path, monkeypatch):
    from .engine_world import random_features

    log = random_log(users=20, videos=15, per_user=12)
    videos = sorted(log["video_id"].astype(str).unique())
    calls = []

    def fake_embed(videos_dir, nc, **kw):
        calls.append((videos_dir.name, nc))
        return random_features(videos, nc=nc, dim=4)

    monkeypatch.setattr(E, "embed_features", fake_embed)
    (tmp_path / "videos").mkdir()
    out = E.compare(log, ["frame", "popularity"], 1, tmp_path / "cmp", options={"max_epochs": 2},
                    progress=lambda e: None, cancel=None, dataset={"id": "d"}, videos_dir=tmp_path / "videos")
    assert out["visual"] is True and calls == [("videos", 8)]
    assert json.loads((tmp_path / "cmp" / "comparison.json").read_text())["engine_inputs"] == "visual clip features"
    with pytest.raises(InputError, match="no video files"):
        E.compare(log, ["frame"], 1, tmp_path / "cmp2", options={}, progress=lambda e: None, cancel=None,
                  dataset={"id": "d"}, videos_dir=tmp_path / "missing")


def test_compare_job_checks_the_visual_flag(tmp_path):
    q = JobQueue(Workspace(tmp_path / "ws"))
    with pytest.raises(InputError, match="visual must be true or false"):
        q.submit("compare", {"dataset_id": "x", "models": ["popularity"], "seeds": 1, "visual": "yes"})

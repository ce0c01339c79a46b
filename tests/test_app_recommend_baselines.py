"""AppTest of the Recommend page's baselines part: ROC / precision–recall curves of a finished
comparison's models next to the run's, and a baseline's top-K for the chosen user."""

from __future__ import annotations

from frame_core.services.jobs import DONE, JobQueue
from frame_core.services.recommend import split_log
from tests.test_app_pages_train import figures, open_page, tiny_dataset, train_runs, ws  # noqa: F401


def test_recommend_draws_baseline_curves_and_scores_with_a_baseline(ws):  # noqa: F811
    ds = tiny_dataset(ws)
    train_runs(ws, ds)
    at = open_page("app_pages/recommend.py", ds)
    assert any("No finished baselines comparison" in i.value for i in at.info)

    q = JobQueue(ws)
    job = q.submit("compare", {"dataset_id": ds, "models": ["alpine", "mtin", "logreg"], "seeds": 1,
                               "options": {"max_epochs": 2}, "visual": False}, label="baselines test")
    job = q.wait(job.id, timeout=240)
    assert job is not None and job.status == DONE, (job and job.status, job and job.error)

    at = open_page("app_pages/recommend.py", ds)
    at.selectbox(key="rec_run").set_value("run-nc4").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    figs = figures(at)
    roc = next(v for k, v in figs.items() if k.startswith("ROC"))
    names = [t["name"] for t in roc["data"] if t["name"] != "random"]
    assert names[0].startswith("this run (FRAME N_c=4") and "AUC" in names[0]
    assert [n.split(" ")[0] for n in names[1:]] == ["alpine", "mtin", "logreg"]
    pr = next(v for k, v in figs.items() if k.startswith("Precision"))
    assert len([t for t in pr["data"] if not t["name"].startswith("random")]) == 4

    at.selectbox(key="rec_baseline").set_value("mtin").run()
    next(b for b in at.button if b.key == "rec_baseline_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    top = at.dataframe[-1].value
    user = at.selectbox(key="rec_user").value
    log = split_log(ws.load_log(ds))
    seen = set(log.loc[(log["user_id"] == user) & (log["part"] == 0), "video_id"])
    assert len(top) == 10 and top["p_full"].between(0, 1).all() and top["p_full"].is_monotonic_decreasing
    assert not set(top["video_id"]) & seen  # only videos the user did not view in training

"""The app in a real browser (Playwright + Debian's Chromium against ``streamlit run``).

All browser tests live in this one file so that ``pytest -n 2 --dist loadfile`` gives them to one
worker, which starts one server and one browser. They run in file order:

1. the upload test (which first queues a tiny training through the Train page, so the training
   runs in the background during this test and the next): a valid log is validated and saved,
   two bad files are refused with their messages and leave the stored datasets unchanged;
2. the walk opens every page on every bundled dataset (Train may show the live job);
3. the training test waits for that run to finish, then finds it on the Compare page and
   gets recommendations from it on the Recommend page;
4. the classroom experiment on a generated log whose test videos are almost all new (no video
   files): Compare says "no clear difference" and why;
5. Train → "Recommend with this run" opens the run the Train page showed, even when Recommend had
   another run selected.

Every page load fails on a Streamlit exception box or an unexpected error alert. Screenshots go to
``test-output/screenshots/`` (git-ignored); a failing test also leaves
``test-output/screenshots/failures/<test>.png``.

Run only these: ``.venv/bin/python -m pytest -q -m browser tests/browser``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from frame_core.services.workspace import BUNDLED, SAMPLE_DIR
from tests.browser.helpers import (
    PAGES,
    ROOT,
    SHOTS,
    VIEWPORT,
    assert_page_ok,
    choose,
    full_screenshot,
    go_to,
    open_page,
    selectbox,
    selected_text,
    stored_table,
    wait_idle,
)

pytestmark = pytest.mark.browser

BAD_INPUTS = ROOT / "tests" / "bad_inputs"
TRAIN_WAIT_S = 240
PICKER = "Dataset"
SIDEBAR = '[data-testid="stSidebar"]'
MAIN = '[data-testid="stMain"]'


def bundled() -> list[tuple[str, str]]:
    """(id, shown name) of the bundled samples whose files exist."""
    return [(b.id, b.name) for b in BUNDLED if (SAMPLE_DIR / b.path).exists()]


def pick_dataset(page, name: str) -> None:
    if name not in selected_text(page, PICKER, SIDEBAR):
        choose(page, PICKER, name, scope=SIDEBAR)
    assert name in selected_text(page, PICKER, SIDEBAR), f"the sidebar picker does not show {name!r}"


def expected_message(file_name: str) -> str:
    return json.loads((BAD_INPUTS / "expected.json").read_text())[file_name]["message"]


def _log_uploader(page):
    return page.locator('[data-testid="stFileUploader"]').filter(has_text="Interaction log").first


def upload(page, path: Path) -> None:
    _log_uploader(page).locator('input[type="file"]').set_input_files(str(path))
    wait_idle(page, started_s=5)


def error_texts(page) -> list[str]:
    return [t.strip() for t in page.locator('[data-testid="stAlertContentError"]').all_inner_texts() if t.strip()]


def _valid_log(path: Path) -> Path:
    """A small clean log (seconds): 5 users x 6 videos, full views and skips at various points."""
    rows = ["user_id,video_id,playing_time,duration_time,interaction_timestamp"]
    t = 0
    for u in range(5):
        for v in range(6):
            t += 1
            duration = 10.0 + v
            play = duration * (1.0 if (u + v) % 3 == 0 else 0.15 + 0.13 * ((u * 7 + v) % 6))
            rows.append(f"bu{u},bv{v},{play:.2f},{duration:.1f},{t}")
    path.write_text("\n".join(rows) + "\n")
    return path


# ------------------------------------------------------------------------------ training (queued first)
def _number(page, label: str, value) -> None:
    box = page.locator('[data-testid="stNumberInput"]').filter(
        has=page.locator('[data-testid="stWidgetLabel"]', has_text=label)).first
    inp = box.locator("input").first
    inp.fill(str(value))
    inp.press("Tab")


def _job_status(text: str) -> str | None:
    m = re.search(r"—\s*\S*\s*(queued|running|done|failed|cancelled)\b", text)
    return m.group(1) if m else None


@pytest.fixture(scope="module")
def training_job(browser, server):
    """Queue one tiny FRAME training on the Train page (KuaiRand sample: N_c = 2, one epoch,
    patience 1, d = 8, batch 128, id embeddings) and return once its live loss curve is drawn
    (screenshot: ``train/train-running.png``). Module-scoped and requested by the upload test too,
    so the rest of the training runs in the background meanwhile."""
    samples = dict(bundled())
    assert samples, "no bundled sample to train on"
    ds_id = "sample-kuairand" if "sample-kuairand" in samples else next(iter(samples))
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(60_000)
    page = ctx.new_page()
    try:
        open_page(page, server, "train")
        pick_dataset(page, samples[ds_id])
        _number(page, "Clips per video, N_c", 2)
        _number(page, "Max epochs", 1)
        _number(page, "Early-stopping patience", 1)
        _number(page, "Batch size (views)", 128)  # more steps: the live loss curve shows for some seconds
        slider = page.locator('[data-testid="stSlider"]').filter(has_text="Embedding size d").get_by_role("slider")
        if slider.count():
            slider.first.focus()
            slider.first.press("Home")  # the smallest embedding size
        ids = page.locator('[data-testid="stRadio"]').filter(has_text="Clip input embeddings").get_by_text(
            "id embeddings", exact=True)
        if ids.count():
            ids.first.click()
        page.get_by_role("button", name="Start training").click()
        wait_idle(page, started_s=3)
        assert_page_ok(page, "Train page after Start training")
        # screenshot the live job: once when it runs, again when its loss curve is drawn
        shot, shots = SHOTS / "train" / "train-running.png", []

        def live_curves() -> bool:
            drawn = page.locator('[data-testid="stPlotlyChart"]').count() > 0
            if not shots or (drawn and not shots[-1]):
                full_screenshot(page, shot)
                shots.append(drawn)
            return drawn

        status = _poll_status(page, until=("done", "failed", "cancelled"), timeout_s=90, on_running=live_curves,
                              interval_s=0.5)
        assert status in ("running", "done"), f"the training job did not start (status {status!r})"
        if not shots:  # it finished between two polls
            full_screenshot(page, shot)
    finally:
        ctx.close()  # the job lives in the workspace; a closed tab leaves the server less to poll
    return {"dataset": ds_id, "name": samples[ds_id], "nc": 2}


def _poll_status(page, until: tuple[str, ...], timeout_s: float, on_running=None, interval_s: float = 1.5) -> str | None:
    """Read the Train page's job status (its fragment refreshes itself) until one of ``until``,
    or until ``on_running`` (called while the job runs) returns True."""
    main = page.locator(MAIN)
    deadline = time.monotonic() + timeout_s
    status = None
    while time.monotonic() < deadline:
        assert_page_ok(page, "Train page during the run")
        status = _job_status(main.inner_text())
        if status == "running" and on_running is not None and on_running():
            break
        if status in until:
            break
        time.sleep(interval_s)
    return status


# ------------------------------------------------------------------------------ upload
def test_upload_valid_then_bad_logs(page, server, tmp_path, training_job):
    # training_job: the tiny training runs in the background during this test
    open_page(page, server, "data")
    before = stored_table(page, min_rows=2)
    assert len(before) >= 2, f"the stored-datasets table should list the bundled samples, got {before}"

    # a valid log: preview, mapping form, validation report, save
    name = "browser_upload_log"
    upload(page, _valid_log(tmp_path / f"{name}.csv"))
    assert_page_ok(page, "Data page after uploading a valid log")
    page.get_by_role("button", name="Validate").click()
    wait_idle(page)
    assert_page_ok(page, "Data page after validating a valid log")
    main = page.locator(MAIN)
    assert "Validation report" in main.inner_text()
    page.get_by_role("button", name="Save dataset").click()
    wait_idle(page)
    assert_page_ok(page, "Data page after saving")
    flash = page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="Saved as dataset")
    assert flash.count() == 1, "no 'Saved as dataset' confirmation after Save dataset"
    after = stored_table(page, min_rows=len(before) + 1)
    assert len(after) == len(before) + 1, f"stored datasets: {len(before)} rows before, {len(after)} after saving"
    row = next((r for r in after if name in r), None)
    assert row is not None, f"{name} is not in the stored-datasets table: {after}"
    assert "uploaded" in row and "30" in row, f"unexpected stored row for the upload: {row}"
    full_screenshot(page, SHOTS / "upload" / "data-saved.png")

    # header only: refused while reading, with the corpus' message; nothing stored
    upload(page, BAD_INPUTS / "header_only.csv")
    errors = error_texts(page)
    want = expected_message("header_only.csv")
    assert any(want.lower() in e.lower() for e in errors), f"expected an error saying {want!r}, got {errors}"
    assert_page_ok(page, "Data page with a header-only file", allow_errors=True)
    assert page.get_by_role("button", name="Save dataset").count() == 0
    assert stored_table(page, min_rows=len(after)) == after, "the stored-datasets table changed after a bad upload"
    full_screenshot(page, SHOTS / "upload" / "data-header-only.png")

    # a required column missing: readable, but validation refuses it; nothing stored
    upload(page, BAD_INPUTS / "missing_columns.csv")
    assert_page_ok(page, "Data page with a file lacking columns", allow_errors=True)
    if not error_texts(page):  # the error comes from validation, not from reading
        page.get_by_role("button", name="Validate").click()
        wait_idle(page)
    errors = error_texts(page)
    failed = page.locator('[data-testid="stExpander"] summary').filter(has_text="Validation failed")
    if not errors and failed.count():  # the message sits in the collapsed status box: open it
        failed.first.click()
        page.wait_for_timeout(500)
        errors = error_texts(page)
    want = expected_message("missing_columns.csv")
    assert any(want.lower() in e.lower() for e in errors), f"expected an error saying {want!r}, got {errors}"
    assert_page_ok(page, "Data page after validating a file lacking columns", allow_errors=True)
    assert page.get_by_role("button", name="Save dataset").count() == 0
    assert stored_table(page, min_rows=len(after)) == after, "the stored-datasets table changed after a refused validation"
    full_screenshot(page, SHOTS / "upload" / "data-missing-columns.png")

    # hostile files (issue 17): a gzip bomb and a 10⁵-column header, refused in one line naming the limit
    from tests import hostile_inputs as H

    for fname, path, want in (
        ("bomb", H.bomb(tmp_path / "bomb_400x.csv.gz", 0.0, 1000), "expands more than 100×"),
        ("wide header", H.wide_header(tmp_path / "wide_1e5.csv.gz", 100_000), "the header has more than 1,000 columns"),
    ):
        upload(page, path)
        errors = error_texts(page)
        assert len(errors) == 1 and want in errors[0] and "raise the limit with --max-" in errors[0], (fname, errors)
        assert_page_ok(page, f"Data page with a {fname}", allow_errors=True)
        assert stored_table(page, min_rows=len(after)) == after, f"the stored-datasets table changed after a {fname}"
        full_screenshot(page, SHOTS / "upload" / f"data-{fname.replace(' ', '-')}.png")


# ------------------------------------------------------------------------------ walk
def check_videos_play(page, what: str, timeout_s: float = 30) -> None:
    """Every ``<video>`` on the page loads its metadata (the browser can decode the file: WebM)."""
    videos = page.locator(f"{MAIN} video")
    for i in range(videos.count()):
        v = videos.nth(i)
        v.scroll_into_view_if_needed()
        try:
            page.wait_for_function("v => v.readyState >= 1 || v.error !== null", arg=v.element_handle(),
                                   timeout=timeout_s * 1000)
        except Exception as exc:  # noqa: BLE001 - reported below with the element's state
            raise AssertionError(f"{what}: video {i} did not load in {timeout_s:.0f} s") from exc
        state = v.evaluate("v => ({ready: v.readyState, error: v.error && v.error.code, duration: v.duration,"
                           " src: v.currentSrc})")
        assert state["error"] is None and state["duration"] > 0, f"{what}: video {i} does not play: {state}"


def test_walk_every_page_on_every_bundled_dataset(page, server, training_job):
    # training_job: still training (or just done) while the pages are walked
    samples = bundled()
    assert samples, "no bundled sample under sample_data/"
    for ds_id, name in samples:
        open_page(page, server, "")  # a fresh session per dataset
        pick_dataset(page, name)
        for title, url_path in PAGES:
            t0 = time.monotonic()
            if url_path:  # Home is already open
                go_to(page, title)
            path = page.url.split("?")[0]  # Recommend writes the run it shows into ?run=
            assert path.rstrip("/") == f"{server.url}/{url_path}".rstrip("/"), f"{title}: unexpected url {page.url}"
            assert_page_ok(page, f"{title} on {ds_id}")
            shown = selected_text(page, PICKER, SIDEBAR)
            assert not shown or name in shown, f"{title}: the picker shows {shown!r}, not {name!r}"
            body = page.locator(MAIN).inner_text()
            assert len(body.strip()) > 80, f"{title} on {ds_id} is nearly empty: {body!r}"
            stem = url_path or "home"
            full_screenshot(page, SHOTS / ds_id / f"{stem}.png")
            print(f"{ds_id} {title}: {time.monotonic() - t0:.1f} s")
            tabs = page.locator(f'{MAIN} [data-testid="stTabs"]').first.get_by_role("tab")
            if title == "Skip Explorer":  # lazy tabs: each one runs its own code
                for i in range(1, tabs.count()):
                    tabs.nth(i).click()
                    wait_idle(page)
                    assert_page_ok(page, f"{title} tab {i + 1} on {ds_id}")
                    check_videos_play(page, f"{title} tab {i + 1} on {ds_id}")
                    full_screenshot(page, SHOTS / ds_id / f"{stem}-tab{i + 1}.png")
    errors = getattr(page, "console_errors", [])
    assert not errors, "uncaught JavaScript errors:\n" + "\n".join(errors[:10])


# ------------------------------------------------------------------------------ training (finished)
def test_train_small_run_then_compare(page, server, training_job):
    open_page(page, server, "train")
    pick_dataset(page, training_job["name"])  # Recommend lists the runs of the chosen dataset
    status = _poll_status(page, until=("done", "failed", "cancelled"), timeout_s=TRAIN_WAIT_S)
    assert status == "done", f"the training job did not finish within {TRAIN_WAIT_S} s (last status {status!r})"
    wait_idle(page, started_s=3)
    assert_page_ok(page, "Train page after the run")
    full_screenshot(page, SHOTS / "train" / "train-done.png")
    assert page.locator('[data-testid="stMetric"]').filter(has_text="test AUC").count() == 1

    go_to(page, "Compare")
    assert_page_ok(page, "Compare page after the run")
    text = page.locator(MAIN).inner_text()
    assert "Finished runs" in text, "the finished run is not on the Compare page"
    page.get_by_role("tab", name="ROC and PR curves").click()  # lazy tabs: the curves are drawn when opened
    wait_idle(page)
    assert_page_ok(page, "Compare page, ROC and PR curves tab")
    chips = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Runs").inner_text()
    assert f"N_c={training_job['nc']}" in chips, f"the run is not among the curve runs: {chips!r}"
    page.locator('[data-testid="stPlotlyChart"]').nth(1).wait_for(timeout=60_000)
    full_screenshot(page, SHOTS / "train" / "compare-after-run.png")

    go_to(page, "Recommend")
    assert_page_ok(page, "Recommend page after the run")
    text = page.locator(MAIN).inner_text()
    assert re.search(r"Top \d+ videos for user", text), "Recommend shows no top-K list for the finished run"
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 2, "Recommend draws no per-clip charts"
    full_screenshot(page, SHOTS / "train" / "recommend-after-run.png")


# ------------------------------------------------------------------------------ baselines comparison
UPLOADED = "browser_upload_log"  # saved by the upload test (5 users × 6 views)
COMPARE_WAIT_S = 120


def _pick_models(page, models: list[str]) -> None:
    """Empty the Compare page's "Models" multiselect, then pick ``models`` by typing each one."""
    box = page.locator('[data-testid="stMultiSelect"]').filter(
        has=page.locator('[data-testid="stWidgetLabel"]', has_text="Models")).first
    inp = box.locator("input").first
    inp.click()
    for _ in range(12):  # Backspace removes the last chosen model
        inp.press("Backspace")
    for m in models:
        inp.fill(m)
        page.get_by_role("option", name=m, exact=True).first.click()
    page.keyboard.press("Escape")
    chips = box.inner_text()
    assert all(m in chips for m in models), f"the Models box shows {chips!r}"


def _comparison_status(text: str) -> str | None:
    m = re.search(r"baselines · .*?—\s*(queued|running|done|failed|cancelled)\b", text)
    return m.group(1) if m else None


def test_compare_page_runs_the_sequential_baselines(page, server, training_job):
    # after the training test: the job queue is free, so the comparison starts at once
    open_page(page, server, "compare")
    pick_dataset(page, UPLOADED)
    assert_page_ok(page, "Compare page on the uploaded log")
    _pick_models(page, ["alpine", "mtin", "popularity"])
    _number(page, "Seeds", 1)
    _number(page, "Max epochs (each model)", 2)
    page.get_by_role("button", name="Queue comparison").click()
    wait_idle(page, started_s=3)
    main = page.locator(MAIN)
    deadline, status = time.monotonic() + COMPARE_WAIT_S, None
    while time.monotonic() < deadline:
        assert_page_ok(page, "Compare page during the comparison")
        status = _comparison_status(main.inner_text())
        if status in ("done", "failed", "cancelled"):
            break
        time.sleep(1.0)
    assert status == "done", f"the comparison did not finish within {COMPARE_WAIT_S} s (last status {status!r})"
    wait_idle(page)
    assert_page_ok(page, "Compare page after the comparison")
    full_screenshot(page, SHOTS / "compare" / "sequential-baselines.png")
    found = sorted(server.workspace.rglob("results.csv"))
    import pandas as pd

    tables = [pd.read_csv(p) for p in found]
    res = next((t for t in tables if set(t["model"]) == {"alpine", "mtin", "popularity"}), None)
    assert res is not None, f"no results.csv with alpine, mtin and popularity under {server.workspace}"
    # GAUC needs a user with both outcomes among their test views: each user here has one test view
    assert len(res) == 3 and not res.drop(columns="gauc").isna().any().any(), res


# ------------------------------------------------------------------------------ verdicts and the run link (issue 16)
NEW_VIDEOS = "mostly new videos (generated)"


def _mostly_new_videos_log(path: Path) -> Path:
    """40 users × 10 views, almost every view on its own video, full views at random (40 %):
    nearly every test video is new and there are no video files, so fine and coarse must tie."""
    import numpy as np

    rng = np.random.default_rng(7)
    rows = ["user_id,video_id,playing_time,duration_time,interaction_timestamp"]
    t = 0
    for u in range(40):
        for k in range(10):
            t += 1
            vid = f"nv{u}_{k}" if k % 5 else f"shared{k}"  # a few shared videos so the graph is not empty
            dur = float(rng.uniform(6, 40))
            play = dur * (1.0 if rng.random() < 0.4 else float(rng.uniform(0.05, 0.95)))
            rows.append(f"nu{u},{vid},{play:.2f},{dur:.1f},{t}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_classroom_says_no_clear_difference_on_mostly_new_videos(page, server, tmp_path):
    from frame_core.data.validation import import_log
    from frame_core.services.workspace import Workspace

    log, report = import_log(_mostly_new_videos_log(tmp_path / "new_videos.csv"))
    Workspace(server.workspace).ensure().add_dataset(log, report, name=NEW_VIDEOS)
    open_page(page, server, "compare")
    pick_dataset(page, NEW_VIDEOS)
    page.get_by_role("button", name="Run fine vs coarse").click()
    wait_idle(page, started_s=3)
    main = page.locator(MAIN)
    deadline = time.monotonic() + TRAIN_WAIT_S
    text = ""
    while time.monotonic() < deadline:
        text = main.inner_text()
        if "6 of 6 runs finished" in text and ("No clear difference" in text or "is better" in text):
            break
        time.sleep(2)
    wait_idle(page)
    text = main.inner_text()
    assert "6 of 6 runs finished" in text, f"the experiment did not finish in {TRAIN_WAIT_S} s"
    assert "No clear difference on this dataset" in text, text[:3000]
    assert "no training view" in text and "no content features" in text, "the verdict gives no reason"
    assert "FRAME (N_c = 8) is better" not in text
    table = page.locator('[data-testid="stDataFrame"]').first.inner_text()
    assert "None" not in table
    assert_page_ok(page, "Compare after the classroom experiment")
    full_screenshot(page, SHOTS / "verdict" / "compare-no-clear-difference.png")


def test_train_to_recommend_opens_the_run_that_was_shown(page, server):
    open_page(page, server, "recommend")
    pick_dataset(page, NEW_VIDEOS)
    box = selectbox(page, "Run", MAIN)  # pick another run than the one Train will show
    box.first.locator('[role="combobox"], input').first.click()
    page.get_by_role("option").filter(has_text="N_c=8").filter(has_text="seed 0,").first.click()
    wait_idle(page)
    before = selected_text(page, "Run", MAIN)
    assert "seed 0" in before and "N_c=8" in before
    go_to(page, "Train")
    main = page.locator(MAIN)
    shown = main.inner_text()
    m = re.search(r"job (\S+) · elapsed", shown)
    assert m, "the Train page shows no finished job"
    job_id = m.group(1)
    assert re.search(r"N_c=1 · seed 2\s*—\s*\S*\s*done", shown), "the latest job should be the coarse run of seed 2"
    page.get_by_role("link", name="Recommend with this run").click()
    wait_idle(page, started_s=3)
    assert_page_ok(page, "Recommend opened from Train")
    assert f"run={job_id}" in page.url, page.url
    after = selected_text(page, "Run", MAIN)
    assert "N_c=1" in after and "seed 2" in after, f"Recommend shows {after!r}, not the run shown on Train"
    header = main.inner_text()
    assert "The coarse model (N_c = 1, one clip per video)" in header and "seed 2" in header
    assert "Held-out check" in header and "Why this video outranks" in header  # the attribution chart's title
    full_screenshot(page, SHOTS / "verdict" / "recommend-from-train.png")


# ------------------------------------------------------------------------------ simulated A/B test
SIMULATE_WAIT_S = 300


def test_simulate_page_runs_a_simulation_and_shows_it(page, server):
    """Two quick runs (N_c = 2 and the coarse N_c = 1, one epoch, id embeddings) trained straight into
    the server's workspace on the synthetic sample, then a simulation started from the Simulate page."""
    from frame_core.model.config import FrameConfig
    from frame_core.services.workspace import Workspace
    from frame_core.training.pipeline import train_run

    samples = dict(bundled())
    if "sample-synthetic" not in samples:
        pytest.skip("the bundled synthetic sample is missing")
    ws = Workspace(server.workspace).ensure()
    log = ws.load_log("sample-synthetic")
    for nc in (2, 1):
        train_run(log, ws.runs_dir / f"browser-sim-nc{nc}", FrameConfig(nc=nc, epochs=1, patience=1, emb_dim=8,
                  batch_size=4096, factor_dim=0), source="sample-synthetic", overwrite=True)
    open_page(page, server, "simulate")
    pick_dataset(page, samples["sample-synthetic"])
    assert_page_ok(page, "Simulate page")
    chips = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Runs").inner_text()
    assert "FRAME N_c=2" in chips and "coarse N_c=1" in chips, f"the default pair is not preselected: {chips!r}"
    page.get_by_role("button", name="Run simulation").click()
    wait_idle(page, started_s=3)
    main = page.locator(MAIN)
    deadline = time.monotonic() + SIMULATE_WAIT_S
    status = None
    while time.monotonic() < deadline:
        assert_page_ok(page, "Simulate page while the job runs")
        status = _job_status(main.inner_text())
        if status in ("done", "failed", "cancelled"):
            break
        time.sleep(1.5)
    assert status == "done", f"the simulation did not finish in {SIMULATE_WAIT_S} s (status {status!r})"
    wait_idle(page, started_s=3)
    page.locator('[data-testid="stPlotlyChart"]').nth(3).wait_for(timeout=60_000)
    text = main.inner_text()
    assert "Differences in full-view rate" in text and "oracle" in text
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 4, "arms, gap, scatter and timeline charts"
    full_screenshot(page, SHOTS / "simulate" / "simulate-done.png")

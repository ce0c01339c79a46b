"""Helpers of the real-browser tests: the Streamlit server, waiting for script runs, error checks,
select boxes, full-page screenshots and the Data page's stored-datasets table."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
HEALTH_TIMEOUT_S = 90
RUN_TIMEOUT_S = 120  # one script run on a loaded 2-core machine (first loads fill the caches)
MAX_SHOT_HEIGHT = 16_000

# Pages as routed by app/Home.py: (title in the sidebar, url path st.navigation derives from the file name).
PAGES = [
    ("Home", ""),
    ("Data", "data"),
    ("Skip Explorer", "skip_explorer"),
    ("Graph Inspector", "graph_inspector"),
    ("Train", "train"),
    ("Compare", "compare"),
    ("Recommend", "recommend"),
    ("Simulate", "simulate"),
    ("Learn", "learn"),
]


# ------------------------------------------------------------------------------ availability
def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(msg: str):
    """Skip the browser tests with ``msg``, or fail them under ``CI=true``."""
    if in_ci():
        pytest.fail(f"{msg} (CI=true: browser tests must run, not skip)", pytrace=False)
    pytest.skip(msg)


def chromium_executable() -> str | None:
    """Debian's Chromium (``/usr/bin/chromium``, else ``chromium`` on PATH), or None."""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


# ------------------------------------------------------------------------------ server
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status == 200 and r.read().decode().strip() == "ok"
    except (urllib.error.URLError, OSError, ValueError):
        return False


def kill_group(proc: subprocess.Popen) -> None:
    """Stop the server and everything in its process group (SIGTERM, then SIGKILL)."""
    if proc.poll() is not None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # stray children (training workers) of a dead server
        except (ProcessLookupError, PermissionError):
            pass
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    try:  # the group may outlive its leader (a worker still running)
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Server:
    """A running ``streamlit run``: its base url, workspace, log file and process."""

    def __init__(self, url: str, workspace: Path, log_path: Path, proc: subprocess.Popen):
        self.url, self.workspace, self.log_path, self.proc = url, workspace, log_path, proc

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"


def start_server(tmp: Path, workspace: Path) -> Server:
    """Start the app on a free port over ``workspace`` and wait for ``/_stcore/health`` to say ok."""
    port = _free_port()
    log_path = tmp / f"streamlit-{port}.log"
    env = dict(os.environ)
    env.update(
        FRAME_WORKSPACE=str(workspace),
        PYTHONUNBUFFERED="1",
        OMP_NUM_THREADS="1",
        STREAMLIT_SERVER_ADDRESS="127.0.0.1",  # reachable from this machine only
        STREAMLIT_SERVER_FILE_WATCHER_TYPE="none",  # no watcher threads, no "source file changed" prompt
    )
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app/Home.py",
        "--server.headless", "true", "--server.port", str(port), "--browser.gatherUsageStats", "false",
    ]
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", workspace, log_path, proc)
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _healthy(f"{server.url}/_stcore/health"):
            return server
        time.sleep(0.5)
    kill_group(proc)
    raise RuntimeError(f"streamlit did not become healthy on port {port} within {HEALTH_TIMEOUT_S} s "
                       f"(exit code {proc.poll()}):\n{server.log_tail()}")








# ------------------------------------------------------------------------------ helpers
_STATE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return 'missing';
  const busy = document.querySelector('[data-testid="stSpinner"], [data-testid="stStatusWidgetRunningIcon"],'
                                      + ' [data-testid="stStatusWidgetRunningManIcon"], [data-testid="stSkeleton"]');
  const state = app.getAttribute('data-test-script-state');
  const conn = app.getAttribute('data-test-connection-state');
  return state + '|' + conn + '|' + (busy ? 'busy' : 'idle');
}"""


def wait_idle(page, timeout_s: float = RUN_TIMEOUT_S, settle_s: float = 0.6, started_s: float = 1.5) -> None:
    """Wait until Streamlit has no script run going: ``stApp`` is present, its script state is
    ``notRunning``, nothing spins, and that has held for ``settle_s``. After an interaction the
    run may not have started yet, so first give it ``started_s`` to leave ``notRunning``."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    start_by = time.monotonic() + started_s
    while time.monotonic() < start_by:
        if not page.evaluate(_STATE_JS).startswith("notRunning|"):
            break
        time.sleep(0.1)
    quiet_since = None
    last = ""
    while time.monotonic() < deadline:
        last = page.evaluate(_STATE_JS)
        state, _conn, busy = last.split("|") if last.count("|") == 2 else (last, "", "")
        if state == "notRunning" and busy == "idle":
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle_s:
                return
        else:
            quiet_since = None
        time.sleep(0.15)
    raise AssertionError(f"the app was still busy after {timeout_s:.0f} s (state {last!r}) at {page.url}")


def _texts(page, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts() if t.strip()]


def page_problems(page, allow_errors: bool = False) -> list[str]:
    """Exception boxes (always) and error alerts (unless ``allow_errors``) shown on the page."""
    out = [f"exception box: {t}" for t in _texts(page, '[data-testid="stException"]')]
    if not allow_errors:
        out += [f"error alert: {t}" for t in _texts(page, '[data-testid="stAlertContentError"]')]
    return out


def assert_page_ok(page, what: str, allow_errors: bool = False) -> None:
    problems = page_problems(page, allow_errors)
    if problems:
        raise AssertionError(f"{what} ({page.url}) shows:\n" + "\n---\n".join(p[:3000] for p in problems))


def open_page(page, server: Server, url_path: str = "", timeout_s: float = RUN_TIMEOUT_S) -> None:
    """Load a page by URL (this starts a new Streamlit session) and wait for its first run."""
    page.goto(f"{server.url}/{url_path}", wait_until="domcontentloaded", timeout=timeout_s * 1000)
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    wait_idle(page, timeout_s, started_s=5)
    assert_page_ok(page, f"page /{url_path}")


def go_to(page, title: str, timeout_s: float = RUN_TIMEOUT_S) -> None:
    """Click a page in the sidebar navigation (same session, so the chosen dataset carries over)."""
    link = page.locator('[data-testid="stSidebarNavLink"]').filter(
        has_text=re.compile(rf"^\W*{re.escape(title)}\W*$"))
    if link.count() == 0:  # icon text may precede the title
        link = page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title)
    link.first.click()
    wait_idle(page, timeout_s, started_s=3)


def selectbox(page, label: str, scope: str = "body"):
    """The ``stSelectbox`` whose label is exactly ``label`` (within ``scope``)."""
    return page.locator(f'{scope} [data-testid="stSelectbox"]').filter(
        has=page.locator('[data-testid="stWidgetLabel"]', has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))


def choose(page, label: str, option: str, scope: str = "body", timeout_s: float = RUN_TIMEOUT_S) -> None:
    """Pick ``option`` (its shown text) in the select box labelled ``label`` and wait for the rerun."""
    box = selectbox(page, label, scope)
    box.first.locator('[role="combobox"], input').first.click()
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_idle(page, timeout_s)


def selected_text(page, label: str, scope: str = "body") -> str:
    """Label and shown value of a select box (the value may sit in an ``input`` of the combobox)."""
    box = selectbox(page, label, scope)
    if box.count() == 0:
        return ""
    values = box.first.locator("input").evaluate_all("els => els.map(e => e.value)")
    return " ".join([box.first.inner_text(), *values])


def full_screenshot(page, path: Path) -> Path:
    """A screenshot of the whole page. The app scrolls inside ``stMain``, not the document, so the
    viewport is stretched to the content height for the shot and restored afterwards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("""() => Math.max(...['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]',
        '[data-testid="stSidebarContent"]'].map(s => document.querySelector(s)?.scrollHeight || 0),
        document.documentElement.scrollHeight)""")
    height = int(min(max(height, VIEWPORT["height"]), MAX_SHOT_HEIGHT))
    try:
        if height > VIEWPORT["height"]:
            page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
            page.wait_for_timeout(800)  # charts re-lay out to the new size
        page.screenshot(path=str(path), full_page=True, animations="disabled", timeout=60_000)
    finally:
        if height > VIEWPORT["height"]:
            page.set_viewport_size(VIEWPORT)
    return path


def stored_table(page, min_rows: int = 0, timeout_s: float = 30.0) -> list[list[str]]:
    """Rows (cell texts) of the Data page's "Stored datasets" table, read from the grid's
    accessibility table (the grid itself is drawn on a canvas). The grid fills that table after
    it is drawn, later on a loaded machine: with ``min_rows`` it is read again until it holds
    that many rows or ``timeout_s`` has passed (then what it holds is returned)."""
    deadline = time.monotonic() + timeout_s
    while True:
        frame = page.locator('[data-testid="stDataFrame"]').last
        rows = frame.evaluate("""e => [...e.querySelectorAll('table tr')].map(
            tr => [...tr.querySelectorAll('td,th')].map(c => c.textContent.trim()))""")
        if len(rows) >= min_rows or time.monotonic() > deadline:
            return rows
        page.wait_for_timeout(250)

"""Real-browser fixtures: one ``streamlit run`` server and one headless Chromium per test process.

- The server runs ``app/Home.py`` on a free port with a temporary ``FRAME_WORKSPACE``; it starts
  once per pytest process (under xdist, each worker that runs browser tests gets its own server
  and port) and is killed with its whole process group (training workers included) at the end.
- Chromium is Debian's ``/usr/bin/chromium`` driven by the ``playwright`` package
  (``npx playwright install`` cannot work on these machines).
- Skip policy: without Chromium (or the ``playwright`` package) the browser tests are skipped
  with a message saying how to install it; under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import (
    CHROMIUM_ARGS,
    SHOTS,
    VIEWPORT,
    chromium_executable,
    full_screenshot,
    kill_group,
    start_server,
    unavailable,
)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    exe = chromium_executable()
    if exe is None:
        unavailable("Chromium not found: apt-get install -y chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("the playwright package is missing: pip install -r requirements-dev.txt")
    return exe


@pytest.fixture(scope="session")
def server(chromium_path, tmp_path_factory):
    """A running app over an empty temporary workspace (bundled samples are always listed)."""
    tmp = tmp_path_factory.mktemp("browser")
    workspace = tmp / "workspace"
    try:
        srv = start_server(tmp, workspace)
    except RuntimeError:  # e.g. another process took the free port first: one more try
        srv = start_server(tmp, workspace)
    yield srv
    kill_group(srv.proc)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


@pytest.fixture
def page(request, browser, server):
    """A fresh browser context (a new Streamlit session) per test; uncaught page errors are
    collected in ``page.console_errors``. A failing test leaves a screenshot of the page at
    ``test-output/screenshots/failures/<test>.png`` and the server log's tail in its report."""
    failure_shot = SHOTS / "failures" / f"{request.node.name}.png"
    failure_shot.unlink(missing_ok=True)
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(60_000)
    pg = ctx.new_page()
    console_errors: list[str] = []
    pg.on("pageerror", lambda exc: console_errors.append(str(exc)))
    pg.console_errors = console_errors  # type: ignore[attr-defined]
    yield pg
    if getattr(request.node, "browser_call_failed", False):
        try:
            full_screenshot(pg, failure_shot)
        except Exception as exc:  # noqa: BLE001 - best effort, the test has failed already
            print(f"no failure screenshot: {exc}")
        print(f"server log (tail):\n{server.log_tail()}")
    ctx.close()

"""The preferred allocator (frame_core/common/perf.py): tcmalloc preloaded where installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from frame_core.common import perf

from .engine_world import random_log

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--epochs", "1", "--emb-dim", "8", "--batch-size", "64"]


def test_env_prepends_tcmalloc_and_quiets_its_reports():
    env = perf.allocator_env({"LD_PRELOAD": "/x/other.so", "A": "1"}, lib="/lib/libtcmalloc_minimal.so.4")
    assert env["LD_PRELOAD"] == "/lib/libtcmalloc_minimal.so.4 /x/other.so"
    assert int(env["TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD"]) >= 2**40
    assert env["TCMALLOC_RELEASE_RATE"] == "0"
    mine = perf.allocator_env({"TCMALLOC_RELEASE_RATE": "2"}, lib="/lib/libtcmalloc.so.4")
    assert mine["TCMALLOC_RELEASE_RATE"] == "2"  # the user's setting wins
    assert env["ARROW_DEFAULT_MEMORY_POOL"] == "system"  # Arrow's buffers through tcmalloc too
    assert perf.allocator_env({"ARROW_DEFAULT_MEMORY_POOL": "jemalloc"}, lib="/lib/libtcmalloc.so.4")[
        "ARROW_DEFAULT_MEMORY_POOL"] == "jemalloc"
    assert env["A"] == "1"


def test_training_processes_do_not_import_scikit_learn():
    """scikit-learn costs a process about 65 MB: the CLI and the training path import it only
    where a logistic regression is fitted (the reference baseline, the ensemble's blend)."""
    code = ("import sys, frame_core.cli.main, frame_core.training.pipeline, frame_core.runs; "
            "print(any(m.split('.')[0] == 'sklearn' for m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "False"


def test_env_unchanged_when_not_wanted_not_installed_or_already_there():
    lib = "/lib/libtcmalloc_minimal.so.4"
    base = {"PATH": "/bin"}
    assert perf.allocator_env({**base, "FRAME_ALLOCATOR": "system"}, lib=lib) == {**base, "FRAME_ALLOCATOR": "system"}
    assert perf.allocator_env(base, lib="") == base
    already = {**base, "LD_PRELOAD": "/usr/lib/libtcmalloc.so.4"}
    assert perf.allocator_env(already, lib=lib) == already


def test_find_tcmalloc_looks_in_the_given_folders(tmp_path):
    assert perf.find_tcmalloc((str(tmp_path),)) is None
    (tmp_path / "libtcmalloc.so.4").write_bytes(b"")
    assert perf.find_tcmalloc((str(tmp_path),)) == str(tmp_path / "libtcmalloc.so.4")
    (tmp_path / "libtcmalloc_minimal.so.4").write_bytes(b"")  # the minimal build is preferred
    assert perf.find_tcmalloc((str(tmp_path),)) == str(tmp_path / "libtcmalloc_minimal.so.4")


def test_this_process_reports_an_allocator_and_can_release_memory():
    assert perf.allocator_in_use() in ("tcmalloc", "glibc", "system")
    if sys.platform.startswith("linux"):
        assert perf.release_free_memory()


def _train(tmp_path: Path, env: dict) -> dict:
    log = tmp_path / "log.csv"
    if not log.exists():
        random_log(n_users=10, n_videos=12, per_user=10).to_csv(log, index=False)
    out = tmp_path / f"run_{len(list(tmp_path.iterdir()))}"
    p = subprocess.run([sys.executable, "-m", "frame_core", "train", str(log), "--nc", "2", "--out", str(out), *FAST],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "tcmalloc" not in p.stderr  # no allocator chatter on stderr
    return json.loads((out / "config.json").read_text())


def test_the_command_line_trains_under_tcmalloc_where_installed(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FRAME_ALLOCATOR", "FRAME_ALLOCATOR_REEXEC")}
    env["PYTHONPATH"] = str(ROOT)
    if perf.find_tcmalloc() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI installs libtcmalloc-minimal4 (.ci/run), but no tcmalloc was found")
        pytest.skip("tcmalloc is not installed here (Debian/Ubuntu: apt-get install libtcmalloc-minimal4)")
    assert _train(tmp_path, env)["allocator"] == "tcmalloc"
    assert _train(tmp_path, {**env, "FRAME_ALLOCATOR": "system"})["allocator"] == "glibc"

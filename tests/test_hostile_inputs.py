"""Memory bounds as tests (issue 17): every generated hostile file is refused by
``python -m frame_core validate`` in a subprocess under a 1.5 GB address-space limit and a
30 s timeout, with exit 2, one line naming the problem, and the option that raises the limit."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from frame_core.common.errors import InputError
from frame_core.data.limits import DEFAULT_LIMITS, MIB, InputLimits
from frame_core.data.validation import import_log

from . import hostile_inputs as H

ADDRESS_SPACE = int(1.5 * 1024**3)
TIMEOUT_S = 30
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    return {name: gen(d / fname) for name, (gen, fname, *_rest) in H.CASES.items()}


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_validate(path: Path, extra: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "frame_core", "validate", str(path), *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=_limit_memory)


@pytest.mark.parametrize("name", sorted(H.CASES))
def test_refused_in_bounded_memory(corpus, name):
    _gen, _fname, extra, message, option = H.CASES[name]
    res = run_validate(corpus[name], extra)
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    err = res.stderr
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err + res.stdout and "out of memory" not in err
    assert message in err, err
    if option is not None:
        assert f"raise the limit with {option}" in err, err


@pytest.mark.parametrize("name", sorted(H.RATIOS))
def test_bombs_have_the_ratio_they_are_named_for(corpus, name):
    lo, hi = H.RATIOS[name]
    assert lo <= H.ratio_of(corpus[name]) <= hi


def test_a_genuine_log_still_imports_under_the_memory_limit():
    res = run_validate(ROOT / "sample_data" / "kuairand" / "kuairand_like_hate.tsv.gz",
                       ["--time-unit", "ms", "--map", "play_time_ms=playing_time", "--map", "duration_ms=duration_time",
                        "--map", "time_ms=interaction_timestamp"])
    assert res.returncode == 0, res.stderr
    assert "rows read" in res.stdout


def test_raising_a_limit_lets_the_file_through(tmp_path):
    path = H.wide_header(tmp_path / "w.csv.gz", 1500)
    with pytest.raises(InputError, match="more than 1,000 columns"):
        import_log(path)
    with pytest.raises(InputError, match="lacks required column"):  # past the header check: the real problem
        import_log(path, limits=InputLimits(max_columns=2000))


def test_ratio_is_only_judged_past_the_floor(tmp_path):
    path = H.bomb(tmp_path / "small.csv.gz", 0.0, 8)  # 8 MB at 400x: under the 16 MiB floor
    clean, report = import_log(path)
    assert report.rejected["duplicate"] == report.n_input - 1


def test_stops_at_the_first_byte_past_the_size_limit(tmp_path):
    """A 1 MiB limit: the decompressed temporary file never holds more than the limit + 1 byte."""
    from frame_core.data import intake

    seen = []
    real = intake._TextScan.feed

    def spy(self, chunk):
        seen.append(len(chunk))
        return real(self, chunk)

    path = H.bomb(tmp_path / "b.csv.gz", 0.2, 5)
    intake._TextScan.feed = spy
    try:
        with pytest.raises(InputError, match="expands past the size limit"):
            import_log(path, limits=InputLimits(max_bytes=1 * MIB))
    finally:
        intake._TextScan.feed = real
    assert sum(seen) <= 1 * MIB  # the byte past the limit is refused before it is scanned or stored


def test_limits_table_matches_the_defaults():
    from frame_core.data.limits import OPTIONS, TABLE

    for field, option, default, _meaning in TABLE:
        assert OPTIONS[field] == option
        value = getattr(DEFAULT_LIMITS, field)
        shown = f"{value // MIB:,}" if field == "max_bytes" else f"{value:,.0f}"
        assert default.replace(" MiB", "") == shown, field
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for _field, option, default, _meaning in TABLE:
        assert f"`{option}`" in readme and default in readme

"""The bad-input corpus (tests/bad_inputs/, expected.json): every file gives the expected exit
code and a message naming the problem, in one line, without a traceback."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from frame_core.cli.main import main
from frame_core.data.graphs import graphs_for_log
from frame_core.data.split import chronological_split
from frame_core.data.validation import import_log

CORPUS = Path(__file__).parent / "bad_inputs"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_on_the_corpus(name, capsys):
    case = EXPECTED[name]
    extra = ["--max-mb", "1"] if name == "gzip_bomb.csv.gz" else []
    code = main(["validate", str(CORPUS / name), *extra])
    out, err = capsys.readouterr()
    assert code == case["exit"], (out, err)
    assert "Traceback" not in out + err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("error: ")
        assert case["message"] in err
    else:
        assert case["message"] in out


def test_labels_on_the_corpus_exit_codes_match(tmp_path, capsys):
    for name, case in EXPECTED.items():
        extra = ["--max-mb", "1"] if name == "gzip_bomb.csv.gz" else []
        code = main(["labels", str(CORPUS / name), "--nc", "4", "--out", str(tmp_path / "l.csv"), *extra])
        capsys.readouterr()
        assert code == case["exit"], name


def test_a_million_users_with_one_view_each(tmp_path):
    n = 1_000_000
    df = pd.DataFrame({
        "user_id": np.char.add("u", np.arange(n).astype(str)),
        "video_id": np.char.add("v", (np.arange(n) % 5000).astype(str)),
        "playing_time": np.linspace(0, 20, n),
        "duration_time": 10.0,
        "interaction_timestamp": np.arange(n, dtype=float),
    })
    path = tmp_path / "million.parquet"
    df.to_parquet(path)
    clean, rep = import_log(path)
    assert rep.n_clean == n
    assert any("1,000,000 of 1,000,000 users have fewer than 5 views" in w for w in rep.warnings)
    part = chronological_split(clean)
    assert (part == 0).all()  # one view each: everything trains, nothing to test
    _, _, g = graphs_for_log(clean, part, 8, "watched-positive")
    assert g.shape == (n, 5000 * 8) and g.RP.nnz > 0

"""Training on several processes (``torchrun … train --distributed``, docs/design.md §4).

The main test launches two ranks on the bundled synthetic sample with ``torch.distributed.run``
(gloo on CPU) and checks the run contract and that the test AUC is the single-process one
within 0.005 (each step's global batch is split between the ranks and DDP averages the
gradients, so both follow nearly the same path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from frame_core.cli.main import main
from frame_core.training.distributed import DistContext

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "synthetic" / "interactions.csv"
ARGS = ["--nc", "4", "--no-videos", "--epochs", "2", "--seed", "3"]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
    return {**env, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def test_two_processes_match_one(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    single = subprocess.run([sys.executable, "-m", "frame_core", "train", str(SAMPLE), "--out", str(one), *ARGS],
                            cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    dist = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "frame_core", "train", str(SAMPLE), "--out", str(two), *ARGS, "--distributed"],
                          cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=300)
    assert dist.returncode == 0, dist.stderr[-3000:]
    assert dist.stdout.count("-> ") == 1  # only rank 0 reports (and writes)
    assert "on 2 processes" in dist.stdout
    names = {p.name for p in one.iterdir()}
    assert {p.name for p in two.iterdir()} == names and "DONE" in names
    m1 = json.loads((one / "metrics.json").read_text())
    m2 = json.loads((two / "metrics.json").read_text())
    assert m2["epochs_run"] == m1["epochs_run"] == 2
    assert abs(m2["auc"] - m1["auc"]) <= 0.005, (m1["auc"], m2["auc"])
    info = json.loads((two / "config.json").read_text())
    assert info["status"] == "finished" and info["distributed"] == {"world_size": 2, "backend": "gloo"}
    assert "distributed" not in json.loads((one / "config.json").read_text())


def test_distributed_without_torchrun_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    assert main(["train", str(SAMPLE), "--out", str(tmp_path / "r"), *ARGS, "--distributed"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --distributed needs") and "torchrun" in err[0]
    assert not (tmp_path / "r").exists()


def test_nccl_is_refused_with_a_reason(tmp_path, capsys, monkeypatch):
    for k, v in {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}.items():
        monkeypatch.setenv(k, v)
    assert main(["train", str(SAMPLE), "--out", str(tmp_path / "r"), *ARGS, "--distributed",
                 "--dist-backend", "nccl"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "gloo" in err[0] and "CPU" in err[0]


def test_ensemble_is_refused_with_distributed(tmp_path, capsys):
    assert main(["train", str(SAMPLE), "--out", str(tmp_path / "r"), *ARGS, "--distributed",
                 "--model", "ensemble"]) == 2
    assert "--model ensemble" in capsys.readouterr().err


def test_shards_partition_each_batch():
    rows = np.arange(11)
    parts = [DistContext(rank=r, world_size=3).shard(rows) for r in range(3)]
    assert sorted(np.concatenate(parts).tolist()) == rows.tolist()
    assert [len(p) for p in parts] == [4, 4, 3]
    assert DistContext(rank=0, world_size=3).is_main and not DistContext(rank=2, world_size=3).is_main

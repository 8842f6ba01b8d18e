"""The suggestion-quality benchmark runs at a tiny size and writes its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("torch")
pytest.importorskip("torch_lr_finder")
pytest.importorskip("sklearn")


def test_suggest_quality_quick(tmp_path: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "suggest_quality.py"), "--quick",
         "--tasks", "mnist1d_mlp_adam,digits_mlp_sgd", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "suggest_quality_quick.json").read_text())
    assert report["config"]["quick"] is True
    summary = report["summary"]
    assert set(summary) == {"mnist1d_mlp_adam", "digits_mlp_sgd"}
    for task in summary.values():
        methods = {(r["method"], r["use"]) for r in task["rows"]}
        assert methods == {("cyclr auto", "1cycle"), ("cyclr auto", "triangular"),
                           ("torch-lr-finder", "fixed LR"),
                           ("torch-lr-finder", "1cycle (OneCycleLR)")}  # fmt: skip
        for r in task["rows"]:
            assert 0 <= r["acc_mean"] <= 1 and r["spread"] >= 1
            assert all(x > 0 for x in r["max_lr"])
            assert 0 < r["compute_vs_grid"]
        assert task["grid_configs"] == 2 + 2 * 2 * 2
    md = (tmp_path / "suggest_quality_quick.md").read_text()
    assert "| cyclr auto | 1cycle |" in md and "Targets for cyclr auto" in md

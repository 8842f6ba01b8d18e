"""The scheduler-overhead benchmark runs at a tiny size and writes its report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_scheduler_overhead_quick(tmp_path):
    out = tmp_path / "overhead.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scheduler_overhead.py"), "--quick",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert len(report["cases"]) == 4
    for case in report["cases"].values():
        assert case["cyclr_us"] > 0 and case["torch_us"] > 0
        assert case["ratio"] == case["ratio"]  # not NaN
    assert "| ratio (median) |" in out.with_suffix(".md").read_text()

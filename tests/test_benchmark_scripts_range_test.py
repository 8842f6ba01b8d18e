"""The range-test overhead benchmark runs at a tiny size and writes its report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_range_test_overhead_quick(tmp_path):
    out = tmp_path / "range_test_overhead.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "range_test_overhead.py"), "--quick",
         "--out", str(out)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["rounds"] >= 1
    assert {"bare", "cyclr", "cyclr-nometric", "cyclr-val", "lr-finder"} <= set(report["variants"])
    for name, v in report["variants"].items():
        assert len(v["ratios"]) == report["rounds"], name
        assert v["ms_per_update"] > 0 and v["ratio_median"] > 0, name
    assert report["variants"]["bare"]["ratio_median"] == 1.0
    assert isinstance(report["goal_met"], bool)
    assert "| cyclr |" in out.with_suffix(".md").read_text()
    assert "| cyclr |" in proc.stdout

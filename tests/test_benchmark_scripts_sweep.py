"""The momentum / weight-decay sweep benchmark runs at a tiny size and writes its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cyclr

ROOT = Path(__file__).resolve().parents[1]


def test_sweeps_quick(tmp_path: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sweeps.py"), "--quick", "--out",
         str(tmp_path)],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "sweeps_quick.json").read_text())
    assert report["quick"] is True and report["seeds"] == [0]
    assert [s["param"] for s in report["sweeps"]] == ["momentum", "weight_decay"]
    for s in report["sweeps"]:
        assert s["leader"] in s["values"] and isinstance(s["clear"], bool) and s["reason"]
        assert (tmp_path / s["png"]).stat().st_size > 10_000
        sweep = cyclr.SweepResult.load(tmp_path / f"sweep_{s['param']}_quick.json")
        assert sweep.values == tuple(s["values"])
    for c, s in zip(report["comparisons"], report["sweeps"]):
        assert [r["value"] for r in c["rows"]] == s["values"] and c["seeds"] == 1
        assert all(0 <= r["acc_mean"] <= 1 for r in c["rows"])
        assert c["chosen_value"] == s["leader"] and c["best_trained_value"] in s["values"]
    md = (tmp_path / "sweeps_quick.md").read_text()
    assert "| momentum |" in md and "| weight_decay |" in md
    assert "| momentum |" in proc.stdout

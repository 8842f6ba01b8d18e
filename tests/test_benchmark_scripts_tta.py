"""The time-to-accuracy, paper-claims and combined overhead benchmarks run at a tiny size and
write their reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=180, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_time_to_accuracy_quick(tmp_path):
    proc = _run("time_to_accuracy.py", "--quick", "--seeds", "1", "--workers", "1", "--quiet",
                "--out", str(tmp_path))  # fmt: skip
    report = json.loads((tmp_path / "time_to_accuracy.json").read_text())
    assert report["quick"] is True and report["seeds"] == [0]
    assert set(report["tasks"]) == {"mnist1d-cnn-sgd", "mnist1d-mlp-adam"}
    for task in report["tasks"].values():
        assert 0 < task["target"] <= 1
        assert task["baseline_iters"] is not None  # the best fixed LR reaches its own mean
        assert len(task["fixed"]) == 2
        assert len(task["range_tests"]) == 1 and task["range_test_iters"] > 0
        if task["range_tests"][0]["error"] is None:
            assert set(task["policies"]) == {
                "triangular", "triangular2", "exp_range", "exp_range_amplitude",
                "one_cycle", "one_cycle_pytorch", "one_cycle_fastai",
            }  # fmt: skip
            for p in task["policies"].values():
                assert p["range_test_iters"] == task["range_test_iters"]
                assert p["curve"]["iters"] and len(p["curve"]["mean"]) == len(p["curve"]["iters"])
        assert isinstance(task["goals"]["one_cycle_goal_met"], bool)
    md = (tmp_path / "time_to_accuracy.md").read_text()
    assert "| fixed " in md and "speed-up" in md and "Command:" in md
    assert (tmp_path / "time_to_accuracy.png").stat().st_size > 10_000
    assert "| policy |" in proc.stdout
    # The stored runs are enough to rebuild the same report without training.
    again = tmp_path / "again"
    _run("time_to_accuracy.py", "--from-json", str(tmp_path / "time_to_accuracy.json"), "--out",
         str(again))  # fmt: skip
    assert (again / "time_to_accuracy.md").read_text() == md
    assert json.loads((again / "time_to_accuracy.json").read_text()) == report


def test_paper_claims_quick(tmp_path):
    _run("paper_claims.py", "--quick", "--seeds", "1", "--workers", "2", "--quiet", "--out",
         str(tmp_path))  # fmt: skip
    report = json.loads((tmp_path / "paper_claims.json").read_text())
    assert report["quick"] is True
    res = report["results"]
    assert set(res) >= {"step", "bounds", "data", "range_tests"}
    assert len(res["bounds"]["grid"]) == 2
    assert set(res["data"]) == {"400", "800"}
    md = (tmp_path / "paper_claims.md").read_text()
    assert "Step size" in md and "Super-convergence" in md
    assert (tmp_path / "paper_claims.png").stat().st_size > 10_000


def test_overhead_quick(tmp_path):
    _run("overhead.py", "--quick", "--out", str(tmp_path))
    report = json.loads((tmp_path / "overhead.json").read_text())
    goals = report["goals"]
    assert goals["scheduler_worst_ratio"] > 0 and goals["range_test_ratio_median"] > 0
    assert isinstance(goals["scheduler_goal_met"], bool)
    assert isinstance(goals["range_test_goal_met"], bool)
    assert len(report["scheduler"]["cases"]) == 4
    assert "cyclr" in report["range_test"]["variants"]
    md = (tmp_path / "overhead.md").read_text()
    assert "Scheduler step" in md and "Range test" in md

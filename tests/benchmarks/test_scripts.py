"""Every benchmark script runs at a tiny size and writes its report (benchmarks are not
otherwise part of the test suite)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cyclr

pytestmark = pytest.mark.slow  # each script starts a fresh interpreter and trains

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python benchmarks/SCRIPT ARGS`` from the repository root; fails on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCH.parent,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_range_test_overhead_quick(tmp_path):
    out = tmp_path / "range_test_overhead.json"
    proc = _run("range_test_overhead.py", "--quick", "--out", str(out))
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


def test_scheduler_overhead_quick(tmp_path):
    out = tmp_path / "overhead.json"
    _run("scheduler_overhead.py", "--quick", "--out", str(out))
    report = json.loads(out.read_text())
    assert len(report["cases"]) == 4
    for case in report["cases"].values():
        assert case["cyclr_us"] > 0 and case["torch_us"] > 0
        assert case["ratio"] == case["ratio"]  # not NaN
    assert "| ratio (median) |" in out.with_suffix(".md").read_text()


def test_suggest_quality_quick(tmp_path: Path) -> None:
    pytest.importorskip("torch_lr_finder")
    pytest.importorskip("sklearn")
    _run(
        "suggest_quality.py",
        "--quick",
        "--tasks",
        "mnist1d_mlp_adam,digits_mlp_sgd",
        "--out",
        str(tmp_path),
    )
    report = json.loads((tmp_path / "suggest_quality_quick.json").read_text())
    assert report["config"]["quick"] is True
    summary = report["summary"]
    assert set(summary) == {"mnist1d_mlp_adam", "digits_mlp_sgd"}
    for task in summary.values():
        methods = {(r["method"], r["use"]) for r in task["rows"]}
        assert methods == {
            ("cyclr auto", "1cycle"),
            ("cyclr auto", "triangular"),
            ("torch-lr-finder", "fixed LR"),
            ("torch-lr-finder", "1cycle (OneCycleLR)"),
        }
        for r in task["rows"]:
            assert 0 <= r["acc_mean"] <= 1 and r["spread"] >= 1
            assert all(x > 0 for x in r["max_lr"])
            assert 0 < r["compute_vs_grid"]
        assert task["grid_configs"] == 2 + 2 * 2 * 2
    md = (tmp_path / "suggest_quality_quick.md").read_text()
    assert "| cyclr auto | 1cycle |" in md and "Targets for cyclr auto" in md


def test_suggest_speed_quick(tmp_path: Path) -> None:
    out = tmp_path / "suggest_speed.json"
    proc = _run("suggest_speed.py", "--quick", "--out", str(out))
    report = json.loads(out.read_text())
    assert report["points"] == [1_000, 10_000] and report["repeats"] == 1
    cases = {"auto", "accuracy", "loss", "steepest", "minimum", "valley", "slide", "blow_up_lr"}
    assert set(report["seconds"]) == cases | {"sweep (4 values)"}
    for name, row in report["seconds"].items():
        assert set(row) == {"1000", "10000"} and all(t > 0 for t in row.values()), name
    md = out.with_suffix(".md").read_text()
    assert "| case | 1,000 points | 10,000 points |" in md and "| auto |" in md
    assert "auto    1000 points:" in proc.stdout


def test_sweeps_quick(tmp_path: Path) -> None:
    proc = _run("sweeps.py", "--quick", "--out", str(tmp_path))
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


def test_time_to_accuracy_quick(tmp_path):
    proc = _run(
        "time_to_accuracy.py",
        "--quick",
        "--seeds",
        "1",
        "--workers",
        "1",
        "--quiet",
        "--out",
        str(tmp_path),
    )
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
                "triangular",
                "triangular2",
                "exp_range",
                "exp_range_amplitude",
                "one_cycle",
                "one_cycle_pytorch",
                "one_cycle_fastai",
            }
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
    _run(
        "time_to_accuracy.py",
        "--from-json",
        str(tmp_path / "time_to_accuracy.json"),
        "--out",
        str(again),
    )
    assert (again / "time_to_accuracy.md").read_text() == md
    assert json.loads((again / "time_to_accuracy.json").read_text()) == report


def test_paper_claims_quick(tmp_path):
    _run(
        "paper_claims.py",
        "--quick",
        "--seeds",
        "1",
        "--workers",
        "2",
        "--quiet",
        "--out",
        str(tmp_path),
    )
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


def test_online_quick(tmp_path: Path) -> None:
    _run("online.py", "--quick", "--out", str(tmp_path))
    report = json.loads((tmp_path / "online_quick.json").read_text())
    assert report["seeds"] == [0]
    kinds = {r["kind"]: r for r in report["mnist1d"]["rows"]}
    assert set(kinds) == {"fixed", "two_stage", "online"}
    assert kinds["two_stage"]["rt_updates"] > 0 and kinds["online"]["rt_updates"] == 0
    (zoo,) = report["zoo"]
    assert zoo["task"] == "friedman_mlp_sgd"
    assert zoo["errors"] == {"two_stage": {}, "online": {}, "online_keep": {}}
    assert len(zoo["online_keep"]) == 2  # online with rollback=False, mean and SE
    assert zoo["decided_at"][0] is not None and 0 < zoo["decided_at"][0] < 200
    assert zoo["within_noise"] == (zoo["gain"][0] >= -zoo["tolerance"])
    md = (tmp_path / "online_quick.md").read_text()
    assert "online auto 1cycle" in md and "`friedman_mlp_sgd`" in md
    assert (tmp_path / "online_quick.png").stat().st_size > 10_000


def test_reading_corpus_reads_every_curve_with_every_rule(tmp_path: Path) -> None:
    import numpy as np

    from cyclr.suggest import methods, suggest

    lr = np.geomspace(1e-4, 1.0, 200)
    for i, bump in enumerate((20.0, 40.0)):
        loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + bump * lr**3
        r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
        r.save(tmp_path / f"curve{i}.json")
    flat = cyclr.RangeTestResult(lr=lr, loss=np.full(200, 2.3), smoothed_loss=np.full(200, 2.3))
    flat.save(tmp_path / "flat.json")
    out = tmp_path / "readings.json"
    _run("reading_corpus.py", "--curves", str(tmp_path), "--out", str(out))
    readings = json.loads(out.read_text())
    assert len(readings) == 3 * len(methods())
    r = cyclr.RangeTestResult.load(tmp_path / "curve1.json")
    b = suggest(r, "loss")
    assert readings["curve1.json|loss"] == {
        "base_lr": b.base_lr, "max_lr": b.max_lr, "method": "loss", "reason": b.reason
    }  # fmt: skip
    assert readings["flat.json|loss"]["error"] == "flat"

"""``cyclr demo`` end to end: the report folder, determinism, and the configuration."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import cyclr
from cyclr.demo import DemoConfig, run
from cyclr.demo.config import REPORT_FILES
from cyclr.range_test.recipe import linear_range

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}

#: A demo small enough to run twice in a test (about 2 s).
TINY: dict[str, Any] = {
    "seeds": (5,),
    "cycles": 3,
    "step_epochs": 2,
    "one_cycle_epochs": 4,
    "coarse_iters": 50,
    "range_test_iters": 100,
    "n_train": 1000,
    "eval_every": 10,
}


def _without_wall_times(data: Any) -> Any:
    if isinstance(data, dict):
        out = {k: _without_wall_times(v) for k, v in data.items() if k != "wall_s"}
        if "table" in out:  # its last column is the wall time
            out["table"] = [row[:-1] for row in out["table"]]
        return out
    if isinstance(data, list):
        return [_without_wall_times(v) for v in data]
    return data


@pytest.mark.slow
def test_demo_quick_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "cyclr.cli", "demo", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bars when stderr is not a terminal, no warnings
    for name in REPORT_FILES:
        assert (out / name).stat().st_size > 0, name
    for name in ("range_test.png", "schedules.png", "accuracy.png"):
        assert (out / name).stat().st_size > 20_000, name

    data = json.loads((out / "results.json").read_text())
    assert data["command"] == "cyclr demo --quick"
    config = data["config"]
    assert config["seeds"] == [0]
    (seed,) = data["seeds"]
    runs = {r["key"]: r for r in seed["runs"]}
    assert list(runs) == ["fixed", "triangular", "triangular2", "one_cycle"]

    # The range test: the shared two-stage recipe, its files, and the bounds read from it.
    rt = seed["range_test"]
    rt_iters = rt["iterations"]
    ramps = rt["ramps"]
    assert [r["mode"] for r in ramps] == ["exp", "linear"]
    assert rt_iters == sum(r["iterations"] for r in ramps)
    assert rt_iters <= config["coarse_iters"] + config["range_test_iters"]
    coarse = cyclr.RangeTestResult.load(out / "range_test_coarse.json")
    assert len(coarse) == ramps[0]["iterations"]
    assert (ramps[1]["start_lr"], ramps[1]["end_lr"]) == pytest.approx(linear_range(coarse))
    bounds = rt["bounds"]
    assert 0 < bounds["base_lr"] < bounds["max_lr"] < ramps[1]["end_lr"]
    fine = cyclr.RangeTestResult.load(out / "range_test.json")
    assert fine.suggest(config["method"]).max_lr == bounds["max_lr"]

    # The runs: whole CLR cycles, 1cycle on under a third of the budget, the target and costs.
    ipe = data["task"]["iters_per_epoch"]
    cycle = 2 * config["step_epochs"] * ipe
    target = data["baseline"]["target_acc"]
    assert target == runs["fixed"]["final_acc"] > 0.5  # one seed: the mean is its value
    for key, r in runs.items():
        curve = r["curve"]
        assert curve["iters"][-1] == r["iterations"] or r["diverged"]
        assert r["final_acc"] == curve["test_acc"][-1]
        assert r["final_acc"] is None or 0 <= r["final_acc"] <= 1
        reached = [i for i, a in zip(curve["iters"], curve["test_acc"]) if a >= target]
        charge = rt_iters if r["uses_range_test"] else 0
        cost = reached[0] + charge if reached else None
        assert data["summary"][key]["iters_to_target"] == [cost], key
        assert r["uses_range_test"] == (key != "fixed")
    for key in ("fixed", "triangular", "triangular2"):  # whole cycles, at least 3
        assert runs[key]["iterations"] % cycle == 0 and runs[key]["iterations"] >= 3 * cycle
    assert runs["one_cycle"]["iterations"] <= runs["fixed"]["iterations"] / 3
    assert runs["one_cycle"]["momentum"]["type"] == "Piecewise"
    assert data["summary"]["fixed"]["speedup"] == 1.0

    # The printed table is the one in results.json and in summary.md.
    for row in data["table"][1:]:
        assert re.search(r"\s+".join(re.escape(c) for c in row if c), proc.stdout), row
    summary = (out / "summary.md").read_text()
    for row in data["table"]:
        assert "| " + " | ".join(c or " " for c in row) + " |" in summary
    for name in ("range_test.png", "schedules.png", "accuracy.png"):
        assert f"]({name})" in summary
    assert proc.stdout.count("Seed 0: range test (") == 1  # the one line saying what was chosen
    assert f"Report: {out / 'summary.md'}" in proc.stdout
    assert len(proc.stdout.splitlines()) < 25  # no clutter


@pytest.mark.slow
def test_demo_is_deterministic() -> None:
    """Same seed, same numbers: one run here, one in a fresh process (a small configuration)."""
    here = run(DemoConfig(**TINY), out=None).to_dict()
    code = textwrap.dedent(f"""
        import json
        from cyclr.demo import DemoConfig, run
        print(json.dumps(run(DemoConfig(**{TINY!r}), out=None).to_dict()))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    there = json.loads(proc.stdout)
    assert _without_wall_times(json.loads(json.dumps(here))) == _without_wall_times(there)
    runs = here["seeds"][0]["runs"]
    assert runs[1]["curve"]["test_acc"] != runs[0]["curve"]["test_acc"]


@pytest.mark.slow
def test_demo_exp_range_and_report_without_grid_claim(tmp_path: Path) -> None:
    result = run(
        DemoConfig(**{**TINY, "third_policy": "exp_range", "baseline_lr": 0.02}), out=tmp_path
    )
    third = result.seeds[0].runs[2]
    assert isinstance(third.schedule, cyclr.ExpRange)
    assert third.label == "exp_range CLR"
    summary = (tmp_path / "summary.md").read_text()
    assert "given with --baseline-lr" in summary and "grid search" not in summary
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["command"].startswith('python -c "import cyclr.demo as d; d.run(d.DemoConfig(')


def test_demo_config_command_and_validation() -> None:
    assert DemoConfig().command() == "cyclr demo"
    assert DemoConfig.quick(seeds=(3,)).command() == "cyclr demo --quick --seeds 3"
    assert DemoConfig(seeds=(4, 5)).command() == "cyclr demo --seeds 4,5"
    assert DemoConfig(third_policy="exp_range").command() == "cyclr demo --third exp_range"
    assert (
        DemoConfig.quick(baseline_lr=0.02, method="loss").command()
        == "cyclr demo --quick --baseline-lr 0.02 --method loss"
    )
    with pytest.raises(ValueError, match="cycles must be >= 3"):
        DemoConfig(cycles=2)
    with pytest.raises(ValueError, match="third_policy"):
        DemoConfig(third_policy="cosine")

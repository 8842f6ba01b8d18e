"""``cyclr demo`` end to end: the report folder, determinism, the online 1cycle (and the range-test
one), and the configuration."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.support import ROOT
from tests.support.cli import ENV

import cyclr
from cyclr.demo import DemoConfig, run
from cyclr.demo.config import ONLINE_FILES, REPORT_FILES
from cyclr.demo.runs import recorded_schedule
from cyclr.range_test.recipe import linear_range

#: A demo small enough to run twice in a test (about 3 s). Its 1cycle has 100 updates, about the
#: fewest whose warm-up (45 updates) the online reading accepts; it reads badly (the loss blows
#: up in the ramp and again after the reading), which the tests of the recorded path want.
TINY: dict[str, Any] = {
    "seeds": (5,),
    "cycles": 3,
    "step_epochs": 2,
    "one_cycle_epochs": 10,
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
        assert r["uses_range_test"] == (key in ("triangular", "triangular2")), key
        assert (r["online"] is not None) == (key == "one_cycle"), key
    assert rt["used_by"] == ["triangular", "triangular2"]
    for key in ("fixed", "triangular", "triangular2"):  # whole cycles, at least 3
        assert runs[key]["iterations"] % cycle == 0 and runs[key]["iterations"] >= 3 * cycle
    assert runs["one_cycle"]["iterations"] <= runs["fixed"]["iterations"] / 3
    assert runs["one_cycle"]["momentum"]["type"] == "Piecewise"
    assert data["summary"]["fixed"]["speedup"] == 1.0

    # The 1cycle read its bounds from its own warm-up: the reading, its curve and its LR path.
    one = runs["one_cycle"]
    online = one["online"]
    assert config["one_cycle_bounds"] == "online"
    assert 0 < online["decided_at"] < one["iterations"] / 2
    assert online["warmup"]["iterations"] == online["decided_at"]
    warmup = cyclr.RangeTestResult.load(out / "one_cycle_warmup.json")
    assert len(warmup) == online["decided_at"] and warmup.config["online"] is True
    assert max(warmup.lr) == pytest.approx(online["warmup"]["lr_peak"], rel=1e-5)
    path = cyclr.schedule_from_dict(one["schedule"])
    lr = path(np.arange(one["iterations"]))
    d = online["decided_at"]
    assert lr[:d] == pytest.approx(warmup.lr)  # the exponential ramp, as recorded
    assert lr[d] == online["max_lr"] < lr[d - 1]  # then down to max_lr, and on down
    assert np.all(np.diff(lr[d:]) < 0) and lr[-1] < online["max_lr"] / 1000
    assert one["lr"] == f"max_lr {online['max_lr']:.3g}"
    for name in ONLINE_FILES:
        assert (out / name).stat().st_size > 0, name

    # The printed table is the one in results.json and in summary.md.
    for row in data["table"][1:]:
        assert re.search(r"\s+".join(re.escape(c) for c in row if c), proc.stdout), row
    summary = (out / "summary.md").read_text()
    for row in data["table"]:
        assert "| " + " | ".join(c or " " for c in row) + " |" in summary
    for name in ("range_test.png", "schedules.png", "accuracy.png", "one_cycle_warmup.png"):
        assert f"]({name})" in summary
    assert "**the 1cycle run is\n  charged nothing else**" in summary
    assert f"| 0 | {online['max_lr']:.3g} | {d} |" in summary
    assert proc.stdout.count("Seed 0: range test (") == 1  # the one line saying what was chosen
    assert (
        proc.stdout.count(
            f"Seed 0: 1cycle + momentum (online): max_lr {online['max_lr']:.3g} read online at "
            f"update {d} "
        )
        == 1
    )
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


@pytest.mark.slow
def test_demo_online_one_cycle_records_what_it_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The online 1cycle's schedule is the LR and momentum the optimizer held at each of its
    updates; it is charged no range test, the CLR runs are; the report says so. (TINY's warm-up
    is too short to read well: the loss blows up, which the recorded path must hold too.)"""
    from cyclr.demo import mnist1d

    applied: dict[str, list[tuple[float, float]]] = {}
    train = mnist1d.train

    def spy(model: Any, optimizer: Any, *args: Any, scheduler: Any = None, **kw: Any) -> Any:
        seen = applied.setdefault(type(scheduler).__name__, [])
        step = optimizer.step

        def recording_step(*a: Any, **k: Any) -> Any:
            group = optimizer.param_groups[0]
            seen.append((group["lr"], group["momentum"]))
            return step(*a, **k)

        optimizer.step = recording_step
        return train(model, optimizer, *args, scheduler=scheduler, **kw)

    monkeypatch.setattr(mnist1d, "train", spy)
    result = run(DemoConfig(**TINY), out=tmp_path)
    (seed,) = result.seeds
    one = seed.run("one_cycle")
    reading = one.online
    assert reading is not None and reading.bounds is not None
    lr, mom = np.array(applied["OnlineScheduler"]).T
    assert one.iterations == 100
    assert len(lr) == (one.iters[-1] if one.diverged else one.iterations)
    steps = np.arange(len(lr))
    np.testing.assert_allclose(one.schedule(steps), lr, rtol=1e-12)
    np.testing.assert_allclose(one.momentum(steps), mom, rtol=1e-12)
    assert one.schedule(len(lr) - 1) == one.schedule(one.iterations)  # held after the last
    d = reading.decided_at
    assert d is not None and d < len(lr)
    assert one.schedule(d) == reading.bounds.max_lr < one.schedule(d - 1)  # dropped at the reading

    # Charged nothing: its cost is its own iterations; the CLR runs pay for the range test.
    assert not one.uses_range_test and seed.range_test_users == ["triangular", "triangular2"]
    for key, charge in (("one_cycle", 0), ("triangular", seed.range_test_iters)):
        r = seed.run(key)
        for target in (0.1, 0.2):
            reach = r.iters_to_reach(target)
            want = None if reach is None else reach + charge
            assert seed.cost_to_reach(key, target) == want, (key, target)
    note = result.footnote()
    assert "the CLR runs are also charged the" in note
    assert "The 1cycle run read its bounds from its own warm-up" in note
    assert result.rows()[1][0] == "LR range test (CLR)"
    assert result.rows()[-1][1] == f"max_lr {reading.bounds.max_lr:.3g}"

    data = json.loads((tmp_path / "results.json").read_text())
    saved = data["seeds"][0]["runs"][3]
    assert saved["online"]["decided_at"] == reading.decided_at
    assert saved["online"]["max_lr"] == reading.bounds.max_lr
    assert saved["online"]["log"] == reading.log
    assert cyclr.schedule_from_dict(saved["schedule"]) == one.schedule
    summary = (tmp_path / "summary.md").read_text()
    assert "which only the CLR runs use" in summary
    assert ("Blow-ups handled:" in summary) == bool(reading.blow_ups)


@pytest.mark.slow
def test_demo_one_cycle_between_the_range_tests_bounds(tmp_path: Path) -> None:
    """``one_cycle_bounds="range_test"``: the demo as before the online reading."""
    config = DemoConfig(**{**TINY, "one_cycle_bounds": "range_test"})
    result = run(config, out=tmp_path)
    (seed,) = result.seeds
    one = seed.run("one_cycle")
    assert one.uses_range_test and one.online is None and one.label == "1cycle + momentum"
    assert one.schedule == seed.bounds.one_cycle(total_steps=one.iterations)
    assert seed.range_test_users == ["triangular", "triangular2", "one_cycle"]
    assert "CLR and 1cycle runs are also charged" in result.footnote()
    assert "own warm-up" not in result.footnote()
    assert result.rows()[1][0] == "LR range test"
    for name in ONLINE_FILES:
        assert not (tmp_path / name).exists()
    assert "online" not in (tmp_path / "summary.md").read_text()


def test_recorded_schedule_gives_back_every_value() -> None:
    ramp = list(np.geomspace(1e-6, 0.4, 60))
    down = list(np.linspace(0.3, 0.03, 50)) + list(np.linspace(0.03, 3e-5, 11)[1:])
    values = ramp + down
    s = recorded_schedule(values)
    steps = np.arange(len(values))
    np.testing.assert_allclose(s(steps), values, rtol=1e-12)
    assert [s(int(t)) for t in steps[::7]] == pytest.approx(values[::7], rel=1e-12)
    assert len(s.knots) == 60 + 3  # every step of the ramp; each straight stretch by its ends
    assert s(len(values) + 5) == values[-1]  # held after the last update
    assert recorded_schedule([0.1]).values == (0.1, 0.1)
    with pytest.raises(ValueError, match="finite"):
        recorded_schedule([0.1, float("nan")])


def test_demo_config_command_and_validation() -> None:
    assert DemoConfig().command() == "cyclr demo"
    assert DemoConfig.quick(seeds=(3,)).command() == "cyclr demo --quick --seeds 3"
    assert DemoConfig(seeds=(4, 5)).command() == "cyclr demo --seeds 4,5"
    assert DemoConfig(third_policy="exp_range").command() == "cyclr demo --third exp_range"
    assert (
        DemoConfig.quick(baseline_lr=0.02, method="loss").command()
        == "cyclr demo --quick --baseline-lr 0.02 --method loss"
    )
    assert (
        DemoConfig(one_cycle_bounds="range_test").command()
        == "cyclr demo --one-cycle-bounds range-test"
    )
    ranged = DemoConfig.quick(seeds=(2,), one_cycle_bounds="range_test")
    assert ranged.command() == "cyclr demo --quick --seeds 2 --one-cycle-bounds range-test"
    assert DemoConfig.quick().one_cycle_bounds == "online"
    assert DemoConfig(**TINY).command().startswith('python -c "')
    with pytest.raises(ValueError, match="one_cycle_bounds"):
        DemoConfig(one_cycle_bounds="range-test")  # the command line's spelling
    short = {**TINY, "one_cycle_epochs": 4}  # 40 updates: a warm-up of 17, too short to read
    with pytest.raises(ValueError, match=r"needs a longer 1cycle run than 40 updates"):
        DemoConfig(**short)
    assert DemoConfig(**short, one_cycle_bounds="range_test").one_cycle_steps == 40
    with pytest.raises(ValueError, match="cycles must be >= 3"):
        DemoConfig(cycles=2)
    with pytest.raises(ValueError, match="third_policy"):
        DemoConfig(third_policy="cosine")

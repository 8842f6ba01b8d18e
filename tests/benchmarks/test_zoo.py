"""The task zoo (``benchmarks/zoo``): its planner and report on made-up results (fast), and a
``--quick`` smoke run of the whole harness that is re-rendered from its JSON (slow)."""

from __future__ import annotations

import doctest
import importlib
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _zoo(name: str) -> ModuleType:
    """``zoo.<name>`` from benchmarks/ (the harness is not an installed package)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(f"zoo.{name}")


def test_tasks_declare_what_the_zoo_needs() -> None:
    tasks = _zoo("tasks")
    ts = list(tasks.TASKS.values())
    assert len(ts) >= 8
    assert sum(t.holdout for t in ts) == 2
    assert {t.optimizer for t in ts} == {"sgd", "adam", "adamw"}
    assert min(t.batch_size for t in ts) == 16 and max(t.batch_size for t in ts) == 256
    assert {t.metric for t in ts} == {"accuracy", "mse", "val_loss"}
    for t in ts:
        assert len(t.seeds) == 3 and t.budget >= 1000 and t.lr_center > 0
        assert tasks.Task.from_dict(json.loads(json.dumps(t.to_dict()))) == t


@pytest.mark.parametrize("key", ["grammar_lm_adamw", "digits_ae_adamw", "digits_resnet_adamw"])
def test_models_fit_loss_of_model_of_inputs_and_targets(key: str) -> None:
    tasks = _zoo("tasks")
    task = tasks.TASKS[key]
    data = tasks.load(task.data)
    x, y = next(iter(tasks.Batches(data.x_train, data.y_train, task.batch_size, 0)))
    model = tasks.make_model(task, 0)
    loss = tasks.loss_fn(task)(model(x), y)
    assert loss.ndim == 0 and math.isfinite(loss.item())
    again = tasks.make_model(task, 0)  # the same initial weights for the same seed
    assert all((a == b).all() for a, b in zip(model.parameters(), again.parameters()))
    assert math.isfinite(tasks.evaluate(task, model))


def test_doctests() -> None:
    for name in ("tasks", "plan"):
        result = doctest.testmod(_zoo(name), optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, name


def _finish(planner: Any, metric: Any) -> list[dict[str, Any]]:
    """Run the planner to the end with ``metric(job)`` standing in for training."""
    done = []
    while (job := planner.pop()) is not None:
        method = job["kind"]
        rec = {**job, "method": method, "metric": metric(job), "seconds": 0.0}
        if method in ("cyclr_auto", "cyclr_readme"):
            other = "cyclr_auto_triangular" if method == "cyclr_auto" else "valley_standin"
            recs = [
                {**rec, "max_lr": 0.1, "base_lr": 0.02, "rt_updates": 500, "updates": 1500},
                {**rec, "method": other, "max_lr": 0.1, "base_lr": 0.02, "rt_updates": 500},
            ]
        elif method in ("lr_finder", "schedulefree", "prodigy"):
            recs = [{**rec, "max_lr": 0.05, "rt_updates": 0}]
        else:
            recs = [rec]
        planner.add(recs)
        done += recs
    return done


def test_grids_grow_past_a_best_end_then_refine() -> None:
    plan, tasks = _zoo("plan"), _zoo("tasks")
    task = tasks.TASKS["mnist1d_cnn_sgd"]  # centre 0.1
    planner = plan.Planner([task], [0, 1], plan.GridSpec(), {})

    def metric(job: dict[str, Any]) -> float:  # accuracy peaks at lr = 10 (k = 4)
        lr = job.get("max_lr", 0.1)
        return 0.9 - 0.05 * (math.log10(lr) - 1.0) ** 2

    recs = _finish(planner, metric)
    one = sorted({r["k"] for r in recs if r["method"] == "one_cycle"})
    assert one == [-2, -1, 0, 1, 2, 3, 3.5, 4, 4.5, 5]  # grown 3 times, refined around 4
    fixed = sorted({r["k"] for r in recs if r["method"] == "fixed"})
    assert fixed == [-3, -2, -1, 0, 1, 2, 3, 4]  # grown 3 times (the limit)
    tri = {(r["k"], r["ratio"]) for r in recs if r["method"] == "triangular"}
    assert {k for k, _ in tri} == {3, 4, 5}  # started at (3, 4) from the 1cycle best, grown to 5
    assert {r for _, r in tri} == {4.0, 10.0}
    seeds = {(r["method"], r["k"]): set() for r in recs if "k" in r}
    for r in recs:
        if "k" in r:
            seeds[(r["method"], r["k"])].add(r["seed"])
    assert all(s == {0, 1} for s in seeds.values())


def test_summary_regret_and_goals_on_made_up_results() -> None:
    plan, tasks, report = _zoo("plan"), _zoo("tasks"), _zoo("report")
    task = tasks.TASKS["friedman_mlp_sgd"]  # MSE, lower is better, goal 5%
    planner = plan.Planner([task], [0, 1, 2], plan.GridSpec(), {})

    def metric(job: dict[str, Any]) -> float:
        lr, s = job.get("max_lr", 0.03), job["seed"]
        base = 0.1 + 0.02 * (math.log10(lr) + 1.5) ** 2 + 0.001 * s
        made_up = {"cyclr_auto": 0.102, "lr_finder": 0.2, "cyclr_readme": 0.15, "prodigy": 0.12}
        return made_up.get(job["kind"], 0.3 if job["kind"] == "schedulefree" else base)

    recs = _finish(planner, metric)
    s = report.summarize_task(task, recs, [0, 1, 2])
    assert s["oracle"]["one_cycle"] == "0.03"  # the grid point nearest 10 ** -1.5
    rows = s["rows"]
    o = rows["oracle_one_cycle"]
    assert o["regret_mean"] == 0 and o["regret_worst"] == 0
    auto = rows["cyclr_auto"]
    expected = 100 * (0.102 / o["mean"] - 1)
    assert auto["regret_mean"] == pytest.approx(expected)
    assert auto["regret_worst"] == pytest.approx(100 * (0.102 / o["values"]["0"] - 1))
    g = s["goals"]
    assert g["regret_met"] and g["peers_met"] and g["spread_met"]
    assert g["rt_cost"] == pytest.approx(500 / (s["one_cycle_grid_points"] * task.budget))
    assert rows["lr_finder"]["regret_mean"] > 50
    md = report.markdown(
        {
            "summary": {task.key: s},
            "config": {"seeds": [0, 1, 2], "workers": 2},
            "command": "test",
            "wall_s": 60.0,
            "estimate": {"minutes": 1.0},
            "versions": {"cyclr": "x"},
            "notes": ["a note"],
        }
    )
    assert "| `friedman_mlp_sgd` |" in md and "oracle: best 1cycle" in md and "a note" in md


@pytest.mark.slow
def test_quick_run_and_rerender(tmp_path: Path) -> None:
    for module in ("torch_lr_finder", "schedulefree", "prodigyopt", "sklearn", "mnist1d"):
        pytest.importorskip(module)
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "zoo"), "--quick", "--quiet", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCH.parent,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Estimated full run" in proc.stdout and "| method |" in proc.stdout
    report = json.loads((out / "zoo_quick.json").read_text())
    assert report["quick"] is True and report["config"]["seeds"] == [0]
    assert set(report["summary"]) == {"mnist1d_mlp_adam", "friedman_mlp_sgd"}
    assert set(report["estimate_full_zoo"]["per_task"]) == set(_zoo("tasks").TASKS)
    for s in report["summary"].values():
        assert {"oracle_one_cycle", "oracle_fixed", "oracle_triangular"} <= set(s["rows"])
        methods = {r["method"] for r in report["records"] if r["task"] == s["task"]["key"]}
        assert {
            "cyclr_auto",
            "cyclr_auto_triangular",
            "cyclr_readme",
            "valley_standin",
            "lr_finder",
            "schedulefree",
            "prodigy",
        } <= methods
        assert s["goals"]["available"] in (True, False)
    md = (out / "zoo_quick.md").read_text()
    assert "## Goals" in md and "fastai was not run" in md
    assert (out / "zoo_quick.png").stat().st_size > 10_000
    again = tmp_path / "again"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "zoo"),
            "--from-json",
            str(out / "zoo_quick.json"),
            "--out",
            str(again),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCH.parent,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (again / "zoo_quick.md").read_text() == md
    assert json.loads((again / "zoo_quick.json").read_text()) == report

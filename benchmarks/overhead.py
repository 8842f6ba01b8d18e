"""Both overhead benchmarks in one run, with one combined report.

- ``scheduler_overhead.py``: ``CyclicScheduler.step()`` against torch's ``CyclicLR.step()`` and
  ``OneCycleLR.step()`` (goal: <= 0.5x).
- ``range_test_overhead.py``: ``cyclr.torch.range_test`` against a bare training loop and
  torch-lr-finder's ``range_test`` at the same number of updates (goal: <= 1.05x of the bare
  loop).

Each is a ratio measured side by side, interleaved, inside its own script; this one runs both
back to back (their own ``main()``) and writes ``overhead.{json,md}``.

    python benchmarks/overhead.py            # full run (a few minutes)
    python benchmarks/overhead.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import range_test_overhead
import scheduler_overhead

RESULTS = Path(__file__).parent / "results"
SCHEDULER_GOAL = 0.5


def _run(main: Any, argv: list[str], out: Path) -> tuple[dict[str, Any], str, float]:
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main([*argv, "--out", str(out)])
    if rc:
        raise RuntimeError(f"{main.__module__}.main returned {rc}")
    return (
        json.loads(out.read_text()),
        out.with_suffix(".md").read_text().strip(),
        time.perf_counter() - t0,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few seconds, for smoke tests")
    ap.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    args = ap.parse_args(argv)
    extra = ["--quick"] if args.quick else []
    cmd = " ".join(["python benchmarks/overhead.py", *(sys.argv[1:] if argv is None else argv)])
    with tempfile.TemporaryDirectory() as tmp:
        sched, sched_md, sched_s = _run(
            scheduler_overhead.main, extra, Path(tmp) / "scheduler.json"
        )
        rt, rt_md, rt_s = _run(range_test_overhead.main, extra, Path(tmp) / "range_test.json")
    worst = max(c["ratio"] for c in sched["cases"].values())
    cy = rt["variants"]["cyclr"]
    lf = rt["variants"].get("lr-finder")
    goals = {
        "scheduler_worst_ratio": worst,
        "scheduler_goal": SCHEDULER_GOAL,
        "scheduler_goal_met": worst <= SCHEDULER_GOAL,
        "range_test_ratio_median": cy["ratio_median"],
        "range_test_ratio_best": cy.get("ratio_best"),
        "range_test_goal": rt["goal_ratio"],
        "range_test_goal_met": rt["goal_met"],
        "range_test_vs_lr_finder": None if lf is None else cy["ratio_median"] / lf["ratio_median"],
    }
    report = {
        "command": cmd,
        "quick": args.quick,
        "goals": goals,
        "loadavg_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "scheduler": {**sched, "seconds": sched_s},
        "range_test": {**rt, "seconds": rt_s},
    }
    vs_lf = goals["range_test_vs_lr_finder"]
    md = "\n".join(
        [
            f"Command: `{cmd}`",
            "",
            f"**Scheduler step** ({sched['rounds']} interleaved rounds of "
            f"{sched['steps_per_round']:,} steps): worst ratio {worst:.2f}× (goal ≤ "
            f"{SCHEDULER_GOAL:g}×: {'met' if goals['scheduler_goal_met'] else 'missed'}).",
            "",
            sched_md,
            "",
            f"**Range test** ({rt['rounds']} interleaved rounds of "
            f"{rt['updates_per_run']} updates, "
            f"{rt['model']}): cyclr {cy['ratio_median']:.3f}× the bare loop (median of rounds), "
            + (f"{cy['ratio_best']:.3f}× best-of-rounds " if cy.get("ratio_best") else "")
            + f"(goal ≤ {rt['goal_ratio']:g}×: {'met' if rt['goal_met'] else 'missed'})"
            + (f"; {vs_lf:.3f}× torch-lr-finder's time" if vs_lf else "")
            + ".",
            "",
            rt_md,
            "",
        ]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "overhead.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "overhead.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

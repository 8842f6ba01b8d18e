"""What a demo run measured: one :class:`PolicyRun` per policy and the :class:`DemoResult`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cyclr.demo.config import BASELINE_GRID, DemoConfig
from cyclr.range_test.result import RangeTestResult
from cyclr.schedules.base import Schedule
from cyclr.schedules.compose import Constant
from cyclr.schedules.one_cycle import OneCycle
from cyclr.suggest.bounds import Bounds

__all__ = ["DemoResult", "PolicyRun", "one_line", "ramp_span"]


@dataclass
class PolicyRun:
    """One training run of the demo."""

    key: str
    label: str
    schedule: Schedule
    momentum: Schedule
    iterations: int
    uses_range_test: bool
    iters: list[int] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    final_acc: float = math.nan
    diverged: bool = False
    wall_s: float = 0.0
    iters_to_target: int | None = None
    cost: int | None = None
    speedup: float | None = None

    @property
    def lr_text(self) -> str:
        """The LR or LR range, e.g. ``"0.05"`` or ``"0.0811–0.191"``."""
        s: Any = self.schedule
        if isinstance(s, Constant):
            return f"{s.value:.3g}"
        lo = s(0) if isinstance(s, OneCycle) else s.base_lr
        return f"{lo:.3g}–{s.max_lr:.3g}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "key": self.key,
            "label": self.label,
            "lr": self.lr_text,
            "schedule": self.schedule.to_dict(),
            "momentum": self.momentum.to_dict(),
            "iterations": self.iterations,
            "uses_range_test": self.uses_range_test,
            "final_acc": _round(self.final_acc),
            "best_acc": _round(max(self.test_acc)) if self.test_acc else None,
            "diverged": self.diverged,
            "iters_to_target": self.iters_to_target,
            "cost_iters": self.cost,
            "speedup": None if self.speedup is None else round(self.speedup, 4),
            "wall_s": round(self.wall_s, 3),
            "curve": {"iters": list(self.iters), "test_acc": [_round(a) for a in self.test_acc]},
        }


def _round(x: float) -> float | None:
    return round(float(x), 6) if math.isfinite(x) else None


@dataclass
class DemoResult:
    """Everything a demo run measured; :meth:`table` and :meth:`to_dict` present it."""

    config: DemoConfig
    range_tests: list[RangeTestResult]
    bounds: Bounds
    range_test_wall_s: float
    runs: list[PolicyRun]
    n_train: int
    n_test: int
    iters_per_epoch: int
    wall_s: float = 0.0
    out: Path | None = None
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def baseline(self) -> PolicyRun:
        """The fixed-LR run."""
        return self.runs[0]

    @property
    def target(self) -> float:
        """The baseline's final test accuracy: the bar every policy is timed against."""
        return self.baseline.final_acc

    @property
    def range_test(self) -> RangeTestResult:
        """The (linear) range test the bounds were read from."""
        return self.range_tests[-1]

    @property
    def range_test_iters(self) -> int:
        """Updates of all range-test sweeps (a sweep stops early when the loss diverges)."""
        return sum(len(r) for r in self.range_tests)

    def sweep_text(self) -> str:
        """How the range test swept, e.g. ``"exp 1e-07→10 (100 it), linear 0.00089→0.89 (400
        it)"``."""
        return ", ".join(f"{r.mode} {ramp_span(r)} ({len(r)} it)" for r in self.range_tests)

    def choice_line(self) -> str:
        """One line: which bounds were chosen, and why."""
        b = self.bounds
        return (
            f"Range test ({self.sweep_text()}): base_lr {b.base_lr:.3g}, max_lr "
            f"{b.max_lr:.3g} ({b.method} rule). {one_line(b.reason)}"
        )

    def rows(self) -> list[list[str]]:
        """The table's cells, header first."""
        target = f"{100 * self.target:.1f}%"
        rows = [
            ["policy", "LR", "iterations", "final acc", f"iters to {target}", "speed-up*", "wall"]
        ]
        rows.append(
            [
                "LR range test",
                ramp_span(self.range_test),
                f"{self.range_test_iters:,}",
                "",
                "",
                "",
                f"{self.range_test_wall_s:.1f} s",
            ]
        )
        for r in self.runs:
            final = "diverged" if r.diverged else f"{100 * r.final_acc:.1f}%"
            reach = "not reached" if r.iters_to_target is None else f"{r.iters_to_target:,}"
            speed = "–" if r.speedup is None else f"{r.speedup:.1f}x"
            rows.append(
                [r.label, r.lr_text, f"{r.iterations:,}", final, reach, speed, f"{r.wall_s:.1f} s"]
            )
        return rows

    def footnote(self) -> str:
        """What the speed-up column means."""
        text = (
            f"* speed-up = the fixed-LR run's iterations to its final accuracy "
            f"({100 * self.target:.1f}%) / the policy's, where the CLR and 1cycle runs are "
            f"also charged the {self.range_test_iters} iterations of the range test that "
            f"chose their LRs. "
        )
        return f"{text}The fixed LR {self.config.baseline_lr:g} is {self.baseline_source()}."

    def baseline_source(self) -> str:
        """Where the fixed LR came from, e.g. ``"the best of a grid search over ..."``."""
        if self.config.baseline_lr != DemoConfig().baseline_lr:
            return "given with --baseline-lr"
        grid = ", ".join(f"{x:g}" for x in BASELINE_GRID)
        return (
            f"the best of a grid search over {grid} "
            f"({len(BASELINE_GRID)} runs of 3,200 iterations per seed), whose cost is not "
            f"counted"
        )

    def table(self) -> str:
        """A plain-text table for the terminal."""
        rows = self.rows()
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = []
        for n, row in enumerate(rows):
            cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
            lines.append("  ".join(cells).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def markdown_table(self) -> str:
        """The table in Markdown."""
        rows = self.rows()
        lines = [
            "| " + " | ".join(rows[0]) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(rows[0]) - 1)) + "|",
        ]
        lines += ["| " + " | ".join(c or " " for c in row) + " |" for row in rows[1:]]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Everything, as plain JSON data (the content of ``results.json``)."""
        c = self.config
        return {
            "format": "cyclr.demo/1",
            "command": c.command(),
            "config": asdict(c),
            "task": {
                "name": "MNIST-1D",
                "data_seed": 42,
                "n_train": self.n_train,
                "n_test": self.n_test,
                "iters_per_epoch": self.iters_per_epoch,
                "model": "1D CNN (3 conv layers, 25 channels)",
                "optimizer": f"SGD, momentum {c.momentum:g}",
                "batch_size": c.batch_size,
            },
            "range_test": {
                "iterations": self.range_test_iters,
                "kind": c.range_test,
                "sweeps": [
                    {
                        "mode": r.mode,
                        "start_lr": r.config.get("start_lr"),
                        "end_lr": r.config.get("end_lr"),
                        "iterations": len(r),
                        "stop_reason": r.stop_reason,
                    }
                    for r in self.range_tests
                ],
                "wall_s": round(self.range_test_wall_s, 3),
                "bounds": {
                    "base_lr": self.bounds.base_lr,
                    "max_lr": self.bounds.max_lr,
                    "method": self.bounds.method,
                    "reason": self.bounds.reason,
                },
            },
            "baseline": {
                "lr": c.baseline_lr,
                "source": self.baseline_source(),
                "target_acc": _round(self.target),
                "iters_to_target": self.baseline.iters_to_target,
            },
            "runs": [r.to_dict() for r in self.runs],
            "table": self.rows(),
            "footnote": self.footnote(),
            "wall_s": round(self.wall_s, 3),
            "versions": self.versions,
        }


def ramp_span(r: RangeTestResult) -> str:
    """The planned sweep of a range test, ``"start→end"``."""
    start = r.config.get("start_lr", r.lr[0] if len(r) else math.nan)
    end = r.config.get("end_lr", r.lr[-1] if len(r) else math.nan)
    return f"{start:.2g}→{end:.2g}"


def one_line(text: str) -> str:
    return " ".join(text.split())

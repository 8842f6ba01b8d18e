"""What a demo run measured over seeds: the :class:`DemoResult` and its table (mean ± standard
deviation); each seed's runs are in :mod:`cyclr.demo.runs`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cyclr.demo.config import BASELINE_GRID, DemoConfig
from cyclr.demo.runs import (
    OnlineReading,
    PolicyRun,
    SeedRun,
    _lr_range,
    _lr_text,
    _round,
    one_line,
    ramp_span,
    recorded_schedule,
)

__all__ = [
    "DemoResult",
    "OnlineReading",
    "PolicyRun",
    "SeedRun",
    "mean_sd",
    "one_line",
    "ramp_span",
    "recorded_schedule",
]


def mean_sd(values: Sequence[float], scale: float = 1.0, digits: int = 1) -> str:
    """``"m ± sd"`` of ``values * scale`` (sample standard deviation), or one value alone.

    Example:
        >>> mean_sd([0.931, 0.94, 0.925], scale=100)
        '93.2 ± 0.8'
        >>> mean_sd([0.931], scale=100)
        '93.1'
    """
    x = np.asarray(values, dtype=float) * scale
    if len(x) == 1:
        return f"{x[0]:.{digits}f}"
    return f"{x.mean():.{digits}f} ± {x.std(ddof=1):.{digits}f}"


@dataclass
class DemoResult:
    """The demo over every seed; :meth:`table` and :meth:`to_dict` present it."""

    config: DemoConfig
    seeds: list[SeedRun]
    n_train: int
    n_test: int
    iters_per_epoch: int
    wall_s: float = 0.0
    out: Path | None = None
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        """The policies, in the table's order (the fixed-LR baseline first)."""
        return [r.key for r in self.seeds[0].runs]

    @property
    def target(self) -> float:
        """The bar every policy is timed against: the fixed LR's final accuracy, seed mean."""
        return float(np.mean([s.run("fixed").final_acc for s in self.seeds]))

    @property
    def range_test_iters(self) -> float:
        """Range-test updates, mean over seeds."""
        return float(np.mean([s.range_test_iters for s in self.seeds]))

    def finals(self, key: str) -> list[float]:
        """Final test accuracy of policy ``key``, one per seed."""
        return [s.run(key).final_acc for s in self.seeds]

    def costs(self, key: str) -> list[int | None]:
        """Iterations to :attr:`target` of policy ``key`` per seed (range test included)."""
        return [s.cost_to_reach(key, self.target) for s in self.seeds]

    def speedup(self, key: str) -> float | None:
        """Mean iterations the baseline needs to reach the target / the policy's mean cost,
        over the seeds where both reach it."""
        pairs = [
            (b, c)
            for b, c in zip(self.costs("fixed"), self.costs(key))
            if b is not None and c is not None and c > 0
        ]
        if not pairs:
            return None
        return float(np.mean([b for b, _ in pairs]) / np.mean([c for _, c in pairs]))

    def rows(self) -> list[list[str]]:
        """The table's cells, header first."""
        n = len(self.seeds)
        target = f"{100 * self.target:.1f}%"
        head = ["policy", "LR", "iterations", "final acc %", f"iters to {target}", "speed-up*"]
        rows = [[*head, "wall"]]
        ends = [s.range_test.config.get("end_lr", math.nan) for s in self.seeds]
        users = self.seeds[0].range_test_users
        rows.append(
            [
                "LR range test" if "one_cycle" in users else "LR range test (CLR)",
                f"ramp to {np.mean(ends):.2g}",
                f"{self.range_test_iters:,.0f}",
                "",
                "",
                "",
                f"{np.mean([s.range_test_wall_s for s in self.seeds]):.1f} s",
            ]
        )
        for key in self.keys:
            runs = [s.run(key) for s in self.seeds]
            diverged = sum(r.diverged for r in runs)
            final = mean_sd(self.finals(key), 100) + (f" ({diverged} diverged)" if diverged else "")
            reached = [c for c in self.costs(key) if c is not None]
            reach = "not reached" if not reached else mean_sd(reached, digits=0)
            if 0 < len(reached) < n:
                reach += f" ({len(reached)}/{n})"
            speed = self.speedup(key)
            rows.append(
                [
                    runs[0].label,
                    self._lr_column(key),
                    f"{runs[0].iterations:,}",
                    final,
                    reach,
                    "–" if speed is None else f"{speed:.1f}x",
                    f"{np.mean([r.wall_s for r in runs]):.1f} s",
                ]
            )
        return rows

    def _lr_column(self, key: str) -> str:
        runs = [s.run(key) for s in self.seeds]
        if runs[0].online is not None:
            read = [r.online.bounds.max_lr for r in runs if r.online and r.online.bounds]
            if len(runs) == 1 or not read:
                return runs[0].lr_text
            more = "" if len(read) == len(runs) else f" ({len(read)}/{len(runs)} read)"
            return f"max_lr {np.mean(read):.2g}{more}"
        schedules = [r.schedule for r in runs]
        if key == "fixed" or len(schedules) == 1:
            return _lr_text(schedules[0])
        lo, hi = zip(*(_lr_range(s) for s in schedules))
        return f"{np.mean(lo):.2g}–{np.mean(hi):.2g}"

    def footnote(self) -> str:
        """What the columns mean, and what ran."""
        n = len(self.seeds)
        seeds = ", ".join(map(str, self.config.seeds))
        if n == 1:
            more = "without --quick" if self.config.cycles < DemoConfig().cycles else "with --seeds"
            over = (
                f"One seed ({seeds}): a single seed is noisy, and cyclical runs can end above or "
                f"below the fixed LR by chance; run `cyclr demo` {more} for more. "
            )
        else:
            over = (
                f"Mean ± standard deviation over {n} seeds ({seeds}); LRs are seed means. "
                f"Iterations to the target count the seeds that reach it. "
            )
        mean = " averaged over seeds" if n > 1 else ""
        charged = "CLR and 1cycle runs are" if self._one_cycle_charged() else "CLR runs are"
        text = (
            f"{over}* speed-up = the fixed-LR run's iterations to the target "
            f"({100 * self.target:.1f}%, its final accuracy{mean}) / the policy's, where the "
            f"{charged} also charged the {self.range_test_iters:,.0f} iterations of the range "
            f"test that chose their LRs. "
        )
        if not self._one_cycle_charged():
            text += (
                "The 1cycle run read its bounds from its own warm-up (online, no separate range "
                "test): its warm-up is part of its iterations, and it is charged nothing else. "
            )
        return f"{text}The fixed LR {self.config.baseline_lr:g} is {self.baseline_source()}."

    def _one_cycle_charged(self) -> bool:
        return "one_cycle" in self.seeds[0].range_test_users

    def baseline_source(self) -> str:
        """Where the fixed LR came from, e.g. ``"the best of a grid search over ..."``."""
        if self.config.baseline_lr != DemoConfig().baseline_lr:
            return "given with --baseline-lr"
        grid = ", ".join(f"{x:g}" for x in BASELINE_GRID)
        return (
            f"the best of a grid search over {grid} (3 seeds x 3,200 iterations each), whose "
            "cost is not counted"
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
            "format": "cyclr.demo/3",
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
            "baseline": {
                "lr": c.baseline_lr,
                "source": self.baseline_source(),
                "target_acc": _round(self.target),
            },
            "summary": {
                key: {
                    "final_acc": [_round(a) for a in self.finals(key)],
                    "iters_to_target": self.costs(key),
                    "speedup": self.speedup(key),
                }
                for key in self.keys
            },
            "seeds": [s.to_dict() for s in self.seeds],
            "table": self.rows(),
            "footnote": self.footnote(),
            "wall_s": round(self.wall_s, 3),
            "versions": self.versions,
        }

"""``cyclr demo``: cyclical learning rates and super-convergence end to end, on MNIST-1D.

The pipeline behind the ``cyclr demo`` command, on a laptop CPU in about a minute, with nothing
downloaded (MNIST-1D is generated locally):

1. an LR range test (Smith 2015, §3.3) with the paper's linear sweep, and the CLR bounds read
   from it by :meth:`cyclr.RangeTestResult.suggest`;
2. four training runs of the same 1D CNN (SGD, momentum 0.9, batch 100), all from the same
   initial weights and batch order:

   - **fixed LR**, the baseline: 0.05, the best fixed LR of a grid search on this task
     (:data:`BASELINE_GRID`);
   - **triangular** CLR between the suggested bounds, ``step_size`` = 4 epochs (the paper:
     2–10), for a whole number of cycles (>= 3);
   - **triangular2** (or **exp_range**) with the same bounds and cycles;
   - **1cycle** with cyclical momentum 0.95 → 0.85 → 0.95 (Smith & Topin 2017; Smith 2018) on
     under a third of the budget (25 epochs against 80): super-convergence;

3. a table: final test accuracy, iterations to reach the fixed-LR baseline's final accuracy,
   speed-up against the baseline (charging the range test to the runs that use its bounds) and
   wall time;
4. a report folder: ``range_test.png``, ``schedules.png``, ``accuracy.png``, ``results.json``,
   ``range_test.json`` and ``summary.md``.

Everything is deterministic for a given seed: PyTorch runs on one thread (results on the same
machine do not depend on the number of cores) and every random number comes from ``seed``.

Example:
    >>> from cyclr.demo import DemoConfig
    >>> c = DemoConfig.quick(seed=3)
    >>> c.seed, c.cycles, c.one_cycle_epochs
    (3, 4, 10)
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cyclr import _validate as v
from cyclr.range_test.result import RangeTestResult
from cyclr.schedules.base import Schedule
from cyclr.schedules.compose import Constant
from cyclr.schedules.one_cycle import OneCycle
from cyclr.suggest.bounds import Bounds

__all__ = ["DemoConfig", "DemoResult", "PolicyRun", "run"]

#: The grid search that chose the default fixed LR, 0.05: mean final test accuracy of 3 seeds
#: after 3200 iterations at each LR (SGD momentum 0.9, batch 100, the demo's CNN).
BASELINE_GRID = {0.01: 0.859, 0.02: 0.897, 0.05: 0.933, 0.1: 0.917, 0.2: 0.102}
#: How the demo runs the LR range test.
RANGE_TESTS = ("two_stage", "linear")
#: Policies for the third run (the CLR paper's two decaying variants).
THIRD_POLICIES = ("triangular2", "exp_range")
#: Colours of the four policies, the same in every plot.
COLORS = {
    "fixed": "#555555",
    "triangular": "#1f77b4",
    "triangular2": "#2ca02c",
    "exp_range": "#2ca02c",
    "one_cycle": "#d62728",
}
#: The files a report folder holds.
REPORT_FILES = (
    "summary.md",
    "results.json",
    "range_test.json",
    "range_test.png",
    "schedules.png",
    "accuracy.png",
)


@dataclass(frozen=True)
class DemoConfig:
    """Settings of a demo run. ``DemoConfig()`` is the default run, ``DemoConfig.quick()`` the
    short one (for tests and a first look).

    Attributes:
        seed: seeds the model's initial weights, the batch order and the range test.
        cycles: full CLR cycles for the fixed, triangular and triangular2 runs; their common
            budget is ``cycles * 2 * step_epochs`` epochs, so the CLR runs stop at the end of a
            cycle (the paper: at least 3 cycles).
        step_epochs: the CLR half-cycle ``step_size`` in epochs (the paper: 2–10).
        one_cycle_epochs: the 1cycle run's budget in epochs.
        baseline_lr: the fixed LR of the baseline. 0.05 is the best fixed LR of a grid search
            on this task (:data:`BASELINE_GRID`; about 93% test accuracy after 3200
            iterations); the cyclical runs need no such search.
        third_policy: ``"triangular2"`` (the CLR paper's CIFAR-10 result) or ``"exp_range"``.
        range_test: ``"two_stage"`` (as :func:`cyclr.torch.auto_schedule` and ``cyclr find``
            do: a ``coarse_iters`` exponential sweep finds where the loss blows up, then the
            paper's linear sweep of ``range_test_iters`` updates runs from a thousandth of that
            LR up to it) or ``"linear"`` (one linear sweep from ``range_start_lr`` to
            ``range_end_lr``).
        coarse_iters, range_test_iters, range_start_lr, range_end_lr: see ``range_test``.
        method: the rule that reads the bounds (see :func:`cyclr.suggest.suggest`).
        momentum: SGD momentum of the range test and of the fixed and CLR runs.
        batch_size: mini-batch size.
        eval_every: test accuracy is recorded every ``eval_every`` iterations (one epoch).
        n_train: keep only the first ``n_train`` training examples (``None``: all 4000).
        threads: PyTorch CPU threads during the demo (1 keeps results independent of the
            machine's core count).
    """

    seed: int = 0
    cycles: int = 10
    step_epochs: int = 4
    one_cycle_epochs: int = 25
    baseline_lr: float = 0.05
    third_policy: str = "triangular2"
    range_test: str = "two_stage"
    coarse_iters: int = 200  # as cyclr.torch.auto_schedule
    range_test_iters: int = 400
    range_start_lr: float | None = None
    range_end_lr: float | None = None
    method: str = "auto"
    momentum: float = 0.9
    batch_size: int = 100
    eval_every: int = 40
    n_train: int | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        v.integer("seed", self.seed, minimum=0)
        v.integer("cycles", self.cycles, minimum=3)
        v.integer("step_epochs", self.step_epochs, minimum=1)
        v.integer("one_cycle_epochs", self.one_cycle_epochs, minimum=1)
        v.positive("baseline_lr", self.baseline_lr)
        v.choice("third_policy", self.third_policy, THIRD_POLICIES)
        v.choice("range_test", self.range_test, RANGE_TESTS)
        v.integer("coarse_iters", self.coarse_iters, minimum=10)
        v.integer("range_test_iters", self.range_test_iters, minimum=10)
        if self.range_test == "linear":
            if self.range_start_lr is None or self.range_end_lr is None:
                raise ValueError("range_test='linear' needs range_start_lr and range_end_lr")
            v.positive("range_start_lr", self.range_start_lr)
            v.positive("range_end_lr", self.range_end_lr)
            if self.range_start_lr >= self.range_end_lr:
                raise ValueError(
                    f"range_start_lr ({self.range_start_lr!r}) must be < range_end_lr "
                    f"({self.range_end_lr!r})"
                )
        v.fraction("momentum", self.momentum, high_open=True)
        v.integer("batch_size", self.batch_size, minimum=1)
        v.integer("eval_every", self.eval_every, minimum=1)
        if self.n_train is not None:
            v.integer("n_train", self.n_train, minimum=self.batch_size)
        v.integer("threads", self.threads, minimum=1)

    @classmethod
    def quick(cls, **overrides: Any) -> DemoConfig:
        """The short demo: 4 CLR cycles instead of 10 and 1cycle over 10 epochs instead of 20
        (about 15 s instead of about a minute)."""
        base: dict[str, Any] = {"cycles": 4, "one_cycle_epochs": 10}
        base.update(overrides)
        return cls(**base)

    def command(self) -> str:
        """The ``cyclr demo`` command line that reproduces this configuration (or, for settings
        the command line does not offer, the Python call)."""
        given = {
            "seed": self.seed,
            "third_policy": self.third_policy,
            "baseline_lr": self.baseline_lr,
            "method": self.method,
        }
        for quick in (False, True):
            if self != (DemoConfig.quick(**given) if quick else DemoConfig(**given)):
                continue
            ref = DemoConfig()
            args = ["--quick"] if quick else []
            if self.seed != ref.seed:
                args.append(f"--seed {self.seed}")
            if self.third_policy != ref.third_policy:
                args.append(f"--third {self.third_policy}")
            if self.baseline_lr != ref.baseline_lr:
                args.append(f"--baseline-lr {self.baseline_lr:g}")
            if self.method != ref.method:
                args.append(f"--method {self.method}")
            return " ".join(["cyclr demo", *args])
        return f'python -c "import cyclr.demo as d; d.run(d.{self!r})"'


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
        return ", ".join(f"{r.mode} {_span(r)} ({len(r)} it)" for r in self.range_tests)

    def choice_line(self) -> str:
        """One line: which bounds were chosen, and why."""
        b = self.bounds
        return (
            f"Range test ({self.sweep_text()}): base_lr {b.base_lr:.3g}, max_lr "
            f"{b.max_lr:.3g} ({b.method} rule). {_one_line(b.reason)}"
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
                _span(self.range_test),
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


def _span(r: RangeTestResult) -> str:
    """The planned sweep of a range test, ``"start→end"``."""
    start = r.config.get("start_lr", r.lr[0] if len(r) else math.nan)
    end = r.config.get("end_lr", r.lr[-1] if len(r) else math.nan)
    return f"{start:.2g}→{end:.2g}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run(
    config: DemoConfig | None = None,
    out: str | Path | None = "cyclr-report",
    *,
    progress: bool = False,
    echo: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the demo and write the report folder ``out`` (``None``: no files).

    ``progress`` shows a tqdm bar per run on stderr; ``echo`` receives the few lines worth
    printing (the setup, the range test's choice). Raises :class:`cyclr.SuggestionError` if
    the range test gives no bounds.
    """
    import torch

    config = DemoConfig() if config is None else config
    say = echo if echo is not None else (lambda line: None)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        start = time.perf_counter()
        result = _run(config, progress, say)
        result.wall_s = time.perf_counter() - start
        if out is not None:
            write_report(result, out)
        return result
    finally:
        torch.set_num_threads(threads)


def _run(c: DemoConfig, progress: bool, say: Callable[[str], None]) -> DemoResult:
    import torch
    from torch import nn

    from cyclr.demo import mnist1d
    from cyclr.suggest import linear_sweep_range
    from cyclr.torch import CyclicScheduler, range_test

    data = mnist1d.load(n_train=c.n_train)
    n_train, n_test = len(data.x_train), len(data.x_test)
    ipe = max(1, n_train // c.batch_size)
    say(
        f"MNIST-1D ({n_train} train / {n_test} test sequences), 1D CNN, SGD momentum "
        f"{c.momentum:g}, batch {c.batch_size} ({ipe} iterations per epoch), seed {c.seed}"
    )

    # 1. The range test, and the bounds read from it.
    model = mnist1d.cnn(c.seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=c.momentum)
    loss_fn = nn.CrossEntropyLoss()

    def sweep(**kw: Any) -> RangeTestResult:
        return range_test(
            model,
            opt,
            loss_fn,
            mnist1d.loader(data, c.batch_size, c.seed),
            seed=c.seed,
            progress=progress,
            **kw,
        )

    t0 = time.perf_counter()
    tests = []
    if c.range_test == "two_stage":
        tests.append(sweep(mode="exp", num_iter=c.coarse_iters))
        start_lr, end_lr = linear_sweep_range(tests[0])
    else:
        start_lr, end_lr = c.range_start_lr, c.range_end_lr
    tests.append(
        sweep(mode="linear", start_lr=start_lr, end_lr=end_lr, num_iter=c.range_test_iters)
    )
    rt_wall = time.perf_counter() - t0
    bounds = tests[-1].suggest(c.method)

    # 2. The four policies.
    step = c.step_epochs * ipe
    budget = c.cycles * 2 * step
    fixed = Constant(c.baseline_lr)
    hold = Constant(c.momentum)
    third = bounds.triangular(step_size=step, policy=c.third_policy)
    one = bounds.one_cycle(total_steps=c.one_cycle_epochs * ipe)
    third_label = {"triangular2": "triangular2 CLR", "exp_range": "exp_range CLR"}
    runs = [
        PolicyRun("fixed", "fixed LR", fixed, hold, budget, False),
        PolicyRun(
            "triangular", "triangular CLR", bounds.triangular(step_size=step), hold, budget, True
        ),
        PolicyRun(c.third_policy, third_label[c.third_policy], third, hold, budget, True),
        PolicyRun("one_cycle", "1cycle + momentum", one, one.momentum(), one.total_steps, True),
    ]
    result = DemoResult(c, tests, bounds, rt_wall, runs, n_train, n_test, ipe, versions=_versions())
    say(result.choice_line())

    trained = []
    for r in runs:
        model = mnist1d.cnn(c.seed)
        opt = torch.optim.SGD(model.parameters(), lr=r.schedule(0), momentum=c.momentum)
        sched = None
        if r.key != "fixed":
            sched = CyclicScheduler(
                opt, r.schedule, momentum=r.momentum if r.key == "one_cycle" else None
            )
        bar = _bar(r.iterations, r.label, progress)
        try:
            tr = mnist1d.train(
                model,
                opt,
                data,
                r.iterations,
                scheduler=sched,
                batch_size=c.batch_size,
                eval_every=c.eval_every,
                seed=c.seed,
                on_step=None if bar is None else (lambda it, b=bar: b.update()),
            )
        finally:
            if bar is not None:
                bar.close()
        r.iters, r.test_acc, r.final_acc = tr.iters, tr.test_acc, tr.final_acc
        r.diverged, r.wall_s = tr.diverged, tr.seconds
        trained.append(tr)

    # 3. Time to the baseline's final accuracy.
    target = result.target
    for r, tr in zip(runs, trained):
        r.iters_to_target = tr.iters_to_reach(target)
    base_reach = result.baseline.iters_to_target
    for r in runs:
        if r.iters_to_target is None:
            continue
        r.cost = r.iters_to_target + (result.range_test_iters if r.uses_range_test else 0)
        if base_reach is not None and r.cost > 0:
            r.speedup = base_reach / r.cost
    return result


def _bar(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=f"{desc:<17}", unit="it", leave=False, file=sys.stderr, dynamic_ncols=True
    )


def _versions() -> dict[str, str]:
    from importlib import metadata

    import cyclr

    out = {"cyclr": cyclr.__version__, "python": platform.python_version()}
    for name in ("torch", "numpy", "mnist1d", "matplotlib"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["platform"] = platform.platform(terse=True)
    return out


# -- the report ------------------------------------------------------------------------------
def write_report(result: DemoResult, out: str | Path) -> Path:
    """Write plots, ``results.json``, ``range_test.json`` and ``summary.md`` into ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    result.out = folder
    result.range_test.save(folder / "range_test.json")
    if len(result.range_tests) > 1:
        result.range_tests[0].save(folder / "range_test_coarse.json")
    _plot_range_test(result, folder / "range_test.png")
    _plot_schedules(result, folder / "schedules.png")
    _plot_accuracy(result, folder / "accuracy.png")
    _write_json(result, folder / "results.json")
    (folder / "summary.md").write_text(summary_markdown(result))
    return folder


def _write_json(result: DemoResult, path: Path) -> None:
    text = json.dumps(result.to_dict(), indent=1, ensure_ascii=False)
    path.write_text(text + "\n")


def summary_markdown(result: DemoResult) -> str:
    """``summary.md``: the setup, the bounds and why, the table and the three plots."""
    c, b = result.config, result.bounds
    one = result.runs[-1]
    tri = result.runs[1]
    cycles = f"{c.cycles} cycles of {2 * c.step_epochs} epochs"
    return f"""# cyclr demo: cyclical learning rates and super-convergence on MNIST-1D

MNIST-1D ({result.n_train} training / {result.n_test} test sequences, generated locally), the
small 1D CNN, SGD with momentum {c.momentum:g}, batch {c.batch_size}
({result.iters_per_epoch} iterations per epoch), seed {c.seed}. Every run starts from the same
weights and sees the same batches.

## 1. LR range test

{_range_test_text(result)} Chosen bounds: **base_lr = {b.base_lr:.3g},
max_lr = {b.max_lr:.3g}** ({b.method} rule).

> {_one_line(b.reason)}

![LR range test](range_test.png)

## 2. Four policies

- **fixed LR** {c.baseline_lr:g}: the baseline, {result.baseline_source()}.
- **triangular CLR** between the bounds, step size {c.step_epochs} epochs
  ({tri.iterations // (2 * c.cycles)} iterations), {cycles}, ending at the end of a cycle.
- **{result.runs[2].label}** with the same bounds and cycles.
- **1cycle + momentum** (super-convergence): one cycle from {one.schedule(0):.3g} up to max_lr
  and back, then annihilation, with momentum cycling 0.95 → 0.85 → 0.95, in
  {one.iterations:,} iterations ({one.iterations * 100 // tri.iterations}% of the others' budget).

![LR and momentum schedules](schedules.png)

## 3. Results

{result.markdown_table()}

\\{result.footnote()}

![Test accuracy](accuracy.png)

Reproduce with `{c.command()}` (total wall time {result.wall_s:.0f} s; every number but the
wall times is the same on every run with the same seed).
"""


def _range_test_text(result: DemoResult) -> str:
    fine = result.range_test
    linear = f"the LR rising linearly over {len(fine)} iterations, {_span(fine)} (Smith 2015, §3.3)"
    if len(result.range_tests) == 1:
        return f"One sweep with {linear}."
    coarse = result.range_tests[0]
    return (
        f"Two sweeps, as `cyclr find` and `cyclr.torch.auto_schedule` do: a "
        f"{len(coarse)}-iteration exponential sweep finds where the loss blows up, then "
        f"{linear}, up to that LR."
    )


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _plot_range_test(result: DemoResult, path: Path) -> None:
    import cyclr.plot

    fig = _figure(8, 5)
    ax = fig.add_subplot()
    cyclr.plot.range_test(result.range_test, bounds=result.bounds, ax=ax)
    ax.set_title(
        f"LR range test: base_lr {result.bounds.base_lr:.3g}, "
        f"max_lr {result.bounds.max_lr:.3g} ({result.bounds.method} rule)"
    )
    fig.savefig(path)


def _plot_schedules(result: DemoResult, path: Path) -> None:
    import numpy as np

    import cyclr.plot

    runs = result.runs
    steps = max(r.iterations for r in runs)
    top = 1.12 * max(float(r.schedule(np.arange(r.iterations + 1)).max()) for r in runs)
    fig = _figure(8, 1.9 * len(runs) + 0.5)
    axes = fig.subplots(len(runs), 1, sharex=True)
    for ax, r in zip(axes, runs):
        title = f"{r.label}: LR {r.lr_text}, {r.iterations:,} iterations"
        cyclr.plot.schedule(r.schedule, r.iterations + 1, momentum=r.momentum, ax=ax, title=title)
        ax.title.set_color(COLORS[r.key])
        ax.title.set_fontsize(10)
        ax.set_xlim(0, steps)
        ax.set_ylim(0, top)
        mx = getattr(ax, "cyclr_momentum_ax", None)
        if mx is not None:
            mx.set_ylim(0.83, 0.97)
        for a in (ax, mx):  # one explanation in the title instead of a legend per panel
            legend = None if a is None else a.get_legend()
            if legend is not None:
                legend.remove()
    for ax in axes[:-1]:
        ax.set_xlabel("")
    fig.suptitle("Learning rate (solid) and momentum (dashed) of each policy")
    fig.savefig(path)


def _plot_accuracy(result: DemoResult, path: Path) -> None:
    fig = _figure(8, 5)
    ax = fig.add_subplot()
    target = result.target
    for r in result.runs:
        label = f"{r.label} ({r.lr_text}): {100 * r.final_acc:.1f}%"
        ax.plot(r.iters, r.test_acc, color=COLORS[r.key], lw=1.8, label=label)
        if r.iters_to_target is not None:
            i = r.iters.index(r.iters_to_target)
            ax.plot(
                r.iters_to_target,
                r.test_acc[i],
                "o",
                color=COLORS[r.key],
                ms=7,
                mec="white",
                zorder=5,
            )
    if math.isfinite(target):
        ax.axhline(
            target,
            color="black",
            ls="--",
            lw=1,
            label=f"target: fixed-LR final accuracy {100 * target:.1f}%",
        )
    finals = [a for r in result.runs for a in r.test_acc if math.isfinite(a)]
    low = min(0.8, target - 0.1) if math.isfinite(target) else 0.0
    ax.set_ylim(max(0.0, low), min(1.0, max(finals, default=1.0) + 0.02))
    ax.set_xlim(0, max(r.iterations for r in result.runs))
    ax.set_xlabel("iteration")
    ax.set_ylabel("test accuracy")
    ax.yaxis.set_major_formatter(lambda y, _: f"{100 * y:.0f}%")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9, title="policy (LR): final accuracy", title_fontsize=9)
    ax.set_title("Test accuracy (dots: first time at the fixed-LR final accuracy)")
    fig.savefig(path)

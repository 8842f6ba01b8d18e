"""The demo's report folder: ``summary.md``, ``results.json``, the range tests and three plots."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from cyclr.demo.config import COLORS
from cyclr.demo.results import DemoResult, one_line, ramp_span

__all__ = ["summary_markdown", "write_report"]


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

> {one_line(b.reason)}

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
    linear = (
        f"the LR rising linearly over {len(fine)} iterations, {ramp_span(fine)} (Smith 2015, §3.3)"
    )
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

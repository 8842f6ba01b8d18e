"""The demo's report folder: ``summary.md``, ``results.json``, the range tests and three plots
(and, when the 1cycle reads its bounds online, its warm-up: ``one_cycle_warmup.json`` and
``.png``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from cyclr.demo.config import COLORS
from cyclr.demo.results import DemoResult
from cyclr.demo.runs import PolicyRun, SeedRun, one_line, ramp_span

__all__ = ["summary_markdown", "write_report"]


def write_report(result: DemoResult, out: str | Path) -> Path:
    """Write plots, ``results.json``, the first seed's range tests (and online warm-up) and
    ``summary.md`` into ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    result.out = folder
    first = result.seeds[0]
    first.range_test.save(folder / "range_test.json")
    if len(first.range_tests) > 1:
        first.range_tests[0].save(folder / "range_test_coarse.json")
    _plot_range_test(first, folder / "range_test.png")
    one = first.run("one_cycle")
    if one.online is not None:
        one.online.warmup.save(folder / "one_cycle_warmup.json")
        _plot_warmup(first.seed, one, folder / "one_cycle_warmup.png")
    _plot_schedules(first, folder / "schedules.png")
    _plot_accuracy(result, folder / "accuracy.png")
    _write_json(result, folder / "results.json")
    (folder / "summary.md").write_text(summary_markdown(result))
    return folder


def _write_json(result: DemoResult, path: Path) -> None:
    text = json.dumps(result.to_dict(), indent=1, ensure_ascii=False)
    path.write_text(text + "\n")


def summary_markdown(result: DemoResult) -> str:
    """``summary.md``: the setup, the bounds and why, the table and the three plots."""
    c = result.config
    first = result.seeds[0]
    b = first.bounds
    one = first.run("one_cycle")
    tri = first.run("triangular")
    cycles = f"{c.cycles} cycles of {2 * c.step_epochs} epochs"
    share = f"{one.iterations * 100 // tri.iterations}% of the others' budget"
    if one.online is None:
        users = "the CLR and 1cycle runs use"
        one_cycle = f"""- **1cycle + momentum** (super-convergence) with the same bounds: one cycle
  from max_lr / {b.max_lr / one.schedule(0):.3g} up to max_lr and back, then annihilation, with
  momentum cycling 0.95 → 0.85 → 0.95, in {one.iterations:,} iterations ({share})."""
    else:
        users = "only the CLR runs use (the 1cycle run reads its own, section 2)"
        one_cycle = _online_text(result, one, share)
    seeds = ", ".join(map(str, c.seeds))
    bounds = "\n".join(
        f"| {s.seed} | {s.bounds.base_lr:.3g} | {s.bounds.max_lr:.3g} | {s.range_test_iters} |"
        for s in result.seeds
    )
    return f"""# cyclr demo: cyclical learning rates and super-convergence on MNIST-1D

MNIST-1D ({result.n_train} training / {result.n_test} test sequences, generated locally), the
small 1D CNN, SGD with momentum {c.momentum:g}, batch {c.batch_size}
({result.iters_per_epoch} iterations per epoch), seed{"s" if len(c.seeds) > 1 else ""} {seeds}.
Within a seed every run starts from the same weights and sees the same batches.

## 1. LR range test

{_range_test_text(first)} The bounds each seed read ({b.method} rule), which {users}:

| seed | base_lr | max_lr | range-test iterations |
|---:|---:|---:|---:|
{bounds}

Seed {first.seed}: {one_line(b.reason)}

![LR range test of seed {first.seed}](range_test.png)

## 2. Four policies

- **fixed LR** {c.baseline_lr:g}: the baseline, {result.baseline_source()}.
- **triangular CLR** between the bounds, step size {c.step_epochs} epochs
  ({tri.iterations // (2 * c.cycles)} iterations), {cycles}, ending at the end of a cycle.
- **{first.runs[2].label}** with the same bounds and cycles.
{one_cycle}

![LR and momentum schedules of seed {first.seed}](schedules.png)

## 3. Results

{result.markdown_table()}

\\{result.footnote()}

![Test accuracy](accuracy.png)

Reproduce with `{c.command()}` (total wall time {result.wall_s:.0f} s; every number but the
wall times is the same on every run with the same seeds).
"""


def _online_text(result: DemoResult, one: PolicyRun, share: str) -> str:
    """The online 1cycle's bullet in ``summary.md``: what it ran and what each seed read."""
    first = result.seeds[0]
    reading = one.online
    assert reading is not None
    w = reading.warmup.config
    rows = []
    for s in result.seeds:
        r = s.run("one_cycle").online
        if r is None or r.bounds is None:
            rows.append(f"| {s.seed} | not read | | |")
        else:
            rows.append(f"| {s.seed} | {r.bounds.max_lr:.3g} | {r.decided_at} | {r.lr_peak:.3g} |")
    table = "\n".join(rows)
    return f"""- **{one.label}** (super-convergence with no separate range test): the run reads its
  bounds from its own warm-up (`cyclr.torch.online_schedule`). The LR rises
  exponentially from {w.get("start_lr", 0):.2g}, as a {w.get("num_iter")}-update range test up to
  {w.get("end_lr", 0):g} would, while momentum falls from 0.95 towards 0.85; the loss is read as
  it comes, and once it has left its lowest plateau the LR drops to max_lr (the plateau's end),
  then falls linearly to max_lr / 10 and is annihilated at the end while momentum rises back to
  0.95. {one.iterations:,} iterations ({share}), the warm-up included: **the 1cycle run is
  charged nothing else**, while the CLR runs are charged the range test's
  {result.range_test_iters:,.0f} iterations. What each seed read:

  | seed | max_lr | read at update | warm-up's highest LR |
  |---:|---:|---:|---:|
  {table.replace(chr(10), chr(10) + "  ")}

  Seed {first.seed}: {reading.line()}

  ![The 1cycle's warm-up of seed {first.seed}, read as a range test](one_cycle_warmup.png)"""


def _range_test_text(first: SeedRun) -> str:
    fine = first.range_test
    linear = (
        f"the LR rising linearly over {len(fine)} iterations (seed {first.seed}: "
        f"{ramp_span(fine)}; Smith 2015, §3.3)"
    )
    if len(first.range_tests) == 1:
        return f"One linear ramp: {linear}."
    coarse = first.range_tests[0]
    return (
        f"Two ramps (`cyclr.torch.find_bounds`, as `cyclr find` and `auto_schedule` run it): a "
        f"{len(coarse)}-iteration exponential ramp finds where the loss blows up, then "
        f"{linear}, up to that LR."
    )


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _plot_range_test(first: SeedRun, path: Path) -> None:
    import cyclr.plot

    fig = _figure(8, 5)
    ax = fig.add_subplot()
    cyclr.plot.range_test(first.range_test, bounds=first.bounds, ax=ax)
    b = first.bounds
    ax.set_title(
        f"LR range test, seed {first.seed}: base_lr {b.base_lr:.3g}, max_lr {b.max_lr:.3g} "
        f"({b.method} rule)",
        pad=18,  # the bounds are labelled just above the axes
    )
    fig.savefig(path)


def _plot_warmup(seed: int, one: PolicyRun, path: Path) -> None:
    """The online 1cycle's warm-up, read as a range test, with the bounds it read."""
    import cyclr.plot

    reading = one.online
    assert reading is not None
    fig = _figure(8, 5)
    ax = fig.add_subplot()
    w = reading.warmup
    cyclr.plot.range_test(w, bounds=reading.bounds, ax=ax)
    b = reading.bounds
    read = "not read" if b is None else f"max_lr {b.max_lr:.3g} read at update {reading.decided_at}"
    ax.set_title(f"The 1cycle's own warm-up, seed {seed}: {read}", pad=18)
    if b is not None and len(w):
        # The LR axis from two decades below base_lr: the decades before are flat, and the full
        # span would crowd the bounds' labels together.
        low = max(float(w.lr[0]), b.base_lr / 100)
        if low > w.lr[0]:
            ax.set_xlim(low, reading.lr_peak * 1.5)
            ax.set_xlabel(
                f"learning rate (log scale; from {low:.2g}, the warm-up started at {w.lr[0]:.2g})"
            )
    fig.savefig(path)


def _plot_schedules(first: SeedRun, path: Path) -> None:
    import numpy as np

    import cyclr.plot

    runs = first.runs
    steps = max(r.iterations for r in runs)
    top = 1.12 * max(float(r.schedule(np.arange(r.iterations + 1)).max()) for r in runs)
    fig = _figure(8, 1.9 * len(runs) + 0.5)
    axes = fig.subplots(len(runs), 1, sharex=True)
    for ax, r in zip(axes, runs):
        title = f"{r.label}: LR {r.lr_text}, {r.iterations:,} iterations"
        reading = r.online
        if reading is not None and reading.bounds is not None:
            title = (
                f"{r.label}: warm-up up to {reading.lr_peak:.3g}, max_lr "
                f"{reading.bounds.max_lr:.3g} read at update {reading.decided_at}, "
                f"{r.iterations:,} iterations"
            )
        drawn = cyclr.plot.schedule(
            r.schedule, r.iterations + 1, momentum=r.momentum, ax=ax, title=title
        )
        ax.title.set_color(COLORS[r.key])
        ax.title.set_fontsize(10)
        ax.set_xlim(0, steps)
        ax.set_ylim(0, top)
        mx = drawn.momentum_ax
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
    """Mean test accuracy over seeds (band: ± one standard deviation) against iterations, the
    range test included: the automatic runs start after the shaded range test."""
    import numpy as np

    fig = _figure(8, 6)
    ax = fig.add_subplot()
    target = result.target
    cost = result.range_test_iters
    n = len(result.seeds)
    users = result.seeds[0].range_test_users
    charged = "cyclical runs" if "one_cycle" in users else "CLR runs"
    lows: list[float] = []
    for key in result.keys:
        runs = [s.run(key) for s in result.seeds]
        length = min(len(r.test_acc) for r in runs)
        acc = np.array([r.test_acc[:length] for r in runs]) * 100
        x = np.asarray(runs[0].iters[:length], dtype=float)
        if runs[0].uses_range_test:
            x = x + cost
        mean = acc.mean(0)
        label = f"{runs[0].label}: {mean[-1]:.1f}%"
        ax.plot(x, mean, color=COLORS[key], lw=1.8, label=label)
        if n > 1:
            sd = acc.std(0, ddof=1)
            ax.fill_between(x, mean - sd, mean + sd, color=COLORS[key], alpha=0.15, lw=0)
        lows.append(float(np.min(mean[len(mean) // 5 :])))
    if math.isfinite(target):
        ax.axhline(100 * target, color="black", ls="--", lw=1, label=f"target {100 * target:.1f}%")
    shade = f"range test ({cost:,.0f} iterations{'' if 'one_cycle' in users else ', CLR only'})"
    ax.axvspan(0, cost, color="0.88", zorder=0, label=shade)
    top = max(max(s.run(k).test_acc) for s in result.seeds for k in result.keys) * 100
    ax.set_ylim(max(0.0, min(lows) - 3), min(100.0, top + 1.5))
    ax.set_xlim(
        0, max(r.iterations + (cost if r.uses_range_test else 0) for r in result.seeds[0].runs)
    )
    ax.set_xlabel(f"iteration ({charged}: range test included)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    over = f"mean ± sd over {n} seeds" if n > 1 else "one seed"
    ax.set_title(f"Test accuracy on MNIST-1D ({over})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=9, frameon=False)
    fig.savefig(path)

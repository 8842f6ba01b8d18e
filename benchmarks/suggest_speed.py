"""Time ``cyclr.suggest`` per rule, and the sweep reading, on range tests of 1k, 10k, 100k points.

Each rule reads the same synthetic range test (an exponential sweep whose accuracy rises, holds
and collapses while the loss falls and blows up, with noise on both); the sweep reading compares
four such tests. The reported number is the median wall time of a few repeats, in seconds. Every
rule is linear or ``n log n`` in the number of points (``docs/suggest.md``, "Cost").

    python benchmarks/suggest_speed.py            # 1k, 10k, 100k points, median of 5 repeats
    python benchmarks/suggest_speed.py --quick    # 1k and 10k points, one repeat
    python benchmarks/suggest_speed.py --points 1000 --repeats 3 --out /tmp/s.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import cyclr
import cyclr.suggest as sg

RESULTS = Path(__file__).parent / "results"
METHODS = ("auto", "accuracy", "loss", "steepest", "minimum", "valley", "slide")
POINTS = (1_000, 10_000, 100_000)


def ema(x: np.ndarray, beta: float = 0.98) -> np.ndarray:
    """The bias-corrected EMA a range test records as ``smoothed_loss``."""
    out = np.empty(len(x))
    avg = 0.0
    for i, v in enumerate(x.tolist()):
        avg = beta * avg + (1 - beta) * v
        out[i] = avg / (1 - beta ** (i + 1))
    return out


def range_test(n: int, seed: int = 0, shift: float = 0.0) -> cyclr.RangeTestResult:
    """An exponential sweep 1e-5 -> 10 of ``n`` points: the accuracy rises around 10**-1.7,
    collapses around 10**0.3; the loss mirrors it and blows up. ``shift`` moves it in log-LR."""
    rng = np.random.default_rng(seed)
    lr = np.geomspace(1e-5, 10.0, n)
    u = np.log10(lr) - shift
    up = 1 / (1 + np.exp(-(u + 1.7) / 0.15))
    down = 1 / (1 + np.exp(-(u - 0.3) / 0.075))
    acc = 0.1 + 0.8 * up * (1 - down) + rng.normal(0, 0.03, n)
    loss = 2.3 - 1.8 * up + 6 * down + rng.normal(0, 0.06, n)
    return cyclr.RangeTestResult(
        lr=lr, loss=loss, smoothed_loss=ema(loss), metric=acc, mode="exp", metric_name="accuracy"
    )


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def cases(n: int) -> dict[str, Callable[[], Any]]:
    """What is timed at ``n`` points: every rule, ``blow_up_lr`` and a 4-value sweep reading."""
    r = range_test(n)
    out: dict[str, Callable[[], Any]] = {m: (lambda m=m: sg.suggest(r, m)) for m in METHODS}
    out["blow_up_lr"] = lambda: sg.blow_up_lr(r)
    runs = [range_test(n, seed=i, shift=0.2 * i) for i in range(4)]
    sweep = cyclr.SweepResult("momentum", (0.99, 0.97, 0.95, 0.9), runs)
    out["sweep (4 values)"] = sweep.suggest
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1k and 10k points, one repeat")
    ap.add_argument("--points", type=int, nargs="+", help=f"curve lengths (default {POINTS})")
    ap.add_argument("--repeats", type=int, help="timed repeats per case (default 5)")
    ap.add_argument("--cases", nargs="+", help="time only these cases (default: all)")
    ap.add_argument("--out", type=Path, default=RESULTS / "suggest_speed.json")
    args = ap.parse_args(argv)
    points = tuple(args.points or ((1_000, 10_000) if args.quick else POINTS))
    repeats = args.repeats or (1 if args.quick else 5)
    seconds: dict[str, dict[str, float]] = {}
    for n in points:
        for name, fn in cases(n).items():
            if args.cases and name not in args.cases:
                continue
            if repeats > 1:
                fn()  # warm-up: imports, caches
            seconds.setdefault(name, {})[str(n)] = median_time(fn, repeats)
            print(f"{name:>18} {n:>7} points: {seconds[name][str(n)]:.4f} s", flush=True)
    report = {
        "points": list(points),
        "repeats": repeats,
        "seconds": seconds,
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpus": os.cpu_count(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    head = " | ".join(f"{n:,} points" for n in points)
    lines = [
        f"Median seconds over {repeats} repeat(s) per case (`python benchmarks/suggest_speed.py`).",
        "",
        f"| case | {head} |",
        "|---|" + "---:|" * len(points),
    ]
    for name, row in seconds.items():
        cells = [f"{row[str(n)]:.4f}" if str(n) in row else "-" for n in points]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

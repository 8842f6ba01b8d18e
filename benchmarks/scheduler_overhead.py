"""Cost of ``CyclicScheduler.step()`` against torch's ``CyclicLR.step()`` and ``OneCycleLR.step()``.

Each pair is timed side by side, interleaved, in the same process, so machine noise hits both;
the reported number is the median over rounds of the per-round ratio cyclr / torch.

    python benchmarks/scheduler_overhead.py            # full run
    python benchmarks/scheduler_overhead.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import timeit
import warnings
from pathlib import Path

import torch
from torch.optim.lr_scheduler import CyclicLR, OneCycleLR

import cyclr
from cyclr.torch import CyclicScheduler

RESULTS = Path(__file__).parent / "results"


def _sgd(groups: int) -> torch.optim.Optimizer:
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(groups)]
    return torch.optim.SGD(params, lr=0.1, momentum=0.9)


def pairs(groups: int, total: int) -> dict[str, tuple[object, object]]:
    """(cyclr scheduler, torch scheduler) with identical LR and momentum trajectories."""
    tri = cyclr.Triangular(0.01, 0.1, step_size=2000)
    one = cyclr.OneCycle.pytorch(0.1, total)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "triangular + momentum vs CyclicLR": (
                CyclicScheduler(_sgd(groups), tri, momentum=tri.momentum(0.8, 0.9)),
                CyclicLR(_sgd(groups), 0.01, 0.1, step_size_up=2000),
            ),
            "1cycle (pytorch preset) + momentum vs OneCycleLR": (
                CyclicScheduler(_sgd(groups), one, momentum=one.momentum()),
                OneCycleLR(_sgd(groups), 0.1, total_steps=total),
            ),
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few seconds, for smoke tests")
    ap.add_argument("--out", type=Path, default=RESULTS / "scheduler_overhead.json")
    args = ap.parse_args(argv)
    rounds, number = (5, 2000) if args.quick else (31, 20000)
    torch.set_num_threads(1)
    report: dict[str, object] = {"rounds": rounds, "steps_per_round": number, "cases": {}}
    lines = [
        "| case | param groups | cyclr µs/step | torch µs/step | ratio (median) |",
        "|---|---:|---:|---:|---:|",
    ]
    for groups in (1, 4):
        total = rounds * number * 2 + 10
        for name, (ours, theirs) in pairs(groups, total).items():
            ratios, t_ours, t_theirs = [], [], []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(rounds):
                    a = timeit.timeit(ours.step, number=number) / number  # type: ignore[attr-defined]
                    b = timeit.timeit(theirs.step, number=number) / number  # type: ignore[attr-defined]
                    ratios.append(a / b)
                    t_ours.append(a)
                    t_theirs.append(b)
            ratio = statistics.median(ratios)
            entry = {
                "groups": groups,
                "cyclr_us": statistics.median(t_ours) * 1e6,
                "torch_us": statistics.median(t_theirs) * 1e6,
                "ratio": ratio,
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
            }
            report["cases"][f"{name} [{groups} groups]"] = entry  # type: ignore[index]
            lines.append(
                f"| {name} | {groups} | {entry['cyclr_us']:.2f} | "
                f"{entry['torch_us']:.2f} | {ratio:.2f}× |"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

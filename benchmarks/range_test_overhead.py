"""Wall time of ``cyclr.torch.range_test`` against a bare training loop and torch-lr-finder.

All variants run the same model, data order and number of optimizer updates, side by side in one
process, interleaved (the order rotates every round), each round with a fresh seed. Reported,
for wall time and for process CPU time: the median over rounds of each variant's time per update
divided by the bare loop's in the same round, and the ratio of the best (minimum) times, which
is the steadier figure when other jobs share the machine (they only ever add time).

Variants:
  bare          a hand-written sweep: set the LR, zero_grad / forward / loss / backward / step
  cyclr         range_test with its defaults (batch accuracy recorded), no validation
  cyclr-nometric  range_test(metric=None)
  cyclr-val     range_test scoring 4 held-out batches every 10 updates (for information)
  lr-finder     torch-lr-finder's LRFinder(...).range_test(...) + reset() (its bar disabled)

    python benchmarks/range_test_overhead.py            # full run (a few minutes)
    python benchmarks/range_test_overhead.py --quick    # a few seconds, synthetic data
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import io
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

import cyclr
from cyclr.torch import range_test

RESULTS = Path(__file__).parent / "results"
CE = nn.functional.cross_entropy
GOAL = 1.05


def cnn(channels: int) -> nn.Module:
    """The MNIST-1D test bed: a 3-conv 1-D CNN (BatchNorm after the first conv)."""
    c = channels
    return nn.Sequential(
        nn.Conv1d(1, c, 5, padding=2),
        nn.BatchNorm1d(c),
        nn.ReLU(),
        nn.Conv1d(c, c, 3, padding=1, stride=2),
        nn.ReLU(),
        nn.Conv1d(c, c, 3, padding=1, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(c * 10, 10),
    )


def data(quick: bool) -> tuple[torch.Tensor, torch.Tensor, str]:
    if quick:
        g = torch.Generator().manual_seed(0)
        return (
            torch.randn(600, 1, 40, generator=g),
            torch.randint(0, 10, (600,), generator=g),
            "synthetic 600 x 40",
        )
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    x = torch.tensor(d["x"], dtype=torch.float32).unsqueeze(1)
    return x, torch.tensor(d["y"]), "MNIST-1D 4000 x 40"


def make_loader(x: torch.Tensor, y: torch.Tensor, batch: int, seed: int) -> Any:
    g = torch.Generator().manual_seed(seed)
    ds = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, generator=g)


START_LR, END_LR = 1e-7, 1.0


def bare(model: nn.Module, opt: torch.optim.Optimizer, loader: Any, n: int) -> int:
    """The same exponential LR sweep, by hand (the sweep changes the numbers, not the work)."""
    model.train()
    it, done = iter(loader), 0
    while done < n:
        try:
            xb, yb = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        for g in opt.param_groups:
            g["lr"] = START_LR * (END_LR / START_LR) ** (done / (n - 1))
        opt.zero_grad(set_to_none=True)
        loss = CE(model(xb), yb)
        loss.backward()
        opt.step()
        done += 1
    return done


def ours(model: nn.Module, opt: torch.optim.Optimizer, loader: Any, n: int, **kw: Any) -> int:
    r = range_test(
        model,
        opt,
        CE,
        loader,
        num_iter=n,
        start_lr=START_LR,
        end_lr=END_LR,
        diverge=None,
        progress=False,
        **kw,
    )
    return len(r)


def lr_finder(model: nn.Module, opt: torch.optim.Optimizer, loader: Any, n: int) -> int:
    import torch_lr_finder.lr_finder as lrf

    lrf.tqdm = functools.partial(_tqdm(), disable=True)  # no bar: time the loop itself
    with contextlib.redirect_stdout(io.StringIO()):
        finder = lrf.LRFinder(model, opt, CE, device="cpu")
        finder.range_test(
            loader,
            start_lr=START_LR,
            end_lr=END_LR,
            num_iter=n,
            step_mode="exp",
            diverge_th=math.inf,
        )
        finder.reset()
    return len(finder.history["lr"])


@functools.lru_cache(maxsize=1)
def _tqdm() -> Any:
    from tqdm.autonotebook import tqdm

    return tqdm


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few seconds, for smoke tests")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (seeds)")
    ap.add_argument("--updates", type=int, default=None, help="optimizer updates per run")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1: this model's ops are too small to "
        "gain from more, and extra threads only contend)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "range_test_overhead.json")
    args = ap.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 25)
    updates = args.updates or (15 if args.quick else 100)  # range_test's default num_iter
    channels, batch = (8, 50) if args.quick else (32, 100)
    threads = args.threads
    torch.set_num_threads(threads)

    x, y, data_name = data(args.quick)
    val = [(x[i : i + batch], y[i : i + batch]) for i in range(0, 4 * batch, batch)]
    variants = {
        "bare": bare,
        "cyclr": ours,
        "cyclr-nometric": functools.partial(ours, metric=None),
        "cyclr-val": functools.partial(ours, val_loader=val, val_every=10, val_batches=4),
        "lr-finder": lr_finder,
    }
    try:
        import torch_lr_finder  # noqa: F401
    except ImportError:
        del variants["lr-finder"]

    per_update: dict[str, list[float]] = {k: [] for k in variants}
    cpu_per_update: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for rnd in range(rounds + 1):  # round 0 warms every code path up and is not counted
        torch.manual_seed(rnd)
        init = cnn(channels).state_dict()
        order = names[rnd % len(names) :] + names[: rnd % len(names)]
        for name in order:
            model = cnn(channels)
            model.load_state_dict(init)
            opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            loader = make_loader(x, y, batch, seed=rnd)
            gc.collect()
            c0, t0 = time.process_time(), time.perf_counter()
            done = variants[name](model, opt, loader, updates)
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
            if rnd > 0:
                per_update[name].append(elapsed / done)
                cpu_per_update[name].append(cpu / done)

    ratios = {k: [a / b for a, b in zip(v, per_update["bare"])] for k, v in per_update.items()}
    cpu_ratios = {
        k: [a / b for a, b in zip(v, cpu_per_update["bare"])] for k, v in cpu_per_update.items()
    }
    summary = {
        k: {
            "ms_per_update": statistics.median(per_update[k]) * 1e3,
            "ratio_median": statistics.median(ratios[k]),
            "ratio_mean": statistics.fmean(ratios[k]),
            "ratio_min": min(ratios[k]),
            "ratio_max": max(ratios[k]),
            "ratios": ratios[k],
            "ratio_best": min(per_update[k]) / min(per_update["bare"]),
            "extra_us_per_update": statistics.median(
                [(a - b) * 1e6 for a, b in zip(per_update[k], per_update["bare"])]
            ),
            "cpu_ms_per_update": statistics.median(cpu_per_update[k]) * 1e3,
            "cpu_ratio_median": statistics.median(cpu_ratios[k]),
            "cpu_ratio_best": min(cpu_per_update[k]) / min(cpu_per_update["bare"]),
            "cpu_ratios": cpu_ratios[k],
        }
        for k in variants
    }
    cmd = " ".join(["python benchmarks/range_test_overhead.py", *(argv or sys.argv[1:])])
    report = {
        "command": cmd,
        "quick": args.quick,
        "rounds": rounds,
        "updates_per_run": updates,
        "model": f"3-conv 1-D CNN, {channels} channels, BatchNorm; SGD momentum 0.9",
        "batch_size": batch,
        "data": data_name,
        "threads": threads,
        "goal_ratio": GOAL,
        "goal_met": min(summary["cyclr"]["ratio_median"], summary["cyclr"]["ratio_best"]) <= GOAL,
        "versions": {
            "cyclr": cyclr.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "variants": summary,
    }
    lines = [
        "| variant | ms / update | extra µs / update | wall ratio, median of rounds "
        "| wall ratio, best | CPU ratio, median | CPU ratio, best |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for k, s in summary.items():
        lines.append(
            f"| {k} | {s['ms_per_update']:.3f} | {s['extra_us_per_update']:.0f} | "
            f"{s['ratio_median']:.3f}× | {s['ratio_best']:.3f}× | "
            f"{s['cpu_ratio_median']:.3f}× | {s['cpu_ratio_best']:.3f}× |"
        )
    table = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(table + "\n")
    print(table)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    report["load_average_1min_at_end"] = load
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(
        f"\n{rounds} rounds x {updates} updates, {threads} threads, load average {load:.2f}; "
        f"wrote {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``cyclr demo``: the range test, CLR and 1cycle super-convergence end to end on MNIST-1D, through
the :mod:`cyclr.demo` package."""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from typing import Any

from cyclr.cli._common import (
    EXIT_NO_SUGGESTION,
    CLIError,
    add_method,
    check_method,
    command,
    learning_rate,
    nonneg_int,
    out,
    require,
)
from cyclr.cli._files import prepare_dir

__all__ = ["add_parser", "run"]

_EPILOG = """\
what it does, for each seed (3 by default, side by side in 2 processes):
  1. LR range test and the CLR bounds read from it: an exponential sweep finds where the loss
     blows up, then the paper's linear sweep (Smith 2015, section 3.3) up to there
  2. four runs from the seed's initial weights: fixed LR (baseline), triangular CLR,
     triangular2 (or exp_range), and 1cycle with cyclical momentum on under a third of the
     budget, which reads its bounds from its own warm-up (--one-cycle-bounds online)
then:
  3. a table over the seeds (mean ± sd): final test accuracy, iterations to reach the baseline's
     final accuracy, speed-up (the range test's iterations charged to the runs that use it)
     and wall time
  4. a report folder: summary.md, accuracy.png, schedules.png, range_test.png, results.json
     (and one_cycle_warmup.png/.json, the online 1cycle's warm-up)

examples:
  cyclr demo                               # the full demo: 3 seeds
  cyclr demo --quick                       # one seed and shorter runs, for a first look
  cyclr demo --seeds 3,4,5 --out report3   # other seeds, another folder
  cyclr demo --third exp_range             # exp_range instead of triangular2
  cyclr demo --one-cycle-bounds range-test # 1cycle between the range test's bounds"""


def _seeds(text: str) -> tuple[int, ...]:
    parts = [s.strip() for s in text.split(",")]
    try:
        return tuple(nonneg_int(s) for s in parts)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers >= 0, got {text!r}"
        ) from None


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``demo`` on the ``cyclr`` subparsers."""
    p: argparse.ArgumentParser = command(
        sub,
        "demo",
        "range test, CLR and 1cycle end to end on MNIST-1D",
        "Show cyclical learning rates and super-convergence end to "
        "end\non MNIST-1D (generated locally; nothing is downloaded).",
        _EPILOG,
    )
    p.add_argument(
        "--out", default="cyclr-report", metavar="DIR", help="report folder (default: %(default)s)"
    )
    p.add_argument(
        "--seeds",
        type=_seeds,
        default=None,
        metavar="S1,S2,...",
        help="one run of everything per seed: model init, batch order and range test "
        "(default: 0,1,2; with --quick, 0)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="one seed and smaller budgets: 4 CLR cycles instead of 10, 1cycle over 10 epochs",
    )
    p.add_argument(
        "--third",
        choices=("triangular2", "exp_range"),
        default="triangular2",
        help="the third policy (default: %(default)s)",
    )
    p.add_argument(
        "--baseline-lr",
        type=learning_rate,
        default=None,
        metavar="LR",
        help="the fixed LR of the baseline (default: 0.05, the best of a grid search on this task)",
    )
    add_method(p, "rule that reads the bounds off the range test")
    p.add_argument(
        "--one-cycle-bounds",
        choices=("online", "range-test"),
        default="online",
        help="where the 1cycle run's bounds come from: 'online' reads them from its own "
        "warm-up as it trains (no separate range test, so it is charged nothing); "
        "'range-test' uses the CLR runs' range test and is charged its iterations "
        "(default: %(default)s)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    """``cyclr demo``: run :func:`cyclr.demo.run` and print its table."""
    require("torch", "mnist1d", "matplotlib", "tqdm", extra="demo")
    from cyclr import demo
    from cyclr.demo.config import ONLINE_FILES, REPORT_FILES
    from cyclr.suggest import SuggestionError

    check_method(args.method)
    overrides: dict[str, Any] = {
        "third_policy": args.third,
        "method": args.method,
        "one_cycle_bounds": args.one_cycle_bounds.replace("-", "_"),
    }
    if args.seeds is not None:
        overrides["seeds"] = args.seeds
    if args.baseline_lr is not None:
        overrides["baseline_lr"] = args.baseline_lr
    try:
        config = demo.DemoConfig.quick(**overrides) if args.quick else demo.DemoConfig(**overrides)
    except (TypeError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    folder = prepare_dir(args.out, (*REPORT_FILES, *ONLINE_FILES, "range_test_coarse.json"))
    progress = not args.no_progress and sys.stderr.isatty()
    start = time.perf_counter()
    try:
        result = demo.run(config, folder, progress=progress, echo=print)
    except SuggestionError as exc:
        print(f"cyclr: the range test gave no bounds: {exc}", file=sys.stderr)
        return EXIT_NO_SUGGESTION
    wall = time.perf_counter() - start
    warmup = "one_cycle_warmup.png, " if config.one_cycle_bounds == "online" else ""
    out(
        "",
        result.table(),
        "",
        *textwrap.wrap(result.footnote(), 100, break_on_hyphens=False),
        "",
        f"Report: {folder / 'summary.md'} (with accuracy.png, schedules.png, range_test.png, "
        f"{warmup}results.json); total {wall:.0f} s.",
    )
    return 0

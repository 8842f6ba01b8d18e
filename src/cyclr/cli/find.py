"""``cyclr find TARGET``: the two-stage LR range test on your own model
(:func:`cyclr.torch.find_bounds`), then the suggested bounds and ready-to-paste scheduler code.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cyclr
from cyclr.cli._common import (
    EXIT_NO_SUGGESTION,
    CLIError,
    add_method,
    add_ramp_ends,
    add_range_test_options,
    add_target,
    check_method,
    command,
    int_at_least,
    no_bounds_note,
    nonneg_int,
    number,
    out,
    positive_int,
    require,
    stop_text,
    sweep_text,
)
from cyclr.cli._files import OutputFiles, keep_partial_test, prepare_dir, report_bounds
from cyclr.cli.target import call_target, load_target, range_test_options, run_on_target
from cyclr.range_test.ramp import NUM_ITER
from cyclr.range_test.recipe import COARSE_ITER, LINEAR_ITER

__all__ = ["add_parser", "run"]

#: What an interrupted test leaves in ``--out``: the curve so far.
PARTIAL = "range_test_partial.json"
#: The exponential test of two (the only one when the linear sweep does not run).
COARSE = "range_test_coarse.json"

_EPILOG = """\
TARGET is 'path/to/file.py:function' or 'package.module:function'. The function takes no
arguments and returns a dict with the keys model, optimizer, loss_fn, train_loader and,
optionally, val_loader, batch_fn (batch -> (inputs, targets), for loaders that yield dicts or
other batches) and loss_of_batch (loss_of_batch(model, batch) -> loss, for a model that computes
its own loss; it replaces loss_fn) -- or a cyclr.cli.FindTarget with the same fields:

  def setup():
      model = Net()
      opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
      return {"model": model, "optimizer": opt, "loss_fn": torch.nn.CrossEntropyLoss(),
              "train_loader": DataLoader(train_set, batch_size=64, shuffle=True)}

By default the test runs two sweeps, as cyclr.torch.find_bounds and auto_schedule do: an
exponential one (--coarse-iter updates, 1e-7 to 10) finds where the loss blows up, then the
paper's linear sweep (--linear-iter updates) rises from a thousandth of that LR up to it, and
the bounds are read from it. --mode, --start-lr, --end-lr or --num-iter run a single sweep
instead, as cyclr.torch.range_test does (exp, 1e-7 to 10, 100 updates unless given).

The model and optimizer are restored after the test. Writes range_test.json (and, for two
sweeps, range_test_coarse.json) and range_test.png to --out, then prints the bounds and Python
that builds a triangular and a 1cycle scheduler. --out is checked before the test starts; on
Ctrl-C the curve so far is saved to range_test_partial.json (exit status 130). Before its first
file, a run removes those files of an earlier run from --out (and no other file).

examples:
  cyclr find examples/find_target.py:setup
  cyclr find examples/find_target.py:setup --mode linear --start-lr 1e-3 --end-lr 1 --num-iter 300
  cyclr find mypkg.train:make_setup --linear-iter 200 --seed 0 --out lr-test
  cyclr find train.py:setup --num-iter 100                 # one quick exponential sweep
  cyclr find train.py:setup --method loss --no-progress"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``find`` on the ``cyclr`` subparsers."""
    p: argparse.ArgumentParser = command(
        sub,
        "find",
        "run the LR range test on your own model",
        "Run the LR range test on your model and suggest CLR bounds.",
        _EPILOG,
    )
    add_target(p)
    p.add_argument(
        "--out",
        default="cyclr-find",
        metavar="DIR",
        help="folder for range_test.json and range_test.png (default: %(default)s)",
    )
    g = p.add_argument_group("range test")
    _add_ramps(g)
    _add_training(g)
    g = p.add_argument_group("suggestion")
    add_method(g, "auto, accuracy, loss, steepest, minimum, valley or slide")
    g.add_argument(
        "--iters-per-epoch",
        type=positive_int,
        default=None,
        metavar="N",
        help="for the step size in the printed code (default: len(train_loader))",
    )
    return p


def _add_ramps(g: Any) -> None:
    """The options of a single ramp, and the lengths of the recipe's two."""
    add_ramp_ends(g, " of a single sweep")
    g.add_argument(
        "--mode",
        choices=("exp", "linear"),
        default=None,
        help="a single exponential or linear sweep (default: two sweeps, see below)",
    )
    g.add_argument(
        "--num-iter",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"optimizer updates in a single sweep (default: {NUM_ITER})",
    )
    for flag, sweep, default in (
        ("--coarse-iter", "first, exponential", COARSE_ITER),
        ("--linear-iter", "second, linear", LINEAR_ITER),
    ):
        g.add_argument(
            flag,
            type=int_at_least(10, "an integer >= 10"),
            default=None,
            metavar="N",
            help=f"updates in the {sweep} sweep of two (default: {default})",
        )


def _add_training(g: Any) -> None:
    """How the test trains: what it records, the early stop, the device, the seed."""
    g.add_argument(
        "--metric",
        choices=("auto", "accuracy", "none"),
        default="auto",
        help="training metric to record (default: accuracy for classifiers)",
    )
    add_range_test_options(g, "--val-every", "--val-batches")
    g.add_argument(
        "--smooth",
        type=number,
        default=0.98,
        metavar="BETA",
        help="EMA factor of the smoothed loss (default: %(default)s)",
    )
    add_range_test_options(g, "--diverge")
    g.add_argument(
        "--accumulation-steps",
        type=positive_int,
        default=1,
        metavar="N",
        help="micro-batches per optimizer update (default: %(default)s)",
    )
    g.add_argument(
        "--device", default=None, help="torch device for the batches (default: the model's)"
    )
    g.add_argument(
        "--seed", type=nonneg_int, default=None, help="seed Python, numpy and torch for the test"
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


@dataclass(frozen=True)
class _Job:
    """A run of ``cyclr find``: the options, the target, the range test's keywords and the files."""

    args: argparse.Namespace
    target: Any
    options: dict[str, Any]
    folder: Path
    outputs: OutputFiles

    def interrupted(self, exc: KeyboardInterrupt) -> None:
        """Keep the curve so far, after clearing an earlier run's files."""
        keep_partial_test(exc, path=self.folder / PARTIAL, before=self.outputs.fresh)

    def report(
        self, result: cyclr.RangeTestResult, bounds: cyclr.Bounds | None, json_name: str
    ) -> int:
        """The bounds and the code, the plot beside ``json_name``."""
        ipe = self.args.iters_per_epoch or _loader_len(self.target.train_loader)
        png = self.folder / "range_test.png"
        return report_bounds(result, bounds, ipe, self.folder / json_name, png)


#: The options of a single sweep, and those of the two sweeps.
_SINGLE = ("--mode", "--start-lr", "--end-lr", "--num-iter")
_TWO = ("--coarse-iter", "--linear-iter")


def run(args: argparse.Namespace) -> int:
    """``cyclr find``: the range test, the files, the bounds and the code."""
    require("torch", extra="torch")
    check_method(args.method)
    single = [o for o in _SINGLE if getattr(args, o[2:].replace("-", "_")) is not None]
    two = [o for o in _TWO if getattr(args, o[2:].replace("-", "_")) is not None]
    if single and two:
        raise CLIError(
            f"{', '.join(two)} set the two sweeps and {', '.join(single)} a single one; "
            "give the options of one kind"
        )
    files = ["range_test.json", "range_test.png", PARTIAL]
    folder = prepare_dir(args.out, files if single else [*files, COARSE])
    outputs = OutputFiles(folder, [*files, COARSE])
    target = call_target(load_target(args.target), args.target)
    options = range_test_options(args, target)
    options.update(
        metric=None if args.metric == "none" else args.metric,
        smooth=args.smooth,
        accumulation_steps=args.accumulation_steps,
    )
    job = _Job(args, target, options, folder, outputs)
    return _one_sweep(job) if single else _two_sweeps(job)


def _ran(tests: Sequence[cyclr.RangeTestResult], wall: float | None = None) -> str:
    """``Range test: N updates (exp 1e-07 → 10)[, then ...][ in W s]; how it ended.``"""
    ramps = ", then ".join(f"{len(t)} updates ({sweep_text(t)})" for t in tests)
    took = "" if wall is None else f" in {wall:.1f} s"
    return f"Range test: {ramps}{took}; {stop_text(tests[-1])}."


def _one_sweep(job: _Job) -> int:
    """One sweep (:func:`cyclr.torch.range_test`), saved, then read with ``--method``."""
    from cyclr.suggest import SuggestionError
    from cyclr.torch import range_test

    args = job.args
    ramp: dict[str, Any] = {"mode": args.mode or "exp", "num_iter": args.num_iter or NUM_ITER}
    ramp.update({k: getattr(args, k) for k in ("start_lr", "end_lr")})
    start = time.perf_counter()
    result = run_on_target(
        "the range test", range_test, job.target, interrupted=job.interrupted, **job.options, **ramp
    )
    wall = time.perf_counter() - start
    job.outputs.fresh()
    result.save(job.folder / "range_test.json")
    bounds: cyclr.Bounds | None = None
    try:
        bounds = result.suggest(args.method)
    except SuggestionError as exc:
        no_bounds_note(exc)
    out(_ran([result], wall))
    return job.report(result, bounds, "range_test.json")


def _two_sweeps(job: _Job) -> int:
    """The two-stage test (:func:`cyclr.torch.find_bounds`), each test saved as it ends."""
    from cyclr.range_test.recipe import STOPPED
    from cyclr.suggest import SuggestionError
    from cyclr.torch import find_bounds

    tests: list[cyclr.RangeTestResult] = []

    def save(result: cyclr.RangeTestResult) -> None:  # as each test ends
        job.outputs.fresh()
        result.save(job.folder / ("range_test.json" if tests else COARSE))
        tests.append(result)

    start = time.perf_counter()
    try:
        found = run_on_target(
            "the range test",
            find_bounds,
            job.target,
            keep=(SuggestionError,),
            interrupted=job.interrupted,
            method=job.args.method,
            coarse_iter=job.args.coarse_iter or COARSE_ITER,
            linear_iter=job.args.linear_iter or LINEAR_ITER,
            on_test=save,
            **job.options,
        )
        bounds: cyclr.Bounds | None = found.bounds
    except SuggestionError as exc:
        if not tests:  # raised before any test ran
            raise CLIError(str(exc)) from None
        if len(tests) == 1:  # the coarse test found no blow-up
            out(_ran(tests), f"Wrote {job.folder / COARSE}.")
            why = str(exc).split(f"; {STOPPED}", 1)[0]  # once: the note quotes the reason
            print(f"cyclr: no range for the linear sweep ({exc.kind}): {why}", file=sys.stderr)
            return EXIT_NO_SUGGESTION
        no_bounds_note(exc)
        bounds = None
    wall = time.perf_counter() - start

    if len(tests) == 1:  # no blow-up, no linear sweep: read off the coarse test
        coarse = found.tests[0]
        coarse.save(
            job.folder / COARSE
        )  # with the message that says why the linear sweep did not run
        out(
            _ran([coarse], wall),
            f"T{STOPPED[1:]}{coarse.message.rsplit(STOPPED, 1)[-1]}.",
            "The bounds are read off the exponential test.",
        )
        return job.report(coarse, bounds, COARSE)
    out(_ran(tests, wall))
    return job.report(tests[-1], bounds, "range_test.json")


def _loader_len(loader: Any) -> int | None:
    try:
        n = len(loader)
    except TypeError:
        return None
    return n if isinstance(n, int) and n > 0 else None

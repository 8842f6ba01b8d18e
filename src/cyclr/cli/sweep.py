"""``cyclr sweep TARGET``: the LR range test at several values of momentum, weight decay or batch
size (Smith 2018, §4.2-§4.4), the value to use, and a plot of the curves.

The target is loaded as ``cyclr find`` loads it (:func:`cyclr.load_target`).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from typing import TYPE_CHECKING, Any

import cyclr
from cyclr.cli._common import (
    EXIT_NO_SUGGESTION,
    CLIError,
    add_method,
    add_ramp_ends,
    add_range_test_options,
    add_target,
    bounds_text,
    check_method,
    command,
    nonneg_int,
    out,
    positive_int,
    require,
    sweep_text,
)
from cyclr.cli._files import keep_partial_sweep, prepare_dir, save_plot
from cyclr.cli.target import call_target, load_target, range_test_options, run_on_target

if TYPE_CHECKING:
    from cyclr.sweep import SweepSuggestion

__all__ = ["add_parser", "run"]

#: What an interrupted sweep leaves in ``--out``: the range tests so far, the last one partial.
PARTIAL = "sweep_partial.json"

_EPILOG = """\
TARGET is loaded as by 'cyclr find': 'path/to/file.py:function' or 'package.module:function',
returning the model, optimizer, loss_fn (or loss_of_batch), train_loader and, optionally,
val_loader and batch_fn.

One LR range test runs per value (the model and optimizer are restored after each), and the
value is chosen whose loss stays low up to the largest LR (Smith 2018). The curves compared are
the validation losses when the target has a val_loader (and at least 8 points are scored per
value; see --val-every), else the training losses. When the curves overlap within noise there is
no clear winner, and the command says so. Batch sizes need a torch DataLoader as
train_loader (it is rebuilt for each size) and are compared at equal wall time by default.

Writes sweep.json (load it with cyclr.SweepResult.load) and sweep.png to --out, which is
checked before the first test; on Ctrl-C the tests so far are saved to sweep_partial.json (exit
status 130).

examples:
  cyclr sweep examples/find_target.py:setup --param momentum --values 0.99,0.95,0.9
  cyclr sweep train.py:setup --param weight_decay          # 1e-3, 1e-4, 1e-5, 0
  cyclr sweep train.py:setup --param beta1 --values 0.95,0.9,0.8 --end-lr 1
  cyclr sweep train.py:setup --param batch_size --values 64,128,256 --budget samples"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``sweep`` on the ``cyclr`` subparsers."""
    p: argparse.ArgumentParser = command(
        sub,
        "sweep",
        "range tests at several momentum / weight decay / batch size values",
        "Run the LR range test at several values of one hyper-parameter and choose one "
        "(Smith 2018).",
        _EPILOG,
    )
    add_target(p)
    p.add_argument(
        "--param",
        default="momentum",
        choices=("momentum", "beta1", "weight_decay", "batch_size"),
        help="the hyper-parameter to sweep (default: %(default)s)",
    )
    p.add_argument(
        "--values",
        default=None,
        metavar="V1,V2,...",
        help="comma-separated values (default: 0.99,0.97,0.95,0.9 for momentum, "
        "1e-3,1e-4,1e-5,0 for weight decay)",
    )
    p.add_argument(
        "--out",
        default="cyclr-sweep",
        metavar="DIR",
        help="folder for sweep.json and sweep.png (default: %(default)s)",
    )
    _add_range_test(p.add_argument_group("range test (each value)"))
    g = p.add_argument_group("choice")
    g.add_argument(
        "--curve",
        choices=("auto", "loss", "val_loss", "metric", "val_metric"),
        default="auto",
        help="the curve compared (default: val_loss when the target has a val_loader, else loss)",
    )
    add_method(g, "rule for the chosen value's LR bounds")
    g.add_argument("--json", action="store_true", help="print the choice as JSON only")
    return p


def _add_range_test(g: Any) -> None:
    """The options of each value's range test."""
    add_ramp_ends(g)
    g.add_argument(
        "--mode",
        choices=("exp", "linear"),
        default="exp",
        help="sweep shape (default: %(default)s)",
    )
    g.add_argument(
        "--num-iter",
        type=positive_int,
        default=100,
        metavar="N",
        help="optimizer updates per range test (default: %(default)s)",
    )
    g.add_argument(
        "--budget",
        choices=("time", "samples", "updates"),
        default=None,
        help="batch size only: compare at equal wall time (default), samples or updates",
    )
    add_range_test_options(g, "--val-every", "--val-batches", "--diverge")
    g.add_argument("--device", default=None, help="torch device for the batches")
    g.add_argument(
        "--seed",
        type=nonneg_int,
        default=None,
        help="seed Python, numpy and torch for every range test",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def _values(text: str | None, param: str) -> list[Any] | None:
    if text is None:
        return None
    parts = [s.strip() for s in text.split(",") if s.strip()]
    if not parts:
        raise CLIError(f"--values: expected comma-separated numbers, got {text!r}")
    out: list[Any] = []
    for s in parts:
        try:
            out.append(int(s) if param == "batch_size" else float(s))
        except ValueError:
            kind = "integers" if param == "batch_size" else "numbers"
            raise CLIError(
                f"--values: expected comma-separated {kind}, got {s!r} in {text!r}"
            ) from None
    return out


def run(args: argparse.Namespace) -> int:
    """``cyclr sweep``."""
    require("torch", extra="torch")
    check_method(args.method)
    values = _values(args.values, args.param)
    folder = prepare_dir(args.out, ("sweep.json", "sweep.png", PARTIAL))
    target = call_target(load_target(args.target), args.target)

    from cyclr.suggest import SuggestionError
    from cyclr.torch import sweep

    start = time.perf_counter()
    result = run_on_target(
        "the sweep",
        sweep,
        target,
        interrupted=lambda exc: keep_partial_sweep(exc, folder / PARTIAL),
        param=args.param,
        values=values,
        budget=args.budget,
        start_lr=args.start_lr,
        end_lr=args.end_lr,
        mode=args.mode,
        num_iter=args.num_iter,
        **range_test_options(args, target),
    )
    wall = time.perf_counter() - start
    json_path = result.save(folder / "sweep.json")
    try:
        choice = result.suggest(args.curve, method=args.method)
    except SuggestionError as exc:
        if exc.kind == "unknown_method":
            raise CLIError(str(exc)) from None
        out(f"Wrote {json_path}.")
        print(f"cyclr: no choice from this sweep ({exc.kind}): {exc}", file=sys.stderr)
        return EXIT_NO_SUGGESTION
    except ValueError as exc:  # e.g. --curve val_loss without a val_loader
        raise CLIError(f"--curve {args.curve}: {exc}") from None
    if args.json:
        print(json.dumps(choice.to_dict(), indent=1))
        return 0
    png = folder / "sweep.png"
    drawn = save_plot(png, lambda ax: cyclr.plot.sweep(result, ax, suggestion=choice))
    first = result.results[0]
    out(
        f"Sweep of {result.label}: {len(result)} range tests ({sweep_text(first)}, "
        f"{args.num_iter} updates each) in {wall:.1f} s; compared: the "
        f"{choice.curve.replace('_', ' ')}.",
        "",
    )
    out(*_choice_text(result.label, choice))
    out("", f"Wrote {', '.join(str(p) for p in [json_path] + ([png] if drawn else []))}.")
    return 0


def _choice_text(name: str, choice: SweepSuggestion) -> list[str]:
    """Each value's reading, the choice and why, what to try next, and the LR bounds."""
    lines = [
        f"  {name:>12}  {'floor':>8}  {'stable up to lr':>15}",
        *(
            f"  {r.value:>12g}  {r.floor:>8.4g}  {r.stable_lr:>15.3g}"
            if r.ok
            else f"  {r.value:>12g}  {'-':>8}  {r.note:>15}"
            for r in choice.readings
        ),
        "",
    ]
    if choice.clear:
        lines.append(f"Chosen: {name} = {choice.value:g}")
    else:
        lines.append(f"No clear winner (leader: {name} = {choice.leader:g}).")
    why = choice.reason.removeprefix("no clear winner: ")
    lines += textwrap.wrap(f"Why: {why}.", 100)
    if choice.next_values:
        lines.append(
            f"Next to try: {name} = {', '.join(f'{x:.3g}' for x in choice.next_values)} "
            "(the exponent of the best two bisected, Smith 2018 §4.4)."
        )
    if choice.bounds is not None:
        which = "the choice" if choice.clear else "the leader"
        lines += [
            "",
            f"LR bounds from the range test at {name} = {choice.leader:g} ({which}):",
            *bounds_text(choice.bounds),
        ]
    return lines

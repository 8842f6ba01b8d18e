"""The ``cyclr`` command line: ``demo``, ``find``, ``suggest``, ``plot`` and ``sweep``.

- ``cyclr demo`` (:mod:`cyclr.cli.demo`): the range test, CLR and 1cycle super-convergence end
  to end on MNIST-1D (see :mod:`cyclr.demo`);
- ``cyclr find TARGET`` (:mod:`cyclr.cli.find`): the LR range test on your own model, then the
  suggested bounds and ready-to-paste scheduler code;
- ``cyclr suggest RESULT.json`` (:mod:`cyclr.cli.suggest`): re-read the bounds from a saved
  range test (numpy only, no torch);
- ``cyclr plot SCHEDULE`` (:mod:`cyclr.cli.plot`): preview a schedule in the terminal and as a
  PNG;
- ``cyclr sweep TARGET`` (:mod:`cyclr.cli.sweep`): range tests at several momentum,
  weight-decay or batch-size values and the value to use (Smith 2018).

Exit status: 0 success, 1 the range-test curve supports no suggestion, 2 bad input (one line on
stderr, no traceback), 130 interrupted, 141 stdout was closed early (``cyclr ... | head -1``).
Heavy libraries (torch, matplotlib, mnist1d) are imported only by the commands that need them.

``cyclr find`` and ``cyclr sweep`` call a function of yours that takes no arguments and returns
the training setup, as a dict or a :class:`FindTarget` (see :mod:`cyclr.cli.target`).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import traceback
from collections.abc import Sequence

import cyclr
from cyclr.cli import demo, find, plot, suggest, sweep
from cyclr.cli._common import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_NO_SUGGESTION,
    EXIT_USAGE,
    FORMATTER,
    CLIError,
    Parser,
    bounds_text,
    scheduler_code,
)
from cyclr.cli.plot import default_steps, schedule_from_args, sparkline
from cyclr.cli.target import FindTarget, as_target, call_target, load_target

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_NO_SUGGESTION",
    "EXIT_USAGE",
    "CLIError",
    "FindTarget",
    "as_target",
    "bounds_text",
    "build_parser",
    "call_target",
    "default_steps",
    "load_target",
    "main",
    "schedule_from_args",
    "scheduler_code",
    "sparkline",
]

#: The command modules, in the order ``cyclr --help`` lists them.
COMMANDS = (demo, find, suggest, plot, sweep)

_EPILOG = """\
examples:
  cyclr demo                        # range test, CLR and 1cycle on MNIST-1D
  cyclr find train.py:setup         # range test on your model, then the suggested bounds
  cyclr suggest cyclr-find/range_test.json --method all
  cyclr plot one_cycle --max-lr 0.2 --total-steps 1000 --momentum
  cyclr sweep train.py:setup --param momentum --values 0.99,0.95,0.9

Run 'cyclr COMMAND --help' for the options of each command.
exit status: 0 ok, 1 no bounds could be read from the curve, 2 bad input, 130 interrupted,
141 the output pipe was closed."""

_TRACEBACK_HELP = "on an error in your code, show the full traceback"


def build_parser() -> argparse.ArgumentParser:
    """The ``cyclr`` argument parser: one subparser per module of :data:`COMMANDS`."""
    parser = Parser(
        prog="cyclr",
        description="Cyclical learning rates, the LR range test and 1cycle super-convergence.",
        epilog=_EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument("--version", action="version", version=f"cyclr {cyclr.__version__}")
    parser.add_argument("--traceback", action="store_true", help=_TRACEBACK_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        p = command.add_parser(sub)
        p.set_defaults(handler=command.run)
        # Also after the command; SUPPRESS keeps one given before it when this one is not.
        p.add_argument(
            "--traceback", action="store_true", default=argparse.SUPPRESS, help=_TRACEBACK_HELP
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cyclr`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    Example:
        >>> from cyclr.cli import main
        >>> main(["plot", "triangular", "--base-lr", "0.1", "--max-lr", "0.5", "--step-size",
        ...       "4", "--no-png"])  # doctest: +ELLIPSIS
        Triangular(base_lr=0.1, max_lr=0.5, step_size=4), steps 0-23
        ...
        0
    """
    try:
        status = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:  # e.g. `cyclr plot ... | head -1`
        _drop_stdout()
        return EXIT_BROKEN_PIPE


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    show_traceback = False
    try:
        args = parser.parse_args(argv)
        show_traceback = args.traceback
        if args.command is None:
            parser.print_help()
            return 0
        return int(args.handler(args))
    except CLIError as exc:
        if show_traceback and exc.cause is not None:
            traceback.print_exception(type(exc.cause), exc.cause, exc.cause.__traceback__)
        print(f"cyclr: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 1


def _drop_stdout() -> None:
    """Point stdout at the null device, so that what is still buffered does not fail again
    (with "Exception ignored ...") when the interpreter exits."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, sys.stdout.fileno())
        finally:
            os.close(null)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # stdout is not a file (captured, replaced): nothing is flushed at exit

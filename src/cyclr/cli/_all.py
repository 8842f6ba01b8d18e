"""The ``cyclr`` command line: ``demo``, ``find``, ``suggest`` and ``plot``.

- ``cyclr demo``: the range test, CLR and 1cycle super-convergence end to end on MNIST-1D
  (see :mod:`cyclr.demo`);
- ``cyclr find TARGET``: the LR range test on your own model, then the suggested bounds and
  ready-to-paste scheduler code;
- ``cyclr suggest RESULT.json``: re-read the bounds from a saved range test (numpy only, no
  torch);
- ``cyclr plot SCHEDULE``: preview a schedule in the terminal and as a PNG;
- ``cyclr sweep TARGET``: range tests at several momentum, weight-decay or batch-size values and
  the value to use (Smith 2018; see :mod:`cyclr.cli.sweep`).

Exit status: 0 success, 1 the range-test curve supports no suggestion, 2 bad input (one line on
stderr, no traceback), 130 interrupted. Heavy libraries (torch, matplotlib, mnist1d) are imported
only by the commands that need them.

``cyclr find`` calls a function of yours that takes no arguments and returns the training setup,
as a dict or a :class:`FindTarget`::

    # my_setup.py; run: cyclr find my_setup.py:setup
    def setup():
        model = Net()
        return {"model": model,
                "optimizer": torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                "loss_fn": torch.nn.CrossEntropyLoss(),
                "train_loader": DataLoader(train_set, batch_size=64, shuffle=True),
                "val_loader": DataLoader(val_set, batch_size=256)}  # optional
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import importlib
import importlib.util
import inspect
import json
import math
import os
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, TypeVar

import cyclr

__all__ = ["CLIError", "FindTarget", "main"]

EXIT_NO_SUGGESTION = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_T = TypeVar("_T")

_CYCLR_DIR = str(Path(cyclr.__file__).resolve().parent)


class CLIError(Exception):
    """Bad input: ``main`` prints ``cyclr: error: <message>`` and exits with status 2.

    ``cause`` is the exception raised by the user's code, if any (shown with ``--traceback``).
    """

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


@dataclass
class FindTarget:
    """What a ``cyclr find`` target function returns (a dict with the same keys works too).

    Attributes:
        model: the ``torch.nn.Module`` to test.
        optimizer: its ``torch.optim.Optimizer`` (the range test sets the LR; other settings,
            such as momentum and weight decay, are used as given).
        loss_fn: ``loss_fn(model(inputs), targets)`` -> a scalar tensor.
        train_loader: an iterable of ``(inputs, targets)`` batches; restarted when it ends.
        val_loader: optional held-out batches; a few are scored during the test.

    Example:
        >>> import torch
        >>> from cyclr.cli import FindTarget
        >>> def setup() -> FindTarget:
        ...     model = torch.nn.Linear(8, 3)
        ...     data = [(torch.randn(16, 8), torch.randint(0, 3, (16,)))] * 4
        ...     return FindTarget(model, torch.optim.SGD(model.parameters(), lr=0.1),
        ...                       torch.nn.CrossEntropyLoss(), data)
        >>> setup().val_loader is None
        True
    """

    model: Any
    optimizer: Any
    loss_fn: Any
    train_loader: Any
    val_loader: Any = None


_TARGET_KEYS = tuple(f.name for f in dataclasses.fields(FindTarget))
_REQUIRED_KEYS = _TARGET_KEYS[:4]


# -- argument parsing ---------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"cyclr: error: {message} (see '{self.prog} --help')\n")


_FORMATTER = argparse.RawDescriptionHelpFormatter

_MAIN_EPILOG = """\
examples:
  cyclr demo                        # range test, CLR and 1cycle on MNIST-1D (about a minute)
  cyclr find train.py:setup         # range test on your model, then the suggested bounds
  cyclr suggest cyclr-find/range_test.json --method all
  cyclr plot one_cycle --max-lr 0.2 --total-steps 1000 --momentum
  cyclr sweep train.py:setup --param momentum --values 0.99,0.95,0.9

Run 'cyclr COMMAND --help' for the options of each command.
exit status: 0 ok, 1 no bounds could be read from the curve, 2 bad input, 130 interrupted."""

_DEMO_EPILOG = """\
what it does:
  1. LR range test and the bounds read from it: an exponential sweep finds where the loss
     blows up, then the paper's linear sweep (Smith 2015, section 3.3) up to there
  2. four runs from the same initial weights: fixed LR (baseline), triangular CLR,
     triangular2 (or exp_range), and 1cycle with cyclical momentum on under a third of the budget
  3. a table: final test accuracy, iterations to reach the baseline's final accuracy,
     speed-up (the range test's iterations included) and wall time
  4. a report folder: summary.md, accuracy.png, schedules.png, range_test.png, results.json

examples:
  cyclr demo                          # the full demo, under a minute on 2 CPU cores
  cyclr demo --quick                  # a shorter version, about 15 s
  cyclr demo --seed 3 --out report3   # another seed, another folder
  cyclr demo --third exp_range        # exp_range instead of triangular2"""

_FIND_EPILOG = """\
TARGET is 'path/to/file.py:function' or 'package.module:function'. The function takes no
arguments and returns a dict with the keys model, optimizer, loss_fn, train_loader and,
optionally, val_loader -- or a cyclr.cli.FindTarget with the same fields:

  def setup():
      model = Net()
      opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
      return {"model": model, "optimizer": opt, "loss_fn": torch.nn.CrossEntropyLoss(),
              "train_loader": DataLoader(train_set, batch_size=64, shuffle=True)}

By default the test runs two sweeps, as cyclr.torch.auto_schedule does: an exponential one
(--coarse-iter updates, 1e-7 to 10) finds where the loss blows up, then the paper's linear sweep
(--num-iter updates) rises from a thousandth of that LR up to it, and the bounds are read from
it. --start-lr, --end-lr or --mode run a single sweep with those settings instead.

The model and optimizer are restored after the test. Writes range_test.json (and, for two
sweeps, range_test_coarse.json) and range_test.png to --out, then prints the bounds and Python
that builds a triangular and a 1cycle scheduler.

examples:
  cyclr find examples/find_target.py:setup
  cyclr find examples/find_target.py:setup --mode linear --start-lr 1e-3 --end-lr 1 --num-iter 300
  cyclr find mypkg.train:make_setup --num-iter 200 --seed 0 --out lr-test
  cyclr find train.py:setup --mode exp --num-iter 100      # one quick exponential sweep
  cyclr find train.py:setup --method loss --no-progress"""

_SUGGEST_EPILOG = """\
Reads a range test saved by 'cyclr find' or RangeTestResult.save() -- no torch needed.

methods: auto (accuracy when a metric was recorded, else loss), accuracy (the paper's reading),
loss, and the single-LR rules steepest, minimum, valley, slide (base_lr = max_lr / 4);
'all' compares every rule.

examples:
  cyclr suggest cyclr-find/range_test.json
  cyclr suggest cyclr-report/range_test.json --method loss --iters-per-epoch 40
  cyclr suggest range_test.json --method all
  cyclr suggest range_test.json --json > bounds.json
  cyclr suggest range_test.json --plot range_test_loss.png --method loss"""

_PLOT_EPILOG = """\
SCHEDULE is a policy name with flags, or a JSON spec (a file, or inline JSON) in the form of
schedule.to_dict(). Prints key values and a sparkline, and writes a PNG (--out).

policies and their flags:
  triangular, triangular2   --base-lr --max-lr --step-size [--step-size-down]
  exp_range                 --base-lr --max-lr --step-size --gamma [--decay bounds|amplitude]
  one_cycle                 --max-lr --total-steps [--preset smith|pytorch|fastai]
                            [--div-factor --final-div-factor --pct-start --pct-annihilate
                             --anneal linear|cos --three-phase]
  constant                  --value

examples:
  cyclr plot triangular --base-lr 0.001 --max-lr 0.006 --step-size 2000 --steps 12000
  cyclr plot exp_range --base-lr 0.001 --max-lr 0.006 --step-size 2000 --gamma 0.99994
  cyclr plot one_cycle --max-lr 0.2 --total-steps 1000 --momentum
  cyclr plot one_cycle --max-lr 0.2 --total-steps 1000 --preset pytorch --out pytorch.png
  cyclr plot '{"type": "Triangular2", "base_lr": 0.001, "max_lr": 0.006, "step_size": 2000}'
  cyclr plot schedule.json --steps 20000"""


def _int_at_least(minimum: int, wanted: str) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_nonneg_int = _int_at_least(0, "an integer >= 0")


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _lr(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a learning rate > 0, got {text!r}")
    return value


def _diverge(text: str) -> float | None:
    if text.lower() in ("none", "off", "never"):
        return None
    return _number(text)


def _method_names() -> tuple[str, ...]:
    from cyclr.suggest import methods

    return methods()


def build_parser() -> argparse.ArgumentParser:
    """The ``cyclr`` argument parser."""
    parser = _Parser(
        prog="cyclr",
        description="Cyclical learning rates, the LR range test and 1cycle super-convergence.",
        epilog=_MAIN_EPILOG,
        formatter_class=_FORMATTER,
    )
    parser.add_argument("--version", action="version", version=f"cyclr {cyclr.__version__}")
    parser.add_argument(
        "--traceback", action="store_true", help="on an error in your code, show the full traceback"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    # demo
    p = sub.add_parser(
        "demo",
        help="range test, CLR and 1cycle end to end on MNIST-1D",
        description="Show cyclical learning rates and super-convergence end to "
        "end\non MNIST-1D (generated locally; nothing is downloaded).",
        epilog=_DEMO_EPILOG,
        formatter_class=_FORMATTER,
    )
    p.add_argument(
        "--out", default="cyclr-report", metavar="DIR", help="report folder (default: %(default)s)"
    )
    p.add_argument(
        "--seed",
        type=_nonneg_int,
        default=0,
        help="model init, batch order and range test (default: %(default)s)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smaller budgets: 4 CLR cycles instead of 10, 1cycle over 10 epochs",
    )
    p.add_argument(
        "--third",
        choices=("triangular2", "exp_range"),
        default="triangular2",
        help="the third policy (default: %(default)s)",
    )
    p.add_argument(
        "--baseline-lr",
        type=_lr,
        default=None,
        metavar="LR",
        help="the fixed LR of the baseline (default: 0.05, the best of a grid search on this task)",
    )
    p.add_argument(
        "--method",
        default="auto",
        metavar="METHOD",
        help="rule that reads the bounds off the range test (default: auto)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_demo)

    # find
    p = sub.add_parser(
        "find",
        help="run the LR range test on your own model",
        description="Run the LR range test on your model and suggest CLR bounds.",
        epilog=_FIND_EPILOG,
        formatter_class=_FORMATTER,
    )
    p.add_argument(
        "target", metavar="TARGET", help="'path/to/file.py:function' or 'package.module:function'"
    )
    p.add_argument(
        "--out",
        default="cyclr-find",
        metavar="DIR",
        help="folder for range_test.json and range_test.png (default: %(default)s)",
    )
    g = p.add_argument_group("range test")
    g.add_argument(
        "--start-lr",
        type=_lr,
        default=None,
        metavar="LR",
        help="first LR of a single sweep (default: 1e-7 exp, 1e-3 linear)",
    )
    g.add_argument(
        "--end-lr",
        type=_lr,
        default=None,
        metavar="LR",
        help="last LR of a single sweep (default: 10 exp, 1 linear)",
    )
    g.add_argument(
        "--mode",
        choices=("exp", "linear"),
        default=None,
        help="a single exponential or linear sweep (default: two sweeps, see below)",
    )
    g.add_argument(
        "--num-iter",
        type=_positive_int,
        default=None,
        metavar="N",
        help="optimizer updates in the (linear) sweep (default: 400 for two sweeps, 100 for one)",
    )
    g.add_argument(
        "--coarse-iter",
        type=_positive_int,
        default=100,
        metavar="N",
        help="updates in the first, exponential sweep of two (default: %(default)s)",
    )
    g.add_argument(
        "--metric",
        choices=("auto", "accuracy", "none"),
        default="auto",
        help="training metric to record (default: accuracy for classifiers)",
    )
    g.add_argument(
        "--val-every",
        type=_positive_int,
        default=10,
        metavar="K",
        help="score the val_loader subset every K updates (default: %(default)s)",
    )
    g.add_argument(
        "--val-batches",
        type=_positive_int,
        default=4,
        metavar="B",
        help="batches of val_loader in the held-out subset (default: %(default)s)",
    )
    g.add_argument(
        "--smooth",
        type=_number,
        default=0.98,
        metavar="BETA",
        help="EMA factor of the smoothed loss (default: %(default)s)",
    )
    g.add_argument(
        "--diverge",
        type=_diverge,
        default=4.0,
        metavar="K",
        help="stop once the smoothed loss exceeds K x its best; 'none' never "
        "stops (default: %(default)s)",
    )
    g.add_argument(
        "--accumulation-steps",
        type=_positive_int,
        default=1,
        metavar="N",
        help="micro-batches per optimizer update (default: %(default)s)",
    )
    g.add_argument(
        "--device", default=None, help="torch device for the batches (default: the model's)"
    )
    g.add_argument(
        "--seed", type=_nonneg_int, default=None, help="seed Python, numpy and torch for the test"
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("suggestion")
    g.add_argument(
        "--method",
        default="auto",
        metavar="METHOD",
        help="auto, accuracy, loss, steepest, minimum, valley or slide (default: auto)",
    )
    g.add_argument(
        "--iters-per-epoch",
        type=_positive_int,
        default=None,
        metavar="N",
        help="for the step size in the printed code (default: len(train_loader))",
    )
    p.set_defaults(handler=_cmd_find)

    # suggest
    p = sub.add_parser(
        "suggest",
        help="re-read CLR bounds from a saved range test (no torch)",
        description="Read CLR bounds from a saved range test, without torch.",
        epilog=_SUGGEST_EPILOG,
        formatter_class=_FORMATTER,
    )
    p.add_argument("result", metavar="RESULT.json", help="a saved range test")
    p.add_argument(
        "--method",
        default="auto",
        metavar="METHOD",
        help="auto, accuracy, loss, steepest, minimum, valley, slide, or all (default: auto)",
    )
    p.add_argument(
        "--iters-per-epoch",
        type=_positive_int,
        default=None,
        metavar="N",
        help="for the step size in the printed code",
    )
    p.add_argument("--json", action="store_true", help="print the bounds as JSON only")
    p.add_argument(
        "--plot",
        default=None,
        metavar="PNG",
        help="also write the range-test plot with these bounds",
    )
    p.set_defaults(handler=_cmd_suggest)

    # plot
    p = sub.add_parser(
        "plot",
        help="preview a schedule in the terminal and as a PNG",
        description="Preview an LR schedule: key values and a sparkline in the "
        "terminal, and a PNG.",
        epilog=_PLOT_EPILOG,
        formatter_class=_FORMATTER,
    )
    p.add_argument(
        "schedule",
        metavar="SCHEDULE",
        help=f"{', '.join(_POLICIES)}, or a JSON spec (file or inline)",
    )
    g = p.add_argument_group("schedule")
    for flag in _SCHEDULE_FLAGS:
        kind = _SCHEDULE_FLAGS[flag]
        if kind is bool:
            g.add_argument(flag, action="store_true", default=None)
        elif isinstance(kind, tuple):
            g.add_argument(flag, choices=kind, default=None)
        else:
            metavar = flag[2:].upper().replace("-", "_")
            g.add_argument(flag, type=kind, default=None, metavar=metavar)
    g = p.add_argument_group("preview")
    g.add_argument(
        "--steps",
        type=_positive_int,
        default=None,
        metavar="N",
        help="steps to preview (default: 3 cycles, or the 1cycle's total_steps)",
    )
    g.add_argument(
        "--momentum",
        action="store_true",
        help="also show the inverse momentum schedule (0.95 -> 0.85 -> 0.95)",
    )
    g.add_argument(
        "--base-momentum",
        type=_number,
        default=0.85,
        metavar="M",
        help="lowest momentum (default: %(default)s)",
    )
    g.add_argument(
        "--max-momentum",
        type=_number,
        default=0.95,
        metavar="M",
        help="highest momentum (default: %(default)s)",
    )
    g.add_argument(
        "--out",
        default="schedule.png",
        metavar="PNG",
        help="where to write the plot (default: %(default)s)",
    )
    g.add_argument("--no-png", action="store_true", help="terminal preview only")
    g.add_argument("--json", action="store_true", help="also print the schedule's JSON spec")
    p.set_defaults(handler=_cmd_plot)

    # sweep
    from cyclr.cli.sweep import add_parser as add_sweep_parser

    add_sweep_parser(sub)
    return parser


# -- main ----------------------------------------------------------------------------------------
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
    except BrokenPipeError:  # e.g. `cyclr suggest r.json | head -1`
        sys.stdout = open(os.devnull, "w")
        return 1


def _out(*lines: str) -> None:
    for line in lines:
        print(line)


# -- errors in the user's code -----------------------------------------------------------------
def _frames(tb: TracebackType | None) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(tb))


def _is_library(filename: str) -> bool:
    path = os.path.abspath(filename)
    if path.startswith(_CYCLR_DIR):
        return True
    return any(
        part in path for part in ("site-packages", "dist-packages", f"{os.sep}lib{os.sep}python")
    ) or filename.startswith("<frozen")


def _user_error(exc: BaseException, what: str) -> CLIError:
    """One line for an exception raised by the user's code: type, location, message."""
    frames = _frames(exc.__traceback__)
    user = [f for f in frames if not _is_library(f.filename)]
    frame = user[-1] if user else (frames[-1] if frames else None)
    where = ""
    if frame is not None:
        where = f" at {_short_path(frame.filename)}:{frame.lineno} in {frame.name}"
    text = str(exc).strip().splitlines()
    message = f": {text[0]}" if text else ""
    return CLIError(
        f"{what} raised {type(exc).__name__}{where}{message} (rerun with --traceback for details)",
        exc,
    )


def _from_cyclr_validation(exc: BaseException) -> bool:
    """True when ``exc`` was raised by cyclr's own input checks (not inside the user's code)."""
    frames = _frames(exc.__traceback__)
    return bool(frames) and all(os.path.abspath(f.filename).startswith(_CYCLR_DIR) for f in frames)


def _short_path(filename: str) -> str:
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


# -- cyclr demo ----------------------------------------------------------------------------------
def _require(*modules: str, extra: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise CLIError(f"this command needs {', '.join(missing)}: pip install 'cyclr[{extra}]'")


def _prepare_dir(path: str) -> Path:
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise CLIError(f"--out {path}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"--out {path}: cannot create the folder ({exc.strerror})") from None
    return folder


def _check_method(method: str, allow_all: bool = False) -> None:
    names = _method_names() + (("all",) if allow_all else ())
    if method not in names:
        raise CLIError(f"unknown --method {method!r}; choose from {', '.join(names)}")


def _cmd_demo(args: argparse.Namespace) -> int:
    _require("torch", "mnist1d", "matplotlib", "tqdm", extra="demo")
    from cyclr import demo
    from cyclr.suggest import SuggestionError

    _check_method(args.method)
    overrides: dict[str, Any] = {
        "seed": args.seed,
        "third_policy": args.third,
        "method": args.method,
    }
    if args.baseline_lr is not None:
        overrides["baseline_lr"] = args.baseline_lr
    try:
        config = demo.DemoConfig.quick(**overrides) if args.quick else demo.DemoConfig(**overrides)
    except (TypeError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    folder = _prepare_dir(args.out)
    progress = not args.no_progress and sys.stderr.isatty()
    start = time.perf_counter()
    try:
        result = demo.run(config, folder, progress=progress, echo=print)
    except SuggestionError as exc:
        print(f"cyclr: the range test gave no bounds: {exc}", file=sys.stderr)
        return EXIT_NO_SUGGESTION
    wall = time.perf_counter() - start
    _out(
        "",
        result.table(),
        "",
        *textwrap.wrap(result.footnote(), 100),
        "",
        f"Report: {folder / 'summary.md'} (with accuracy.png, schedules.png, range_test.png, "
        f"results.json); total {wall:.0f} s.",
    )
    return 0


# -- cyclr find ----------------------------------------------------------------------------------
def load_target(spec: str) -> Callable[[], Any]:
    """The function named by ``'path/to/file.py:function'`` or ``'package.module:function'``.

    Raises :class:`CLIError` for a malformed spec, a missing file, module or function, or an
    exception while importing.
    """
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name or (len(where) == 1 and where.isalpha()):
        raise CLIError(
            f"TARGET must be 'path/to/file.py:function' or 'package.module:function', got {spec!r}"
        )
    if where.endswith(".py") or "/" in where or os.sep in where:
        module = _import_file(where)
    else:
        module = _import_module(where)
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise CLIError(f"{where} has no function {name!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise CLIError(f"{where}:{name} is a {type(obj).__name__}, not a function")
    return obj  # type: ignore[no-any-return]


def _import_file(where: str) -> ModuleType:
    path = Path(where)
    if not path.is_file():
        raise CLIError(f"no such file: {where}")
    name = f"_cyclr_target_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CLIError(f"cannot import {where}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = str(path.resolve().parent)
    if folder not in sys.path:  # let the file import its neighbours
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        sys.modules.pop(name, None)
        raise _user_error(exc, f"importing {where}") from None
    return module


def _import_module(where: str) -> ModuleType:
    if "" not in sys.path and os.getcwd() not in sys.path:  # like `python -m`
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name and (where == exc.name or where.startswith(exc.name + ".")):
            raise CLIError(f"no module named {exc.name!r} (from TARGET {where!r})") from None
        raise _user_error(exc, f"importing {where}") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise _user_error(exc, f"importing {where}") from None


def call_target(fn: Callable[[], Any], spec: str) -> FindTarget:
    """Call the target function and check what it returned."""
    try:
        inspect.signature(fn).bind()
    except TypeError:
        raise CLIError(
            f"{spec} must be callable without arguments; its signature is {inspect.signature(fn)}"
        ) from None
    except ValueError:  # no signature available (some builtins): just call it
        pass
    try:
        value = fn()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise _user_error(exc, spec) from None
    return as_target(value, spec)


def as_target(value: Any, spec: str = "the target") -> FindTarget:
    """Check a target's return value (a dict or a dataclass with :class:`FindTarget`'s fields).

    Example:
        >>> from cyclr.cli import as_target, CLIError
        >>> try:
        ...     as_target({"model": object()}, "f")
        ... except CLIError as e:
        ...     print(e)
        f returned a dict without 'optimizer', 'loss_fn', 'train_loader'
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif isinstance(value, Mapping):
        items = dict(value)
    else:
        raise CLIError(
            f"{spec} returned {type(value).__name__}; expected a dict with the keys "
            f"{', '.join(_REQUIRED_KEYS)} (and optionally val_loader), or a "
            f"cyclr.cli.FindTarget"
        )
    kind = "a dict" if isinstance(value, Mapping) else type(value).__name__
    missing = [k for k in _REQUIRED_KEYS if items.get(k) is None]
    if missing:
        raise CLIError(f"{spec} returned {kind} without {', '.join(map(repr, missing))}")
    unknown = sorted(set(map(str, items)) - set(_TARGET_KEYS))
    if unknown:
        raise CLIError(
            f"{spec} returned unknown key(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(_TARGET_KEYS)}"
        )
    target = FindTarget(**items)
    _check_target_types(target, spec)
    return target


def _check_target_types(t: FindTarget, spec: str) -> None:
    import torch

    def bad(key: str, want: str, got: Any) -> CLIError:
        return CLIError(f"{spec} returned {key}={type(got).__name__}; expected {want}")

    if not isinstance(t.model, torch.nn.Module):
        raise bad("model", "a torch.nn.Module", t.model)
    if not isinstance(t.optimizer, torch.optim.Optimizer):
        raise bad("optimizer", "a torch.optim.Optimizer", t.optimizer)
    if not callable(t.loss_fn):
        raise bad("loss_fn", "a callable loss_fn(outputs, targets)", t.loss_fn)
    for key in ("train_loader", "val_loader"):
        loader = getattr(t, key)
        if loader is not None and (
            isinstance(loader, (str, bytes, Mapping)) or not hasattr(loader, "__iter__")
        ):
            raise bad(key, "an iterable of (inputs, targets) batches", loader)
    held = {id(p) for g in t.optimizer.param_groups for p in g["params"]}
    if not any(id(p) in held for p in t.model.parameters()):
        raise CLIError(f"{spec} returned an optimizer that holds none of the model's parameters")


def _cmd_find(args: argparse.Namespace) -> int:
    _require("torch", extra="torch")
    _check_method(args.method)
    folder = _prepare_dir(args.out)
    fn = load_target(args.target)
    target = call_target(fn, args.target)

    from cyclr.suggest import SuggestionError, linear_sweep_range

    options: dict[str, Any] = {
        "metric": None if args.metric == "none" else args.metric,
        "val_loader": target.val_loader,
        "val_every": args.val_every,
        "val_batches": args.val_batches,
        "smooth": args.smooth,
        "diverge": args.diverge,
        "accumulation_steps": args.accumulation_steps,
        "device": args.device,
        "seed": args.seed,
        "progress": False if args.no_progress else None,
    }
    single = any(x is not None for x in (args.start_lr, args.end_lr, args.mode))
    start = time.perf_counter()
    if single:
        result = _range_test(
            target,
            start_lr=args.start_lr,
            end_lr=args.end_lr,
            mode=args.mode or "exp",
            num_iter=args.num_iter or 100,
            **options,
        )
    else:
        coarse = _range_test(target, mode="exp", num_iter=args.coarse_iter, **options)
        coarse.save(folder / "range_test_coarse.json")
        try:
            start_lr, end_lr = linear_sweep_range(coarse)
        except SuggestionError as exc:
            _out(
                f"Range test: {len(coarse)} updates ({_sweep_text(coarse)}); {_stop_text(coarse)}.",
                f"Wrote {folder / 'range_test_coarse.json'}.",
            )
            print(f"cyclr: no range for the linear sweep ({exc.kind}): {exc}", file=sys.stderr)
            return EXIT_NO_SUGGESTION
        result = _range_test(
            target,
            mode="linear",
            start_lr=start_lr,
            end_lr=end_lr,
            num_iter=args.num_iter or 400,
            **options,
        )
    wall = time.perf_counter() - start

    json_path = result.save(folder / "range_test.json")
    sweeps = "" if single else f"{len(coarse)} updates ({_sweep_text(coarse)}), then "
    _out(
        f"Range test: {sweeps}{len(result)} updates ({_sweep_text(result)}) in {wall:.1f} s; "
        f"{_stop_text(result)}."
    )
    ipe = args.iters_per_epoch or _len(target.train_loader)
    return _report_bounds(result, args.method, ipe, json_path, folder / "range_test.png")


def _run_on_target(what: str, loop: Callable[..., _T], target: FindTarget, **options: Any) -> _T:
    """``loop(model, optimizer, loss_fn, train_loader, **options)`` on the target; cyclr's own
    input errors and errors in the user's code become one line."""
    try:
        return loop(target.model, target.optimizer, target.loss_fn, target.train_loader, **options)
    except (KeyboardInterrupt, SystemExit):
        raise
    except (TypeError, ValueError) as exc:
        if _from_cyclr_validation(exc):
            raise CLIError(str(exc).splitlines()[0]) from None
        raise _user_error(exc, f"{what} (your model, loss or loader)") from None
    except BaseException as exc:
        raise _user_error(exc, f"{what} (your model, loss or loader)") from None


def _range_test(target: FindTarget, **options: Any) -> cyclr.RangeTestResult:
    """``cyclr.torch.range_test`` on the target; errors become one line."""
    from cyclr.torch import range_test

    return _run_on_target("the range test", range_test, target, **options)


def _sweep_text(result: cyclr.RangeTestResult) -> str:
    start = result.config.get("start_lr", result.lr[0] if len(result) else math.nan)
    end = result.config.get("end_lr", result.lr[-1] if len(result) else math.nan)
    return f"{result.mode} {start:.3g} → {end:.3g}"


def _len(loader: Any) -> int | None:
    try:
        n = len(loader)
    except TypeError:
        return None
    return n if isinstance(n, int) and n > 0 else None


def _stop_text(result: cyclr.RangeTestResult) -> str:
    if result.stop_reason == "end":
        return "ran to the end"
    text = {
        "diverged": "stopped early: the loss diverged",
        "non_finite_loss": "stopped: the loss became NaN or infinite",
        "data_exhausted": "stopped: the loader ran out of batches",
    }
    return text.get(result.stop_reason, f"stopped: {result.stop_reason}")


# -- bounds and code -----------------------------------------------------------------------------
def _suggest(result: cyclr.RangeTestResult, method: str) -> cyclr.Bounds | None:
    """The bounds, or ``None`` after printing why the curve supports none."""
    from cyclr.suggest import SuggestionError

    try:
        return result.suggest(method)
    except SuggestionError as exc:
        if exc.kind == "unknown_method":
            raise CLIError(str(exc)) from None
        print(f"cyclr: no bounds from this curve ({exc.kind}): {exc}", file=sys.stderr)
        return None


def _report_bounds(
    result: cyclr.RangeTestResult,
    method: str,
    ipe: int | None,
    json_path: Path | None,
    png: Path | None,
) -> int:
    bounds = _suggest(result, method)
    written = [json_path] if json_path is not None else []
    if png is not None and _plot_range_test(result, bounds, png):
        written.append(png)
    if written:
        _out(f"Wrote {', '.join(str(p) for p in written)}.")
    if bounds is None:
        return EXIT_NO_SUGGESTION
    _out("", *bounds_text(bounds), "", scheduler_code(bounds, ipe))
    if json_path is not None:
        _out("", f"Compare every rule, without torch: cyclr suggest {json_path} --method all")
    return 0


def _plot_range_test(
    result: cyclr.RangeTestResult, bounds: cyclr.Bounds | None, path: Path
) -> bool:
    return _save_plot(path, lambda ax: cyclr.plot.range_test(result, bounds=bounds, ax=ax))


def _save_plot(path: Path, draw: Callable[[Any], object]) -> bool:
    """``draw(ax)`` on an 8x5 figure written to ``path``; ``False`` (and a note on stderr)
    without matplotlib."""
    if importlib.util.find_spec("matplotlib") is None:
        print(
            "cyclr: matplotlib is not installed; no plot (pip install 'cyclr[plot]')",
            file=sys.stderr,
        )
        return False
    from matplotlib.figure import Figure

    import cyclr.plot  # noqa: F401  (``draw`` uses it)

    fig = Figure(figsize=(8, 5), dpi=110, layout="constrained")
    draw(fig.add_subplot())
    try:
        fig.savefig(path)
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
    return True


def bounds_text(bounds: cyclr.Bounds) -> list[str]:
    """The bounds and the reason, wrapped for the terminal."""
    head = (
        f"Suggested bounds ({bounds.method} rule): base_lr = {bounds.base_lr:.4g}, "
        f"max_lr = {bounds.max_lr:.4g}"
    )
    return [
        head,
        *textwrap.wrap(
            " ".join(bounds.reason.split()), 96, initial_indent="  ", subsequent_indent="  "
        ),
    ]


def scheduler_code(bounds: cyclr.Bounds, iters_per_epoch: int | None = None) -> str:
    """Ready-to-paste PyTorch code for a triangular and a 1cycle scheduler with ``bounds``.

    Example:
        >>> import cyclr
        >>> from cyclr.cli import scheduler_code
        >>> code = scheduler_code(cyclr.Bounds(0.05, 0.2, method="manual", reason=""), 40)
        >>> print(next(line for line in code.splitlines() if "Triangular(" in line).strip())
        schedule = cyclr.Triangular(base_lr=0.05, max_lr=0.2, step_size=4 * iters_per_epoch)
    """
    from cyclr.suggest.bounds import STEP_EPOCHS

    lo, hi = f"{bounds.base_lr:.4g}", f"{bounds.max_lr:.4g}"
    ipe = (
        f"iters_per_epoch = {iters_per_epoch}  # len(train_loader)"
        if iters_per_epoch
        else "iters_per_epoch = len(train_loader)"
    )
    cycle = 2 * STEP_EPOCHS
    head = ["import cyclr", "from cyclr.torch import CyclicScheduler", "", ipe]
    tri = [
        "# Triangular CLR (Smith 2015, section 3): half-cycle step_size = "
        f"{STEP_EPOCHS} epochs (2-10 is good).",
        f"schedule = cyclr.Triangular(base_lr={lo}, max_lr={hi}, "
        f"step_size={STEP_EPOCHS} * iters_per_epoch)",
        "scheduler = CyclicScheduler(optimizer, schedule)",
        f"# Train a whole number of cycles, at least 3: e.g. {3 * cycle} epochs = 3 cycles.",
        "# Call scheduler.step() after every optimizer.step().",
    ]
    div = bounds.one_cycle(total_steps=1000).div_factor  # the same for every length
    one = [
        f"# 1cycle (Smith 2018): {bounds.max_lr / div:.3g} -> max_lr -> {bounds.max_lr / div:.3g}, "
        "then annihilation,",
        "# with momentum 0.95 -> 0.85 -> 0.95. Set epochs to your budget: far fewer than with a",
        "# fixed LR.",
        "epochs = 20",
        f"schedule = cyclr.OneCycle(max_lr={hi}, total_steps=epochs * iters_per_epoch,",
        f"                          div_factor={div:.4g})",
        "scheduler = CyclicScheduler(optimizer, schedule, momentum=True)",
        "# Call scheduler.step() after every optimizer.step().",
    ]
    return "\n".join(
        [
            "Triangular CLR:",
            "",
            *_indent(head + tri),
            "",
            "1cycle (super-convergence):",
            "",
            *_indent(head + one),
        ]
    )


def _indent(lines: list[str]) -> list[str]:
    return [f"    {line}" if line else "" for line in lines]


# -- cyclr suggest -------------------------------------------------------------------------------
def _load_result(path: str) -> cyclr.RangeTestResult:
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"no such file: {path}")
    try:
        return cyclr.RangeTestResult.load(p)
    except (ValueError, TypeError, KeyError) as exc:
        raise CLIError(
            f"{path} is not a cyclr range-test result: {str(exc).splitlines()[0]}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None


def _cmd_suggest(args: argparse.Namespace) -> int:
    _check_method(args.method, allow_all=True)
    result = _load_result(args.result)
    if args.method == "all":
        return _suggest_all(result, args.json)
    if args.json:
        bounds = _suggest(result, args.method)
        if bounds is None:
            return EXIT_NO_SUGGESTION
        data = {k: v for k, v in bounds.to_dict().items() if k not in ("curve_lr", "curve_values")}
        _out(json.dumps(data, indent=1))
        return 0
    _out(
        f"{args.result}: {len(result)} updates, {result.mode} sweep "
        f"{_lr_span(result)}, {_stop_text(result)}."
    )
    png = Path(args.plot) if args.plot else None
    return _report_bounds(result, args.method, args.iters_per_epoch, None, png)


def _lr_span(result: cyclr.RangeTestResult) -> str:
    return f"{result.lr[0]:.3g} → {result.lr[-1]:.3g}" if len(result) else "(empty)"


def _suggest_all(result: cyclr.RangeTestResult, as_json: bool) -> int:
    from cyclr.suggest import SuggestionError

    rows: list[dict[str, Any]] = []
    for method in _method_names():
        try:
            b = result.suggest(method)
        except SuggestionError as exc:
            rows.append({"method": method, "error": str(exc)})
            continue
        rows.append(
            {
                "method": method,
                "base_lr": b.base_lr,
                "max_lr": b.max_lr,
                "reason": " ".join(b.reason.split()),
            }
        )
    if as_json:
        _out(json.dumps(rows, indent=1))
    else:
        _out(f"{'method':<10} {'base_lr':>10} {'max_lr':>10}")
        for r in rows:
            if "error" in r:
                _out(f"{r['method']:<10} {'-':>10} {'-':>10}  {r['error']}")
            else:
                _out(f"{r['method']:<10} {r['base_lr']:>10.4g} {r['max_lr']:>10.4g}")
    return 0 if any("error" not in r for r in rows) else EXIT_NO_SUGGESTION


# -- cyclr plot ----------------------------------------------------------------------------------
_POLICIES = ("triangular", "triangular2", "exp_range", "one_cycle", "constant")
_ALIASES = {
    "1cycle": "one_cycle",
    "onecycle": "one_cycle",
    "exprange": "exp_range",
    "exp-range": "exp_range",
    "one-cycle": "one_cycle",
}
_SCHEDULE_FLAGS: dict[str, Any] = {
    "--base-lr": _number,
    "--max-lr": _number,
    "--step-size": _positive_int,
    "--step-size-down": _positive_int,
    "--gamma": _number,
    "--decay": ("bounds", "amplitude"),
    "--total-steps": _positive_int,
    "--preset": ("smith", "pytorch", "fastai"),
    "--div-factor": _number,
    "--final-div-factor": _number,
    "--pct-start": _number,
    "--pct-annihilate": _number,
    "--anneal": ("linear", "cos"),
    "--three-phase": bool,
    "--value": _number,
}
_CYCLIC_KEYS = ("base_lr", "max_lr", "step_size", "step_size_down")
_ALLOWED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # (required, optional)
    "triangular": (("base_lr", "max_lr", "step_size"), ("step_size_down",)),
    "triangular2": (("base_lr", "max_lr", "step_size"), ("step_size_down",)),
    "exp_range": (("base_lr", "max_lr", "step_size", "gamma"), ("step_size_down", "decay")),
    "one_cycle": (
        ("max_lr", "total_steps"),
        (
            "preset",
            "div_factor",
            "final_div_factor",
            "pct_start",
            "pct_annihilate",
            "anneal",
            "three_phase",
        ),
    ),
    "constant": (("value",), ()),
}


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def schedule_from_args(args: argparse.Namespace) -> cyclr.Schedule:
    """Build the schedule named by ``args.schedule`` from the flags, or from a JSON spec."""
    given = {
        f[2:].replace("-", "_"): getattr(args, f[2:].replace("-", "_")) for f in _SCHEDULE_FLAGS
    }
    given = {k: val for k, val in given.items() if val is not None}
    name = _ALIASES.get(args.schedule.lower(), args.schedule.lower())
    if name not in _ALLOWED:
        if given:
            raise CLIError(
                f"{', '.join(_flag(k) for k in given)} only apply to a policy name "
                f"({', '.join(_POLICIES)}), not to a JSON spec"
            )
        return _schedule_from_spec(args.schedule)
    required, optional = _ALLOWED[name]
    extra = [k for k in given if k not in required + optional]
    if extra:
        verb = "does" if len(extra) == 1 else "do"
        raise CLIError(
            f"{', '.join(_flag(k) for k in extra)} {verb} not apply to {name} "
            f"(it takes {', '.join(_flag(k) for k in required + optional)})"
        )
    missing = [k for k in required if k not in given]
    if missing:
        raise CLIError(f"{name} needs {', '.join(_flag(k) for k in missing)}")
    try:
        return _build(name, given)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"invalid {name}: {exc}") from None


def _build(name: str, p: dict[str, Any]) -> cyclr.Schedule:
    if name == "triangular":
        return cyclr.Triangular(**p)
    if name == "triangular2":
        return cyclr.Triangular2(**p)
    if name == "exp_range":
        return cyclr.ExpRange(**p)
    if name == "constant":
        return cyclr.Constant(p["value"])
    preset = p.pop("preset", "smith")
    if preset == "pytorch":
        rename = {"anneal": "anneal_strategy"}
        if "pct_annihilate" in p:
            raise ValueError("--pct-annihilate does not apply to the pytorch preset")
        return cyclr.OneCycle.pytorch(**{rename.get(k, k): val for k, val in p.items()})
    if preset == "fastai":
        rename = {"max_lr": "lr_max", "div_factor": "div", "final_div_factor": "div_final"}
        bad = sorted(
            set(p) - {"max_lr", "total_steps", "pct_start", "div_factor", "final_div_factor"}
        )
        if bad:
            raise ValueError(
                f"{', '.join(_flag(k) for k in bad)} do not apply to the fastai preset"
            )
        return cyclr.OneCycle.fastai(**{rename.get(k, k): val for k, val in p.items()})
    return cyclr.OneCycle(**p)


def _schedule_from_spec(text: str) -> cyclr.Schedule:
    source = "inline JSON"
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            if text.endswith(".json") or os.sep in text or "/" in text:
                raise CLIError(f"no such file: {text}")
            close = difflib.get_close_matches(text.lower(), _POLICIES, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise CLIError(
                f"unknown schedule {text!r}; {hint}use one of {', '.join(_POLICIES)}, "
                f"or a JSON spec (a file or inline JSON)"
            )
        source = text
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise CLIError(f"cannot read {source}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(f"bad JSON spec ({source}): {exc}") from None
    if isinstance(data, dict) and "type" not in data and isinstance(data.get("schedule"), dict):
        data = data["schedule"]
    try:
        return cyclr.schedule_from_dict(data)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"bad JSON spec ({source}): {str(exc).splitlines()[0]}") from None


def default_steps(schedule: cyclr.Schedule) -> int:
    """Steps worth previewing: 3 cycles, a 1cycle's length, a chain's parts plus a bit."""
    from cyclr.schedules.compose import Chain
    from cyclr.schedules.cyclical import CyclicMomentum

    if isinstance(schedule, CyclicMomentum):
        schedule = schedule.schedule
    if isinstance(schedule, cyclr.OneCycle):
        return schedule.total_steps
    length = getattr(schedule, "cycle_length", None)
    if isinstance(length, int):
        return 3 * length
    if isinstance(schedule, cyclr.Piecewise):
        return math.ceil(schedule.knots[-1]) + 1
    if isinstance(schedule, Chain):
        done = sum(schedule.lengths)
        return done + max(default_steps(schedule.parts[-1]), done // 4, 1)
    return 100


_BLOCKS = "▁▂▃▄▅▆▇█"
_ASCII = "_.-~=+*#"


def sparkline(values: Sequence[float], width: int = 64) -> str:
    """``values`` resampled to ``width`` characters of block glyphs (ASCII if the terminal
    cannot show them).

    Example:
        >>> from cyclr.cli import sparkline
        >>> sparkline([0, 1, 2, 3, 2, 1, 0], width=7) in ("▁▃▆█▆▃▁", "_-+#+-_")
        True
    """
    import numpy as np

    y = np.asarray(values, dtype=float)
    if y.size == 0:
        return ""
    idx = np.linspace(0, y.size - 1, min(width, y.size)).round().astype(int)
    y = y[idx]
    chars = _BLOCKS
    try:
        chars.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        chars = _ASCII
    lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
    if not hi > lo:
        return chars[len(chars) // 2] * y.size
    levels = np.clip(((y - lo) / (hi - lo) * (len(chars) - 1)).round(), 0, len(chars) - 1)
    return "".join(chars[int(i)] for i in levels)


def _describe(name: str, schedule: cyclr.Schedule, steps: int) -> list[str]:
    import numpy as np

    y = schedule(np.arange(steps))
    i_max, i_min = int(np.argmax(y)), int(np.argmin(y))
    lines = [
        f"  {name:<8} {sparkline(y)}",
        f"  {'':<8} start {y[0]:.4g}, max {y[i_max]:.4g} at step {i_max}, "
        f"min {y[i_min]:.4g} at step {i_min}, last {y[-1]:.4g}",
    ]
    return lines


def _schedule_title(schedule: cyclr.Schedule) -> str:
    """``Type(field=value, ...)`` with the fields that differ from their defaults."""
    defaults = {f.name: f.default for f in dataclasses.fields(schedule)}  # type: ignore[arg-type]
    data = schedule.to_dict()
    kind = data.pop("type")
    parts = []
    for k, val in data.items():
        if defaults.get(k, dataclasses.MISSING) == val:
            continue
        if isinstance(val, float):
            parts.append(f"{k}={val:.6g}")
        elif isinstance(val, list) and all(isinstance(x, (int, float)) for x in val):
            parts.append(f"{k}=[{', '.join(f'{x:.6g}' for x in val)}]")
        elif isinstance(val, (dict, list)):
            parts.append(f"{k}=...")
        else:
            parts.append(f"{k}={val!r}")
    return f"{kind}({', '.join(parts)})"


def _cmd_plot(args: argparse.Namespace) -> int:
    schedule = schedule_from_args(args)
    momentum = None
    if args.momentum:
        try:
            momentum = schedule.momentum(args.base_momentum, args.max_momentum)
        except NotImplementedError:
            raise CLIError(f"{type(schedule).__name__} has no momentum companion") from None
        except (TypeError, ValueError) as exc:
            raise CLIError(f"invalid momentum: {exc}") from None
    steps = args.steps or default_steps(schedule)
    title = _schedule_title(schedule)
    lines = [f"{title}, steps 0-{steps - 1}", *_describe("LR", schedule, steps)]
    if momentum is not None:
        lines += _describe("momentum", momentum, steps)
    cycle = getattr(schedule, "cycle_length", None)
    if isinstance(cycle, int):
        lines.append(f"  cycle    {cycle} steps ({steps / cycle:.3g} cycles shown)")
    if args.json:
        lines += ["", json.dumps(schedule.to_dict())]
    _out(*lines)
    if not args.no_png:
        _write_schedule_png(schedule, steps, momentum, Path(args.out), title)
        _out(f"Wrote {args.out}")
    return 0


def _write_schedule_png(
    schedule: cyclr.Schedule, steps: int, momentum: cyclr.Schedule | None, path: Path, title: str
) -> None:
    _require("matplotlib", extra="plot")
    from matplotlib.figure import Figure

    import cyclr.plot

    if path.parent and not path.parent.is_dir():
        raise CLIError(f"--out {path}: folder {path.parent} does not exist")
    fig = Figure(figsize=(8, 4), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    cyclr.plot.schedule(schedule, steps, momentum=momentum, ax=ax)
    ax.set_title(textwrap.fill(title, 90), fontsize=9)
    try:
        fig.savefig(path)
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot write {path}: {exc}") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

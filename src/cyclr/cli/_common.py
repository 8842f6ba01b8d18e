"""What the ``cyclr`` commands share: errors and exit codes, the parser class and argument types,
and the text (the bounds, why, and ready-to-paste scheduler code).

The files the commands write are checked and written by :mod:`cyclr.cli._files`; the user's
target (``cyclr find``, ``cyclr sweep``) is loaded by :mod:`cyclr.cli.target`. The exit
statuses are listed in :mod:`cyclr.cli`.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import importlib.util
import math
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import cyclr

EXIT_NO_SUGGESTION = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a writer killed by a closed pipe


class CLIError(Exception):
    """Bad input: ``main`` prints ``cyclr: error: <message>`` and exits with status 2.

    ``cause`` is the exception raised by the user's code, if any (shown with ``--traceback``).
    """

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


# -- argument parsing ---------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that reports a usage error as one line and exit status 2, pointing
    to the help of the command it is about; an unknown option or choice gets the closest known
    one."""

    def error(self, message: str) -> NoReturn:
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if choice:
            names = [c.strip(" '\"") for c in choice.group(2).split(",")]
            close = difflib.get_close_matches(choice.group(1), names, n=1, cutoff=0.6)
            message += f" (did you mean {close[0]!r}?)" if close else ""
        self.exit(EXIT_USAGE, f"cyclr: error: {message} (see '{self.prog} --help')\n")

    def _print_message(self, message: str, file: Any = None) -> None:
        # argparse ignores a failed write; a closed pipe must reach cyclr.cli.main (exit 141)
        if message:
            (file or sys.stderr).write(message)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            owner = self._command_parser(parsed)
            owner.error(f"unrecognized arguments: {' '.join(extras)}{owner.did_you_mean(extras)}")
        return parsed

    def _command_parser(self, parsed: argparse.Namespace) -> Parser:
        """The parser of the command in ``parsed`` (this one if none was given)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(parsed, action.dest, None) or "")
                if isinstance(chosen, Parser):
                    return chosen
        return self

    def did_you_mean(self, extras: Sequence[str]) -> str:
        """`` (did you mean --num-iter?)`` for the unknown options in ``extras``, or ``""``."""
        known = [s for a in self._actions for s in a.option_strings if s.startswith("--")]
        hints = []
        for arg in extras:
            name = arg.split("=", 1)[0]
            if name.startswith("-"):
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                if close:
                    hints.append((name, close[0]))
        if not hints:
            return ""
        if len(hints) == 1:
            return f" (did you mean {hints[0][1]}?)"
        return f" (did you mean {', '.join(f'{c} for {n}' for n, c in hints)}?)"


#: Help texts keep the epilogs' line breaks.
FORMATTER = argparse.RawDescriptionHelpFormatter


def command(sub: Any, name: str, summary: str, description: str, epilog: str) -> Any:
    """Register the command ``name`` on the ``cyclr`` subparsers: ``summary`` is its line in
    ``cyclr --help``."""
    return sub.add_parser(
        name, help=summary, description=description, epilog=epilog, formatter_class=FORMATTER
    )


def int_at_least(minimum: int, wanted: str, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``minimum`` (and <= ``maximum``), else
    "expected <wanted>"."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


positive_int = int_at_least(1, "a positive integer")
nonneg_int = int_at_least(0, "an integer >= 0")


def number(text: str) -> float:
    """A finite float (an argparse ``type``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def learning_rate(text: str) -> float:
    """A float > 0 (an argparse ``type``)."""
    value = number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a learning rate > 0, got {text!r}")
    return value


def diverge(text: str) -> float | None:
    """``--diverge``: a number, or ``none`` / ``off`` / ``never`` for no early stop."""
    if text.lower() in ("none", "off", "never"):
        return None
    return number(text)


#: The range-test options ``cyclr find`` and ``cyclr sweep`` share, as ``add_argument`` keywords.
_RANGE_TEST_OPTIONS: dict[str, dict[str, Any]] = {
    "--val-every": {
        "type": positive_int,
        "default": 10,
        "metavar": "K",
        "help": "score the val_loader subset every K updates (default: %(default)s)",
    },
    "--val-batches": {
        "type": positive_int,
        "default": 4,
        "metavar": "B",
        "help": "batches of val_loader in the held-out subset (default: %(default)s)",
    },
    "--diverge": {
        "type": diverge,
        "default": 4.0,
        "metavar": "K",
        "help": "stop once the smoothed loss exceeds K x its best; 'none' never stops "
        "(default: %(default)s)",
    },
}


def add_range_test_options(group: Any, *names: str) -> None:
    """Add the shared range-test options ``names`` (``"--val-every"``, ``"--val-batches"``,
    ``"--diverge"``) to an argument group of ``cyclr find`` or ``cyclr sweep``."""
    for name in names:
        group.add_argument(name, **_RANGE_TEST_OPTIONS[name])


def add_target(parser: Any) -> None:
    """The ``TARGET`` of ``cyclr find`` and ``cyclr sweep``."""
    parser.add_argument(
        "target", metavar="TARGET", help="'path/to/file.py:function' or 'package.module:function'"
    )


def add_ramp_ends(group: Any, of: str = "") -> None:
    """``--start-lr`` and ``--end-lr``, the first and last LR ``of`` a ramp."""
    for flag, which, default in (
        ("--start-lr", "first", "1e-7 exp, 1e-3 linear"),
        ("--end-lr", "last", "10 exp, 1 linear"),
    ):
        group.add_argument(
            flag,
            type=learning_rate,
            default=None,
            metavar="LR",
            help=f"{which} LR{of} (default: {default})",
        )


def method_names() -> tuple[str, ...]:
    """The rules that read bounds off a range test."""
    from cyclr.suggest import methods

    return methods()


def check_method(method: str, allow_all: bool = False) -> None:
    """Raise :class:`CLIError` unless ``method`` names a rule (or ``all``, if allowed)."""
    names = method_names() + (("all",) if allow_all else ())
    if method not in names:
        raise CLIError(f"unknown --method {method!r}; choose from {', '.join(names)}")


def add_method(group: Any, summary: str) -> None:
    """``--method``, the rule that reads the bounds (default ``auto``; see :func:`check_method`)."""
    group.add_argument(
        "--method", default="auto", metavar="METHOD", help=f"{summary} (default: auto)"
    )


def require(*modules: str, extra: str) -> None:
    """Raise :class:`CLIError` naming the pip extra when a module is not installed."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise CLIError(f"this command needs {', '.join(missing)}: {install_hint(extra)}")


def install_hint(extra: str) -> str:
    """How to install an extra: from a clone (cyclr is not on the package index yet)."""
    return f"pip install -e '.[{extra}]' (in a clone of cyclr)"


def out(*lines: str) -> None:
    """Print ``lines`` to stdout."""
    for line in lines:
        print(line)


# -- output ------------------------------------------------------------------------------------
def sweep_text(result: cyclr.RangeTestResult) -> str:
    """The planned ramp of a range test, e.g. ``"exp 1e-07 → 10"``."""
    start = result.config.get("start_lr", result.lr[0] if len(result) else math.nan)
    end = result.config.get("end_lr", result.lr[-1] if len(result) else math.nan)
    return f"{result.mode} {start:.3g} → {end:.3g}"


def stop_text(result: cyclr.RangeTestResult) -> str:
    """Why a range test ended, in words: the result's own message when it has one (a NaN loss,
    a GradScaler that skipped every step, a loader that ran dry, an interruption)."""
    if result.stop_reason == "end":
        return "ran to the end"
    if result.stop_reason == "diverged":
        return "stopped early: the loss diverged"
    if result.stop_reason == "interrupted":
        return f"interrupted after {len(result)} updates"
    message = " ".join(str(result.message or "").split()).rstrip(".: ")
    if message:
        return f"stopped: {message}"
    text = {
        "non_finite_loss": "stopped: the loss became NaN or infinite",
        "data_exhausted": "stopped: the loader ran out of batches",
    }
    return text.get(str(result.stop_reason), f"stopped: {result.stop_reason}")


def no_bounds_note(exc: Exception) -> None:
    """Say on stderr why the curve supports no bounds."""
    kind = getattr(exc, "kind", "")
    print(f"cyclr: no bounds from this curve ({kind}): {exc}", file=sys.stderr)


def suggest_or_none(result: cyclr.RangeTestResult, method: str) -> cyclr.Bounds | None:
    """The bounds, or ``None`` after printing why the curve supports none."""
    from cyclr.suggest import SuggestionError

    try:
        return result.suggest(method)
    except SuggestionError as exc:
        if exc.kind == "unknown_method":
            raise CLIError(str(exc)) from None
        no_bounds_note(exc)
        return None


def bounds_text(bounds: cyclr.Bounds) -> list[str]:
    """The bounds and the reason, wrapped for the terminal."""
    head = (
        f"Suggested bounds ({bounds.method} rule): base_lr = {bounds.base_lr:.4g}, "
        f"max_lr = {bounds.max_lr:.4g}"
    )
    reason = " ".join(bounds.reason.split())
    return [head, *textwrap.wrap(reason, 96, initial_indent="  ", subsequent_indent="  ")]


def scheduler_code(bounds: cyclr.Bounds, iters_per_epoch: int | None = None) -> str:
    """Ready-to-paste PyTorch code for a triangular and a 1cycle scheduler with ``bounds``.

    Example:
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

    def indent(lines: list[str]) -> list[str]:
        return [f"    {line}" if line else "" for line in lines]

    return "\n".join(
        [
            "Triangular CLR:",
            "",
            *indent(head + tri),
            "",
            "1cycle (super-convergence):",
            "",
            *indent(head + one),
        ]
    )

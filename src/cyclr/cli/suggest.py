"""``cyclr suggest RESULT.json``: re-read the bounds from a saved range test (numpy only, no
torch)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import cyclr
from cyclr.cli._common import (
    EXIT_NO_SUGGESTION,
    CLIError,
    add_method,
    check_method,
    command,
    method_names,
    out,
    positive_int,
    stop_text,
    suggest_or_none,
)
from cyclr.cli._files import image_path, input_file, report_bounds

__all__ = ["add_parser", "run"]

_EPILOG = """\
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


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``suggest`` on the ``cyclr`` subparsers."""
    p: argparse.ArgumentParser = command(
        sub,
        "suggest",
        "re-read CLR bounds from a saved range test (no torch)",
        "Read CLR bounds from a saved range test, without torch.",
        _EPILOG,
    )
    p.add_argument("result", metavar="RESULT.json", help="a saved range test")
    add_method(p, "auto, accuracy, loss, steepest, minimum, valley, slide, or all")
    p.add_argument(
        "--iters-per-epoch",
        type=positive_int,
        default=None,
        metavar="N",
        help="for the step size in the printed code",
    )
    p.add_argument("--json", action="store_true", help="print the bounds as JSON only")
    p.add_argument(
        "--plot",
        default=None,
        metavar="PNG",
        help="also write the range-test plot with these bounds (.png added if no extension)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    """``cyclr suggest``: the bounds of one rule, or every rule's with ``--method all``."""
    check_method(args.method, allow_all=True)
    png = image_path(args.plot, "--plot") if args.plot else None
    result = _load_result(args.result)
    if args.method == "all":
        return _suggest_all(result, args.json)
    if args.json:
        bounds = suggest_or_none(result, args.method)
        if bounds is None:
            return EXIT_NO_SUGGESTION
        data = {k: v for k, v in bounds.to_dict().items() if k not in ("curve_lr", "curve_values")}
        out(json.dumps(data, indent=1))
        return 0
    span = f"{result.lr[0]:.3g} → {result.lr[-1]:.3g}" if len(result) else "(empty)"
    out(f"{args.result}: {len(result)} updates, {result.mode} sweep {span}, {stop_text(result)}.")
    bounds = suggest_or_none(result, args.method)
    return report_bounds(result, bounds, args.iters_per_epoch, None, png)


def _load_result(path: str) -> cyclr.RangeTestResult:
    p = Path(path)
    if p.is_dir():
        inside, coarse = p / "range_test.json", p / "range_test_coarse.json"
        hint = "such as the range_test.json that cyclr find writes"
        if inside.is_file():
            hint = f"did you mean {inside}?"
        elif coarse.is_file():
            hint = (
                f"did you mean {coarse}? cyclr find wrote only its exponential test there, "
                "no range_test.json"
            )
        raise CLIError(f"{path} is a folder; expected a range-test JSON file ({hint})")
    p = input_file(path, "a range-test JSON file")
    try:
        return cyclr.RangeTestResult.load(p)
    except RecursionError:
        raise CLIError(f"{path} is not a cyclr range-test result: it nests too deeply") from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as exc:
        text = str(exc).splitlines() or [type(exc).__name__]
        why = text[0].removeprefix(f"{p}: ")
        raise CLIError(f"{path} is not a cyclr range-test result: {why}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None


def _suggest_all(result: cyclr.RangeTestResult, as_json: bool) -> int:
    from cyclr.suggest import SuggestionError

    rows: list[dict[str, Any]] = []
    for method in method_names():
        try:
            b = result.suggest(method)
        except SuggestionError as exc:
            rows.append({"method": method, "error": str(exc)})
            continue
        reason = " ".join(b.reason.split())
        rows.append({"method": method, "base_lr": b.base_lr, "max_lr": b.max_lr, "reason": reason})
    if as_json:
        out(json.dumps(rows, indent=1))
    else:
        out(f"{'method':<10} {'base_lr':>10} {'max_lr':>10}")
        for r in rows:
            if "error" in r:
                out(f"{r['method']:<10} {'-':>10} {'-':>10}  {r['error']}")
            else:
                out(f"{r['method']:<10} {r['base_lr']:>10.4g} {r['max_lr']:>10.4g}")
    return 0 if any("error" not in r for r in rows) else EXIT_NO_SUGGESTION

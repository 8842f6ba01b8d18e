"""``cyclr plot SCHEDULE``: preview a schedule in the terminal (key values and a sparkline) and as
a PNG. Policy names and their aliases come from :mod:`cyclr.schedules.policies`."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import math
import os
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import cyclr
from cyclr import _validate as v
from cyclr.cli._common import (
    CLIError,
    command,
    int_at_least,
    number,
    out,
    positive_int,
    require,
)
from cyclr.cli._files import image_path, input_file, save_plot
from cyclr.cli._preview import MAX_STEPS, Preview, preview_steps
from cyclr.schedules.policies import BY_NAME, NAMES, policy

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "POLICY_FLAGS",
    "add_parser",
    "default_steps",
    "run",
    "schedule_from_args",
    "sparkline",
]

_EPILOG = """\
SCHEDULE is a policy name with flags, or a JSON spec (a file, or inline JSON) in the form of
schedule.to_dict(). Prints key values and a sparkline, and writes a PNG (--out). A preview of
more than 4096 steps evaluates an even sample of them plus the steps where the schedule turns
(phase boundaries, cycle peaks, the first and last step), and says so.

policies and their flags:
  triangular, triangular2   --base-lr --max-lr --step-size [--step-size-down]
  exp_range                 --base-lr --max-lr --step-size --gamma [--decay bounds|amplitude]
  one_cycle                 --max-lr --total-steps [--preset smith|pytorch|fastai]
                            [--div-factor --final-div-factor --pct-start --pct-annihilate
                             --anneal linear|cos --three-phase]
  constant                  --value
{aliases}

examples:
  cyclr plot triangular --base-lr 0.001 --max-lr 0.006 --step-size 2000 --steps 12000
  cyclr plot exp_range --base-lr 0.001 --max-lr 0.006 --step-size 2000 --gamma 0.99994
  cyclr plot one_cycle --max-lr 0.2 --total-steps 1000 --momentum
  cyclr plot one_cycle --max-lr 0.2 --total-steps 1000 --preset pytorch --out pytorch.png
  cyclr plot '{"type": "Triangular2", "base_lr": 0.001, "max_lr": 0.006, "step_size": 2000}'
  cyclr plot schedule.json --steps 20000"""


def _alias_lines() -> str:
    """``also accepted: ...``: every alias in the policy registry, wrapped like the epilog."""
    groups = [f"{', '.join(p.aliases)} ({p.name})" for p in BY_NAME.values() if p.aliases]
    text = "also accepted: " + "; ".join(groups)
    return "\n".join(textwrap.wrap(text, 96, initial_indent="  ", subsequent_indent="    "))


_SCHEDULE_FLAGS: dict[str, Any] = {
    "--base-lr": number,
    "--max-lr": number,
    "--step-size": positive_int,
    "--step-size-down": positive_int,
    "--gamma": number,
    "--decay": ("bounds", "amplitude"),
    "--total-steps": positive_int,
    "--preset": ("smith", "pytorch", "fastai"),
    "--div-factor": number,
    "--final-div-factor": number,
    "--pct-start": number,
    "--pct-annihilate": number,
    "--anneal": ("linear", "cos"),
    "--three-phase": bool,
    "--value": number,
}
_CYCLIC_KEYS = ("base_lr", "max_lr", "step_size", "step_size_down")
#: The flags each policy of the registry takes: ``(required, optional)``.
POLICY_FLAGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
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


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``plot`` on the ``cyclr`` subparsers."""
    p: argparse.ArgumentParser = command(
        sub,
        "plot",
        "preview a schedule in the terminal and as a PNG",
        "Preview an LR schedule: key values and a sparkline in the terminal, and a PNG.",
        _EPILOG.replace("{aliases}", _alias_lines()),
    )
    p.add_argument(
        "schedule",
        metavar="SCHEDULE",
        help=f"{', '.join(NAMES)}, or a JSON spec (file or inline)",
    )
    g = p.add_argument_group("schedule")
    for flag, kind in _SCHEDULE_FLAGS.items():
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
        type=int_at_least(1, "a positive integer <= 2**53", maximum=MAX_STEPS),
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
        type=number,
        default=0.85,
        metavar="M",
        help="lowest momentum (default: %(default)s)",
    )
    g.add_argument(
        "--max-momentum",
        type=number,
        default=0.95,
        metavar="M",
        help="highest momentum (default: %(default)s)",
    )
    g.add_argument(
        "--out",
        default="schedule.png",
        metavar="PNG",
        help="where to write the plot; .png is added without an extension (default: %(default)s)",
    )
    g.add_argument("--no-png", action="store_true", help="terminal preview only")
    g.add_argument("--json", action="store_true", help="also print the schedule's JSON spec")
    return p


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def schedule_from_args(args: argparse.Namespace) -> cyclr.Schedule:
    """Build the schedule named by ``args.schedule`` from the flags, or from a JSON spec."""
    given = {
        f[2:].replace("-", "_"): getattr(args, f[2:].replace("-", "_")) for f in _SCHEDULE_FLAGS
    }
    given = {k: val for k, val in given.items() if val is not None}
    name = _policy_name(args.schedule)
    if name is None:
        if given:
            raise CLIError(
                f"{', '.join(_flag(k) for k in given)} only apply to a policy name "
                f"({', '.join(NAMES)}), not to a JSON spec"
            )
        return _schedule_from_spec(args.schedule)
    if name not in POLICY_FLAGS:
        raise CLIError(f"{name} takes no flags here; give it as a JSON spec")
    required, optional = POLICY_FLAGS[name]
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


def _policy_name(text: str) -> str | None:
    """The registry's name for policy ``text`` (any case, or an alias); ``None`` if none."""
    try:
        return policy(text.lower()).name
    except ValueError:
        return None


def _build(name: str, p: dict[str, Any]) -> cyclr.Schedule:
    if name != "one_cycle":
        return BY_NAME[name].schedule_type(**p)
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
        if os.path.lexists(text):
            input_file(text, "a policy name or a JSON schedule spec (a file or inline JSON)")
        else:
            if text.endswith(".json") or os.sep in text or "/" in text:
                raise CLIError(f"no such file: {text}")
            spellings = {a: p.name for p in BY_NAME.values() for a in (p.name, *p.aliases)}
            close = difflib.get_close_matches(text.lower(), spellings, n=1)
            hint = f"did you mean {spellings[close[0]]!r}? " if close else ""
            raise CLIError(
                f"unknown schedule {text!r}; {hint}use one of {', '.join(NAMES)}, "
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


def sparkline(values: ArrayLike, width: int = 64) -> str:
    """``values`` resampled to ``width`` characters of block glyphs (ASCII if the terminal
    cannot show them).

    Example:
        >>> from cyclr.cli import sparkline
        >>> sparkline([0, 1, 2, 3, 2, 1, 0], width=7) in ("▁▃▆█▆▃▁", "_-+#+-_")
        True
    """
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


def _describe(name: str, values: np.ndarray, preview: Preview) -> list[str]:
    i_max, i_min = int(np.argmax(values)), int(np.argmin(values))
    at = preview.at
    return [
        f"  {name:<8} {sparkline(preview.even(values))}",
        f"  {'':<8} start {values[0]:.4g}, max {values[i_max]:.4g} at step {at[i_max]}, "
        f"min {values[i_min]:.4g} at step {at[i_min]}, last {values[-1]:.4g}",
    ]


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


def run(args: argparse.Namespace) -> int:
    """``cyclr plot``: the preview in the terminal, and the PNG."""
    schedule = schedule_from_args(args)
    png = None if args.no_png else image_path(args.out, "--out")
    momentum = None
    if args.momentum:
        try:
            momentum = schedule.momentum(args.base_momentum, args.max_momentum)
        except NotImplementedError:
            raise CLIError(f"{type(schedule).__name__} has no momentum companion") from None
        except (TypeError, ValueError) as exc:
            raise CLIError(f"invalid momentum: {exc}") from None
    steps = args.steps or default_steps(schedule)
    if steps > MAX_STEPS:
        try:
            last = f"{float(steps - 1):.3g}"
        except OverflowError:
            last = v.shown(steps - 1)
        raise CLIError(
            f"the schedule's last phase ends at step {last}, beyond what can be "
            "previewed; give --steps (at most 2**53)"
        )
    preview = preview_steps(schedule, steps)
    lr = schedule(preview.at)
    mom = None if momentum is None else momentum(preview.at)
    title = _schedule_title(schedule)
    head = f"{title}, steps 0-{steps - 1}"
    if preview.sampled:
        head += f" (sampled at {len(preview.at):,} steps)"
    lines = [head, *_describe("LR", lr, preview)]
    if mom is not None:
        lines += _describe("momentum", mom, preview)
    cycle = getattr(schedule, "cycle_length", None)
    if isinstance(cycle, int):
        lines.append(f"  cycle    {cycle} steps ({steps / cycle:.3g} cycles shown)")
    if args.json:
        lines += ["", json.dumps(schedule.to_dict())]
    out(*lines)
    if png is not None:
        require("matplotlib", extra="plot")
        _write_png(schedule, momentum, preview, png, title)
        out(f"Wrote {png}")
    return 0


def _write_png(
    schedule: cyclr.Schedule,
    momentum: cyclr.Schedule | None,
    preview: Preview,
    path: Path,
    title: str,
) -> None:
    import cyclr.plot

    def draw(ax: Any) -> None:
        cyclr.plot.schedule(schedule, preview.at, momentum=momentum, ax=ax)
        if preview.sampled:
            at, steps = len(preview.at), preview.steps
            ax.set_xlabel(f"iteration (sampled at {at:,} of {steps:,} steps)")
        ax.set_title(textwrap.fill(title, 90), fontsize=9)

    save_plot(path, draw, size=(8, 4))

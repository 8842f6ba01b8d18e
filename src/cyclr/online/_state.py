"""An online controller's settings: their checks, and the form its state is saved with.

The warm-up is :func:`warmup_length` updates long. A state loads only into a controller built
with the same :data:`SETTINGS`, compared as JSON gives them back (:func:`cyclr._json.plain`:
tuples as lists, numpy numbers as Python ones).

Example:
    >>> warmup_length("triangular", None, 100, 0.1, 32)
    100
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cyclr import _validate as v
from cyclr._json import plain

__all__ = ["SETTINGS", "STATE_KEYS", "at_least_one", "check_saved", "warmup_length"]

#: The settings a state is saved with; loading it into a controller with others is refused.
SETTINGS = (
    "policy",
    "total_steps",
    "warmup_steps",
    "start_lr",
    "end_lr",
    "step_size",
    "method",
    "suggest_kwargs",
    "check_every",
    "smooth",
    "div_factor",
    "final_div_factor",
    "pct_annihilate",
    "cycle_momentum",
    "base_momentum",
    "max_momentum",
    "max_lr_from",
    "rollback",
)
#: The keys every saved state has.
STATE_KEYS = ("step", "lrs", "losses", "smoother", "decided_at", "bounds", "scale", "log")


def check_saved(saved: Any, mine: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless the ``saved`` settings are ``mine`` (both :data:`SETTINGS`).

    Example:
        >>> try:
        ...     check_saved({"policy": "triangular"}, {"policy": "one_cycle"})
        ... except ValueError as exc:
        ...     print(str(exc).split(": ")[1])
        policy='triangular' vs 'one_cycle'; build the schedule with the saved settings
    """
    if not isinstance(saved, Mapping):
        raise ValueError(f"settings must be a mapping, got {saved!r}")
    differ = [
        f"{k}={plain(saved.get(k))!r} vs {mine[k]!r}"
        for k in mine
        if plain(saved.get(k)) != mine[k]
    ]
    if differ:
        raise ValueError(
            "the state was saved by an online schedule with other settings (saved vs this "
            f"schedule): {', '.join(differ)}; build the schedule with the saved settings"
        )


def warmup_length(
    policy: str,
    total_steps: int | None,
    warmup_steps: int | None,
    pct_annihilate: float,
    minimum: int,
) -> int:
    """``warmup_steps``, by default the 1cycle's rising half
    ``int((1 - pct_annihilate) / 2 * (total_steps - 1))``: at least ``minimum``, and for a
    1cycle at most half of ``total_steps`` (it needs room to come down).

    Example:
        >>> warmup_length("one_cycle", 1001, None, 0.1, 32)
        450
    """
    if warmup_steps is None:
        if total_steps is None:
            raise ValueError(
                f"policy={policy!r} needs total_steps or warmup_steps (the length of the rising "
                "ramp)"
            )
        warmup_steps = int((1 - pct_annihilate) / 2 * (total_steps - 1))
    n = v.integer("warmup_steps", warmup_steps)
    given = "" if total_steps is None else f" (from total_steps={total_steps})"
    if n < minimum:
        raise ValueError(f"warmup_steps must be >= {minimum} to read a curve, got {n}{given}")
    if policy == "one_cycle":
        if total_steps is None:
            raise ValueError("policy='one_cycle' needs total_steps")
        if total_steps < 2 * n:
            raise ValueError(
                f"total_steps={total_steps} leaves no room to come down after a warm-up of {n} "
                f"updates (needs >= {2 * n})"
            )
    return n


def at_least_one(name: str, value: Any) -> float:
    """A finite factor >= 1 (a 1cycle's ``div_factor`` and ``final_div_factor``)."""
    x = v.finite(name, value)
    if x < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return x

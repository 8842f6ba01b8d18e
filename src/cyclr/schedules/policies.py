"""The policy names: one registry that ``Bounds``, ``auto_schedule``, the CLI and the demo share.

A policy is a family of schedules a user picks by name:

- ``"triangular"``, ``"triangular2"``, ``"exp_range"``: CLR (Smith 2015, §3.1), cycling between
  ``base_lr`` and ``max_lr`` every ``2 * step_size`` updates;
- ``"one_cycle"``: 1cycle (Smith 2018, §4.1), one cycle up to ``max_lr`` and down, then
  annihilation;
- ``"constant"``: a fixed LR.

Example:
    >>> from cyclr.schedules.policies import CYCLICAL, policy
    >>> policy("1cycle").name, policy("exp_range").label
    ('one_cycle', 'exp_range CLR')
    >>> CYCLICAL
    ('triangular', 'triangular2', 'exp_range')
"""

from __future__ import annotations

from dataclasses import dataclass

from cyclr.schedules.base import Schedule
from cyclr.schedules.compose import Constant
from cyclr.schedules.cyclical import ExpRange, Triangular, Triangular2
from cyclr.schedules.one_cycle import OneCycle

__all__ = ["BY_NAME", "CYCLICAL", "NAMES", "Policy", "policy"]


@dataclass(frozen=True)
class Policy:
    """A named family of schedules.

    Attributes:
        name: the name users pass (``"triangular"``, ``"one_cycle"``, ...).
        label: how tables and plots name it.
        schedule_type: the :class:`~cyclr.Schedule` class that implements it.
        cyclical: True for the CLR policies, which repeat between two bounds.
        aliases: other spellings accepted by :func:`policy`.
    """

    name: str
    label: str
    schedule_type: type[Schedule]
    cyclical: bool
    aliases: tuple[str, ...] = ()


#: Every policy, by name.
BY_NAME: dict[str, Policy] = {
    p.name: p
    for p in (
        Policy("triangular", "triangular CLR", Triangular, True),
        Policy("triangular2", "triangular2 CLR", Triangular2, True),
        Policy("exp_range", "exp_range CLR", ExpRange, True, ("exprange", "exp-range")),
        Policy("one_cycle", "1cycle", OneCycle, False, ("1cycle", "onecycle", "one-cycle")),
        Policy("constant", "fixed LR", Constant, False, ("fixed",)),
    )
}
#: Every policy name, in the registry's order.
NAMES: tuple[str, ...] = tuple(BY_NAME)
#: The CLR policies (Smith 2015, §3.1).
CYCLICAL: tuple[str, ...] = tuple(n for n, p in BY_NAME.items() if p.cyclical)

_ALIASES = {a: p.name for p in BY_NAME.values() for a in p.aliases}


def policy(name: str, among: tuple[str, ...] = NAMES) -> Policy:
    """The policy called ``name`` (or one of its aliases), restricted to ``among``.

    Raises ``ValueError`` naming the value and the choices when there is none.
    """
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in among:
        raise ValueError(f"policy must be one of {', '.join(map(repr, among))}; got {name!r}")
    return BY_NAME[key]

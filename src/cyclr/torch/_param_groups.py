"""Reading and writing an optimizer's param groups: one writer, one momentum rule.

- :func:`write` puts values into a field of param groups: a tensor (``lr=torch.tensor(0.01)``,
  a tensor momentum or ``betas[0]``) is filled in place with ``fill_``, as torch's own schedulers
  do, so a compiled optimizer step is not recompiled; a float is replaced. ``"betas"`` means
  ``betas[0]`` (beta1).
- :func:`find_momentum` says where the momentum is: ``betas[0]`` for the Adam family, SGD's and
  RMSprop's ``momentum``, or nowhere. A ``momentum`` of 0 counts as none: such an optimizer keeps
  no velocity (RMSprop makes no momentum buffer and fails if it is turned on later), so cyclr never
  writes a momentum into a group created with momentum 0. ``betas[0]`` is always there (Adam
  keeps its first moment whatever beta1 is).
- :func:`group_ratios`: each group's LR relative to the first group with a positive LR.

The schedulers, the range test, the sweep and the Lightning callbacks all go through these.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any, NamedTuple

from torch import Tensor
from torch.optim import Optimizer

from cyclr.range_test.checks import group_lr_ratios

__all__ = ["Momentum", "find_momentum", "group_ratios", "no_momentum", "read", "write"]

Group = MutableMapping[str, Any]


class Momentum(NamedTuple):
    """Where an optimizer keeps its momentum: the field and the param groups that use it."""

    #: ``"momentum"`` (SGD, RMSprop) or ``"betas"`` (``betas[0]`` of the Adam family).
    field: str
    #: Indices of the param groups whose momentum is on.
    groups: tuple[int, ...]


def write(groups: Sequence[Group], field: str, values: Iterable[float]) -> None:
    """Write ``values`` (one per group) into ``field`` of ``groups``; tensors in place.

    ``field`` is a param-group key (``"lr"``, ``"momentum"``, ``"weight_decay"``) or
    ``"betas"`` for ``betas[0]``: a tensor is filled (``fill_``), a number replaced; a
    ``betas`` tuple (or list) is replaced by one with the new first element, of the same type.

    Example:
        >>> p = torch.nn.Parameter(torch.zeros(1))
        >>> opt = torch.optim.Adam([p], lr=torch.tensor(0.01), betas=(0.9, 0.999))
        >>> lr = opt.param_groups[0]["lr"]
        >>> write(opt.param_groups, "lr", [0.5]); write(opt.param_groups, "betas", [0.85])
        >>> opt.param_groups[0]["lr"] is lr, lr.item(), opt.param_groups[0]["betas"]
        (True, 0.5, (0.85, 0.999))
    """
    if field == "betas":
        for g, x in zip(groups, values):
            betas = g["betas"]
            first = betas[0]
            if type(first) is not float and isinstance(first, Tensor):
                first.fill_(x)
            elif type(betas) is tuple:
                g["betas"] = (x, *betas[1:])
            else:
                g["betas"] = type(betas)((x, *betas[1:]))
        return
    for g, x in zip(groups, values):
        cur = g[field]
        # ``type(cur) is float`` first: ``isinstance(cur, Tensor)`` alone costs more than the
        # rest of a scheduler's step.
        if type(cur) is not float and isinstance(cur, Tensor):
            cur.fill_(x)
        else:
            g[field] = x


def read(group: Group, field: str) -> Any:
    """The value of ``field`` (``"betas"``: ``betas[0]``) in ``group``; a number as a float.

    Example:
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=torch.tensor(0.5))
        >>> read(opt.param_groups[0], "lr"), read(opt.param_groups[0], "momentum")
        (0.5, 0.0)
    """
    x = group["betas"][0] if field == "betas" else group[field]
    return float(x) if isinstance(x, (int, float, Tensor)) else x


def _field(group: Group) -> str | None:
    """``"betas"``, ``"momentum"`` (when > 0) or ``None``: where ``group`` keeps momentum."""
    betas = group.get("betas")
    if isinstance(betas, (tuple, list)) and betas:
        return "betas"
    m = group.get("momentum")
    if isinstance(m, (int, float, Tensor)) and float(m) > 0:
        return "momentum"
    return None


def find_momentum(optimizer: Optimizer, groups: Sequence[int] | None = None) -> Momentum | None:
    """Where ``optimizer`` keeps its momentum, over ``groups`` (default: all param groups).

    The Adam family's ``betas[0]`` (beta1), or SGD's and RMSprop's ``momentum`` in the groups
    where it is > 0; ``None`` when no group has either (Adagrad, or SGD with momentum 0). A
    group at momentum 0 keeps no velocity: it is left out, and stays at 0.

    Raises:
        ValueError: the groups mix ``betas`` and ``momentum``.

    Example:
        >>> p, q = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
        >>> find_momentum(torch.optim.SGD([{"params": [p]}, {"params": [q], "momentum": 0}],
        ...                               lr=0.1, momentum=0.9))
        Momentum(field='momentum', groups=(0,))
        >>> find_momentum(torch.optim.AdamW([p])), find_momentum(torch.optim.RMSprop([p]))
        (Momentum(field='betas', groups=(0,)), None)
    """
    all_groups = optimizer.param_groups
    idx = range(len(all_groups)) if groups is None else groups
    fields = {i: _field(all_groups[i]) for i in idx}
    found = sorted({f for f in fields.values() if f is not None})
    if not found:
        return None
    if len(found) > 1:
        raise ValueError(
            f"{type(optimizer).__name__}'s param groups mix 'betas' and 'momentum'; "
            "give each kind its own optimizer"
        )
    return Momentum(found[0], tuple(i for i, f in fields.items() if f is not None))


def no_momentum(optimizer: Optimizer, group: int | None = None) -> str:
    """Why ``optimizer`` (or its param group ``group``) has no momentum to set, for an error.

    Example:
        >>> p = torch.nn.Parameter(torch.zeros(1))
        >>> print(no_momentum(torch.optim.SGD([p], lr=0.1)))
        SGD has momentum 0, so it keeps no velocity; create it with momentum > 0 (e.g. momentum=0.9)
    """
    name = type(optimizer).__name__
    where = name if group is None else f"{name}'s group {group}"
    gs = optimizer.param_groups if group is None else [optimizer.param_groups[group]]
    if not any("momentum" in g for g in gs):
        return f"{where} has neither"
    return (
        f"{where} has momentum 0, so it keeps no velocity; create it with momentum > 0 "
        "(e.g. momentum=0.9)"
    )


def group_ratios(optimizer: Optimizer) -> list[float]:
    """Each param group's LR over that of the first group with a positive LR (a group at LR 0
    keeps 0): :func:`cyclr.range_test.checks.group_lr_ratios` of the groups' ``lr``.

    Example:
        >>> p, q = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
        >>> group_ratios(torch.optim.SGD([{"params": [p], "lr": 0.01}, {"params": [q]}], lr=0.04))
        [1.0, 4.0]
    """
    return group_lr_ratios(g.get("lr", math.nan) for g in optimizer.param_groups)

"""The rule registry: every rule is ``rule(result, **options) -> Bounds``, found by name.

:func:`suggest` reads :class:`~cyclr.Bounds` off a range test with a registered rule (the
two-bound rules of Smith 2015, §3.3, and the single-LR rules) or with a function of that
signature. ``docs/suggest.md`` describes the rules.

Example:
    >>> import cyclr.suggest as sg
    >>> @sg.register("tenth_of_minimum")
    ... def tenth(result, *, factor=10.0):
    ...     b = sg.suggest(result, "minimum")
    ...     return sg.Bounds(b.base_lr / factor, b.max_lr / factor, "tenth", "by hand")
    >>> "tenth_of_minimum" in sg.methods()
    True
    >>> sg.unregister("tenth_of_minimum").__name__
    'tenth'
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from cyclr.suggest._usable import check_result
from cyclr.suggest.bounds import Bounds
from cyclr.suggest.errors import SuggestionError
from cyclr.suggest.range_curve import RangeCurve

__all__ = ["Rule", "check_method", "methods", "register", "suggest", "unregister"]

#: A suggestion rule: ``rule(result, **options) -> Bounds``.
Rule = Callable[..., Bounds]
_RULES: dict[str, Rule] = {}


def register(name: str) -> Callable[[Rule], Rule]:
    """Decorator: register ``rule(result, **options) -> Bounds`` under ``name``.

    A rule registered under a name already taken replaces the old one.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")

    def deco(fn: Rule) -> Rule:
        if not callable(fn):
            raise TypeError(f"register({name!r}) decorates a function, got {fn!r}")
        _RULES[name] = fn
        return fn

    return deco


def unregister(name: str) -> Rule:
    """Remove the rule registered as ``name`` and return it.

    Raises :class:`SuggestionError` (``kind="unknown_method"``) when no rule has that name.
    """
    rule = check_method(name)
    del _RULES[name]
    return rule


def methods() -> tuple[str, ...]:
    """Names accepted by :func:`suggest`.

    Example:
        >>> import cyclr.suggest
        >>> cyclr.suggest.methods()
        ('accuracy', 'auto', 'loss', 'minimum', 'slide', 'steepest', 'valley')
    """
    return tuple(sorted(_RULES))


def suggest(result: RangeCurve, method: str | Rule = "auto", **options: Any) -> Bounds:
    """Read :class:`~cyclr.Bounds` off ``result`` with the rule ``method``.

    ``method`` is a registered name (:func:`methods`) or a function
    ``method(result, **options) -> Bounds``.

    Example:
        >>> lr = np.geomspace(1e-4, 1.0, 200)
        >>> loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 20 * lr ** 3
        >>> r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
        >>> b = cyclr.suggest.suggest(r, "loss")
        >>> 1e-3 < b.base_lr < b.max_lr < 0.3
        True
        >>> def halved(result, *, by=2.0):
        ...     b = cyclr.suggest.suggest(result, "loss")
        ...     return cyclr.Bounds(b.base_lr / by, b.max_lr / by, "halved", "loss / 2")
        >>> cyclr.suggest.suggest(r, halved).max_lr == b.max_lr / 2
        True
    """
    rule = check_method(method, options)
    check_result(result)
    bounds = rule(result, **options)
    if not isinstance(bounds, Bounds):
        raise TypeError(
            f"method={_name(method)} returned {type(bounds).__name__}, not a cyclr.Bounds"
        )
    return bounds


def check_method(method: str | Rule, options: Mapping[str, Any] | None = None) -> Rule:
    """The rule ``method`` names (or ``method`` itself, a function), after checking that it
    takes ``options``.

    Call it before a range test runs, so that a typo costs nothing. Raises
    :class:`SuggestionError` (``kind="unknown_method"``) for an unknown name and ``TypeError``
    naming an option the rule does not take.

    Example:
        >>> import cyclr.suggest
        >>> cyclr.suggest.check_method("loss", {"margin": 2.5}).__name__
        'loss_rule'
        >>> cyclr.suggest.check_method("loss", {"margn": 2.5})
        Traceback (most recent call last):
        ...
        TypeError: method='loss' takes no option 'margn'; it takes bandwidth, base_frac, margin, z
    """
    if isinstance(method, str):
        rule = _RULES.get(method)
    elif callable(method):
        rule = method
    else:
        rule = None
    if rule is None:
        raise SuggestionError(
            f"method must be one of {', '.join(map(repr, methods()))} or a function "
            f"method(result, **options) -> Bounds; got {method!r}",
            "unknown_method",
        )
    if options:
        if not isinstance(options, Mapping):
            raise TypeError(f"suggest options must be a dict, got {options!r}")
        takes = _option_names(rule)
        if takes is not None:
            for key in options:
                if key not in takes:
                    raise TypeError(
                        f"method={_name(method)} takes no option {key!r}; it takes "
                        f"{', '.join(sorted(takes)) or 'no options'}"
                    )
    return rule


def _name(method: str | Rule) -> str:
    if isinstance(method, str):
        return repr(method)
    return str(getattr(method, "__qualname__", None) or repr(method))


def _option_names(rule: Rule) -> set[str] | None:
    """The keyword options ``rule`` takes after its first argument; ``None``: any."""
    try:
        params = list(inspect.signature(rule).parameters.values())[1:]
    except (TypeError, ValueError):  # no signature to read: let the call check
        return None
    names = set()
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            return None
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.add(p.name)
    return names

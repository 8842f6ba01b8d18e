"""The ``Schedule`` base class: frozen, picklable, JSON-serialisable functions of the step.

Every schedule is a frozen dataclass. ``schedule(step)`` takes a non-negative ``int`` (returning a
``float``) or a numpy integer array (returning a float64 array of the same shape). Each formula is
written once, in :meth:`Schedule.evaluate`, against an array namespace ``xp``: numpy here,
``jax.numpy`` in :mod:`cyclr.optax`, ``keras.ops`` in :mod:`cyclr.keras`, which share ``floor``,
``abs``, ``maximum``, ``minimum``, ``cos``, ``power``, ``where`` and ``full_like``. An int and an
array run the same numpy operations, with ``cos`` and ``power`` from Python's ``math`` element by
element, so they give identical values.

Every field holds plain Python data (``int``, ``float``, ``bool``, ``str``, ``None``, tuples and
schedules): numbers given as numpy scalars are converted when the schedule is built, so
``to_dict()`` is plain JSON and a checkpoint holding it loads with ``weights_only=True``.

The JSON ``"type"`` of a schedule class (:func:`type_name`) is its bare class name for the
built-in classes of cyclr (``"Triangular"``, ``"OneCycle"``, ...) and ``"module.QualName"`` for
every other subclass, so a user's own ``class Triangular(cyclr.Schedule)`` gets the type
``"mymodule.Triangular"`` and can never replace the built-in in :func:`schedule_from_dict`
(nor in the PyTorch and Keras adapters, which read specs through it). A bare name that is not a
built-in still finds a user class when exactly one registered class has that name.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import reprlib
import types
from typing import Any, ClassVar, TypeVar, overload

import numpy as np
from numpy.typing import NDArray

__all__ = ["MAX_NESTING", "Schedule", "schedule_from_dict", "type_name"]

_REGISTRY: dict[str, type[Schedule]] = {}

#: How deep schedules may nest in one another (a ``Chain`` within a ``Chain`` ...). A spec may
#: nest dicts and lists twice as deep (each schedule level is a dict and the list holding it).
MAX_NESTING = 50
_MAX_SPEC_DEPTH = 2 * MAX_NESTING

_short = reprlib.Repr()
_short.maxlevel, _short.maxstring, _short.maxother = 3, 60, 60


def _is_builtin(cls: type) -> bool:
    module = cls.__module__
    return module == "cyclr" or module.startswith("cyclr.")


def type_name(cls: type[Schedule]) -> str:
    """The ``"type"`` that ``to_dict()`` writes for ``cls`` and ``schedule_from_dict`` reads.

    Example:
        >>> from cyclr.schedules.base import type_name
        >>> type_name(cyclr.OneCycle)
        'OneCycle'
    """
    if _is_builtin(cls):
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


def nesting(schedule: Schedule) -> int:
    """How many schedules deep ``schedule`` nests (1 for a schedule holding no other)."""
    return int(schedule.__dict__.get("_nesting", 1))


S = TypeVar("S", bound="Schedule")


def _elementwise(fn: Any) -> Any:
    """``fn`` of Python floats, applied element by element to arrays (scalars take it directly)."""

    def apply(*args: Any) -> Any:
        if not any(isinstance(a, np.ndarray) and a.ndim for a in args):
            return fn(*map(float, args))
        arrays = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in args])
        flat = [a.ravel().tolist() for a in arrays]
        out = np.fromiter(map(fn, *flat), dtype=np.float64, count=arrays[0].size)
        return out.reshape(arrays[0].shape)

    return apply


#: The array namespace of ``schedule(step)``: numpy, except that ``cos`` and ``power`` are
#: Python's ``math.cos`` and ``math.pow`` applied element by element, so an array of steps gets
#: the very bits each step gets alone.
_NUMPY = types.SimpleNamespace(
    floor=np.floor,
    abs=np.abs,
    maximum=np.maximum,
    minimum=np.minimum,
    where=np.where,
    full_like=np.full_like,
    cos=_elementwise(math.cos),
    power=_elementwise(math.pow),
)


class Schedule:
    """A learning-rate (or momentum) schedule: a pure function of the optimizer step.

    Subclasses are frozen dataclasses implementing :meth:`evaluate`.

    Example:
        >>> s = cyclr.Triangular(base_lr=0.1, max_lr=0.5, step_size=4)
        >>> s(4)
        0.5
        >>> s(np.arange(9)).round(6).tolist()
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.4, 0.3, 0.2, 0.1]
    """

    kind: ClassVar[str] = "schedule"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):
            return
        name = type_name(cls)
        other = _REGISTRY.get(name)
        if (
            other is not None
            and _is_builtin(cls)
            and (other.__module__, other.__qualname__) != (cls.__module__, cls.__qualname__)
        ):
            raise TypeError(
                f"schedule type {name!r} is already taken by "
                f"{other.__module__}.{other.__qualname__}"
            )
        # A user class defined again under the same module and name (a re-run notebook cell,
        # a reloaded module) replaces its earlier version.
        _REGISTRY[name] = cls

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(self, t: Any, xp: Any) -> Any:  # pragma: no cover - abstract
        """The schedule's formula at the float step(s) ``t``, in the array namespace ``xp``.

        This is the hook adapters use, with their own namespace (``jax.numpy``, ``keras.ops``).
        A formula uses only ``xp.floor``, ``abs``, ``maximum``, ``minimum``, ``cos``, ``power``,
        ``where``, ``full_like`` and arithmetic, and selects with ``where``, never by branching
        on ``t``, so it also runs on traced tensors. Outside adapters prefer ``schedule(step)``,
        which checks its input.

        Example:
            >>> s = cyclr.Triangular(0.1, 0.5, step_size=4)
            >>> s.evaluate(np.arange(9.0), np).round(6).tolist()
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.4, 0.3, 0.2, 0.1]
        """
        raise NotImplementedError

    @overload
    def __call__(self, step: int) -> float: ...

    @overload
    def __call__(self, step: NDArray[np.integer[Any]]) -> NDArray[np.float64]: ...

    def __call__(self, step: Any) -> Any:
        """Value at ``step`` (an int, or a numpy integer array evaluated element-wise)."""
        if isinstance(step, numbers.Integral) and not isinstance(step, bool):
            if step < 0:
                raise ValueError(f"step must be >= 0, got {step!r}")
            return float(self.evaluate(float(step), _NUMPY))
        if isinstance(step, np.ndarray):
            if step.dtype.kind not in "iu":
                raise TypeError(f"step array must have an integer dtype, got {step.dtype}")
            if step.ndim == 0:
                return self(int(step))
            if step.size and step.min() < 0:
                raise ValueError(f"step must be >= 0, got {int(step.min())}")
            out = self.evaluate(step.astype(np.float64), _NUMPY)
            return np.broadcast_to(np.asarray(out, dtype=np.float64), step.shape).copy()
        raise TypeError(
            f"step must be an int or a numpy integer array, got {step!r} ({type(step).__name__})"
        )

    def at(self, step: int) -> float:
        """The value at the int ``step``, with no input checks (``schedule(step)`` checks it)."""
        return float(self.evaluate(float(step), _NUMPY))

    def momentum(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> Schedule:
        """The inverse momentum companion: high momentum where the LR is low and vice versa."""
        raise NotImplementedError(f"{type(self).__name__} has no momentum companion")

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON description; ``cyclr.schedule_from_dict`` rebuilds an equal schedule.

        ``"type"`` is :func:`type_name` of the class: the bare name for cyclr's own schedules,
        ``"module.QualName"`` for any other subclass.
        """
        out: dict[str, Any] = {"type": type_name(type(self))}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.name] = _to_plain(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls: type[S], data: dict[str, Any]) -> S:
        """Rebuild a schedule of this class from ``to_dict()`` output."""
        s = schedule_from_dict(data)
        if not isinstance(s, cls):
            raise ValueError(f"expected a {cls.__name__} spec, got type {data.get('type')!r}")
        return s


def _to_plain(value: Any) -> Any:
    if isinstance(value, Schedule):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_to_plain(v) for v in value]
    if isinstance(value, np.generic):  # a subclass's field the subclass left as numpy
        return value.item()
    return value


def _from_plain(value: Any) -> Any:
    if isinstance(value, dict) and "type" in value:
        return _build(value)
    if isinstance(value, list):
        return tuple(_from_plain(v) for v in value)
    return value


def _check_depth(data: Any) -> None:
    """Raise ``ValueError`` when dicts and lists nest deeper than ``_MAX_SPEC_DEPTH``.

    Iterative, so that a spec nested far deeper than Python's recursion limit (or one holding
    itself) gets this clear error instead of a ``RecursionError``.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > _MAX_SPEC_DEPTH:
            raise ValueError(
                f"schedule spec is nested more than {_MAX_SPEC_DEPTH} dicts and lists deep "
                f"(schedules nest at most MAX_NESTING={MAX_NESTING} deep)"
            )
        stack.extend((child, depth + 1) for child in children)


def _lookup(name: Any) -> type[Schedule]:
    if not isinstance(name, str):
        raise ValueError(
            f"schedule spec 'type' must be a str naming a schedule type, got {_short.repr(name)} "
            f"({type(name).__name__})"
        )
    cls = _REGISTRY.get(name)
    if cls is not None:
        return cls
    # A bare class name (e.g. from an older checkpoint) still finds a user class, if only one
    # registered class has it; a built-in always wins, since it is registered by its bare name.
    same = [c for c in _REGISTRY.values() if c.__name__ == name]
    if len(same) == 1:
        return same[0]
    if same:
        names = ", ".join(sorted(type_name(c) for c in same))
        raise ValueError(f"schedule type {name!r} is ambiguous: it could be {names}")
    known = ", ".join(sorted(_REGISTRY))
    raise ValueError(f"unknown schedule type {name!r}; known types: {known}")


def _build(data: dict[str, Any]) -> Schedule:
    if "type" not in data:
        keys = ", ".join(sorted(map(_short.repr, data)))
        raise ValueError(f"schedule spec has no 'type' key (keys: {keys})")
    name = data["type"]
    cls = _lookup(name)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted((k for k in data if k not in fields and k != "type"), key=repr)
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(map(_short.repr, unknown))} for schedule type {name!r}; "
            f"expected keys: {', '.join(fields)}"
        )
    kwargs = {k: _from_plain(v) for k, v in data.items() if k != "type"}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # missing required keys, wrong value types
        raise ValueError(f"bad spec for schedule type {name!r}: {exc}") from None


def schedule_from_dict(data: dict[str, Any]) -> Schedule:
    """Rebuild any schedule from its ``to_dict()`` form.

    Raises ``TypeError`` when ``data`` is not a dict, and ``ValueError`` for an unknown or
    non-string ``type``, unknown or missing keys, bad values, and specs nested deeper than
    :data:`MAX_NESTING` schedules (``2 * MAX_NESTING`` dicts and lists).

    Example:
        >>> s = cyclr.Triangular2(0.001, 0.005, step_size=2000)
        >>> cyclr.schedule_from_dict(s.to_dict()) == s
        True
    """
    if not isinstance(data, dict):
        raise TypeError(f"schedule spec must be a dict, got {type(data).__name__}")
    if "type" in data:  # else _build names the missing key, without walking the content
        _check_depth(data)
    return _build(data)

"""JAX/optax adapter: any cyclr schedule as an optax schedule (step → value), correct under jit.

Requires the ``jax`` extra (from a clone: ``pip install -e '.[jax]'``, which brings ``jax`` and
``optax``).

The schedule's single formula is evaluated with ``jax.numpy`` as its array namespace: no Python
branching on the traced step, so the function compiles once and gives the right value at every
step under ``jax.jit``, ``jax.lax.scan`` and ``optax.inject_hyperparams``.

Precision: the step and the result use JAX's default float type, ``float32`` unless
``jax_enable_x64`` is on. In ``float32`` the values agree with the numpy schedule to about
``1e-6`` relative to the schedule's peak (a little more for very long runs, since
``step / step_size`` is rounded to 24 bits); with x64 on they agree to ``1e-12``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from cyclr.schedules.base import Schedule

try:
    import jax
    import jax.numpy as jnp
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    if importlib.util.find_spec("jax") is None:
        raise ImportError(
            "cyclr.optax needs JAX; install it from a clone with: pip install -e '.[jax]'"
        ) from exc
    raise

__all__ = ["JaxSchedule", "schedule"]


@dataclass(frozen=True)
class JaxSchedule:
    """A cyclr schedule as an optax schedule: ``JaxSchedule(s)(count)`` is ``s(count)`` in jnp.

    Build it with :func:`schedule`. It is a frozen, picklable object (not a closure); the
    wrapped cyclr schedule is ``.schedule``. ``count`` may be a Python int, a JAX/numpy integer
    scalar or array, traced or not; the result has its shape and ``dtype`` (JAX's default
    float type when ``None``).
    """

    schedule: Schedule
    dtype: Any = None

    def __call__(self, count: Any) -> jax.Array:
        dtype = jnp.dtype(float) if self.dtype is None else self.dtype
        dtype = jax.dtypes.canonicalize_dtype(dtype)
        t = jnp.asarray(count).astype(dtype)
        value = self.schedule.evaluate(t, jnp)
        return jnp.asarray(value, dtype=dtype)


def schedule(s: Schedule, dtype: Any = None) -> JaxSchedule:
    """Wrap the cyclr schedule ``s`` for optax: a step → value function that works under jit.

    Use it anywhere optax takes a schedule, and with ``optax.inject_hyperparams`` to cycle
    momentum (or Adam's ``b1``) too.

    Args:
        s: any :class:`cyclr.Schedule` (LR or momentum).
        dtype: float dtype of the step arithmetic and the result; default JAX's default float
            (``float32``, or ``float64`` with ``jax_enable_x64``).

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> from cyclr.optax import schedule
        >>> s = cyclr.OneCycle(max_lr=0.1, total_steps=101)
        >>> lr = schedule(s)
        >>> [round(float(jax.jit(lr)(i)), 6) for i in (0, 45, 90, 100)]
        [0.01, 0.1, 0.01, 1e-05]
        >>> opt = optax.inject_hyperparams(optax.sgd)(
        ...     learning_rate=lr, momentum=schedule(s.momentum(0.85, 0.95)))
        >>> params = {"w": jnp.zeros(3)}
        >>> state = opt.init(params)
        >>> @jax.jit
        ... def step(params, state):
        ...     grads = jax.grad(lambda p: jnp.sum((p["w"] - 1.0) ** 2))(params)
        ...     updates, state = opt.update(grads, state, params)
        ...     return optax.apply_updates(params, updates), state
        >>> for _ in range(46):
        ...     params, state = step(params, state)
        >>> hp = state.hyperparams  # the values used by the last update (step 45)
        >>> round(float(hp["learning_rate"]), 6), round(float(hp["momentum"]), 6)
        (0.1, 0.85)
    """
    if not isinstance(s, Schedule):
        raise TypeError(f"s must be a cyclr Schedule, got {s!r} ({type(s).__name__})")
    if dtype is not None:
        try:
            dt = jnp.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype must be a float dtype, got {dtype!r}") from None
        if not jnp.issubdtype(dt, jnp.floating):
            raise TypeError(f"dtype must be a float dtype, got {dtype!r}")
    return JaxSchedule(s, dtype)

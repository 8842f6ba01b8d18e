"""The warm-up read as a range test: 1cycle or CLR bounds read during training itself.

The first half of a 1cycle is a rising LR (Smith 2018, §4.1), and an LR range test is a rising
LR whose loss is read (Smith 2015, §3.3). :class:`OnlineController` runs the warm-up as a real
training phase that keeps its progress and reads its curve as it comes (``docs/online.md`` says
why each step is as it is):

1. **Rise.** The LR of update ``t`` climbs the exponential ramp of a range test of
   ``warmup_steps`` updates (:func:`cyclr.range_test.ramp.ramp_lr`)::

       lr_t = start_lr * (end_lr / start_lr) ** (t / (warmup_steps - 1))

   Every ``check_every`` updates the curve so far is read with the offline rule
   (``cyclr.suggest``, ``"loss"`` by default).
2. **Decide** at the first look where the fall passes the rule's significance test at
   ``z_looks`` (``P(Z > z_looks) = P(Z > z) / looks``), the lowest plateau ends at least
   ``reading.smoothing_steps`` before the last update read, and the smoothed loss has risen
   above its floor by ``base_frac`` of its fall and by more than ``z_looks`` standard errors.
   ``max_lr`` is then the plateau's end (``"one_cycle"``; ``max_lr_from="rule"``: the rule's)
   or the rule's bounds (``"triangular"``).
3. **Finish** (:mod:`cyclr.online._after`): the rest of a 1cycle from ``max_lr``, or the
   triangle wave between the bounds from its peak.

A blow-up before the decision decides from the curve up to there; after it, each blow-up halves
the rest of the schedule (:attr:`halvings`; ``docs/online.md``, "The guard"). Momentum falls over
the warm-up and rises back as the LR falls (Smith 2018, §4.3).

Example:
    >>> from cyclr.online import OnlineController
    >>> s = OnlineController("one_cycle", total_steps=1000)
    >>> ideal = lambda lr: 2.3 - 1.5 / (1 + (0.01 / lr) ** 2) + 20 * lr ** 2
    >>> while s.decided_at is None:
    ...     s.observe(ideal(s.lr()))
    >>> 0.01 < s.bounds.max_lr < 0.1, s.lr() == s.bounds.max_lr, s.lr(999) < s.lr(900)
    (True, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from cyclr import _validate as v
from cyclr._json import plain
from cyclr.online._after import After, half_cycle, one_cycle_after, triangular_after
from cyclr.online._bounds import cautious_bounds, decided_bounds
from cyclr.online._looks import z_for_looks
from cyclr.online._state import (
    SETTINGS,
    STATE_KEYS,
    at_least_one,
    check_saved,
    warmup_length,
)
from cyclr.range_test.ramp import ramp_lr
from cyclr.range_test.result import RangeTestResult
from cyclr.range_test.smoothing import SmoothedLoss
from cyclr.suggest import Bounds, SuggestionError, check_method, suggest
from cyclr.suggest.curve_stats import BASE_FRAC, MIN_POINTS, Z

__all__ = ["ONLINE_POLICIES", "SETTINGS", "WARMUP_RANGE", "OnlineController"]

#: Policies an online schedule can finish with.
ONLINE_POLICIES = ("one_cycle", "triangular")
#: ``(start_lr, end_lr)`` of the warm-up ramp when not given: seven decades.
WARMUP_RANGE = (1e-6, 10.0)
#: Fewest warm-up updates: the curve needs enough points to be read.
MIN_WARMUP = 4 * MIN_POINTS
#: Divergence: the smoothed loss above this multiple of its lowest value (the range test's).
DIVERGE = 4.0
#: The rules whose reading gives the loss's lowest plateau (``Bounds.reading.plateau``).
READINGS = ("loss", "auto")


class OnlineController:
    """A 1cycle or CLR whose bounds are read from its own warm-up (module docstring).

    Args:
        policy: ``"one_cycle"`` (Smith 2018) or ``"triangular"`` (Smith 2015).
        total_steps: training length in updates (needed for ``"one_cycle"``).
        warmup_steps: length of the rising ramp (the range test it stands for). Default: the
            1cycle's rising half, ``(1 - pct_annihilate) / 2 * (total_steps - 1)``.
        start_lr, end_lr: the ramp's ends (default :data:`WARMUP_RANGE`).
        step_size: the triangular policy's half cycle after the decision.
        method: the reading, ``"loss"`` or ``"auto"`` (the offline rules of ``cyclr.suggest``).
        suggest_kwargs: options of the reading (``margin``, ``z``, ``bandwidth``, ...).
        check_every: read the curve every this many updates (default ``warmup_steps // 100``).
        smooth: the smoothing of the recorded loss (the range test's EMA).
        div_factor, final_div_factor, pct_annihilate: the 1cycle's (``cyclr.OneCycle``); both
            factors are >= 1.
        cycle_momentum, base_momentum, max_momentum: momentum cycling (Smith 2018, §4.3).
        max_lr_from: ``"plateau_end"`` (the default for ``"one_cycle"``) or ``"rule"`` (the
            default for ``"triangular"``), see step 2 of the module docstring.
        rollback: at the decision, go back to the weights of :attr:`floor_at`, the last look
            with the loss still on its floor (or not yet fallen), recorded as
            :attr:`rolled_back_to`; ``cyclr.torch.OnlineScheduler`` restores them.

    Call :meth:`lr` for the LR of the next update, and :meth:`observe` with that update's loss.
    """

    def __init__(
        self,
        policy: str = "one_cycle",
        total_steps: int | None = None,
        *,
        warmup_steps: int | None = None,
        start_lr: float = WARMUP_RANGE[0],
        end_lr: float = WARMUP_RANGE[1],
        step_size: int | None = None,
        method: str = "loss",
        suggest_kwargs: Mapping[str, Any] | None = None,
        check_every: int | None = None,
        smooth: float = 0.98,
        div_factor: float = 10.0,
        final_div_factor: float = 1e3,
        pct_annihilate: float = 0.1,
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        max_lr_from: str | None = None,
        rollback: bool = True,
    ) -> None:
        self.policy = v.choice("policy", policy, ONLINE_POLICIES)
        self.total_steps = None if total_steps is None else v.integer("total_steps", total_steps)
        self.start_lr = v.positive("start_lr", start_lr)
        self.end_lr = v.positive("end_lr", end_lr)
        if self.end_lr <= self.start_lr:
            raise ValueError(
                f"end_lr must be > start_lr, got start_lr={start_lr!r}, end_lr={end_lr!r}"
            )
        self.method = v.choice("method", method, READINGS)
        self.suggest_kwargs = dict(suggest_kwargs or {})
        check_method(self.method, self.suggest_kwargs)
        z = v.positive("z", self.suggest_kwargs.get("z", Z))
        self.base_frac = v.fraction("base_frac", self.suggest_kwargs.get("base_frac", BASE_FRAC))
        if max_lr_from is None:
            max_lr_from = "plateau_end" if self.policy == "one_cycle" else "rule"
        self.max_lr_from = v.choice("max_lr_from", max_lr_from, ("plateau_end", "rule"))
        self.smooth = v.fraction("smooth", smooth, high_open=True)
        self.div_factor = at_least_one("div_factor", div_factor)
        self.final_div_factor = at_least_one("final_div_factor", final_div_factor)
        self.pct_annihilate = v.fraction("pct_annihilate", pct_annihilate, high_open=True)
        if not isinstance(cycle_momentum, bool):
            raise TypeError(f"cycle_momentum must be a bool, got {cycle_momentum!r}")
        self.cycle_momentum = cycle_momentum
        self.base_momentum = v.fraction("base_momentum", base_momentum)
        self.max_momentum = v.fraction("max_momentum", max_momentum)
        v.ordered("base_momentum", self.base_momentum, "max_momentum", self.max_momentum)
        self.step_size = None if step_size is None else v.integer("step_size", step_size, minimum=1)
        self.warmup_steps = warmup_length(
            self.policy, self.total_steps, warmup_steps, self.pct_annihilate, MIN_WARMUP
        )
        every = max(1, self.warmup_steps // 100) if check_every is None else check_every
        self.check_every = v.integer("check_every", every, minimum=1)
        looks = max(1, math.ceil(self.warmup_steps / self.check_every))
        #: ``z`` corrected for the looks at the curve: ``P(Z > z_looks) = P(Z > z) / looks``.
        self.z_looks = z_for_looks(z, looks)
        if not isinstance(rollback, bool):
            raise TypeError(f"rollback must be a bool, got {rollback!r}")
        self.rollback = rollback
        #: Updates done when the loss was last seen on its floor, or before it fell (a look
        #: with no significant fall, or whose lowest plateau reaches the last update).
        self.floor_at = 0
        #: ``floor_at`` at the decision, when ``rollback`` is on: the weights go back there.
        self.rolled_back_to: int | None = None
        self.step = 0
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self._smoother = SmoothedLoss(self.smooth, DIVERGE)
        self.decided_at: int | None = None
        self.bounds: Bounds | None = None
        self.scale = 1.0
        #: ``(update, scale)`` of every back-off after the decision: the loss blew up at
        #: ``update`` and the schedule runs at ``scale`` from the next update on.
        self.halvings: list[tuple[int, float]] = []
        self.blew_up = False
        self.log: list[str] = []
        self._after: After | None = None
        self._momentum_at_decision = self.max_momentum

    # -- what the next update uses --------------------------------------------------------
    def lr(self, t: int | None = None) -> float:
        """The LR of update ``t`` (default: the next one, :attr:`step`).

        Before the decision only the updates up to it are known; later ones are the ramp's.
        A past update after the decision is given at the scale it ran at (:attr:`halvings`).
        """
        t = self.step if t is None else t
        d = self.decided_at
        if d is None or t < d:
            return ramp_lr(
                min(t, self.warmup_steps - 1), self.start_lr, self.end_lr, self.warmup_steps, "exp"
            )
        assert self._after is not None  # set with decided_at
        return self._scale_at(t) * float(self._after.at(t - d))

    def _scale_at(self, t: int) -> float:
        """The scale update ``t`` runs at: that of the last back-off before it."""
        scale = 1.0
        for u, s in self.halvings:
            if u < t:
                scale = s
        return scale

    def momentum(self, t: int | None = None) -> float:
        """The momentum of update ``t`` (default: the next one): down over the warm-up, then up
        as the LR comes down (constant ``max_momentum`` with ``cycle_momentum=False``)."""
        t = self.step if t is None else t
        hi, lo = self.max_momentum, self.base_momentum
        if not self.cycle_momentum:
            return hi
        d = self.decided_at
        if d is None or t < d:
            return hi - (hi - lo) * min(t / (self.warmup_steps - 1), 1.0)
        assert self.bounds is not None and self._after is not None  # set with decided_at
        top, low = self.bounds.max_lr, self._after.low
        lr = float(self._after.at(t - d))
        frac = 0.0 if top <= low else min(max((top - lr) / (top - low), 0.0), 1.0)
        m0 = self._momentum_at_decision
        return m0 + (hi - m0) * frac

    # -- the loss of each update ----------------------------------------------------------
    def observe(self, loss: float) -> None:
        """Record the loss of update :attr:`step` (run at :meth:`lr`) and move to the next.

        A non-finite loss counts as a blow-up (see the module docstring); the caller checks
        that the weights are still finite.
        """
        loss = float(loss)
        t = self.step
        self.step += 1
        finite = math.isfinite(loss)
        if self.decided_at is None:
            if finite:
                self.lrs.append(self.lr(t))
                self.losses.append(loss)
                self._smoother.add(loss)
            blown = not finite or self._smoother.diverged(len(self.losses) - 1)
            n = len(self.losses)
            if blown:
                self._decide_after_blow_up(t, loss)
            elif n >= MIN_WARMUP and (n % self.check_every == 0 or t + 1 >= self.warmup_steps):
                self._try_decide(end=t + 1 >= self.warmup_steps)
            return
        if finite:
            self._smoother.add(loss)
        if not finite or self._smoother.diverged(self._smoother.n - 1):
            at = self.lr(t)
            self.scale /= 2
            self.halvings.append((t, self.scale))
            self._smoother = SmoothedLoss(self.smooth, DIVERGE)
            self.log.append(
                f"update {t}: the loss blew up at lr={at:.3g}; the rest of the "
                f"schedule is halved (x{self.scale:g})"
            )

    # -- reading ----------------------------------------------------------------------------
    def result(self) -> RangeTestResult:
        """The warm-up so far as a range test (its curve, ``mode="exp"``)."""
        lr = np.asarray(self.lrs, dtype=np.float64)
        loss = np.asarray(self.losses, dtype=np.float64)
        ema = SmoothedLoss(self.smooth, None)
        smoothed = np.array([ema.add(x) for x in self.losses], dtype=np.float64)
        stop = "diverged" if self.blew_up else "end"
        return RangeTestResult(
            lr=lr,
            loss=loss,
            smoothed_loss=smoothed,
            mode="exp",
            stop_reason=stop,
            message=self.log[-1] if self.log else "",
            config={
                "start_lr": self.start_lr,
                "end_lr": self.end_lr,
                "num_iter": self.warmup_steps,
                "mode": "exp",
                "online": True,
            },
        )

    def read(self) -> Bounds:
        """The offline rule's reading of the warm-up so far (raises ``SuggestionError``)."""
        return suggest(self.result(), self.method, **self.suggest_kwargs)

    def _try_decide(self, *, end: bool) -> None:
        try:
            b = self.read()
            reading = b.reading
            assert reading is not None  # the two-bound rules always read their curve
            if not reading.tested_change > self.z_looks * reading.tested_se:
                if end:  # the rule's own refusal at z_looks says why
                    suggest(self.result(), self.method, **dict(self.suggest_kwargs, z=self.z_looks))
                raise SuggestionError(
                    f"the fall is within {self.z_looks:.3g} standard errors", "flat"
                )
        except SuggestionError as exc:
            if end:
                self._fallback(f"the warm-up ended without a reading ({exc})")
            else:
                self.floor_at = self.step  # no significant fall yet
            return
        right = reading.plateau[1]
        right_at = int(np.searchsorted(np.asarray(self.lrs), right, side="left"))
        past = len(self.lrs) - 1 - right_at
        if past <= 0 and not end:
            self.floor_at = self.step  # the lowest plateau reaches this update
        fit = b.curve_values
        risen = fit[-1] - min(fit) if fit else 0.0
        needed = self.base_frac * reading.change
        se = math.hypot(reading.se_best, reading.se_last)
        significant = risen > self.z_looks * se
        if past >= reading.smoothing_steps and risen >= needed and significant:
            self._decide(
                b,
                f"the loss left its lowest plateau {past} updates ago and has risen {risen:.3g} "
                f"(>= {self.base_frac:g} of its fall, {risen / se:.1f} standard errors)",
            )
        elif end:
            self._decide(b, "the warm-up reached end_lr")

    def _decide_after_blow_up(self, t: int, loss: float) -> None:
        self.blew_up = True
        # handled here, once: after the decision a fresh average watches the loss
        self._smoother = SmoothedLoss(self.smooth, DIVERGE)
        blown_at = self.lr(t)
        what = "non-finite" if not math.isfinite(loss) else f"{loss:.3g}, past {DIVERGE:g}x its low"
        self.log.append(
            f"update {t}: the loss blew up ({what}) at lr={blown_at:.3g} in the warm-up"
        )
        try:
            b = self.read()
        except SuggestionError as exc:
            self._fallback(f"no reading before the blow-up ({exc})", blown_at=blown_at)
            return
        self._decide(b, "the loss blew up")

    def _fallback(self, why: str, *, blown_at: float | None = None) -> None:
        try:
            b = suggest(self.result(), "minimum")
        except SuggestionError as exc:
            if blown_at is None:  # a whole warm-up without a fall: nothing to stand on
                raise SuggestionError(
                    f"the online warm-up could not be read: {why}; the 'minimum' rule "
                    f"neither: {exc}",
                    exc.kind,
                ) from None
            self.log.append(f"{why}; the 'minimum' rule neither ({exc}): cautious bounds")
            self._decide(cautious_bounds(self.start_lr, blown_at), f"{why}; cautious bounds")
            return
        self.log.append(f"{why}; max_lr from the 'minimum' rule")
        self._decide(b, why)

    def _decide(self, b: Bounds, why: str) -> None:
        d = self.step
        self.decided_at = d
        self._momentum_at_decision = self.momentum(d - 1) if d else self.max_momentum
        self.bounds = decided_bounds(b, d, why, self.max_lr_from == "plateau_end")
        base, top = self.bounds.base_lr, self.bounds.max_lr
        self._finish(self.bounds)
        line = f"update {d}: bounds read ({why}): base_lr={base:.3g}, max_lr={top:.3g}"
        if self.rollback and self.floor_at < d:
            self.rolled_back_to = self.floor_at
            at = self.lr(max(self.floor_at - 1, 0))
            line += (
                f"; the weights go back to those after update {self.floor_at}, the last look "
                f"with the loss on its floor (lr={at:.3g})"
            )
        self.log.append(line)

    def _finish(self, b: Bounds) -> None:
        """The schedule after the decision at :attr:`decided_at`, from the bounds ``b``."""
        d = self.decided_at
        if d is None:  # pragma: no cover - only called once decided
            raise RuntimeError("no decision yet")
        if self.policy == "one_cycle":
            self._after = one_cycle_after(
                b.max_lr,
                decided_at=d,
                total_steps=self.total_steps or 0,  # one_cycle has it (checked in __init__)
                div_factor=self.div_factor,
                final_div_factor=self.final_div_factor,
                pct_annihilate=self.pct_annihilate,
            )
        else:
            size = self.step_size or half_cycle(d, self.total_steps)
            self._after = triangular_after(b.base_lr, b.max_lr, size)

    # -- state ------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """The settings that shape the trajectory (:data:`SETTINGS`), as plain data."""
        return {name: plain(getattr(self, name)) for name in SETTINGS}

    def state_dict(self) -> dict[str, Any]:
        """Plain data: the settings, the curve so far, the decision and the phase (loads with
        ``torch.load(..., weights_only=True)``)."""
        return {
            "settings": self.settings(),
            "step": self.step,
            "lrs": list(self.lrs),
            "losses": list(self.losses),
            "smoother": self._smoother.state(),
            "decided_at": self.decided_at,
            "bounds": None if self.bounds is None else self.bounds.to_dict(),
            "scale": self.scale,
            "log": list(self.log),
            "halvings": [[u, s] for u, s in self.halvings],
            "blew_up": self.blew_up,
            "floor_at": self.floor_at,
            "rolled_back_to": self.rolled_back_to,
            "momentum_at_decision": self._momentum_at_decision,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`; the same losses then give the same trajectory.

        Raises ``ValueError`` for a state saved with other settings (:meth:`settings`).
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping, got {type(state).__name__}")
        missing = set(STATE_KEYS) - set(state)
        if missing:
            raise ValueError(f"not an OnlineController state_dict: missing {sorted(missing)}")
        saved = state.get("settings")
        if saved is not None:
            check_saved(saved, self.settings())
        self.step = int(state["step"])
        self.lrs = [float(x) for x in state["lrs"]]
        self.losses = [float(x) for x in state["losses"]]
        self._smoother = SmoothedLoss(self.smooth, DIVERGE)
        self._smoother.load_state(state["smoother"])
        self.scale = float(state["scale"])
        self.log = [str(x) for x in state["log"]]
        # (a state without halvings ran at its scale from its last update on)
        halved = [[self.step - 1, self.scale]] if self.scale != 1.0 else []
        self.halvings = [(int(u), float(s)) for u, s in state.get("halvings", halved)]
        self.blew_up = bool(state.get("blew_up", False))
        self.floor_at = int(state.get("floor_at", 0))
        back = state.get("rolled_back_to")
        self.rolled_back_to = None if back is None else int(back)
        self._momentum_at_decision = float(state.get("momentum_at_decision", self.max_momentum))
        self.decided_at = None if state["decided_at"] is None else int(state["decided_at"])
        self.bounds = None if state["bounds"] is None else Bounds.from_dict(state["bounds"])
        if self.bounds is not None:
            self._finish(self.bounds)

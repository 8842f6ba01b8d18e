"""The demo's settings: ``DemoConfig()`` is the default run, ``DemoConfig.quick()`` the short one.

Example:
    >>> from cyclr.demo import DemoConfig
    >>> DemoConfig().seeds, DemoConfig.quick().seeds
    ((0, 1, 2), (0,))
    >>> c = DemoConfig.quick(seeds=(3,))
    >>> c.seeds, c.cycles, c.one_cycle_epochs, c.one_cycle_bounds
    ((3,), 4, 10, 'online')
    >>> DemoConfig(one_cycle_bounds="range_test").command()
    'cyclr demo --one-cycle-bounds range-test'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cyclr import _validate as v
from cyclr.range_test.recipe import COARSE_ITER, LINEAR_ITER

#: Training sequences of MNIST-1D when ``n_train`` is ``None`` (the package's default split).
N_TRAIN = 4000

__all__ = [
    "BASELINE_GRID",
    "COLORS",
    "ONE_CYCLE_BOUNDS",
    "ONLINE_FILES",
    "RANGE_TESTS",
    "REPORT_FILES",
    "THIRD_POLICIES",
    "DemoConfig",
]

#: The grid search that chose the default fixed LR, 0.05: mean final test accuracy of 3 seeds
#: after 3200 iterations at each LR (SGD momentum 0.9, batch 100, the demo's CNN).
BASELINE_GRID = {0.01: 0.859, 0.02: 0.897, 0.05: 0.933, 0.1: 0.917, 0.2: 0.102}
#: How the demo runs the LR range test.
RANGE_TESTS = ("two_stage", "linear")
#: Where the 1cycle run's bounds come from: its own warm-up, read as it runs
#: (:func:`cyclr.torch.online_schedule`), or the range test the CLR runs use.
ONE_CYCLE_BOUNDS = ("online", "range_test")
#: Policies for the third run (the CLR paper's two decaying variants).
THIRD_POLICIES = ("triangular2", "exp_range")
#: Colours of the four policies, the same in every plot.
COLORS = {
    "fixed": "#555555",
    "triangular": "#1f77b4",
    "triangular2": "#2ca02c",
    "exp_range": "#2ca02c",
    "one_cycle": "#d62728",
}
#: The files a report folder holds.
REPORT_FILES = (
    "summary.md",
    "results.json",
    "range_test.json",
    "range_test.png",
    "schedules.png",
    "accuracy.png",
)
#: The files a report folder also holds when the 1cycle reads its bounds online (its warm-up).
ONLINE_FILES = ("one_cycle_warmup.json", "one_cycle_warmup.png")


@dataclass(frozen=True)
class DemoConfig:
    """Settings of a demo run. ``DemoConfig()`` is the default run, ``DemoConfig.quick()`` the
    short one (for tests and a first look).

    Attributes:
        seeds: one run of everything per seed; each seeds the model's initial weights, the
            batch order and the range test. The table reports the mean and standard deviation.
        workers: processes that run the seeds side by side.
        cycles: full CLR cycles for the fixed, triangular and triangular2 runs; their common
            budget is ``cycles * 2 * step_epochs`` epochs, so the CLR runs stop at the end of a
            cycle (the paper: at least 3 cycles).
        step_epochs: the CLR half-cycle ``step_size`` in epochs (the paper: 2–10).
        one_cycle_epochs: the 1cycle run's budget in epochs.
        one_cycle_bounds: ``"online"`` (the 1cycle run reads its bounds from its own warm-up,
            :func:`cyclr.torch.online_schedule`: no separate range test, so it is charged
            nothing) or ``"range_test"`` (it uses the bounds of the range test
            that the CLR runs use, and is charged that test's updates).
        baseline_lr: the fixed LR of the baseline; 0.05 is the best of a grid search on this
            task (:data:`BASELINE_GRID`), a search the cyclical runs do without.
        third_policy: ``"triangular2"`` (the CLR paper's CIFAR-10 result) or ``"exp_range"``.
        range_test: ``"two_stage"`` (:func:`cyclr.torch.find_bounds`' recipe, as ``cyclr find``
            runs it: ``coarse_iters`` exponential updates, then ``range_test_iters`` linear ones)
            or ``"linear"`` (one linear sweep from ``range_start_lr`` to ``range_end_lr``).
        coarse_iters, range_test_iters, range_start_lr, range_end_lr: see ``range_test``.
        method: the rule that reads the bounds (see :func:`cyclr.suggest.suggest`).
        momentum: SGD momentum of the range test and of the fixed and CLR runs.
        batch_size: mini-batch size.
        eval_every: test accuracy is recorded every ``eval_every`` iterations (one epoch).
        n_train: keep only the first ``n_train`` training examples (``None``: all 4000).
        threads: PyTorch CPU threads during the demo (1 keeps results independent of the
            machine's core count).
    """

    seeds: tuple[int, ...] = (0, 1, 2)
    workers: int = 2
    cycles: int = 10
    step_epochs: int = 4
    one_cycle_epochs: int = 25
    one_cycle_bounds: str = "online"
    baseline_lr: float = 0.05
    third_policy: str = "triangular2"
    range_test: str = "two_stage"
    coarse_iters: int = COARSE_ITER
    range_test_iters: int = LINEAR_ITER
    range_start_lr: float | None = None
    range_end_lr: float | None = None
    method: str = "auto"
    momentum: float = 0.9
    batch_size: int = 100
    eval_every: int = 40
    n_train: int | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.seeds, (str, bytes)) or not hasattr(self.seeds, "__iter__"):
            raise TypeError(f"seeds must be a sequence of integers, got {self.seeds!r}")
        seeds = tuple(v.integer(f"seeds[{i}]", s, minimum=0) for i, s in enumerate(self.seeds))
        if not seeds:
            raise ValueError("seeds must hold at least one seed, got ()")
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds has duplicates: {seeds!r}")
        object.__setattr__(self, "seeds", seeds)
        v.integer("workers", self.workers, minimum=1)
        v.integer("cycles", self.cycles, minimum=3)
        v.integer("step_epochs", self.step_epochs, minimum=1)
        v.integer("one_cycle_epochs", self.one_cycle_epochs, minimum=1)
        v.positive("baseline_lr", self.baseline_lr)
        v.choice("one_cycle_bounds", self.one_cycle_bounds, ONE_CYCLE_BOUNDS)
        v.choice("third_policy", self.third_policy, THIRD_POLICIES)
        v.choice("range_test", self.range_test, RANGE_TESTS)
        v.integer("coarse_iters", self.coarse_iters, minimum=10)
        v.integer("range_test_iters", self.range_test_iters, minimum=10)
        if self.range_test == "linear":
            if self.range_start_lr is None or self.range_end_lr is None:
                raise ValueError("range_test='linear' needs range_start_lr and range_end_lr")
            v.positive("range_start_lr", self.range_start_lr)
            v.positive("range_end_lr", self.range_end_lr)
            if self.range_start_lr >= self.range_end_lr:
                raise ValueError(
                    f"range_start_lr ({self.range_start_lr!r}) must be < range_end_lr "
                    f"({self.range_end_lr!r})"
                )
        v.fraction("momentum", self.momentum, high_open=True)
        v.integer("batch_size", self.batch_size, minimum=1)
        v.integer("eval_every", self.eval_every, minimum=1)
        if self.n_train is not None:
            v.integer("n_train", self.n_train, minimum=self.batch_size)
        v.integer("threads", self.threads, minimum=1)
        if self.one_cycle_bounds == "online":
            self._check_online_budget()

    @property
    def one_cycle_steps(self) -> int:
        """The 1cycle run's budget in updates (``one_cycle_epochs`` epochs)."""
        n_train = N_TRAIN if self.n_train is None else self.n_train
        return self.one_cycle_epochs * max(1, n_train // self.batch_size)

    def _check_online_budget(self) -> None:
        """An online 1cycle needs a warm-up long enough to read (its first ~45%)."""
        from cyclr.online import OnlineController

        try:
            OnlineController("one_cycle", total_steps=self.one_cycle_steps)
        except ValueError as exc:
            raise ValueError(
                f"one_cycle_bounds='online' needs a longer 1cycle run than "
                f"{self.one_cycle_steps} updates ({exc}); raise one_cycle_epochs or use "
                "one_cycle_bounds='range_test'"
            ) from None

    @classmethod
    def quick(cls, **overrides: Any) -> DemoConfig:
        """The short demo: one seed, 4 CLR cycles instead of 10 and 1cycle over 10 epochs
        instead of 25. One seed is noisy: the default run's three seeds tell the story."""
        base: dict[str, Any] = {"seeds": (0,), "cycles": 4, "one_cycle_epochs": 10}
        base.update(overrides)
        return cls(**base)

    def command(self) -> str:
        """The ``cyclr demo`` command line that reproduces this configuration (or, for settings
        the command line does not offer, the Python call)."""
        given: dict[str, Any] = {
            "seeds": self.seeds,
            "one_cycle_bounds": self.one_cycle_bounds,
            "third_policy": self.third_policy,
            "baseline_lr": self.baseline_lr,
            "method": self.method,
        }
        for quick in (False, True):
            if self != (DemoConfig.quick(**given) if quick else DemoConfig(**given)):
                continue
            ref = DemoConfig()
            args = ["--quick"] if quick else []
            if self.seeds != (DemoConfig.quick() if quick else ref).seeds:
                args.append("--seeds " + ",".join(map(str, self.seeds)))
            if self.third_policy != ref.third_policy:
                args.append(f"--third {self.third_policy}")
            if self.baseline_lr != ref.baseline_lr:
                args.append(f"--baseline-lr {self.baseline_lr:g}")
            if self.method != ref.method:
                args.append(f"--method {self.method}")
            if self.one_cycle_bounds != ref.one_cycle_bounds:
                args.append("--one-cycle-bounds " + self.one_cycle_bounds.replace("_", "-"))
            return " ".join(["cyclr demo", *args])
        return f'python -c "import cyclr.demo as d; d.run(d.{self!r})"'

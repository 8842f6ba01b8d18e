"""The jobs of a zoo run, the oracle's grids that grow until their best point is inside, and the
pool of worker processes that runs them.

LRs on the grids are ``lr_center * 10 ** (k / 2)``: ``k`` counts half-decades from the task's
centre. Per task, for every seed:

- **1cycle**: ``k = -2 … 2``. Once every seed of every point is in, a best point at an end of
  the grid adds the next half-decade beyond it (at most ``max_extend`` times); a best point
  inside adds the two quarter-decade points around it (``refine``).
- **fixed LR**: ``k = -3 … 1`` (the best fixed LR sits below the best 1cycle peak), grown the
  same way, without refinement.
- **triangular**: as soon as the 1cycle grid's best is inside, pairs ``(max_lr / r, max_lr)``
  with ``max_lr`` at the best 1cycle point and half a decade below, ``r`` in ``(4, 10)``;
  grown along ``max_lr`` the same way.
- **methods**: cyclr (``auto_schedule``; the README's ``range_test`` → ``suggest()``) and the
  peers, one job per seed each.

Example:
    >>> from zoo.plan import GridSpec, Planner, lr_at
    >>> from zoo.tasks import TASKS
    >>> p = Planner([TASKS["friedman_mlp_sgd"]], [0], GridSpec.quick(), {})
    >>> sorted({j["kind"] for j in p.pop_all()})  # doctest: +NORMALIZE_WHITESPACE
    ['cyclr_auto', 'cyclr_readme', 'fixed', 'lr_finder', 'one_cycle', 'prodigy',
     'schedulefree']
    >>> lr_at(0.03, -2), lr_at(0.03, 0.5)
    (0.003, 0.0533)
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing as mp
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from zoo.tasks import Task

__all__ = ["GridSpec", "Planner", "lr_at", "run_pool"]

FAMILIES = ("one_cycle", "fixed", "triangular")
METHOD_JOBS = ("cyclr_auto", "cyclr_readme", "lr_finder", "schedulefree", "prodigy")


def lr_at(center: float, k: float) -> float:
    """``center * 10 ** (k / 2)`` to 3 significant digits."""
    return float(f"{center * 10 ** (k / 2):.3g}")


@dataclass(frozen=True)
class GridSpec:
    """The oracle's grids (in half-decade steps ``k`` from the task's centre) and the range
    tests' options."""

    one_cycle: tuple[float, ...] = (-2, -1, 0, 1, 2)
    fixed: tuple[float, ...] = (-3, -2, -1, 0, 1)
    tri_max: tuple[float, ...] = (-1, 0)  # relative to the best 1cycle point
    tri_ratios: tuple[float, ...] = (4.0, 10.0)
    refine: bool = True
    max_extend: int = 3
    budget_scale: float = 1.0
    methods: tuple[str, ...] = METHOD_JOBS
    #: range-test options per job kind (the defaults when empty).
    rt: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def quick(cls) -> GridSpec:
        """A tiny version for smoke tests."""
        return cls(
            one_cycle=(-1, 0, 1),
            fixed=(-1, 0),
            tri_max=(0,),
            tri_ratios=(4.0,),
            refine=False,
            max_extend=0,
            budget_scale=0.03,
            rt={
                "cyclr_auto": {"coarse_iter": 60, "linear_iter": 60},
                "cyclr_readme": {"valley_num_iter": 60},
                "lr_finder": {"num_iter": 40},
            },
        )

    def budget(self, task: Task) -> int:
        """The task's budget, scaled (at least 40 updates)."""
        return max(40, round(task.budget * self.budget_scale))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GridSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: tuple(x) if isinstance(x, list) else x for k, x in d.items()})


@dataclass
class _Family:
    """One grid of one task: its points and how often it grew."""

    points: dict[tuple[float, float], dict[int, float]] = field(default_factory=dict)
    extended: int = 0
    refined: bool = False
    started: bool = False


class Planner:
    """Hands out the jobs of a run and, as results come in, the grid points they call for.

    ``pop_all()`` / ``pop()`` give queued jobs (grid points first, then the longest);
    ``add(records)`` files a finished job's records and queues what they unlock.
    """

    def __init__(
        self,
        tasks: Sequence[Task],
        seeds: Sequence[int],
        spec: GridSpec,
        ms_per_update: dict[str, float],
    ) -> None:
        self.tasks = {t.key: t for t in tasks}
        self.seeds = list(seeds)
        self.spec = spec
        self.ms = ms_per_update
        self.queue: list[dict[str, Any]] = []
        self.grids = {(t, f): _Family() for t in self.tasks for f in FAMILIES}
        self.log: list[str] = []
        for t in tasks:
            g = self.grids[(t.key, "one_cycle")]
            g.started = True
            self._add_points(t, "one_cycle", [(k, 0.0) for k in spec.one_cycle])
            g = self.grids[(t.key, "fixed")]
            g.started = True
            self._add_points(t, "fixed", [(k, 0.0) for k in spec.fixed])
            for kind in spec.methods:
                for s in self.seeds:
                    job = {"task": t.key, "seed": s, "kind": kind, "budget": spec.budget(t)}
                    if kind in spec.rt:
                        job["rt"] = dict(spec.rt[kind])
                    self.queue.append(job)

    # -- queue -------------------------------------------------------------------------------
    def _cost(self, job: dict[str, Any]) -> float:
        runs = {"cyclr_auto": 2.5, "cyclr_readme": 3.6, "lr_finder": 1.1}.get(job["kind"], 1.0)
        return runs * job["budget"] * self.ms.get(job["task"], 1.0)

    def _key(self, job: dict[str, Any]) -> tuple[int, float]:
        return (0 if job["kind"] in FAMILIES else 1, -self._cost(job))

    def pop(self) -> dict[str, Any] | None:
        """The next job (grid points first, then the longest), or ``None``."""
        if not self.queue:
            return None
        self.queue.sort(key=self._key)
        return self.queue.pop(0)

    def pop_all(self) -> list[dict[str, Any]]:
        """Every queued job, in order."""
        out = []
        while (job := self.pop()) is not None:
            out.append(job)
        return out

    # -- grids -------------------------------------------------------------------------------
    def _add_points(self, task: Task, family: str, points: list[tuple[float, float]]) -> None:
        g = self.grids[(task.key, family)]
        budget = self.spec.budget(task)
        for k, ratio in points:
            if (k, ratio) in g.points:
                continue
            g.points[(k, ratio)] = {}
            lr = lr_at(task.lr_center, k)
            for s in self.seeds:
                job = {
                    "task": task.key,
                    "seed": s,
                    "kind": family,
                    "budget": budget,
                    "k": k,
                    "max_lr": lr,
                }
                if family == "triangular":
                    job["ratio"] = ratio
                    job["base_lr"] = float(f"{lr / ratio:.3g}")
                self.queue.append(job)

    def add(self, records: list[dict[str, Any]]) -> None:
        """File a finished job's records; queue the grid points they unlock."""
        for r in records:
            family = r.get("kind")
            if family not in FAMILIES or r.get("method") != family:
                continue
            task = self.tasks[r["task"]]
            g = self.grids[(task.key, family)]
            value = r.get("metric")
            if value is None or not math.isfinite(value):
                value = -math.inf if task.higher_is_better else math.inf
            g.points[(r["k"], r.get("ratio", 0.0))][r["seed"]] = value
            if all(len(v) == len(self.seeds) for v in g.points.values()):
                self._grow(task, family)

    def _means(self, task: Task, family: str) -> dict[float, float]:
        """Seed-mean metric per ``k``, the best ratio's for the triangular grid; higher is
        better (losses negated)."""
        sign = 1.0 if task.higher_is_better else -1.0
        out: dict[float, float] = {}
        for (k, _), vals in self.grids[(task.key, family)].points.items():
            m = sign * sum(vals.values()) / len(vals)
            out[k] = max(out.get(k, -math.inf), m)
        return out

    def _grow(self, task: Task, family: str) -> None:
        g = self.grids[(task.key, family)]
        means = self._means(task, family)
        best = max(means, key=lambda k: (means[k], -abs(k)))
        ks = sorted(means)
        ratios = self.spec.tri_ratios if family == "triangular" else (0.0,)
        step = None
        if best == ks[0] and g.extended < self.spec.max_extend:
            step = ks[0] - 1
        elif best == ks[-1] and g.extended < self.spec.max_extend:
            step = ks[-1] + 1
        if step is not None:
            g.extended += 1
            self.log.append(f"{task.key}: {family} best at the edge; adding k={step:g}")
            self._add_points(task, family, [(step, r) for r in ratios])
            return
        if family != "one_cycle":
            return
        tri = self.grids[(task.key, "triangular")]
        if not tri.started:
            tri.started = True
            self._add_points(
                task,
                "triangular",
                [(best + d, r) for d in self.spec.tri_max for r in self.spec.tri_ratios],
            )
        if self.spec.refine and not g.refined:
            g.refined = True
            self.log.append(f"{task.key}: refining 1cycle around k={best:g}")
            self._add_points(task, "one_cycle", [(best - 0.5, 0.0), (best + 0.5, 0.0)])


# -- the pool ---------------------------------------------------------------------------------
def _init_worker(tasks: list[str]) -> None:
    """One torch thread per worker; the data sets generated before the first job is timed."""
    import torch

    from zoo.tasks import TASKS, load

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    for key in tasks:
        load(TASKS[key].data)


def run_pool(planner: Planner, workers: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Run every job the planner hands out, ``workers`` at a time (spawned processes with one
    torch thread each; in this process when ``workers <= 1``). Returns every record."""
    from zoo.methods import run_job

    start = time.perf_counter()
    records: list[dict[str, Any]] = []
    done = [0]

    def note(recs: list[dict[str, Any]]) -> None:
        done[0] += 1
        planner.add(recs)
        records.extend(recs)
        for line in planner.log:
            log(f"[{time.perf_counter() - start:6.0f}s] {line}")
        planner.log.clear()
        for r in recs:
            what = r["method"] + (f" lr={r['max_lr']:.3g}" if r["method"] in FAMILIES else "")
            if "ratio" in r:
                what += f"/{r['ratio']:g}"
            val = f"metric={r['metric']:.4g}" if r.get("metric") is not None else r.get("error")
            log(
                f"[{time.perf_counter() - start:6.0f}s] {done[0]} done, {len(planner.queue)} "
                f"queued: {r['task']} seed {r['seed']} {what}: {val} ({r['seconds']:.1f}s)"
            )

    keys = list(planner.tasks)
    if workers <= 1:
        _init_worker(keys)
        while (job := planner.pop()) is not None:
            note(run_job(job))
        return records
    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(workers, ctx, initializer=_init_worker, initargs=(keys,)) as ex:
        running: set[cf.Future[list[dict[str, Any]]]] = set()
        while True:
            while len(running) < workers and (job := planner.pop()) is not None:
                running.add(ex.submit(run_job, job))
            if not running:
                break
            finished, running = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for f in finished:
                note(f.result())
    return records

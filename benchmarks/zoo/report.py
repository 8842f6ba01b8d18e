"""Regret, goals, the Markdown report and the plot of a zoo run.

**Regret** is measured against the oracle: the 1cycle grid point with the best seed mean. For
accuracy it is in percentage points, ``oracle − method``; for losses in percent,
``100 · (method / oracle − 1)``. The mean regret compares seed means; the worst-case regret is
the worst seed, paired with the oracle's run of the same seed (same initial weights, same batch
order).

**Goals** (for cyclr's ``auto_schedule`` → 1cycle, per task):

- regret ≤ 0.3 pp of accuracy (or one standard error of the oracle's seed mean, if larger),
  ≤ 5% for MSE (regression, autoencoder), ≤ 1% for the language model's validation loss;
- lower mean and worst-case regret than every peer;
- max_lr spread over seeds (max / min) ≤ 1.3×;
- range-test updates ≤ 1/15 of the 1cycle grid's updates (per seed);
- the same auto bounds in a triangular schedule within 0.5 pp (losses: the task's regret goal)
  of the grid's best triangular pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from zoo.methods import METHODS
from zoo.plan import FAMILIES
from zoo.tasks import Task

__all__ = ["PEERS", "markdown", "plot", "summarize", "summarize_task"]

#: The peers cyclr must beat.
PEERS = ("lr_finder", "valley_standin", "schedulefree", "prodigy")
#: Goal thresholds.
SPREAD_GOAL = 1.3
COST_GOAL = 1 / 15
TRIANGULAR_GOAL_PP = 0.5

_ORACLE = {
    "one_cycle": "oracle_one_cycle",
    "fixed": "oracle_fixed",
    "triangular": "oracle_triangular",
}


def _mean(xs: Sequence[float]) -> float:
    return float(np.mean(xs)) if len(xs) else math.nan


def _se(xs: Sequence[float]) -> float:
    """Standard error of the mean (NaN for fewer than 2 values)."""
    return float(np.std(xs, ddof=1) / math.sqrt(len(xs))) if len(xs) > 1 else math.nan


def _spread(xs: Sequence[float]) -> float:
    xs = [x for x in xs if x is not None]
    return float(max(xs) / min(xs)) if xs and min(xs) > 0 else math.nan


def _num(x: float) -> float | None:
    """JSON-safe number."""
    return float(x) if x is not None and math.isfinite(x) else None


class _Regret:
    """Regret against the oracle's per-seed values ``ref`` (seed -> metric)."""

    def __init__(self, task: Task, ref: dict[int, float]) -> None:
        self.task, self.ref = task, ref

    def seed(self, s: int, value: float) -> float:
        o = self.ref[s]
        if self.task.higher_is_better:
            return 100 * (o - value)
        return 100 * (value / o - 1)

    def mean(self, values: dict[int, float]) -> float:
        seeds = [s for s in values if s in self.ref]
        if not seeds:
            return math.nan
        o = _mean([self.ref[s] for s in seeds])
        m = _mean([values[s] for s in seeds])
        return 100 * (o - m) if self.task.higher_is_better else 100 * (m / o - 1)


def _grid(task: Task, recs: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """The grid points of each family: seed values, mean and standard error."""
    out: dict[str, dict[str, Any]] = {f: {} for f in FAMILIES}
    for r in recs:
        f = r["method"]
        if f not in FAMILIES:
            continue
        key = f"{r['max_lr']:g}" if f != "triangular" else f"{r['base_lr']:g}-{r['max_lr']:g}"
        p = out[f].setdefault(
            key,
            {
                "max_lr": r["max_lr"],
                "base_lr": r.get("base_lr"),
                "k": r["k"],
                "values": {},
                "diverged": 0,
                "errors": [],
            },
        )
        if r.get("metric") is None:
            p["errors"].append(r.get("error"))
            continue
        p["values"][r["seed"]] = r["metric"]
        p["diverged"] += bool(r.get("diverged") or r.get("capped"))
    for f in FAMILIES:
        out[f] = dict(
            sorted(out[f].items(), key=lambda kv: (kv[1]["max_lr"], kv[1]["base_lr"] or 0))
        )
        for p in out[f].values():
            vals = [p["values"][s] for s in sorted(p["values"])]
            p["mean"], p["se"] = _mean(vals), _se(vals)
            p["complete"] = len(vals) == len(seeds)
    return out


def _best(task: Task, points: dict[str, Any]) -> str | None:
    full = {k: p for k, p in points.items() if p["complete"]}
    if not full:
        return None
    sign = 1 if task.higher_is_better else -1
    return max(full, key=lambda k: sign * full[k]["mean"])


def summarize_task(task: Task, recs: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """Every method's row, the grids, the oracle and the goals of one task."""
    grid = _grid(task, recs, seeds)
    budget = next((r["budget"] for r in recs), task.budget)
    oracle = {f: _best(task, grid[f]) for f in FAMILIES}
    rows: dict[str, dict[str, Any]] = {}
    best1 = oracle["one_cycle"]
    ref = {int(s): v for s, v in grid["one_cycle"][best1]["values"].items()} if best1 else {}
    regret = _Regret(task, ref)

    def row(method: str, values: dict[int, float], extra: dict[str, Any]) -> dict[str, Any]:
        vals = [values[s] for s in sorted(values)]
        per_seed = [regret.seed(s, values[s]) for s in sorted(values) if s in ref]
        m = METHODS[method]
        return {
            "label": m.label,
            "short": m.short,
            "family": m.family,
            "what": m.what,
            "values": {str(s): values[s] for s in sorted(values)},
            "mean": _mean(vals),
            "se": _se(vals),
            "regret_mean": regret.mean(values),
            "regret_worst": max(per_seed) if per_seed else math.nan,
            "regret_seeds": per_seed,
            **extra,
        }

    for f in FAMILIES:
        key = oracle[f]
        if key is None:
            continue
        p = grid[f][key]
        rows[_ORACLE[f]] = row(
            _ORACLE[f],
            {int(s): v for s, v in p["values"].items()},
            {
                "max_lr": [p["max_lr"]] * len(p["values"]),
                "base_lr": p["base_lr"],
                "spread": 1.0,
                "updates": budget,
                "rt_updates": 0,
                "failures": 0,
                "diverged": p["diverged"],
                "errors": [],
                "config": key,
            },
        )
    for method, spec in METHODS.items():
        if spec.family == "oracle":
            continue
        rs = sorted((r for r in recs if r["method"] == method), key=lambda r: r["seed"])
        if not rs:
            continue
        ok = [r for r in rs if r.get("metric") is not None]
        rows[method] = row(
            method,
            {r["seed"]: r["metric"] for r in ok},
            {
                "max_lr": [r.get("max_lr") for r in ok],
                "base_lr": [r.get("base_lr") for r in ok],
                "spread": _spread([r.get("max_lr") for r in ok]),
                "updates": _mean([r.get("updates", budget) for r in rs]),
                "rt_updates": _mean([r.get("rt_updates", 0) for r in rs]),
                "failures": len(rs) - len(ok),
                "diverged": sum(bool(r.get("diverged") or r.get("capped")) for r in ok),
                "errors": sorted({r["error"] for r in rs if r.get("error")}),
                "read_by": [r.get("read_by") for r in ok if r.get("read_by")],
            },
        )
    out = {
        "task": task.to_dict(),
        "title": task.title,
        "holdout": task.holdout,
        "metric": task.metric,
        "higher_is_better": task.higher_is_better,
        "budget": budget,
        "seeds": seeds,
        "grid": grid,
        "oracle": oracle,
        "one_cycle_grid_points": len(grid["one_cycle"]),
        "one_cycle_grid_updates": len(grid["one_cycle"]) * budget,
        "grid_updates": sum(len(grid[f]) for f in FAMILIES) * budget,
        "rows": rows,
    }
    out["goals"] = _goals(task, out)
    return out


def _goals(task: Task, s: dict[str, Any]) -> dict[str, Any]:
    rows = s["rows"]
    auto = rows.get("cyclr_auto")
    o1 = rows.get("oracle_one_cycle")
    if auto is None or o1 is None:
        return {"available": False}
    if task.higher_is_better and math.isfinite(o1["se"]):
        tol = max(task.regret_goal, 100 * o1["se"])
    else:
        tol = task.regret_goal
    clean = auto["failures"] == 0
    g: dict[str, Any] = {"available": True, "regret_tolerance": tol}
    g["regret"] = auto["regret_mean"]
    g["regret_met"] = bool(clean and auto["regret_mean"] <= tol + 1e-12)
    peers = {p: rows[p] for p in PEERS if p in rows}
    beaten = {}
    for p, r in peers.items():
        pm = r["regret_mean"] if r["values"] else math.inf
        pw = r["regret_worst"] if r["values"] else math.inf
        pm = math.inf if math.isnan(pm) else pm
        pw = math.inf if math.isnan(pw) else pw
        beaten[p] = {
            "mean": bool(auto["regret_mean"] < pm),
            "worst": bool(auto["regret_worst"] < pw),
        }
    g["peers"] = beaten
    g["peers_met"] = bool(
        clean and beaten and all(b["mean"] and b["worst"] for b in beaten.values())
    )
    g["spread"] = auto["spread"]
    g["spread_met"] = bool(clean and auto["spread"] <= SPREAD_GOAL + 1e-12)
    g["rt_cost"] = auto["rt_updates"] / s["one_cycle_grid_updates"]
    g["rt_cost_met"] = bool(g["rt_cost"] <= COST_GOAL + 1e-12)
    tri, otri = rows.get("cyclr_auto_triangular"), rows.get("oracle_triangular")
    if tri is not None and otri is not None and tri["values"]:
        if task.higher_is_better:
            gap, tol_t = 100 * (otri["mean"] - tri["mean"]), TRIANGULAR_GOAL_PP
        else:
            gap, tol_t = 100 * (tri["mean"] / otri["mean"] - 1), task.regret_goal
        g["triangular_gap"], g["triangular_tolerance"] = gap, tol_t
        g["triangular_met"] = bool(tri["failures"] == 0 and gap <= tol_t + 1e-12)
    else:
        g["triangular_gap"], g["triangular_tolerance"], g["triangular_met"] = None, None, False
    keys = ("regret_met", "peers_met", "spread_met", "rt_cost_met", "triangular_met")
    g["all_met"] = all(g[k] for k in keys)
    return g


def summarize(
    tasks: Sequence[Task], records: list[dict[str, Any]], seeds: list[int]
) -> dict[str, Any]:
    """``{task key: summary}`` for every task with records."""
    out = {}
    for t in tasks:
        recs = [r for r in records if r["task"] == t.key]
        if recs:
            out[t.key] = summarize_task(t, recs, seeds)
    return out


# -- Markdown -------------------------------------------------------------------------------
def _fmt_metric(s: dict[str, Any], x: float | None) -> str:
    if not _finite(x):
        return "—"
    if s["metric"] == "accuracy":
        return f"{100 * x:.2f}%"
    return f"{x:.4g}"


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _fmt_se(s: dict[str, Any], x: float | None) -> str:
    if not _finite(x):
        return "—"
    return f"{100 * x:.2f}" if s["metric"] == "accuracy" else f"{x:.2g}"


def _fmt_regret(s: dict[str, Any], x: float | None) -> str:
    if not _finite(x):
        return "—"
    return f"{x:+.2f} pp" if s["metric"] == "accuracy" else f"{x:+.1f}%"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _minutes(m: float) -> str:
    return f"{m:.1f} min" if m >= 1 else f"{60 * m:.0f} s"


def _count(x: Any) -> str:
    return f"{x:,.0f}" if _finite(x) else "—"


def _yes(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _lrs(xs: Sequence[float | None]) -> str:
    return ", ".join("—" if x is None else f"{x:.3g}" for x in xs) or "—"


def _goal_table(summary: dict[str, Any], keys: list[str]) -> list[str]:
    lines = [
        "| task | regret of auto 1cycle (goal) | beats every peer (mean and worst seed) "
        "| max_lr spread (≤ 1.3×) | range test / 1cycle grid (≤ 1/15) "
        "| auto triangular vs grid's best triangular (goal) | all |",
        "|---|---|---|---|---|---|---|",
    ]
    counts = dict.fromkeys(
        ("regret_met", "peers_met", "spread_met", "rt_cost_met", "triangular_met", "all_met"), 0
    )
    for key in keys:
        s = summary[key]
        g = s["goals"]
        if not g.get("available"):
            lines.append(
                f"| `{key}` | not available (the oracle or cyclr has no result) | | | | | |"
            )
            continue
        tol = _fmt_regret(s, g["regret_tolerance"]).lstrip("+")
        lost = [p for p, b in g["peers"].items() if not (b["mean"] and b["worst"])]
        peers = _yes(g["peers_met"]) + (f" (not: {', '.join(lost)})" if lost else "")
        if not lost and not g["peers_met"] and s["rows"]["cyclr_auto"]["failures"]:
            peers += " (seeds failed)"
        auto = s["rows"]["cyclr_auto"]
        failed = ""
        if auto["failures"]:  # every goal but the cost needs every seed
            n = auto["failures"] + len(auto["values"])
            failed = f" ({auto['failures']} of {n} seeds failed)"
        tri = "—: **missed**"
        if g["triangular_gap"] is not None:
            tol_t = _fmt_regret(s, g["triangular_tolerance"]).lstrip("+")
            gap = _fmt_regret(s, g["triangular_gap"])
            tri = f"{gap}{failed} (≤ {tol_t}): {_yes(g['triangular_met'])}"
        spread = f"{g['spread']:.2f}×{failed}" if _finite(g["spread"]) else "—"
        cost = "—"
        if _finite(g["rt_cost"]):
            cost = f"1/{1 / g['rt_cost']:.0f}" if g["rt_cost"] > 0 else "0"
        lines.append(
            f"| `{key}` | {_fmt_regret(s, g['regret'])}{failed} (≤ {tol}): "
            f"{_yes(g['regret_met'])} "
            f"| {peers} | {spread}: {_yes(g['spread_met'])} "
            f"| {cost}: {_yes(g['rt_cost_met'])} | {tri} "
            f"| {'yes' if g['all_met'] else 'no'} |"
        )
        for k in counts:
            counts[k] += bool(g[k])
    n = len(keys)
    lines.append(
        f"| **met** | {counts['regret_met']}/{n} | {counts['peers_met']}/{n} "
        f"| {counts['spread_met']}/{n} | {counts['rt_cost_met']}/{n} "
        f"| {counts['triangular_met']}/{n} | {counts['all_met']}/{n} |"
    )
    return lines


def _task_section(key: str, s: dict[str, Any]) -> list[str]:
    t = s["task"]
    metric = {"accuracy": "test accuracy", "mse": "test MSE", "val_loss": "validation loss"}[
        s["metric"]
    ]
    better = "higher" if s["higher_is_better"] else "lower"
    lines = [
        f"### {s['title']} (`{key}`)",
        "",
        f"{metric} ({better} is better) after {s['budget']:,} updates, batch {t['batch_size']}, "
        f"{t['optimizer']}, {_plural(len(s['seeds']), 'seed')}. Regret against the best "
        f"1cycle point ({'pp' if s['metric'] == 'accuracy' else '%'}).",
        "",
        "| method | max_lr per seed | spread | metric (mean ± SE) | regret (mean) | worst seed "
        "| updates (range test) | notes |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for method, r in s["rows"].items():
        notes = []
        if r.get("config"):
            notes.append(f"grid point {r['config']}")
        if r["failures"]:
            notes.append(f"{r['failures']} seed(s) failed: {'; '.join(r['errors'])[:160]}")
        if r["diverged"]:
            notes.append(f"{r['diverged']} seed(s) diverged")
        if r.get("read_by"):
            notes.append("read by " + ", ".join(sorted(set(r["read_by"]))))
        name = f"**{r['label']}**" if method == "cyclr_auto" else r["label"]
        spread = f"{r['spread']:.2f}×" if _finite(r["spread"]) else "—"
        lines.append(
            f"| {name} | {_lrs(r['max_lr'])} | {spread} "
            f"| {_fmt_metric(s, r['mean'])} ± {_fmt_se(s, r['se'])} "
            f"| {_fmt_regret(s, r['regret_mean'])} | {_fmt_regret(s, r['regret_worst'])} "
            f"| {_count(r['updates'])} ({_count(r['rt_updates'])}) | {'; '.join(notes)} |"
        )
    lines.append("")
    for f, name in (
        ("one_cycle", "1cycle max_lr"),
        ("fixed", "fixed LR"),
        ("triangular", "triangular base–max"),
    ):
        pts = s["grid"][f]
        if pts:
            cells = ", ".join(f"{k}: {_fmt_metric(s, p['mean'])}" for k, p in pts.items())
            lines.append(f"- {name} grid: {cells}")
    lines.append("")
    return lines


def markdown(report: dict[str, Any]) -> str:
    """The report: goals (holdouts apart), then one table per task."""
    summary = report["summary"]
    main = [k for k, s in summary.items() if not s["holdout"]]
    hold = [k for k, s in summary.items() if s["holdout"]]
    cfg = report["config"]
    v = report["versions"]
    lines = [
        "# Task zoo: cyclr's automatic bounds against a grid search and the peers",
        "",
        f"Command: `{report['command']}`",
        "",
        f"{len(summary)} tasks ({len(hold)} holdout), seeds {cfg['seeds']}, "
        f"{cfg['workers']} worker processes with one torch thread each; wall time "
        f"{_minutes(report['wall_s'] / 60)} (estimated beforehand: "
        f"{_minutes(report['estimate']['minutes'])}). Versions: "
        + ", ".join(f"{k} {x}" for k, x in v.items())
        + ".",
        "",
        "Every method of a task and seed starts from the same initial weights and sees the same "
        "batches; it trains for the task's budget. The oracle is the best seed mean of a 1cycle "
        "grid over max_lr (half-decade steps, grown past a best end point, then refined to "
        "quarter decades around the best). Regret is against that oracle: percentage points of "
        "accuracy, or percent of the loss; *worst seed* pairs each seed with the oracle's run "
        "of the same seed. Updates include range tests.",
        "",
        "## Goals (cyclr `auto_schedule` → 1cycle)",
        "",
        *_goal_table(summary, main),
        "",
    ]
    if hold:
        lines += ["## Goals on the holdout tasks", "", *_goal_table(summary, hold), ""]
    lines += ["## Tasks", ""]
    for k in main:
        lines += _task_section(k, summary[k])
    if hold:
        lines += ["## Holdout tasks", ""]
        for k in hold:
            lines += _task_section(k, summary[k])
    lines += ["## Notes", "", *[f"- {n}" for n in report["notes"]], ""]
    return "\n".join(lines)


# -- plot -----------------------------------------------------------------------------------
_COLORS = {"oracle": "#777777", "cyclr": "#d62728", "peer": "#1f77b4"}


def plot(report: dict[str, Any], path: Any) -> None:
    """Regret per method, one panel per task: bars for the seed mean, dots for each seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = report["summary"]
    keys = sorted(summary, key=lambda k: summary[k]["holdout"])
    cols = min(3, len(keys))
    rows_n = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(5.2 * cols, 3.6 * rows_n), squeeze=False)
    for ax in axes.flat[len(keys) :]:
        ax.axis("off")
    for ax, key in zip(axes.flat, keys):
        s = summary[key]
        names = [m for m in s["rows"] if m != "oracle_one_cycle"]
        y = np.arange(len(names))[::-1]
        for yi, m in zip(y, names):
            r = s["rows"][m]
            if not _finite(r["regret_mean"]):
                if r["failures"]:
                    ax.text(0, yi, " failed", va="center", fontsize=7, color="#d62728")
                continue
            ax.barh(yi, r["regret_mean"], color=_COLORS[r["family"]], alpha=0.55, height=0.7)
            ax.plot(r["regret_seeds"], [yi] * len(r["regret_seeds"]), "k.", ms=4)
            if r["failures"]:  # the bar is the mean of the seeds that ran
                n = r["failures"] + len(r["regret_seeds"])
                ax.text(
                    0,
                    yi,
                    f" {r['failures']} of {n} failed",
                    va="center",
                    fontsize=7,
                    color="#d62728",
                )
        g = s["goals"]
        if g.get("available"):
            ax.axvline(g["regret_tolerance"], color="#d62728", ls="--", lw=1, label="goal")
        ax.axvline(0, color="black", lw=0.8)
        unit = "pp" if s["metric"] == "accuracy" else "%"
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_yticks(y)
        ax.set_yticklabels([s["rows"][m].get("short", m) for m in names], fontsize=8)
        ax.set_xlabel(f"regret vs best 1cycle ({unit}, symlog)", fontsize=8)
        title = key + ("  [holdout]" if s["holdout"] else "")
        ax.set_title(title, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(
        "Task zoo: regret against the oracle's best 1cycle (bars: seed mean; dots: seeds)",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

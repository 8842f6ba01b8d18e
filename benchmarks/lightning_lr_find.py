"""cyclr's bounds against Lightning's ``Tuner.lr_find``, on the same LightningModule.

For each task and seed, from the same initial weights and at the same training budget:

  lightning   ``Tuner(trainer).lr_find(module)`` with its defaults (exponential 1e-8 → 1 over 100
              updates, stop at 4x the best loss), then 1cycle training with torch's
              ``OneCycleLR(max_lr=suggestion)`` (its defaults: from max_lr/25, 30% warm-up, cycled
              momentum 0.95 → 0.85).
  cyclr       ``cyclr.lightning.find_bounds(trainer, module)``: the two-stage test of Smith 2015
              §3.3 (exponential 1e-7 → 10 over 200 updates, then the paper's linear ramp over 400
              up to where the loss blew up), the loss from ``training_step``, bounds read off the
              loss; then cyclr's 1cycle between the bounds (``Bounds.schedule("one_cycle")``,
              cycled momentum) via ``cyclr.torch.CyclicScheduler``.
  cyclr-acc   the same, with ``loss_of_batch`` returning ``(loss, output, target)`` and a
              held-out fifth of the training set as ``val_dataloaders``: the bounds are read off
              the validation accuracy (cyclr's ``method="auto"`` when accuracy is recorded).
  lightning-600, cyclr-100   each at the other's cost: ``lr_find(num_training=600)``, and
              ``find_bounds(coarse_iter=40, linear_iter=60)``.

Tasks: MNIST-1D (Greydanus 2020) with its small 1-D CNN (``cyclr.demo.mnist1d``), and
scikit-learn's digits with an MLP; SGD with momentum 0.9 and weight decay 5e-4. Reported per
task and method: test accuracy (mean and SD over seeds, and each seed), the LRs found, and how
many optimizer updates the LR test cost.

    nice -n 10 python benchmarks/lightning_lr_find.py            # full run (a few minutes)
    python benchmarks/lightning_lr_find.py --quick                # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.tuner import Tuner
from torch import nn

import cyclr
import cyclr.lightning
from cyclr.demo import mnist1d
from cyclr.torch import CyclicScheduler

RESULTS = Path(__file__).parent / "results"
CE = nn.functional.cross_entropy
METHODS = ("lightning", "lightning-600", "cyclr", "cyclr-100", "cyclr-acc")
SGD = {"momentum": 0.9, "weight_decay": 5e-4}


# -- tasks -------------------------------------------------------------------------------------
@dataclass
class Task:
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    net: Callable[[int], nn.Module]
    batch_size: int
    epochs: int

    def loader(self, seed: int, part: slice = slice(None)) -> Any:
        """Shuffled mini-batches (one fresh permutation per pass, reproducible by seed)."""
        data = mnist1d.Data(self.x_train[part], self.y_train[part], self.x_test, self.y_test)
        return mnist1d.loader(data, self.batch_size, seed)

    @property
    def steps(self) -> int:
        return self.epochs * max(1, len(self.x_train) // self.batch_size)


def mnist1d_task(quick: bool) -> Task:
    d = mnist1d.load(n_train=800 if quick else None)
    return Task(
        "MNIST-1D CNN", d.x_train, d.y_train, d.x_test, d.y_test,
        lambda seed: mnist1d.cnn(seed=seed), batch_size=100, epochs=2 if quick else 20,
    )  # fmt: skip


def digits_task(quick: bool) -> Task:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32) / 16.0
    y = torch.tensor(d.target, dtype=torch.int64)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    x, y = x[perm], y[perm]
    n = 1437  # the usual 80/20 split

    def net(seed: int) -> nn.Module:
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))

    return Task(
        "digits MLP", x[:n], y[:n], x[n:], y[n:], net, batch_size=32, epochs=2 if quick else 20
    )


# -- the LightningModule -----------------------------------------------------------------------
class Classifier(pl.LightningModule):
    """The one module every method runs: cross-entropy, SGD; an optional step scheduler."""

    def __init__(self, net: nn.Module, scheduler: Callable[[Any], Any] | None = None) -> None:
        super().__init__()
        self.net = net
        self.scheduler = scheduler

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = CE(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> Any:
        opt = torch.optim.SGD(self.parameters(), lr=0.01, **SGD)
        if self.scheduler is None:
            return opt
        sched = {"scheduler": self.scheduler(opt), "interval": "step"}
        return {"optimizer": opt, "lr_scheduler": sched}


def with_output(module: Classifier, batch: Any) -> Any:
    """cyclr-acc's loss_of_batch: the training_step loss, with output and target."""
    x, y = batch
    out = module.net(x)
    return CE(out, y), out, y


def trainer(root: str, **kw: Any) -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
        enable_model_summary=False, enable_checkpointing=False, default_root_dir=root, **kw,
    )  # fmt: skip


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    return float((net(x).argmax(1) == y).float().mean())


# -- one run -----------------------------------------------------------------------------------
def find(method: str, task: Task, seed: int, root: str, quick: bool) -> dict[str, Any]:
    """Run the method's LR test; its LRs, cost, time, and how to build the training schedule."""
    pl.seed_everything(seed, verbose=False)
    module = Classifier(task.net(seed))
    start = time.perf_counter()
    if method.startswith("lightning"):
        tuner = Tuner(trainer(root))
        n = 40 if quick else (600 if method == "lightning-600" else 100)
        finder = tuner.lr_find(
            module, train_dataloaders=task.loader(seed + 1000), update_attr=False, num_training=n
        )
        assert finder is not None
        lr = finder.suggestion()
        out: dict[str, Any] = {"updates": len(finder.results["lr"]), "max_lr": lr, "base_lr": None}
        if lr is None:
            out["failed"] = "no suggestion"
    else:
        kw: dict[str, Any] = {"seed": seed, "progress": False}
        if quick:
            kw.update(coarse_iter=40, linear_iter=80)
        elif method == "cyclr-100":
            kw.update(coarse_iter=40, linear_iter=60)
        if method == "cyclr-acc":
            n = len(task.x_train)
            kw.update(
                loss_of_batch=with_output,
                train_dataloaders=task.loader(seed + 1000, slice(0, n * 4 // 5)),
                val_dataloaders=torch.utils.data.DataLoader(
                    torch.utils.data.TensorDataset(
                        task.x_train[n * 4 // 5 :], task.y_train[n * 4 // 5 :]
                    ),
                    batch_size=100,
                ),
            )
        else:
            kw["train_dataloaders"] = task.loader(seed + 1000)
        tests: list[cyclr.RangeTestResult] = []
        try:
            found = cyclr.lightning.find_bounds(trainer(root), module, on_test=tests.append, **kw)
            b = found.bounds
            out = {"max_lr": b.max_lr, "base_lr": b.base_lr, "curve": b.curve, "_bounds": b}
        except cyclr.SuggestionError as exc:
            out = {"max_lr": None, "base_lr": None, "failed": str(exc)}
        out["updates"] = sum(len(t) for t in tests)
    out["seconds"] = time.perf_counter() - start
    return out


def train(method: str, found: dict[str, Any], task: Task, seed: int, root: str) -> float:
    """1cycle training from the found LRs, from the seed's initial weights; test accuracy."""
    total = task.steps
    if method.startswith("lightning"):

        def scheduler(opt: Any) -> Any:
            return torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=found["max_lr"], total_steps=total
            )
    else:
        schedule = found["_bounds"].schedule("one_cycle", total)

        def scheduler(opt: Any) -> Any:
            return CyclicScheduler(opt, schedule, momentum=True)

    pl.seed_everything(seed, verbose=False)
    module = Classifier(task.net(seed), scheduler)
    trainer(root, max_steps=total).fit(module, train_dataloaders=task.loader(seed))
    return accuracy(module.net, task.x_test, task.y_test)


# -- report ------------------------------------------------------------------------------------
def _mean_sd(values: list[float]) -> tuple[float, float]:
    ok = [v for v in values if v == v]
    if not ok:
        return math.nan, math.nan
    return statistics.fmean(ok), (statistics.stdev(ok) if len(ok) > 1 else math.nan)


def _lr(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Lightning `Tuner.lr_find` vs cyclr's bounds, same LightningModule",
        "",
        f"Command: `{report['command']}` — run time {report['seconds'] / 60:.1f} min on "
        f"{report['machine']} (torch {report['torch']}, lightning {report['lightning']}, "
        f"{report['threads']} thread).",
        "",
        "Each method finds its LR(s) on the module, then trains a fresh copy from the same "
        "initial weights with 1cycle for the same number of updates; test accuracy at the end. "
        "`lightning`: `Tuner.lr_find` defaults, then `OneCycleLR(max_lr=suggestion)`. `cyclr`: "
        "`cyclr.lightning.find_bounds` (loss reading), then cyclr's 1cycle base_lr → max_lr. "
        "`cyclr-acc`: the same with `loss_of_batch` returning `(loss, output, target)` and a "
        "held-out fifth of the training set, so the bounds come from validation accuracy. "
        "`lightning-600` and `cyclr-100` run each test at the other's default cost "
        "(`lr_find(num_training=600)`; `find_bounds(coarse_iter=40, linear_iter=60)`).",
        "",
        "| task | method | test accuracy, mean ± SD (%) | per seed (%) | max_lr per seed "
        "| base_lr per seed | LR-test updates (mean) | LR-test s (mean) |",
        "|---|---|---:|---|---|---|---:|---:|",
    ]
    for task, methods in report["tasks"].items():
        for method, runs in methods.items():
            accs = [r["accuracy"] for r in runs]
            m, sd = _mean_sd(accs)
            per_seed = ", ".join("failed" if a != a else f"{100 * a:.1f}" for a in accs)
            sd_text = "" if sd != sd else f" ± {100 * sd:.1f}"
            lines.append(
                f"| {task} | {method} | {100 * m:.1f}{sd_text} | {per_seed} | "
                f"{', '.join(_lr(r['max_lr']) for r in runs)} | "
                f"{', '.join(_lr(r['base_lr']) for r in runs)} | "
                f"{statistics.fmean(r['updates'] for r in runs):.0f} | "
                f"{statistics.fmean(r['seconds'] for r in runs):.1f} |"
            )
    lines += ["", f"Training: {report['training']}", ""]
    failed = [
        f"- {task} / {method} / seed {r['seed']}: {r['failed']}"
        for task, methods in report["tasks"].items()
        for method, runs in methods.items()
        for r in runs
        if r.get("failed")
    ]
    if failed:
        lines += [
            "Failed readings (no training run, accuracy counted as missing):",
            "",
            *failed,
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: small data, 1 seed")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per task (default 3)")
    ap.add_argument("--out", type=Path, default=RESULTS / "lightning_lr_find.json")
    args = ap.parse_args(argv)
    seeds = list(range(args.seeds if args.seeds is not None else (1 if args.quick else 3)))
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("lightning.fabric").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")

    start = time.perf_counter()
    tasks = [mnist1d_task(args.quick), digits_task(args.quick)]
    report: dict[str, Any] = {
        "command": "nice -n 10 python benchmarks/lightning_lr_find.py"
        + (" --quick" if args.quick else ""),
        "quick": args.quick,
        "seeds": seeds,
        "methods": list(METHODS),
        "machine": f"{platform.machine()} {platform.system()}",
        "python": platform.python_version(),
        "torch": torch.__version__.split("+")[0],
        "lightning": pl.__version__,
        "threads": torch.get_num_threads(),
        "training": "; ".join(
            f"{t.name}: {t.epochs} epochs = {t.steps} updates of batch {t.batch_size} on "
            f"{len(t.x_train)} examples, SGD momentum 0.9, weight decay 5e-4, "
            f"{len(t.x_test)} test examples"
            for t in tasks
        ),
        "tasks": {},
    }
    with tempfile.TemporaryDirectory() as root:
        for task in tasks:
            report["tasks"][task.name] = {m: [] for m in METHODS}
            for seed in seeds:
                for method in METHODS:
                    with contextlib.redirect_stdout(io.StringIO()):
                        found = find(method, task, seed, root, args.quick)
                        acc = (
                            math.nan
                            if found.get("failed")
                            else train(method, found, task, seed, root)
                        )
                    found.pop("_bounds", None)
                    found.update(seed=seed, accuracy=acc)
                    report["tasks"][task.name][method].append(found)
                    print(
                        f"{task.name} seed {seed} {method}: max_lr {_lr(found['max_lr'])} "
                        f"base_lr {_lr(found['base_lr'])} ({found['updates']} updates) -> "
                        f"{100 * acc:.1f}%",
                        file=sys.stderr,
                    )
    report["seconds"] = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, allow_nan=True) + "\n")
    text = markdown(report)
    args.out.with_suffix(".md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The readings of a corpus of real range tests: every rule on every curve, to compare two versions.

The corpus is the zoo's range tests, for every task and seed: the two tests of the recipe
(``find_bounds``) and a fastai-style exponential test of 100 updates. Every registered rule reads
every curve; the output holds, per ``curve|rule``, the bounds, the method and the reason, or the
error's kind and message. A change that should not move any reading (a refactor) must leave the
output byte for byte the same:

    python benchmarks/reading_corpus.py --record /tmp/corpus      # run the tests (about 2 min)
    python benchmarks/reading_corpus.py --curves /tmp/corpus --out /tmp/new.json
    cmp /tmp/new.json benchmarks/results/reading_corpus.json

``--record`` saves each test as a ``RangeTestResult`` JSON file; reading needs no torch.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import cyclr
from cyclr.suggest import methods, suggest

RESULTS = Path(__file__).parent / "results" / "reading_corpus.json"


def record(folder: Path) -> None:
    """Run the zoo's range tests (3 seeds per task) and save each one in ``folder``."""
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from zoo.methods import _rt_loader
    from zoo.tasks import TASKS, loss_fn, make_model, make_optimizer

    from cyclr.torch import find_bounds, range_test

    torch.set_num_threads(1)
    folder.mkdir(parents=True, exist_ok=True)
    for key, task in TASKS.items():
        for seed in range(3):
            tests: list[cyclr.RangeTestResult] = []
            model = make_model(task, seed)
            opt = make_optimizer(task, model.parameters(), 1e-3)
            try:
                find_bounds(
                    model, opt, loss_fn(task), _rt_loader(task, seed), seed=seed,
                    progress=False, on_test=tests.append,
                )  # fmt: skip
            except cyclr.SuggestionError:
                pass  # the tests that ran are read all the same
            for i, t in enumerate(tests):
                t.save(folder / f"{key}_s{seed}_t{i}_{t.mode}.json")
            model = make_model(task, seed)
            opt = make_optimizer(task, model.parameters(), 1e-3)
            r = range_test(
                model, opt, loss_fn(task), _rt_loader(task, seed), seed=seed, progress=False
            )
            r.save(folder / f"{key}_s{seed}_fastai_exp.json")
            print(key, seed, [len(t) for t in tests], len(r), flush=True)


def read(folder: Path) -> dict[str, Any]:
    """Every rule's reading of every curve in ``folder``."""
    out: dict[str, Any] = {}
    for path in sorted(folder.glob("*.json")):
        result = cyclr.RangeTestResult.load(path)
        for method in sorted(methods()):
            key = f"{path.name}|{method}"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    b = suggest(result, method)
            except cyclr.SuggestionError as exc:
                out[key] = {"error": exc.kind, "msg": str(exc)}
                continue
            out[key] = {"base_lr": b.base_lr, "max_lr": b.max_lr, "method": b.method}
            out[key]["reason"] = b.reason
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", type=Path, help="run the zoo's range tests into this folder")
    ap.add_argument("--curves", type=Path, help="read the range tests in this folder")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.record is None and args.curves is None:
        ap.error("give --record FOLDER, --curves FOLDER, or both")
    if args.record is not None:
        record(args.record)
    folder = args.curves or args.record
    readings = read(folder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(readings, indent=1, sort_keys=True) + "\n")
    errors = sum("error" in v for v in readings.values())
    print(f"{len(readings)} readings ({errors} refused) of {folder} written to {args.out}")


if __name__ == "__main__":
    main()

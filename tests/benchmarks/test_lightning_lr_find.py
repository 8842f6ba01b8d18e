"""benchmarks/lightning_lr_find.py runs at its smoke size and writes its report."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a fresh interpreter that runs every LR test and trains

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_lightning_lr_find_quick(tmp_path: Path) -> None:
    pytest.importorskip("lightning", reason="needs the lightning extra")
    pytest.importorskip("mnist1d", reason="needs the demo extra")
    pytest.importorskip("sklearn", reason="needs scikit-learn (dev extra)")
    out = tmp_path / "lightning_lr_find.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "lightning_lr_find.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCH.parent,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["seeds"] == [0]
    assert set(report["tasks"]) == {"MNIST-1D CNN", "digits MLP"}
    for task, methods in report["tasks"].items():
        assert list(methods) == report["methods"], task
        for method, (run,) in methods.items():
            assert run["seed"] == 0 and run["updates"] > 0, (task, method)
            if run.get("failed"):
                assert math.isnan(run["accuracy"])
            else:
                assert 0.0 <= run["accuracy"] <= 1.0 and run["max_lr"] > 0, (task, method)
                assert (run["base_lr"] is None) == method.startswith("lightning")
    digits = report["tasks"]["digits MLP"]
    assert digits["lightning"][0]["updates"] <= 40  # lr_find(num_training=40) at this size
    assert digits["cyclr"][0]["updates"] <= 40 + 80  # coarse_iter=40, num_iter=80
    md = out.with_suffix(".md").read_text()
    assert "| digits MLP | cyclr |" in md and "| MNIST-1D CNN | lightning |" in md
    assert "Command: `nice -n 10 python benchmarks/lightning_lr_find.py --quick`" in md

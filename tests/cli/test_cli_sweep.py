"""``cyclr sweep``: range tests per value on the sample target, the choice, and every error path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.support import ROOT

import cyclr
from cyclr.cli import main

TARGET = f"{ROOT / 'examples' / 'find_target.py'}:setup"


def sweep(tmp_path: Path, *args: str) -> tuple[int, str]:
    return main(
        [
            "sweep",
            TARGET,
            "--out",
            str(tmp_path),
            "--num-iter",
            "30",
            "--seed",
            "0",
            "--no-progress",
            *args,
        ]
    ), str(tmp_path)


def test_momentum_sweep_writes_json_and_png_and_prints_the_choice(
    tmp_path: Path, capsys: Any
) -> None:
    code, _ = sweep(tmp_path, "--param", "momentum", "--values", "0.99,0.9", "--start-lr", "1e-4")
    out = capsys.readouterr().out
    assert code == 0, out
    s = cyclr.SweepResult.load(tmp_path / "sweep.json")
    assert s.param == "momentum" and s.values == (0.99, 0.9)
    assert all(len(r) == 30 or r.stop_reason == "diverged" for r in s.results)
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
    assert "Sweep of momentum: 2 range tests" in out and "Why: " in out
    assert ("Chosen: momentum = " in out) or ("No clear winner (leader: momentum" in out)
    assert f"Wrote {tmp_path / 'sweep.json'}, {tmp_path / 'sweep.png'}." in out


def test_weight_decay_reads_the_validation_loss_and_prints_json(
    tmp_path: Path, capsys: Any
) -> None:
    code, _ = sweep(
        tmp_path, "--param", "weight_decay", "--values", "1e-3,0", "--val-every", "3", "--json"
    )
    out = capsys.readouterr().out
    assert code == 0
    choice = json.loads(out)
    assert choice["param"] == "weight_decay" and choice["curve"] == "val_loss"
    assert choice["leader"] in (1e-3, 0.0)


def test_batch_size_rebuilds_the_dataloader(tmp_path: Path, capsys: Any) -> None:
    code, _ = sweep(
        tmp_path,
        "--param",
        "batch_size",
        "--values",
        "50,25",
        "--budget",
        "samples",
        "--curve",
        "loss",
    )
    assert code == 0, capsys.readouterr()
    s = cyclr.SweepResult.load(tmp_path / "sweep.json")
    assert s.config["num_iter"] == [30, 60]
    assert [r.config["batch_size"] for r in s.results] == [50, 25]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--values", "0.9,abc"], "--values: expected comma-separated numbers, got 'abc'"),
        (["--values", ","], "--values: expected comma-separated numbers"),
        (["--values", "0.9,1.5"], "values[1] must be in [0, 1) for param='momentum', got 1.5"),
        (["--values", "0.9,0.9"], "values has duplicates: 0.9"),
        (["--values", "0.9"], "values must hold at least 2 values"),
        (["--param", "batch_size"], "values is required for param='batch_size'"),
        (["--param", "batch_size", "--values", "50,2.5"], "expected comma-separated integers"),
        (["--budget", "samples", "--values", "0.9,0.8"], "budget applies to param='batch_size'"),
        (["--method", "nope"], "unknown --method 'nope'"),
        (["--num-iter", "5"], "num_iter must be >= 10"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: Any, args: list[str], message: str
) -> None:
    code = main(["sweep", TARGET, "--out", str(tmp_path), "--no-progress", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("cyclr: error: ") and message in err[0], err[0]


def test_bad_targets_and_options_exit_2(tmp_path: Path, capsys: Any) -> None:
    assert main(["sweep", "nowhere.py:setup", "--out", str(tmp_path)]) == 2
    assert "no such file: nowhere.py" in capsys.readouterr().err
    assert main(["sweep", TARGET, "--param", "lr"]) == 2
    assert "invalid choice: 'lr'" in capsys.readouterr().err
    target = f"{ROOT / 'examples' / 'find_target.py'}:setup_with_dataclass"
    assert (
        main(
            [
                "sweep",
                target,
                "--out",
                str(tmp_path),
                "--curve",
                "val_loss",
                "--num-iter",
                "12",
                "--no-progress",
                "--values",
                "0.9,0.5",
            ]
        )
        == 2
    )
    assert "--curve val_loss: curve='val_loss' but a range test recorded no val loss" in (
        capsys.readouterr().err
    )

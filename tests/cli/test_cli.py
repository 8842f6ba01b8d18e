"""The ``cyclr`` command line: help, find, suggest, plot, the demo's flags, and every error path.

The demo end to end is tested in ``tests/demo/test_demo.py``.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from tests.support import ROOT
from tests.support.cli import ENV, error_line

import cyclr
from cyclr.cli import FindTarget, build_parser, main
from cyclr.demo import DemoConfig
from cyclr.range_test.recipe import COARSE_ITER, LINEAR_ITER, linear_range

EXAMPLE = ROOT / "examples" / "find_target.py"


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``cyclr ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "cyclr.cli", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=timeout,
        cwd=ROOT,
    )


def synthetic_result(path: Path | None = None) -> cyclr.RangeTestResult:
    """A linear sweep whose accuracy rises like a sigmoid between 0.05 and 0.2, then falls."""
    rng = np.random.default_rng(0)
    lr = np.linspace(1e-3, 0.5, 200)
    acc = 0.1 + 0.8 / (1 + np.exp(-(lr - 0.1) * 60)) - 2.0 * np.clip(lr - 0.3, 0, None)
    loss = 2.3 - 2.0 * (acc - 0.1) + rng.normal(0, 0.02, lr.size)
    r = cyclr.RangeTestResult(
        lr=lr,
        loss=loss,
        smoothed_loss=loss,
        metric=acc + rng.normal(0, 0.02, lr.size),
        mode="linear",
        metric_name="accuracy",
    )
    if path is not None:
        r.save(path)
    return r


# -- help and version ---------------------------------------------------------------------------
@pytest.mark.parametrize("command", [[], ["demo"], ["find"], ["suggest"], ["plot"], ["sweep"]])
def test_help_has_examples(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "cyclr " + (command[0] if command else "demo") in out.split("examples:")[1]


def test_version_and_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"cyclr {cyclr.__version__}"
    assert main([]) == 0
    assert "COMMAND" in capsys.readouterr().out


def test_console_script_and_lazy_imports(tmp_path: Path) -> None:
    """``--help`` and ``suggest`` import neither torch nor matplotlib."""
    path = tmp_path / "r.json"
    synthetic_result(path)
    code = textwrap.dedent(f"""
        import sys
        from cyclr.cli import main
        assert main(["--help"]) == 0
        assert main(["suggest", {str(path)!r}]) == 0
        heavy = sorted(m for m in ("torch", "matplotlib", "mnist1d") if m in sys.modules)
        print("HEAVY", heavy)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout


def test_one_module_per_command_importing_only_the_shared_modules() -> None:
    """Commands import the shared modules (``cyclr.cli.target`` and the private ``cyclr.cli._*``
    helpers), never each other or the package."""
    import ast

    import cyclr.cli

    names = [c.__name__ for c in cyclr.cli.COMMANDS]
    assert names == [f"cyclr.cli.{n}" for n in ("demo", "find", "suggest", "plot", "sweep")]
    for command in cyclr.cli.COMMANDS:
        tree = ast.parse(Path(command.__file__ or "").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "cyclr":
                assert "cli" not in {a.name for a in node.names}, command.__name__
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cyclr.cli"):
                shared = node.module == "cyclr.cli.target" or node.module.startswith("cyclr.cli._")
                assert shared, node.module
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("cyclr.cli") for a in node.names)
        assert callable(command.add_parser) and callable(command.run)


# -- cyclr suggest -------------------------------------------------------------------------------
def test_suggest_prints_bounds_and_working_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.json"
    result = synthetic_result(path)
    expected = result.suggest("auto")
    assert main(["suggest", str(path), "--iters-per-epoch", "40"]) == 0
    out = capsys.readouterr().out
    assert f"base_lr = {expected.base_lr:.4g}" in out and f"max_lr = {expected.max_lr:.4g}" in out

    # Both printed code blocks run as they are and build the suggested schedules.
    import torch

    from cyclr.torch import CyclicScheduler

    blocks = re.findall(r"\n\n((?:    .*\n|\n)+)", out + "\n")
    code = [textwrap.dedent(b) for b in blocks if "CyclicScheduler(" in b]
    assert len(code) == 2
    wanted = (expected.triangular(iters_per_epoch=40), expected.one_cycle(total_steps=20 * 40))
    for block, want in zip(code, wanted):
        opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)
        scope: dict[str, Any] = {"optimizer": opt}
        exec(block, scope)
        got = scope["schedule"]
        assert type(got) is type(want)
        steps = np.arange(2000)
        np.testing.assert_allclose(got(steps), want(steps), rtol=1e-3)
        assert isinstance(scope["scheduler"], CyclicScheduler)
    assert scope["scheduler"].momentums is not None  # 1cycle cycles momentum


def test_suggest_json_all_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.json"
    result = synthetic_result(path)
    assert main(["suggest", str(path), "--method", "loss", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["base_lr"] == result.suggest("loss").base_lr and data["method"] == "loss"

    assert main(["suggest", str(path), "--method", "all"]) == 0
    out = capsys.readouterr().out
    for method in ("accuracy", "loss", "steepest", "valley"):
        assert re.search(rf"^{method}\s", out, re.M)

    png = tmp_path / "plot.png"
    assert main(["suggest", str(path), "--plot", str(png)]) == 0
    assert png.stat().st_size > 10_000


def test_suggest_flat_curve_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lr = np.linspace(1e-3, 0.5, 100)
    flat = np.full(100, 2.3) + np.random.default_rng(0).normal(0, 0.01, 100)
    path = tmp_path / "flat.json"
    cyclr.RangeTestResult(lr=lr, loss=flat, smoothed_loss=flat, mode="linear").save(path)
    assert main(["suggest", str(path), "--method", "loss"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("cyclr: no bounds from this curve") and "\n" not in err


# -- cyclr plot ----------------------------------------------------------------------------------
def test_plot_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "tri.png"
    assert (
        main(
            [
                "plot",
                "triangular",
                "--base-lr",
                "0.001",
                "--max-lr",
                "0.006",
                "--step-size",
                "2000",
                "--steps",
                "12000",
                "--out",
                str(png),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "max 0.006 at step 2000" in out and "3 cycles shown" in out
    assert png.stat().st_size > 10_000

    assert (
        main(
            [
                "plot",
                "one_cycle",
                "--max-lr",
                "0.2",
                "--total-steps",
                "1000",
                "--preset",
                "pytorch",
                "--momentum",
                "--json",
                "--no-png",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    spec = json.loads(out.strip().splitlines()[-1])
    assert cyclr.schedule_from_dict(spec) == cyclr.OneCycle.pytorch(0.2, 1000)
    assert "momentum" in out and "min 0.85" in out


def test_plot_json_spec_inline_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = cyclr.ExpRange(0.001, 0.006, step_size=100, gamma=0.999)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(s.to_dict()))
    outs = []
    for arg in (json.dumps(s.to_dict()), str(path)):
        assert main(["plot", arg, "--no-png", "--json"]) == 0
        outs.append(capsys.readouterr().out)
        assert cyclr.schedule_from_dict(json.loads(outs[-1].strip().splitlines()[-1])) == s
    assert outs[0] == outs[1]
    assert "steps 0-599" in outs[0]  # 3 cycles by default


def test_plot_takes_every_policy_and_alias_of_the_registry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cyclr.cli.plot import POLICY_FLAGS
    from cyclr.schedules.policies import BY_NAME, NAMES

    assert set(POLICY_FLAGS) == set(NAMES)
    values = {"base_lr": "0.01", "max_lr": "0.1", "step_size": "10", "gamma": "0.99"}
    values.update(total_steps="100", value="0.1")
    for p in BY_NAME.values():
        required, _ = POLICY_FLAGS[p.name]
        flags = [x for k in required for x in ("--" + k.replace("_", "-"), values[k])]
        specs = []
        for name in (p.name, p.name.upper(), *p.aliases):
            assert main(["plot", name, *flags, "--no-png", "--json"]) == 0, name
            specs.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
        assert all(spec == specs[0] for spec in specs), p.name
        assert type(cyclr.schedule_from_dict(specs[0])) is p.schedule_type
    assert main(["plot", "--help"]) == 0
    help_text = capsys.readouterr().out
    for p in BY_NAME.values():
        assert p.name in help_text and all(a in help_text for a in p.aliases)
    assert main(["plot", "1cycel"]) == 2
    assert "did you mean 'one_cycle'?" in capsys.readouterr().err


# -- cyclr demo (its flags; the demo itself runs in tests/demo) --------------------------------
@pytest.mark.parametrize(
    "config",
    [
        DemoConfig(),
        DemoConfig.quick(),
        DemoConfig.quick(seeds=(3,)),
        DemoConfig(seeds=(1, 2), third_policy="exp_range", baseline_lr=0.02, method="loss"),
        DemoConfig(one_cycle_bounds="range_test"),
        DemoConfig.quick(seeds=(4,), one_cycle_bounds="range_test", method="accuracy"),
    ],
    ids=["default", "quick", "quick-seed-3", "options", "range-test", "quick-range-test"],
)
def test_demo_flags_rebuild_the_config_its_command_names(
    config: DemoConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import cyclr.demo

    seen: list[tuple[DemoConfig, Path]] = []

    def fake_run(config: DemoConfig, out: Path, *, progress: bool, echo: Any) -> Any:
        seen.append((config, Path(out)))
        echo("the setup line")
        return SimpleNamespace(table=lambda: "THE TABLE", footnote=lambda: "The footnote.")

    monkeypatch.setattr(cyclr.demo, "run", fake_run)
    command = config.command()
    assert command.startswith("cyclr demo")
    folder = tmp_path / "report"
    assert main([*shlex.split(command)[1:], "--out", str(folder)]) == 0
    assert seen == [(config, folder)] and folder.is_dir()
    out = capsys.readouterr().out
    assert out.startswith("the setup line\n\nTHE TABLE\n\nThe footnote.\n")
    assert f"Report: {folder / 'summary.md'} (with accuracy.png" in out
    assert ("one_cycle_warmup.png" in out) == (config.one_cycle_bounds == "online")


def test_demo_help_states_the_configs_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    full, quick = DemoConfig(), DemoConfig.quick()
    assert main(["demo", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    seeds = ",".join(map(str, full.seeds))
    assert f"(default: {seeds}; with --quick, {','.join(map(str, quick.seeds))})" in text
    assert f"({len(full.seeds)} by default, side by side in {full.workers} processes)" in text
    assert f"{quick.cycles} CLR cycles instead of {full.cycles}" in text
    assert f"1cycle over {quick.one_cycle_epochs} epochs" in text
    assert f"(default: {full.baseline_lr:g}," in text
    assert full.one_cycle_bounds == "online"
    assert "--one-cycle-bounds {online,range-test}" in text
    assert "reads them from its own warm-up as it trains" in text
    assert "(default: online)" in text


def test_demo_without_bounds_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import cyclr.demo

    def fake_run(*args: Any, **kwargs: Any) -> Any:
        raise cyclr.SuggestionError("the loss is flat", "flat")

    monkeypatch.setattr(cyclr.demo, "run", fake_run)
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.err == "cyclr: the range test gave no bounds: the loss is flat\n"
    assert captured.out == ""


# -- cyclr find ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("function", "coarse_iter"), [("setup", None), ("setup_with_dataclass", 60)]
)
def test_find_runs_the_shared_two_stage_recipe(
    function: str, coarse_iter: int | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    extra = [] if coarse_iter is None else ["--coarse-iter", str(coarse_iter)]
    args = ["--linear-iter", "200", "--seed", "0", "--out", str(out_dir), "--no-progress", *extra]
    rc = main(["find", f"{EXAMPLE}:{function}", *args])
    out = capsys.readouterr().out
    assert rc == 0, out
    # Two sweeps: exponential to find where the loss blows up, then linear up to there, as
    # cyclr.torch.find_bounds plans them (the recipe's coarse length by default).
    coarse = cyclr.RangeTestResult.load(out_dir / "range_test_coarse.json")
    result = cyclr.RangeTestResult.load(out_dir / "range_test.json")
    assert coarse.mode == "exp" and coarse.config["num_iter"] == (coarse_iter or COARSE_ITER)
    assert len(coarse) <= coarse.config["num_iter"]
    assert result.mode == "linear" and result.config["num_iter"] == 200
    assert (result.config["start_lr"], result.config["end_lr"]) == pytest.approx(
        linear_range(coarse)
    )
    assert len(result) > 100 and result.metric_name == "accuracy"
    assert f"{len(coarse)} updates (exp 1e-07 → 10), then {len(result)} updates (linear" in out
    assert (result.val_step is not None) == (function == "setup")
    assert (out_dir / "range_test.png").stat().st_size > 10_000
    bounds = result.suggest()
    assert f"base_lr = {bounds.base_lr:.4g}" in out
    assert "iters_per_epoch = 30  # len(train_loader)" in out
    assert "CyclicScheduler(optimizer, schedule, momentum=True)" in out


def test_find_defaults_come_from_the_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["find", "t.py:f"])
    assert (args.coarse_iter, args.linear_iter, args.num_iter, args.mode) == (None,) * 4
    assert main(["find", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"first, exponential sweep of two (default: {COARSE_ITER})" in help_text
    assert f"second, linear sweep of two (default: {LINEAR_ITER})" in help_text
    assert "updates in a single sweep (default: 100)" in help_text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--num-iter", "50", "--linear-iter", "50"],
            "--linear-iter set the two sweeps and "
            "--num-iter a single one; give the options of one kind",
        ),
        (
            ["--mode", "exp", "--coarse-iter", "50"],
            "--coarse-iter set the two sweeps and --mode "
            "a single one; give the options of one kind",
        ),
    ],
)
def test_find_refuses_options_of_both_kinds(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["find", f"{EXAMPLE}:setup", "--out", str(tmp_path), *options])
    assert rc == 2 and capsys.readouterr().err == f"cyclr: error: {message}\n"
    assert list(tmp_path.iterdir()) == []


FLAT = """
import torch
def f():
    m = torch.nn.Linear(2, 2)
    data = [(torch.randn(8, 2), torch.randn(8, 2))] * 4
    return {"model": m, "optimizer": torch.optim.SGD(m.parameters(), lr=0.1),
            "loss_fn": lambda out, y: (out * 0).sum() + 1.0, "train_loader": data}
"""


def test_find_without_a_blow_up_keeps_the_coarse_test_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "flat.py").write_text(FLAT)
    out_dir = tmp_path / "out"
    rc = main(["find", f"{tmp_path}/flat.py:f", "--coarse-iter", "30", "--out", str(out_dir)])
    captured = capsys.readouterr()
    assert rc == 1
    assert sorted(p.name for p in out_dir.iterdir()) == ["range_test_coarse.json"]
    assert len(cyclr.RangeTestResult.load(out_dir / "range_test_coarse.json")) == 30
    assert captured.out.startswith("Range test: 30 updates (exp 1e-07 → 10); ran to the end.")
    assert f"Wrote {out_dir / 'range_test_coarse.json'}." in captured.out
    err = captured.err.strip()
    assert err.startswith("cyclr: no range for the linear sweep (flat): ") and "\n" not in err


def test_find_reading_the_coarse_test_says_so_and_points_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the loss never falls but the exponential test can still be read (a metric rose),
    find_bounds reads it: the command says the linear sweep did not run, and why, and points
    to the file it read."""
    import cyclr.torch

    lr = np.geomspace(1e-7, 10, 30)
    x = np.log10(lr)
    acc = 0.1 + 0.8 / (1 + np.exp(-(x + 3) * 3)) / (1 + np.exp((x + 1) * 3))
    raw = cyclr.RangeTestResult(
        lr=lr, loss=np.ones(30), smoothed_loss=np.ones(30), metric=acc, mode="exp"
    )
    why = "the two-stage recipe stopped after its exponential test: the loss is flat: (reason)"
    coarse = cyclr.RangeTestResult.from_dict(dict(raw.to_dict(), message=why))

    def fake_find_bounds(*args: Any, on_test: Any, **kwargs: Any) -> Any:
        on_test(raw)
        return cyclr.torch.FoundBounds(coarse.suggest("accuracy"), (coarse,))

    monkeypatch.setattr(cyclr.torch, "find_bounds", fake_find_bounds)
    (tmp_path / "flat.py").write_text(FLAT)
    out_dir = tmp_path / "out"
    rc = main(["find", f"{tmp_path}/flat.py:f", "--out", str(out_dir)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert captured.err == ""
    saved = out_dir / "range_test_coarse.json"
    assert sorted(p.name for p in out_dir.iterdir()) == ["range_test.png", saved.name]
    assert cyclr.RangeTestResult.load(saved).message == why
    lines = captured.out.splitlines()
    assert lines[0].startswith("Range test: 30 updates (exp 1e-07 → 10) in ")
    assert lines[1] == "T" + why[1:] + "."
    assert lines[2] == "The bounds are read off the exponential test."
    assert f"Wrote {saved}, {out_dir / 'range_test.png'}." in captured.out
    assert "Suggested bounds" in captured.out
    assert f"cyclr suggest {saved} --method all" in captured.out


def test_find_with_no_reading_keeps_the_files_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--mode", "exp", "--num-iter", "30", "--metric", "none", "--method", "accuracy"]
    rc = main(["find", f"{EXAMPLE}:setup", *args, "--out", str(tmp_path), "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 1
    assert len(cyclr.RangeTestResult.load(tmp_path / "range_test.json")) <= 30
    assert (tmp_path / "range_test.png").stat().st_size > 10_000
    assert f"Wrote {tmp_path / 'range_test.json'}, {tmp_path / 'range_test.png'}." in captured.out
    assert "Suggested bounds" not in captured.out
    err = captured.err.strip()
    assert err.startswith("cyclr: no bounds from this curve (no_metric): ") and "\n" not in err


def test_find_module_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "train.py").write_text(
        textwrap.dedent("""
        import torch
        from cyclr.cli import FindTarget

        def make():
            g = torch.Generator().manual_seed(0)
            x = torch.randn(400, 10, generator=g)
            y = (x[:, 0] > 0).long()
            batches = [(x[i:i + 20], y[i:i + 20]) for i in range(0, 400, 20)]
            model = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(),
                                        torch.nn.Linear(16, 2))
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            return FindTarget(model, opt, torch.nn.functional.cross_entropy, batches)
    """)
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    rc = main(
        [
            "find",
            "mypkg.train:make",
            "--linear-iter",
            "60",
            "--seed",
            "1",
            "--out",
            "res",
            "--no-progress",
        ]
    )
    assert rc in (0, 1)  # a toy curve may support no reading; the files are written anyway
    assert (tmp_path / "res" / "range_test_coarse.json").is_file()
    assert "Range test: " in capsys.readouterr().out


def test_find_given_num_iter_alone_runs_one_exponential_sweep(tmp_path: Path) -> None:
    rc = main(["find", f"{EXAMPLE}:setup", "--num-iter", "20", "--seed", "0", "--no-progress",
               "--out", str(tmp_path)])  # fmt: skip
    assert rc in (0, 1)
    result = cyclr.RangeTestResult.load(tmp_path / "range_test.json")
    assert (result.mode, result.config["num_iter"], result.coarse) == ("exp", 20, None)
    assert (result.config["start_lr"], result.config["end_lr"]) == (1e-7, 10.0)
    assert not (tmp_path / "range_test_coarse.json").exists()


def test_find_single_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "find",
            f"{EXAMPLE}:setup",
            "--mode",
            "linear",
            "--start-lr",
            "0.001",
            "--end-lr",
            "1",
            "--num-iter",
            "150",
            "--seed",
            "0",
            "--out",
            str(tmp_path),
            "--no-progress",
            "--method",
            "loss",
            "--iters-per-epoch",
            "7",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert not (tmp_path / "range_test_coarse.json").exists()
    result = cyclr.RangeTestResult.load(tmp_path / "range_test.json")
    assert result.mode == "linear" and result.lr[0] == 0.001
    assert out.startswith(f"Range test: {len(result)} updates (linear 0.001 → 1)")
    assert "(loss rule)" in out and "iters_per_epoch = 7  # len(train_loader)" in out


def test_find_as_target_accepts_findtarget_and_dict() -> None:
    import torch

    from cyclr.cli import as_target

    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = [(torch.randn(4, 3), torch.tensor([0, 1, 0, 1]))]
    t = as_target(FindTarget(model, opt, torch.nn.functional.cross_entropy, data))
    d = as_target(
        {
            "model": model,
            "optimizer": opt,
            "loss_fn": torch.nn.functional.mse_loss,
            "train_loader": data,
            "val_loader": data,
        }
    )
    assert t.val_loader is None and d.val_loader is data


# -- errors: exit status 2 and one line ---------------------------------------------------------
TARGETS = {
    "wrong_type.py": "def f():\n    return [1, 2, 3]\n",
    "missing_keys.py": "def f():\n    return {'model': 1}\n",
    "extra_key.py": textwrap.dedent("""
        import torch
        def f():
            m = torch.nn.Linear(2, 2)
            return {"model": m, "optimizer": torch.optim.SGD(m.parameters(), lr=0.1),
                    "loss_fn": torch.nn.functional.mse_loss, "train_loader": [],
                    "scheduler": None}
    """),
    "bad_model.py": textwrap.dedent("""
        import torch
        def f():
            m = torch.nn.Linear(2, 2)
            return {"model": "net", "optimizer": torch.optim.SGD(m.parameters(), lr=0.1),
                    "loss_fn": torch.nn.functional.mse_loss, "train_loader": []}
    """),
    "needs_args.py": "def f(batch_size):\n    return None\n",
    "raises.py": "def helper():\n    return 1 / 0\n\ndef f():\n    return helper()\n",
    "broken_import.py": "import no_such_module_xyz\n\ndef f():\n    pass\n",
    "not_callable.py": "f = 3\n",
    "bad_model_forward.py": textwrap.dedent("""
        import torch
        def f():
            m = torch.nn.Linear(5, 2)
            x, y = torch.randn(8, 3), torch.tensor([0, 1] * 4)
            return {"model": m, "optimizer": torch.optim.SGD(m.parameters(), lr=0.1),
                    "loss_fn": torch.nn.functional.cross_entropy,
                    "train_loader": [(x, y)] * 4}
    """),
    "empty_loader.py": textwrap.dedent("""
        import torch
        def f():
            m = torch.nn.Linear(2, 2)
            return {"model": m, "optimizer": torch.optim.SGD(m.parameters(), lr=0.1),
                    "loss_fn": torch.nn.functional.cross_entropy, "train_loader": []}
    """),
    "good.py": (EXAMPLE.read_text()),
}


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("targets")
    for name, text in TARGETS.items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["find", "{t}/nope.py:f"], "no such file"),
        (["find", "{t}/good.py:nope"], "has no function 'nope'"),
        (["find", "{t}/not_callable.py:f"], "is a int, not a function"),
        (["find", "no_such_pkg_xyz.mod:f"], "no module named 'no_such_pkg_xyz'"),
        (["find", "just_a_name"], "TARGET must be"),
        (["find", "{t}/wrong_type.py:f"], "returned list; expected a dict"),
        (
            ["find", "{t}/missing_keys.py:f"],
            "without 'optimizer', 'loss_fn' (or 'loss_of_batch'), 'train_loader'",
        ),
        (["find", "{t}/extra_key.py:f"], "unknown key 'scheduler'; expected model, "),
        (["find", "{t}/bad_model.py:f"], "model=str; expected a torch.nn.Module"),
        (["find", "{t}/needs_args.py:f"], "must be callable without arguments"),
        (["find", "{t}/raises.py:f"], "raised ZeroDivisionError at"),
        (["find", "{t}/broken_import.py:f"], "raised ModuleNotFoundError"),
        (["find", "{t}/bad_model_forward.py:f", "--num-iter", "20"], "raised RuntimeError at"),
        (["find", "{t}/empty_loader.py:f"], "empty"),
        (["find", "{t}/good.py:setup", "--start-lr", "1", "--end-lr", "0.1"], "must be < end_lr"),
        (["find", "{t}/good.py:setup", "--method", "magic"], "unknown --method 'magic'"),
        (["find", "{t}/good.py:setup", "--num-iter", "0"], "expected a positive integer"),
        (
            ["find", "{t}/good.py:setup", "--coarse-iter", "5"],
            "argument --coarse-iter: expected an integer >= 10, got '5'",
        ),
        (["find", "{t}/good.py:setup", "--out", "{t}/good.py"], "exists and is not a folder"),
        (["suggest", "{t}/nope.json"], "no such file"),
        (["suggest", "{t}/good.py"], "is not a cyclr range-test result"),
        (["suggest", "{t}/schedule.json"], "is not a cyclr range-test result"),
        (["suggest", "{t}/r.json", "--method", "magic"], "unknown --method 'magic'"),
        (
            ["plot", "triangular", "--base-lr", "0.01", "--max-lr", "0.001", "--step-size", "10"],
            "base_lr (0.01) must be <= max_lr (0.001)",
        ),
        (["plot", "triangular", "--base-lr", "0.001", "--max-lr", "0.01"], "needs --step-size"),
        (
            [
                "plot",
                "triangular",
                "--base-lr",
                "0",
                "--max-lr",
                "1",
                "--step-size",
                "5",
                "--gamma",
                "0.9",
            ],
            "--gamma does not apply to triangular",
        ),
        (
            [
                "plot",
                "exp_range",
                "--base-lr",
                "0.1",
                "--max-lr",
                "1",
                "--step-size",
                "5",
                "--gamma",
                "2",
            ],
            "gamma must be in (0, 1]",
        ),
        (["plot", "one_cycle", "--max-lr", "0.2", "--total-steps", "3"], "too small"),
        (["plot", "trianglar"], "did you mean 'triangular'"),
        (["plot", '{"type": "Triangular", "base_lr": 0.1'], "bad JSON spec"),
        (["plot", '{"type": "Sawtooth"}'], "unknown schedule type 'Sawtooth'"),
        (["plot", '{"type": "Triangular", "base_lr": 0.1}'], "bad JSON spec"),
        (["plot", "{t}/nope.json"], "no such file"),
        (["plot", "{t}/schedule.json", "--max-lr", "1"], "only apply to a policy name"),
        (
            ["plot", "constant", "--value", "0.1", "--momentum", "--base-momentum", "2"],
            "invalid momentum",
        ),
        (["plot", "constant", "--value", "x"], "expected a number"),
        (
            ["plot", "constant", "--value", "0.1", "--out", "{t}/no/such/dir/x.png"],
            "does not exist",
        ),
        (["demo", "--method", "magic"], "unknown --method 'magic'"),
        (["demo", "--out", "{t}/good.py"], "exists and is not a folder"),
        (["demo", "--seeds", "-1"], "expected comma-separated integers >= 0, got '-1'"),
        (["demo", "--seeds", "1,x"], "expected comma-separated integers >= 0, got '1,x'"),
        (["demo", "--seeds", "1,1"], "seeds has duplicates"),
        (["demo", "--bogus"], "unrecognized arguments: --bogus"),
        (["demo", "--one-cycle-bounds", "range_test"], "invalid choice: 'range_test'"),
    ],
)
def test_errors_exit_2_with_one_line(
    args: list[str], message: str, targets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (targets / "schedule.json").write_text(json.dumps(cyclr.Triangular(0.1, 1, 5).to_dict()))
    synthetic_result(targets / "r.json")
    capsys.readouterr()
    assert main([a.replace("{t}", str(targets)) for a in args]) == 2
    captured = capsys.readouterr()
    line = error_line(captured.err)
    assert message in line, line


def test_user_error_names_the_line(targets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["find", f"{targets}/raises.py:f"]) == 2
    line = error_line(capsys.readouterr().err)
    assert "raises.py:2 in helper: division by zero" in line
    assert "--traceback" in line
    assert main(["--traceback", "find", f"{targets}/raises.py:f"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("cyclr: error:")


def test_errors_in_a_fresh_process_have_no_traceback(targets: Path) -> None:
    for args in (
        ["find", f"{targets}/wrong_type.py:f"],
        ["plot", "triangular", "--base-lr", "1", "--max-lr", "0.1", "--step-size", "5"],
        ["suggest", str(targets / "missing.json")],
    ):
        proc = run_cli(*args)
        assert proc.returncode == 2, proc.stderr
        error_line(proc.stderr)
        assert proc.stdout == ""


def test_keyboard_interrupt_exits_130(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.py").write_text("def f():\n    raise KeyboardInterrupt\n")
    assert main(["find", f"{tmp_path}/t.py:f", "--out", str(tmp_path / "o")]) == 130
    assert capsys.readouterr().err == ""

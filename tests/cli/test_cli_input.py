"""Bad input is one ``cyclr: error:`` line and exit 2, and says what to do: saved results that are
not range tests, unknown target keys, syntax errors, unavailable devices; and what a target may
hold (``batch_fn``, ``loss_of_batch``)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cyclr


def _saved(tmp_path: Path, **change: Any) -> Path:
    lr = np.linspace(1e-3, 0.5, 80)
    loss = 2.3 - np.sin(lr * 6)
    data = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="linear").to_dict()
    data.update(change)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    return path


# -- 14: cyclr suggest --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lr": [[0.1, 0.2]] * 80}, "lr must be a 1-D array"),
        ({"loss": [[1.0], [2.0]] * 40}, "loss must be a 1-D array"),
        ({"lr": [0.1, [0.2]] * 40}, "is not a cyclr range-test result"),
        ({"config": [1, 2]}, "config must be a dict"),
        ({"config": "fast"}, "config must be a dict"),
    ],
)
def test_suggest_on_a_malformed_result_exits_2(
    change: dict[str, Any], message: str, tmp_path: Path, cli
) -> None:
    path = _saved(tmp_path, **change)
    ran = cli("suggest", path)
    assert ran.rc == 2 and ran.out == "", ran
    assert f"{path} is not a cyclr range-test result: " in ran.error_line
    assert message in ran.error_line


def test_suggest_on_deeply_nested_json_exits_2(tmp_path: Path, cli_process) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    ran = cli_process("suggest", path)
    assert ran.rc == 2, ran.err
    assert f"{path} is not a cyclr range-test result: it nests too deeply" in ran.error_line


def test_suggest_on_a_folder_says_what_it_expects(tmp_path: Path, cli) -> None:
    ran = cli("suggest", tmp_path)
    assert ran.rc == 2
    assert ran.error_line == (
        f"cyclr: error: {tmp_path} is a folder; expected a range-test JSON file "
        "(such as the range_test.json that cyclr find writes)"
    )
    _saved(tmp_path).rename(tmp_path / "range_test.json")
    ran = cli("suggest", tmp_path)
    assert ran.rc == 2
    assert ran.error_line.endswith(
        f"{tmp_path} is a folder; expected a range-test JSON file (did you mean "
        f"{tmp_path / 'range_test.json'}?)"
    )


# -- 19d: an unavailable device is an input error -----------------------------------------------
@pytest.mark.parametrize("command", ["find", "sweep"])
def test_an_unavailable_device_is_one_input_line(
    command: str, tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    ran = cli(command, tiny_target(), "--device", "cuda:7", "--out", tmp_path, "--no-progress")
    assert ran.rc == 2, ran
    assert "device='cuda:7' is not available on this machine" in ran.error_line
    assert "your model" not in ran.error_line and "raised" not in ran.error_line


# -- the target --------------------------------------------------------------------------------
def test_a_misspelled_target_key_is_named_with_the_close_match(
    tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    extra = """
        def setup_typo():
            t = setup()
            t["optimiser"] = t.pop("optimizer")
            return t
    """
    target = tiny_target(extra=extra).replace(":setup", ":setup_typo")
    ran = cli("find", target, "--out", tmp_path / "o")
    assert ran.rc == 2
    assert "returned unknown key 'optimiser' (did you mean 'optimizer'?)" in ran.error_line


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("import torch\n\ndef f(:\n    pass\n", "in 'def f(:'"),
        ("def f():\n  x = 1\n    return x\n", "in 'return x'"),
    ],
)
def test_a_syntax_error_points_at_the_users_file(
    source: str, where: str, tmp_path: Path, cli
) -> None:
    (tmp_path / "bad_syntax.py").write_text(source)
    ran = cli("find", f"{tmp_path}/bad_syntax.py:f", "--out", tmp_path / "o")
    assert ran.rc == 2
    assert "frozen" not in ran.error_line and "importlib" not in ran.error_line
    assert f"Error at {tmp_path}/bad_syntax.py:3: " in ran.error_line, ran.error_line
    assert where in ran.error_line and "--traceback" in ran.error_line


DICT_BATCHES = """
def dict_batches():
    x, y = data()
    return [{"features": x[i:i + 16], "label": y[i:i + 16]} for i in range(0, 64, 16)]

def setup_batch_fn():
    t = setup()
    t["train_loader"] = dict_batches()
    t["batch_fn"] = lambda b: (b["features"], b["label"])
    return t

def setup_loss_of_batch():
    t = setup()
    del t["loss_fn"]
    t["train_loader"] = dict_batches()
    def loss_of_batch(model, batch):
        out = model(batch["features"])
        return torch.nn.functional.cross_entropy(out, batch["label"]), out, batch["label"]
    t["loss_of_batch"] = loss_of_batch
    return t

def setup_both():
    t = setup_loss_of_batch()
    t["loss_fn"] = loss
    return t
"""


@pytest.mark.parametrize("function", ["setup_batch_fn", "setup_loss_of_batch"])
@pytest.mark.parametrize("command", ["find", "sweep"])
def test_a_target_with_dict_batches_runs_through_batch_fn_or_loss_of_batch(
    command: str, function: str, tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    target = tiny_target(extra=DICT_BATCHES).replace(":setup", f":{function}")
    options = ["--mode", "exp", "--num-iter", "20", "--out", tmp_path, "--no-progress"]
    if command == "sweep":
        options += ["--values", "0.9,0.5"]
    ran = cli(command, target, *options)
    assert ran.rc in (0, 1), ran
    if command == "find":
        result = cyclr.RangeTestResult.load(tmp_path / "range_test.json")
        assert len(result) == 20 and result.metric_name == "accuracy"
        assert ("loss_of_batch" in result.config) == (function == "setup_loss_of_batch")
    else:
        assert len(cyclr.SweepResult.load(tmp_path / "sweep.json").results) == 2


def test_a_target_with_both_losses_exits_2(
    tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    target = tiny_target(extra=DICT_BATCHES).replace(":setup", ":setup_both")
    ran = cli("find", target, "--out", tmp_path)
    assert ran.rc == 2
    assert "returned both loss_fn and loss_of_batch; give one" in ran.error_line


def test_a_target_with_neither_loss_names_both(
    tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    extra = """
        def setup_no_loss():
            t = setup()
            del t["loss_fn"]
            return t
    """
    target = tiny_target(extra=extra).replace(":setup", ":setup_no_loss")
    ran = cli("find", target, "--out", tmp_path)
    assert ran.rc == 2
    assert "returned a dict without 'loss_fn' (or 'loss_of_batch')" in ran.error_line


# -- what is at a path that is not the file expected ----------------------------------------------
def test_suggest_on_a_folder_with_only_the_coarse_test_points_to_it(tmp_path: Path, cli) -> None:
    _saved(tmp_path).rename(tmp_path / "range_test_coarse.json")
    ran = cli("suggest", tmp_path)
    assert ran.rc == 2 and ran.out == "", ran
    assert ran.error_line == (
        f"cyclr: error: {tmp_path} is a folder; expected a range-test JSON file (did you mean "
        f"{tmp_path / 'range_test_coarse.json'}? cyclr find wrote only its exponential test "
        "there, no range_test.json)"
    )


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (("suggest",), "a range-test JSON file"),
        (("plot",), "a policy name or a JSON schedule spec (a file or inline JSON)"),
        (("plot", "--no-png"), "a policy name or a JSON schedule spec (a file or inline JSON)"),
    ],
)
@pytest.mark.parametrize(
    ("make", "what"),
    [
        ("folder", "is a folder"),
        ("device", "is not a regular file"),
        ("empty", "is empty"),
    ],
)
def test_a_path_that_exists_but_is_no_input_file_says_what_it_is(
    command: tuple[str, ...], expected: str, make: str, what: str, tmp_path: Path, cli
) -> None:
    if make == "folder":
        path = tmp_path / "spec.json"
        path.mkdir()
    elif make == "device":
        path = Path(os.devnull)
    else:
        path = tmp_path / "spec.json"
        path.write_text("")
    ran = cli(command[0], path, *command[1:])
    assert ran.rc == 2 and ran.out == "", ran
    line = ran.error_line
    assert line.startswith(f"cyclr: error: {path} {what}; expected {expected}"), line
    assert "no such file" not in line


def test_a_target_file_that_is_a_device_says_so(cli) -> None:
    ran = cli("find", f"{os.devnull}:setup")
    assert ran.rc == 2
    assert ran.error_line == (
        f"cyclr: error: {os.devnull} is not a regular file; expected a Python file"
    )


# -- numbers a float cannot hold -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lr": [10**400] * 80}, "an integer of 401 digits is too large for a float"),
        ({"config": {"start_lr": -(10**400)}}, "an integer of 401 digits is too large for a float"),
        (
            {"val_step": [10**30], "val_loss": [1.0]},
            "val_step[0] = 1000000000000000000000000000000 is not an update index: too large",
        ),
    ],
)
def test_suggest_on_numbers_too_large_exits_2_with_one_line(
    change: dict[str, Any], message: str, tmp_path: Path, cli_process
) -> None:
    path = _saved(tmp_path, **change)
    ran = cli_process("suggest", path)
    assert ran.rc == 2, ran.err
    assert ran.error_line == f"cyclr: error: {path} is not a cyclr range-test result: {message}"


def test_plot_of_a_schedule_too_long_for_a_float_exits_2_with_one_line(cli) -> None:
    spec = '{"type": "Triangular", "base_lr": 0.001, "max_lr": 0.1, "step_size": 1%s}' % ("0" * 400)
    ran = cli("plot", spec, "--no-png")
    assert ran.rc == 2 and ran.out == "", ran
    assert ran.error_line == (
        "cyclr: error: the schedule's last phase ends at step 5.999e+400, beyond what can be "
        "previewed; give --steps (at most 2**53)"
    )


# -- an LR column that does not increase ----------------------------------------------------------
@pytest.mark.parametrize(
    ("lr", "where"),
    [
        (np.geomspace(1e-5, 1, 80)[::-1], "lr[1] = 0.864388 is not above lr[0] = 1"),
        (np.full(80, 0.01), "lr[1] = 0.01 is not above lr[0] = 0.01"),
    ],
)
@pytest.mark.parametrize("method", ["loss", "all"])
def test_suggest_on_an_lr_that_does_not_increase_exits_2(
    lr: Any, where: str, method: str, tmp_path: Path, cli
) -> None:
    path = _saved(tmp_path, lr=[float(x) for x in lr])
    ran = cli("suggest", path, "--method", method)
    assert ran.rc == 2 and ran.out == "", ran
    assert ran.error_line == (
        f"cyclr: error: {path} is not a cyclr range-test result: lr must increase strictly: {where}"
    )


# -- python -m cyclr ------------------------------------------------------------------------------
def test_python_m_cyclr_runs_the_cyclr_command(tmp_path: Path, cli_process) -> None:
    version = cli_process("--version", module="cyclr")
    assert (version.rc, version.out, version.err) == (0, f"cyclr {cyclr.__version__}\n", "")
    ran = cli_process("suggest", _saved(tmp_path), "--method", "loss", module="cyclr")
    assert ran.rc == 0, ran.err
    assert ran.out == cli_process("suggest", _saved(tmp_path), "--method", "loss").out
    assert "Suggested bounds (loss rule)" in ran.out
    bad = cli_process("suggest", tmp_path / "nope.json", module="cyclr")
    assert bad.rc == 2 and bad.error_line == f"cyclr: error: no such file: {tmp_path / 'nope.json'}"


def test_importing_cyclr_main_runs_nothing_and_loads_no_cli() -> None:
    import subprocess
    import sys

    from tests.support.cli import ENV

    code = "import sys, cyclr.__main__; print([m for m in sys.modules if 'cyclr.cli' in m])"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "[]\n", "")

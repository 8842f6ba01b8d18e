"""Bad input is one ``cyclr: error:`` line and exit 2, and says what to do: saved results that are
not range tests, and a folder given as one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cyclr

pytestmark = pytest.mark.usefixtures("one_torch_thread")


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

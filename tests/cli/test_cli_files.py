"""``cyclr find`` and ``cyclr sweep`` lose no work: the output is checked before the test, Ctrl-C
keeps the curve so far, a flat curve exits 1, and the printed stop reason is the result's own;
``cyclr suggest --plot`` is checked before any output and gets .png without an extension."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import cyclr

#: A loss that raises if it is ever called: the test must not start.
NEVER_RUN = """
def never(out, y):
    raise RuntimeError("the range test ran")

def setup_never():
    t = setup()
    t["loss_fn"] = never
    return t
"""

FIND = ("find", "--mode", "exp", "--num-iter", "20", "--no-progress")
SWEEP = ("sweep", "--values", "0.9,0.5", "--num-iter", "10", "--no-progress")


def _never(tiny_target: Callable[..., str]) -> str:
    return tiny_target(extra=NEVER_RUN).replace(":setup", ":setup_never")


# -- 4: the output is checked before the test ----------------------------------------------------
@pytest.mark.parametrize(
    ("command", "blocked"),
    [
        (FIND, "range_test.json"),
        (FIND, "range_test.png"),
        (("find", "--coarse-iter", "10", "--no-progress"), "range_test_coarse.json"),
        (FIND, "range_test_partial.json"),
        (SWEEP, "sweep.json"),
        (SWEEP, "sweep.png"),
        (SWEEP, "sweep_partial.json"),
    ],
)
def test_a_folder_where_an_output_file_goes_exits_2_before_the_test(
    command: tuple[str, ...], blocked: str, tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    out = tmp_path / "out"
    (out / blocked).mkdir(parents=True)
    ran = cli(command[0], _never(tiny_target), *command[1:], "--out", out)
    assert ran.rc == 2, ran
    line = ran.error_line
    assert f"{out / blocked}" in line and "is a folder" in line, line
    assert "the range test ran" not in line


def test_demo_checks_its_report_folder_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    import cyclr.demo

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the demo ran")

    monkeypatch.setattr(cyclr.demo, "run", never)
    (tmp_path / "summary.md").mkdir()
    ran = cli("demo", "--quick", "--out", tmp_path)
    assert ran.rc == 2, ran
    assert f"{tmp_path / 'summary.md'} is a folder" in ran.error_line


def _read_only_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write to: a mode 555 folder, or /sys for root."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    if sys.platform != "linux" or not _sys_refuses_files():
        pytest.skip("no folder here refuses root's writes")
    return Path("/sys")


def _sys_refuses_files() -> bool:
    try:
        Path("/sys/cyclr-write-test").touch()
    except OSError:
        return True
    Path("/sys/cyclr-write-test").unlink()
    return False


@pytest.mark.parametrize("command", [FIND, SWEEP])
def test_a_read_only_folder_exits_2_before_the_test(
    command: tuple[str, ...], tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    folder = _read_only_folder(tmp_path)
    ran = cli(command[0], _never(tiny_target), *command[1:], "--out", folder)
    assert ran.rc == 2, ran
    line = ran.error_line
    assert f"--out {folder}: cannot write" in line, line


# -- 5: Ctrl-C keeps the curve so far ------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "updates"),
    [(("--mode", "exp", "--num-iter", "50"), 20), (("--coarse-iter", "30"), 20)],
)
def test_find_interrupted_saves_the_partial_curve_and_exits_130(
    options: tuple[str, ...],
    updates: int,
    tmp_path: Path,
    tiny_target: Callable[..., str],
    cli,
) -> None:
    out = tmp_path / "out"
    ran = cli("find", tiny_target(limit=updates), *options, "--out", out, "--no-progress")
    assert ran.rc == 130, ran
    partial = cyclr.RangeTestResult.load(out / "range_test_partial.json")
    assert len(partial) == updates and partial.stop_reason == "interrupted"
    again = cli("suggest", out / "range_test_partial.json", "--method", "loss")
    assert f", interrupted after {updates} updates.\n" in again.out.splitlines(True)[0]
    assert ran.err == (
        f"cyclr: interrupted after {updates} updates; the curve so far is in "
        f"{out / 'range_test_partial.json'}\n"
    )
    assert not (out / "range_test.json").exists()


def test_sweep_interrupted_saves_the_tests_so_far_and_exits_130(
    tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    out = tmp_path / "out"
    ran = cli("sweep", tiny_target(limit=15), *SWEEP[1:], "--out", out)
    assert ran.rc == 130, ran
    partial = cyclr.SweepResult.load(out / "sweep_partial.json")
    assert partial.values == (0.9, 0.5)
    assert [len(r) for r in partial.results] == [10, 5]
    assert partial.results[-1].stop_reason == "interrupted"
    assert ran.err == (
        "cyclr: interrupted at momentum = 0.5 after 5 updates (2 range tests so far); the tests "
        f"so far are in {out / 'sweep_partial.json'}\n"
    )
    assert not (out / "sweep.json").exists()


def test_interrupt_before_any_update_saves_nothing(
    tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    out = tmp_path / "out"
    ran = cli("find", tiny_target(limit=0), *FIND[1:], "--out", out)
    assert ran.rc == 130 and ran.err == "cyclr: interrupted before the first update\n", ran
    assert list(out.iterdir()) == []


# -- 6: a flat curve exits 1 with the reason ------------------------------------------------------
FLAT_MODEL = """
def setup_flat():
    t = setup()
    last = torch.nn.Linear(8, 2)
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    last.requires_grad_(False)  # the output is 0, the loss log(2) whatever the LR
    t["model"] = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), last)
    t["optimizer"] = torch.optim.SGD(t["model"].parameters(), lr=0.1)
    t["loss_fn"] = torch.nn.functional.cross_entropy
    x, _ = data()
    y = torch.tensor([0, 1] * 32)  # half of each batch right whatever the model: accuracy 0.5
    t["train_loader"] = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    return t
"""


@pytest.mark.parametrize(
    ("options", "note"),
    [
        (("--coarse-iter", "30"), "cyclr: no range for the linear sweep (flat): "),
        (("--mode", "exp", "--num-iter", "30"), "cyclr: no bounds from this curve (flat): "),
    ],
)
def test_find_on_a_constant_loss_exits_1_with_the_flat_reason(
    options: tuple[str, ...], note: str, tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    target = tiny_target(extra=FLAT_MODEL).replace(":setup", ":setup_flat")
    out = tmp_path / "out"
    ran = cli("find", target, *options, "--out", out, "--no-progress")
    assert ran.rc == 1, ran
    saved = sorted(out.glob("range_test*.json"))[0]
    loss = cyclr.RangeTestResult.load(saved).loss
    assert np.all(loss == loss[0])  # exactly constant
    assert ran.err.startswith(note) and ran.err.count("\n") == 1, ran.err
    assert "Suggested bounds" not in ran.out


def test_find_on_a_constant_loss_with_a_varying_accuracy_exits_1(
    tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    extra = (
        FLAT_MODEL
        + """
def setup_flat_noisy():
    t = setup_flat()
    t["train_loader"] = setup()["train_loader"]  # accuracy 0.5 or 0.625, batch by batch
    return t
"""
    )
    target = tiny_target(extra=extra).replace(":setup", ":setup_flat_noisy")
    ran = cli("find", target, "--mode", "exp", "--num-iter", "30", "--out", tmp_path)
    assert ran.rc == 1 and "(flat): " in ran.err, ran


# -- the stop reason is the result's own message ------------------------------------------------
@pytest.mark.parametrize(
    ("reason", "message"),
    [
        (
            "non_finite_loss",
            "the GradScaler skipped 50 steps in a row at update 40 (lr=0.3) because of inf/NaN "
            "gradients; the losses were finite",
        ),
        ("data_exhausted", "train_loader ran out of batches after 60 of 100 updates"),
    ],
)
def test_the_stop_reason_printed_is_the_results_message(
    reason: str, message: str, tmp_path: Path, cli
) -> None:
    lr = np.linspace(1e-3, 0.5, 60)
    loss = 2.3 - np.sin(lr * 6)
    path = tmp_path / "r.json"
    result = cyclr.RangeTestResult(
        lr=lr, loss=loss, smoothed_loss=loss, mode="linear", stop_reason=reason, message=message
    )
    result.save(path)
    ran = cli("suggest", path, "--method", "loss")
    first = ran.out.splitlines()[0]
    assert first.endswith(f", stopped: {message}."), first
    assert "NaN or infinite" not in ran.out


# -- cyclr suggest --plot -----------------------------------------------------------------------
def _curve(path: Path) -> Path:
    lr = np.linspace(1e-3, 0.5, 80)
    loss = 2.3 - np.sin(lr * 6)
    cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="linear").save(path)
    return path


def test_suggest_plot_to_an_unknown_image_format_exits_2_before_any_output(
    tmp_path: Path, cli
) -> None:
    ran = cli("suggest", _curve(tmp_path / "r.json"), "--plot", tmp_path / "out.xyz")
    assert ran.rc == 2 and ran.out == "", ran
    assert f"--plot {tmp_path / 'out.xyz'}: unknown image format 'xyz'; use one of " in (
        ran.error_line
    )
    assert "png" in ran.error_line and not (tmp_path / "out.xyz").exists()


def test_suggest_plot_without_an_extension_writes_and_names_the_png(tmp_path: Path, cli) -> None:
    path = _curve(tmp_path / "r.json")
    ran = cli("suggest", path, "--method", "loss", "--plot", tmp_path / "curve")
    assert ran.rc == 0, ran
    assert f"Wrote {tmp_path / 'curve.png'}." in ran.out and (tmp_path / "curve.png").is_file()
    assert not (tmp_path / "curve").exists()


# -- cyclr find replaces the files of an earlier run -------------------------------------------
#: What an earlier run of ``cyclr find`` left in ``--out``, and a file of the user's.
EARLIER = ("range_test.json", "range_test.png", "range_test_coarse.json", "range_test_partial.json")


def _earlier_run(out: Path) -> None:
    out.mkdir()
    for name in EARLIER:
        (out / name).write_text("an earlier run")
    (out / "notes.txt").write_text("mine")


@pytest.mark.parametrize(
    ("options", "rc", "written"),
    [
        (("--coarse-iter", "30"), 1, ["range_test_coarse.json"]),
        (("--mode", "exp", "--num-iter", "30"), 1, ["range_test.json", "range_test.png"]),
    ],
)
def test_find_leaves_only_this_runs_files_and_the_users_own(
    options: tuple[str, ...],
    rc: int,
    written: list[str],
    tmp_path: Path,
    tiny_target: Callable[..., str],
    cli,
) -> None:
    pytest.importorskip("matplotlib")
    target = tiny_target(extra=FLAT_MODEL).replace(":setup", ":setup_flat")
    out = tmp_path / "out"
    _earlier_run(out)
    ran = cli("find", target, *options, "--out", out, "--no-progress")
    assert ran.rc == rc, ran
    assert sorted(p.name for p in out.iterdir()) == sorted([*written, "notes.txt"])
    assert (out / "notes.txt").read_text() == "mine"
    for name in written:
        assert (out / name).read_bytes() != b"an earlier run"
    json_file = next(name for name in written if name.endswith(".json"))
    assert len(cyclr.RangeTestResult.load(out / json_file)) == 30


def test_find_that_fails_before_writing_keeps_the_earlier_runs_files(
    tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    extra = "\ndef setup_broken():\n    raise RuntimeError('no data today')\n"
    target = tiny_target(extra=extra).replace(":setup", ":setup_broken")
    out = tmp_path / "out"
    _earlier_run(out)
    ran = cli("find", target, "--out", out, "--no-progress")
    assert ran.rc == 2 and "no data today" in ran.error_line, ran
    assert sorted(p.name for p in out.iterdir()) == sorted([*EARLIER, "notes.txt"])


def test_find_interrupted_replaces_the_earlier_runs_files_with_the_partial_curve(
    tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    out = tmp_path / "out"
    _earlier_run(out)
    ran = cli("find", tiny_target(limit=12), *FIND[1:], "--out", out)
    assert ran.rc == 130, ran
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "range_test_partial.json"]
    assert len(cyclr.RangeTestResult.load(out / "range_test_partial.json")) == 12


def test_find_never_removes_a_folder_named_like_its_files(
    tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    out = tmp_path / "out"
    (out / "range_test_coarse.json").mkdir(parents=True)
    ran = cli("find", tiny_target(), *FIND[1:], "--out", out)
    assert ran.rc in (0, 1), ran
    assert (out / "range_test_coarse.json").is_dir()
    assert (out / "range_test.json").is_file()


NAN_LOSS = """
def setup_nan():
    t = setup()
    t["loss_fn"] = lambda out, y: torch.nn.functional.cross_entropy(out, y) * float("nan")
    return t
"""


def test_find_with_a_nan_loss_at_the_first_update_says_so_once(
    tmp_path: Path, tiny_target: Callable[..., str], cli
) -> None:
    target = tiny_target(extra=NAN_LOSS).replace(":setup", ":setup_nan")
    out = tmp_path / "out"
    ran = cli("find", target, "--out", out, "--no-progress")
    assert ran.rc == 1, ran
    assert ran.err == (
        "cyclr: no range for the linear sweep (all_nan): nothing to read: the loss was nan at "
        "the first update (lr=1e-07), before the LR could matter: check the model, the data and "
        "loss_fn\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["range_test_coarse.json"]

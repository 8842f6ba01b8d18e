"""The ``cyclr`` parser and ``main``: ``--traceback`` after the command, suggestions for a
misspelled option or choice with the command's own help, a closed stdout (exit 141), and
``dir(cyclr.cli)``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import cyclr.cli
from cyclr.cli import build_parser


# -- --traceback after the command -------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["demo"],
        ["find", "t.py:f"],
        ["suggest", "r.json"],
        ["plot", "triangular"],
        ["sweep", "t.py:f"],
    ],
)
def test_traceback_is_accepted_after_every_command(args: list[str]) -> None:
    parser = build_parser()
    assert parser.parse_args([*args, "--traceback"]).traceback is True
    assert parser.parse_args(["--traceback", *args]).traceback is True
    assert parser.parse_args(args).traceback is False


def test_traceback_after_the_command_shows_it(tmp_path: Path, cli) -> None:
    (tmp_path / "raises.py").write_text("def f():\n    return 1 / 0\n")
    ran = cli("find", f"{tmp_path}/raises.py:f", "--traceback", "--out", tmp_path / "o")
    assert ran.rc == 2
    assert "Traceback" in ran.err and "ZeroDivisionError" in ran.err
    assert ran.err.strip().splitlines()[-1].startswith("cyclr: error: ")


# -- a misspelled option -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["find", "t.py:f", "--nm-iter", "3"],
            "unrecognized arguments: --nm-iter 3 (did you mean --num-iter?) "
            "(see 'cyclr find --help')",
        ),
        (
            ["plot", "triangular", "--stepsize", "5"],
            "unrecognized arguments: --stepsize 5 (did you mean --step-size?) "
            "(see 'cyclr plot --help')",
        ),
        (
            ["suggest", "r.json", "--plto=x.png"],
            "unrecognized arguments: --plto=x.png (did you mean --plot?) "
            "(see 'cyclr suggest --help')",
        ),
        (
            ["sweep", "t.py:f", "--xyzzy"],
            "unrecognized arguments: --xyzzy (see 'cyclr sweep --help')",
        ),
        (["--verison"], "unrecognized arguments: --verison (did you mean --version?) "),
    ],
)
def test_a_misspelled_option_gets_a_suggestion_and_the_commands_help(
    args: list[str], line: str, cli
) -> None:
    ran = cli(*args)
    assert ran.rc == 2
    assert ran.error_line.startswith(f"cyclr: error: {line}"), ran.error_line


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["fnd", "t.py:f"], "(did you mean 'find'?) (see 'cyclr --help')"),
        (["find", "t.py:f", "--mode", "expo"], "(did you mean 'exp'?) (see 'cyclr find --help')"),
        (["sweep", "t.py:f", "--param", "momentun"], "(did you mean 'momentum'?) "),
    ],
)
def test_a_misspelled_choice_gets_a_suggestion(args: list[str], hint: str, cli) -> None:
    ran = cli(*args)
    assert ran.rc == 2
    assert "invalid choice: " in ran.error_line and hint in ran.error_line, ran.error_line


# -- a closed pipe ------------------------------------------------------------------------------
@pytest.mark.parametrize("unbuffered", ["1", None])
@pytest.mark.parametrize(
    "args",
    [
        ["plot", "triangular", "--base-lr", "0.1", "--max-lr", "1", "--step-size", "5", "--no-png"],
        ["find", "--help"],
        ["--version"],
    ],
)
def test_a_closed_pipe_exits_141_quietly(
    args: list[str], unbuffered: str | None, cli_process
) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before cyclr writes, as after `| head -1`
    try:
        ran = cli_process(*args, stdout=write, PYTHONUNBUFFERED=unbuffered)
    finally:
        os.close(write)
    assert ran.rc == 141, ran.err
    assert ran.err == ""


# -- the package's face -------------------------------------------------------------------------
def test_all_lists_the_public_api_only() -> None:
    assert set(cyclr.cli.__all__) <= set(dir(cyclr.cli))
    assert "main" in cyclr.cli.__all__ and "sys" not in cyclr.cli.__all__

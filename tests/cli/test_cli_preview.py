"""``cyclr plot`` on very long schedules (sampled, exact at the sampled steps), its --out checked
before the preview (.png added without an extension), and the install hints."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.support import ROOT

import cyclr
import cyclr.cli

FAR = json.dumps({"type": "Piecewise", "knots": [0, 7, 1e15], "values": [0.1, 1.0, 0.01]})


def _limited(*args: str, memory_gb: int = 4) -> subprocess.CompletedProcess[str]:
    """``cyclr ARGS`` in a fresh interpreter with ``memory_gb`` of address space."""

    def limit() -> None:
        size = memory_gb * 2**30
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "cyclr.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=limit,
    )


def _numbers(line: str) -> dict[str, float]:
    found = re.findall(r"(start|max|min|last) ([-+.\de]+)(?: at step (\d+))?", line)
    values = {k: float(v) for k, v, _ in found}
    values.update({f"{k}_step": float(s) for k, _, s in found if s})
    return values


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS")
@pytest.mark.parametrize(
    ("args", "schedule", "steps", "peak_step"),
    [
        (
            ["triangular", "--base-lr", "0.1", "--max-lr", "1", "--step-size", "5"],
            cyclr.Triangular(0.1, 1.0, 5),
            10**12,
            5,
        ),
        ([FAR], cyclr.Piecewise((0, 7, 1e15), (0.1, 1.0, 0.01)), None, 7),
    ],
)
def test_plot_samples_a_huge_number_of_steps_exactly(
    args: list[str],
    schedule: cyclr.Schedule,
    steps: int | None,
    peak_step: int,
    tmp_path: Path,
) -> None:
    png = tmp_path / "s.png"
    more = ["--steps", str(steps)] if steps else []
    momentum = ["--momentum"] if isinstance(schedule, cyclr.Triangular) else []
    proc = _limited("plot", *args, *more, *momentum, "--out", str(png))
    assert proc.returncode == 0, proc.stderr
    last = (steps or 10**15 + 1) - 1
    lines = proc.stdout.splitlines()
    assert re.fullmatch(rf".*, steps 0-{last} \(sampled at [\d,]+ steps\)", lines[0]), lines[0]
    sampled = int(re.search(r"sampled at ([\d,]+)", lines[0]).group(1).replace(",", ""))
    assert 64 <= sampled <= 10_000
    values = _numbers(lines[2])
    assert values["start"] == float(f"{schedule(0):.4g}")
    assert values["last"] == float(f"{schedule(last):.4g}")
    assert values["max"] == float(f"{schedule(peak_step):.4g}")
    assert values["max_step"] == peak_step  # the phase boundaries are among the samples
    assert len(lines[1].split()[1]) == 64  # the sparkline
    assert png.stat().st_size > 10_000
    assert f"Wrote {png}" in proc.stdout


def test_plot_of_a_short_schedule_evaluates_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plot", "triangular", "--base-lr", "0.1", "--max-lr", "1", "--step-size", "3"]
    assert cyclr.cli.main([*args, "--steps", "4000", "--no-png"]) == 0
    out = capsys.readouterr().out
    assert "sampled" not in out and out.startswith(
        "Triangular(base_lr=0.1, max_lr=1, step_size=3), steps 0-3999\n"
    )
    y = cyclr.Triangular(0.1, 1.0, 3)(np.arange(4000))
    assert f"max {y.max():.4g} at step {int(np.argmax(y))}" in out


def test_plot_steps_beyond_exact_float_steps_exit_2(cli) -> None:
    ran = cli("plot", "constant", "--value", "0.1", "--steps", str(2**53 + 1), "--no-png")
    assert ran.rc == 2
    assert "--steps: expected a positive integer <= 2**53" in ran.error_line
    far = json.dumps({"type": "Piecewise", "knots": [0, 1e300], "values": [0.1, 1.0]})
    ran = cli("plot", far, "--no-png")
    assert ran.rc == 2
    assert "ends at step 1e+300, beyond what can be previewed; give --steps (at most " in (
        ran.error_line
    )


# -- --out --------------------------------------------------------------------------------------
def test_an_image_path_without_an_extension_gets_png(tmp_path: Path, cli) -> None:
    out = tmp_path / "preview"
    ran = cli("plot", "constant", "--value", "0.1", "--out", out)
    assert ran.rc == 0, ran
    assert f"Wrote {out}.png" in ran.out and (tmp_path / "preview.png").is_file()
    assert not out.exists()


def test_plot_to_an_unknown_format_exits_2_before_any_output(tmp_path: Path, cli) -> None:
    ran = cli("plot", "constant", "--value", "0.1", "--out", tmp_path / "s.xyz")
    assert ran.rc == 2 and ran.out == "", ran
    assert "unknown image format 'xyz'" in ran.error_line


# -- install hints ------------------------------------------------------------------------------
def test_install_hints_point_to_a_clone() -> None:
    for path in Path(cyclr.cli.__file__).parent.glob("*.py"):
        assert "pip install 'cyclr[" not in path.read_text(), path.name
    from cyclr.cli._common import CLIError, require

    with pytest.raises(CLIError, match=r"needs no_such_module_xyz: pip install -e '\.\[plot\]'"):
        require("no_such_module_xyz", extra="plot")

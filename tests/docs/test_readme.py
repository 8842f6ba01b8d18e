"""Every Python block of the README runs as shown: self-contained, in a fresh interpreter."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
_FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
#: Optional extras a block may need; without them the block is skipped, saying which.
_EXTRAS = {
    "keras": "keras",
    "optax": "jax",
    "lightning": "lightning",
    "torch": "torch",
    "transformers": "hf",
}


def blocks() -> list[tuple[int, str]]:
    """``(line, code)`` of every ```python block."""
    text = README.read_text()
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _FENCE.finditer(text)]


def test_the_readme_has_python_blocks() -> None:
    assert len(blocks()) >= 8


@pytest.mark.slow
@pytest.mark.parametrize(("line", "code"), blocks(), ids=[f"line{n}" for n, _ in blocks()])
def test_readme_block_runs_as_shown(line: int, code: str, tmp_path: Path) -> None:
    for module, extra in _EXTRAS.items():
        uses = re.search(rf"^\s*(import|from) {module}\b", code, re.M)
        if uses and importlib.util.find_spec(module) is None:
            pytest.skip(f"README block at line {line} needs the {extra} extra")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}  # a block picks its own
    env.update(MPLBACKEND="Agg", OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"README.md line {line}:\n{proc.stderr[-3000:]}"

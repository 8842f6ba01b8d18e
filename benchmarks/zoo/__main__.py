"""``python benchmarks/zoo [options]``: run the task zoo (see :mod:`zoo.cli`)."""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python benchmarks/zoo`, the folder itself is sys.path[0]: import the package `zoo`
# from benchmarks/ instead, so that its modules are not also importable under bare names (the
# spawned worker processes inherit this sys.path).
_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)
elif str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

from zoo.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

"""Helpers shared by the tests (no tests, no fixtures: those live in the conftest.py files).

Modules by what they hold: ``models`` (small data sets and torch models), ``state`` (capture
and bitwise comparison), ``probes`` (counting loaders and optimizer steps), ``distributed``
(worker processes), ``lightning_models``, ``bad_options`` (range-test options and their
messages) and ``cli`` (running the ``cyclr`` command).
"""

from pathlib import Path

#: The repository root.
ROOT = Path(__file__).resolve().parents[2]

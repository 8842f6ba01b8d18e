"""``cyclr demo``: cyclical learning rates and super-convergence end to end, on MNIST-1D.

- :mod:`cyclr.demo.config`: the settings (:class:`DemoConfig`);
- :mod:`cyclr.demo.experiment`: the run (:func:`run`): range test, four policies, timing;
- :mod:`cyclr.demo.runs`: what each seed ran (:class:`SeedRun`, :class:`PolicyRun`);
- :mod:`cyclr.demo.results`: what it measured over seeds (:class:`DemoResult`);
- :mod:`cyclr.demo.report`: the report folder (plots, ``results.json``, ``summary.md``);
- :mod:`cyclr.demo.mnist1d`: the task (MNIST-1D generated locally, the models, training).
"""

from __future__ import annotations

from cyclr.demo.config import DemoConfig
from cyclr.demo.experiment import run
from cyclr.demo.report import summary_markdown, write_report
from cyclr.demo.results import DemoResult
from cyclr.demo.runs import PolicyRun, SeedRun

__all__ = [
    "DemoConfig",
    "DemoResult",
    "PolicyRun",
    "SeedRun",
    "run",
    "summary_markdown",
    "write_report",
]

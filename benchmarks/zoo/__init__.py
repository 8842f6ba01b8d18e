"""The task zoo: do cyclr's automatic bounds train as well as a grid search, on tasks it was never
tuned on, and better than what users pick instead?

Modules:

- :mod:`zoo.tasks`: the tasks (data generated locally or bundled with scikit-learn, the models,
  the metric, budget, batch size and seeds of each);
- :mod:`zoo.methods`: one training run, and every method (the oracle's grids, cyclr, the peers);
- :mod:`zoo.plan`: the jobs, the grids that grow until their best point is inside, and the pool
  of worker processes that runs them;
- :mod:`zoo.report`: regret, goals, the Markdown tables and the plot;
- :mod:`zoo.cli`: the command line (``python benchmarks/zoo --help``).
"""

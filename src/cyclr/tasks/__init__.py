"""Built-in tasks that need no download, for the demo, the tests and the benchmarks."""

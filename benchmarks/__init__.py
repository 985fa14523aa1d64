"""Benchmarks for carbs: sample efficiency and cost awareness against Optuna and random search.

Modules:

* :mod:`benchmarks.problems` - cost-aware test problems and their true Pareto fronts;
* :mod:`benchmarks.optimizers` - one ask/tell adapter per optimizer;
* :mod:`benchmarks.run` - the command line that runs optimizers and writes JSONL;
* :mod:`benchmarks.metrics` - best output at equal cost and Pareto-front regret;
* :mod:`benchmarks.report` - markdown tables and plots from a JSONL file.
"""

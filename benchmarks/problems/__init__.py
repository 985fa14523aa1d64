"""Cost-aware benchmark problems and their registry.

``PROBLEMS`` maps a name to a :class:`Problem`. Every problem returns
``(output_to_minimise, cost, failed)`` from ``evaluate(params, rng)`` and, where
computable, the true best noise-free output at each cost from
``true_best_at_cost``. Importing this package does not import carbs.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.problems import (
    boosting,
    branin_mf,
    digits_choices,
    digits_mlp,
    fixed_cost,
    flaky,
    gpu_memory,
    hartmann,
    lm_shape,
    model_menu,
    scaling_law,
    sparse20,
    startup,
    stragglers,
    vision_scaling,
)
from benchmarks.problems.base import (
    EvalResult,
    ParamKind,
    ParamSpec,
    ParamValues,
    Problem,
    to_carbs_params,
)

PROBLEMS: dict[str, Problem] = {
    problem.name: problem
    for problem in (
        hartmann.make_problem(),
        scaling_law.make_problem(),
        digits_mlp.make_problem(),
        gpu_memory.make_problem(),
        sparse20.make_problem(),
        lm_shape.make_problem(),
        digits_choices.make_problem(),
        branin_mf.make_problem(),
        boosting.make_problem(),
        vision_scaling.make_problem(),
        # Held-out variants with a start-up cost per run (seconds; GPU-hours).
        startup.with_startup(boosting.make_problem(), 1.0, "boosting_startup"),
        startup.with_startup(vision_scaling.make_problem(), 0.05, "vision_startup"),
        # Held-out variants whose runs all cost the same: counted runs (exactly 1 each),
        # and ten-minute runs (GPU-hours) that overrun their box by up to 2%.
        fixed_cost.with_fixed_cost(boosting.make_problem(), 1.0, 0.0, "boosting_fixed"),
        fixed_cost.with_fixed_cost(vision_scaling.make_problem(), 1 / 6, 0.02, "vision_fixed"),
        # Held-out: the model picked by name from a menu, a categorical param that drives cost.
        model_menu.make_problem(),
        # Held-out: wall-clock costs that overrun a little, and 5% of runs that straggle 3x.
        stragglers.with_stragglers(boosting.make_problem(), 0.1, 0.05, 3.0, "boosting_stragglers"),
        stragglers.with_stragglers(
            vision_scaling.make_problem(), 0.1, 0.05, 3.0, "vision_stragglers"
        ),
        # Held-out: one run in ten fails whatever its params (pre-emption, a lost node).
        flaky.with_flaky_failures(boosting.make_problem(), 0.1, "boosting_flaky"),
        flaky.with_flaky_failures(vision_scaling.make_problem(), 0.1, "vision_flaky"),
    )
}

__all__ = [
    "PROBLEMS",
    "EvalResult",
    "ParamKind",
    "ParamSpec",
    "ParamValues",
    "Problem",
    "check_problem",
    "check_problems",
    "to_carbs_params",
]


def check_problem(problem: Problem, seed: int = 0) -> None:
    """Raise ``AssertionError`` unless ``problem`` is well formed.

    Checks that the search centre evaluates without failure to a finite output and
    a positive cost, that random draws stay inside the bounds, and that
    ``true_best_at_cost`` (where known) is finite from ``min_cost`` on, non-increasing
    in cost and never better than the search centre's noise-free output at its
    cost, and that the output ceiling is no better than the true front. When carbs
    is importable the params must also convert to carbs ``Param`` objects.
    """
    rng = np.random.default_rng(seed)
    output, cost, failed = problem.evaluate(problem.search_center, rng)
    assert not failed, f"{problem.name}: the search centre failed"
    assert math.isfinite(output), f"{problem.name}: non-finite output {output} at the centre"
    assert math.isfinite(cost) and cost > 0, f"{problem.name}: bad cost {cost} at the centre"
    for spec in problem.params:
        value = spec.sample(rng)
        legal = value in spec.values if spec.is_listed else spec.low <= value <= spec.high
        assert legal, f"{problem.name}.{spec.name}: {value} out of bounds"
    if problem.has_true_front:
        costs = np.geomspace(problem.min_cost, problem.max_cost, 25)
        best = [problem.true_best_at_cost(float(c)) for c in costs]
        assert all(b is not None and math.isfinite(b) for b in best), f"{problem.name}: {best}"
        diffs = np.diff(np.asarray(best, dtype=float))
        assert (diffs <= 1e-9).all(), f"{problem.name}: true_best_at_cost increases with cost"
        truth = problem.noise_free_output(problem.search_center)
        if truth is not None and cost <= problem.max_cost:
            reachable = problem.true_best_at_cost(cost)
            assert reachable is not None and reachable <= truth + 1e-9, (
                f"{problem.name}: the centre beats the true front ({truth} < {reachable})"
            )
    assert math.isfinite(problem.ceiling), f"{problem.name}: non-finite output ceiling"
    for level in problem.cost_levels():
        best_at_level = problem.true_best_at_cost(float(level))
        assert best_at_level is None or best_at_level <= problem.ceiling, (
            f"{problem.name}: the ceiling {problem.ceiling} beats the true front at cost {level}"
        )
    try:
        import carbs  # noqa: F401
    except ImportError:
        return
    assert len(to_carbs_params(problem)) == len(problem.params)


def check_problems(seed: int = 0) -> None:
    """Run :func:`check_problem` on every registered problem (at least five)."""
    assert len(PROBLEMS) >= 5, "the suite needs at least five problems"
    for problem in PROBLEMS.values():
        check_problem(problem, seed)

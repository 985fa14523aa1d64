"""Mutation check of the decision logic: each mutation of the score must make a test fail.

Run from the repository root: ``python tools/mutation_check.py``. Each line of
:data:`MUTATIONS` breaks one term of the acquisition (a flipped clamp, a dropped
exploration bias, prior density, success probability or cost cap, a wrong target
mode, a batch that ignores its own earlier points); the script applies it, runs
the decision tests, restores the file and prints ``caught`` or ``MISSED``; it works
in a temporary copy of the repository, so the working tree is never edited. Every
line must say ``caught``. :data:`STOPPING_MUTATIONS` break the early-stopping rule
(a reversed threshold, a dropped minimum, the wrong target, a stopped run's
partial output taken for its final one, a warm start that leaves the prior runs'
curves behind) and run against ``tests/test_stopping.py``;
:data:`RESAMPLE_MUTATIONS` break how resample turns are counted,
:data:`FIT_MUTATIONS` how a GP fit keeps its best step, and the edge lists
(:data:`FRONT_AND_LAW_MUTATIONS`, :data:`SPACE_AND_STOPPING_MUTATIONS`,
:data:`ANALYSIS_MUTATIONS`) the front's rules, the scaling laws, the spaces' bounds
and the analysis views at their edges, each against its own test file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

MUTATIONS = [
    (
        "carbs/acquisition.py",
        "return pareto_value_at_cost.clamp_min(floor)",
        "return pareto_value_at_cost.clamp_max(floor)",
    ),
    (
        "carbs/acquisition.py",
        "log_expected_improvement(surrogate_mean, surrogate_std, target + exploration_bias)",
        "log_expected_improvement(surrogate_mean, surrogate_std, target)",
    ),
    (
        "carbs/acquisition.py",
        "is_affordable, log_ei + log_prior_density + log_success,",
        "is_affordable, log_ei + log_success,",
    ),
    (
        "carbs/acquisition.py",
        "is_affordable, log_ei + log_prior_density + log_success,",
        "is_affordable, log_ei + log_prior_density,",
    ),
    (
        "carbs/acquisition.py",
        "is_affordable = predicted_cost < max_cost",
        "is_affordable = predicted_cost <= max_cost",
    ),
    (
        "carbs/suggestions.py",
        "best = model.output_to_surrogate(front[-1].mean_output)",
        "best = model.output_to_surrogate(front[0].mean_output)",
    ),
    (
        "carbs/suggestions.py",
        "log_prior_density=candidates.log_prior_density,",
        "log_prior_density=torch.zeros_like(candidates.log_prior_density),",
    ),
    (
        "carbs/suggestions.py",
        "success_probability=predictions.success_probability,",
        "success_probability=torch.ones_like(predictions.success_probability),",
    ),
    (
        "carbs/suggestions.py",
        "exploration_bias=config.exploration_bias,\n        log_prior_density=",
        "exploration_bias=0.0,\n        log_prior_density=",
    ),
    ("carbs/suggestions.py", "max_cost=config.max_suggestion_cost,", "max_cost=None,"),
    (
        "carbs/suggestions.py",
        "        high = min(high, config.max_suggestion_cost)",
        "        pass",
    ),
    (
        "carbs/suggestions.py",
        "    return improvement_target(predictions.pareto_surrogate, floor=floor), None",
        "    return improvement_target(predictions.pareto_surrogate), None",
    ),
    (
        "carbs/suggestions.py",
        "    if budget < front[0].mean_cost:",
        "    if False:",
    ),
    (
        "carbs/suggestions.py",
        "return nothing, torch.where(within, 0.0, -math.inf)",
        "return nothing, torch.where(within, -math.inf, 0.0)",
    ),
    # Below the front, candidates scored against the worst run (format 8).
    (
        "carbs/suggestions.py",
        "predictions.surrogate_std, reference + exploration_bias",
        "predictions.surrogate_std, reference",
    ),
    (
        "carbs/suggestions.py",
        "torch.where(within, log_ei, -math.inf)",
        "torch.where(within, 0.0 * log_ei, -math.inf)",
    ),
    (
        "carbs/suggestions.py",
        "reference = model.worst_success_surrogate if config.is_below_front_scored else None",
        "reference = None",
    ),
    (
        "carbs/suggestions.py",
        "exploration_bias=config.exploration_bias,\n    )",
        "exploration_bias=0.0,\n    )",
    ),
    (
        "carbs/surrogate/model.py",
        "self.worst_success_surrogate = float(y[: len(successes)].min())",
        "self.worst_success_surrogate = float(y[: len(successes)].max())",
    ),
    (
        "carbs/suggestions.py",
        "    low = cheapest if low_cost is None else min(low_cost, cheapest)",
        "    low = cheapest",
    ),
    (
        "carbs/coverage.py",
        "    return SearchOrigins(torch.cat([origins, below]), floor, plane, ceiling)",
        "    return SearchOrigins(origins, floor, plane, ceiling)",
    ),
    (
        "carbs/suggestions.py",
        "                shortfall = (plane_log_cost - math.log(budget)).clamp_min(0.0)",
        "                pass",
    ),
    # Categorical params: the sampler's switches, the prior's choice term, the kernel's
    # equality, the cost plane's offsets.
    (
        "carbs/candidates.py",
        "return torch.where(changes < self.change_probability, switched, origin_choices)",
        "return origin_choices",
    ),
    (
        "carbs/candidates.py",
        "log_density = log_density + choices.log_probability(points, origins)",
        "pass",
    ),
    (
        "carbs/candidates.py",
        "steps, centres = points[:, real], origins[:, real]",
        "pass",
    ),
    (
        "carbs/surrogate/kernels.py",
        "differs = x1[..., :, column, None] != x2[..., None, :, column]",
        "differs = (x1[..., :, column, None] - x2[..., None, :, column]).abs()",
    ),
    (
        "carbs/coverage.py",
        "            value = value + offsets[choice]",
        "            pass",
    ),
    (
        "carbs/surrogate/model.py",
        "            query = scaled_log_cost.clamp(low, high).unsqueeze(-1)",
        "            query = scaled_log_cost.unsqueeze(-1)",
    ),
    (
        "carbs/sweep.py",
        "            model.add_pending(new_pending, config.outstanding_suggestion_estimator)",
        "            pass",
    ),
    (
        "carbs/sweep.py",
        "        pending += batch.points",
        "        pending += []",
    ),
    (
        "carbs/surrogate/model.py",
        "+ [worst] * imputed,",
        "+ [max(o.output for o in successes)] * imputed,",
    ),
]


MUTATIONS += [
    (
        "carbs/suggestions.py",
        "high = dearest if high_cost is None else max(high_cost, dearest)",
        "high = dearest",
    ),
    (
        "carbs/coverage.py",
        "ceiling = math.exp(min(log_dearest, math.log(config.max_suggestion_cost)))",
        "ceiling = math.exp(max(log_dearest, math.log(config.max_suggestion_cost)))",
    ),
    ("carbs/suggestions.py", "        search.ceiling_cost,\n", ""),
]
"""Budgets above the front: ignored, uncapped, or never passed to the acquisition."""

MUTATIONS += [
    (
        "carbs/coverage.py",
        "if gain <= _chi_squared_threshold(1):",
        "if gain <= math.log(costs.shape[0]):",
    ),
    (
        "carbs/coverage.py",
        "value = torch.logaddexp(value, torch.full_like(value, math.log(self.overhead)))",
        "pass",
    ),
    (
        "carbs/coverage.py",
        "space.choice_counts(), config.is_cost_overhead_fitted)",
        "space.choice_counts())",
    ),
    (
        "carbs/coverage.py",
        "                overhead, solution = trial",
        "                pass",
    ),
]
"""A fixed cost per run in the cost plane (format 9): kept without significance, not
applied to the predicted cost, never fitted, or fitted and dropped."""

MUTATIONS += [
    (
        "carbs/coverage.py",
        "if plane is None or (config.is_cost_plane_tested and not plane.is_significant):",
        "if plane is None:",
    ),
    (
        "carbs/coverage.py",
        "if plane is None or (config.is_cost_plane_tested and not plane.is_significant):",
        "if plane is None or not plane.is_significant:",
    ),
    (
        "carbs/coverage.py",
        ") > _chi_squared_threshold(design.shape[1] - 1)",
        ") > 0.0",
    ),
    (
        "carbs/suggestions.py",
        "return min(max(math.exp(log_low + u * (log_high - log_low)), low), high)",
        "return math.exp(log_low + u * (log_high - log_low))",
    ),
]
"""Costs the params do not drive (format 10): the plane used anyway, the setting
ignored, or every plane called significant; a budget below the front by rounding."""

MUTATIONS += [
    (
        "carbs/pareto.py",
        "        cheap = challengers or resampled or cheap",
        "        cheap = resampled or cheap",
    ),
    (
        "carbs/pareto.py",
        "if g.count == 1 and g.signed_mean(sign) > best_sample",
        "if g.count == 1 and g.signed_mean(sign) > confirmed.signed_mean(sign)",
    ),
    (
        "carbs/sweep.py",
        "            config.is_pareto_bucket_challenged,\n",
        "",
    ),
    (
        "carbs/pareto.py",
        "rest.sort(key=lambda g: (g.mean_cost, -g.signed_mean(sign)))",
        "rest.sort(key=lambda g: g.mean_cost)",
    ),
    ("carbs/sweep.py", "            config.is_pareto_tie_better_first,\n", ""),
    (
        "carbs/pareto.py",
        "return min(max(mean, float(array.min())), float(array.max()))",
        "return mean",
    ),
]
"""A challenged bucket (format 10): no challenger, one that need only beat the
confirmed mean, or the setting never passed to the sweep's front."""

MUTATIONS += [
    (
        "carbs/coverage.py",
        "direction = level_direction(plane.slope, model.performance_gradient(cheapest))",
        "direction = None",
    ),
    (
        "carbs/coverage.py",
        "gradient = torch.where(drives_cost, performance_gradient, 0.0)",
        "gradient = performance_gradient",
    ),
    ("carbs/coverage.py", "level = rise - (rise @ along) * along", "level = rise"),
    (
        "carbs/coverage.py",
        "if model is not None and config.is_level_descent_below_front:",
        "if model is not None:",
    ),
]
"""Level descent below the front: never used, moving params that do not drive cost,
not projected, or not switchable."""

STOPPING_MUTATIONS = [
    ("carbs/stopping.py", "should_stop = probability < rule.probability", "should_stop = True"),
    (
        "carbs/stopping.py",
        "should_stop = probability < rule.probability",
        "should_stop = probability > rule.probability",
    ),
    ("carbs/stopping.py", "if not is_at_most(rule.min_fraction, fraction):", "if False:"),
    ("carbs/stopping.py", "if len(usable) < rule.min_runs:", "if len(usable) < 3:"),
    ("carbs/stopping.py", "if is_at_most(c, cost)]", "]"),
    (
        "carbs/stopping.py",
        "if is_at_most(planned_cost, cost):",
        "if is_at_most(2 * planned_cost, cost):",
    ),
    (
        "carbs/stopping.py",
        "rel_tol=COST_RTOL, abs_tol=0.0)",
        "rel_tol=0.1, abs_tol=0.0)",
    ),
    (
        "carbs/projection.py",
        "math.sqrt((1.0 / unit) ** 2 + float(along @ along))",
        "(1.0 / unit)",
    ),
    (
        "carbs/projection.py",
        "    scaled = features / units\n    kept",
        "    scaled = features\n    kept",
    ),
    ("carbs/projection.py", "unit = power_of_two_scale(query)", "unit = 1.0"),
    (
        "carbs/stopping.py",
        "unit = _goodness_unit([target, *_curve_goodness(usable)])",
        "unit = _goodness_unit([value, target, *_curve_goodness(usable)])",
    ),
    ("carbs/stopping.py", "if len(usable) >= CURVES_PER_COEFFICIENT * 3", "if False"),
    (
        "carbs/surrogate/model.py",
        "+ [o.projected_output for o in stopped]",
        "+ [o.output for o in stopped]",
    ),
    (
        "carbs/pareto.py",
        "    successes = [o for o in observations if o.is_complete]\n    if not successes:",
        "    successes = [o for o in observations if not o.is_failure]\n    if not successes:",
    ),
    (
        "carbs/sweep.py",
        'predicted = suggestion.log_info.get("predicted_cost")',
        "predicted = None",
    ),
    ("carbs/persistence.py", "self._sweep.adopt_curves(curves)", "pass"),
]


RESAMPLE_MUTATIONS = [
    (
        "carbs/sweep.py",
        "config, successes, state.skipped_resample_turns, [*observed, *pending]",
        "config, successes, state.skipped_resample_turns, observed",
    ),
    (
        "carbs/resampling.py",
        "return skipped_turns + repeat_count(inputs)",
        "return skipped_turns",
    ),
    ("carbs/sweep.py", "state.skipped_resample_turns += 1", "pass"),
    # Which member is re-run: none above the cap, none whose repeat failed.
    (
        "carbs/resampling.py",
        "and (max_cost is None or group.mean_cost <= max_cost)",
        "and True",
    ),
    (
        "carbs/resampling.py",
        "and input_key(group.input_in_basic) not in failed_keys",
        "and True",
    ),
    (
        "carbs/migrations.py",
        '"skipped_resample_turns": max(0, count - repeats)}',
        '"skipped_resample_turns": count}',
    ),
]
"""Break how resample turns are counted (from the repeated inputs, skips included) and
which member is re-run."""

PROMISE_MUTATIONS = [
    # Points already running: warm-up draws again, the Bayesian choice passes them over.
    (
        "carbs/suggestions.py",
        "if input_key(candidates.points[0]) not in taken_keys:",
        "if True:",
    ),
    (
        "carbs/suggestions.py",
        "best = _not_running(scores, candidates.points, pending)",
        "best = scores.best_index()",
    ),
    # Every candidate above the cap: the best odds of costing less, not the cheapest mean.
    (
        "carbs/suggestions.py",
        "best = int(torch.argmax(below))",
        "best = int(torch.argmin(predictions.cost))",
    ),
]
"""Break the promises a suggestion keeps: distinct from running points, under the cap."""
PROMISE_TESTS = [
    "tests/test_optimizer.py",
    "tests/test_decisions.py",
    "-k",
    "distinct or not_costed or likeliest",
]

MIGRATION_MUTATIONS = [
    (
        "carbs/migrations.py",
        'return _with_setting_off(data, 7, "is_level_descent_below_front")',
        'return {**data, "format_version": 7}',
    ),
    (
        "carbs/migrations.py",
        'return _with_setting_off(data, 8, "is_below_front_scored")',
        'return {**data, "format_version": 8}',
    ),
    (
        "carbs/migrations.py",
        'return _with_setting_off(data, 9, "is_cost_overhead_fitted")',
        'return {**data, "format_version": 9}',
    ),
    (
        "carbs/migrations.py",
        'tested = _with_setting_off(data, 10, "is_cost_plane_tested")',
        'tested = {**data, "format_version": 10}',
    ),
    (
        "carbs/migrations.py",
        'return _with_setting_off(tested, 10, "is_pareto_bucket_challenged")',
        "return tested",
    ),
    (
        "carbs/migrations.py",
        'return _with_setting_off(data, 11, "is_pareto_tie_better_first")',
        'return {**data, "format_version": 11}',
    ),
]
"""Format-7 to -10 migrations: old states would switch to the level descent, to
candidates below the front scored against the worst run, to a cost plane with an
overhead, or to a tested cost plane."""

FIT_MUTATIONS = [
    (
        "carbs/surrogate/gp.py",
        "if not (isinstance(error, FIT_NUMERICAL_ERRORS) and best_values):",
        "if True:",
    ),
    ("carbs/surrogate/gp.py", "if value < best_loss:", "if True:"),
]
"""A GP fit whose line search steps into an invalid kernel: it must keep its best step."""

FRONT_AND_LAW_MUTATIONS = [
    ("carbs/pareto.py", "confirmed = max(resampled", "confirmed = min(resampled"),
    (
        "carbs/pareto.py",
        "g.count == 1 and g.signed_mean(sign) > best_sample",
        "g.count == 1 and g.signed_mean(sign) >= best_sample",
    ),
    ("carbs/pareto.py", "cheap, rest = rest[:1], rest[1:]", "cheap, rest = rest[-1:], rest[:-1]"),
    (
        "carbs/pareto.py",
        "is_better = group.signed_mean(sign) > last.signed_best(sign)",
        "is_better = group.signed_mean(sign) >= last.signed_best(sign)",
    ),
    (
        "carbs/pareto.py",
        "threshold = float(np.quantile(all_costs, min_pareto_cost_fraction))",
        "threshold = float(np.quantile(all_costs, min_pareto_cost_fraction, method='lower'))",
    ),
    (
        "carbs/laws.py",
        "if isinstance(space, OrdinalSpace):\n        return space.unit",
        "if isinstance(space, OrdinalSpace):\n        return 1.0",
    ),
    (
        "carbs/laws.py",
        "if bands and same_value(bands[-1][2], value):",
        "if bands and bands[-1][2] == value:",
    ),
    (
        "carbs/laws.py",
        "bands[-1] = (bands[-1][0], cost, value)",
        "bands[-1] = (bands[-1][0], bands[-1][1], value)",
    ),
    ("carbs/laws.py", "key=lambda i: (distances[i], -i))", "key=lambda i: (distances[i], i))"),
    (
        "carbs/scaling.py",
        "if cost > high_cost * max_extrapolation or",
        "if cost >= high_cost * max_extrapolation or",
    ),
    (
        "carbs/scaling.py",
        "factor = cost / high_cost if cost > high_cost else low_cost / cost",
        "factor = cost / high_cost",
    ),
    ("carbs/scaling.py", "DEFAULT_MIN_R_SQUARED = 0.5", "DEFAULT_MIN_R_SQUARED = 0.3"),
    (
        "carbs/linefit.py",
        "1.0 / self.sum_weights + (x - self.x_mean) ** 2 / self.sxx",
        "(x - self.x_mean) ** 2 / self.sxx",
    ),
    ("carbs/linefit.py", "if (ws <= 0).any():", "if (ws < 0).any():"),
    ("carbs/linefit.py", "_RESOLVED_ULPS = 1024", "_RESOLVED_ULPS = 1"),
    (
        "carbs/linefit.py",
        "r_squared = 1.0 - ss_res / ss_tot if _is_resolved(ss_tot, sum_w, ys) else 1.0",
        "r_squared = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0",
    ),
]
"""The front's selection rules at their edges (ties, the cheap bucket's quantile), and
the scaling laws' units, bands, reliability and line fit."""

SPACE_AND_STOPPING_MUTATIONS = [
    (
        "carbs/spaces/real.py",
        "rounded = torch.where(rounded > high, rounded - self.rounding_factor, rounded)",
        "rounded = torch.where(rounded > high, rounded, rounded)",
    ),
    (
        "carbs/spaces/real.py",
        "return torch.where(rounded < low, rounded + self.rounding_factor, rounded)",
        "return torch.where(rounded <= low, rounded + self.rounding_factor, rounded)",
    ),
    (
        "carbs/spaces/real.py",
        "low = _lattice_end(low, step, math.floor)",
        "low = _lattice_end(low, step, math.ceil)",
    ),
    (
        "carbs/spaces/real.py",
        "high = _lattice_end(high, step, math.ceil)",
        "high = _lattice_end(high, step, math.floor)",
    ),
    (
        "carbs/spaces/real.py",
        "return low - slack <= param <= high + slack",
        "return low + slack <= param <= high + slack",
    ),
    ("carbs/spaces/real.py", "for _ in range(BISECTION_STEPS):", "for _ in range(8):"),
    (
        "carbs/spaces/discrete.py",
        "positive and self.values[-1] >= 10 * self.values[0])",
        "positive and self.values[-1] > 10 * self.values[0])",
    ),
    (
        "carbs/spaces/discrete.py",
        "low = math.ceil(math.log(min, base) - 1e-9)",
        "low = math.ceil(math.log(min, base))",
    ),
    (
        "carbs/spaces/discrete.py",
        "low = points[0] - (points[1] - points[0]) / 2",
        "low = points[0]",
    ),
    (
        "carbs/spaces/discrete.py",
        "below = [v for v in self.values if v <= low or _is_close(v, low)]",
        "below = [v for v in self.values if v <= low]",
    ),
    (
        "carbs/spaces/discrete.py",
        "return (below[-1] if below else self.values[0], above[0] if above else self.values[-1])",
        "return (below[0] if below else self.values[0], above[0] if above else self.values[-1])",
    ),
    (
        "carbs/resampling.py",
        "counts = [g.count + pending_keys.count(input_key(g.input_in_basic)) for g in legal]",
        "counts = [g.count for g in legal]",
    ),
    ("carbs/stopping.py", "if len(usable) < rule.min_runs:", "if len(usable) <= rule.min_runs:"),
    (
        "carbs/stopping.py",
        "if len(usable) >= CURVES_PER_COEFFICIENT * 3 and np.ptp(log_costs) > 0.0:",
        "if len(usable) >= CURVES_PER_COEFFICIENT * 2 and np.ptp(log_costs) > 0.0:",
    ),
    (
        "carbs/stopping.py",
        "if len(rows) < CURVES_PER_COEFFICIENT * (features.shape[1] + 1):",
        "if len(rows) < CURVES_PER_COEFFICIENT * features.shape[1]:",
    ),
]
"""Spaces' lattices, bounds and listed values at their edges; a pending resample; how
many curves the stopping rule needs for each regressor."""

ANALYSIS_MUTATIONS = [
    (
        "carbs/analysis.py",
        "self.config.is_pareto_group_selection_conservative,",
        "False,",
    ),
    ("carbs/analysis.py", "self.config.is_pareto_bucket_challenged,", "True,"),
    ("carbs/analysis.py", "self.config.is_pareto_tie_better_first,", "True,"),
    (
        "carbs/analysis.py",
        "if max_cost is None or o.cost <= max_cost]",
        "if max_cost is None or o.cost < max_cost]",
    ),
    (
        "carbs/analysis.py",
        'max_cost, "max_cost", CARBSValueError, min_value=0, exclusive_min=True, finite=False',
        'max_cost, "max_cost", CARBSValueError, min_value=0, finite=False',
    ),
    (
        "carbs/predictions.py",
        "successes = [o for o in snapshot.observations if o.is_complete]",
        "successes = [o for o in snapshot.observations if not o.is_failure]",
    ),
    (
        "carbs/predictions.py",
        "failures = [o for o in snapshot.observations if o.is_failure]",
        "failures = []",
    ),
    ("carbs/predictions.py", "[o for o in snapshot.observations if o.is_stopped],", "[],"),
    (
        "carbs/projection.py",
        "return float(stats.t.sf((target - self.unit_mean) / self.unit_scale, self.dof))",
        "return float(stats.norm.sf((target - self.unit_mean) / self.unit_scale))",
    ),
    (
        "carbs/projection.py",
        "unit_scale=max(self.unit_scale, scale / self.unit))",
        "unit_scale=max(self.unit_scale, scale))",
    ),
]
"""The analysis views: a cap met exactly, the configured front rules, predictions from
failures and stopped runs; the projection's Student-t and its unit."""

RESAMPLE_TESTS = [
    "tests/test_optimizer.py",
    "tests/test_state.py",
    "tests/test_optuna_sampler.py",
    "-k",
    "resampl or format5 or sequential_pace",
]


def copy_of_repository(root: Path, destination: Path) -> None:
    """Copy the files git tracks (or would track) under ``root`` into ``destination``.

    Mutations are applied to this copy, never to the working tree: a commit made
    while the check runs must not pick up a mutated file.
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = root / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def planned_runs(tests: Sequence[str] = ()) -> list[tuple[tuple[str, str, str], list[str]]]:
    """Every mutation with the pytest arguments that must catch it (``tests`` for all
    of them, if given)."""
    decision_tests = [
        "tests/test_decisions.py",
        "tests/test_pareto.py",
        "tests/test_acquisition.py",
        "tests/test_coverage.py",
        "tests/test_choice_spaces.py",
        "tests/test_batch.py",
    ]
    groups = [
        (MUTATIONS, decision_tests),
        (STOPPING_MUTATIONS, ["tests/test_stopping.py"]),
        (RESAMPLE_MUTATIONS, RESAMPLE_TESTS),
        (PROMISE_MUTATIONS, PROMISE_TESTS),
        (MIGRATION_MUTATIONS, ["tests/test_state.py", "-k", "format"]),
        (FIT_MUTATIONS, ["tests/test_surrogate.py"]),
        (FRONT_AND_LAW_MUTATIONS, ["tests/test_front_and_laws_edges.py"]),
        (SPACE_AND_STOPPING_MUTATIONS, ["tests/test_space_and_stopping_edges.py"]),
        (ANALYSIS_MUTATIONS, ["tests/test_analysis_edges.py"]),
    ]
    return [(m, list(tests) or own) for mutations, own in groups for m in mutations]


def main() -> None:
    runs = planned_runs(sys.argv[1:])
    missed = 0
    with tempfile.TemporaryDirectory(prefix="carbs-mutation-") as scratch:
        copy = Path(scratch)
        copy_of_repository(Path(__file__).resolve().parent.parent, copy)
        # The copy's package must shadow an editable install of the working tree.
        environment = {**os.environ, "PYTHONPATH": str(copy)}
        for (path, old, new), tests in runs:
            file = copy / path
            src = file.read_text()
            assert src.count(old) == 1, (path, old)
            file.write_text(src.replace(old, new))
            try:
                r = subprocess.run(
                    [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                    capture_output=True,
                    text=True,
                    cwd=copy,
                    env=environment,
                )
                status = "caught" if r.returncode != 0 else "MISSED"
            finally:
                file.write_text(src)
            missed += status == "MISSED"
            print(f"{status}: {path}: {' '.join(new.split())[:70]}", flush=True)
    raise SystemExit(1 if missed else 0)


if __name__ == "__main__":
    main()

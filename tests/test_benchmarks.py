"""Keeps the benchmark suite from rotting: its problems and a tiny run of every optimizer."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the digits problem needs the bench extra")

from benchmarks.problems import PROBLEMS, check_problems
from benchmarks.run import main, parse_args, smoke


def test_every_problem_is_sound() -> None:
    check_problems()
    assert len(PROBLEMS) >= 5


def test_smoke_run_covers_every_problem_and_optimizer(tmp_path: Path) -> None:
    out = tmp_path / "smoke.jsonl"
    smoke(out)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    pairs = {(r["problem"], r["optimizer"]) for r in records}
    assert {p for p, _ in pairs} == set(PROBLEMS)
    assert {"carbs", "random"} <= {o for _, o in pairs}
    assert all(r["cost"] > 0 for r in records)


def test_first_seed_offsets_the_seeds_run(tmp_path: Path) -> None:
    def run(out: Path, *seed_args: str) -> list[dict]:
        argv = ["--problems", "hartmann3_mf", "--optimizers", "random", "--evals", "2"]
        main([*argv, *seed_args, "--out", str(out)])
        records = [json.loads(line) for line in out.read_text().splitlines()]
        timings = ("ask_seconds", "eval_seconds")
        return sorted(
            ({k: v for k, v in r.items() if k not in timings} for r in records),
            key=lambda r: (r["seed"], r["step"]),
        )

    offset = run(tmp_path / "offset.jsonl", "--first-seed", "3", "--seeds", "2")
    assert sorted({r["seed"] for r in offset}) == [3, 4]
    # A seed's run does not depend on which other seeds ran with it.
    every = run(tmp_path / "every.jsonl", "--seeds", "5")
    assert [r for r in every if r["seed"] >= 3] == offset
    with pytest.raises(SystemExit):
        parse_args(["--first-seed", "-1"])


def test_cheap_start_moves_only_cost_drivers_down() -> None:
    for problem in PROBLEMS.values():
        drivers = [spec for spec in problem.params if spec.drives_cost]
        assert drivers, f"{problem.name} declares no cost-driving param"
        for spec in problem.params:
            cheap = spec.to_carbs_param(is_cheap_start=True).search_center
            default = spec.to_carbs_param().search_center
            if spec.drives_cost:
                assert spec.low <= cheap < default
            else:
                assert cheap == default


def test_carbs_row_starts_cheap_and_the_ablation_mid_range() -> None:
    from benchmarks.optimizers import make_optimizer

    problem = PROBLEMS["sparse20"]
    centers = {
        name: {p.name: p.search_center for p in make_optimizer(name, problem, 0)._carbs.params}
        for name in ("carbs", "carbs_mid_start")
    }
    steps = next(spec for spec in problem.params if spec.name == "steps")
    assert centers["carbs"]["steps"] == steps.cheap_center() < steps.search_center
    assert centers["carbs_mid_start"]["steps"] == steps.search_center
    assert centers["carbs"]["lr"] == centers["carbs_mid_start"]["lr"]


def test_carbs_config_overrides_reach_the_optimizer(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.optimizers import CARBS_CONFIG_ENV, CarbsOptimizer

    monkeypatch.setenv(CARBS_CONFIG_ENV, '{"exploration_bias": 0.25, "resample_frequency": 0}')
    optimizer = CarbsOptimizer(PROBLEMS["hartmann3_mf"], seed=0)
    assert optimizer._carbs.config.exploration_bias == 0.25
    assert optimizer._carbs.config.resample_frequency == 0
    monkeypatch.setenv(CARBS_CONFIG_ENV, "[1]")
    with pytest.raises(ValueError, match=CARBS_CONFIG_ENV):
        CarbsOptimizer(PROBLEMS["hartmann3_mf"], seed=0)


def test_a_seed_offset_moves_carbs_path_and_not_the_problems_noise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``$CARBS_BENCH_SEED_OFFSET`` runs carbs down another random path on the same
    problem noise: the control a variant is paired against."""
    from benchmarks.optimizers import CARBS_SEED_OFFSET_ENV, CarbsOptimizer
    from benchmarks.run import run_one

    def sweep(optimizer: str) -> list[dict[str, object]]:
        records = run_one("hartmann3_mf", optimizer, 3, 4)
        return [{k: v for k, v in r.items() if not k.endswith("_seconds")} for r in records]

    monkeypatch.delenv(CARBS_SEED_OFFSET_ENV, raising=False)
    carbs_default, random_default = sweep("carbs"), sweep("random")
    monkeypatch.setenv(CARBS_SEED_OFFSET_ENV, "0")
    assert sweep("carbs") == carbs_default
    monkeypatch.setenv(CARBS_SEED_OFFSET_ENV, "1000")
    assert CarbsOptimizer(PROBLEMS["hartmann3_mf"], seed=3)._carbs.config.seed == 1003
    assert [r["params"] for r in sweep("carbs")] != [r["params"] for r in carbs_default]
    # The problem's noise (and every other optimizer) stays the seed's.
    assert sweep("random") == random_default
    monkeypatch.setenv(CARBS_SEED_OFFSET_ENV, "1.5")
    with pytest.raises(ValueError, match=CARBS_SEED_OFFSET_ENV):
        CarbsOptimizer(PROBLEMS["hartmann3_mf"], seed=0)


def test_paired_wins_counts_strictly_lower_regrets_on_shared_seeds() -> None:
    from benchmarks.report import paired_wins

    mine = {0: 0.1, 1: 0.5, 2: 0.3, 3: 0.2}
    theirs = {0: 0.2, 1: 0.4, 2: 0.3, 4: 0.9}
    assert paired_wins(mine, theirs) == (1, 3)


def test_sign_test_drops_ties_and_is_two_sided() -> None:
    from benchmarks.report import paired_sign_test as sign_test

    seeds = range(10)
    seven_of_ten = sign_test({s: 0.0 if s < 7 else 1.0 for s in seeds}, dict.fromkeys(seeds, 0.5))
    assert seven_of_ten == pytest.approx(0.34375)
    three_of_ten = sign_test({s: 1.0 if s < 7 else 0.0 for s in seeds}, dict.fromkeys(seeds, 0.5))
    assert three_of_ten == pytest.approx(seven_of_ten)
    # Two ties leave 7 of 8: less likely by chance than 7 of 10.
    tied = {s: 0.5 if s >= 8 else (0.0 if s < 7 else 1.0) for s in seeds}
    assert sign_test(tied, dict.fromkeys(seeds, 0.5)) == pytest.approx(0.0703125)
    assert sign_test(dict.fromkeys(seeds, 0.5), dict.fromkeys(seeds, 0.5)) == 1.0


def test_every_adapter_asks_legal_choices_and_listed_values() -> None:
    """Categorical params reach carbs as ``CategoricalSpace``, Optuna as a categorical
    distribution and random search as a uniform choice; ordinal ones (powers of two)
    as ``OrdinalSpace``, an Optuna index and a uniform position."""
    import numpy as np

    from benchmarks.optimizers import make_optimizer, unavailable_reason
    from benchmarks.problems import ParamSpec, Problem

    batch_sizes = (16, 32, 64, 128)

    def evaluate(params: dict, rng: np.random.Generator) -> tuple[float, float, bool]:
        loss = (params["optimizer"] != "adam") + abs(np.log2(params["batch_size"] / 64))
        return float(loss + params["x"] ** 2), float(params["batch_size"]), False

    problem = Problem(
        name="listed",
        description="choices and powers of two",
        params=(
            ParamSpec.categorical("optimizer", ("sgd", "adam", "lion"), search_center="sgd"),
            ParamSpec.ordinal("batch_size", batch_sizes, search_center=64, drives_cost=True),
            ParamSpec("x", "linear", -1.0, 1.0, search_center=0.0),
        ),
        evaluate_fn=evaluate,
        min_cost=16.0,
        max_cost=128.0,
        output_ceiling=10.0,
    )
    assert problem.params[1].cheap_center() == 16
    rng = np.random.default_rng(0)
    for name in ("carbs", "optuna_tpe", "random"):
        if unavailable_reason(name):
            continue
        optimizer = make_optimizer(name, problem, seed=0)
        seen = set()
        for _ in range(12):
            params = optimizer.ask()
            assert params["optimizer"] in ("sgd", "adam", "lion")
            assert params["batch_size"] in batch_sizes
            seen.add(params["optimizer"])
            optimizer.tell(params, *problem.evaluate(params, rng))
        assert len(seen) >= 2, name
    with pytest.raises(ValueError, match="centre among them"):
        ParamSpec.categorical("optimizer", ("sgd", "adam"), search_center="lion")
    with pytest.raises(ValueError, match="strictly increasing"):
        ParamSpec.ordinal("batch_size", (64, 32), search_center=64)


def test_parallel_optuna_sweeps_write_complete_records() -> None:
    pytest.importorskip("optuna")
    from benchmarks.optuna_workers import run_sweep

    for kind in ("carbs", "tpe"):
        records = run_sweep(kind, "hartmann3_mf", seed=0, workers=2, evals=6)
        assert len(records) == 6 and [r["step"] for r in records] == list(range(6))
        assert all(r["problem"] == "hartmann3_mf" and r["seed"] == 0 for r in records)
        assert records[0]["optimizer"] == ("carbs" if kind == "carbs" else "optuna_tpe") + (
            "[2 workers]"
        )
        costs = [r["cost"] for r in records]
        assert records[-1]["cumulative_cost"] == pytest.approx(sum(costs))
        names = {spec.name for spec in PROBLEMS["hartmann3_mf"].params}
        assert all(set(r["params"]) == names for r in records)
        assert len({json.dumps(r["params"], sort_keys=True) for r in records}) == 6


def test_learning_curves_end_where_the_problems_evaluate_ends() -> None:
    from benchmarks.learning_curves import check_curves

    check_curves("lm_scaling_curve", draws=20)
    check_curves("lm_crossing_curve", draws=20)
    check_curves("digits_mlp_curve", draws=2)


def test_the_crossing_curves_cross_where_the_learning_rate_is_too_high() -> None:
    """The held-out check's point: a run at 3x the optimal learning rate reads better
    than the optimal one at a tenth of its tokens and ends worse."""
    from benchmarks.learning_curves import CURVE_PROBLEMS
    from benchmarks.problems import scaling_law as lm

    problem = CURVE_PROBLEMS["lm_crossing_curve"]
    paths = {}
    for factor in (1.0, 3.0):
        params = {"n_params": 1e8, "tokens": 2e9, "lr": factor * lm.optimal_lr(1e8)}
        points = list(problem.curve(params, np.random.default_rng(0)))
        paths[factor] = [p.true_output for p in points]
    assert paths[3.0][0] < paths[1.0][0] - 0.2
    assert paths[3.0][-1] > paths[1.0][-1] + 0.02


def test_early_stopping_smoke_run_compares_every_method(tmp_path: Path) -> None:
    from benchmarks.early_stopping import main as early_stopping_main

    records = early_stopping_main(["--smoke", "--out", str(tmp_path / "es.jsonl")])
    methods = {r["method"] for r in records}
    assert methods == {"carbs_nostop", "carbs_stop", "tpe_median", "tpe_hyperband", "protein_trend"}
    nostop = [r for r in records if r["method"] == "carbs_nostop"]
    assert len(nostop) == 15 and not any(r["stopped"] for r in nostop)
    stopped = [r for r in records if r["stopped"]]
    assert all("would_join_front" in r for r in stopped)  # every stop was audited
    assert (tmp_path / "es.trajectories.jsonl").exists()


def _curve_record(step: int, final: float, readings: list[float], cost: float = 10.0) -> dict:
    """A completed run of planned ``cost`` that reported ``readings`` evenly, then ``final``."""
    n = len(readings) + 1
    curve = [[cost * (i + 1) / n, r] for i, r in enumerate(readings)] + [[cost, final]]
    return {
        "step": step,
        "planned_cost": cost,
        "cost": cost,
        "output": final,
        "failed": False,
        "stopped": False,
        "curve": curve,
    }


def test_the_replay_stops_runs_where_the_rule_would_and_audits_each_stop() -> None:
    from benchmarks.early_stopping_report import replayed_run

    # Five runs whose final loss is their first reading (at 25% of the cost) less 2, then a
    # run that reads far worse (stopped at once, though its full result would have led the
    # front) and a run that reads best (kept). Losses are minimised.
    run = [
        _curve_record(i, 2.0 + 0.1 * i, [4.0 + 0.1 * i, 3.0 + 0.1 * i, 2.5 + 0.1 * i])
        for i in range(5)
    ]
    run.append(_curve_record(5, 1.0, [9.0, 8.0, 7.0]))
    run.append(_curve_record(6, 1.5, [3.0, 2.4, 2.0]))
    replayed = replayed_run(run)
    assert [r["stopped"] for r in replayed] == [False] * 5 + [True, False]
    stopped = replayed[5]
    assert stopped["cost"] == pytest.approx(2.5)  # its first report past 20% of its cost
    assert stopped["would_join_front"] is True  # 1.0 beats every earlier run
    assert [r["cumulative_cost"] for r in replayed] == pytest.approx(
        [10, 20, 30, 40, 50, 52.5, 62.5]
    )


def test_the_known_final_bound_stops_exactly_the_runs_behind_the_front_by_the_margin() -> None:
    from benchmarks.stopping_bounds import known_final_run

    # A first run sets the front at 2.0; then a tie, a run 0.3 behind, a run that
    # leads, a failure and a dearer run, all reporting at 25%, 50% and 75% of cost 10.
    run = [_curve_record(i, final, [5.0, 4.0, 3.0]) for i, final in enumerate([2.0, 2.0, 2.3, 1.0])]
    failed = {**_curve_record(4, math.nan, [5.0]), "failed": True, "cost": 5.0}
    failed["curve"] = [[2.5, 5.0], [5.0, None]]
    run += [failed, _curve_record(5, 3.0, [5.0, 4.0, 3.0], cost=20.0)]

    def stopped(margin: float, min_fraction: float = 0.2) -> list[bool]:
        return [r["stopped"] for r in known_final_run(run, margin, min_fraction)]

    assert stopped(0.0) == [False, True, True, False, True, True]  # ties stop at margin 0
    assert stopped(1e-12) == [False, False, True, False, True, True]
    assert stopped(0.5) == [False, False, False, False, True, True]  # 3.0 is 2.0 behind 1.0
    assert stopped(2.5) == [False, False, False, False, True, False]
    replayed = known_final_run(run, 0.0, 0.2)
    assert [r["cost"] for r in replayed] == pytest.approx([10, 2.5, 2.5, 10, 2.5, 5.0])
    assert replayed[-1]["cumulative_cost"] == pytest.approx(32.5)
    # The stop waits for the first report at or past the minimum fraction.
    assert [r["cost"] for r in known_final_run(run, 0.0, 0.4)][1:3] == pytest.approx([5.0, 5.0])
    # A run whose only report past the minimum is its end is never cut.
    assert stopped(0.0, 0.8) == [False] * 4 + [False, False]


def _sweep(optimizer: str, runs: list[tuple[float, float]], seed: int = 0) -> list[dict]:
    """hartmann3_mf records of one seed, from ``(cost, true output)`` pairs in order."""
    records, spent = [], 0.0
    for step, (cost, output) in enumerate(runs):
        spent += cost
        records.append(
            {
                "problem": "hartmann3_mf",
                "optimizer": optimizer,
                "seed": seed,
                "step": step,
                "output": output,
                "true_output": output,
                "cost": cost,
                "failed": False,
                "cumulative_cost": spent,
            }
        )
    return records


def test_cells_at_the_variants_own_spend_cut_the_rivals_at_that_cost() -> None:
    from benchmarks.metrics import group_runs
    from benchmarks.report import cell_wins, level_medians

    # carbs spends 10 in all; the rival's better dear run comes after 110.
    carbs = _sweep("carbs", [(2.0, -3.0), (8.0, -3.2)])
    rival = _sweep("optuna_tpe", [(10.0, -3.1), (100.0, -3.7), (5.0, -3.8)])
    nested: dict = {"hartmann3_mf": {}}
    for (problem, optimizer, _), run in group_runs(carbs + rival).items():
        nested[problem].setdefault(optimizer, []).append(run)

    after_all = level_medians(nested)["hartmann3_mf"]
    at_spend = level_medians(nested, at_spend_of="carbs")["hartmann3_mf"]
    np.testing.assert_array_equal(at_spend["carbs"], after_all["carbs"])
    # Within 10 the rival has only its first run: worse than carbs at every level
    # it reaches, where after all its runs it was better at the dearest one.
    assert at_spend["optuna_tpe"][-1] > at_spend["carbs"][-1]
    assert after_all["optuna_tpe"][-1] < after_all["carbs"][-1]
    wins_at_spend = cell_wins(level_medians(nested, at_spend_of="carbs"), "carbs")[0]
    assert wins_at_spend > cell_wins(level_medians(nested), "carbs")[0]


@pytest.mark.parametrize("name", ["branin_mf", "boosting", "vision_scaling"])
def test_no_run_beats_the_true_front_of_a_later_problem(name: str) -> None:
    """The problems added after the suite was settled compute their true front by
    enumeration; a wrong enumeration would let runs beat it and hide regret. A hill
    climb on (a run's noise-free output - the front at its cost), from the centre,
    looks for such a run where it is most likely: close to the front."""
    problem = PROBLEMS[name]
    rng = np.random.default_rng(7)

    def margin(coordinates: list[float]) -> float:
        params = {
            s.name: s.from_search(c) for s, c in zip(problem.params, coordinates, strict=True)
        }
        _, cost, failed = problem.evaluate(params, rng)
        if failed:
            return math.inf
        truth, best = problem.noise_free_output(params), problem.true_best_at_cost(cost)
        assert truth is not None and best is not None
        return truth - best

    point = [s.to_search(s.search_center) for s in problem.params]
    current = margin(point)
    for step in [0.05] * 150 + [0.01] * 150:
        proposal = [
            min(
                max(c + step * (s.search_high - s.search_low) * rng.normal(), s.search_low),
                s.search_high,
            )
            for s, c in zip(problem.params, point, strict=True)
        ]
        value = margin(proposal)
        if value < current:
            point, current = proposal, value
    # It gets within a few thousandths of the front (the Branin valley is the slowest).
    assert -1e-9 <= current < 0.002


def test_stragglers_and_flaky_failures_change_only_what_they_say() -> None:
    """The held-out cluster variants keep their base problem's outputs and front: a
    straggler only costs more (never less than its nominal cost; about one run in
    twenty three times as much), and a flaky run fails about one time in ten wherever
    it is, having spent between a tenth and all of its cost."""
    base = PROBLEMS["boosting"]
    stragglers, flaky = PROBLEMS["boosting_stragglers"], PROBLEMS["boosting_flaky"]
    for problem in (stragglers, flaky):
        assert problem.true_best_at_cost(1.0) == base.true_best_at_cost(1.0)
        assert (problem.min_cost, problem.max_cost) == (base.min_cost, base.max_cost)
    param_rng = np.random.default_rng(3)
    ratios, failed, spent = [], [], []
    for seed in range(4000):
        params = {spec.name: spec.sample(param_rng) for spec in base.params}
        output, cost, base_failed = base.evaluate(params, np.random.default_rng(seed))
        assert not base_failed
        straggled = stragglers.evaluate(params, np.random.default_rng(seed))
        assert straggled[0] == output and not straggled[2]
        ratios.append(straggled[1] / cost)
        flaky_output, flaky_cost, flaky_failed = flaky.evaluate(params, np.random.default_rng(seed))
        assert flaky_output == output
        failed.append(flaky_failed)
        spent.append(flaky_cost / cost)
    ratio = np.array(ratios)
    assert ratio.min() >= 1.0
    assert 0.03 < np.mean(ratio > 2.5) < 0.07
    assert np.median(ratio) < 1.1
    is_failed, share = np.array(failed), np.array(spent)
    assert 0.08 < is_failed.mean() < 0.12
    assert (share[~is_failed] == 1.0).all()
    assert share[is_failed].min() >= 0.1 and share[is_failed].max() <= 1.0
    assert share[is_failed].mean() < 0.65


def test_top_cost_only_spends_every_run_at_the_dearest_cost() -> None:
    from benchmarks.top_cost_only import main as top_cost_main
    from benchmarks.top_cost_only import top_cost_regrets

    base = PROBLEMS["hartmann3_mf"]
    costs: list[float] = []

    def recording(params: dict, rng: np.random.Generator) -> tuple[float, float, bool]:
        result = base.evaluate(params, rng)
        costs.append(result[1])
        return result

    problem = base.variant("hartmann3_mf", "costs recorded", evaluate_fn=recording)
    assert problem.ceiling > 0  # computed once, from evaluations of its own
    costs.clear()
    regrets = top_cost_regrets(problem, "tpe", seed=0, runs=5)
    assert costs == [base.max_cost] * 5
    assert np.all(regrets >= 0) and np.all(np.diff(regrets) <= 0)
    assert regrets[-1] > 0  # five random runs do not find the optimum
    text = top_cost_main(
        ["--problems", "hartmann3_mf", "--samplers", "tpe", "--seeds", "1", "--runs", "6"]
    )
    assert "| hartmann3_mf, tpe | " in text and "k = 6" in text

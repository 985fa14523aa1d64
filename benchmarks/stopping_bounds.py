"""What the early-stopping cost target asks of any stopper, from saved sweeps.

A stopper that knows every run's final result is replayed on ``carbs_nostop``'s
saved paths (:mod:`benchmarks.early_stopping` records): at a run's first report past
``min_fraction`` of its planned cost it stops the run when it will end at least
``margin`` worse than the front it has to beat (the best completed run that cost
no more), or will fail. Every other run completes. For each margin the script
prints the median, over seeds, of the cumulative cost at which that replay reaches
``carbs_nostop``'s final regret, as a fraction of ``carbs_nostop``'s cost: the
figure the issue's 0.6 target is set on, for a stopper that tells apart, without
error, the runs that many outputs (margin) behind the front.

Run::

    python benchmarks/stopping_bounds.py /tmp/es/lm.jsonl /tmp/es/digits.jsonl

Each file is read as its own set of sweeps (its own reference front where the
problem has no true one); the medians pool the seeds of every file of a problem.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.early_stopping_report import Record, Sweeps

MARGINS = (0.0, 1e-12, 0.005, 0.01, 0.02, 0.05)


def known_final_run(run: Sequence[Record], margin: float, min_fraction: float) -> list[Record]:
    """``carbs_nostop``'s runs with a stopper that knows each run's final output.

    A run is stopped at its first report at or past ``min_fraction`` of its planned
    cost (charged what it had spent there) when some completed run cost no more (than
    its final cost; than its planned cost if it fails) and the run will fail or end at
    least ``margin`` worse than the best such run (``margin`` 0: ties are stopped too).
    Outputs are minimised, as in every benchmark problem. Stopped runs never join the
    front.
    """
    front: list[tuple[float, float]] = []
    replayed: list[Record] = []
    cumulative = 0.0
    for record in run:
        # a failure is judged against the front at the cost it was planned to end at
        reference_cost = record["planned_cost"] if record["failed"] else record["cost"]
        earlier = [o for c, o in front if c <= reference_cost]
        hopeless = bool(earlier) and (record["failed"] or record["output"] - min(earlier) >= margin)
        stop_cost = None
        if hopeless:
            limit = min_fraction * record["planned_cost"]
            reports = [c for c, o in record.get("curve") or [] if o is not None and c >= limit]
            if reports and reports[0] < record["cost"]:
                stop_cost = reports[0]
        if stop_cost is not None:
            cumulative += stop_cost
            replayed.append(
                {**record, "cost": stop_cost, "cumulative_cost": cumulative, "stopped": True}
            )
            continue
        cumulative += record["cost"]
        replayed.append({**record, "cumulative_cost": cumulative, "stopped": False})
        if not record["failed"]:
            front.append((record["cost"], record["output"]))
    return replayed


def cost_ratios(sweeps: Sweeps, margin: float, min_fraction: float) -> list[float]:
    """Per seed: cost for the replay to reach ``carbs_nostop``'s final regret over its cost."""
    ratios = []
    for seed in sweeps.seeds:
        run = known_final_run(sweeps.runs[("carbs_nostop", seed)], margin, min_fraction)
        ratios.append(sweeps.cost_to_reach(run, sweeps.target(seed)) / sweeps.budget(seed))
    return ratios


def _median(values: Sequence[float]) -> str:
    # never-reached seeds (inf) sort last
    median = statistics.median(sorted(values, key=lambda v: (math.isinf(v), v)))
    return "never" if math.isinf(median) else f"{median:.3f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="benchmarks/early_stopping.py records")
    parser.add_argument("--min-fraction", type=float, default=0.2)
    args = parser.parse_args(argv)
    by_problem: dict[str, list[Sweeps]] = defaultdict(list)
    for path in args.files:
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for name in sorted({r["problem"] for r in records}):
            by_problem[name].append(Sweeps(name, [r for r in records if r["problem"] == name]))
    print(f"stopped at the first report past {args.min_fraction:.0%} of the planned cost")
    print("| problem | seeds | " + " | ".join(f"margin {m:g}" for m in MARGINS) + " |")
    print("|---|---|" + "---|" * len(MARGINS))
    for name, sweeps_list in sorted(by_problem.items()):
        seeds = sum(len(s.seeds) for s in sweeps_list)
        cells = []
        for margin in MARGINS:
            ratios = [r for s in sweeps_list for r in cost_ratios(s, margin, args.min_fraction)]
            cells.append(_median(ratios))
        print(f"| {name} | {seeds} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

"""The ``carbs`` command: sweeps from shell scripts and SLURM arrays (the ``optuna`` extra).

A study lives in an Optuna storage and is driven by
:class:`~carbs.integrations.optuna.CARBSSampler`, so any number of shells on any
number of machines can ask and tell at once::

    carbs create mysweep --space space.json          # params and settings, once
    carbs ask mysweep                                # {"id": 0, "params": {...}}
    carbs report mysweep 0 --output 0.52 --cost 600  # optional, while it trains:
                                                     # {"should_stop": false, ...}
    carbs tell mysweep 0 --output 0.31 --cost 5400   # or --failure
    carbs forget mysweep 1                           # its job was pre-empted
    carbs status mysweep; carbs front mysweep; carbs best mysweep
    carbs export mysweep --format csv; carbs plot mysweep --out front.png

The storage is ``--storage URL``, else ``$CARBS_STORAGE``, else the SQLite file
``carbs-studies.db`` in the current folder. Any Optuna RDB URL works
(``postgresql://...``, ``mysql://...``: studies then span machines), and
``journal:PATH`` is an Optuna journal file. The space file (JSON, or YAML with
PyYAML installed) holds ``params`` (a list in the form of
:meth:`carbs.Param.to_dict`, missing space fields taking their defaults),
optionally ``direction`` (``"minimize"``, the default, or ``"maximize"``) and
``config`` (:class:`carbs.CARBSParams` fields).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from carbs.cli_runs import forget, report, tell
from carbs.cli_studies import (
    EXPORT_COLUMNS,
    SPACE_ATTR,
    STORAGE_ENV,
    CLIError,
    load_study,
    open_storage,
    read_space_file,
)
from carbs.config_data import config_from_dict
from carbs.errors import CARBSValueError
from carbs.spaces import Param


# -- the commands ----------------------------------------------------------------------------------
def create(args: argparse.Namespace) -> Any:
    import optuna

    space = read_space_file(Path(args.space))
    config = config_from_dict(space["config"])
    if config.is_saved_on_every_observation or config.is_wandb_logging_enabled:
        raise CLIError("the storage holds the study: leave autosave and W&B logging off")
    try:
        study = optuna.create_study(
            study_name=args.study,
            storage=open_storage(args.storage, is_created=True),
            direction=space["direction"],
        )
    except optuna.exceptions.DuplicatedStudyError as error:
        raise CLIError(f"a study named {args.study!r} already exists in this storage") from error
    study.set_user_attr(SPACE_ATTR, space)
    return {"study": args.study, "params": [p["name"] for p in space["params"]]}


def ask(args: argparse.Namespace) -> Any:
    from carbs.integrations.optuna_space import distributions_from_params

    study, _, space = load_study(args.study, args.storage)
    params = [Param.from_dict(p) for p in space["params"]]
    trial = study.ask(distributions_from_params(params))
    values = dict(trial.params)
    values.update({p.name: p.search_center for p in params if p.space.is_fixed})
    return {"id": trial.number, "params": values}


def status(args: argparse.Namespace) -> Any:
    from carbs.integrations.optuna import lost_trial_numbers

    study, sampler, _ = load_study(args.study, args.storage)
    trials = study.get_trials(deepcopy=False)
    states: dict[str, int] = {}
    for trial in trials:
        states[trial.state.name] = states.get(trial.state.name, 0) + 1
    optimizer = sampler.sync(study)
    best = None if optimizer is None else optimizer.best()
    return {
        "study": args.study,
        "direction": study.direction.name.lower(),
        "trials": states,
        "lost": len(lost_trial_numbers(trials)),  # FAIL trials that are not failures to CARBS
        "front_size": 0 if optimizer is None else len(optimizer.pareto_front()),
        "best": None if best is None else _observation(best),
    }


def front(args: argparse.Namespace) -> Any:
    study, sampler, _ = load_study(args.study, args.storage)
    optimizer = sampler.sync(study)
    members = [] if optimizer is None else optimizer.pareto_front()
    return [
        {"cost": m.cost, "output": m.output, "count": m.count, "params": m.params} for m in members
    ]


def best(args: argparse.Namespace) -> Any:
    study, sampler, _ = load_study(args.study, args.storage)
    optimizer = sampler.sync(study)
    found = None if optimizer is None else optimizer.best(args.max_cost)
    return None if found is None else _observation(found)


def plot(args: argparse.Namespace) -> Any:
    from carbs.plotting import PLOT_INSTALL_HINT, plot_pareto_front

    study, sampler, _ = load_study(args.study, args.storage)
    optimizer = sampler.sync(study)
    if optimizer is None:
        raise CLIError(f"study {args.study!r} has no finished trial to plot")
    try:
        import matplotlib
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError as error:
        raise CLIError(f"carbs plot needs matplotlib: {PLOT_INSTALL_HINT}") from error
    out = Path(args.out)
    if not args.out or args.out.endswith((".", "/")) or out.name in ("", "..") or out.is_dir():
        # matplotlib wrote "." or "" to a hidden .png, and "front." to front.png
        raise CLIError(f"--out {args.out!r} must name an image file, such as front.png")
    suffix = out.suffix.removeprefix(".").lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix and suffix not in formats:
        raise CLIError(
            f"--out {args.out}: unknown image format {suffix!r}; use one of {sorted(formats)}"
        )
    try:
        plot_pareto_front(optimizer, args.out, output_name=args.metric, cost_name=args.cost_name)
    except OSError as error:  # a folder that is not there, no permission
        raise CLIError(f"cannot write the plot to {args.out}: {error}") from error
    # Without a suffix matplotlib adds its default format's.
    written = args.out if suffix else f"{args.out}.{matplotlib.rcParams['savefig.format']}"
    return {"plot": str(written)}


def export(args: argparse.Namespace) -> Any:
    from carbs.integrations.optuna import default_cost

    study, _, space = load_study(args.study, args.storage)
    names = [p["name"] for p in space["params"]]
    fixed = {
        p["name"]: p["search_center"] for p in space["params"] if p["space"]["type"] == "FixedSpace"
    }
    rows = []
    for trial in study.get_trials(deepcopy=False):
        finished = trial.state.name in ("COMPLETE", "FAIL", "PRUNED")
        output = trial.value
        if trial.state.name == "PRUNED" and trial.last_step is not None:
            output = trial.intermediate_values[trial.last_step]  # where it was stopped
        rows.append(
            {
                "id": trial.number,
                "state": trial.state.name,
                "output": output,
                "cost": default_cost(trial) if finished else None,
                **{name: trial.params.get(name, fixed.get(name)) for name in names},
            }
        )
    if args.format == "json":
        text = json.dumps(rows, indent=1) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[*EXPORT_COLUMNS, *names])
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    if args.out is None:
        sys.stdout.write(text)
        return ALREADY_PRINTED
    try:
        Path(args.out).write_text(text)
    except OSError as error:
        raise CLIError(f"cannot write {args.out}: {error}") from error
    return {"export": str(args.out), "trials": len(rows)}


def _observation(observation: Any) -> dict[str, Any]:
    params = {k: v for k, v in observation.input.items() if k != "suggestion_uuid"}
    return {"output": observation.output, "cost": observation.cost, "params": params}


ALREADY_PRINTED = object()
"""What a command returns when it has written its output itself (``export`` to stdout)."""


# -- the command line ----------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    """The ``carbs`` argument parser."""
    top = argparse.ArgumentParser(
        prog="carbs", description="Cost-aware hyperparameter sweeps from the shell."
    )
    commands = top.add_subparsers(dest="command", required=True)

    def command(name: str, function: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("study", help="the study's name")
        sub.add_argument(
            "--storage", help=f"storage URL (default ${STORAGE_ENV}, else a local file)"
        )
        sub.set_defaults(function=function)
        return sub

    command("create", create, "create a study from a space file").add_argument(
        "--space", required=True, help="JSON or YAML: params, direction, config"
    )
    command("ask", ask, "print one suggestion as JSON: its id and params")
    told = command("tell", tell, "report a run's output and cost (or its failure)")
    told.add_argument("id", type=int, help="the id that `carbs ask` printed")
    told.add_argument("--output", type=float, help="the metric")
    told.add_argument("--cost", type=float, help="what the run cost (> 0)")
    told.add_argument("--failure", action="store_true", help="the run failed")
    forgot = command("forget", forget, "drop a running trial whose job was lost (not a failure)")
    forgot.add_argument("id", type=int, help="the id that `carbs ask` printed")
    reported = command("report", report, "record a running trial's progress; print whether to stop")
    reported.add_argument("id", type=int, help="the id that `carbs ask` printed")
    reported.add_argument("--output", type=float, required=True, help="the metric so far")
    reported.add_argument("--cost", type=float, required=True, help="what it has spent so far")
    reported.add_argument("--planned-cost", type=float, help="what the whole run will cost")
    command("status", status, "trial counts, the front's size and the best run")
    command("front", front, "the Pareto front, cheapest first")
    command("best", best, "the best run, overall or within --max-cost").add_argument(
        "--max-cost", type=float, default=None
    )
    plotted = command("plot", plot, "draw the Pareto front to an image file (needs matplotlib)")
    plotted.add_argument("--out", required=True, help="image path, e.g. front.png")
    plotted.add_argument("--metric", default="output", help="the metric's name")
    plotted.add_argument("--cost-name", default="cost", help="the cost's name")
    exported = command("export", export, "every trial as CSV or JSON")
    exported.add_argument("--format", choices=("csv", "json"), default="csv")
    exported.add_argument("--out", default=None, help="file to write (default: stdout)")
    return top


NUMBER_FLAGS = ("--output", "--cost", "--planned-cost", "--max-cost")


def _numbers_attached(argv: Sequence[str]) -> list[str]:
    """``--output -1e-3`` as ``--output=-1e-3``: argparse reads a negative number in
    scientific notation as an unknown flag ("expected one argument")."""
    attached: list[str] = []
    index = 0
    while index < len(argv):
        flag = argv[index]
        value = argv[index + 1] if index + 1 < len(argv) else ""
        if flag in NUMBER_FLAGS and value.startswith("-") and _is_float(value):
            attached.append(f"{flag}={value}")
            index += 2
        else:
            attached.append(flag)
            index += 1
    return attached


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; print its result as JSON. Exit status 2 on a usage error."""
    args = parser().parse_args(_numbers_attached(sys.argv[1:] if argv is None else argv))
    try:
        import optuna
    except ImportError:
        print(
            "carbs: the command line needs optuna: pip install 'carbs-hpo[optuna]'", file=sys.stderr
        )
        return 2
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import carbs

    carbs.set_verbosity(30)  # the command's JSON on stdout is its output
    try:
        result = args.function(args)
    except CARBSValueError as error:  # CLIError, or carbs refusing a value (best --max-cost -1)
        print(f"carbs {args.command}: {error}", file=sys.stderr)
        return 2
    if result is not ALREADY_PRINTED:
        print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

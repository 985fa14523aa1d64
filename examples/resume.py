"""Save a sweep, load it into a fresh optimizer and carry on exactly where it stopped.

The sweep autosaves its state after every observation. Halfway through we
"crash": a brand-new optimizer is loaded from the autosaved file, and its next
suggestion is checked against the one the original optimizer makes.

Run it with::

    python examples/resume.py [--runs 12] [--seed 0] [--folder DIR]
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import Any

from carbs import CARBS, CARBSParams, LogitSpace, LogSpace, ObservationInParam, Param

PARAMS = [
    Param("learning_rate", LogSpace(min=1e-5, max=1.0, scale=0.5), search_center=1e-3),
    Param("momentum", LogitSpace(min=0.5, max=0.999), search_center=0.9),
    Param("epochs", LogSpace(is_integer=True, min=1, max=64), search_center=4),
]


def train(learning_rate: float, momentum: float, epochs: int) -> tuple[float, float]:
    """A pretend training run: (validation loss, seconds)."""
    loss = (
        0.5
        + 0.2 * math.log10(learning_rate / 3e-3) ** 2
        + 0.05 * math.log10((1 - momentum) / 0.1) ** 2
        + 1.0 / math.sqrt(epochs)
    )
    return loss, 2.0 * epochs


def observe(carbs: CARBS, suggestion: dict[str, Any]) -> None:
    loss, seconds = train(suggestion["learning_rate"], suggestion["momentum"], suggestion["epochs"])
    carbs.observe(ObservationInParam(input=suggestion, output=loss, cost=seconds))


def without_uuid(suggestion: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in suggestion.items() if k != "suggestion_uuid"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=12, help="runs before the 'crash'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folder", type=Path, default=None, help="checkpoint folder")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="carbs-resume-"))

    config = CARBSParams(
        better_direction_sign=-1,
        seed=args.seed,
        is_saved_on_every_observation=True,  # autosave after every observe()
        checkpoint_dir=str(folder),
    )
    original = CARBS(config, PARAMS)
    for _ in range(args.runs):
        observe(original, original.suggest().suggestion)
    print(f"ran {original.observation_count} runs; state autosaved to {original.checkpoint_path}")

    # A fresh optimizer, as a new process would build it after a crash. Passing the params
    # checks that the file belongs to this search space; checkpoint_dir resumes autosaving
    # there (a loaded file never turns autosave on by itself).
    resumed = CARBS.load(original.checkpoint_path, params=PARAMS, checkpoint_dir=folder)
    print(f"loaded {resumed.observation_count} observations into a fresh optimizer")

    expected = original.suggest(suggestion_id="next").suggestion
    got = resumed.suggest(suggestion_id="next").suggestion
    print(f"original next suggestion: {without_uuid(expected)}")
    print(f"resumed next suggestion:  {without_uuid(got)}")
    print(f"resumed suggestion equals the original's: {got == expected}")
    if got != expected:
        raise SystemExit("resume was not exact")

    # Carry on with the resumed optimizer; it keeps autosaving to the same file.
    observe(resumed, got)
    for _ in range(4):
        observe(resumed, resumed.suggest().suggestion)
    best = min(resumed.success_observations, key=lambda o: o.output)
    best_params = resumed.search_space.param_dict_from_basic(best.real_number_input)
    print(f"after {resumed.observation_count} runs the best loss is {best.output:.4f} at")
    print(f"  {best_params}")

    # Explicit saves work the same way, anywhere you like.
    path = resumed.save(folder / "manual-copy.json")
    print(f"also saved to {path} ({path.stat().st_size} bytes of JSON)")


if __name__ == "__main__":
    main()

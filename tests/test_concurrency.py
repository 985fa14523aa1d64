"""Many threads sharing one optimizer: no observation lost, no suggestion leaked or doubled."""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from conftest import ThreadRunner

from carbs import (
    CARBS,
    SUGGESTION_ID_DICT_KEY,
    CARBSParams,
    LinearSpace,
    LogSpace,
    ObservationInParam,
    Param,
)

THREADS = 8
CALLS_PER_THREAD = 25  # 200 calls in all


def test_threads_keep_every_observation_and_leak_no_suggestion(
    tmp_path: Path, run_threads: ThreadRunner
) -> None:
    params = [
        Param("lr", LogSpace(min=1e-5, max=1.0), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=4, max=256, rounding_factor=4), 16),
        Param("shift", LinearSpace(min=-1.0, max=1.0), search_center=0.0),
    ]
    carbs = CARBS(
        CARBSParams(
            better_direction_sign=-1,
            num_random_samples=20,  # the later suggestions run the Bayesian path
            num_candidates_for_suggestion_per_dim=5,
            resample_frequency=7,
            is_saved_on_every_observation=True,
            checkpoint_dir=str(tmp_path),
        ),
        params,
    )
    lock = threading.Lock()
    observed: list[str] = []
    forgotten: list[str] = []
    still_outstanding: list[str] = []
    types: list[str] = []

    def worker(index: int) -> None:
        rng = random.Random(index)
        mine: list[dict[str, Any]] = []
        for call in range(CALLS_PER_THREAD):
            if not mine or (call % 2 == 0 and call < CALLS_PER_THREAD - 1):
                suggested = carbs.suggest()
                mine.append(suggested.suggestion)
                with lock:
                    types.append(suggested.log["suggestion_type"])
                continue
            suggestion = mine.pop(rng.randrange(len(mine)))
            uuid = suggestion[SUGGESTION_ID_DICT_KEY]
            if rng.random() < 0.2:
                carbs.forget_suggestion(suggestion)
                with lock:
                    forgotten.append(uuid)
                continue
            failed = rng.random() < 0.1
            output = math.nan if failed else math.log10(suggestion["lr"]) ** 2 + rng.random()
            carbs.observe(ObservationInParam(suggestion, output, cost=suggestion["width"] * 1.0))
            with lock:
                observed.append(uuid)
        with lock:
            still_outstanding.extend(s[SUGGESTION_ID_DICT_KEY] for s in mine)

    run_threads(worker, THREADS)

    suggested = observed + forgotten + still_outstanding
    assert len(suggested) == len(set(suggested))  # every uuid handed out once
    recorded = [o.suggestion_id for o in carbs.observations]
    assert Counter(recorded) == Counter(observed)  # each observation kept exactly once
    assert set(carbs.outstanding_suggestions) == set(still_outstanding)  # nothing leaked
    assert carbs.observation_count == len(observed)
    assert all(math.isfinite(o.observed_at) for o in carbs.observations)
    assert len(observed) >= 40 and len(forgotten) > 0 and len(still_outstanding) > 0
    assert "bayesian" in types  # the model path ran while other threads observed

    # The file autosaved (under the lock) after the last observation holds every observation.
    saved = CARBS.load(carbs.checkpoint_path, params).get_state_dict()
    # The autosave side effects are the caller's choice at load time, never the file's.
    current = carbs.get_state_dict()
    assert saved["observations"] == current["observations"]


def test_concurrent_saves_leave_the_newest_state(tmp_path: Path, run_threads: ThreadRunner) -> None:
    carbs = CARBS(CARBSParams(num_random_samples=1000), [Param("x", LinearSpace(), 0.0)])
    path = tmp_path / "state.json"

    def worker(index: int) -> None:
        for _ in range(10):
            carbs.observe(ObservationInParam(carbs.suggest().suggestion, 1.0, 1.0))
            carbs.save(path)

    run_threads(worker, 4)
    assert CARBS.load(path).observation_count == 40

"""Shared test settings.

``python -m pytest --hypothesis-profile=thorough`` runs the property tests with
many more examples than the default profile.

torch runs single-threaded in the tests (set ``CARBS_TEST_TORCH_THREADS`` to change it): on a
small shared machine its multi-threaded kernels can slow down 20-50x whenever another process
holds a core, which made the suite's runtime swing between 1 and 7 minutes. carbs' GPs are
small, so one thread costs little.

MKL runs its processor-independent code path (``MKL_CBWR=COMPATIBLE``, see below), so that
saved states replay to the same suggestions on Intel and AMD machines alike.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

# Intel's MKL, which torch calls, takes a different code path on each processor family,
# and the last bits of its results differ between them; the tests that replay a state
# saved by an older commit compare suggestions bit for bit. The compatible path gives the
# same bits on every x86 CPU. Set before torch loads MKL.
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")

import pytest
import torch
from hypothesis import HealthCheck, settings

torch.set_num_threads(int(os.environ.get("CARBS_TEST_TORCH_THREADS", "1")))

settings.register_profile(
    "thorough", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("default", deadline=None)
settings.load_profile("default")

ThreadRunner = Callable[[Callable[[int], None], int], None]


@pytest.fixture
def run_threads() -> ThreadRunner:
    """``run_threads(worker, count)``: run ``worker(index)`` on ``count`` threads at once.

    The threads start together (a barrier), and the test fails if one is still
    running after two minutes or if any raised.
    """

    def run(worker: Callable[[int], None], count: int) -> None:
        start = threading.Barrier(count)
        errors: list[BaseException] = []

        def target(index: int) -> None:
            try:
                start.wait()
                worker(index)
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        assert not errors, errors

    return run

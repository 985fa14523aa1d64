"""Shared test settings.

``python -m pytest --hypothesis-profile=thorough`` runs the property tests with
many more examples than the default profile.

torch runs single-threaded in the tests (set ``CARBS_TEST_TORCH_THREADS`` to change it): on a
small shared machine its multi-threaded kernels can slow down 20-50x whenever another process
holds a core, which made the suite's runtime swing between 1 and 7 minutes. carbs' GPs are
small, so one thread costs little.
"""

from __future__ import annotations

import os

import torch
from hypothesis import HealthCheck, settings

torch.set_num_threads(int(os.environ.get("CARBS_TEST_TORCH_THREADS", "1")))

settings.register_profile(
    "thorough", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("default", deadline=None)
settings.load_profile("default")

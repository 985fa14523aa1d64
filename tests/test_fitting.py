"""GPFitter: hyperparameters from a subset of a large sweep, the posterior on all of it."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import carbs.surrogate.fitting as fitting
from carbs.surrogate.fitting import GPFitter, stratified_subset
from carbs.surrogate.gp import SuccessGP, hyperparameters_of


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_stratified_subset_keeps_every_rare_point_when_they_fit_in_half() -> None:
    is_success = torch.ones(100, dtype=torch.bool)
    is_success[torch.tensor([3, 50, 97])] = False
    chosen = stratified_subset(is_success, 10, _generator())
    assert chosen.shape == (10,)
    assert len(set(chosen.tolist())) == 10
    assert {3, 50, 97} <= set(chosen.tolist())


def test_stratified_subset_gives_the_rare_class_at_most_half() -> None:
    is_success = torch.zeros(100, dtype=torch.bool)
    is_success[:30] = True  # successes are the rarer class here
    chosen = stratified_subset(is_success, 20, _generator())
    assert len(set(chosen.tolist())) == 20
    assert int(is_success[chosen].sum()) == 10


def _record_fits(monkeypatch: pytest.MonkeyPatch, max_points: int) -> list[Any]:
    """Cap the fitting subset at ``max_points``; the returned list collects each model
    as ``fit_map`` is called on it (with the training data it had then)."""
    monkeypatch.setattr(fitting, "MAX_FIT_POINTS", max_points)
    fitted: list[Any] = []
    real_fit_map = fitting.fit_map

    def recording(model: Any, *args: Any, **kwargs: Any) -> float:
        fitted.append((model, model.train_inputs[0].shape[0]))
        return real_fit_map(model, *args, **kwargs)

    monkeypatch.setattr(fitting, "fit_map", recording)
    return fitted


def test_a_large_sweep_is_fitted_on_a_subset_but_keeps_all_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fitted = _record_fits(monkeypatch, 20)
    x = torch.rand(50, 2, generator=_generator(1), dtype=torch.float64)
    y = torch.sin(3 * x[:, 0]) + x[:, 1]
    model = GPFitter(generator=_generator()).regression("performance", x, y, 0.5)
    assert [size for _, size in fitted] == [20]
    assert model.train_inputs[0].shape[0] == 50  # the posterior conditions on every run
    torch.testing.assert_close(model.train_targets, y)


def test_a_large_success_classifier_takes_the_subsets_hyperparameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fitted = _record_fits(monkeypatch, 16)
    x = torch.rand(40, 2, generator=_generator(2), dtype=torch.float64)
    labels = x[:, 0] < 0.8  # failures are rare: 8 or so of 40
    fitter = GPFitter(generator=_generator())
    model = fitter.with_retries("success", lambda: SuccessGP(x, labels, 0.5))
    ((small, _),) = fitted
    assert small is not model and small.train_inputs[0].shape[0] == 16
    assert int((~small.is_success).sum()) == int((~labels).sum())  # every failure kept
    assert model.train_inputs[0].shape[0] == 40
    assert hyperparameters_of(model) == hyperparameters_of(small)
    assert fitter.hyperparameters["success"] == hyperparameters_of(model)
    assert fitter.jitters["success"] == fitting.JITTER_RETRIES[0]

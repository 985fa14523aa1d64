"""Log expected improvement and the cost-aware acquisition score."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from carbs.acquisition import (
    log_expected_improvement,
    log_h,
    log_search_density,
    score_candidates,
)


def _f64(values: object) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64))


@pytest.mark.parametrize("sigma", [1e-3, 0.5, 1.0, 7.0])
@pytest.mark.parametrize("target", [0.0, -2.5, 3.0])
def test_log_ei_matches_scipy_closed_form(sigma: float, target: float) -> None:
    # Where the closed form is accurate: z in [-30, 10] (below, phi and z * Phi cancel).
    z = np.linspace(-30.0, 10.0, 2001)
    mean = target + z * sigma
    closed_form = np.log(sigma * (z * norm.cdf(z) + norm.pdf(z)))
    got = log_expected_improvement(
        _f64(mean), torch.full((z.size,), sigma, dtype=torch.float64), target
    )
    assert got.dtype == torch.float64 and got.shape == (z.size,)
    np.testing.assert_allclose(got.numpy(), closed_form, rtol=1e-9, atol=1e-12)


def test_log_ei_accepts_a_per_candidate_target() -> None:
    mean, std, target = _f64([0.0, 1.0, 2.0]), _f64([1.0, 2.0, 0.5]), _f64([0.5, 0.0, 3.0])
    z = (mean - target) / std
    expected = np.log(std.numpy() * (z.numpy() * norm.cdf(z.numpy()) + norm.pdf(z.numpy())))
    np.testing.assert_allclose(log_expected_improvement(mean, std, target).numpy(), expected)


def test_log_ei_is_finite_and_increasing_far_below_the_target() -> None:
    # The closed form underflows to log(0) = -inf long before z = -1e8.
    z = np.concatenate(
        [
            -np.logspace(8, 0, 4000),
            np.linspace(-1.0 - 1e-6, -1.0 + 1e-6, 101),  # the switch to the direct formula
            -1e6 + np.linspace(-1e-3, 1e-3, 101),  # the switch to the asymptote
            np.linspace(-0.99, 10.0, 500),
        ]
    )
    z = np.unique(z)
    with np.errstate(divide="ignore"):
        assert not np.isfinite(np.log(z * norm.cdf(z) + norm.pdf(z))).all()
    got = log_expected_improvement(_f64(z), torch.ones(z.size, dtype=torch.float64), 0.0).numpy()
    assert np.isfinite(got).all()
    assert (np.diff(got) > 0).all()
    # Its leading behaviour is log phi(z) - 2 log|z| for very negative z.
    assert got[0] == pytest.approx(-0.5 * 1e16 - 0.5 * math.log(2 * math.pi) - 2 * math.log(1e8))


def test_log_h_matches_high_precision_reference() -> None:
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    z = np.concatenate([-np.logspace(7, -3, 300), np.linspace(0.0, 10.0, 51)])

    def reference(value: float) -> float:
        x = mpmath.mpf(value)
        return float(mpmath.log(mpmath.npdf(x) + x * mpmath.ncdf(x)))

    expected = np.array([reference(v) for v in z])
    np.testing.assert_allclose(log_h(_f64(z)).numpy(), expected, rtol=1e-9, atol=1e-12)


def test_log_ei_scales_with_std() -> None:
    # EI(mean, s * std; s * target) = s * EI(mean, std; target) for mean = 0.
    mean = torch.zeros(3, dtype=torch.float64)
    base = log_expected_improvement(mean, _f64([1.0, 1.0, 1.0]), _f64([-1.0, 0.0, 2.0]))
    scaled = log_expected_improvement(mean, _f64([4.0, 4.0, 4.0]), _f64([-4.0, 0.0, 8.0]))
    np.testing.assert_allclose((scaled - base).numpy(), math.log(4.0), rtol=1e-12)


def _scores(
    log_prior: list[float], p_success: list[float], cost: list[float], max_cost: float | None
) -> torch.Tensor:
    """Totals for candidates that all have the same posterior and target."""
    m = len(cost)
    return score_candidates(
        surrogate_mean=torch.zeros(m, dtype=torch.float64),
        surrogate_std=torch.ones(m, dtype=torch.float64),
        target=torch.zeros(m, dtype=torch.float64),
        exploration_bias=0.0,
        log_prior_density=_f64(log_prior),
        success_probability=_f64(p_success),
        predicted_cost=_f64(cost),
        max_cost=max_cost,
    ).total


def test_score_sums_terms_and_masks_expensive_candidates() -> None:
    log_prior = [0.5, 0.25, 0.0, -0.5]
    p_success = [1.0, 0.5, 0.1, 1.0]
    cost = [1.0, 9.99, 10.0, 50.0]
    log_ei = float(log_expected_improvement(_f64([0.0]), _f64([1.0]), 0.0)[0])
    expected = log_ei + _f64(log_prior) + torch.log(_f64(p_success))

    unbounded = _scores(log_prior, p_success, cost, None)
    np.testing.assert_allclose(unbounded.numpy(), expected.numpy(), rtol=1e-15)
    assert unbounded[1] == pytest.approx(log_ei + 0.25 + math.log(0.5))

    bounded = _scores(log_prior, p_success, cost, max_cost=10.0)
    np.testing.assert_allclose(bounded[:2].numpy(), expected[:2].numpy(), rtol=1e-15)
    assert bounded[2] == -math.inf  # predicted cost == max cost is excluded
    assert bounded[3] == -math.inf


def test_score_of_zero_success_probability_is_very_low_but_ordered() -> None:
    score = _scores([0.0, 0.0], [0.0, 1e-6], [1.0, 1.0], None)
    assert score[0] < score[1]
    assert score[1] - score[0] == pytest.approx(math.log(1e-6) - math.log(1e-300))


def test_log_search_density_is_normal_log_pdf() -> None:
    distances = _f64([0.0, 0.1, 0.3, 1.0])
    np.testing.assert_allclose(
        log_search_density(distances, 0.3).numpy(),
        norm.logpdf(distances.numpy(), scale=0.3),
        rtol=1e-12,
    )

"""Ray Tune param spaces as carbs params: :func:`params_from_tune_space`.

Nested keys are joined with ``/``; constants become fixed params, ``tune.choice`` a
categorical, ranges the spaces of :mod:`carbs.integrations.bounded`. Ray is imported
only by the Ray integration's modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from carbs.errors import InvalidParamError
from carbs.integrations.bounded import bounded_param, choice_param, multiples_of_step
from carbs.spaces import FixedSpace, Param

try:
    from ray.tune.search.sample import (
        Categorical,
        Domain,
        Float,
        Integer,
        LogUniform,
        Quantized,
        Uniform,
    )
    from ray.tune.search.variant_generator import parse_spec_vars
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "carbs.integrations.ray needs Ray Tune: pip install 'carbs-hpo[ray]'"
    ) from error


def params_from_tune_space(
    space: Mapping[str, Any], search_center: Mapping[str, Any] | None = None
) -> list[Param]:
    """carbs params for a Tune param space; nested keys are joined with ``/``.

    Constants become fixed params (passed through), ``tune.choice`` a categorical,
    ranges the spaces of :mod:`carbs.integrations.bounded`. Tune's integer upper
    bounds are exclusive (``tune.randint(1, 8)`` draws 1 to 7), as here.

    Raises:
        InvalidParamError: a grid search, a sampler carbs cannot model (``tune.randn``,
            ``tune.sample_from``), a centre for an unknown name, a key that is not a
            string or holds ``/``, or a list or tuple in the space.
    """
    _check_tune_space(space)
    resolved, domains, grids = parse_spec_vars(dict(space))
    if grids:
        raise InvalidParamError(
            "CARBSSearcher cannot take tune.grid_search; list the values in tune.choice"
        )
    centers = dict(search_center or {})
    names = ["/".join(path) for path, _ in domains] + ["/".join(path) for path, _ in resolved]
    unknown = sorted(set(centers) - set(names), key=repr)
    if unknown:
        raise InvalidParamError(f"search_center names {unknown}, not in the param space {names}")
    params = [
        _param("/".join(path), domain, centers.get("/".join(path))) for path, domain in domains
    ]
    params += [Param("/".join(path), FixedSpace(), value) for path, value in resolved]
    return params


def _check_tune_space(space: Mapping[Any, Any], prefix: str = "") -> None:
    """Refuse what the ``/``-joined names cannot carry back to the trainable."""
    for key, value in space.items():
        if not isinstance(key, str) or "/" in key:
            raise InvalidParamError(
                f"param space key {key!r} (in {prefix or 'the top level'}): carbs joins nested "
                "keys with '/', so each key must be a string without '/'"
            )
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if "grid_search" not in value:  # Tune's grid: refused by name below
                _check_tune_space(value, f"{name}/")
        elif isinstance(value, list | tuple):
            raise InvalidParamError(
                f"param {name!r}: CARBSSearcher takes no list or tuple in the param space "
                "(a constant such as Adam's betas, or values searched inside one); pass "
                "constants with tune.with_parameters, and search each entry as a param of "
                "its own"
            )


def _param(name: str, domain: Domain, center: Any) -> Param:
    sampler = domain.get_sampler()
    step = None
    if isinstance(sampler, Quantized):
        step, sampler = sampler.q, sampler.sampler
    log = isinstance(sampler, LogUniform)
    if isinstance(domain, Categorical):
        return choice_param(name, domain.categories, center)
    if isinstance(domain, Float) and isinstance(sampler, Uniform | LogUniform):
        if log and step is not None:
            step = None  # carbs keeps log ranges continuous; Tune rounds them
        return bounded_param(
            name, domain.lower, domain.upper, log=log, step=step, search_center=center
        )
    if isinstance(domain, Integer) and isinstance(sampler, Uniform | LogUniform):
        low, high = domain.lower, domain.upper - 1  # Tune's integer upper is exclusive
        if step is not None:  # Tune draws the multiples of q, its upper end included
            low, high = multiples_of_step(name, domain.lower, domain.upper, step)
        return bounded_param(
            name,
            low,
            high,
            log=log,  # tune.qlograndint: the multiples of q on a log scale
            is_integer=True,
            step=step,
            search_center=center,
        )
    raise InvalidParamError(
        f"param {name!r}: CARBSSearcher cannot model {type(domain).__name__} with "
        f"{type(sampler).__name__} sampling"
    )

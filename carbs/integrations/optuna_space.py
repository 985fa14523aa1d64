"""Optuna distributions as carbs :class:`~carbs.Param` objects (used by the Optuna sampler).

Each distribution maps onto the space that keeps Optuna's legal values legal:

============================================  =============================================
Optuna                                         carbs
============================================  =============================================
``FloatDistribution(log=True)``                ``LogSpace(min=low, max=high)``
``FloatDistribution()``                        ``LinearSpace(min=low, max=high)``
``FloatDistribution(step=s)``                  ``OrdinalSpace(values=low, low + s, ..., high)``
``IntDistribution(log=True)``                  ``LogSpace(is_integer=True)``
``IntDistribution(step=s)``, ``low % s == 0``  ``LinearSpace(is_integer=True, rounding_factor=s)``
``IntDistribution(step=s)``, otherwise         ``OrdinalSpace(values=range(low, high + 1, s))``
``CategoricalDistribution(choices)``           ``CategoricalSpace(choices)``
============================================  =============================================

Scales and default centres are those of :mod:`carbs.integrations.bounded`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from carbs.errors import CARBSValueError, InvalidParamError
from carbs.integrations.bounded import bounded_param, choice_param
from carbs.spaces import (
    CategoricalSpace,
    LogSpace,
    OrdinalSpace,
    Param,
    RealNumberSpace,
)
from carbs.spaces.base import LATTICE_RTOL, is_json_scalar

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution


def param_from_distribution(
    name: str, distribution: BaseDistribution, search_center: Any = None
) -> Param:
    """The carbs param for one Optuna distribution.

    Args:
        name: The param's name.
        distribution: A ``FloatDistribution``, ``IntDistribution`` or
            ``CategoricalDistribution`` with more than one value.
        search_center: Where the search starts; ``None`` for the range's middle
            (a categorical's first choice).

    Raises:
        InvalidParamError: a distribution of another type, or a centre outside it.
    """
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(distribution, CategoricalDistribution):
        return choice_param(name, distribution.choices, search_center)
    if isinstance(distribution, FloatDistribution | IntDistribution):
        return bounded_param(
            name,
            distribution.low,
            distribution.high,
            log=distribution.log,
            is_integer=isinstance(distribution, IntDistribution),
            step=distribution.step,
            search_center=search_center,
        )
    raise InvalidParamError(f"param {name!r}: carbs cannot model {type(distribution).__name__}")


def params_from_search_space(
    search_space: Mapping[str, BaseDistribution], search_center: Mapping[str, Any] | None = None
) -> list[Param]:
    """carbs params for an Optuna search space, in its order.

    Raises:
        InvalidParamError: a distribution carbs cannot model, or ``search_center``
            naming a param the space does not have.
    """
    centers = dict(search_center or {})
    unknown = sorted(set(centers) - set(search_space), key=repr)
    if unknown:
        raise InvalidParamError(
            f"search_center names {unknown}, which are not in the search space "
            f"{sorted(search_space)}"
        )
    return [
        param_from_distribution(name, distribution, centers.get(name))
        for name, distribution in search_space.items()
    ]


def distributions_from_params(params: Sequence[Param]) -> dict[str, BaseDistribution]:
    """Optuna distributions that hold every value carbs can suggest for these params.

    The reverse of :func:`params_from_search_space`, for users who give carbs' own
    spaces (a ``LogitSpace``, an ordinal menu, a scale of their choosing): a real
    space becomes a float or int distribution over its bounds (an integer lattice
    with ``rounding_factor`` its step), an ordinal or categorical space a
    ``CategoricalDistribution`` of its values. Fixed params are left out.

    Raises:
        InvalidParamError: a real space without finite bounds (Optuna needs them).
    """
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    distributions: dict[str, BaseDistribution] = {}
    for param in params:
        space = param.space
        if space.is_fixed:
            continue
        if isinstance(space, OrdinalSpace):
            distributions[param.name] = CategoricalDistribution(list(space.values))
        elif isinstance(space, CategoricalSpace):
            distributions[param.name] = CategoricalDistribution(list(space.choices))
        elif isinstance(space, RealNumberSpace):
            if not (math.isfinite(space.min) and math.isfinite(space.max)):
                raise InvalidParamError(
                    f"param {param.name!r}: Optuna needs finite bounds; give the space a "
                    f"min and a max (got min={space.min}, max={space.max})"
                )
            if space.is_integer:
                step = space.rounding_factor
                low = math.ceil(space.min / step) * step
                high = max(low, math.floor(space.max / step) * step)
                log = isinstance(space, LogSpace) and step == 1
                distributions[param.name] = IntDistribution(low, high, log=log, step=step)
            else:
                log = isinstance(space, LogSpace) and space.min > 0
                distributions[param.name] = FloatDistribution(space.min, space.max, log=log)
        else:
            raise InvalidParamError(
                f"param {param.name!r}: no Optuna distribution for {type(space).__name__}"
            )
    return distributions


def is_modelled(distribution: BaseDistribution) -> bool:
    """Whether :func:`param_from_distribution` takes it (and it has more than one value)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    supported = (CategoricalDistribution, FloatDistribution, IntDistribution)
    if not isinstance(distribution, supported) or distribution.single():
        return False
    # Choices carbs cannot hold (tuples, objects; Optuna warns about them too, or 1 and
    # 1.0 side by side) and stepped ranges of too many values are left to the
    # independent sampler instead of failing the study.
    if isinstance(distribution, CategoricalDistribution) and not all(
        is_json_scalar(choice) for choice in distribution.choices
    ):
        return False
    return _carbs_holds(distribution)


@functools.lru_cache(maxsize=256)
def _carbs_holds(distribution: BaseDistribution) -> bool:
    """Whether :func:`param_from_distribution` builds a param for it (asked once per
    distribution: a stepped range of 100000 values takes a while to build)."""
    try:
        param_from_distribution("probe", distribution)
    except CARBSValueError:
        return False
    return True


def carbs_value(param: Param, value: Any) -> Any:
    """Optuna's value as carbs' space holds it: a stepped value within float rounding of
    a listed one (``0.30000000000000004`` for ``0.3``) is that value. Any other (an
    enqueued trial's ``7`` where the steps are 1, 5, 9) stays as it is, and the trial
    is left out as off its grid: snapped, its output would be learned at another point."""
    space = param.space
    if isinstance(space, OrdinalSpace) and isinstance(value, int | float):
        nearest = min(space.values, key=lambda listed: abs(listed - value))
        span = space.values[-1] - space.values[0]
        if math.isclose(value, nearest, rel_tol=LATTICE_RTOL, abs_tol=LATTICE_RTOL * span):
            return nearest
    return value

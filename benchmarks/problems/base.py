"""The :class:`Problem` and :class:`ParamSpec` types shared by every benchmark problem.

A parameter's *search coordinate* is the value on the axis where the space is
uniform: ``log10(x)`` for ``"log"`` params, ``log10(p / (1 - p))`` for
``"logit"`` params and ``x`` itself for ``"linear"`` params. Random search
samples uniformly in it and carbs searches in it divided by ``scale``. Params of
kind ``"ordinal"`` (an ordered list of numbers, such as powers of two) and
``"categorical"`` (choices without an order) have their value's position in
``values`` as search coordinate; random search draws a position uniformly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from carbs import Param

ParamKind = Literal["linear", "log", "logit", "ordinal", "categorical"]
ParamValues = dict[str, Any]
EvalResult = tuple[float, float, bool]
"""``(output_to_minimise, cost, failed)``; the output is NaN when ``failed``."""
ArrayOrFloat = np.ndarray | float
"""A scalar or an array of values, for formulas that work elementwise on either."""


def logit10(p: float | np.ndarray) -> Any:
    """``log10(p / (1 - p))``, elementwise."""
    return np.log10(p) - np.log10(1.0 - np.asarray(p))


def inverse_logit10(t: float | np.ndarray) -> Any:
    """Inverse of :func:`logit10`."""
    return 1.0 / (1.0 + np.power(10.0, -np.asarray(t, dtype=float)))


# Where the cheap-start carbs variant centres cost-driving params, as a fraction of the
# range in search coordinates.
CHEAP_CENTER_FRACTION = 0.1


@dataclass(frozen=True)
class ParamSpec:
    """One hyperparameter of a problem, independent of any optimizer library.

    Attributes:
        name: Key of the value in the params dict.
        kind: ``"linear"``, ``"log"`` (positive, uniform in orders of magnitude) or
            ``"logit"`` (in (0, 1), uniform in log-odds).
        low: Smallest legal value (inclusive).
        high: Largest legal value (inclusive).
        search_center: A mid-range default. carbs starts here for params that do
            not drive cost; for those that do, only the ``carbs_mid_start``
            ablation does (``carbs`` starts at :meth:`cheap_center`).
        scale: Search-coordinate units per carbs basic unit; carbs' 0.3 search
            radius is a step of ``0.3 * scale`` in the search coordinate.
        is_integer: Values are rounded to integers (not allowed for ``"logit"``).
        drives_cost: The run's cost grows with this param (model size, steps, budget).
        values: The listed values of an ``"ordinal"`` param (increasing numbers) or
            the choices of a ``"categorical"`` one; build those with :meth:`ordinal`
            and :meth:`categorical`.
    """

    name: str
    kind: ParamKind
    low: float
    high: float
    search_center: float
    scale: float = 1.0
    is_integer: bool = False
    drives_cost: bool = False
    values: tuple[Any, ...] = ()

    @classmethod
    def ordinal(
        cls, name: str, values: tuple[float, ...], search_center: float, drives_cost: bool = False
    ) -> ParamSpec:
        """An ordered list of numbers (e.g. powers of two); ``search_center`` is one of them."""
        is_integer = all(isinstance(v, int) for v in values)
        return cls(
            name,
            "ordinal",
            values[0],
            values[-1],
            search_center,
            is_integer=is_integer,
            drives_cost=drives_cost,
            values=tuple(values),
        )

    @classmethod
    def categorical(cls, name: str, choices: tuple[Any, ...], search_center: Any) -> ParamSpec:
        """Choices without an order; ``search_center`` is one of them."""
        return cls(name, "categorical", 0, len(choices) - 1, search_center, values=tuple(choices))

    @property
    def is_listed(self) -> bool:
        """Whether the param takes one of :attr:`values` (ordinal or categorical)."""
        return self.kind in ("ordinal", "categorical")

    def __post_init__(self) -> None:
        if self.kind not in ("linear", "log", "logit", "ordinal", "categorical"):
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if self.is_listed:
            if len(self.values) < 2 or self.search_center not in self.values:
                raise ValueError(f"{self.name}: needs two or more values, the centre among them")
            if self.kind == "ordinal" and list(self.values) != sorted(set(self.values)):
                raise ValueError(f"{self.name}: ordinal values must be strictly increasing")
            return
        if not self.low < self.high:
            raise ValueError(f"{self.name}: low must be < high")
        if self.kind == "log" and self.low <= 0:
            raise ValueError(f"{self.name}: a log param needs low > 0")
        if self.kind == "logit" and not (self.low > 0 and self.high < 1):
            raise ValueError(f"{self.name}: a logit param needs 0 < low < high < 1")
        if self.kind == "logit" and self.is_integer:
            raise ValueError(f"{self.name}: a logit param cannot be an integer")
        if not self.low <= self.search_center <= self.high:
            raise ValueError(f"{self.name}: search_center outside [low, high]")
        if not self.scale > 0:
            raise ValueError(f"{self.name}: scale must be > 0")

    def to_search(self, value: Any) -> float:
        """Map a param value to its search coordinate."""
        if self.is_listed:
            return float(self.values.index(value))
        if self.kind == "log":
            return math.log10(value)
        if self.kind == "logit":
            return float(logit10(value))
        return float(value)

    def from_search(self, coordinate: float) -> Any:
        """Map a search coordinate to a legal param value (rounded and clipped)."""
        if self.is_listed:
            return self.values[min(max(round(coordinate), 0), len(self.values) - 1)]
        if self.kind == "log":
            value = 10.0**coordinate
        elif self.kind == "logit":
            value = float(inverse_logit10(coordinate))
        else:
            value = float(coordinate)
        value = min(max(value, self.low), self.high)
        if self.is_integer:
            return int(min(max(round(value), math.ceil(self.low)), math.floor(self.high)))
        return value

    @property
    def search_low(self) -> float:
        """Lower bound in the search coordinate."""
        return self.to_search(self.low)

    @property
    def search_high(self) -> float:
        """Upper bound in the search coordinate."""
        return self.to_search(self.high)

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn uniformly in the search coordinate (a uniform position in
        :attr:`values` for a listed param)."""
        if self.is_listed:
            return self.values[int(rng.integers(len(self.values)))]
        return self.from_search(float(rng.uniform(self.search_low, self.search_high)))

    def cheap_center(self) -> Any:
        """A search centre a tenth of the way up the range: where a CARBS user would start."""
        if self.kind == "categorical":
            return self.search_center
        if self.kind == "ordinal":
            return self.values[round(CHEAP_CENTER_FRACTION * (len(self.values) - 1))]
        return self.from_search(
            self.search_low + CHEAP_CENTER_FRACTION * (self.search_high - self.search_low)
        )

    def to_carbs_param(self, is_cheap_start: bool = False) -> Param:
        """This spec as a carbs ``Param`` (imports carbs).

        With ``is_cheap_start``, a cost-driving param starts at :meth:`cheap_center`
        instead of the practitioner's default ``search_center``.
        """
        from carbs import CategoricalSpace, LinearSpace, LogitSpace, LogSpace, OrdinalSpace, Param

        start = self.cheap_center() if is_cheap_start and self.drives_cost else self.search_center
        if self.kind == "categorical":
            return Param(self.name, CategoricalSpace(choices=self.values), search_center=start)
        if self.kind == "ordinal":
            return Param(self.name, OrdinalSpace(values=self.values), search_center=start)
        center: float | int = int(start) if self.is_integer else start
        if self.kind == "log":
            space: Any = LogSpace(
                min=self.low, max=self.high, scale=self.scale, is_integer=self.is_integer
            )
        elif self.kind == "logit":
            space = LogitSpace(min=self.low, max=self.high, scale=self.scale)
        else:
            space = LinearSpace(
                min=self.low, max=self.high, scale=self.scale, is_integer=self.is_integer
            )
        return Param(self.name, space, search_center=center)


@dataclass(frozen=True, eq=False)
class Problem:
    """A cost-aware minimisation problem.

    Attributes:
        name: Registry key.
        description: One line saying what is simulated.
        params: The hyperparameters, in a fixed order.
        evaluate_fn: ``(params, rng) -> (output, cost, failed)``; noisy through ``rng``.
        min_cost: Cost of the cheapest legal single run.
        max_cost: Cost of the most expensive legal, non-failing single run.
        noise_free_fn: ``params -> output`` without evaluation noise, or ``None``
            where there is no closed form (a real training run).
        true_best_fn: ``cost -> best noise-free output of a legal, non-failing run
            with cost <= cost`` (``inf`` below ``min_cost``), or ``None``.
        output_ceiling: Output of "a bad run": charged at a cost level where an
            optimizer has no successful run, and a cap on worse outputs in the regret.
            ``None`` derives it from ``noise_free_fn`` (see :attr:`ceiling`).
        default_evals: Evaluations per optimizer run unless overridden.
    """

    name: str
    description: str
    params: tuple[ParamSpec, ...]
    evaluate_fn: Callable[[ParamValues, np.random.Generator], EvalResult]
    min_cost: float
    max_cost: float
    noise_free_fn: Callable[[ParamValues], float] | None = None
    true_best_fn: Callable[[float], float] | None = None
    output_ceiling: float | None = None
    default_evals: int = 60
    _true_best_cache: dict[float, float] = field(default_factory=dict, repr=False)
    _ceiling_cache: list[float] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate param names")
        if not 0 < self.min_cost < self.max_cost:
            raise ValueError(f"{self.name}: need 0 < min_cost < max_cost")
        if self.output_ceiling is None and (
            self.true_best_fn is None or self.noise_free_fn is None
        ):
            raise ValueError(f"{self.name}: output_ceiling is needed without a closed form")

    def variant(
        self,
        name: str,
        note: str,
        evaluate_fn: Callable[[ParamValues, np.random.Generator], EvalResult],
        **changes: Any,
    ) -> Problem:
        """This problem run through another ``evaluate_fn`` (and any other field in
        ``changes``), named ``name``, its description extended by ``note``; the copy
        starts with empty caches, since its front or ceiling may differ."""
        return replace(
            self,
            name=name,
            description=f"{self.description}; {note}",
            evaluate_fn=evaluate_fn,
            _true_best_cache={},
            _ceiling_cache=[],
            **changes,
        )

    @property
    def search_center(self) -> ParamValues:
        """Every param at its search centre."""
        return {
            p.name: int(p.search_center) if p.is_integer and not p.is_listed else p.search_center
            for p in self.params
        }

    def evaluate(self, params: Mapping[str, Any], rng: np.random.Generator) -> EvalResult:
        """Run the problem once: ``(output_to_minimise, cost, failed)``.

        Unknown keys (such as carbs' ``suggestion_uuid``) are ignored.
        """
        values = {p.name: params[p.name] for p in self.params}
        output, cost, failed = self.evaluate_fn(values, rng)
        return float(output), float(cost), bool(failed)

    def noise_free_output(self, params: Mapping[str, Any]) -> float | None:
        """The output without evaluation noise, where the problem has a closed form."""
        if self.noise_free_fn is None:
            return None
        return float(self.noise_free_fn({p.name: params[p.name] for p in self.params}))

    @property
    def has_true_front(self) -> bool:
        """Whether :meth:`true_best_at_cost` is known."""
        return self.true_best_fn is not None

    def true_best_at_cost(self, cost: float) -> float | None:
        """Best noise-free output achievable by one run costing at most ``cost`` (cached)."""
        if self.true_best_fn is None:
            return None
        key = float(cost)
        if key not in self._true_best_cache:
            self._true_best_cache[key] = float(self.true_best_fn(key))
        return self._true_best_cache[key]

    @property
    def ceiling(self) -> float:
        """The output of "a bad run" (``output_ceiling``, or derived and cached).

        Derived as the 90th percentile of the noise-free outputs of 1000 uniformly
        random successful runs (a fixed private generator), raised to at least the
        true best output at the cheapest cost level, so that it is never better than
        the true front at any level.
        """
        if self.output_ceiling is not None:
            return self.output_ceiling
        if not self._ceiling_cache:
            self._ceiling_cache.append(self._derived_ceiling())
        return self._ceiling_cache[0]

    def _derived_ceiling(self, draws: int = 1000) -> float:
        assert self.noise_free_fn is not None
        rng = np.random.default_rng(20230613)
        outputs = []
        for _ in range(draws):
            params = {spec.name: spec.sample(rng) for spec in self.params}
            if not self.evaluate_fn(params, rng)[2]:
                outputs.append(self.noise_free_fn(params))
        cheapest_best = self.true_best_at_cost(float(self.cost_levels()[0]))
        assert outputs and cheapest_best is not None, f"{self.name}: no successful random run"
        return max(float(np.percentile(outputs, 90)), cheapest_best)

    def cost_levels(self, count: int = 5) -> np.ndarray:
        """``count`` log-spaced cost levels for the Pareto regret.

        They split ``[min_cost, max_cost]`` into ``count`` equal steps in log cost and
        end at ``max_cost``; the cheapest cost itself is left out because almost no
        run costs exactly that little.
        """
        return np.geomspace(self.min_cost, self.max_cost, count + 1)[1:]

    def carbs_params(self) -> list[Param]:
        """The params as carbs ``Param`` objects (imports carbs)."""
        return to_carbs_params(self)


def to_carbs_params(problem: Problem, is_cheap_start: bool = False) -> list[Param]:
    """Turn a problem's :class:`ParamSpec` list into carbs ``Param`` objects.

    carbs is imported here, so :mod:`benchmarks.problems` imports without it.
    """
    return [spec.to_carbs_param(is_cheap_start) for spec in problem.params]

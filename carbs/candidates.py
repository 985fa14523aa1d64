"""Drawing candidate points around search origins in basic space.

Real and ordinal columns take a Gaussian step; a categorical column keeps its
origin's choice or, with a probability tied to the search radius, switches to
another choice drawn uniformly (its index is a label, never stepped).
"""

from __future__ import annotations

import math

import attrs
import torch
from torch import Tensor

from carbs.acquisition import log_search_density
from carbs.spaces import CategoricalSpace, SearchSpace

MAX_DRAW_ROUNDS = 8


@attrs.frozen
class Candidates:
    """Legal candidate points and their prior density.

    Attributes:
        points: Rounded, in-bounds points in basic space, shape ``(m, d)``.
        log_prior_density: Log of the max over origins of the normal density
            of the distance to that origin, shape ``(m,)``.
        oversample_factor: The oversampling factor the next draw should start
            from (raised when bounds rejected many draws this time).
    """

    points: Tensor
    log_prior_density: Tensor
    oversample_factor: int


@attrs.frozen
class Stretch:
    """Widen the search distribution along one direction per origin.

    Around origin ``i`` draws have covariance ``r^2 (I + (f^2 - 1) u_i u_i^T)``:
    standard deviation ``f * r`` along the unit vector ``u_i`` and ``r`` across it.
    A zero row leaves that origin's distribution round.

    Attributes:
        directions: Unit (or zero) vectors, shape ``(k, d)``, one per origin.
        factor: ``f >= 1``, the standard deviation along ``u_i`` in units of the radius.
    """

    directions: Tensor
    factor: float


@attrs.frozen
class ChoiceColumns:
    """How candidates vary the categorical columns.

    Attributes:
        columns: The categorical columns.
        counts: Each one's number of choices.
        change_probability: The chance that a draw switches one column's choice
            (:meth:`~carbs.CategoricalSpace.change_probability` of the radius).
    """

    columns: tuple[int, ...]
    counts: tuple[int, ...]
    change_probability: float

    @classmethod
    def of(cls, search_space: SearchSpace, radius: float) -> ChoiceColumns | None:
        """The categorical columns of ``search_space``, or ``None`` if it has none."""
        columns = search_space.categorical_columns
        if not columns:
            return None
        counts = tuple(search_space.choice_counts()[i] for i in columns)
        return cls(columns, counts, CategoricalSpace.change_probability(radius))

    def log_probability(self, points: Tensor, origins: Tensor) -> Tensor:
        """Log probability ``(m, k)`` that a draw around each origin makes each point's choices:
        ``log(1 - p)`` per kept choice, ``log(p / (K - 1))`` per switched one."""
        counts = torch.tensor(self.counts, dtype=points.dtype)
        same = points[:, None, self.columns] == origins[None, :, self.columns]  # (m, k, c)
        kept = math.log1p(-self.change_probability)
        switched = math.log(self.change_probability) - torch.log(counts - 1)
        return torch.where(same, kept, switched).sum(dim=-1)

    def draw(self, origin_choices: Tensor, generator: torch.Generator) -> Tensor:
        """Choices ``(n, c)`` drawn around ``origin_choices`` ``(n, c)``."""
        counts = torch.tensor(self.counts, dtype=origin_choices.dtype)
        shape = origin_choices.shape
        changes = torch.rand(shape, generator=generator, dtype=origin_choices.dtype)
        steps = 1 + torch.floor(torch.rand(shape, generator=generator) * (counts - 1))
        switched = torch.remainder(origin_choices + steps, counts)
        return torch.where(changes < self.change_probability, switched, origin_choices)


def log_prior_density(
    points: Tensor,
    origins: Tensor,
    radius: float,
    stretch: Stretch | None = None,
    choices: ChoiceColumns | None = None,
) -> Tensor:
    """Max over origins of the search density at each point, in log space.

    Without ``stretch`` this is the normal density of the distance to the origin;
    with it, the Mahalanobis distance under the stretched covariance takes the
    distance's place (the normalising constant is the same for every origin, so it
    is left out and scores stay comparable with the round case). With ``choices``
    the distance covers the other columns only, and the probability of the
    point's choices (:meth:`ChoiceColumns.log_probability`) is added.

    Args:
        points: Shape ``(m, d)``.
        origins: Shape ``(k, d)``.
        radius: Standard deviation of the search distribution across the stretch.
        stretch: Optional per-origin stretch (zero on categorical columns).
        choices: The categorical columns, if any.

    Returns:
        Shape ``(m,)``.
    """
    steps, centres = points, origins
    if choices is not None:
        real = [i for i in range(points.shape[-1]) if i not in choices.columns]
        steps, centres = points[:, real], origins[:, real]
        if stretch is not None:
            stretch = Stretch(stretch.directions[:, real], stretch.factor)
    if stretch is None:
        distances = torch.cdist(steps, centres)
    else:
        offsets = steps.unsqueeze(1) - centres.unsqueeze(0)  # (m, k, d)
        along = (offsets * stretch.directions.unsqueeze(0)).sum(dim=-1)  # (m, k)
        squared = offsets.square().sum(dim=-1) - (1 - stretch.factor**-2) * along.square()
        distances = squared.clamp_min(0).sqrt()
    log_density = log_search_density(distances, radius)
    if choices is not None:
        log_density = log_density + choices.log_probability(points, origins)
    return log_density.max(dim=-1).values


def max_oversample_factor(search_space: SearchSpace) -> int:
    """Upper limit on the oversampling factor: ``2 ** d``, capped at 1024, at least 2."""
    return max(2 ** min(search_space.dim, 10), 2)


def next_oversample_factor(drawn: int, legal: int, limit: int) -> int:
    """Draws per wanted candidate that the measured acceptance rate calls for.

    ``ceil(drawn / legal)``, between 1 and ``limit`` (``limit`` when nothing was legal):
    loose bounds bring the factor back down to 1, tight ones raise it.
    """
    if legal == 0:
        return limit
    return max(1, min(limit, math.ceil(drawn / legal)))


class CandidateSampler:
    """Gaussian draws around origins, rounded to the lattice and filtered by bounds.

    Bounds are enforced by rejection. Each round draws as many points as the
    acceptance rate measured so far says are needed (``oversample_factor`` per
    wanted candidate, see :func:`next_oversample_factor`), for a few rounds; the
    call returns the factor its acceptance rate calls for, as the next call's
    start. If the bounds are so tight that rejection still falls short, the
    missing draws are clipped into the bounds instead, so a legal origin always
    yields candidates. The sampler holds no state of its own.

    Args:
        search_space: The params being tuned.
        radius: Standard deviation of draws in basic space.
    """

    def __init__(self, search_space: SearchSpace, radius: float) -> None:
        self.search_space = search_space
        self.radius = radius
        self.choices = ChoiceColumns.of(search_space, radius)

    def sample(
        self,
        origins: Tensor,
        count: int,
        generator: torch.Generator,
        stretch: Stretch | None = None,
        oversample_factor: int = 1,
    ) -> Candidates:
        """Draw up to ``count`` legal candidates around ``origins`` ``(k, d)``.

        Each draw picks an origin uniformly and adds ``N(0, radius^2 I)``, widened
        along that origin's direction when ``stretch`` is given (categorical
        columns instead keep or switch the origin's choice); the first round
        draws ``count * oversample_factor`` points. Fewer than ``count`` points
        come back only if even clipped draws are illegal, which needs an origin
        outside the bounds.
        """
        limit = max_oversample_factor(self.search_space)
        factor = max(1, min(oversample_factor, limit))
        kept: list[Tensor] = []
        found = drawn = 0
        for _ in range(MAX_DRAW_ROUNDS):
            draws = (count - found) * factor
            points = self.search_space.round_basic(self._draw(origins, draws, generator, stretch))
            legal = points[self.search_space.in_bounds_mask(points)]
            kept.append(legal)
            found += legal.shape[0]
            drawn += draws
            factor = next_oversample_factor(drawn, found, limit)
            if found >= count:
                break
        if found < count:
            clipped = self.search_space.clip_basic(
                self._draw(origins, count - found, generator, stretch)
            )
            kept.append(clipped[self.search_space.in_bounds_mask(clipped)])
        points = torch.cat(kept)[:count]
        density = log_prior_density(points, origins, self.radius, stretch, self.choices)
        return Candidates(points, density, factor)

    def _draw(
        self,
        origins: Tensor,
        draws: int,
        generator: torch.Generator,
        stretch: Stretch | None = None,
    ) -> Tensor:
        index = torch.randint(origins.shape[0], (draws,), generator=generator)
        noise = torch.randn((draws, origins.shape[1]), generator=generator, dtype=origins.dtype)
        if stretch is not None:
            # (I + (f - 1) u u^T) z has covariance I + (f^2 - 1) u u^T for a unit u.
            directions = stretch.directions[index]
            along = (noise * directions).sum(dim=-1, keepdim=True)
            noise = noise + (stretch.factor - 1) * along * directions
        points = origins[index] + self.radius * noise
        if self.choices is not None:
            columns = list(self.choices.columns)
            points[:, columns] = self.choices.draw(origins[index][:, columns], generator)
        return points

"""Drawing candidate points around search origins in basic space."""

from __future__ import annotations

import attrs
import torch
from torch import Tensor

from carbs.acquisition import log_search_density
from carbs.spaces import SearchSpace

MAX_DRAW_ROUNDS = 8


@attrs.frozen
class Candidates:
    """Legal candidate points and their prior density.

    Attributes:
        points: Rounded, in-bounds points in basic space, shape ``(m, d)``.
        log_prior_density: Log of the max over origins of the normal density
            of the distance to that origin, shape ``(m,)``.
    """

    points: Tensor
    log_prior_density: Tensor


def log_prior_density(points: Tensor, origins: Tensor, radius: float) -> Tensor:
    """Max over origins of the normal density of the distance, in log space.

    Args:
        points: Shape ``(m, d)``.
        origins: Shape ``(k, d)``.
        radius: Standard deviation of the search distribution.

    Returns:
        Shape ``(m,)``.
    """
    distances = torch.cdist(points, origins)
    return log_search_density(distances, radius).max(dim=-1).values


class CandidateSampler:
    """Gaussian draws around origins, rounded to the lattice and filtered by bounds.

    Bounds are enforced by rejection. When many draws are rejected the
    sampler oversamples more on later calls (``oversample_factor`` doubles,
    up to ``2 ** d``), and within a call it keeps drawing for a few rounds.
    If the bounds are so tight that rejection still falls short, the missing
    draws are clipped into the bounds instead, so a legal origin always yields
    candidates.

    Args:
        search_space: The params being tuned.
        radius: Standard deviation of draws in basic space.
        oversample_factor: Draws per requested candidate on the first round.
    """

    def __init__(
        self, search_space: SearchSpace, radius: float, oversample_factor: int = 1
    ) -> None:
        self.search_space = search_space
        self.radius = radius
        self.oversample_factor = oversample_factor

    @property
    def max_oversample_factor(self) -> int:
        """Upper limit on the oversampling factor."""
        return max(2 ** min(self.search_space.dim, 10), 2)

    def sample(self, origins: Tensor, count: int, generator: torch.Generator) -> Candidates:
        """Draw up to ``count`` legal candidates around ``origins`` ``(k, d)``.

        Each draw picks an origin uniformly and adds ``N(0, radius^2 I)``.
        Fewer than ``count`` points come back only if even clipped draws are
        illegal, which needs an origin outside the bounds.
        """
        kept: list[Tensor] = []
        found = 0
        for _ in range(MAX_DRAW_ROUNDS):
            points = self.search_space.round_basic(
                self._draw(origins, count * self.oversample_factor, generator)
            )
            legal = points[self.search_space.in_bounds_mask(points)]
            kept.append(legal)
            found += legal.shape[0]
            if found >= count:
                break
            self.oversample_factor = min(self.oversample_factor * 2, self.max_oversample_factor)
        if found < count:
            clipped = self.search_space.clip_basic(self._draw(origins, count - found, generator))
            kept.append(clipped[self.search_space.in_bounds_mask(clipped)])
        points = torch.cat(kept)[:count]
        return Candidates(points, log_prior_density(points, origins, self.radius))

    def _draw(self, origins: Tensor, draws: int, generator: torch.Generator) -> Tensor:
        index = torch.randint(origins.shape[0], (draws,), generator=generator)
        noise = torch.randn((draws, origins.shape[1]), generator=generator, dtype=origins.dtype)
        return origins[index] + self.radius * noise

"""Exceptions raised at the public API boundary.

Every error about bad user input is a :class:`ValueError` subclass, so callers
that already catch ``ValueError`` keep working, while callers that want to
tell carbs' errors apart can catch :class:`CARBSValueError`.
"""

from __future__ import annotations


class CARBSValueError(ValueError):
    """Base class of every input-validation error raised by carbs."""


class InvalidSpaceError(CARBSValueError):
    """A parameter space was declared with inconsistent settings."""


class InvalidParamError(CARBSValueError):
    """A :class:`~carbs.Param` or a list of params is invalid (bad centre, duplicate name)."""


class InvalidConfigError(CARBSValueError):
    """A :class:`~carbs.CARBSParams` field is outside its allowed range."""


class InvalidObservationError(CARBSValueError):
    """An observation has a missing or unknown key, a value out of bounds or a bad cost."""


class InsufficientDataError(CARBSValueError):
    """An analysis needs more observations than there are (e.g. a fit without successes)."""


class StateError(CARBSValueError):
    """A saved optimizer state cannot be loaded.

    Raised for invalid or truncated JSON, an unknown ``format_version``, missing
    or malformed fields, and saved params that disagree with the caller's.
    """

"""Parameter spaces: what each hyperparameter may be, and its map to basic space.

See :mod:`carbs.spaces.base` for the vocabulary (param space, basic space),
:mod:`carbs.spaces.real` for ``LinearSpace``, ``LogSpace`` and ``LogitSpace``,
and :mod:`carbs.spaces.discrete` for ``OrdinalSpace``, ``CategoricalSpace`` and
``FixedSpace``.
"""

from carbs.spaces.base import Space
from carbs.spaces.discrete import CategoricalSpace, FixedSpace, OrdinalSpace
from carbs.spaces.params import SPACE_TYPES, SUGGESTION_ID_DICT_KEY, Param, ParamDict, SearchSpace
from carbs.spaces.real import LinearSpace, LogitSpace, LogSpace, RealNumberSpace

__all__ = [
    "SPACE_TYPES",
    "SUGGESTION_ID_DICT_KEY",
    "CategoricalSpace",
    "FixedSpace",
    "LinearSpace",
    "LogSpace",
    "LogitSpace",
    "OrdinalSpace",
    "Param",
    "ParamDict",
    "RealNumberSpace",
    "SearchSpace",
    "Space",
]

"""carbs: cost-aware Pareto-region Bayesian search for hyperparameter tuning.

The public names below are those of the established CARBS release; see the
README for a quick start.
"""

from carbs.analysis import ParetoMember
from carbs.config import (
    CARBSParams,
    ImprovementTargetEnum,
    OutstandingSuggestionEstimatorEnum,
    WandbLoggingParams,
)
from carbs.errors import (
    CARBSValueError,
    InsufficientDataError,
    InvalidConfigError,
    InvalidObservationError,
    InvalidParamError,
    InvalidSpaceError,
    StateError,
)
from carbs.observations import (
    ObservationInBasic,
    ObservationInParam,
    ObserveOutput,
    SuggestionInBasic,
    SuggestOutput,
)
from carbs.optimizer import CARBS
from carbs.predictions import Predictions
from carbs.progress import (
    disable_default_handler,
    enable_default_handler,
    get_verbosity,
    set_verbosity,
)
from carbs.scaling import ChoiceLaw, CostSuggestion, ScalingLaw
from carbs.spaces import (
    SUGGESTION_ID_DICT_KEY,
    CategoricalSpace,
    FixedSpace,
    LinearSpace,
    LogitSpace,
    LogSpace,
    OrdinalSpace,
    Param,
    RealNumberSpace,
)
from carbs.stopping import StopDecision

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # ``carbs.plotting`` without an explicit import, loaded on first use (it imports
    # matplotlib only when a figure is drawn).
    if name == "plotting":
        import importlib

        return importlib.import_module("carbs.plotting")
    raise AttributeError(f"module 'carbs' has no attribute {name!r}")


__all__ = [
    "CARBS",
    "SUGGESTION_ID_DICT_KEY",
    "CARBSParams",
    "CARBSValueError",
    "CategoricalSpace",
    "ChoiceLaw",
    "CostSuggestion",
    "FixedSpace",
    "ImprovementTargetEnum",
    "InsufficientDataError",
    "InvalidConfigError",
    "InvalidObservationError",
    "InvalidParamError",
    "InvalidSpaceError",
    "LinearSpace",
    "LogSpace",
    "LogitSpace",
    "ObservationInBasic",
    "ObservationInParam",
    "ObserveOutput",
    "OrdinalSpace",
    "OutstandingSuggestionEstimatorEnum",
    "Param",
    "ParetoMember",
    "Predictions",
    "RealNumberSpace",
    "ScalingLaw",
    "StateError",
    "StopDecision",
    "SuggestOutput",
    "SuggestionInBasic",
    "WandbLoggingParams",
    "disable_default_handler",
    "enable_default_handler",
    "get_verbosity",
    "set_verbosity",
]

"""Saving, resuming and warm starting: the persistence half of :class:`carbs.CARBS`.

:class:`PersistenceMixin` is part of ``CARBS`` (split off to keep each module
small) and works on CARBS's own sweep and lock; nothing else uses it. The
state's JSON form belongs to :mod:`carbs.state`, atomic files to
:mod:`carbs.jsonio`, the mapping of an earlier sweep to :mod:`carbs.warm_start`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from carbs.checks import check_bool
from carbs.config_data import with_side_effects, with_side_effects_of
from carbs.errors import InvalidParamError
from carbs.jsonio import PathLike, dumps, loads, write_atomic
from carbs.observations import ObservationInBasic, ObservationInParam
from carbs.spaces import Param, SearchSpace
from carbs.state import STATE_FILE_NAME, CARBSState, check_params_match, read_state
from carbs.sweep import Sweep
from carbs.warm_start import plan_warm_start, with_fresh_prior_ids


class PersistenceMixin:
    """``save``/``load``, state dicts and warm starts of :class:`carbs.CARBS`."""

    _sweep: Sweep
    _lock: threading.RLock
    _built_in: Path | None
    search_space: SearchSpace

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover - CARBS's own
        raise NotImplementedError

    def _checked_observations(
        self, observations: Sequence[ObservationInParam]
    ) -> list[ObservationInBasic]:  # pragma: no cover - CARBS's own
        raise NotImplementedError

    def _autosave(self) -> None:  # pragma: no cover - CARBS's own
        raise NotImplementedError

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """An independent optimizer with this one's state, to branch a sweep.

        Its next :meth:`suggest` is the one this optimizer would make. It neither
        autosaves nor logs to W&B (it would write this optimizer's file and run):
        :meth:`save` it where it should live. ``copy.copy`` gives the same, since a
        shallow copy would share this optimizer's state and lock.
        """
        with self._lock:
            return type(self).load_from_string(self.serialize(), self.search_space.params)

    def __copy__(self) -> Self:
        return self.__deepcopy__({})

    def __getstate__(self) -> Any:
        raise TypeError(
            "a CARBS optimizer is not pickled: save() it (or pass serialize()'s JSON) and "
            "CARBS.load() (or load_from_string()) it where it is needed; copy.deepcopy() "
            "gives an independent copy in this process"
        )

    @property
    def checkpoint_path(self) -> Path:
        """The autosaved file, ``checkpoint_dir/carbs_state.json``.

        A relative ``checkpoint_dir`` is read against the working directory at the time
        the optimizer was built or loaded, so a later ``os.chdir`` does not move it.
        """
        folder = Path(self._sweep.state.config.checkpoint_dir or ".")
        if self._built_in is not None:
            folder = self._built_in / folder  # an absolute folder stays itself
        return folder / STATE_FILE_NAME

    def get_state_dict(self) -> dict[str, Any]:
        """Everything that shapes future suggestions, as strict JSON data (:mod:`carbs.state`)."""
        with self._lock:
            return self._sweep.state.to_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace this optimizer's state by one from :meth:`get_state_dict`.

        The saved config replaces this optimizer's, except the settings with side
        effects (autosave, ``checkpoint_dir``, W&B), which stay this optimizer's:
        a state is data and never starts writing or logging by itself. The saved
        params must equal this optimizer's. Nothing changes if it is rejected.

        Raises:
            StateError: an unknown or newer ``format_version``, missing, malformed or
                out-of-range fields, or saved params that differ from this optimizer's.
        """
        restored = CARBSState.from_dict(state)
        with self._lock:
            check_params_match(restored.params, self.search_space.params)
            restored.config = with_side_effects_of(restored.config, self._sweep.state.config)
            restored.params = self.search_space.params
            self._sweep.replace_state(restored)
            self._autosave()

    def serialize(self) -> str:
        """The state (see :meth:`get_state_dict`) as a JSON string."""
        return dumps(self.get_state_dict())

    def save(self, path: PathLike) -> Path:
        """Write the state to a JSON file atomically: a crash leaves the old file or the new.

        Missing folders are created; a new file gets the process's umask. Returns the path.
        """
        with self._lock:  # concurrent saves land in order: the newest state wins
            return write_atomic(path, self.serialize())

    @classmethod
    def load(
        cls,
        path: PathLike,
        params: Sequence[Param] | None = None,
        *,
        checkpoint_dir: PathLike | None = None,
        is_wandb_logging_enabled: bool = False,
    ) -> Self:
        """Build an optimizer from a file written by :meth:`save` or by autosave.

        Its next :meth:`suggest` is the one the saving optimizer would have made.
        The file is parsed as JSON (never unpickled) and treated as data: the
        optimizer autosaves only if ``checkpoint_dir`` is given and logs to W&B
        only if ``is_wandb_logging_enabled`` is set, whatever the file says.

        Args:
            path: The state file.
            params: If given, they must equal the saved params.
            checkpoint_dir: Resume autosaving into this folder.
            is_wandb_logging_enabled: Resume W&B logging with the saved ``wandb_params``.

        Raises:
            FileNotFoundError: no file at ``path``.
            StateError: the file is not a valid state of a format this carbs reads,
                or ``params`` differ from the saved ones.
        """
        return cls._from_state(read_state(path), params, checkpoint_dir, is_wandb_logging_enabled)

    @classmethod
    def load_from_string(
        cls,
        state: str,
        params: Sequence[Param] | None = None,
        *,
        checkpoint_dir: PathLike | None = None,
        is_wandb_logging_enabled: bool = False,
    ) -> Self:
        """Build an optimizer from a :meth:`serialize` string (see :meth:`load`)."""
        restored = CARBSState.from_dict(loads(state))
        return cls._from_state(restored, params, checkpoint_dir, is_wandb_logging_enabled)

    def save_to_file(self, path: PathLike) -> Path:
        """Same as :meth:`save` (the name used by the original CARBS release)."""
        return self.save(path)

    @classmethod
    def load_from_file(cls, path: PathLike, params: Sequence[Param] | None = None) -> Self:
        """Same as :meth:`load` (the name used by the original CARBS release)."""
        return cls.load(path, params)

    def warm_start(
        self,
        path: PathLike,
        is_prior_observation_valid: bool = False,
        added_parameters: Mapping[str, Any] | None = None,
    ) -> None:
        """Start from an earlier sweep's saved state, whose params may differ from these.

        Prior observations are mapped through param space onto these params;
        params the prior sweep did not tune take their value from
        ``added_parameters``. Prior observations outside the current bounds, or
        lacking a param, are skipped with a warning that says why. A prior run
        whose id a run of this sweep already holds (``trial-0`` in both) is
        recorded under a fresh one, ``prior:trial-0``, with a warning; warming up
        from the same file again adds nothing (but the runs that carry no id).

        Args:
            path: A state file written by :meth:`save` or by autosave.
            is_prior_observation_valid: Add the prior observations as data and
                centre the search on the best of them; their intermediate reports
                come along, for early stopping. If ``False`` only the search centre
                moves to the best prior success inside the bounds.
            added_parameters: Values of params new in this sweep; they also become
                those params' search centre.

        Raises:
            FileNotFoundError: no file at ``path``.
            StateError: the file is not a carbs state this version can read, the
                prior sweep tuned params that this optimizer does not, or its
                observations are to be added but it had the other
                ``better_direction_sign``.
            InvalidParamError: ``added_parameters`` names an unknown param or one
                the prior sweep tuned, or holds an illegal value.
        """
        check_bool(is_prior_observation_valid, "is_prior_observation_valid", InvalidParamError)
        prior = read_state(path)
        plan = plan_warm_start(
            prior,
            self.search_space,
            is_prior_observation_valid,
            added_parameters,
            os.fspath(path),
            self._sweep.state.config.better_direction_sign,
        )
        with self._lock:
            if plan.observations:
                state = self._sweep.state
                runs, curves = with_fresh_prior_ids(
                    state.observations,
                    state.outstanding_suggestions,
                    self._checked_observations(plan.observations),
                    plan.curves,
                )
                self._sweep.initialize(self._sweep.without_repeats(runs))
                self._sweep.adopt_curves(curves)
            self._sweep.move_center(plan.center)
            self._autosave()

    @classmethod
    def _from_state(
        cls,
        state: CARBSState,
        params: Sequence[Param] | None,
        checkpoint_dir: PathLike | None,
        is_wandb_logging_enabled: bool,
    ) -> Self:
        if params is not None:
            check_params_match(state.params, params)
        state.config = with_side_effects(state.config, checkpoint_dir, is_wandb_logging_enabled)
        carbs = cls(state.config, state.params if params is None else params)
        state.params = carbs.search_space.params
        carbs._sweep.replace_state(state)
        return carbs


def working_folder() -> Path | None:
    """The working directory, or ``None`` if it no longer exists."""
    try:
        return Path.cwd()
    except OSError:
        return None

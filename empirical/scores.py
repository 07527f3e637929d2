"""Score models in the form every KL measurement of :mod:`empirical.kl` accepts.

A score model is any callable ``score(t, x) -> (N,)`` giving s_{t,θ}(x) at a float ``t`` for a 1-D
array ``x`` (the model (12) once trained, a trained network, or the exact score of a target), with
``score.dx(t, x) -> (N,)``, its x-derivative (the divergence of Remark 3), where the divergence
form of the probability-flow density needs it. The random-feature model (12) is
:class:`empirical.features.RFScore`; this module holds the protocol and the exact score of a target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from .targets import Target1D


@runtime_checkable
class ScoreModel(Protocol):
    """s(t, x) and its x-derivative; ``t`` a float, ``x`` a 1-D array (docs/theory.md §4)."""

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray: ...

    def dx(self, t: float, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ExactScore:
    """The true score ∇log p_t of a target, with its exact derivative."""

    target: Target1D

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        return self.target.score(t, x)

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        return self.target.score_dx(t, x)


def exact_score(target: Target1D) -> ExactScore:
    """Adapter: ``target.score`` / ``target.score_dx`` as a score model.

    Every KL of the exact score is 0 up to discretisation (and KL(p_T‖π) for the samplers started
    from π), which makes it the reference case of each measurement.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.scores import exact_score
    >>> from empirical.targets import gaussian
    >>> s = exact_score(gaussian(0.0, 1.0))
    >>> s(0.5, np.array([2.0])).tolist()  # N(0, 1) is invariant under OU: ∇log p_t(x) = -x
    [-2.0]
    """
    return ExactScore(target)

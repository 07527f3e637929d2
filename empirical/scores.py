"""Score models in the form every KL measurement of :mod:`empirical.kl` accepts.

A score model is any callable ``score(t, x) -> (N,)`` giving s_{t,θ}(x) at a float ``t`` for a 1-D
array ``x`` (the model (12) once trained, a trained network, or the exact score of a target), with
``score.dx(t, x) -> (N,)``, its x-derivative (the divergence of Remark 3), where the divergence
form of the probability-flow density needs it. The random-feature model (12) is
:class:`empirical.rf.features.RFScore`; this module holds the protocol and the exact score of a target.

References
----------
arXiv:2311.01797, random-feature model (12) and Remark 3; docs/theory.md §2, §4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from .targets import Target1D


@runtime_checkable
class ScoreModel(Protocol):
    """s(t, x) and its x-derivative; ``t`` a float, ``x`` a 1-D array (docs/theory.md §4).

    Methods
    -------
    __call__(t, x)
        s_{t,θ}(x) at time ``t`` in [0, T] for the points ``x`` of shape (N,); returns shape (N,).
    dx(t, x)
        ∂_x s_{t,θ}(x), the 1-D divergence of Remark 3, shape (N,).
    """

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray: ...

    def dx(self, t: float, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ExactScore:
    """The true score ∇log p_t of a target, with its exact derivative.

    Parameters
    ----------
    target : Target1D
        The target whose ``score`` and ``score_dx`` are returned.
    """

    target: Target1D

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        """∇log p_t(x) (``target.score``), shape (N,)."""
        return self.target.score(t, x)

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        """∂_x ∇log p_t(x) (``target.score_dx``), shape (N,)."""
        return self.target.score_dx(t, x)


def exact_score(target: Target1D) -> ExactScore:
    """Adapter: ``target.score`` / ``target.score_dx`` as a score model.

    Every KL of the exact score is 0 up to discretisation (and KL(p_T‖π) for the samplers started
    from π), which makes it the reference case of each measurement.

    Parameters
    ----------
    target : Target1D
        Any 1-D target, e.g. :func:`~empirical.targets.gaussian` or :func:`~empirical.targets.two_mode`.

    Returns
    -------
    ExactScore

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

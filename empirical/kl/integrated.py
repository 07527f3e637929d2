"""K4 = KL(p_{t0} ‖ p_{0,θ}) in 1-D with p_{0,θ} ∝ exp(∫ s_{t0,θ}) exactly as (11) (docs/theory.md §4).

The density the paper's theorems name exists only where exp(∫s) can be normalised on R; where it cannot,
K4 is +inf (:func:`empirical.kl.probe.inward_widening` reads the score's sign far out).

References
----------
arXiv:2311.01797, integrated-score density (11); docs/theory.md §4.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import integrate

from ..checks import check_int, check_t0
from ..scores import ScoreModel
from ..targets import Target1D
from .divergence import kl_nodes
from .grids import space_edges
from .probe import checked_score, inward_widening, refuse_nan


def integrated_logpdf(score: ScoreModel, t0: float, x: np.ndarray) -> np.ndarray:
    """log p_{0,θ} of (11) on the uniform nodes ``x``: cumulative Simpson of s_θ(t0, ·).

    Normalised by the trapezoid rule on [x[0], x[-1]] (the density is the one restricted to the grid).

    Parameters
    ----------
    score : ScoreModel
        The model score.
    t0 : float
        Time in [0, T) at which the score is integrated.
    x : ndarray of shape (N,)
        Uniform increasing nodes, N >= 3.

    Returns
    -------
    ndarray of shape (N,)
    """
    cum = integrate.cumulative_simpson(score(t0, x), x=x, initial=0.0)
    cum -= cum.max()
    return cum - np.log(integrate.trapezoid(np.exp(cum), x))


def kl_integrated(target: Target1D, score: ScoreModel, t0: float | None = None, n_x: int = 4001,
                  tail: float = 10.0, prior_tail: float = 10.0) -> float:
    """K4 = KL(p_{t0} ‖ p_{0,θ}) with p_{0,θ} ∝ exp(∫ s_θ(t0, ·)) as (11), on the K2 interval.

    The density the paper's theorems name (1-D only: in higher dimension s_θ need not be a gradient).
    It exists only if exp(∫s) can be normalised on R, i.e. s_θ > 0 far left and s_θ < 0 far right: the
    sign is read at the ends of the interval and of the interval widened about its centre by 4, 16 and
    64 (:func:`~empirical.kl.probe.inward_widening`). Pointing outwards at the widest ends, K4 is +inf (a
    RuntimeWarning says where). Pointing inwards there but outwards at the interval's own ends (p_{0,θ} has
    mass beyond them), the interval is widened to the smallest of those whose ends and every wider end
    point inwards, with the same node spacing. Otherwise (the usual case) the interval is used as it is.

    Parameters
    ----------
    target : Target1D
        p0 and its forward SDE; the reference density is p_{t0}.
    score : ScoreModel or callable
        The model score, any ``score(t, x)``.
    t0 : float, optional
        Time in [0, T) at which the score is integrated; None (default) is the SDE's ``eps`` (0 for
        OU, ε for VE: σ_0 = 0 leaves no score at t = 0 under VE).
    n_x : int, default 4001
        Nodes of the interval of :func:`~empirical.kl.grids.space_edges`, >= 3.
    tail, prior_tail : float, default 10.0
        The interval's widths, > 0.

    Returns
    -------
    float
        K4 >= 0 up to discretisation, or +inf when exp(∫s) is not normalisable.

    Raises
    ------
    ValueError
        If an argument is outside the range above; :func:`~empirical.kl.probe.checked_score` errors naming
        ``score``.

    Warns
    -----
    RuntimeWarning
        When K4 is +inf.

    Examples
    --------
    With no sampler, p_{0,θ} of the shifted score at t0 = 0 is N(0.2, 1) itself, so K4 = 0.2²/2:

    >>> from empirical.kl import kl_integrated
    >>> from empirical.scores import exact_score
    >>> from empirical.sde import ou
    >>> from empirical.targets import gaussian
    >>> p = gaussian(0.0, 1.0, sde=ou(1.0))
    >>> shifted = exact_score(gaussian(0.2, 1.0, sde=ou(1.0)))
    >>> abs(kl_integrated(p, exact_score(p), n_x=301)) < 1e-12
    True
    >>> round(kl_integrated(p, shifted, n_x=301), 10)
    0.02

    A score of zero leaves exp(∫s) = 1, which no constant normalises on R:

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     kl_integrated(p, lambda t, x: 0.0 * x, n_x=301)
    inf
    """
    t0 = check_t0(target.sde.eps if t0 is None else t0, target.sde.T)
    score = checked_score(target, score, t0)
    n_x = check_int("n_x", n_x, 3)
    x = space_edges(target, t0, n_x - 1, tail, prior_tail)
    widen, outward = inward_widening(score, t0, float(x[0]), float(x[-1]))
    if outward is not None:
        warnings.warn(f"K4 = +inf: p_0,θ ∝ exp(∫s) is not normalisable on R ({outward})", RuntimeWarning, stacklevel=2)
        return float("inf")
    if widen > 1:  # the score points outwards at the interval's ends: the same spacing over the widened interval
        c, r = 0.5 * (x[0] + x[-1]), 0.5 * (x[-1] - x[0])
        x = np.linspace(c - widen * r, c + widen * r, int(widen) * (n_x - 1) + 1)
    values = np.concatenate([score(t0, x[i:i + n_x]) for i in range(0, x.size, n_x)])  # at most n_x at once
    refuse_nan(values, "K4", nonfinite=True)
    return kl_nodes(target.logpdf(t0, x), integrated_logpdf(lambda t, y: values, t0, x), x)

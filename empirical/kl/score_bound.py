"""K1, the score bound of Lemma 2: the one place the engine computes it.

    K1 = ½ ∫_{t0}^T g(t)² E_{p_t}(∇log p_t - s_θ)² dt + KL(p_T ‖ π)  ≥  KL(p_{t0} ‖ q_θ^SDE)

with π = N(0, ``sde.prior_var``) (N(0, 1) for OU, N(0, σ_T²) for VE) and t0 defaulting to ``sde.eps``

(Song, Durkan, Murray, Ermon 2021, Thm 1; the paper drops the ½ and writes E_{t~U(0,T)}, the
constants going into ≲). Two evaluations of the same quantity:

- the random-feature model (12) (:class:`~empirical.rf.features.RFScore`): exactly in x, by Lemma 3,
  K1 = ½ (T - t0) L̃_g2(A) + KL(p_T‖π) with L̃_g2 the population loss under the weighting λ = g²;
  in 1-D, and in R^d for isotropic Gaussian-mixture targets (:func:`empirical.rf.loss.population_losses`);
- any other score callable (1-D only): by quadrature, Gauss-Legendre in u after t = t0 + (T - t0) u²
  (:func:`empirical.quadrature.time_grid`) and the trapezoid rule in x (:func:`score_error`).

``method="quadrature"`` forces the second for a random-feature score: a second method that checks
the first.

References
----------
arXiv:2311.01797, Lemma 2 (the score bound K1) and Lemma 3; docs/theory.md §4.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

from ..checks import check_int, check_t0
from ..rf.features import RFScore
from ..rf.loss import QuadraticLoss, population_loss
from ..quadrature import time_grid
from ..scores import ScoreModel
from ..targets import Target, Target1D
from .probe import checked_score, refuse_nan

METHODS = ("auto", "quadratic", "quadrature")


def score_error(target: Target1D, score: ScoreModel, t: float, n_x: int = 801, tail: float = 10.0) -> float:
    """E_{p_t}(∇log p_t - s_θ(t, ·))² by the trapezoid rule on ``n_x`` nodes over support(p_t).

    Parameters
    ----------
    target : Target1D
    score : ScoreModel
    t : float
        Time in (0, T] (at t = 0, targets with point masses or compact support have no score).
    n_x : int, default 801
        Trapezoid nodes, >= 2.
    tail : float, default 10.0
        Standard deviations of p_t covered, > 0.

    Returns
    -------
    float

    Examples
    --------
    A score off by a constant 0.5 has squared error 0.25 under any p_t:

    >>> from empirical.kl import score_error
    >>> from empirical.targets import gaussian
    >>> p = gaussian(0.0, 1.0)
    >>> round(score_error(p, lambda t, x: p.score(t, x) + 0.5, 1.0), 12)
    0.25
    """
    x = np.linspace(*target.support(t, tail=tail), n_x)
    values = refuse_nan(score(t, x), "the score error", nonfinite=True)
    return float(integrate.trapezoid(target.pdf(t, x) * (target.score(t, x) - values) ** 2, x))


def _quadratic(target: Target, score: RFScore, t0: float, loss: QuadraticLoss | None) -> np.ndarray:
    features = score.features
    if loss is None:
        loss = population_loss(target, features, "g2", t0=t0)
    if (loss.lam != "g2" or not loss.kind.startswith("population") or loss.t0 != t0 or loss.m != features.m
            or loss.d != features.d):
        raise ValueError(f"loss must be the population 'g2' loss of these features (m = {features.m}, d = {features.d}) "
                         f"with t0 = {t0}, got kind {loss.kind!r}, lam {loss.lam!r}, t0 {loss.t0}, m {loss.m}, d {loss.d}")
    return 0.5 * loss.horizon * loss.value(score.A) + target.kl_to_prior()


def kl_score_bound(target: Target, score: ScoreModel, t0: float | None = None, *,
                   method: str = "auto", loss: QuadraticLoss | None = None, n_panels: int = 8, order: int = 8,
                   n_x: int = 801, tail: float = 10.0) -> float | np.ndarray:
    """K1 = ½ ∫_{t0}^T g(t)² E_{p_t}(∇log p_t - s_θ)² dt + KL(p_T ‖ π) (Lemma 2).

    Parameters
    ----------
    target : Target1D or Target
        p0 and its forward SDE; KL(p_T ‖ π) is ``target.kl_to_prior()``. A target in R^d (not a
        Target1D, e.g. :func:`~empirical.targets.two_mode_nd`) needs a random-feature score and an
        isotropic Gaussian mixture (``target.gaussian_mixture()``), or a ``loss`` given.
    score : ScoreModel
        The model score. A stack of random-feature models (:class:`~empirical.rf.features.RFScore` with
        A of shape (k, d, m), e.g. one per training time τ) is evaluated in one call and gives an array.
        In R^d build it as ``RFScore(features, A)`` with A of shape (d, m) or (k, d, m).
    t0 : float, optional
        The t-integral starts at t0 ∈ [0, T); None (default) is the SDE's ``eps`` (0 for OU, ε for VE).
    method : {"auto", "quadratic", "quadrature"}
        "auto": the exact quadratic form (Lemma 3) for random-feature scores, quadrature otherwise.
        Quadrature is 1-D only (a Target1D).
    loss : QuadraticLoss, optional
        For the quadratic form: the population loss of the same features with λ = g² and the same
        t0, reused when given (it is the expensive part), built otherwise.
    n_panels, order, n_x, tail : quadrature only
        ``n_panels`` × ``order`` Gauss-Legendre nodes in u, t = t0 + (T - t0) u²; ``n_x`` trapezoid
        nodes in x over support(p_t, tail).

    Returns
    -------
    float, or an array of k values for a stack of k random-feature models

    Raises
    ------
    ValueError
        If ``method`` is unknown, 'quadratic' is asked of a score that is not an RFScore, quadrature
        (asked, or needed by a score that is not an RFScore) of a target that is not a Target1D, t0
        is not in [0, T), or ``loss`` is not the population 'g2' loss of the same features (m, d) and
        t0; :func:`empirical.rf.loss.population_losses` raises for a target in R^d that is not an
        isotropic Gaussian mixture.

    References
    ----------
    arXiv:2311.01797, Lemma 2 and eq. (5); Y. Song, C. Durkan, I. Murray, S. Ermon, "Maximum
    likelihood training of score-based diffusion models", NeurIPS 2021, Thm 1; docs/theory.md §4.

    Examples
    --------
    The exact score leaves only KL(p_T ‖ π):

    >>> from empirical.kl import kl_score_bound
    >>> from empirical.scores import exact_score
    >>> from empirical.targets import two_mode
    >>> p = two_mode(3.0)
    >>> abs(kl_score_bound(p, exact_score(p)) - p.kl_to_prior()) < 1e-15
    True

    A trained random-feature model, exactly and by quadrature:

    >>> from empirical.rf.features import draw_features, rf_score
    >>> from empirical.rf.loss import population_loss
    >>> f = draw_features(16, seed=1)
    >>> s = rf_score(f, population_loss(p, f, "g2", n_t=16).minimizer())
    >>> exact, quad = kl_score_bound(p, s), kl_score_bound(p, s, method="quadrature")
    >>> bool(abs(exact / quad - 1) < 1e-3)
    True

    In R^3 (exact for Gaussian-mixture targets): the model A = 0 has K1 = ½∫g² E‖∇log p_t‖² dt + KL:

    >>> from empirical.rf.features import RFScore
    >>> from empirical.targets import two_mode_nd
    >>> p3, f3 = two_mode_nd(3.0, 3), draw_features(8, d=3, seed=0)
    >>> k1 = kl_score_bound(p3, RFScore(f3, np.zeros((3, 8))), 0.01)
    >>> bool(np.isclose(k1, population_loss(p3, f3, "g2", t0=0.01).c * 0.5 * 4.99 + p3.kl_to_prior()))
    True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    sde = target.sde
    t0 = check_t0(sde.eps if t0 is None else t0, sde.T)
    is_rf = isinstance(score, RFScore)
    if method == "quadratic" and not is_rf:
        raise ValueError("method 'quadratic' needs a random-feature score (RFScore)")
    if is_rf and method != "quadrature":
        out = _quadratic(target, score, t0, loss)
        return out if score.stacked else float(out)
    if not isinstance(target, Target1D):
        raise ValueError(f"method {method!r} needs quadrature, which is 1-D only: target "
                         f"{getattr(target, 'name', type(target).__name__)!r} has d = {getattr(target, 'dim', '?')}; "
                         "pass a random-feature score (RFScore) for the exact quadratic form")
    n_x = check_int("n_x", n_x, 3)
    if not is_rf:
        score = checked_score(target, score, t0)
    grid = time_grid(sde.T, order, t0, n_panels)
    values = []
    for s in score if is_rf else [score]:
        err = np.array([float(sde.g2(t)) * score_error(target, s, t, n_x, tail) for t in grid.t])
        values.append(0.5 * grid.horizon * float(grid.w @ err) + target.kl_to_prior())
    return np.array(values) if is_rf and score.stacked else values[0]

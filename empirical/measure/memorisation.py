"""The memorised fraction of the reverse-SDE sampler's law (Bonnaire, Urfin, Biroli, Mézard 2025).

A generated x is *memorised* when its nearest training point is closer than ``ratio`` = 1/3 of the
distance to the second nearest: ‖x - y_(1)‖ < ‖x - y_(2)‖ / 3 (arXiv 2505.17638; also Buchanan
et al.'s code). The memorised fraction of a sampler is the probability of that set under the
sampler's law at t0: the law of the reverse SDE (3) driven by the model score, the law K2 measures
(docs/theory.md §4).

- 1-D, exact up to the Fokker–Planck discretisation (:func:`memorised_fraction`): with the training
  points sorted, y_1 <= ... <= y_n, and gaps g_i^- = y_i - y_{i-1}, g_i^+ = y_{i+1} - y_i (+inf
  at the ends), the memorised set is the disjoint union of the intervals
  (y_i - a_i, y_i + b_i) with, for ρ = ``ratio``,

      b_i = min(ρ g_i^+ / (1 + ρ), ρ g_i^- / (1 - ρ)),   a_i = min(ρ g_i^- / (1 + ρ), ρ g_i^+ / (1 - ρ))

  (ρ = 1/3: b_i = min(g_i^+/4, g_i^-/2)). On the right of y_i, u = x - y_i must satisfy
  u < ρ (g_i^+ - u) (the next point) and u < ρ (u + g_i^-) (the previous one); the left side is the
  mirror image. The law is the K2 law (:func:`empirical.kl.kl_sde_law`, cell averages); its mass
  over the intervals is integrated exactly, cells split at the interval ends
  (:meth:`~empirical.kl.fokker_planck.FPSolution.cdf`). Intervals narrower than a cell take the
  cell's average density: the law is resolved to its cells, as for K2.
- any d, by sampling (:func:`sampled_memorised_fraction`): Euler–Maruyama draws of the reverse SDE
  from π (:func:`empirical.kl.sampling.reverse_sde_samples`), the criterion by a k-d tree, the
  fraction with its binomial standard error √(p(1 - p)/N) and the Wilson score interval.

References
----------
arXiv:2311.01797, reverse SDE (3); docs/theory.md §4 and §11.1 (Bonnaire, Urfin, Biroli, Mézard,
arXiv 2505.17638). E. B. Wilson, "Probable inference, the law of succession, and statistical
inference", JASA 22 (1927) (the score interval).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import spatial, special

from ..checks import check_int, check_t0
from ..kl import kl_sde_law
from ..kl.fokker_planck import FPSolution
from ..kl.sampling import reverse_sde_samples
from ..quadrature import time_steps
from ..scores import ScoreModel
from ..sde import LinearSDE
from ..targets import Target1D

__all__ = ["RATIO", "SampledFraction", "is_memorised", "memorised_fraction", "memorised_intervals",
           "memorised_mass", "sampled_memorised_fraction", "target_memorised_fraction", "wilson_interval"]

RATIO = 1.0 / 3.0
"""Bonnaire et al.'s criterion: memorised when d(x, nearest) < RATIO · d(x, second nearest)."""


def _check_ratio(ratio: float) -> float:
    if isinstance(ratio, bool) or not (isinstance(ratio, (int, float, np.integer, np.floating))
                                       and 0.0 < ratio < 1.0):
        raise ValueError(f"ratio must be a number in (0, 1), got {ratio!r}")
    return float(ratio)


def _training_points(x_train: np.ndarray, d: int | None = None) -> np.ndarray:
    """The training set as a finite (n, d) array with n >= 2 (a second nearest point must exist)."""
    x = np.asarray(x_train, dtype=float)
    x = x.reshape(-1, 1) if x.ndim <= 1 else x
    if x.ndim != 2 or x.shape[0] < 2 or not np.all(np.isfinite(x)) or (d is not None and x.shape[1] != d):
        want = "(n,) or (n, d)" if d is None else f"(n, {d})" + (" or (n,)" if d == 1 else "")
        raise ValueError(f"x_train must be a finite array of shape {want} with n >= 2 points, got shape {x.shape}")
    return x


def memorised_intervals(x_train: np.ndarray, ratio: float = RATIO) -> tuple[np.ndarray, np.ndarray]:
    """The 1-D memorised set as disjoint open intervals (lo_i, hi_i) around the sorted training points.

    Parameters
    ----------
    x_train : array_like of shape (n,) or (n, 1)
        Training points, finite, n >= 2.
    ratio : float, default 1/3
        The criterion's ρ in (0, 1) (module docstring).

    Returns
    -------
    lo, hi : ndarray of shape (n,)
        Increasing, lo_i <= y_i <= hi_i <= lo_{i+1}; an interval is empty (lo = hi) at a repeated point.

    Raises
    ------
    ValueError
        If ``x_train`` is not finite with n >= 2 one-dimensional points, or ``ratio`` is not in (0, 1).

    Examples
    --------
    Points 0, 1, 3: around 1 the gaps are 1 (left) and 2 (right), so the interval is
    (1 - min(1/4, 2/2), 1 + min(2/4, 1/2)) = (0.75, 1.5):

    >>> from empirical.measure.memorisation import memorised_intervals
    >>> lo, hi = memorised_intervals([3.0, 0.0, 1.0])
    >>> lo.round(12).tolist(), hi.round(12).tolist()
    ([-0.5, 0.75, 2.5], [0.25, 1.5, 4.0])
    """
    rho = _check_ratio(ratio)
    y = np.sort(_training_points(x_train, 1)[:, 0])
    gaps = np.diff(y)
    left = np.concatenate([[np.inf], gaps])    # g_i^-
    right = np.concatenate([gaps, [np.inf]])   # g_i^+
    a = np.minimum(rho * left / (1 + rho), rho * right / (1 - rho))
    b = np.minimum(rho * right / (1 + rho), rho * left / (1 - rho))
    return y - a, y + b


def memorised_mass(law: FPSolution, x_train: np.ndarray, ratio: float = RATIO) -> float:
    """Mass of the memorised intervals under a 1-D law given by cell averages, cells split at their ends.

    Parameters
    ----------
    law : FPSolution
        Cell averages of the law (e.g. the reverse-SDE law of :func:`empirical.kl.kl_sde_law`).
    x_train : array_like of shape (n,) or (n, 1)
        Training points, n >= 2.
    ratio : float, default 1/3
        The criterion's ρ.

    Returns
    -------
    float
        In [0, 1] (clipped against round-off of a law of mass 1).

    Examples
    --------
    The uniform law on [0, 4] (two cells) and training points 1, 3: the intervals (0, 1.5) and
    (2.5, 4) hold 3/4 of the mass.

    >>> import numpy as np
    >>> from empirical.kl.fokker_planck import FPSolution
    >>> from empirical.measure.memorisation import memorised_mass
    >>> law = FPSolution(edges=np.array([0.0, 2.0, 4.0]), q=np.array([0.25, 0.25]), t0=0.0)
    >>> memorised_mass(law, [1.0, 3.0])
    0.75
    """
    lo, hi = memorised_intervals(x_train, ratio)
    return float(np.clip(np.sum(law.cdf(hi) - law.cdf(lo)), 0.0, 1.0))


def memorised_fraction(target: Target1D, score: ScoreModel, x_train: np.ndarray, t0: float | None = None,
                       ratio: float = RATIO, **kwargs) -> float:
    """The memorised fraction of the reverse-SDE sampler's law at t0, exactly in 1-D (module docstring).

    Parameters
    ----------
    target : Target1D
        p0 and its forward SDE (they set the sampler's grid and its start π, as for K2).
    score : ScoreModel or callable
        The model score driving the sampler (3).
    x_train : array_like of shape (n,) or (n, 1)
        The training points, n >= 2.
    t0 : float, optional
        Where the sampler stops, in [0, T); None is the SDE's ``eps``.
    ratio : float, default 1/3
        The criterion's ρ.
    **kwargs
        Discretisation of the law, as for :func:`empirical.kl.kl_sde` (``n_cells``, ``n_steps``, ...).

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        If an argument is outside its range.

    Examples
    --------
    The exact score of p0 = N(0, 1) (T = 1) leaves the sampler's law N(0, 1); with training points
    -1 and 1 the memorised set is (-2, -0.5) ∪ (0.5, 2), of mass 2 (Φ(2) - Φ(0.5)):

    >>> from scipy.stats import norm
    >>> from empirical.measure.memorisation import memorised_fraction
    >>> from empirical.sde import ou
    >>> from empirical.targets import gaussian
    >>> p = gaussian(0.0, 1.0, sde=ou(1.0))
    >>> f = memorised_fraction(p, p.score, [-1.0, 1.0], n_cells=600, n_steps=40)
    >>> bool(abs(f - 2 * (norm.cdf(2.0) - norm.cdf(0.5))) < 1e-4)
    True
    """
    _training_points(x_train, 1)
    _check_ratio(ratio)
    _, law = kl_sde_law(target, score, t0, **kwargs)
    return memorised_mass(law, x_train, ratio)


def target_memorised_fraction(target: Target1D, x_train: np.ndarray, t0: float | None = None,
                              ratio: float = RATIO) -> float:
    """The memorised fraction of p_{t0} itself, exactly (1-D): the level a sampler that does not memorise has.

    Fresh draws of the target fall into the memorised intervals too (in 1-D about a third of them at
    the default ratio), so a sampler's fraction is read against this reference.

    Parameters
    ----------
    target : Target1D
        p0 and its forward SDE.
    x_train : array_like of shape (n,) or (n, 1)
        Training points, n >= 2.
    t0 : float, optional
        Time in [0, T); None is the SDE's ``eps``.
    ratio : float, default 1/3
        The criterion's ρ.

    Returns
    -------
    float

    Examples
    --------
    >>> from scipy.stats import norm
    >>> from empirical.measure.memorisation import target_memorised_fraction
    >>> from empirical.targets import gaussian
    >>> f = target_memorised_fraction(gaussian(0.0, 1.0), [-1.0, 1.0])
    >>> bool(abs(f - 2 * (norm.cdf(2.0) - norm.cdf(0.5))) < 1e-14)
    True
    """
    lo, hi = memorised_intervals(x_train, ratio)
    t0 = check_t0(target.sde.eps if t0 is None else t0, target.sde.T)
    return float(np.clip(np.sum(target.cdf(t0, hi) - target.cdf(t0, lo)), 0.0, 1.0))


def is_memorised(points: np.ndarray, x_train: np.ndarray, ratio: float = RATIO) -> np.ndarray:
    """Whether each point is memorised: its nearest training point closer than ``ratio`` x the second nearest.

    Parameters
    ----------
    points : array_like of shape (N, d), or (N,) in 1-D
        Generated points, finite.
    x_train : array_like of shape (n, d), or (n,) in 1-D
        Training points, finite, n >= 2.
    ratio : float, default 1/3
        The criterion's ρ in (0, 1).

    Returns
    -------
    ndarray of bool, shape (N,)

    Raises
    ------
    ValueError
        If the shapes do not match, a value is not finite, n < 2, or ``ratio`` is not in (0, 1).

    Examples
    --------
    >>> from empirical.measure.memorisation import is_memorised
    >>> is_memorised([[0.1, 0.0], [0.5, 0.0]], [[0.0, 0.0], [1.0, 0.0]]).tolist()
    [True, False]
    """
    rho = _check_ratio(ratio)
    train = _training_points(x_train)
    d = train.shape[1]
    x = np.asarray(points, dtype=float)
    x = x.reshape(-1, 1) if (d == 1 and x.ndim <= 1) else x
    if x.ndim != 2 or x.shape[1] != d or not np.all(np.isfinite(x)):
        raise ValueError(f"points must be a finite array of shape (N, {d}), got shape {x.shape}")
    dist, _ = spatial.cKDTree(train).query(x, k=2)
    return dist[:, 0] < rho * dist[:, 1]


def wilson_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion.

    Parameters
    ----------
    successes, trials : int
        0 <= successes <= trials, trials >= 1.
    level : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    (lo, hi) : tuple of float
        Inside [0, 1]; it contains successes/trials.

    Examples
    --------
    >>> from empirical.measure.memorisation import wilson_interval
    >>> [round(v, 4) for v in wilson_interval(0, 10)]  # no successes: still a positive upper end
    [0.0, 0.2775]
    """
    trials = check_int("trials", trials, 1)
    successes = check_int("successes", successes, 0)
    if successes > trials:
        raise ValueError(f"successes must be <= trials = {trials}, got {successes}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    z = float(special.ndtri(0.5 + level / 2.0))
    p, z2 = successes / trials, z * z / trials
    centre = (p + z2 / 2.0) / (1.0 + z2)
    half = z * np.sqrt(p * (1.0 - p) / trials + z2 / (4.0 * trials)) / (1.0 + z2)
    # it contains p exactly; the clamps keep round-off (at p = 0 or 1) from moving an end past p
    return float(min(p, max(0.0, centre - half))), float(max(p, min(1.0, centre + half)))


@dataclass(frozen=True)
class SampledFraction:
    """A memorised fraction estimated from draws of the sampler.

    Attributes
    ----------
    fraction : float
        Memorised draws / draws.
    se : float
        Binomial standard error √(p(1 - p)/N).
    lo, hi : float
        Wilson score interval at ``level``.
    n_samples : int
    level : float
    """

    fraction: float
    se: float
    lo: float
    hi: float
    n_samples: int
    level: float


def sampled_memorised_fraction(sde: LinearSDE, score: ScoreModel, x_train: np.ndarray, n_samples: int = 4000,
                               seed: int = 0, t0: float | None = None, n_steps: int = 400, level: float = 0.95,
                               ratio: float = RATIO) -> SampledFraction:
    """The memorised fraction of the reverse-SDE sampler (3) from ``n_samples`` Euler–Maruyama draws (any d).

    The draws start from π = N(0, ``sde.prior_var`` I) at T and stop at t0 after ``n_steps`` steps
    graded towards t0 (:func:`empirical.quadrature.time_steps`, power 2).

    Parameters
    ----------
    sde : LinearSDE
        The forward SDE (2).
    score : ScoreModel or callable
        ``score(t, x)``: x of shape (N,) in 1-D, (N, d) in R^d, returning the same shape (e.g.
        :class:`~empirical.rf.features.RFScore`).
    x_train : array_like of shape (n, d), or (n,) in 1-D
        Training points, n >= 2; d is read from it.
    n_samples : int, default 4000
        Draws, >= 1.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` (start points and noise).
    t0 : float, optional
        Where the sampler stops, in [0, T); None is the SDE's ``eps``.
    n_steps : int, default 400
        Euler–Maruyama steps, >= 1.
    level : float, default 0.95
        Level of the Wilson interval, in (0, 1).
    ratio : float, default 1/3
        The criterion's ρ.

    Returns
    -------
    SampledFraction

    Raises
    ------
    ValueError
        If an argument is outside its range.

    Examples
    --------
    A score of zero spreads π far beyond two training points at ±1: few draws are memorised.

    >>> import numpy as np
    >>> from empirical.measure.memorisation import sampled_memorised_fraction
    >>> from empirical.sde import ou
    >>> r = sampled_memorised_fraction(ou(1.0), lambda t, x: np.zeros_like(x), [[-1.0, 0.0], [1.0, 0.0]],
    ...                                n_samples=2000, n_steps=50)
    >>> bool(r.lo <= r.fraction <= r.hi), r.fraction < 0.2, bool(np.isclose(r.se, np.sqrt(r.fraction * (1 - r.fraction) / 2000)))
    (True, True, True)
    """
    train = _training_points(x_train)
    _check_ratio(ratio)
    n_samples = check_int("n_samples", n_samples, 1)
    n_steps = check_int("n_steps", n_steps, 1)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    t0 = check_t0(sde.eps if t0 is None else t0, sde.T)
    rng = np.random.default_rng(seed)
    d = train.shape[1]
    shape = (n_samples,) if d == 1 else (n_samples, d)
    start = np.sqrt(sde.prior_var) * rng.standard_normal(shape)
    x = reverse_sde_samples(sde, score, n_samples, time_steps(t0, sde.T, n_steps), rng, x_start=start)
    hits = int(np.sum(is_memorised(x, train, ratio)))
    p = hits / n_samples
    lo, hi = wilson_interval(hits, n_samples, level)
    return SampledFraction(p, float(np.sqrt(p * (1.0 - p) / n_samples)), lo, hi, n_samples, float(level))

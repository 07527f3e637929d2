"""The Gaussian floor KL(p0 ‖ N(m, Σ)): the KL of the best Gaussian approximation of a 1-D target.

A score model that learns only the first two moments of the data (a linear score, the lazy or kernel
regime's limit) samples a Gaussian law; of all Gaussians, N(m, Σ) with p0's own mean m and variance Σ
is the closest to p0 in KL(p0 ‖ ·), and

    KL(p0 ‖ N(m, Σ)) = ½ log(2πe Σ) - H(p0),

H the differential entropy. Latourelle-Vigeant et al. (arXiv 2608.23938) give it as the floor their
kernel score models tend to: 0.31 nats at µ = 2.5, 0.46 at µ = 3 and 1.61 at µ = 10 for the two-mode
mixture ½N(-µ, 1) + ½N(µ, 1), whose variance is 1 + µ². For separated modes H(p0) → log 2 + ½ log(2πe),
so the floor tends to ½ log(1 + µ²) - log 2. In R^d with the modes along one axis the other d - 1
directions are standard normal, fitted exactly by the Gaussian: the floor is the same for every d.

References
----------
docs/theory.md §11 (arXiv 2608.23938); T. M. Cover, J. A. Thomas, "Elements of Information Theory",
2nd ed., Wiley 2006, Thm 8.6.5 (the Gaussian maximises entropy at a given variance).
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

from ..targets import Target1D

__all__ = ["gaussian_floor"]


def gaussian_floor(target: Target1D, t: float = 0.0) -> float:
    """KL(p_t ‖ N(m_t, Σ_t)) with m_t, Σ_t the mean and variance of p_t (module docstring).

    The moments come from the target's partial moments at the upper end of its support; the entropy
    term ∫ p log p by adaptive quadrature over the support, split at the mixture's component means.

    Parameters
    ----------
    target : Target1D
        p0 and its forward SDE (``support``, ``partial_moments`` and ``logpdf`` are used).
    t : float, default 0
        The time of p_t, in [0, T).

    Returns
    -------
    float
        >= 0 (0 for a Gaussian target, up to quadrature error; clipped at 0).

    Raises
    ------
    ValueError
        If ``target`` is not a 1-D target or ``t`` is outside [0, T).

    Examples
    --------
    >>> from empirical.measure.gaussian_floor import gaussian_floor
    >>> from empirical.targets import gaussian, two_mode
    >>> round(float(gaussian_floor(two_mode(3.0))), 2), round(float(gaussian_floor(two_mode(10.0))), 2)
    (0.46, 1.61)
    >>> gaussian_floor(gaussian(1.0, 2.0)) < 1e-9
    True
    """
    if not isinstance(target, Target1D) or getattr(target, "dim", 1) != 1:
        raise ValueError(f"target must be a 1-D target (Target1D), got {type(target).__name__}")
    if isinstance(t, bool) or not (isinstance(t, (int, float, np.integer, np.floating)) and 0.0 <= t < target.sde.T):
        raise ValueError(f"t must be a number in [0, T) = [0, {target.sde.T:g}), got {t!r}")
    lo, hi = target.support(t)
    f0, f1, f2 = (float(np.asarray(v).ravel()[0]) for v in target.partial_moments(t, np.array([hi])))
    mean = f1 / f0
    var = f2 / f0 - mean * mean

    def integrand(x: float) -> float:
        lp = float(target.logpdf(t, np.array(x)))
        return np.exp(lp) * lp if np.isfinite(lp) else 0.0

    means = getattr(target, "components", None)
    pts = np.unique(np.clip(means(t)[0], lo, hi)) if means is not None else None
    neg_entropy, _ = integrate.quad(integrand, lo, hi, points=pts if pts is not None and len(pts) < 50 else None,
                                    limit=500, epsabs=1e-13, epsrel=1e-10)
    return float(max(0.5 * np.log(2 * np.pi * np.e * var) + neg_entropy, 0.0))

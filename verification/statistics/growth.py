"""Polynomial against exponential growth in the dimension d, per seed, by Akaike's information criterion.

The paper's headline (abstract; the full bound's d enters through τ√(d/m)·√(log(d+1)/n) and
d·log²(1/δ²)/m, docs/theory.md §5) is that the error is "not exponentially large in the data
dimension". Per seed, on y(d) > 0 over d ∈ {2, ..., 128}, two least-squares fits in log y:

    polynomial   log y = a + b log d,        exponential   log y = a + c d,

each with 2 parameters and Gaussian residuals, so AIC = N log(RSS/N) + 4 and
ΔAIC = AIC_exp - AIC_poly = N log(RSS_exp / RSS_poly): ΔAIC > 2 favours the polynomial, < -2 the
exponential, in between neither (Burnham & Anderson 2002, §2.6). The exponent b is reported as the mean
of the per-seed slopes with a Student t interval (:func:`verification.statistics.stats.t_interval`).

Negative control (the power of the comparison): per seed, an exponential with the seed's own end points
y(d_min), y(d_max), multiplied by the seed's polynomial-fit residuals (the same noise), fitted the same
way. A comparison that cannot call that control exponential (ΔAIC < -2) cannot tell the two shapes
apart at this noise and range, and the verdict is ``inconclusive``.

References
----------
K. P. Burnham, D. R. Anderson, "Model Selection and Multimodel Inference", 2nd ed., Springer 2002.
arXiv:2311.01797, abstract and Theorem 1; docs/theory.md §8.7.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .stats import t_interval

DECISIVE = 2.0
"""|ΔAIC| above which one model is preferred (Burnham & Anderson's "substantial support" threshold)."""


@dataclass(frozen=True)
class GrowthFit:
    """Per-seed ΔAIC and exponents, their summary, and the control's ΔAIC.

    Attributes
    ----------
    delta_aic, slopes, rates : tuple of float
        Per seed: AIC_exp - AIC_poly, the polynomial exponent b, the exponential rate c.
    control_delta_aic : tuple of float
        Per seed: ΔAIC of the exponential control (negative when the test sees it as exponential).
    slope, slope_low, slope_high : float
        Mean exponent b and its 95% t interval over seeds.
    """

    delta_aic: tuple[float, ...]
    slopes: tuple[float, ...]
    rates: tuple[float, ...]
    control_delta_aic: tuple[float, ...]
    slope: float
    slope_low: float
    slope_high: float

    @property
    def power(self) -> float:
        """Fraction of seeds whose exponential control is called exponential (ΔAIC < -2)."""
        return float(np.mean(np.asarray(self.control_delta_aic) < -DECISIVE))

    def verdict(self) -> str:
        """'consistent' (polynomial preferred in every seed), 'violated' (exponential preferred in most seeds),
        'inconclusive' otherwise or when the control is not called exponential in most seeds."""
        d = np.asarray(self.delta_aic)
        if self.power <= 0.5:
            return "inconclusive"
        if np.mean(d < -DECISIVE) > 0.5:
            return "violated"
        return "consistent" if np.all(d > DECISIVE) else "inconclusive"

    def to_json(self) -> dict:
        """The numbers a check reports."""
        return {"delta_aic_per_seed": list(self.delta_aic), "poly_exponent_per_seed": list(self.slopes),
                "exp_rate_per_seed": list(self.rates), "poly_exponent": self.slope,
                "poly_exponent_ci95": [self.slope_low, self.slope_high],
                "control_delta_aic_per_seed": list(self.control_delta_aic), "power": self.power}


def _fit(u: np.ndarray, v: np.ndarray) -> tuple[float, float, float]:
    """(intercept, slope, RSS) of the least-squares line v = a + b u."""
    A = np.stack([np.ones_like(u), u], axis=1)
    coef, *_ = np.linalg.lstsq(A, v, rcond=None)
    return float(coef[0]), float(coef[1]), float(np.sum((v - A @ coef) ** 2))


def delta_aic(d: np.ndarray, y: np.ndarray) -> tuple[float, float, float, np.ndarray]:
    """(ΔAIC = AIC_exp - AIC_poly, exponent b, rate c, polynomial residuals in log y) for one seed.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.statistics.growth import delta_aic
    >>> d = np.array([2.0, 4, 8, 16, 32, 64, 128])
    >>> delta_aic(d, 3 * d**1.5)[0] > 2, delta_aic(d, np.exp(0.05 * d))[0] < -2
    (True, True)
    """
    d, y = np.asarray(d, dtype=float), np.asarray(y, dtype=float)
    if d.shape != y.shape or d.size < 3 or np.any(d <= 0) or np.any(y <= 0) or not np.all(np.isfinite(y)):
        raise ValueError(f"d and y must be >= 3 positive finite values of equal length, got {d.tolist()}, {y.tolist()}")
    v = np.log(y)
    a_p, b, rss_p = _fit(np.log(d), v)
    _, c, rss_e = _fit(d, v)
    tiny = 1e-300  # an exact fit has RSS 0: keep the log finite
    residuals = v - (a_p + b * np.log(d))
    return float(d.size * np.log((rss_e + tiny) / (rss_p + tiny))), b, c, residuals


def compare_growth(d: Sequence[float], y: Sequence[float], groups: Sequence) -> GrowthFit:
    """Polynomial against exponential growth of y in d, per group (seed), with the exponential control.

    Parameters
    ----------
    d, y : sequences of positive finite numbers, equal length
        The dimension and the measured quantity (e.g. the early-stopped K1 minus KL(p_T‖π)).
    groups : sequence, equal length
        The seed of each point; at least 2 seeds of at least 3 distinct d each.

    Returns
    -------
    GrowthFit

    Raises
    ------
    ValueError
        If the lengths differ, a value is not positive and finite, or there are too few seeds or d.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.statistics.growth import compare_growth
    >>> d = np.tile([2.0, 4, 8, 16, 32, 64, 128], 3)
    >>> noise = np.exp(0.05 * np.random.default_rng(0).standard_normal(d.size))
    >>> g = compare_growth(d, d * noise, np.repeat([0, 1, 2], 7))
    >>> g.verdict(), round(g.slope, 1), g.power
    ('consistent', 1.0, 1.0)
    """
    d, y, labels = np.asarray(d, dtype=float), np.asarray(y, dtype=float), np.asarray(groups)
    if not d.shape == y.shape == labels.shape:
        raise ValueError(f"d, y and groups must have equal length, got {d.size}, {y.size}, {labels.size}")
    rows = []
    for g in np.unique(labels):
        sel = labels == g
        order = np.argsort(d[sel])
        dg, yg = d[sel][order], y[sel][order]
        delta, b, c, residuals = delta_aic(dg, yg)
        rate = np.log(yg[-1] / yg[0]) / (dg[-1] - dg[0])  # the exponential through the seed's end points
        control = yg[0] * np.exp(rate * (dg - dg[0]) + residuals)
        rows.append((delta, b, c, delta_aic(dg, control)[0]))
    if len(rows) < 2:
        raise ValueError(f"groups must hold at least 2 seeds, got {len(rows)}")
    delta, b, c, ctrl = (tuple(float(v) for v in col) for col in zip(*rows))
    mean, low, high = t_interval(b)
    return GrowthFit(delta, b, c, ctrl, mean, low, high)

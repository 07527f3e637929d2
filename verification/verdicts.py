"""Checks and verdicts (docs/theory.md §8): what was measured, the statistic, what the paper predicts, and
the rule that turns them into one of six words.

- ``holds``: an inequality of the paper holds at every measured point (exact, or with fitted constants
  whose negative controls fail the same test).
- ``consistent``: a rate's CI contains the prediction, or a predicted trend or mechanism is observed.
- ``holds-with-slack``: faster than predicted (an upper bound with room to spare).
- ``violated``: an inequality of the paper fails at a measured point, or a rate CI lies wholly on the
  slow side, or a significant trend goes the other way.
- ``mechanism-not-observed``: the bound holds, but the behaviour it is meant to explain is absent
  (e.g. saturation instead of τ⁴ growth, a plateau instead of a rise after early stopping).
- ``inconclusive``: the check lacks power or data.

Rates: :func:`upper_bound_verdict` on the CI of a fitted exponent. Trends: :func:`trend`, Kendall's tau
of the seed summary, p < ``TREND_P``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import kendalltau

from .stats import PowerLawFit, is_monotone, t_interval

VERDICTS = ("holds", "consistent", "holds-with-slack", "violated", "mechanism-not-observed", "inconclusive")
TREND_P = 0.05
"""Shape claims are trends: Kendall's tau of the seed summary with the predicted sign and two-sided
p < TREND_P. Strict monotonicity is reported beside it."""

RANK = {"violated": 0, "inconclusive": 1, "mechanism-not-observed": 1, "consistent": 2, "holds": 2,
        "holds-with-slack": 3}
"""How favourable a verdict is to the paper (for "the best verdict over c" of corollary (16))."""


@dataclass(frozen=True)
class Check:
    """One verified claim of the paper.

    Attributes
    ----------
    name, claim : str
        The claim's id and its statement with the design's sizes.
    measured, predicted : Any
        The statistic's numbers and the prediction asked of :mod:`bounds`.
    verdict : str
        One of :data:`VERDICTS`.
    statistic : str
        What was computed from the measurements.
    power : float or None
        Calibrated bounds only: the fraction of the named wrong shapes the same test rejects.
    controls : tuple of dict or None
        Calibrated bounds only: ``{"shape", "rejected", ...}`` per negative control.
    """

    name: str
    claim: str
    measured: Any
    predicted: Any
    verdict: str
    statistic: str
    power: float | None = None
    controls: tuple[Mapping[str, Any], ...] | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if not self.name:
            raise ValueError("name must be a non-empty string")
        if not self.statistic:
            raise ValueError(f"check {self.name!r}: statistic must say what was computed")
        if self.power is not None and not 0.0 <= self.power <= 1.0:
            raise ValueError(f"power must lie in [0, 1], got {self.power!r}")

    def to_json(self) -> dict:
        """The check as results.json writes it; ``power`` and ``controls`` only where they exist."""
        out = {"name": self.name, "claim": self.claim, "verdict": self.verdict, "statistic": self.statistic,
               "measured": self.measured, "predicted": self.predicted}
        if self.power is not None:
            out["power"] = self.power
        if self.controls is not None:
            out["controls"] = [dict(c) for c in self.controls]
        return out


def upper_bound_verdict(measured_exponent_ci: tuple[float, float], predicted_exponent: float) -> str:
    """Verdict on a rate claim of an upper bound (docs/theory.md §8.2, §8.4).

    The bound says the quantity scales at most like x^p (p = ``predicted_exponent``, e.g. -2/5 for
    KL in n, or +4 for the gap in τ); a smaller measured exponent is better than promised. With
    the measured exponent's confidence interval [lo, hi]:

    - "holds-with-slack" if hi < p: faster decay (or slower growth) than the bound, for sure;
    - "consistent" if lo <= p <= hi;
    - "violated" if lo > p: slower decay than the bound allows, for sure.

    Examples
    --------
    >>> from verification.verdicts import upper_bound_verdict
    >>> upper_bound_verdict((-1.24, -1.06), -0.4)  # KL decays faster than the bound's n^(-2/5)
    'holds-with-slack'
    >>> upper_bound_verdict((-0.35, -0.2), -0.4)   # slower than the bound allows: contradicts it
    'violated'
    """
    lo, hi = (float(v) for v in measured_exponent_ci)
    p = float(predicted_exponent)
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(p)):
        raise ValueError(f"exponents must be finite, got CI ({lo!r}, {hi!r}) and prediction {p!r}")
    if lo > hi:
        raise ValueError(f"measured_exponent_ci must be (low, high) with low <= high, got ({lo!r}, {hi!r})")
    if hi < p:
        return "holds-with-slack"
    return "consistent" if lo <= p else "violated"


def fit_numbers(fit: PowerLawFit) -> dict:
    """The numbers of a fitted exponent as a check reports them."""
    return {"slope": fit.slope, "ci95": [fit.ci_low, fit.ci_high], "points": fit.n_points, "seeds": fit.n_groups,
            "interval": fit.method}


def rate_check(name: str, claim: str, fit: PowerLawFit, predicted: float, statistic: str) -> Check:
    """A rate claim: the fitted exponent's CI against the predicted exponent (:func:`upper_bound_verdict`)."""
    return Check(name, claim, fit_numbers(fit), {"slope": predicted},
                 upper_bound_verdict((fit.ci_low, fit.ci_high), predicted), statistic)


def inequality_check(name: str, claim: str, holds: bool, measured: Any, predicted: Any, statistic: str) -> Check:
    """An inequality of the paper at every measured point: "holds", or "violated" at some point."""
    return Check(name, claim, measured, predicted, "holds" if holds else "violated", statistic)


RISE_RTOL = {"K1": 1e-9, "K2": 1e-3}
"""The relative rise that a curve must exceed to count: K1 is exact up to rounding; K2 carries the Fokker–Planck
discretisation error (below 1e-3 relative on the report's grids)."""


def rise_statistic(curves: Sequence[tuple[np.ndarray, np.ndarray]], rtol: float = RISE_RTOL["K1"]) -> dict:
    """The early-stopping rise of each (τ, KL) curve (one per seed), (KL(τ_max) - min_τ KL) / min_τ KL,
    whether it rises at all (an interior minimum and a rise above ``rtol``, the measurement's own
    accuracy: no threshold of substance), and the t interval of the mean rise over seeds (its size).
    Curves of fewer than 3 points are left out (``seeds`` counts the rest)."""
    rises, argmins, rising = [], [], []
    for tau, values in curves:
        v = np.asarray(values, dtype=float)
        if v.size < 3:  # too few untruncated points to tell a minimum from an end
            continue
        i = int(np.argmin(v))
        rise = float((v[-1] - v[i]) / v[i])
        rises.append(rise)
        argmins.append(float(np.asarray(tau)[i]))
        rising.append(bool(0 < i < v.size - 1 and v[0] > v[i] and rise > rtol))
    nan = float("nan")
    mean, lo, hi = t_interval(rises) if len(rises) > 1 else (rises[0] if rises else nan, nan, nan)
    return {"rise": rises, "rises": rising, "rise_mean": mean, "rise_ci95": [lo, hi], "argmin_tau": argmins,
            "seeds": len(rises), "rise_rtol": rtol}


def rise_verdict(stat: Mapping[str, Any]) -> str:
    """"consistent" when every seed's curve falls to an interior minimum and then rises (each K1 curve is
    deterministic, so each seed answers exactly); "mechanism-not-observed" when some seed plateaus or ends
    at its minimum; "inconclusive" without any curve."""
    if not stat["seeds"]:
        return "inconclusive"
    return "consistent" if all(stat["rises"]) else "mechanism-not-observed"


def trend(x: Any, y: Any, increasing: bool) -> dict:
    """Kendall's tau of y against x, its p-value, whether y is strictly monotone, and which way it goes:
    ``trend`` (significant, predicted sign), ``against`` (significant, opposite sign)."""
    k = kendalltau(np.asarray(x, float), np.asarray(y, float))
    sign = k.statistic > 0 if increasing else k.statistic < 0
    significant = bool(k.pvalue < TREND_P)
    return {"kendall_tau": float(k.statistic), "p_value": float(k.pvalue),
            "monotone": bool(is_monotone(np.asarray(y, float), increasing=increasing)),
            "trend": bool(sign and significant), "against": bool(significant and not sign and k.statistic != 0)}


def interval_verdict(low: float, high: float, against: str = "violated") -> str:
    """A signed difference judged by its interval: "consistent" when it lies wholly above 0, ``against``
    when wholly below, "inconclusive" otherwise (also when the interval is NaN: too few seeds)."""
    return "consistent" if low > 0 else against if high < 0 else "inconclusive"


def trend_verdict(t: Mapping[str, Any], against: str = "violated") -> str:
    """"consistent" for a significant trend the predicted way; ``against`` ("violated" for a statement of
    the paper, "mechanism-not-observed" for a mechanism) for a significant trend the other way;
    "inconclusive" when neither is significant."""
    if t["trend"]:
        return "consistent"
    return against if t["against"] else "inconclusive"


def trend_check(name: str, claim: str, x: Any, y: Any, increasing: bool, extra: dict, statistic: str,
                against: str = "violated") -> Check:
    """A shape claim judged by :func:`trend` and :func:`trend_verdict`."""
    t = trend(x, y, increasing)
    word = "increasing" if increasing else "decreasing"
    return Check(name, claim, {**extra, **t}, {word: True}, trend_verdict(t, against), statistic)


def best_verdict(verdicts: Sequence[str]) -> str:
    """The verdict most favourable to the paper (:data:`RANK`; ties keep the first)."""
    return max(verdicts, key=lambda v: RANK[v])

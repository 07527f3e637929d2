"""Checks and verdicts (docs/theory.md §8): what was measured, what the paper predicts, and the rule
that turns the two into "pass", "pass-with-slack" or "fail".

- Rates (§8.2, §8.4): :func:`upper_bound_verdict` on the bootstrap CI of a fitted exponent.
- Shapes ("grows with", "falls with"): :func:`trend`, Kendall's tau of the seed mean, p < ``TREND_P``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import kendalltau

from .stats import PowerLawFit, interior_minimum, is_monotone

VERDICTS = ("pass", "pass-with-slack", "fail")
TREND_P = 0.05
"""Shape claims are trends: Kendall's tau of the seed mean with the predicted sign and two-sided
p < TREND_P. Strict monotonicity is reported beside it."""


@dataclass(frozen=True)
class Check:
    """One verified claim of the paper: what it says, what was measured, what it predicts."""

    name: str
    claim: str
    measured: Any
    predicted: Any
    verdict: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if not self.name:
            raise ValueError("name must be a non-empty string")


def upper_bound_verdict(measured_exponent_ci: tuple[float, float], predicted_exponent: float) -> str:
    """Verdict on a rate claim of an upper bound (docs/theory.md §8.2, §8.4).

    The bound says the quantity scales at most like x^p (p = ``predicted_exponent``, e.g. -2/5 for
    KL in n, or +4 for the gap in τ); a smaller measured exponent is better than promised. With
    the measured exponent's confidence interval [lo, hi]:

    - "pass-with-slack" if hi < p: faster decay (or slower growth) than the bound, for sure;
    - "pass" if lo <= p <= hi: consistent with the predicted exponent;
    - "fail" if lo > p: slower decay than the bound allows, for sure.

    Faster decay than predicted is never a failure.

    Examples
    --------
    >>> from verification.verdicts import upper_bound_verdict
    >>> upper_bound_verdict((-1.24, -1.06), -0.4)  # KL decays faster than the bound's n^(-2/5)
    'pass-with-slack'
    >>> upper_bound_verdict((-0.35, -0.2), -0.4)   # slower than the bound allows: contradicts it
    'fail'
    """
    lo, hi = (float(v) for v in measured_exponent_ci)
    p = float(predicted_exponent)
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(p)):
        raise ValueError(f"exponents must be finite, got CI ({lo!r}, {hi!r}) and prediction {p!r}")
    if lo > hi:
        raise ValueError(f"measured_exponent_ci must be (low, high) with low <= high, got ({lo!r}, {hi!r})")
    if hi < p:
        return "pass-with-slack"
    return "pass" if lo <= p else "fail"


def rate_check(name: str, claim: str, fit: PowerLawFit, predicted: float) -> Check:
    """A rate claim: the fitted exponent's CI against the predicted exponent (:func:`upper_bound_verdict`)."""
    verdict = upper_bound_verdict((fit.ci_low, fit.ci_high), predicted)
    return Check(name, claim, {"slope": fit.slope, "ci95": [fit.ci_low, fit.ci_high], "points": fit.n_points,
                               "seeds": fit.n_groups}, {"slope": predicted}, verdict)


def minimum_check(name: str, claim: str, curves: Sequence[tuple[np.ndarray, np.ndarray]], predicted: dict,
                  extra: dict | None = None) -> Check:
    """An early-stopping claim: "pass" when every (τ, KL) curve (one per seed) has an interior minimum
    (:func:`~verification.stats.interior_minimum`) exactly as ``predicted["interior_minimum"]`` says."""
    minima = [interior_minimum(tau, values) for tau, values in curves]
    ok = all(mm.has_minimum == predicted["interior_minimum"] for mm in minima)
    measured = {"argmin_tau": [mm.argmin for mm in minima], "seeds": len(minima),
                "with_interior_minimum": sum(mm.has_minimum for mm in minima), **(extra or {})}
    return Check(name, claim, measured, predicted, "pass" if ok else "fail")


def trend(x: Any, y: Any, increasing: bool) -> dict:
    """Kendall's tau of y against x, its p-value, whether y is strictly monotone, and the trend verdict."""
    k = kendalltau(np.asarray(x, float), np.asarray(y, float))
    ok = (k.statistic > 0 if increasing else k.statistic < 0) and k.pvalue < TREND_P
    return {"kendall_tau": float(k.statistic), "p_value": float(k.pvalue),
            "monotone": bool(is_monotone(np.asarray(y, float), increasing=increasing)), "trend": bool(ok)}


def trend_check(name: str, claim: str, x: Any, y: Any, increasing: bool, extra: dict) -> Check:
    """A shape claim judged by :func:`trend`: "pass" when the predicted trend is significant, else "fail"."""
    t = trend(x, y, increasing)
    word = "increasing" if increasing else "decreasing"
    return Check(name, f"{claim} ({word} trend of the seed mean: Kendall tau {'>' if increasing else '<'} 0, "
                 f"two-sided p < {TREND_P})", {**extra, **t}, {word: True}, "pass" if t["trend"] else "fail")

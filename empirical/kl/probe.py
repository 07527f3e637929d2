"""A score callable checked before it drives a measurement, and the normalisability of exp(∫s) (docs/theory.md §4).

:func:`checked_score` calls a user's ``score(t, x)`` on a few points of support(p_t) at three times and
refuses, naming ``score``, what no measurement can use: a result that is not an array (a list, None), of
another shape than ``x`` (an (N, 1) column would broadcast into an N×N array), complex, or not finite. A
torch tensor is accepted and converted (the wrapper also converts ``dx``). :func:`refuse_nan` turns a
NaN that a score produced later, away from the probe points, into the same ``ValueError``.

:func:`inward_widening` decides whether p_{0,θ} ∝ exp(∫ s_θ(t0, ·)) of (11) can be normalised on R: it
needs s_θ > 0 far left and s_θ < 0 far right. The score is evaluated at the ends of the measurement's
interval [lo, hi] and of that interval widened about its centre by 4, 16 and 64; the sign at the widest
ends decides (the scores measured here are asymptotically linear in x, a network's and the random-feature
model's (12) alike, so a sign that holds 64 interval widths out holds beyond), and the smallest widening
from which on the score points inwards is the interval K4 is integrated on.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..rf.features import RFScore
from ..scores import ExactScore

PROBE_POINTS = 17
"""Points of support(p_t) at which a score is probed, at each of t0, (t0 + T)/2 and T."""
WIDENINGS = (1.0, 4.0, 16.0, 64.0)
"""Half-widths, in units of the interval's own, at whose ends the sign of the score is read."""


class NonFiniteScore(ValueError):
    """A score returned NaN or inf: at a probe point, or where a measurement evaluated it."""


def _is_tensor(value: object) -> bool:
    return type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach")


def _numpy(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if _is_tensor(value) else value


class TorchScore:
    """A score whose values are torch tensors, seen as numpy arrays (``dx`` too, when it has one)."""

    def __init__(self, score: Callable) -> None:
        self.score = score
        if hasattr(score, "dx"):
            self.dx = lambda t, x: _numpy(score.dx(t, x))

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        return _numpy(self.score(t, x))


def _check_values(value: object, x: np.ndarray, t: float, name: str) -> None:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name}(t, x) must return a numpy array (or a torch tensor) of shape {x.shape}, got "
                        f"{type(value).__name__} at t = {t:g}")
    if value.shape != x.shape:
        raise ValueError(f"{name}(t, x) must return shape {x.shape} for x of shape {x.shape} (one value per point), "
                         f"got shape {value.shape} at t = {t:g}")
    if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)) \
            or value.dtype == np.bool_:
        raise TypeError(f"{name}(t, x) must return real numbers, got dtype {value.dtype} at t = {t:g}")
    bad = ~np.isfinite(value)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise NonFiniteScore(f"{name}(t, x) must be finite, got {float(value[i])!r} at t = {t:g}, x = {x[i]:.6g}")


def checked_score(target: Any, score: Callable, t0: float, name: str = "score") -> Callable:
    """``score`` after a probe on :data:`PROBE_POINTS` points of support(p_t) at t0, (t0 + T)/2 and T;
    a numpy view of it if it returns torch tensors. The project's own scores (RFScore, ExactScore) pass
    unprobed.

    Parameters
    ----------
    target : Target1D
        Its ``support(t)`` and ``sde.T`` set the probe points.
    score : callable
        ``score(t, x)`` with ``x`` of shape (N,).
    t0 : float
        The first probe time.
    name : str, default "score"
        The parameter named in errors.

    Returns
    -------
    callable

    Raises
    ------
    TypeError
        Naming ``name``: not callable, or it returns something other than a real array (a list, None,
        complex values).
    ValueError
        Naming ``name``: a shape other than that of ``x``; :class:`NonFiniteScore` (a ValueError) for a
        value that is NaN or infinite.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.kl.probe import checked_score
    >>> from empirical.targets import two_mode
    >>> p = two_mode(3.0)
    >>> checked_score(p, lambda t, x: np.full(x.shape, np.nan), 0.0)
    Traceback (most recent call last):
        ...
    empirical.kl.probe.NonFiniteScore: score(t, x) must be finite, got nan at t = 0, x = -15
    """
    if isinstance(score, (RFScore, ExactScore)):
        return score
    if not callable(score):
        raise TypeError(f"{name} must be a callable score(t, x), got {type(score).__name__}")
    converted = None
    for t in (t0, 0.5 * (t0 + target.sde.T), target.sde.T):
        x = np.linspace(*target.support(t), PROBE_POINTS)
        value = score(t, x)
        if _is_tensor(value):
            converted = TorchScore(score)
            value = _numpy(value)
        _check_values(value, x, t, name)
    return converted or score


def refuse_nan(value: Any, what: str, name: str = "score", nonfinite: bool = False) -> Any:
    """``value`` (a number or an array), or a ValueError naming ``name`` if it holds a NaN (or, with
    ``nonfinite``, any value that is not finite): a score that was finite where probed but not everywhere
    the measurement ``what`` evaluated it.

    Examples
    --------
    >>> from empirical.kl.probe import refuse_nan
    >>> refuse_nan(0.25, "K2")
    0.25
    """
    if np.any(~np.isfinite(value) if nonfinite else np.isnan(value)):
        raise NonFiniteScore(f"{name}(t, x) returned NaN or inf where {what} evaluated it (it was finite at the probe "
                         f"points): {what} is undefined for this {name}")
    return value


def inward_widening(score: Callable, t0: float, lo: float, hi: float) -> tuple[float, str | None]:
    """How far [lo, hi] must be widened about its centre for ``score(t0, ·)`` to point inwards at its ends.

    The score is read at the ends of [lo, hi] widened by each factor of :data:`WIDENINGS` (8 points, one
    call; a NaN or inf there raises :class:`NonFiniteScore`). Returns (W, None) with W the smallest factor such that the score points inwards (s > 0 at the
    left end, s < 0 at the right) at its ends and at every wider end; or (inf, reason) when it does not
    point inwards at the widest ends: exp(∫ s(t0, ·)) cannot then be normalised on R.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.kl.probe import inward_widening
    >>> inward_widening(lambda t, x: -x, 0.0, -10.0, 10.0)  # exp(-x²/2)
    (1.0, None)
    >>> inward_widening(lambda t, x: -x + 20 * np.tanh(x), 0.0, -10.0, 10.0)[0]  # modes near ±20
    4.0
    >>> inward_widening(lambda t, x: 1.0 + 0.0 * x, 0.0, -10.0, 10.0)[1]
    's(t0, x) = 1 >= 0 at x = 640: exp(∫s) does not decay to the right'
    """
    centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    reach = half * np.asarray(WIDENINGS)
    x = np.concatenate([centre - reach, centre + reach])
    s = refuse_nan(np.asarray(_numpy(score(t0, x)), dtype=float), "K4's normalisability check", nonfinite=True)
    left, right = s[:len(reach)], s[len(reach):]
    if not left[-1] > 0:
        return math.inf, f"s(t0, x) = {left[-1]:.4g} <= 0 at x = {x[len(reach) - 1]:.6g}: exp(∫s) does not decay to the left"
    if not right[-1] < 0:
        return math.inf, f"s(t0, x) = {right[-1]:.4g} >= 0 at x = {x[-1]:.6g}: exp(∫s) does not decay to the right"
    inward = (left > 0) & (right < 0)
    first = len(reach) - 1
    while first > 0 and inward[first - 1]:
        first -= 1
    return float(WIDENINGS[first]), None

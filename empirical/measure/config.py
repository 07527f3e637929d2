"""The configuration of one measurement (:class:`MeasureConfig`): its fields, their ranges and the KLs
that exist in each dimension. Every field is checked on construction; the ValueError names it.

References
----------
arXiv:2311.01797, model (12), flows (9)-(10), Lemma 2, Theorems 1-2; docs/theory.md §4, §9.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..rf.quadratic import WEIGHTINGS

TARGETS = ("gm", "bump")
LAMBDAS = WEIGHTINGS
KL_NAMES = ("K1", "K2", "K3", "K4")
DEFAULT_TAUS = tuple(float(t) for t in np.logspace(0, 8, 17))
DEFAULT_MU = {"gm": 3.0, "bump": 1.5}
DIRECTIONS = ("e1", "random")
KL_AT = ("all", "k1-min")
D_MAX = 4096


def available_kls(d: int) -> tuple[str, ...]:
    """The KLs that exist in dimension d (docs/theory.md §4): K1 (exact quadratic form) and K3 (the ODE
    sampler; by quadrature in 1-D, Monte Carlo over x ~ p0 in d >= 2) always, K2 (Fokker–Planck) for
    d <= 2, K4 (the integrated score (11), a 1-D construction) for d = 1.

    Examples
    --------
    >>> available_kls(1), available_kls(2), available_kls(8)
    (('K1', 'K2', 'K3', 'K4'), ('K1', 'K2', 'K3'), ('K1', 'K3'))
    """
    return tuple(k for k in KL_NAMES if k in ("K1", "K3") or (k == "K2" and d <= 2) or (k == "K4" and d == 1))

@dataclass(frozen=True)
class MeasureConfig:
    """Everything that determines a measurement (its cache key).

    Parameters
    ----------
    target : {"gm", "bump"}
        'gm' (Theorem 2: q1 N(-mu, 1) + q2 N(mu, 1)) or 'bump' (Theorem 1: two C¹ bumps
        (1 - y²)^2 of half-width 1 centred at ±mu, compact support).
    mu, weights : float in (0, 100] ((1, 100] for 'bump'; None: 3 for gm, 1.5 for bump), (q1, q2) in (0, 1)
        Mode position and mixture weights summing to 1 (q1 weighs the mode at -mu).
    n, m : int in [1, 1e6] (not bool)
        Training-set size and number of random features (the memory cap of :func:`measure` binds first for m).
    taus : tuple of 1 to 1000 floats in (0, 1e15]
        Training times τ of the flows.
    seed : int >= 0 (not bool)
        Master seed.
    lam : {"std", "var", "g2"}
        Training weighting λ of (6): 'std' (default), 'var' or 'g2' (needs t0 > 0).
    T : float in [0.1, 100]
        Horizon of the OU forward process.
    kl : subset of ("K1", "K2", "K3", "K4") holding K1, or None
        Which to compute (K2-K4 cost seconds per τ; K1 is exact and cheap); None: every KL that exists
        in dimension d (:func:`available_kls`). Asking for one that does not exist there is an error.
    m_ref_factor : int, 0 or in [2, 64]
        The nested model with m·m_ref_factor features estimates L̃(θ̄*) for I3 of (15);
        0 skips I3 (reported as NaN), which saves the largest eigendecomposition.
    t0 : float in [0, T)
        The samplers stop, and K1's integral starts, at t0 (0: the paper's setting).
    d : int in [1, 4096] (not bool)
        Data dimension. d >= 2 needs target 'gm' (the mixture q1 N(-µu, I) + q2 N(µu, I), whose losses
        are exact in d); the features are W ∈ R^{m×d} with the 1-D feature law (docs/theory.md §3).
    direction : {"e1", "random"}
        The modes' axis u in R^d: e1, or a uniform random unit vector drawn from the master seed (its
        own stream), so that the features' orientation cannot single the axis out.
    ode_samples : int in [2, 1e6]
        d >= 2: points x ~ p_{t0} of the Monte-Carlo ODE-KL K3 (Remark 3; mean and standard error).
    kl_at : {"all", "k1-min"}
        Where K2-K4 are measured: at every τ, or only at the τ of the grid minimum of K1 (the
        early-stopped model; the other entries are NaN), which saves all but one sampler run.
    memorisation : bool, default False
        Also measure the memorised fraction of the reverse-SDE sampler at the τ where K2-K4 are
        measured (``kl_at``): exactly from the K2 law in d = 1, from ``memorisation_samples``
        Euler–Maruyama draws in d >= 2 (:mod:`empirical.measure.memorisation`); needs n >= 2.
    memorisation_samples : int in [2, 1e6]
        d >= 2: draws of the sampler per τ for the memorised fraction (binomial standard error).
    noise_draws : int in [1, 1e6], or None
        None (default): the empirical loss is exact in the noise (k = ∞). An integer k: k fixed noise
        draws per training point and t node (:mod:`empirical.rf.noise_draws`), seeded from ``seed``.

    The three fields above are left out of :meth:`to_dict` at their defaults, so the inputs (and the
    result-cache keys) of measurements that do not use them are those of earlier versions.

    Raises
    ------
    ValueError
        If a field is outside the range above; the message names it.
    """

    target: str = "gm"
    mu: float | None = None
    weights: tuple[float, float] = (0.5, 0.5)
    n: int = 256
    m: int = 256
    taus: tuple[float, ...] = DEFAULT_TAUS
    seed: int = 0
    lam: str = "std"
    T: float = 5.0
    kl: tuple[str, ...] | None = None
    m_ref_factor: int = 4
    t0: float = 0.0
    d: int = 1
    direction: str = "e1"
    ode_samples: int = 4000
    kl_at: str = "all"
    memorisation: bool = False
    memorisation_samples: int = 4000
    noise_draws: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "taus", _reals("tau", self.taus))
        object.__setattr__(self, "weights", _reals("weights", self.weights))
        if self.kl is None:
            object.__setattr__(self, "kl", available_kls(self.d) if _is_int(self.d) and self.d >= 1 else ("K1",))
        if isinstance(self.kl, str) or not all(isinstance(k, str) for k in _iterable("kl", self.kl)):
            raise ValueError(f"kl must be a subset of {KL_NAMES} containing K1, got {self.kl!r}")
        object.__setattr__(self, "kl", tuple(self.kl))
        if self.mu is None:
            object.__setattr__(self, "mu", DEFAULT_MU.get(self.target, 3.0))
        _check(self)

    def to_dict(self) -> dict:
        """The fields as a plain dict (the ``inputs`` of the JSON output), without the opt-in fields
        (memorisation, memorisation_samples, noise_draws) that are at their defaults."""
        out = asdict(self)
        for name, default in OPT_IN_DEFAULTS.items():
            if out[name] == default and type(out[name]) is type(default):
                del out[name]
        return out


OPT_IN_DEFAULTS = {"memorisation": False, "memorisation_samples": 4000, "noise_draws": None}
"""Fields added after the result cache was keyed: left out of :meth:`MeasureConfig.to_dict` at these values."""


LIMITS = {"n": 10**6, "m": 10**6, "m_ref_factor": 64, "mu": 100.0, "tau": 1e15, "taus": 1000, "T": (0.1, 100.0)}
"""Upper ends of :class:`MeasureConfig` (README "Valid ranges"): n ≤ 1e6 (the empirical loss costs n·m
per t node), m ≤ 1e6 and m_ref_factor ≤ 64 (the memory cap of :mod:`empirical.resources` binds far
earlier), µ ≤ 100 (the mixture's Fisher quadrature needs (2µ + 24)·4µ panels, at most 2e5), τ ≤ 1e15
and at most 1000 of them, T in [0.1, 100]."""


def _iterable(name: str, value: object) -> list:
    try:
        return list(np.atleast_1d(np.asarray(value, dtype=object)).ravel()) if not isinstance(value, str) else [value]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of numbers, got {value!r}") from None


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _reals(name: str, value: object) -> tuple[float, ...]:
    items = _iterable(name, value)
    if not all(_is_real(v) for v in items):
        raise ValueError(f"{name} must be a list of finite real numbers, got {value!r}")
    return tuple(float(v) for v in items)


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _integer(name: str, value: object, low: int, high: int) -> None:
    if not (_is_int(value) and low <= value <= high):
        raise ValueError(f"{name} must be an integer in [{low}, {high:g}], got {value!r}")


def _real(name: str, value: object, low: float, high: float, low_open: bool = False) -> None:
    if not (_is_real(value) and math.isfinite(value) and (value > low if low_open else value >= low) and value <= high):
        raise ValueError(f"{name} must be a finite number in {'(' if low_open else '['}{low:g}, {high:g}], "
                         f"got {value!r}")


def _check(c: MeasureConfig) -> None:
    if not isinstance(c.target, str) or c.target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {c.target!r}")
    if not isinstance(c.lam, str) or c.lam not in LAMBDAS:
        raise ValueError(f"lambda must be one of {LAMBDAS}, got {c.lam!r}")
    _integer("n", c.n, 1, LIMITS["n"])
    _integer("m", c.m, 1, LIMITS["m"])
    if not (isinstance(c.m_ref_factor, (int, np.integer)) and not isinstance(c.m_ref_factor, (bool, np.bool_))
            and (c.m_ref_factor == 0 or 2 <= c.m_ref_factor <= LIMITS["m_ref_factor"])):
        raise ValueError(f"m_ref_factor must be 0 (skip I3) or an integer in [2, {LIMITS['m_ref_factor']}], "
                         f"got {c.m_ref_factor!r}")
    if not (isinstance(c.seed, (int, np.integer)) and not isinstance(c.seed, (bool, np.bool_)) and c.seed >= 0):
        raise ValueError(f"seed must be an integer >= 0, got {c.seed!r}")
    _real("mu", c.mu, 1.0 if c.target == "bump" else 0.0, LIMITS["mu"], low_open=True)
    if len(c.weights) != 2 or not all(np.isfinite(q) and 0 < q < 1 for q in c.weights) \
            or not np.isclose(sum(c.weights), 1.0, rtol=0, atol=1e-9):
        raise ValueError(f"weights must be two numbers in (0, 1) summing to 1, got {c.weights!r}")
    taus = np.asarray(c.taus)
    if taus.size == 0 or taus.size > LIMITS["taus"] or not np.all(np.isfinite(taus)) or np.any(taus <= 0) \
            or np.any(taus > LIMITS["tau"]):
        raise ValueError(f"tau must be a non-empty list of at most {LIMITS['taus']} finite numbers in "
                         f"(0, {LIMITS['tau']:g}], got {list(c.taus)[:10]!r}{' ...' if taus.size > 10 else ''}")
    _real("T", c.T, *LIMITS["T"])
    if not (_is_real(c.t0) and math.isfinite(c.t0) and 0 <= c.t0 < c.T):
        raise ValueError(f"t0 must be in [0, T) = [0, {c.T}), got {c.t0!r}")
    if c.lam == "g2" and c.t0 <= 0:
        raise ValueError("t0 must be > 0 with lambda 'g2': the empirical loss's constant E 2/σ_t² diverges at t = 0")
    unknown = set(c.kl) - set(KL_NAMES)
    if unknown or "K1" not in c.kl:
        raise ValueError(f"kl must be a subset of {KL_NAMES} containing K1, got {c.kl!r}")
    _integer("d", c.d, 1, D_MAX)
    missing = [k for k in c.kl if k not in available_kls(c.d)]
    if missing:
        raise ValueError(f"kl: {', '.join(missing)} does not exist in d = {c.d} (K2 needs d <= 2, K4 needs d = 1); "
                         f"in d = {c.d} ask for a subset of {available_kls(c.d)}")
    if c.d > 1 and c.target != "gm":
        raise ValueError(f"d = {c.d} needs target 'gm' (exact losses in R^d are those of Gaussian mixtures); "
                         f"target {c.target!r} is measured in d = 1")
    if not isinstance(c.direction, str) or c.direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {c.direction!r}")
    _integer("ode_samples", c.ode_samples, 2, 10**6)
    if not isinstance(c.kl_at, str) or c.kl_at not in KL_AT:
        raise ValueError(f"kl_at must be one of {KL_AT}, got {c.kl_at!r}")
    if not isinstance(c.memorisation, (bool, np.bool_)):
        raise ValueError(f"memorisation must be True or False, got {c.memorisation!r}")
    if c.memorisation and c.n < 2:
        raise ValueError(f"n must be >= 2 with memorisation (a second nearest training point), got {c.n}")
    _integer("memorisation_samples", c.memorisation_samples, 2, 10**6)
    if c.noise_draws is not None:
        _integer("noise_draws", c.noise_draws, 1, 10**6)

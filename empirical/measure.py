"""One measurement: the model (12) trained by the exact flows (9)-(10), KL(p0 ‖ p_θ) four ways
(docs/theory.md §4) and the decomposition (15) at every training time τ. This is the pipeline behind
``diffgen measure`` and every experiment of the scaling report. Seeds: ``seed`` spawns two independent streams (``numpy.random.SeedSequence``), one for the
training data and one for the frozen features, so the same seed gives the same numbers.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .decomposition import decomposition
from .features import RandomFeatures, draw_features, rf_score
from .flow import gradient_flow
from .kl import kl_integrated, kl_ode, kl_score_bound, kl_sde
from .lemma_checks import lemma_checks, theta_distance
from .loss import WEIGHTINGS, empirical_losses, population_losses
from .resources import DEFAULT_MAX_MEMORY_GIB, check_resources
from .sde import ou
from .targets import Target1D, two_bumps, two_mode

TARGETS = ("gm", "bump")
LAMBDAS = WEIGHTINGS
KL_NAMES = ("K1", "K2", "K3", "K4")
DEFAULT_TAUS = tuple(float(t) for t in np.logspace(0, 8, 17))
DEFAULT_MU = {"gm": 3.0, "bump": 1.5}

NUMERICS_VERSION = 3
"""Version of the numerics behind a measurement: incremented whenever a change alters measured numbers
(a result cache keyed on it is invalidated). 2: K2's Fokker–Planck grid gained geometrically growing
outer cells out to the sampler's reach (``empirical.kl.sde_law``), and ``boundary_mass`` is recorded.
3: the lemma checks also assert Lemma 4's sharp quadratic constant and record ‖θ(τ)‖ at every τ."""


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
    kl : subset of ("K1", "K2", "K3", "K4") holding K1
        Which to compute (K2-K4 cost seconds per τ; K1 is exact and cheap).
    m_ref_factor : int, 0 or in [2, 64]
        The nested model with m·m_ref_factor features estimates L̃(θ̄*) for I3 of (15);
        0 skips I3 (reported as NaN), which saves the largest eigendecomposition.
    t0 : float in [0, T)
        The samplers stop, and K1's integral starts, at t0 (0: the paper's setting).

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
    kl: tuple[str, ...] = KL_NAMES
    m_ref_factor: int = 4
    t0: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "taus", _reals("tau", self.taus))
        object.__setattr__(self, "weights", _reals("weights", self.weights))
        if isinstance(self.kl, str) or not all(isinstance(k, str) for k in _iterable("kl", self.kl)):
            raise ValueError(f"kl must be a subset of {KL_NAMES} containing K1, got {self.kl!r}")
        object.__setattr__(self, "kl", tuple(self.kl))
        if self.mu is None:
            object.__setattr__(self, "mu", DEFAULT_MU.get(self.target, 3.0))
        _check(self)

    def to_dict(self) -> dict:
        """The fields as a plain dict (the ``inputs`` of the JSON output)."""
        return asdict(self)


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


def _integer(name: str, value: object, low: int, high: int) -> None:
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and low <= value <= high):
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


def make_target(c: MeasureConfig) -> Target1D:
    """The target p0 of the configuration, diffused by OU with horizon ``c.T``.

    Memoised, so that sweeps share the target's own cached quadratures.
    """
    return _target(c.target, c.mu, c.weights, c.T)


@functools.lru_cache(maxsize=32)
def _target(name: str, mu: float, weights: tuple[float, float], T: float) -> Target1D:
    sde = ou(T)
    if name == "gm":
        return two_mode(mu, weights, sde=sde)
    return two_bumps(mu, 1.0, weights, 2, sde=sde)


def seeds(seed: int) -> tuple[np.random.Generator, int]:
    """(data generator, feature seed): independent streams spawned from the master seed."""
    data, feats = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(data), int(feats.generate_state(1)[0])


@dataclass(frozen=True, eq=False)
class Measurement:
    """Results at each τ of ``config.taus`` (arrays aligned with it) and, when just computed, the models.

    A measurement read back from JSON (:meth:`from_json`, e.g. from a result cache) has the same
    numbers and no models (``features``, ``A`` and ``x_train`` are None).

    Attributes
    ----------
    config : MeasureConfig
    K : dict of name -> array
        The measured KLs ("K1" always; "K2".."K4" as ``config.kl`` asks), aligned with ``taus``.
    I1, I2 : arrays; I3 : float
        The decomposition (15) (I3 is NaN when ``config.m_ref_factor`` is 0).
    lemmas : dict
        Lemma 4 and 5 checks on the empirical and the population flow (:func:`~empirical.lemma_checks.lemma_checks`).
    quantities : dict
        KL(p_T‖π) ``kl_prior``, L̃(θ*) ``loss_star``, its nested-model estimate of L̃(θ̄*)
        ``loss_star_ref``, ‖θ*‖² ``theta_star_norm2`` and the nested model's size ``m_ref``.
    timings : dict of stage -> seconds
    boundary_mass : dict of name -> array
        ``"K2"``: the mass in the two outer cells of the Fokker–Planck grid of each K2's law, aligned
        with ``taus`` (above :data:`empirical.kl.BOUNDARY_MASS_MAX` that K2 is truncated); empty when
        K2 was not measured.
    """

    config: MeasureConfig
    K: dict[str, np.ndarray]
    I1: np.ndarray
    I2: np.ndarray
    I3: float
    lemmas: dict[str, dict]
    quantities: dict[str, float]
    timings: dict[str, float]
    boundary_mass: dict[str, np.ndarray] = field(default_factory=dict)
    features: RandomFeatures | None = field(default=None, repr=False)
    A: np.ndarray | None = field(default=None, repr=False)
    x_train: np.ndarray | None = field(default=None, repr=False)

    @property
    def taus(self) -> np.ndarray:
        """The training times τ, as an array."""
        return np.asarray(self.config.taus, dtype=float)

    def to_json(self) -> dict:
        """The ``diffgen measure --json`` object: tau, K1..K4, I1..I3 aligned with tau, inputs, timings,
        and ``boundary_mass`` ({"K2": [...]} aligned with tau, or {})."""
        out = {"tau": list(self.config.taus)}
        nan = [None] * len(self.config.taus)
        for name in KL_NAMES:
            out[name] = [float(v) for v in self.K[name]] if name in self.K else nan
        out["I1"] = [float(v) for v in self.I1]
        out["I2"] = [float(v) for v in self.I2]
        out["I3"] = [float(self.I3) if np.isfinite(self.I3) else None] * len(self.config.taus)
        out["inputs"] = self.config.to_dict()
        out["quantities"] = self.quantities
        out["lemmas"] = self.lemmas
        out["timings"] = self.timings
        out["boundary_mass"] = {k: [float(v) for v in vals] for k, vals in self.boundary_mass.items()}
        return out

    @classmethod
    def from_json(cls, obj: dict) -> Measurement:
        """The measurement (without models) from :meth:`to_json`'s object; numbers round-trip exactly.

        An object without ``boundary_mass`` (written before it existed) reads back with an empty one.
        """
        config = MeasureConfig(**obj["inputs"])
        K = {k: np.asarray(obj[k], dtype=float) for k in KL_NAMES if obj[k][0] is not None}
        I3 = obj["I3"][0]
        boundary = {k: np.asarray(v, dtype=float) for k, v in obj.get("boundary_mass", {}).items()}
        return cls(config, K, np.asarray(obj["I1"], dtype=float), np.asarray(obj["I2"], dtype=float),
                   float("nan") if I3 is None else float(I3), obj["lemmas"], obj["quantities"], obj["timings"],
                   boundary)

    def save_model(self, path: str) -> None:
        """Write the models to the ``.npz`` file ``path``; ValueError if read back from JSON (no models).

        Arrays: W (m×d), U (m×d_e), A (len(tau)×d×m, the (1/m) A convention), x_train (n×d), tau, T
        and embedding.
        """
        if self.features is None:
            raise ValueError("this measurement was read back from JSON and holds no model; measure() it again")
        np.savez(path, W=self.features.W, U=self.features.U, A=self.A, x_train=self.x_train.reshape(-1, 1),
                 tau=np.asarray(self.config.taus), T=self.config.T, embedding=self.features.embedding)


def measure(config: MeasureConfig, max_memory: float = DEFAULT_MAX_MEMORY_GIB) -> Measurement:
    """Train the model (12) by the exact flows (9)-(10) and measure K1..K4 and I1..I3 at every τ.

    Draws n training points from the target and m features from ``config.seed``; builds the
    population losses (7) (training weighting and g²) and the empirical loss (5); runs both flows
    from A(0) = 0; measures K1 (Lemma 2, exact), K2..K4 as ``config.kl`` asks, the decomposition
    (15), and checks Lemmas 4 and 5 on both flows.

    Parameters
    ----------
    config : MeasureConfig
        Checked on construction (ValueError names a field outside its range).
    max_memory : float, default 16
        Memory cap in GiB (:data:`empirical.resources.DEFAULT_MAX_MEMORY_GIB`): a run whose
        estimate (:func:`empirical.resources.memory_estimate`) exceeds it is refused before anything
        is allocated.

    Returns
    -------
    Measurement

    Raises
    ------
    ValueError
        Before any computation: ``config`` is not a MeasureConfig, ``max_memory`` is not a number
        > 0, the target's x-quadrature cannot resolve p_t at the first time node (bumps: large mu,
        small T), or the memory estimate exceeds the cap (the message names n, m and the cap).

    References
    ----------
    arXiv:2311.01797, eqs. (5), (7), (9)-(12), (15), Lemmas 2, 4, 5; docs/theory.md §3-§4, §7.

    Examples
    --------
    >>> from empirical.measure import MeasureConfig, measure
    >>> r = measure(MeasureConfig(n=16, m=16, taus=(1e4, 1e6), seed=0, kl=("K1", "K2"), m_ref_factor=0))
    >>> bool(all(v["holds"] for v in r.lemmas.values()))  # Lemmas 4-5 on both flows
    True
    >>> bool((r.K["K2"] <= r.K["K1"]).all())  # Lemma 2: the sampler's KL under the score bound
    True
    """
    if not isinstance(config, MeasureConfig):
        raise ValueError(f"config must be a MeasureConfig, got {type(config).__name__}")
    check_resources(config, make_target(config), max_memory)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    target = make_target(config)
    data_rng, feature_seed = seeds(config.seed)
    x_train = target.sample(config.n, data_rng)
    features = draw_features(config.m, 1, feature_seed, T=config.T)
    lams = tuple(dict.fromkeys((config.lam, "g2")))
    pop = population_losses(target, features, lams, t0=config.t0)
    pop_big = None
    if config.m_ref_factor:
        big = draw_features(config.m * config.m_ref_factor, 1, feature_seed, T=config.T)
        pop_big = population_losses(target, big, (config.lam,), t0=config.t0)[config.lam]
    emp = empirical_losses(x_train, features, target.sde, (config.lam,), t0=config.t0)[config.lam]
    lap("losses")
    taus = np.asarray(config.taus)
    A = gradient_flow(emp, taus)
    dec = decomposition(emp, pop[config.lam], pop_big, taus)
    lap("flows")
    kl_prior = target.kl_to_prior()
    models = rf_score(features, A)
    K = {"K1": kl_score_bound(target, models, config.t0, loss=pop["g2"])}
    lap("K1")
    measures = {"K3": kl_ode, "K4": kl_integrated}
    boundary: dict[str, np.ndarray] = {}
    for name in config.kl:
        if name == "K1":
            continue
        if name == "K2":  # K2 and its law's boundary mass from one Fokker–Planck solve
            k2 = np.array([kl_sde(target, s, config.t0, return_boundary_mass=True) for s in models], dtype=float)
            K[name], boundary[name] = k2[:, 0].copy(), k2[:, 1].copy()
        else:
            K[name] = np.array([measures[name](target, s, config.t0) for s in models])
        lap(name)
    lemmas = {"empirical_flow": lemma_checks(emp, A, taus),
              "population_flow": lemma_checks(pop[config.lam], gradient_flow(pop[config.lam], taus), taus)}
    lap("lemmas")
    theta_star = pop[config.lam].minimizer()
    quantities = {
        "kl_prior": float(kl_prior),
        "loss_star": float(dec.loss_star),
        "loss_star_ref": float(dec.loss_star_large),
        "theta_star_norm2": float(theta_distance(theta_star, np.zeros_like(theta_star)) ** 2),
        "m_ref": int(config.m * config.m_ref_factor),
    }
    return Measurement(config, K, dec.I1, dec.I2, float(dec.I3), lemmas, quantities, timings, boundary, features, A,
                       x_train)

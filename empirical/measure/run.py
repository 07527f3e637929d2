"""One measurement: the model (12) trained by the exact flows (9)-(10), KL(p0 ‖ p_θ) four ways
(docs/theory.md §4) and the decomposition (15) at every training time τ. This is the pipeline behind
``diffgen measure`` and every experiment of the scaling report. Seeds: ``seed`` spawns two independent streams (``numpy.random.SeedSequence``), one for the
training data and one for the frozen features, so the same seed gives the same numbers.
"""

from __future__ import annotations


import numpy as np

from .config import (DEFAULT_MU, DEFAULT_TAUS, KL_NAMES, LAMBDAS, LIMITS, TARGETS, MeasureConfig,  # noqa: F401
                     available_kls)
from ..rf.comparator import comparator
from .decomposition import decomposition
from ..rf.features import RandomFeatures, draw_features, rf_score
from ..rf.flow import gradient_flow
from ..kl import kl_integrated, kl_ode, kl_score_bound, kl_sde, kl_sde_2d, kl_sde_law, ode_kl_mc
from .independent import independent_checks
from .lemma_checks import lemma_checks
from ..rf.loss import empirical_losses, population_losses
from .memorisation import is_memorised, memorised_mass, sampled_memorised_fraction, target_memorised_fraction
from ..rf.quadratic import QuadraticLoss
from ..resources import DEFAULT_MAX_MEMORY_GIB, check_resources
from ..timing import Laps
from .measurement import Measurement, _stream_seed, _streams, make_target, seeds  # noqa: F401  (the public names)
from ..targets import Target

NUMERICS_VERSION = 5
"""Version of the numerics behind a measurement: incremented whenever a change alters measured numbers
(a result cache keyed on it is invalidated). 2: K2's Fokker–Planck grid gained geometrically growing
outer cells out to the sampler's reach (``empirical.kl.sde_law``), and ``boundary_mass`` is recorded.
3: the lemma checks also assert Lemma 4's sharp quadratic constant and record ‖θ(τ)‖ at every τ.
4: the norm of the 1/τ term is that of the ridge comparator θ_ρ (``empirical.rf.comparator``),
``comparator_norm2``, with ``comparator_excess``, ``ridge`` and ``loss_zero``; K1 at τ = ∞ (``K1_inf``, ``K1_inf_rounding``); the
lemmas gain Lemma 4 with θ_ρ and the ``independent`` entry (I2 and K1 evaluated a second way).
5: K1 on a tail of the τ grid (``K1_tail_tau``, ``K1_tail``: ten times the last τ and four more decades), so
that a minimum past the grid is found rather than guessed."""

TAIL_DECADES = 5
"""K1 is also evaluated at the last grid τ times 10, 100, ..., 10^TAIL_DECADES (the flow is exact at any τ)."""

KL_NUMERICS = {"K4": 2}
"""Versions of single KLs changed since :data:`NUMERICS_VERSION` (keyed only into measurements that hold
them, so that the others keep their stored results). K4 2: +inf where exp(∫s) is not normalisable on R
(:func:`empirical.kl.kl_integrated`)."""


def measure(config: MeasureConfig, max_memory: float = DEFAULT_MAX_MEMORY_GIB) -> Measurement:
    """Train the model (12) by the exact flows (9)-(10) and measure K1..K4 and I1..I3 at every τ.

    Draws n training points from the target and m features from ``config.seed``; builds the
    population losses (7) (training weighting and g²) and the empirical loss (5); runs both flows
    from A(0) = 0; measures K1 (Lemma 2, exact), K2..K4 as ``config.kl`` asks, the decomposition
    (15), and checks Lemmas 4 and 5 on both flows. Opt-in: with ``config.noise_draws`` the empirical
    loss has that many fixed noise draws per point and t node (:mod:`empirical.rf.noise_draws`); with
    ``config.memorisation`` the memorised fraction of the sampler (:mod:`empirical.measure.memorisation`) is
    measured where K2-K4 are.

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
    >>> bool(all(v["holds"] for v in r.lemmas.values()))  # Lemmas 4-5 on both flows, I2 and K1 a second way
    True
    >>> bool((r.K["K2"] <= r.K["K1"]).all())  # Lemma 2: the sampler's KL under the score bound
    True
    """
    if not isinstance(config, MeasureConfig):
        raise ValueError(f"config must be a MeasureConfig, got {type(config).__name__}")
    check_resources(config, make_target(config), max_memory)
    lap = Laps()
    timings = lap.timings

    target = make_target(config)
    d = config.d
    data_rng, feature_seed = seeds(config.seed)
    x_train = target.sample(config.n, data_rng)
    features = draw_features(config.m, d, feature_seed, T=config.T)
    lams = tuple(dict.fromkeys((config.lam, "g2")))
    pop = population_losses(target, features, lams, t0=config.t0)
    pop_big = None
    if config.m_ref_factor:
        big = draw_features(config.m * config.m_ref_factor, d, feature_seed, T=config.T)
        pop_big = population_losses(target, big, (config.lam,), t0=config.t0)[config.lam]
    emp = empirical_losses(x_train, features, target.sde, (config.lam,), t0=config.t0,
                           noise_draws=config.noise_draws, seed=_stream_seed(config.seed, 5))[config.lam]
    lap("losses")
    taus = np.asarray(config.taus)
    A = gradient_flow(emp, taus)
    A_pop = gradient_flow(pop[config.lam], taus)  # each flow once: the decomposition and the lemmas share them
    dec = decomposition(emp, pop[config.lam], pop_big, taus, flows=(A, A_pop))
    lap("flows")
    kl_prior = target.kl_to_prior()
    models = rf_score(features, A)
    K = {"K1": kl_score_bound(target, models, config.t0, loss=pop["g2"])}
    lap("K1")
    boundary: dict[str, np.ndarray] = {}
    errors: dict[str, np.ndarray] = {}
    at = np.arange(taus.size) if config.kl_at == "all" else np.array([int(np.argmin(K["K1"]))])
    chosen = [rf_score(features, A[i]) for i in at]

    def aligned(values: list[float]) -> np.ndarray:  # NaN where the sampler was not run (kl_at)
        out = np.full(taus.size, np.nan)
        out[at] = values
        return out

    laws = None  # the 1-D K2 laws, which the memorised fraction reads too
    for name in config.kl:
        if name == "K1":
            continue
        if name == "K2":  # K2 and its law's boundary mass from one Fokker–Planck solve
            if d == 1:
                solved = [kl_sde_law(target, s, config.t0) for s in chosen]
                laws = [law for _, law in solved]
                k2 = np.array([(value, law.boundary_mass) for value, law in solved], dtype=float)
            else:
                k2 = np.array([kl_sde_2d(target, s, config.t0, return_boundary_mass=True) for s in chosen], dtype=float)
            K[name], boundary[name] = aligned(k2[:, 0]), aligned(k2[:, 1])
        elif name == "K3" and d > 1:
            mc_seed = _stream_seed(config.seed, 3)
            runs = [ode_kl_mc(target, s, config.t0, config.ode_samples, mc_seed) for s in chosen]
            K[name], errors[name] = aligned([r.kl for r in runs]), aligned([r.kl_se for r in runs])
        else:
            K[name] = aligned([{"K3": kl_ode, "K4": kl_integrated}[name](target, s, config.t0) for s in chosen])
        lap(name)
    memorised = None
    if config.memorisation:
        if d == 1:
            laws = laws or [kl_sde_law(target, s, config.t0)[1] for s in chosen]
            memorised = aligned([memorised_mass(law, x_train) for law in laws])
            reference = target_memorised_fraction(target, x_train, config.t0)
        else:
            runs = [sampled_memorised_fraction(target.sde, s, x_train, config.memorisation_samples,
                                               _stream_seed(config.seed, 4), config.t0) for s in chosen]
            memorised = aligned([r.fraction for r in runs])
            errors["memorised_fraction"] = aligned([r.se for r in runs])
            draws = target.sample(config.memorisation_samples, np.random.default_rng(_stream_seed(config.seed, 4)),
                                  config.t0)
            reference = float(np.mean(is_memorised(draws, x_train)))
        lap("memorisation")
    near, star = comparator(pop[config.lam]), pop[config.lam].minimizer()
    k1_inf, rounding = _k1_limit(target, features, emp, pop["g2"], config.t0)
    tail_tau = taus[-1] * 10.0 ** np.arange(1, TAIL_DECADES + 1)
    tail_k1 = np.asarray(kl_score_bound(target, rf_score(features, gradient_flow(emp, tail_tau)), config.t0,
                                        loss=pop["g2"]), dtype=float)
    quantities = {
        "kl_prior": float(kl_prior),
        "loss_star": float(dec.loss_star),
        "loss_star_ref": float(dec.loss_star_large),
        "theta_star_norm2": float(np.sum(star * star) / config.m),
        "comparator_norm2": near.norm2,
        "comparator_excess": near.excess,
        "ridge": near.rho,
        "loss_zero": float(pop[config.lam].c),
        "m_ref": int(config.m * config.m_ref_factor),
        "K1_inf": k1_inf,
        "K1_inf_rounding": rounding,
        "K1_tail_tau": tail_tau.tolist(),
        "K1_tail": tail_k1.tolist(),
    }
    lemmas = {"empirical_flow": lemma_checks(emp, A, taus),
              "population_flow": lemma_checks(pop[config.lam], A_pop, taus),
              "independent": independent_checks(target, features, A, taus, K["K1"], dec.I2, pop[config.lam],
                                                 quantities, config.t0)}
    lap("lemmas")
    if config.memorisation:  # the fraction of p_{t0} itself: the level of a sampler that does not memorise
        quantities["memorised_fraction_target"] = reference
    return Measurement(config, K, dec.I1, dec.I2, float(dec.I3), lemmas, quantities, timings, boundary, errors,
                       features, A, x_train, memorised)


def _k1_limit(target: Target, features: RandomFeatures, emp: QuadraticLoss, g2: QuadraticLoss,
              t0: float) -> tuple[float, float]:
    """(K1 at τ = ∞, its rounding). The closed-form flow from 0 tends to the minimum-norm minimiser of the
    empirical loss on the range of B̂1; K1_inf is K1 there, the range cut where double precision resolves
    it, at numpy's rank cutoff m·eps·max β (:meth:`~empirical.rf.quadratic.QuadraticLoss.minimizer`).
    Eigenvalues below the cutoff are not resolved to working accuracy, and the flow moves their components
    only at τ ≳ 1/(2 m eps max β) (about 1e13 at m = 1024, later at smaller m), beyond every τ grid of the
    report. The rounding is |K1_inf - K1 at the same minimiser solved by SVD| (``numpy.linalg.lstsq``, same
    cutoff): a second backward-stable solve, which also moves an eigenvalue at the cutoff to its other side."""
    by_svd = np.sqrt(emp.m) * np.linalg.lstsq(emp.B1, emp.B2, rcond=emp.m * np.finfo(float).eps)[0].T
    k1 = np.asarray(kl_score_bound(target, rf_score(features, np.stack([emp.minimizer(), by_svd])), t0, loss=g2))
    return float(k1[0]), float(abs(k1[1] - k1[0]))

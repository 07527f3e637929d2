"""Two random-feature models with the same features, trained on disjoint halves of the data.

Kadkhodaie, Guth, Simoncelli, Mallat (arXiv 2310.02557) and Maillard & Goldt (arXiv 2605.21402):
models trained on disjoint subsets converge to the same score once n is large. Here both halves are
the model (12) with the same frozen features W, U, trained by the exact empirical flow (9) from
A(0) = 0 on x1 = the first ⌊n/2⌋ and x2 = the next ⌊n/2⌋ points of the training sample that
:func:`empirical.measure.measure` draws with the same seed (an odd n leaves the last point out). At
each training time τ:

- the exact score distance, with p_t the target's marginal and K1's weighting (docs/theory.md §4):

      D(τ) = ½ ∫_{t0}^T g(t)² E_{p_t} ‖s_1 - s_2‖² dt = ½ (T - t0) tr(Δ B1 Δᵀ),   Δ = (A1 - A2)/√m,

  with B1 of the population loss under λ = g² (:func:`empirical.rf.loss.population_losses`: exact in x
  in 1-D, the Mehler series in R^d), so D is the quadratic part of L̃_g2 at A1 - A2 (:func:`score_distance`);
- K1 of each half (:func:`empirical.kl.kl_score_bound`);
- in 1-D, the KL between the two samplers' laws, KL(q_1 ‖ q_2) and KL(q_2 ‖ q_1), both reverse-SDE
  laws solved by Fokker–Planck on one common grid (:func:`sampler_laws`), and each half's K2 on it.

References
----------
arXiv:2311.01797, model (12), flow (9), Lemma 2 and Lemma 3; docs/theory.md §3, §4 and §11.1
(arXiv 2310.02557, arXiv 2605.21402).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from .config import DEFAULT_TAUS, MeasureConfig
from ..rf.features import RandomFeatures, draw_features, rf_score
from ..rf.flow import gradient_flow
from ..kl import BOUNDARY_MASS_MAX, kl_cells, kl_score_bound, sde_law
from ..kl.fokker_planck import FPSolution
from ..kl.grids import cell_average, zero_score_sd
from ..kl.measures import _MAX_WIDENINGS, _REACH_SD, _SDE_STEPS, _WIDEN
from ..rf.loss import empirical_loss, population_losses
from .run import make_target, seeds
from ..rf.quadratic import QuadraticLoss
from ..resources import DEFAULT_MAX_MEMORY_GIB, GIB, check_max_memory, check_resources, memory_estimate
from ..scores import ScoreModel
from ..sde import LinearSDE
from ..targets import Target1D
from ..timing import Laps

__all__ = ["Halves", "HalvesConfig", "halves", "sampler_laws", "score_distance", "split_halves", "train_halves"]


@dataclass(frozen=True)
class HalvesConfig:
    """Everything that determines a two-halves measurement.

    The fields mean what they mean in :class:`~empirical.measure.config.MeasureConfig` (same ranges, same
    defaults, checked by it on construction) and n must be >= 2, so that each half holds ⌊n/2⌋ >= 1
    points.

    Raises
    ------
    ValueError
        If a field is outside its range; the message names it.
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
    t0: float = 0.0
    d: int = 1
    direction: str = "e1"

    def __post_init__(self) -> None:
        mc = self.measure_config()  # checks every field
        for name in ("mu", "weights", "taus"):
            object.__setattr__(self, name, getattr(mc, name))
        if self.n < 2:
            raise ValueError(f"n must be an integer >= 2 (two halves of n // 2 >= 1 points), got {self.n!r}")

    def measure_config(self) -> MeasureConfig:
        """The :class:`MeasureConfig` of one half's model (its target, seeds and memory estimate): K1, plus K2
        in 1-D (the samplers), no nested model."""
        return MeasureConfig(target=self.target, mu=self.mu, weights=self.weights, n=self.n, m=self.m, taus=self.taus,
                             seed=self.seed, lam=self.lam, T=self.T, t0=self.t0, d=self.d, direction=self.direction,
                             kl=("K1", "K2") if self.d == 1 else ("K1",), m_ref_factor=0)

    def to_dict(self) -> dict:
        """The fields as a plain dict (the ``inputs`` of the JSON output)."""
        return asdict(self)


def split_halves(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x1 = the first ⌊n/2⌋ points, x2 = the next ⌊n/2⌋ (the last point of an odd n is left out).

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.measure.halves import split_halves
    >>> [h.tolist() for h in split_halves(np.arange(5.0))]
    [[0.0, 1.0], [2.0, 3.0]]
    """
    x = np.asarray(x, dtype=float)
    h = x.shape[0] // 2
    if h < 1:
        raise ValueError(f"x must hold n >= 2 points to split into halves, got {x.shape[0]}")
    return x[:h], x[h:2 * h]


def train_halves(x1: np.ndarray, x2: np.ndarray, features: RandomFeatures, sde: LinearSDE, taus: np.ndarray,
                 lam: str = "std", t0: float = 0.0, **loss_options) -> tuple[np.ndarray, np.ndarray]:
    """A1(τ), A2(τ): the exact empirical flows (9) from A(0) = 0 on each half, with the same features
    (``loss_options``, e.g. ``rtol``, go to :func:`empirical.rf.loss.empirical_loss`).

    Returns
    -------
    A1, A2 : ndarray of shape (len(taus), d, m)
    """
    flows = [gradient_flow(empirical_loss(x, features, sde, lam, t0=t0, **loss_options), taus) for x in (x1, x2)]
    return flows[0], flows[1]


def score_distance(loss: QuadraticLoss, A1: np.ndarray, A2: np.ndarray) -> np.ndarray:
    """D = ½ ∫_{t0}^T g² E_{p_t} ‖s_1 - s_2‖² dt = ½ (T - t0) tr(Δ B1 Δᵀ), Δ = (A1 - A2)/√m (module docstring).

    Parameters
    ----------
    loss : QuadraticLoss
        The population loss of the features under λ = g² (kind 'population'), whose B1 weights D; or, where p0
        is known only through samples (real data), the empirical 'g2' loss of held-out points (exact in the
        noise): D then averages over their noised law p̂_t instead of p_t, an unbiased estimate.
    A1, A2 : ndarray of shape (..., d, m)
        The two models, in the (1/m) A convention of (12); any matching leading shape (e.g. one per τ).

    Returns
    -------
    ndarray
        The leading shape of A1, >= 0 (0 exactly where A1 = A2).

    Raises
    ------
    ValueError
        If ``loss`` is not a 'g2' loss, or A1 and A2 do not have the same shape (..., d, m).

    Examples
    --------
    D is the quadratic part of L̃_g2 at A1 - A2, (L̃(Δ) + L̃(-Δ))/2 - c, times ½ (T - t0):

    >>> import numpy as np
    >>> from empirical.rf.features import draw_features
    >>> from empirical.measure.halves import score_distance
    >>> from empirical.rf.loss import population_loss
    >>> from empirical.targets import two_mode
    >>> f = draw_features(4, seed=0)
    >>> L = population_loss(two_mode(3.0), f, "g2", n_t=16)
    >>> A = np.arange(4.0)[None]
    >>> float(score_distance(L, A, A))
    0.0
    >>> quad = (L.value(A) + L.value(-A)) / 2 - L.c
    >>> bool(np.isclose(score_distance(L, A, 0 * A), 0.5 * 5.0 * quad, rtol=1e-12))
    True
    """
    if not (isinstance(loss, QuadraticLoss) and loss.lam == "g2"):
        raise ValueError(f"loss must be a population or held-out 'g2' loss, got kind {getattr(loss, 'kind', None)!r}, "
                         f"lam {getattr(loss, 'lam', None)!r}")
    A1, A2 = np.asarray(A1, dtype=float), np.asarray(A2, dtype=float)
    if A1.shape != A2.shape or A1.shape[-2:] != (loss.d, loss.m):
        raise ValueError(f"A1 and A2 must have the same shape (..., {loss.d}, {loss.m}), got {A1.shape} and {A2.shape}")
    delta = (A1 - A2) / np.sqrt(loss.m)
    quad = np.einsum("...im,mk,...ik->...", delta, loss.B1, delta)
    return 0.5 * loss.horizon * np.maximum(quad, 0.0)


def sampler_laws(target: Target1D, scores: list[ScoreModel], t0: float | None = None,
                 **kwargs) -> list[FPSolution]:
    """The reverse-SDE laws (3) of several scores at t0 on one common grid (1-D).

    The grid is K2's (:func:`empirical.kl.sde_law`), widened for all of them at once: the reach starts
    at 12 standard deviations of the zero-score sampler's law and is multiplied by 4 (at most 3 times)
    while any law holds more than :data:`empirical.kl.BOUNDARY_MASS_MAX` in its two outer cells, so the
    laws share their cells and KLs between them are sums over cells (:func:`empirical.kl.kl_cells`).

    Parameters
    ----------
    target : Target1D
        p0 and its forward SDE (they set the grid and the start π).
    scores : list of ScoreModel
        The model scores.
    t0 : float, optional
        Where the samplers stop; None is the SDE's ``eps``.
    **kwargs
        ``n_cells``, ``n_steps``, ``scheme``, ... of :func:`empirical.kl.sde_law` (not ``reach``).

    Returns
    -------
    list of FPSolution
        One law per score, all with the same ``edges``.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.measure.halves import sampler_laws
    >>> from empirical.targets import two_mode
    >>> p = two_mode(3.0)
    >>> a, b = sampler_laws(p, [p.score, lambda t, x: 0.9 * p.score(t, x)], n_cells=300, n_steps=40)
    >>> bool(np.array_equal(a.edges, b.edges)), bool(abs(a.mass - 1) < 1e-12)
    (True, True)
    """
    if "reach" in kwargs:
        raise ValueError("sampler_laws sets the reach itself (a common grid); do not pass reach")
    t0 = target.sde.eps if t0 is None else t0
    reach = _REACH_SD * zero_score_sd(target.sde, t0)
    for _ in range(_MAX_WIDENINGS + 1):
        laws = [sde_law(target, s, t0, reach=reach, **kwargs) for s in scores]
        if max(law.boundary_mass for law in laws) <= BOUNDARY_MASS_MAX:
            break
        reach *= _WIDEN
    return laws


_TINY = np.finfo(float).tiny


def _kl_floored(p: np.ndarray, q: np.ndarray, h: np.ndarray) -> tuple[float, float]:
    """(KL(p ‖ q) over cells with q floored at the smallest normal double where it is <= 0, the p-mass there).

    A sampler's law underflows to 0 (or TR-BDF2 leaves round-off negatives) far out in a tail that the
    other law still reaches; those cells then add p log(p / tiny) <= 709 p each, and their p-mass is
    returned so that the reader can bound what the floor decided.
    """
    under = (q <= 0) & (p > 0)
    return kl_cells(p, np.where(q > 0, q, _TINY), h), float(np.sum(h[under] * p[under]))


def _kls_between(target: Target1D, scores: list[ScoreModel], t0: float) -> np.ndarray:
    """[KL(q1‖q2), KL(q2‖q1), K2 of 1, K2 of 2, the larger floored mass of the two KLs] on a common grid.

    The K2s are as :func:`empirical.kl.kl_sde` computes them, with its rule: backward Euler on 4x the
    steps (both laws) when TR-BDF2 left a law <= 0 where p_{t0} has mass. The KLs between the laws floor
    the second law where it is <= 0 (:func:`_kl_floored`)."""
    for scheme, steps in (("trbdf2", _SDE_STEPS), ("euler", 4 * _SDE_STEPS)):
        q1, q2 = sampler_laws(target, scores, t0, scheme=scheme, n_steps=steps)
        p = cell_average(lambda x: target.pdf(t0, x), q1.edges)
        k2 = [kl_cells(p, q1.q, q1.h), kl_cells(p, q2.q, q1.h)]
        if np.all(np.isfinite(k2)):
            break
        warnings.warn("halves: TR-BDF2 left a law <= 0 where p_t0 has mass; recomputed with backward Euler on 4x "
                      "the steps", RuntimeWarning, stacklevel=3)
    (kl12, mass12), (kl21, mass21) = _kl_floored(q1.q, q2.q, q1.h), _kl_floored(q2.q, q1.q, q1.h)
    if max(q1.boundary_mass, q2.boundary_mass) > BOUNDARY_MASS_MAX:
        warnings.warn(f"halves: mass {max(q1.boundary_mass, q2.boundary_mass):.2e} sits in the two outer cells at "
                      "the widest reach: the zero-flux walls truncate a sampler", RuntimeWarning, stacklevel=3)
    return np.array([kl12, kl21, *k2, max(mass12, mass21)])


@dataclass(frozen=True, eq=False)
class Halves:
    """The two-halves measurement at each τ of ``config.taus`` (arrays aligned with it).

    Attributes
    ----------
    config : HalvesConfig
    score_distance : ndarray
        D(τ) (module docstring).
    K1_half1, K1_half2 : ndarray
        K1 of each half's model.
    kl_between, kl_between_reverse : ndarray or None
        1-D: KL(q_1 ‖ q_2) and KL(q_2 ‖ q_1) of the two samplers' laws; None in d >= 2.
    K2_half1, K2_half2 : ndarray or None
        1-D: K2 of each half on the same common grid; None in d >= 2.
    kl_between_floored_mass : ndarray or None
        1-D: the mass of the first law in cells where the second underflowed to <= 0 (the larger of the
        two directions); there the second law is floored at the smallest normal double, so those cells
        add at most 709 times this mass to the KL. None in d >= 2.
    timings : dict of stage -> seconds
    features, A1, A2, x1, x2
        The models and the halves.
    """

    config: HalvesConfig
    score_distance: np.ndarray
    K1_half1: np.ndarray
    K1_half2: np.ndarray
    kl_between: np.ndarray | None
    kl_between_reverse: np.ndarray | None
    K2_half1: np.ndarray | None
    K2_half2: np.ndarray | None
    kl_between_floored_mass: np.ndarray | None
    timings: dict[str, float]
    features: RandomFeatures = field(repr=False)
    A1: np.ndarray = field(repr=False)
    A2: np.ndarray = field(repr=False)
    x1: np.ndarray = field(repr=False)
    x2: np.ndarray = field(repr=False)

    def to_json(self) -> dict:
        """The ``diffgen halves --json`` object: tau, score_distance, K1_half1, K1_half2 and, in 1-D,
        kl_between, kl_between_reverse, K2_half1, K2_half2, kl_between_floored_mass (lists aligned with tau);
        inputs and timings."""
        out = {"tau": list(self.config.taus), "score_distance": [float(v) for v in self.score_distance],
               "K1_half1": [float(v) for v in self.K1_half1], "K1_half2": [float(v) for v in self.K1_half2]}
        for name in ("kl_between", "kl_between_reverse", "K2_half1", "K2_half2", "kl_between_floored_mass"):
            values = getattr(self, name)
            if values is not None:
                out[name] = [float(v) for v in values]
        out["inputs"] = self.config.to_dict()
        out["timings"] = self.timings
        return out

    def save_model(self, path: str) -> None:
        """Write W (m×d), U (m×d_e), A1, A2 (len(tau)×d×m, the (1/m) A convention), x1, x2 (⌊n/2⌋×d), tau, T,
        embedding and ``config`` (the JSON of the configuration) to the ``.npz`` file ``path``, atomically and
        never through a link (:func:`empirical.measure.outputs.write_file`)."""
        import json

        from .outputs import write_file

        d = self.config.d
        arrays = dict(W=self.features.W, U=self.features.U, A1=self.A1, A2=self.A2, x1=self.x1.reshape(-1, d),
                      x2=self.x2.reshape(-1, d), tau=np.asarray(self.config.taus), T=self.config.T,
                      embedding=self.features.embedding, config=json.dumps(self.config.to_dict(), sort_keys=True))
        write_file(path, lambda tmp: np.savez(tmp, **arrays))


def _check_memory(config: HalvesConfig, target: object, max_memory: float) -> None:
    """The measurement's guard (:func:`empirical.resources.check_resources`) plus the second flow's stack."""
    mc = config.measure_config()
    check_resources(mc, target, max_memory)
    parts = memory_estimate(mc, target)
    if parts["total"] + parts["taus"] > check_max_memory(max_memory) * GIB:
        raise ValueError(f"n = {config.n}, m = {config.m}, d = {config.d}: the two halves would hold about "
                         f"{(parts['total'] + parts['taus']) / GIB:.3g} GiB, above the memory cap max_memory = "
                         f"{max_memory:g} GiB; lower m or the number of tau, or raise the cap")


def halves(config: HalvesConfig, max_memory: float = DEFAULT_MAX_MEMORY_GIB) -> Halves:
    """Train two models of the same features on disjoint halves and measure D(τ), K1 of each and, in 1-D,
    the KL between their samplers (module docstring).

    The training sample and the features are those :func:`empirical.measure.measure` draws from the
    same seed (n points, m features); x1, x2 by :func:`split_halves`.

    Parameters
    ----------
    config : HalvesConfig
    max_memory : float, default 16
        Memory cap in GiB; a run whose estimate exceeds it is refused before anything is allocated.

    Returns
    -------
    Halves

    Raises
    ------
    ValueError
        Before any computation: ``config`` is not a HalvesConfig, or the run is refused by the memory
        estimate or the target's quadrature (:func:`empirical.resources.check_resources`).

    Examples
    --------
    >>> from empirical.measure.halves import HalvesConfig, halves
    >>> r = halves(HalvesConfig(n=16, m=16, taus=(10.0, 1e4), seed=0))
    >>> bool((r.score_distance > 0).all()), bool((r.kl_between >= 0).all())
    (True, True)
    >>> r.A1.shape, r.x1.shape
    ((2, 1, 16), (8,))
    """
    if not isinstance(config, HalvesConfig):
        raise ValueError(f"config must be a HalvesConfig, got {type(config).__name__}")
    mc = config.measure_config()
    target = make_target(mc)
    _check_memory(config, target, max_memory)
    lap = Laps()
    timings = lap.timings

    data_rng, feature_seed = seeds(config.seed)
    x1, x2 = split_halves(target.sample(config.n, data_rng))
    features = draw_features(config.m, config.d, feature_seed, T=config.T)
    taus = np.asarray(config.taus)
    A1, A2 = train_halves(x1, x2, features, target.sde, taus, config.lam, config.t0)
    pop = population_losses(target, features, ("g2",), t0=config.t0)["g2"]
    lap("losses and flows")
    D = score_distance(pop, A1, A2)
    K1 = [np.atleast_1d(kl_score_bound(target, rf_score(features, A), config.t0, loss=pop)) for A in (A1, A2)]
    lap("D and K1")
    kls = [None] * 5
    if config.d == 1:
        per_tau = np.array([_kls_between(target, [rf_score(features, a1), rf_score(features, a2)], config.t0)
                            for a1, a2 in zip(A1, A2)])
        kls = list(per_tau.T)
        lap("samplers")
    return Halves(config, D, K1[0], K1[1], *kls, timings, features, A1, A2, x1, x2)

"""The sweeps behind the verification suite and the scaling report (docs/theory.md §8).

Each sweep is a list of :class:`~empirical.measure.MeasureConfig` whose results are cached by
configuration (:class:`~verification.store.cache.ResultCache` through :class:`~verification.store.runner.Runner`),
so an interrupted report resumes where it stopped. :class:`Scale` fixes the sizes: ``QUICK`` (CI,
minutes on 2 cores) and ``FULL`` (opt-in).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from empirical.rf.features import rf_score
from empirical.kl import sde_law
from empirical.measure import NUMERICS_VERSION, MeasureConfig, Measurement, make_target, measure

from .later_runs import LaterDesign
from .mnist import Design
from .paper_runs import PaperDesign
from ..store.runner import Runner
from ..statistics.stats import interior_minimum, smooth_argmin


K1_RTOL = 1e-9
"""The relative tolerance within which two exact K1 values are the same number (rounding of the quadratic form)."""


@dataclass(frozen=True)
class Scale:
    """Sizes of every sweep of the report.

    taus : the τ grid of K1, I1, I2 (exact and cheap, so dense).
    kl_taus : the thinner τ grid of the K2..K4 curves (seconds per model).
    curve_ns, curve_m : τ-curves (Fig. 3 analogue) at these n with m features.
    rate_ns, rate_m_over_n : the n sweep along m = rate_m_over_n · n (corollary (16)).
    m_sweep, m_sweep_n : the capacity sweep (Fig. 11 analogue) at fixed n.
    mu_sweep, mu_n, mu_m : the modes-shift sweep (Figs. 4-5 analogue).
    gap_ns, gap_m, gap_tau : the gap I1 against n at fixed m and τ.
    bump_ns : the Theorem 1 n sweep (m = n) on the compactly supported target.
    heldout : number of held-out draws per theorem for the calibrated bound.
    dim_ds, dim_n, dim_m, dim_m_per_d : the dimension sweep at n = dim_n, fixed m = dim_m and m = dim_m_per_d·d.
    dim_taus, dim_ode_samples : its τ grid, and the Monte-Carlo points of its ODE-KL (at the K1 minimum).
    dim_rate_ns, dim_m_sweep, dim_m_sweep_n, dim_mu_sweep, dim_mu_d : the n-rate (m = n) and capacity sweeps
        repeated at d = 8 and 32, and the modes-shift sweep in d = dim_mu_d.
    mnist_designs : the MNIST experiments (:class:`verification.designs.mnist.Design`); the claims use the first.
    paper : the paper's own experiments, Figs. 3-5, 8-11 (:class:`verification.designs.paper_runs.PaperDesign`).
    later : the later theories of docs/theory.md §11 (:class:`verification.designs.later_runs.LaterDesign`).
    replicates : simulated replicates per null and alternative of every rule (size and power).
    mutations : whether the exact section applies the engine mutations (verification/mutations.py).
    """

    name: str
    seeds: tuple[int, ...]
    taus: tuple[float, ...]
    kl_taus: tuple[float, ...]
    curve_ns: tuple[int, ...]
    curve_m: int
    rate_ns: tuple[int, ...]
    rate_m_over_n: float
    m_sweep: tuple[int, ...]
    m_sweep_n: int
    mu_sweep: tuple[float, ...]
    mu_n: int
    mu_m: int
    gap_ns: tuple[int, ...]
    gap_m: int
    gap_tau: float
    bump_ns: tuple[int, ...]
    heldout: int
    dim_ds: tuple[int, ...]
    dim_n: int
    dim_m: int
    dim_m_per_d: int
    dim_taus: tuple[float, ...]
    dim_ode_samples: int
    dim_rate_ns: tuple[int, ...]
    dim_m_sweep: tuple[int, ...]
    dim_m_sweep_n: int
    dim_mu_sweep: tuple[float, ...]
    dim_mu_d: int
    mnist_designs: tuple[Design, ...]
    paper: PaperDesign
    later: LaterDesign
    replicates: int = 1000
    mutations: bool = True


def _grid(lo: float, hi: float, per_decade: int) -> tuple[float, ...]:
    return tuple(float(t) for t in np.logspace(lo, hi, int(round((hi - lo) * per_decade)) + 1))


QUICK = Scale(
    name="quick", seeds=(0, 1, 2), taus=_grid(0, 10, 4), kl_taus=_grid(0, 10, 1),
    curve_ns=(16, 64, 256), curve_m=256, rate_ns=(16, 32, 64, 128, 256, 512), rate_m_over_n=1.0,
    m_sweep=(16, 32, 64, 128, 256, 512), m_sweep_n=64, mu_sweep=(2.5, 3.0, 4.0, 5.0, 6.0, 8.0),
    mu_n=64, mu_m=256, gap_ns=(16, 32, 64, 128, 256, 512), gap_m=256, gap_tau=1e4,
    bump_ns=(16, 32, 64, 128, 256), heldout=12,
    dim_ds=(1, 2, 4, 8, 16, 32, 64, 128), dim_n=32, dim_m=32, dim_m_per_d=4, dim_taus=_grid(0, 8, 2),
    dim_ode_samples=500, dim_rate_ns=(16, 32, 64), dim_m_sweep=(8, 16, 32, 64, 128), dim_m_sweep_n=32,
    dim_mu_sweep=(2.5, 3.0, 4.0, 6.0, 8.0), dim_mu_d=8,
    mnist_designs=(Design(K=30, d=32, m=256, taus=(10.0, 1e3, 1e4, 1e5, 1e6), seeds=(0, 1, 2, 3, 4), n_pairs=6,
                          min_size=100, samples=16),),
    paper=PaperDesign(seeds=(0, 1, 2), epochs=200, eval_every=20, widths=(2, 4, 8, 16, 32), width_seeds=(0,),
                      width_epoch=100, width_cap=300, width_eval_every=20, flow_seeds=(0, 1, 2), flow_epochs=100,
                      flow_eval_every=20, density_epochs=(20, 100, 180)),
    later=LaterDesign(mem_ns=(4, 8, 12), mem_m=256, mem_taus=_grid(2, 10, 1), mem_k_taus=_grid(2, 8, 1), memd_d=4, memd_ns=(2, 3, 4, 6),
                      memd_m=256, memd_taus=_grid(2, 8, 1), memd_samples=1000, noise_n=32, noise_m=256,
                      noise_ks=(1, None), noise_t=0.1, halves_ns=(16, 64, 256, 1024), halves_m=256,
                      halves_taus=(1e8,), halves_mnist_fractions=(0.25, 0.5, 1.0), dn_d=8, dn_ns=(4, 8, 16, 32, 64, 128, 256, 512), dn_n=512,
                      dn_ds=(4, 8, 16, 32, 64, 1024), dn_m=64, dn_taus=_grid(0, 8, 2), opt_lrs=(0.5, 0.1),
                      opt_seeds=(0, 1, 2)),
)
FULL = Scale(
    name="full", seeds=(0, 1, 2, 3, 4), taus=_grid(0, 11, 6), kl_taus=_grid(0, 10, 1),
    curve_ns=(16, 64, 256, 1024), curve_m=256, rate_ns=(16, 32, 64, 128, 256, 512, 1024),
    rate_m_over_n=1.0, m_sweep=(8, 16, 32, 64, 128, 256, 512, 1024), m_sweep_n=64,
    mu_sweep=(2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, 10.0), mu_n=64, mu_m=256,
    gap_ns=(16, 32, 64, 128, 256, 512, 1024), gap_m=256, gap_tau=1e4,
    bump_ns=(16, 32, 64, 128, 256, 512), heldout=24,
    dim_ds=(1, 2, 4, 8, 16, 32, 64, 128), dim_n=128, dim_m=128, dim_m_per_d=8, dim_taus=_grid(0, 9, 3),
    dim_ode_samples=2000, dim_rate_ns=(16, 32, 64, 128, 256, 512), dim_m_sweep=(16, 32, 64, 128, 256, 512),
    dim_m_sweep_n=64, dim_mu_sweep=(2.5, 3.0, 4.0, 5.0, 6.0, 8.0), dim_mu_d=8,
    mnist_designs=tuple(Design(K=K, d=d, m=512, taus=(10.0, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7), seeds=(0, 1, 2, 3, 4),
                               n_pairs=pairs, min_size=100, samples=16, ranked_all_seeds=i == 0)  # claims: the first
                        for i, (K, d, pairs) in enumerate(((30, 32, 10), (10, 32, 10), (30, 16, 2), (30, 64, 2)))),
    paper=PaperDesign(seeds=(0, 1, 2, 3, 4), epochs=2001, eval_every=20, widths=tuple(2 ** k for k in range(1, 12)),
                      width_seeds=(0, 1, 2), width_epoch=1000, width_cap=10000, width_eval_every=50,
                      flow_seeds=(0, 1, 2, 3, 4), flow_epochs=2000, flow_eval_every=100),
    later=LaterDesign(mem_ns=(4, 6, 8, 12, 16, 32), mem_m=256, mem_taus=_grid(2, 12, 2), mem_k_taus=_grid(2, 8, 1), memd_d=4,
                      memd_ns=(2, 3, 4, 6, 8, 12), memd_m=256, memd_taus=_grid(2, 9, 2), memd_samples=2000, noise_n=32,
                      noise_m=256,
                      noise_ks=(1, 4, 16, None), noise_t=0.1, halves_ns=(16, 64, 256, 1024, 4096), halves_m=256,
                      halves_taus=(1e2, 1e4, 1e6, 1e8), halves_mnist_fractions=(0.125, 0.25, 0.5, 1.0),
                      dn_d=8, dn_ns=(4, 8, 16, 32, 64, 128, 256, 512), dn_n=512,
                      dn_ds=(2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), dn_m=64, dn_taus=_grid(0, 9, 3),
                      opt_lrs=(0.5, 0.1), opt_seeds=(0, 1, 2)),
    replicates=2000,
)
SCALES = {"quick": QUICK, "full": FULL}


def early_stopped(result: Measurement, name: str = "K1") -> tuple[float, float]:
    """(τ_es, KL at τ_es): the smooth argmin in log τ of a measured curve and its grid minimum; for a K1 curve
    whose minimum is the flow's limit (:func:`k1_minimum`), the last grid τ and K1(∞) exactly; for one whose minimum
    lies on the tail past the grid, that τ and value."""
    values = result.K[name]
    if name == "K1" and np.isfinite(getattr(result, "K1_inf", np.nan)):
        found = k1_minimum(result)
        if found.where == "limit":
            return float(result.taus[-1]), found.value
        if found.where == "past-grid":
            return found.tau, found.value
    return smooth_argmin(result.taus, values), float(np.min(values))


def resolved(result: Measurement) -> bool:
    """Whether the K1 curve's minimum is known: on the grid, on the tail past it, or the flow's limit K1(∞); False
    when it lies beyond the tail too (still falling there, above K1(∞)): the early-stopped K1 is not measured."""
    return not np.isfinite(getattr(result, "K1_inf", np.nan)) or k1_minimum(result).where != "beyond-grid"


def has_minimum(result: Measurement, name: str = "K1") -> bool:
    """Whether the curve has its minimum strictly inside the τ grid, below both ends (no margin): only then
    is τ_es an early-stopping time rather than the end of the grid."""
    return interior_minimum(result.taus, result.K[name], rel_margin=0.0).has_minimum


@dataclass(frozen=True)
class CurveMinimum:
    """Where the minimum of a K1 curve over τ in [its grid] ∪ {∞} lies (:func:`k1_minimum`).

    Attributes
    ----------
    where : {"interior", "start", "limit", "beyond-grid"}
        "interior": strictly inside the grid, below both ends; "start": at the first grid τ; "limit": the
        limit τ = ∞ (K1 at the last grid τ equals K1(∞) within rounding and no grid τ is below it);
        "beyond-grid": the grid's last τ is the lowest but K1 has not reached its limit there, or the limit
        lies below every grid value: the minimum lies beyond the grid (or at its end) and the grid cannot
        say where.
    tau : float
        The grid's argmin, or ``inf`` for "limit".
    value : float
        The grid minimum, or the exact limit K1(∞) for "limit".
    tolerance : float
        The rounding within which two K1 values count as equal: max(K1(∞)'s own rounding, 1e-9 · |K1(∞)|).
    """

    where: str
    tau: float
    value: float
    tolerance: float


def k1_minimum(result: Measurement) -> CurveMinimum:
    """The minimum of the K1 curve of ``result`` over its τ grid, the tail past it and τ = ∞ (docs/theory.md §8.2).

    K1(∞) = ``result.K1_inf`` is K1 at the empirical flow's limit (the minimum-norm empirical minimiser on
    the range of B̂1); the tail (``quantities["K1_tail"]`` at ``K1_tail_tau``, the last grid τ times 10 to 10^5)
    is K1 of the same exact flow past the grid. On grid and tail together: the minimum is the limit when the last
    value is within the rounding of K1(∞) (``quantities["K1_inf_rounding"]``, at least :data:`K1_RTOL` relative)
    and no value lies below K1(∞) by more than that (its value is then K1(∞) exactly, its τ ∞); "interior" or
    "start" on the grid; "past-grid" when it is an interior point of the tail; "beyond-grid" (not resolved)
    when it is the tail's last point above the limit. A measurement without K1(∞) or tail (older numerics) is
    judged on what it has.

    Raises
    ------
    ValueError
        If the K1 curve is not finite.

    Examples
    --------
    >>> from empirical.measure import MeasureConfig, measure
    >>> from verification.designs.sweeps import k1_minimum
    >>> r = measure(MeasureConfig(n=512, m=32, taus=(1.0, 1e2, 1e4, 1e8), kl=("K1",), m_ref_factor=0))
    >>> k1_minimum(r).where, k1_minimum(r).value == r.K1_inf  # many points, few features: no overfitting
    ('limit', True)
    """
    grid, taus = np.asarray(result.K["K1"], dtype=float), np.asarray(result.taus, dtype=float)
    if not np.all(np.isfinite(grid)):
        raise ValueError(f"the K1 curve must be finite, got {grid!r}")
    tail = np.asarray(result.quantities.get("K1_tail", []), dtype=float)
    tail_tau = np.asarray(result.quantities.get("K1_tail_tau", []), dtype=float)
    k1, all_tau = np.concatenate([grid, tail]), np.concatenate([taus, tail_tau])
    limit = result.K1_inf
    rounding = float(result.quantities.get("K1_inf_rounding", 0.0))
    tol = max(rounding, K1_RTOL * abs(limit)) if np.isfinite(limit) else K1_RTOL * abs(k1.min())
    if np.isfinite(limit) and abs(k1[-1] - limit) <= tol and np.all(k1 >= limit - tol):
        return CurveMinimum("limit", float("inf"), limit, tol)
    i = int(np.argmin(k1))
    if i == k1.size - 1 or (np.isfinite(limit) and limit < k1[i] - tol):
        return CurveMinimum("beyond-grid", float(all_tau[i]), float(k1[i]), tol)
    where = "start" if i == 0 else "interior" if i < grid.size else "past-grid"
    return CurveMinimum(where, float(all_tau[i]), float(k1[i]), tol)


def k1_configs(base: MeasureConfig, scale: Scale, taus: Sequence[float] | None = None,
               **grid: Iterable) -> list[MeasureConfig]:
    """K1-only configurations over the product of ``grid`` and the seeds, on ``taus`` (default the scale's
    dense τ grid)."""
    keys = list(grid)
    combos: list[tuple] = [()]
    for k in keys:
        combos = [c + (v,) for c in combos for v in grid[k]]
    return [replace(base, taus=scale.taus if taus is None else tuple(taus), kl=("K1",), seed=s, **dict(zip(keys, c)))
            for c in combos for s in scale.seeds]


def around_minimum(result: Measurement, config: MeasureConfig, kl: tuple[str, ...] = ("K1", "K2")) -> MeasureConfig:
    """The configuration measuring ``kl`` at the K1-argmin grid τ and its two neighbours."""
    tau = result.taus
    i = int(np.argmin(result.K["K1"]))
    pick = tau[max(i - 1, 0): i + 2]
    return replace(config, taus=tuple(float(t) for t in pick), kl=kl)


def learned_densities(runner: Runner, config: MeasureConfig, taus: Sequence[float]) -> dict:
    """p0 and the reverse-SDE law q_θ^SDE (Fokker-Planck, as K2) at each τ, each on its own K2 cells."""

    def compute() -> dict:
        c = replace(config, taus=tuple(float(t) for t in taus), kl=("K1",))
        result = measure(c)
        target = make_target(c)
        out = {"tau": list(c.taus), "x": [], "q": []}
        for A in result.A:
            law = sde_law(target, rf_score(result.features, A), c.t0)
            out["x"].append((0.5 * (law.edges[1:] + law.edges[:-1])).tolist())
            out["q"].append(law.q.tolist())
        x0 = np.linspace(-c.mu - 6.0, c.mu + 6.0, 801)
        out["x0"] = x0.tolist()
        out["p0"] = target.pdf(c.t0, x0).tolist()
        return out

    return runner.cached({"kind": "densities", "numerics": NUMERICS_VERSION, **config.to_dict(), "taus": list(taus)},
                         compute)

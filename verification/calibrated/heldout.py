"""Calibrated bounds (docs/theory.md §8.3): the simplified Theorems 1-2 at measured points, the hidden
constants fitted on a calibration design, and the test on held-out draws that extrapolate.

A bound is Σ_j c_j T_j + KL(p_T‖π). The T_j are the simplified terms of ``bounds`` with unit
constants, evaluated at (n, m, τ, µ) and at the quantities the run measures (not fitted):
L̃(θ*) (``loss_star``), L̃(θ̄*) (estimated by the nested model with more features, ``loss_star_ref``),
and the optimisation term's norm ‖θ0 - θ̃‖² = ‖θ_ρ‖² (A(0) = 0) of the ridge comparator θ_ρ of Lemma 4
(``comparator_norm2``, docs/theory.md §3.2), so the 1/τ column is ‖θ_ρ‖²/τ, the form of Lemma 4. KL(p_T‖π) enters with constant exactly 1 (Lemma 2), so it is the offset.

Design and held-out draws are seeded independently:

- the calibration design is the grid n in ``DESIGN_N`` x m in ``DESIGN_M`` x three µ x
  ``DESIGN_REPLICATES``, each cell with its own seed from ``SeedSequence([theorem, n, m, i])``
  (< ``HELDOUT_SEED0``), so every cell has fresh features and fresh data; K1 on the dense grid ``DESIGN_TAUS``
  on [1, 1e9], K2 at three of those τ. n = 2 and τ up to 1e9 are there so that every term of the bounds
  dominates somewhere: the generalisation terms τ⁴/(mn), τ³/m² only where a tiny data set is trained long
  (:func:`verification.calibrated.bound_test.identified` reports whether the design identifies each);
- a held-out draw has n, m log-uniform integers on ``HELDOUT_NM`` = [2, 512] (4x above the design's
  largest n, m and below its smallest, within the hypotheses' n, m >= 1), three τ log-uniform on
  [1, 1e10] (beyond the design's τ; τ >= 1 is a hypothesis), µ uniform on the theorem's range (above
  √log(1/δ²) for Theorem 2), mixture weights uniform, and a seed >= ``HELDOUT_SEED0``; the draws form
  a Latin hypercube (:func:`heldout_design`).

A control (:mod:`verification.calibrated.controls`) is fitted and tested exactly like the paper's bound by the procedure
of :mod:`verification.calibrated.bound_test`; :func:`paper_shape`, :func:`control_shapes`, :func:`design_points` and
:func:`held_points` give it the shapes and the points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from empirical.measure import MeasureConfig, Measurement

from .calibration import Calibration, calibrate, load_constants, save_constants
from ..claims.registry import simplified

OFFSET_TERM = "prior"
HELDOUT_SEED0 = 10_000
CONSTANTS_FILE = {1: "theorem1_constants", 2: "theorem2_constants"}

DESIGN_N = (2, 8, 32, 128)
DESIGN_M = (8, 32, 128)
DESIGN_REPLICATES = 2
DESIGN_TAUS = tuple(float(t) for t in np.logspace(0, 9, 37))
DESIGN_K2_TAUS = (1.0, 1e4, 1e8)
MU_RANGE = {2: (2.6, 6.0), 1: (1.1, 2.5)}
"""µ of the held-out draws: Theorem 2 above √log(1/δ²) = 2.45 (δ = 0.05); Theorem 1's bump position > 1."""
DESIGN_MUS = {2: (2.5, 4.0, 6.0), 1: (1.1, 1.8, 2.5)}
HELDOUT_NM = (2, 512)
HELDOUT_TAU = (1.0, 1e10)
HELDOUT_TAUS_PER_DRAW = 3
TARGET = {1: "bump", 2: "gm"}


def term_names(theorem: int) -> tuple[str, ...]:
    """The simplified bound's terms with a fitted constant (all but KL(p_T‖π))."""
    return tuple(k for k in simplified(theorem).terms if k != OFFSET_TERM)


def points_of(result: Measurement) -> list[dict]:
    """One point per τ of a measurement: the variables, the seed and the measured inputs of the bound."""
    c, q = result.config, result.quantities
    return [{"n": c.n, "m": c.m, "tau": tau, "mu": c.mu, "seed": c.seed,
             "L_star": q["loss_star"], "L_bar": q["loss_star_ref"], "KL_T": q["kl_prior"],
             "norm2": q["comparator_norm2"]} for tau in c.taus]


def term_matrix(theorem: int, points: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(T, offset): the P x J unit-constant term values (``term_names`` order) and KL(p_T‖π)."""
    bound = simplified(theorem)
    values = {k: np.array([p[k] for p in points], dtype=float) for k in ("n", "m", "tau", "L_star", "L_bar", "KL_T")}
    if theorem == 2:
        values["mu"] = np.array([p["mu"] for p in points], dtype=float)
    terms = bound.evaluate_terms(check_hypotheses=False, **values)
    names = term_names(theorem)
    T = np.column_stack([np.broadcast_to(terms[k], (len(points),)) for k in names]).astype(float)
    T[:, names.index("opt")] *= np.array([p["norm2"] for p in points])
    return T, np.asarray(terms[OFFSET_TERM], dtype=float) * np.ones(len(points))


def variables(theorem: int, points: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Per-point arrays any bound is built from: n, m, tau, mu, norm2 (‖θ*‖²), the paper's unit-constant
    terms by name (``term_names``) and the offset KL(p_T‖π) under ``OFFSET_TERM``."""
    out = {k: np.array([p[k] for p in points], dtype=float) for k in ("n", "m", "tau", "mu", "norm2")}
    T, offset = term_matrix(theorem, points)
    out.update({k: T[:, j] for j, k in enumerate(term_names(theorem))})
    out[OFFSET_TERM] = offset
    return out


def point_variables(theorem: int, points: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """:func:`variables` plus the measured inputs by the names a user's bound may use (``L_star``, ``L_bar``,
    ``KL_T``, ``norm2``) and d (1: the theorems' targets are 1-D)."""
    v = variables(theorem, points)
    for k in ("L_star", "L_bar", "KL_T"):
        v[k] = np.array([p[k] for p in points], dtype=float)
    v["d"] = np.ones(len(points))
    return v


def design_points(theorem: int, calibration: Calibration):
    """The calibration design as :class:`verification.calibrated.bound_test.Points` (cells: seeds) from the constants file,
    which stores each point's measured value; None when it does not (a file older than that)."""
    from .bound_test import Points

    design = calibration.design
    if not design or any("measured" not in p for p in design):
        return None
    return Points(point_variables(theorem, design), np.array([p["measured"] for p in design], dtype=float),
                  np.array([p["seed"] for p in design]))


def held_points(theorem: int, results: Sequence[Measurement]):
    """The held-out draws as :class:`verification.calibrated.bound_test.Points` (cells: the draws' seeds), points with a
    truncated K2 law left out; and the number left out."""
    from .bound_test import Points

    points, y, dropped = measured_points(results)
    return Points(point_variables(theorem, points) if points else {k: np.zeros(0) for k in ("n", "m", "tau", "mu")},
                  y, np.array([p["seed"] for p in points])), dropped


def paper_shape(theorem: int):
    """The simplified Theorem 1 or 2 as a :class:`verification.calibrated.bound_test.Shape` (its unit-constant terms,
    KL(p_T‖π) with constant 1)."""
    from .bound_test import Shape, columns_of

    return Shape(f"Theorem {theorem}", columns_of(term_names(theorem)))


GENERALISATION = ("gen_mn", "gen_m2")
"""The generalisation terms of the simplified bounds (τ⁴/(mn), τ³/m², with Poly(µ) for Theorem 2)."""


def control_shapes(theorem: int) -> tuple[tuple[Any, bool], ...]:
    """The negative controls of ``theorem`` (:func:`verification.calibrated.controls.controls`) as (Shape, named) pairs."""
    from .bound_test import Shape
    from .controls import controls

    return tuple((Shape(c.shape, c.columns), c.named) for c in controls(theorem))


def no_generalisation_shape(theorem: int):
    """The paper's bound without its generalisation terms."""
    from .bound_test import Shape, columns_of

    return Shape(f"Theorem {theorem} without {', '.join(GENERALISATION)}",
                 columns_of([t for t in term_names(theorem) if t not in GENERALISATION]))


def measured_max(result: Measurement) -> np.ndarray:
    """max(K1, K2) at each τ (K2 where measured): the bound must dominate both."""
    k1 = result.K["K1"]
    return np.fmax(k1, result.K["K2"]) if "K2" in result.K else k1


def boundary_mass_max() -> float:
    """The largest mass K2's Fokker-Planck law may hold in its outer cells (``empirical.kl``; 1e-6 if absent)."""
    from empirical import kl

    return float(getattr(kl, "BOUNDARY_MASS_MAX", 1e-6))


def truncated(result: Measurement) -> np.ndarray:
    """Per τ: True where K2's Fokker-Planck law was truncated (boundary mass above :func:`boundary_mass_max`);
    such a point's K2 is not a measurement of the sampler, so it enters neither fit nor verdict."""
    masses = getattr(result, "boundary_mass", None) or {}
    mass = masses.get("K2") if isinstance(masses, Mapping) else None
    if mass is None:
        return np.zeros(len(result.config.taus), dtype=bool)
    return np.asarray(mass, dtype=float) > boundary_mass_max()


def measured_points(results: Sequence[Measurement]) -> tuple[list[dict], np.ndarray, int]:
    """(points, max(K1, K2), number of truncated points left out) over measurements."""
    points, y, dropped = [], [], 0
    for r in results:
        keep = ~truncated(r)
        dropped += int(np.sum(~keep))
        points.extend(p for p, k in zip(points_of(r), keep) if k)
        y.append(measured_max(r)[keep])
    return points, (np.concatenate(y) if y else np.zeros(0)), dropped


def design_seed(theorem: int, n: int, m: int, i: int, attempt: int = 0) -> int:
    """The seed (< ``HELDOUT_SEED0``) of design cell i at (n, m): ``SeedSequence([theorem, n, m, i])``
    (``attempt`` > 0 re-draws a seed already taken by another cell)."""
    key = [theorem, n, m, i] + ([attempt] if attempt else [])
    return int(np.random.SeedSequence(key).generate_state(1)[0] % HELDOUT_SEED0)


def calibration_design(theorem: int) -> list[MeasureConfig]:
    """The calibration design: n in ``DESIGN_N``, m in ``DESIGN_M``, µ in ``DESIGN_MUS``, ``DESIGN_REPLICATES``
    cells each, a fresh seed per cell; K1 on ``DESIGN_TAUS`` and, same seed, K2 at ``DESIGN_K2_TAUS``.

    Examples
    --------
    >>> from verification.calibrated.heldout import calibration_design
    >>> configs = calibration_design(2)
    >>> len(configs), len({c.seed for c in configs}), max(c.seed for c in configs) < 10_000
    (144, 72, True)
    """
    base = MeasureConfig(target=TARGET[theorem], taus=DESIGN_TAUS, kl=("K1",))
    taken: set[int] = set()
    configs = []
    for n in DESIGN_N:
        for m in DESIGN_M:
            for k, mu in enumerate(DESIGN_MUS[theorem]):
                for r in range(DESIGN_REPLICATES):
                    i, attempt = k * DESIGN_REPLICATES + r, 0
                    while (seed := design_seed(theorem, n, m, i, attempt)) in taken:
                        attempt += 1
                    taken.add(seed)
                    configs.append(replace(base, n=n, m=m, mu=mu, seed=seed))
                    configs.append(replace(base, n=n, m=m, mu=mu, seed=seed, taus=DESIGN_K2_TAUS, kl=("K1", "K2")))
    return configs


def heldout_design(theorem: int, count: int, seed: int = 0) -> list[MeasureConfig]:
    """``count`` held-out draws of (n, m, τ, µ, weights, seed), seeded by ``SeedSequence([theorem,
    HELDOUT_SEED0, seed])`` independently of the design.

    A Latin hypercube over the draws: log n, log m, µ and q1 each take one value in each of ``count``
    equal strata of their range (so n, m are log-uniform on ``HELDOUT_NM`` and the draws reach both ends
    of it), and each draw's three τ are log-uniform on the three equal thirds of log ``HELDOUT_TAU`` (so
    every draw has a τ near the start of training and τ is log-uniform on [1, 1e10] overall).

    Examples
    --------
    >>> from verification.calibrated.heldout import heldout_design
    >>> draws = heldout_design(2, 16)
    >>> all(2 <= c.n <= 512 and 2 <= c.m <= 512 and c.seed >= 10_000 for c in draws)
    True
    >>> all(1 <= t <= 1e10 for c in draws for t in c.taus), min(c.n for c in draws) <= 3, max(c.m for c in draws) >= 360
    (True, True, True)
    """
    if not (isinstance(count, (int, np.integer)) and count >= 0):
        raise ValueError(f"count must be an integer >= 0, got {count!r}")
    rng = np.random.default_rng(np.random.SeedSequence([theorem, HELDOUT_SEED0, seed]))

    def latin(lo: float, hi: float) -> np.ndarray:
        return lo + (rng.permutation(count) + rng.uniform(size=count)) / max(count, 1) * (hi - lo)

    log_n, log_m = (latin(*np.log(HELDOUT_NM)) for _ in range(2))
    mus, q1s = latin(*MU_RANGE[theorem]), latin(0.3, 0.7)
    t_lo, t_hi = (np.log10(v) for v in HELDOUT_TAU)
    k = HELDOUT_TAUS_PER_DRAW
    log_taus = t_lo + (np.arange(k) + rng.uniform(size=(count, k))) / k * (t_hi - t_lo)

    def integer(log_v: float) -> int:
        return int(np.clip(np.rint(np.exp(log_v)), *HELDOUT_NM))

    out: list[MeasureConfig] = []
    seeds: set[int] = set()
    for i in range(count):
        while (s := HELDOUT_SEED0 + int(rng.integers(0, 2**31 - HELDOUT_SEED0))) in seeds:
            pass
        seeds.add(s)
        out.append(MeasureConfig(target=TARGET[theorem], mu=float(mus[i]), weights=(float(q1s[i]), 1 - float(q1s[i])),
                                 n=integer(log_n[i]), m=integer(log_m[i]),
                                 taus=tuple(float(t) for t in 10.0 ** log_taus[i]), seed=s, kl=("K1", "K2")))
    return out


def fit(theorem: int, results: Sequence[Measurement], command: str) -> Calibration:
    """Fit the paper's constants on measured calibration results (linear program, ``calibration.calibrate``);
    points with a truncated K2 law are left out."""
    points, y, dropped = measured_points(results)
    T, offset = term_matrix(theorem, points)
    seeds = sorted({r.config.seed for r in results})
    # Each design point keeps its measured max(K1, K2): the report refits without one cell at a time (the size of
    # the held-out test, verification.rules.fitted).
    points = [{**p, "measured": float(v)} for p, v in zip(points, y)]
    return calibrate(T, offset, y, term_names(theorem), points, seeds, command,
                     notes=f"Theorem {theorem} simplified; measured = max(K1, K2); opt column = ||theta_rho||^2/tau (ridge comparator); "
                           f"KL(p_T||pi) with constant 1 as the offset; {dropped} points with a truncated K2 "
                           "law left out")


def design_summary(theorem: int) -> dict:
    """The calibration design in a few numbers (stored with the fitted controls)."""
    return {"n": list(DESIGN_N), "m": list(DESIGN_M), "mu": list(DESIGN_MUS[theorem]),
            "replicates": DESIGN_REPLICATES, "tau_K1": [DESIGN_TAUS[0], DESIGN_TAUS[-1], len(DESIGN_TAUS)],
            "tau_K2": list(DESIGN_K2_TAUS), "seeds": "SeedSequence([theorem, n, m, i]) % 10000 per cell"}


def save(theorem: int, calibration: Calibration) -> str:
    return str(save_constants(calibration, CONSTANTS_FILE[theorem]))


def load(theorem: int) -> Calibration:
    return load_constants(CONSTANTS_FILE[theorem])


def ranges(points: Sequence[Mapping[str, Any]]) -> dict[str, list[float]]:
    """[min, max] of n, m, τ and µ over points."""
    return {k: [float(min(p[k] for p in points)), float(max(p[k] for p in points))] if points else []
            for k in ("n", "m", "tau", "mu")}


def where(point: Mapping[str, Any], measured: float, bound: float) -> dict:
    """A held-out point as a failure report names it."""
    return {"n": int(point["n"]), "m": int(point["m"]), "tau": float(point["tau"]), "mu": float(point["mu"]),
            "seed": int(point["seed"]), "measured": float(measured), "bound": float(bound)}

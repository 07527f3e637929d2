"""Calibrated bounds (docs/theory.md §8.3): the simplified Theorems 1-2 at measured points, the hidden
constants fitted on a calibration design, and the check on held-out draws.

A bound is Σ_j c_j T_j + KL(p_T‖π). The T_j are the simplified terms of ``bounds`` with unit
constants, evaluated at (n, m, τ, µ) and at the quantities the run measures (not fitted):
L̃(θ*) (``loss_star``), L̃(θ̄*) (estimated by the nested model with more features, ``loss_star_ref``),
and the optimisation term's RKHS norm ‖θ0 - θ*‖² = ‖θ*‖² (A(0) = 0), so the 1/τ column is ‖θ*‖²/τ,
the form of Lemma 4. KL(p_T‖π) enters with constant exactly 1 (Lemma 2), so it is the offset.
The calibration design and the held-out draws are disjoint by construction: different seeds
(< 1000 against >= 10000) and different (n, m) sets (powers of two against non-powers of two);
the design spans the held-out ranges (n, m in [8, 512] against [12, 400]; the same µ ranges).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from empirical.measure import MeasureConfig, Measurement

from .calibration import Calibration, calibrate, load_constants, save_constants
from .claims import simplified

OFFSET_TERM = "prior"
CALIBRATION_SEEDS = (100, 101)
HELDOUT_SEED0 = 10_000
CONSTANTS_FILE = {1: "theorem1_constants", 2: "theorem2_constants"}


def term_names(theorem: int) -> tuple[str, ...]:
    """The simplified bound's terms with a fitted constant (all but KL(p_T‖π))."""
    return tuple(k for k in simplified(theorem).terms if k != OFFSET_TERM)


def points_of(result: Measurement) -> list[dict]:
    """One point per τ of a measurement: the variables and measured inputs of the bound."""
    c, q = result.config, result.quantities
    return [{"n": c.n, "m": c.m, "tau": tau, "mu": c.mu,
             "L_star": q["loss_star"], "L_bar": q["loss_star_ref"], "KL_T": q["kl_prior"],
             "norm2": q["theta_star_norm2"]} for tau in c.taus]


def term_matrix(theorem: int, points: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
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


def measured_max(result: Measurement) -> np.ndarray:
    """max(K1, K2) at each τ (K2 where measured): the bound must dominate both."""
    k1 = result.K["K1"]
    return np.fmax(k1, result.K["K2"]) if "K2" in result.K else k1


def calibration_design(theorem: int) -> list[MeasureConfig]:
    """The calibration design: n, m powers of two spanning the held-out ranges, seeds in
    ``CALIBRATION_SEEDS``; K1 on a dense τ grid and K2 at three τ (K2 <= K1 is checked everywhere
    else, so K2 adds a check of Lemma 2 here, not a binding constraint)."""
    base = MeasureConfig(target="gm" if theorem == 2 else "bump", taus=tuple(float(t) for t in np.logspace(0, 10, 21)),
                         kl=("K1",))
    mus = (2.5, 4.0, 6.0) if theorem == 2 else (1.1, 1.8, 2.5)
    configs = []
    for n in (8, 32, 128, 512):
        for m in (8, 32, 128, 512):
            for i, mu in enumerate(mus):
                seed = CALIBRATION_SEEDS[(n + m + i) % len(CALIBRATION_SEEDS)]
                configs.append(replace(base, n=n, m=m, mu=mu, seed=seed))
                configs.append(replace(base, n=n, m=m, mu=mu, seed=seed, taus=(1.0, 1e5, 1e10), kl=("K1", "K2")))
    return configs


def heldout_design(theorem: int, count: int, seed: int = 0) -> list[MeasureConfig]:
    """Held-out draws of (n, m, τ, µ, weights, seed), disjoint from the calibration design."""
    rng = np.random.default_rng([theorem, seed])

    def not_power_of_two(lo: int, hi: int) -> int:
        while True:
            v = int(rng.integers(lo, hi + 1))
            if v & (v - 1):
                return v

    out = []
    for i in range(count):
        q1 = float(rng.uniform(0.3, 0.7))
        mu = float(rng.uniform(2.6, 6.0)) if theorem == 2 else float(rng.uniform(1.1, 2.5))
        taus = tuple(sorted(float(t) for t in 10 ** rng.uniform(0, 10, size=3)))
        out.append(MeasureConfig(target="gm" if theorem == 2 else "bump", mu=mu, weights=(q1, 1 - q1),
                                 n=not_power_of_two(12, 400), m=not_power_of_two(12, 400), taus=taus,
                                 seed=HELDOUT_SEED0 + i, kl=("K1", "K2")))
    return out


def fit(theorem: int, results: Sequence[Measurement], command: str) -> Calibration:
    """Fit the constants on measured calibration results (linear program, ``calibration.calibrate``)."""
    points = [p for r in results for p in points_of(r)]
    T, offset = term_matrix(theorem, points)
    y = np.concatenate([measured_max(r) for r in results])
    seeds = sorted({r.config.seed for r in results})
    return calibrate(T, offset, y, term_names(theorem), points, seeds, command,
                     notes=f"Theorem {theorem} simplified; measured = max(K1, K2); opt column = ||theta*||^2/tau; "
                           f"KL(p_T||pi) with constant 1 as the offset")


def save(theorem: int, calibration: Calibration) -> str:
    return str(save_constants(calibration, CONSTANTS_FILE[theorem]))


def load(theorem: int) -> Calibration:
    return load_constants(CONSTANTS_FILE[theorem])


def heldout_check(calibration: Calibration, theorem: int, result: Measurement) -> dict:
    """Bound, tightness ratio bound/max(K1, K2), and domination at each τ of a held-out result."""
    T, offset = term_matrix(theorem, points_of(result))
    y = measured_max(result)
    check = calibration.check_held_out(T, offset, y)
    return {"bound": check.bound.tolist(), "measured": y.tolist(), "ratio": check.ratio.tolist(),
            "dominated": bool(check.all_dominated)}

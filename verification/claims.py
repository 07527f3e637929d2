"""Every claim of the paper that the report checks, as data: its statement and source, the prediction
asked of :mod:`bounds`, the statistic, and the outcome that would contradict the paper.

No number of a prediction is typed in here: rate exponents come from :func:`bounds.rates` (dominant
balance, exact rationals), the degree of Poly(µ) from :func:`bounds.theorem2`, and directions ("falls
with m", "grows with τ") from the signs of the exponents of the bounds' monomials
(:func:`bounds.rates.monomials`). The report's sections (:mod:`verification.sections`) measure each
claim and build its :class:`~verification.verdicts.Check` with the rule below (docs/theory.md §8).

Examples
--------
>>> from verification.claims import CLAIMS
>>> CLAIMS["rate-n-K1"].predicted  # corollary (16): the early-stopped bound decays as n^(-2/5)
-0.4
>>> CLAIMS["modes-shift-tau"].predicted  # Theorem 2: tau_es ~ (mn/Poly(mu))^(1/5)
'decreasing'
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from bounds import Bound, Rates, rates, theorem1, theorem2
from bounds import symbols as S
from bounds.rates import monomials


@functools.cache
def simplified(theorem: int) -> Bound:
    """The simplified bound of Theorem 1 or 2 (Theorem 2 with its default Poly(µ) = µ^k)."""
    if theorem == 1:
        return theorem1("simplified")
    if theorem == 2:
        return theorem2(form="simplified")
    raise ValueError(f"theorem must be 1 or 2, got {theorem!r}")


@functools.cache
def rates_m_equals_n(theorem: int) -> Rates:
    """Exponents of n in τ_es and in the early-stopped bound along m = n (corollary (16))."""
    return rates(simplified(theorem), m_exponent=1)


def term_exponent(bound: Bound, term: str, variable: sp.Symbol) -> sp.Expr:
    """The exponent of ``variable`` in the monomials of ``term`` (ValueError unless it is unique)."""
    field = {S.n: "n_exp", S.m: "m_exp", S.tau: "tau_exp", S.mu: "mu_exp"}[variable]
    found = {getattr(p, field) for p in monomials(bound) if p.term == term}
    if len(found) != 1:
        raise ValueError(f"term {term!r} of {bound.name} has exponents {sorted(found, key=str)} of {variable}")
    return found.pop()


def poly_degree() -> int:
    """The degree k of Poly(µ) = µ^k in the simplified Theorem 2 (its exponent of µ in τ⁴/(mn))."""
    return int(term_exponent(simplified(2), "gen_mn", S.mu))


def direction(exponent: sp.Expr) -> str:
    """'increasing' for a positive exponent, 'decreasing' for a negative one."""
    if exponent == 0:
        raise ValueError("a zero exponent predicts no direction")
    return "increasing" if exponent > 0 else "decreasing"


def _falls_with_m() -> str:
    # Every term of Theorem 2 is non-increasing in m at fixed n and τ, so is its minimum over τ.
    exps = [p.m_exp for p in monomials(simplified(2))]
    if not (all(e <= 0 for e in exps) and any(e < 0 for e in exps)):
        raise ValueError(f"Theorem 2's terms are not all non-increasing in m: exponents {exps}")
    return "decreasing"


def _generalisation_grows_in_tau() -> str:
    return direction(min(term_exponent(simplified(2), t, S.tau) for t in ("gen_mn", "gen_m2")))


def _gap_rate_in_n() -> float:
    # The slowest n-decay of the unsimplified generalisation term (end of Appendix A); its n-dependence
    # is the Rademacher step's ℓ = √(log(d+1)/n) + √(log(1/δ)/n).
    exps = [p.n_exp for p in monomials(theorem1("full")) if p.term == "generalization" and p.n_exp < 0]
    return float(max(exps))


@dataclass(frozen=True)
class Claim:
    """A claim of the paper as the report checks it.

    Attributes
    ----------
    id : str
        The check's name in report.md and results.json.
    statement : str
        The claim, with ``{placeholders}`` the measuring section fills (sizes of its design).
    source : str
        Where the paper makes it (equation, lemma, theorem or figure of arXiv:2311.01797).
    section : str
        The module of :mod:`verification.sections` that measures it.
    statistic : str
        What is computed from the measurements.
    contradiction : str
        The outcome that would contradict the paper (verdict ``against``), or show the mechanism absent.
    predict : callable
        Asks :mod:`bounds` for the prediction (see :attr:`predicted`).
    against : str
        The verdict of a contradicting outcome: "violated" for a statement of the paper (an inequality, a
        rate, a direction it states), "mechanism-not-observed" for behaviour the bound is meant to explain
        but does not imply (a rise after early stopping, where the minimiser of a bound sits).
    """

    id: str
    statement: str
    source: str
    section: str
    statistic: str
    contradiction: str
    predict: Callable[[], Any]
    against: str = "violated"

    def __post_init__(self) -> None:
        if self.against not in ("violated", "mechanism-not-observed"):
            raise ValueError(f"claim {self.id!r}: against must be 'violated' or 'mechanism-not-observed'")

    @property
    def predicted(self) -> Any:
        """The prediction: an exponent (float), a direction, or a bool."""
        return self.predict()

    def text(self, **sizes: Any) -> str:
        """The statement with the section's sizes filled in; ``{exponent}`` is the prediction as a fraction."""
        if "{exponent}" in self.statement:
            sizes = {"exponent": fraction(self.predicted), **sizes}
        return self.statement.format(**sizes)


def fraction(x: float) -> str:
    """A predicted exponent as the fraction it came from, e.g. -0.4 -> "-2/5"."""
    return str(sp.Rational(x).limit_denominator(1000))


_RATE = ("least-squares slope in log-log per seed; the exponent is their mean with a 95% Student t interval "
         "over seeds")
_RATE_FAIL = "the CI lies wholly above the predicted exponent (slower decay than the bound allows)"
_TREND = "Kendall's tau of the seed summary against the swept variable, two-sided p-value"
_RISE = ("relative rise (KL(tau_max) - min_tau KL) / min_tau KL per seed: whether each seed's curve falls to an "
         "interior minimum and rises above the measurement's accuracy; the mean rise with a 95% t interval over seeds")
_RISE_FAIL = "some seed's curve plateaus (no rise beyond the measurement's accuracy) or ends at its minimum"
_FITTED = ("smallest constants dominating the design (linear program), then the largest ratio "
           "measured/bound on held-out points beyond the design; the same for negative controls (power)")
_FITTED_FAIL = "a held-out point above the calibrated bound (violated); controls not rejected (inconclusive)"


_GROWTH = ("per seed, least squares of log y on log d (polynomial) and on d (exponential) over d >= 2; "
           "dAIC = AIC_exp - AIC_poly; the polynomial exponent with a 95% t interval over seeds; power: an "
           "exponential control with each seed's end points and residuals, judged the same way")
_GROWTH_FAIL = ("dAIC < -2 (exponential preferred) in most seeds of either sweep (violated); polynomial not preferred "
                "in every seed, or the control not called exponential (inconclusive)")
_PAIRED = ("per seed, farthest minus nearest pair (same seed: same features, subsets and split draws); the mean "
           "difference with a 95% t interval over seeds")
FLOW_RTOL = 0.1
"""Discrete training and the exact flow give "the same K2 curve" when they differ by at most this fraction
(claim paper-discrete-vs-flow). Chosen by the team, not derived; its power is shown by the negative controls,
the flow at 0.5 x τ and 2 x τ, which must exceed it (otherwise the verdict is inconclusive)."""

DIMENSION_RATE_DS = (8, 32)
"""The dimensions at which the n-rate and the capacity trend are repeated (issue 9)."""


def _r2() -> Rates:
    return rates_m_equals_n(2)


def _r1() -> Rates:
    return rates_m_equals_n(1)


def _lemma4_constant() -> dict:
    return {"ratio_at_most": 1.0, "sharp_ratio_at_most": float(1 / (2 * sp.E))}


_CLAIMS = (
    Claim("lemmas-4-5-exact", "Lemmas 4 and 5 hold exactly on every computed flow (Lemma 4 also in its sharp "
          "quadratic form, ratio <= 1/(2e); Lemma 5 in the proof's form)", "Lemmas 4, 5", "exact",
          "worst ratio lhs/rhs over every flow of the report", "any ratio above 1 (beyond rounding): a bug",
          lambda: {"worst_ratio_at_most": 1.0}),
    Claim("K2<=K1-lemma2", "the sampler KL never exceeds the score bound (Lemma 2)", "Lemma 2", "exact",
          "max K2/K1 over every point where both are measured and the sampler's law is not truncated (random-feature flows in d = 1, 2 and every checkpoint of the trained networks)",
          "K2 > K1 anywhere: a bug", lambda: {"max_K2_over_K1_at_most": 1.0}),
    Claim("early-stopping-K1", "K1 first falls, then rises in tau (Fig. 3) at every n of the rate design along "
          "m = n, n = {ns}", "Fig. 3; Theorems 1-2", "n_rate", _RISE, _RISE_FAIL,
          lambda: {"interior_minimum": _r2().balance is not None}, "mechanism-not-observed"),
    Claim("early-stopping-K2", "the sampler KL K2 first falls, then rises in tau (Fig. 3) at n = {n}, m = {m}",
          "Fig. 3; Theorems 1-2", "tau_curves", _RISE, _RISE_FAIL,
          lambda: {"interior_minimum": _r2().balance is not None}, "mechanism-not-observed"),
    *(Claim(f"rate-n-{k}", "early-stopped " + k + " decays in n at least as fast as n^({exponent}) along m = n "
            "(corollary (16), oracle tau)", "Corollary (16); Theorem 2", "n_rate", _RATE, _RATE_FAIL,
            lambda: float(_r2().bound_exponent)) for k in ("K1", "K2")),
    Claim("tau-es-vs-n", "the measured optimal training time grows like the bound's prescription "
          "tau_es ~ n^({exponent}) along m = n (corollary (16) prescribes it; it does not predict the optimum)",
          "Corollary (16); Bonnaire et al. 2025 (tau_mem ~ n)", "n_rate",
          "slope of log tau_es in log n per seed (curves with an interior minimum only), 95% t interval",
          "the interval excludes 2/5: the bound's balance point is not where the optimum sits (an interval "
          "holding both 2/5 and 1, tau_mem ~ n, is inconclusive)",
          lambda: float(_r2().tau_es_exponent), "mechanism-not-observed"),
    Claim("corollary16-prescribed", "K1 at the prescribed tau = c n^(2/5) along m = n decays at least as "
          "n^({exponent}) for some constant c (corollary (16) as stated), two-mode target", "Corollary (16)",
          "corollary", "per c: " + _RATE + "; combined: the best verdict over c, violated only if every c is slow",
          "the CI lies wholly above the exponent for every c swept", lambda: float(_r2().bound_exponent)),
    Claim("corollary16-prescribed-theorem1", "K1 at the prescribed tau = c n^(2/5) along m = n decays at least "
          "as n^({exponent}) for some c (corollary (16)), compact-support target", "Corollary (16); Theorem 1",
          "corollary", "per c: " + _RATE + "; combined as corollary16-prescribed",
          "the CI lies wholly above the exponent for every c swept", lambda: float(_r1().bound_exponent)),
    Claim("capacity-m", "early-stopped K1 falls with m at n = {n} (Fig. 11)", "Fig. 11; Theorems 1-2", "capacity",
          _TREND, "a significant increasing trend (violated); no significant trend (inconclusive)", _falls_with_m),
    Claim("I3-vs-m", "the random-feature error I3 decays at least as 1/m (Lemmas 6/8)", "Lemmas 6, 8", "capacity",
          _RATE, _RATE_FAIL, lambda: float(term_exponent(simplified(2), "rf", S.m))),
    Claim("modes-shift-KL", "early-stopped K1 increases with mu (Theorem 2, Figs. 4-5)", "Theorem 2; Figs. 4-5",
          "modes_shift", _TREND, "a significant decreasing trend (violated); none significant (inconclusive)",
          lambda: direction(_r2().bound_mu_exponent)),
    Claim("modes-shift-tau", "the measured tau_es decreases with mu like the bound's minimiser (mn/Poly(mu))^(1/5) "
          "(a reconstruction from the bound, not the paper's text)", "Theorem 2 (reconstruction)",
          "modes_shift", "Kendall's tau of the geometric mean of tau_es over seeds against mu",
          "a significant increasing trend: the minimiser of the bound does not locate the optimum",
          lambda: direction(_r2().tau_es_mu_exponent), "mechanism-not-observed"),
    Claim("modes-shift-power", "early-stopped KL grows no faster than mu^(k/5) = mu^{predicted} "
          "(Poly(mu) = mu^{k} reconstruction, bound at tau_es)", "Theorem 2", "modes_shift", _RATE,
          "the CI lies wholly above k/5", lambda: float(_r2().bound_mu_exponent)),
    Claim("gap-grows-tau", "the generalisation gap I1 grows in tau like the bound's generalisation terms "
          "(tau^3 to tau^{exponent}) at each n (proof of Theorem 1)", "Theorem 1 (proof); eq. (15)", "gap",
          "local log-log slope of I1 in tau per seed over the last {window} decades of the grid where I1 > 0, "
          "95% t interval, at each n",
          "an interval wholly above 4 at some n (violated); wholly below 3 at every n: I1 saturates "
          "(mechanism not observed)", lambda: float(term_exponent(simplified(2), "gen_mn", S.tau)),
          "mechanism-not-observed"),
    Claim("gap-shrinks-n", "I1 at tau = {tau} shrinks in n no slower than n^({exponent}) (the Rademacher step)",
          "Theorem 1 (proof, end of Appendix A)", "gap", _RATE, _RATE_FAIL, _gap_rate_in_n),
    Claim("theorem1-rate-n", "compact-support target: early-stopped K1 decays at least as n^({exponent}) along "
          "m = n (Theorem 1, (16))", "Theorem 1; Corollary (16)", "theorem1", _RATE, _RATE_FAIL,
          lambda: float(_r1().bound_exponent)),
    Claim("theorem1-early-stopping", "compact-support target: K1 first falls, then rises in tau at n = {n}, "
          "m = {m}", "Theorem 1", "theorem1", _RISE, _RISE_FAIL,
          lambda: {"interior_minimum": _r1().balance is not None}, "mechanism-not-observed"),
    Claim("ledger-I1", "the generalisation gap I1 of (15) stays under the generalisation terms "
          "c1 tau^4/(mn) + c2 tau^3/m^2 (Poly(mu) for the mixture) of the proof", "Theorem 1 (proof); eq. (15)",
          "ledger", _FITTED, _FITTED_FAIL, lambda: {"all_dominated": True}),
    Claim("ledger-I2", "the optimisation error I2 of (15) is at most ||theta0 - theta*||^2/(2 tau) (Lemma 4, no "
          "hidden constant) on every flow", "Lemma 4; eq. (15)", "ledger",
          "max of I2 / (||theta*||^2/(2 tau)) over every flow and tau of the report", "a ratio above 1",
          _lemma4_constant),
    Claim("ledger-I3", "the random-feature error I3 of (15) stays under c mu^2/m (Lemma 8)", "Lemmas 6, 8; eq. (15)",
          "ledger", _FITTED, _FITTED_FAIL, lambda: {"all_dominated": True}),
    Claim("lemma5-as-stated", "||theta(tau)|| <~ ||theta0|| + sqrt(tau/m) with one constant for every m "
          "(Lemma 5 as printed), tau the time of the flows (9)-(10)", "Lemma 5", "ledger",
          "max over tau >= 1 of ||theta(tau)|| / sqrt(tau/m) per flow; its exponent in m, 95% t interval over seeds",
          "the exponent's interval lies wholly above 0: no constant independent of m exists",
          lambda: 0.0),
    *(Claim(f"calibrated-bound-theorem{t}", f"K2 <= K1 <= calibrated Theorem {t} bound on held-out draws beyond "
            "the calibration design", f"Theorem {t}", "calibrated", _FITTED, _FITTED_FAIL,
            lambda: {"all_dominated": True}) for t in (2, 1)),

    Claim("dimension-poly-vs-exp", "the early-stopped K1 minus KL(p_T||pi) grows polynomially, not exponentially, in "
          "the dimension d = {ds} (abstract; the full bound's d-dependence), at fixed m = {m} and with m = {per_d} d",
          "Abstract; Theorem 1 (full form)", "dimension", _GROWTH, _GROWTH_FAIL, lambda: "polynomial in d"),
    Claim("dimension-poly-vs-exp-I1", "the generalisation gap I1 at the early-stopping time grows polynomially, not "
          "exponentially, in d = {ds} (fixed m = {m} and m = {per_d} d)", "Abstract; eq. (15)", "dimension",
          _GROWTH, _GROWTH_FAIL, lambda: "polynomial in d"),
    *(Claim(f"rate-n-K1-d{d}", "early-stopped K1 decays in n at least as fast as n^({exponent}) along m = n in "
            f"d = {d} (corollary (16), oracle tau)", "Corollary (16); Theorem 2", "dimension_rates", _RATE, _RATE_FAIL,
            lambda: float(_r2().bound_exponent)) for d in DIMENSION_RATE_DS),
    *(Claim(f"capacity-m-d{d}", "early-stopped K1 falls with m at n = {n} in d = " + str(d) + " (Fig. 11)",
            "Fig. 11; Theorems 1-2", "dimension_rates", _TREND,
            "a significant increasing trend (violated); no significant trend (inconclusive)", _falls_with_m)
      for d in DIMENSION_RATE_DS),
    Claim("modes-shift-KL-d", "early-stopped K1 increases with mu in d = {d} (modes along e1; Theorem 2, Figs. 4-5)",
          "Theorem 2; Figs. 4-5", "dimension_rates", _TREND,
          "a significant decreasing trend (violated); none significant (inconclusive)",
          lambda: direction(_r2().bound_mu_exponent)),
    Claim("modes-direction-invariance", "in d = {d} the early-stopped K1 is the same with the modes along e1 or along "
          "a random direction: the random features' orientation does not decide the outcome (a property of the "
          "setup the d-dimensional checks rely on)", "docs/theory.md §8.7", "dimension_rates",
          "per seed, log K1_es(random direction) - log K1_es(e1); 95% t interval of the mean over seeds",
          "the interval lies outside +-log(1.25) (mechanism-not-observed); it straddles that margin (inconclusive)",
          lambda: {"log_ratio_within": 0.2231}, "mechanism-not-observed"),
    Claim("mnist-train-loss", "the farthest pair of MNIST clusters has the higher training loss throughout "
          "training (Fig. 6), random-feature route, K = {K}, d = {d}", "Fig. 6", "mnist", _PAIRED,
          "at some trained tau the interval lies wholly below 0 (violated); never wholly above at every trained "
          "tau (inconclusive)", lambda: "farthest > nearest"),
    Claim("mnist-test-nll", "the farthest pair has the higher held-out NLL (Figs. 6-7: worse samples, higher test "
          "NLL), K = {K}, d = {d}", "Figs. 6-7", "mnist", _PAIRED + " at the last tau",
          "the interval lies wholly below 0 (violated); it contains 0 (inconclusive)", lambda: "farthest > nearest"),
    Claim("mnist-gap", "the farthest pair has the larger generalisation gap (held-out minus training NLL), "
          "K = {K}, d = {d} (beyond the paper: it measured no gap)", "Figs. 6-7; Remark 7", "mnist",
          _PAIRED + " at the last tau", "the interval lies wholly below 0 (mechanism-not-observed); it contains 0 "
          "(inconclusive)", lambda: "farthest > nearest", "mechanism-not-observed"),
    Claim("mnist-gap-vs-distance", "across pairs of clusters ranked by centre distance, the generalisation gap grows "
          "with the distance (modes shift on real data; beyond the paper), K = {K}, d = {d}", "Remark 7; Figs. 6-7",
          "mnist", "Kendall's tau of the gap at the last tau against the centre distance over the sampled pairs "
          "(seed 0), two-sided p-value; the same against distance / spread", "a significant decreasing trend "
          "(mechanism-not-observed); none significant (inconclusive)", lambda: "increasing", "mechanism-not-observed"),
    *(Claim(cid, f"the sampler KL K2 of the authors' Swish network (width {{width}}, n = {{n}}, mu = {{mu}}, {{sde}} SDE) "
            f"trained by {opt} lr {{lr}} has an interior minimum in epochs followed by a rise larger than the "
            f"checkpoint-to-checkpoint noise, over {{epochs}} epochs and {{seeds}} seeds (Fig. {fig})",
            f"Fig. {fig}", "paper_experiments",
            "per seed: the argmin of K2 over checkpoints, interior (neither the first nor the last); the rise = mean "
            "K2 after the minimum minus the minimum; noise = median absolute change between neighbouring checkpoints; a "
            "seed passes when interior and rise > 2 x noise; rise/noise with a 95% t interval over seeds",
            "fewer than half the seeds pass (mechanism-not-observed); every seed passes (consistent); otherwise "
            "inconclusive", lambda: {"interior_minimum_and_rise": True}, "mechanism-not-observed")
      for cid, opt, fig in (("paper-fig3-sgd-minimum", "SGD", 3), ("paper-fig8-adam-minimum", "Adam", 8))),
    Claim("paper-modes-shift-best-epoch", "modes farther apart are learned worse: the best K2 over epochs at "
          "mu = {mu_far} exceeds that at mu = {mu} for both SGD and Adam (width {width}, n = {n}, {seeds} seeds; "
          "Figs. 4-5, 9-10)", "Figs. 4-5, 9-10", "paper_experiments",
          "per optimiser and seed (the same seed at both mu): log min_epoch K2(mu_far) - log min_epoch K2(mu), "
          "95% t interval over seeds; the best epochs and the mass on each mode at them reported beside",
          "an interval wholly below 0 for some optimiser (violated); consistent if wholly above 0 for both; "
          "otherwise inconclusive", lambda: "mu_far worse"),
    Claim("paper-modes-best-epoch-earlier", "the farther modes are at their best earlier: the epoch of the least "
          "K2 at mu = {mu_far} comes before that at mu = {mu} (the paper: about 100 against about 1000), for SGD "
          "and Adam (width {width}, n = {n}, {seeds} seeds; Figs. 4-5, 9-10)", "Figs. 4-5, 9-10",
          "paper_experiments", "per optimiser and seed (the same seed at both mu): best epoch at mu_far minus best "
          "epoch at mu, 95% t interval over seeds",
          "an interval wholly above 0 for some optimiser (violated); consistent if wholly below 0 for both; "
          "otherwise inconclusive", lambda: "mu_far best earlier"),
    Claim("paper-modes-collapse", "late in training (epoch {late}) the sampler at mu = {mu_far} has collapsed to "
          "one mode, for SGD and Adam (width {width}, n = {n}, {seeds} seeds; Figs. 5, 10)", "Figs. 5, 10",
          "paper_experiments", "per seed: the imbalance |mass of the reverse-SDE law on x > 0 - 1/2| at the epoch "
          "(exact, Fokker-Planck); a seed has collapsed when it exceeds 0.4 (90% of the mass on one side, a "
          "necessary condition for one mode)",
          "fewer than half the seeds collapse for each optimiser (mechanism-not-observed); every seed of both "
          "collapses (consistent); otherwise inconclusive", lambda: "one mode", "mechanism-not-observed"),
    Claim("paper-fig11-width", "K2 at epoch {epoch} falls with the width of the Swish network, widths {widths} "
          "(SGD, {seeds} seeds; the first epoch with K2 <= {target} reported per width, cap {cap} epochs; Fig. 11)",
          "Fig. 11", "paper_experiments", "Kendall's tau of the seed-mean K2 at the epoch against log2 width "
          "(diverged runs left out and counted), two-sided p-value",
          "a significant increasing trend (violated); none significant (inconclusive)", lambda: "decreasing"),
    Claim("paper-metric-agreement", "the authors' 51-point grid metric orders the checkpoints as the sampler's KL "
          "K2 does (the figures' curves rely on it), Swish width {width}, mu = {mu}, SGD and Adam runs",
          "Figs. 3, 8, 11 (their metric)", "paper_experiments",
          "Spearman's rho between the grid metric and K2 over each run's checkpoints after epoch 0; the mean rho "
          "over runs with a 95% t interval",
          "rule: consistent if the interval lies wholly above 0; mechanism-not-observed if wholly below 0; "
          "inconclusive if it contains 0", lambda: "rho > 0", "mechanism-not-observed"),
    Claim("paper-discrete-vs-flow", "minibatch DSM SGD on the random-feature model (12) (m = {m}, lr {lr}, batch "
          "32) follows the exact gradient flow at tau = lr x steps: the same K2 curve within {rtol} relative, "
          "{seeds} seeds (the flows (9)-(10) describe the trained model)", "flows (9)-(10); docs/theory.md §3.1",
          "paper_experiments", "max over checkpoints and seeds of abs(K2(SGD) - K2(flow)) / K2(flow) at the same tau; "
          "the same statistic for the flow at 0.5 x tau and 2 x tau (negative controls: a time unit wrong by a "
          "factor 2); full-batch gradient descent on the exact empirical loss reported beside",
          "a relative difference above the tolerance at some checkpoint (violated); a control within the "
          "tolerance (inconclusive: the check cannot tell the time unit)",
          lambda: {"max_rel_K2_diff_at_most": FLOW_RTOL}),)

_REPORT_ORDER = ("lemmas-4-5-exact", "K2<=K1-lemma2", "early-stopping-K2", "early-stopping-K1", "rate-n-K1",
                 "rate-n-K2", "tau-es-vs-n", "corollary16-prescribed", "corollary16-prescribed-theorem1", "capacity-m",
                 "I3-vs-m", "modes-shift-KL", "modes-shift-tau", "modes-shift-power", "gap-grows-tau", "gap-shrinks-n",
                 "theorem1-rate-n", "theorem1-early-stopping", "calibrated-bound-theorem2",
                 "calibrated-bound-theorem1", "ledger-I1", "ledger-I2", "ledger-I3", "lemma5-as-stated",
                 "dimension-poly-vs-exp", "dimension-poly-vs-exp-I1",
                 *(c for d in DIMENSION_RATE_DS for c in (f"rate-n-K1-d{d}", f"capacity-m-d{d}")),
                 "modes-shift-KL-d", "modes-direction-invariance", "mnist-train-loss", "mnist-test-nll", "mnist-gap",
                 "mnist-gap-vs-distance", "paper-fig3-sgd-minimum", "paper-fig8-adam-minimum",
                 "paper-modes-shift-best-epoch", "paper-modes-best-epoch-earlier", "paper-modes-collapse",
                 "paper-fig11-width", "paper-metric-agreement", "paper-discrete-vs-flow")
CLAIMS: dict[str, Claim] = {i: next(c for c in _CLAIMS if c.id == i) for i in _REPORT_ORDER}
"""Every claim, by id, in the order of the report."""

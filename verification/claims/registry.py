"""Every claim the report checks, as a table of the paper: one keyword row per claim (the later theories' rows,
docs/theory.md §11, in :mod:`verification.claims.later`; what a row is, :class:`verification.claims.claim.Claim`).

A row says what is claimed and where (``source``), the rule that judges it (:mod:`verification.rules`, with
its prediction asked of :mod:`bounds` and the stated wrong alternative its power is measured against),
whether a contrary outcome contradicts a *statement* of the paper (verdict ``violated``) or only a
*mechanism* the paper explains (``mechanism-not-observed``), and the report section that measures it. The
section hands the rule its data (:meth:`verification.sections.base.Context.judge`); the rule makes the check.

No number of a prediction is typed in here: rate exponents come from :func:`bounds.rates` (dominant balance,
exact rationals), the degree of Poly(µ) from :func:`bounds.theorem2`, and the alternatives of the trend rules
from the same exponents. The effect sizes of the other alternatives are stated in their rows.

Examples
--------
>>> from verification.claims import CLAIMS
>>> CLAIMS["rate-n-K1"].predicted  # corollary (16): the early-stopped bound decays as n^(-2/5)
-0.4
>>> CLAIMS["modes-shift-tau"].predicted  # Theorem 2: tau_es ~ (mn/Poly(mu))^(1/5)
{'decreasing': True}
>>> CLAIMS["capacity-m"].against  # an upper bound falling in m does not imply that the KL does
'mechanism-not-observed'
"""

from __future__ import annotations

import math

import sympy as sp

from bounds import Bound, Rates, theorem1
from bounds import symbols as S
from bounds.rates import monomials

from .claim import CONTRADICTS, Claim, fraction, rates_m_equals_n, simplified
from .later import LATER_ROWS
from ..rules import (Combined, Equivalence, Exact, ExactRise, Fitted, Growth, OneMode, Rate, Separation, Sign, Tolerance,
                    Trend, WindowRise)


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


def _r2() -> Rates:
    return rates_m_equals_n(2)


def _r1() -> Rates:
    return rates_m_equals_n(1)


def _m_exponent_at_tau_es() -> float:
    """The exponent of m in Theorem 2's bound at its balance point τ⁴/(mn) ~ ‖θ*‖²/τ at fixed n: (mn)^(-1/5)."""
    b = simplified(2)
    tau_in_m = -term_exponent(b, "gen_mn", S.m) / (term_exponent(b, "gen_mn", S.tau) - term_exponent(b, "opt", S.tau))
    return float(term_exponent(b, "opt", S.tau) * tau_in_m)


def _falls_with_m() -> bool:
    """Every term of Theorem 2 is non-increasing in m at fixed n and τ, so is its minimum over τ."""
    exps = [p.m_exp for p in monomials(simplified(2))]
    if not (all(e <= 0 for e in exps) and any(e < 0 for e in exps)):
        raise ValueError(f"Theorem 2's terms are not all non-increasing in m: exponents {exps}")
    return True


def _gap_rate_in_n() -> float:
    """The slowest n-decay of the unsimplified generalisation term (the Rademacher step's ℓ ~ n^(-1/2))."""
    exps = [p.n_exp for p in monomials(theorem1("full")) if p.term == "generalization" and p.n_exp < 0]
    return float(max(exps))


FLOW_RTOL = 0.1
"""Discrete training and the exact flow give "the same K2 curve" when they differ by at most this fraction
(claim paper-discrete-vs-flow). Chosen by the team, not derived; the power is measured against the flow at
0.5 x τ (a time unit wrong by a factor 2)."""

DIMENSION_RATE_DS = (8, 32)
"""The dimensions at which the n-rate and the capacity trend are repeated."""

PAPER_MNIST_EFFECT = 13.60 / 10.17 - 1
"""The paper's MNIST effect (Fig. 7): the farthest pair's test NLL 13.60 bits/dim against the nearest's 10.17,
34% higher; the MNIST claims' alternatives reverse it."""
PAPER_MNIST_LOSS_EFFECT = 110 / 72 - 1
"""The paper's Fig. 6 training loss, farthest ≈ 110 against nearest ≈ 72 at epoch 100 (53% higher; read off
its plot); the training-loss claim's alternative reverses it."""


_ES_K1 = "K1 at the grid minimum over tau (exact), per seed"
_ROWS = (
    Claim(id="lemmas-4-5-exact", source="Lemmas 4, 5", section="exact", contradicts="statement",
          claim="Lemmas 4 and 5 hold exactly on every computed flow (Lemma 4 also in its sharp quadratic form, ratio "
                "<= 1/(2e); Lemma 5 in the proof's form)",
          rule=Exact("worst ratio lhs/rhs over every flow of the report", "relative 1e-9")),
    Claim(id="K2<=K1-lemma2", source="Lemma 2", section="exact", contradicts="statement",
          claim="the sampler KL never exceeds the score bound (Lemma 2)",
          rule=Exact("max K2/K1 over every point where both are measured and the sampler's law is neither truncated "
                     "nor unresolved (K2 = +inf: cells that do not resolve it; counted) (random-feature flows in "
                     "d = 1, 2 and every checkpoint of the trained networks)", "none")),
    Claim(id="early-stopping-K2", source="Fig. 3; Theorems 1-2", section="tau_curves", contradicts="mechanism",
          claim="the sampler KL K2 first falls, then rises in tau (Fig. 3) at n = {n}, m = {m}",
          measures="K2 curve over tau per seed (Fokker-Planck, relative accuracy 1e-3)", rule=ExactRise()),
    Claim(id="early-stopping-K1", source="Fig. 3; Theorems 1-2", section="n_rate", contradicts="mechanism",
          claim="K1 first falls, then rises in tau (Fig. 3) at every n of the rate design along m = n, n = {ns}",
          measures="K1 curve over tau per seed (exact, relative accuracy 1e-12), one part per n",
          rule=Combined(ExactRise(), "conjunction")),
    *(Claim(id=f"rate-n-{k}", source="Corollary (16); Theorem 2", section="n_rate", contradicts="statement",
            claim=f"early-stopped {k} decays in n at least as fast as n^({{exponent}}) along m = n (corollary (16), "
                  "oracle tau)",
            measures=f"{k} at the K1 minimum over tau, per seed",
            rule=Rate(lambda: float(_r2().bound_exponent), variable="n")) for k in ("K1", "K2")),
    Claim(id="tau-es-vs-n", source="Corollary (16); Bonnaire et al. 2025 (tau_mem ~ n)", section="n_rate",
          contradicts="mechanism",
          claim="the measured optimal training time grows like the bound's prescription tau_es ~ n^({exponent}) along "
                "m = n (corollary (16) prescribes it; it does not predict the optimum)",
          measures="tau_es, the smooth argmin of K1 over tau, per seed (curves with an interior minimum)",
          rule=Separation(lambda: float(_r2().tau_es_exponent), rival=1.0, variable="n",
                          rival_name="tau_mem ~ n (Bonnaire et al., arXiv 2505.17638)")),
    *(Claim(id=cid, source=f"Corollary (16){extra}", section="corollary", contradicts="statement",
            claim=f"K1 at the prescribed tau = c n^(2/5) along m = n decays at least as n^({{exponent}}) for every "
                  f"constant c of the sweep (corollary (16): Theta(n^(2/5)) means every fixed c), {target}",
            measures="K1 at tau = c n^(2/5), per seed, one part per c",
            rule=Combined(Rate(rate, variable="n"), "unanimous"))
      for cid, extra, target, rate in (
          ("corollary16-prescribed", "", "two-mode target", lambda: float(_r2().bound_exponent)),
          ("corollary16-prescribed-theorem1", "; Theorem 1", "compact-support target",
           lambda: float(_r1().bound_exponent)))),
    Claim(id="capacity-m", source="Fig. 11; Theorems 1-2", section="capacity", contradicts="mechanism",
          claim="early-stopped K1 falls with m at n = {n} (Fig. 11; the bound falls in m, which allows but does not "
                "imply it)", measures=_ES_K1,
          rule=Trend(increasing=not _falls_with_m(), effect=lambda: -_m_exponent_at_tau_es(), variable="m")),
    Claim(id="I3-vs-m", source="Lemmas 6, 8", section="capacity", contradicts="statement",
          claim="the random-feature error I3 decays at least as 1/m (Lemmas 6/8)", measures="I3 per seed",
          rule=Rate(lambda: float(term_exponent(simplified(2), "rf", S.m)), variable="m")),
    Claim(id="modes-shift-KL", source="Theorem 2; Figs. 4-5", section="modes_shift", contradicts="mechanism",
          claim="early-stopped K1 increases with mu (Theorem 2, Figs. 4-5; the bound grows in mu, which allows but "
                "does not imply it)", measures=_ES_K1,
          rule=Trend(increasing=True, effect=lambda: float(_r2().bound_mu_exponent), variable="mu")),
    Claim(id="modes-shift-tau", source="Theorem 2 (reconstruction)", section="modes_shift", contradicts="mechanism",
          claim="the measured tau_es decreases with mu like the bound's minimiser (mn/Poly(mu))^(1/5) (a reconstruction "
                "from the bound, not the paper's text)", measures="tau_es (smooth argmin of K1), per seed",
          rule=Trend(increasing=False, effect=lambda: -float(_r2().tau_es_mu_exponent), variable="mu")),
    Claim(id="modes-shift-power", source="Theorem 2", section="modes_shift", contradicts="statement",
          claim="early-stopped KL grows no faster than mu^(k/5) = mu^{predicted} (Poly(mu) = mu^{k} reconstruction, "
                "bound at tau_es)", measures=_ES_K1,
          rule=Rate(lambda: float(_r2().bound_mu_exponent), variable="mu")),
    Claim(id="gap-shrinks-n", source="Theorem 1 (proof, end of Appendix A)", section="gap", contradicts="statement",
          claim="I1 at tau = {tau} shrinks in n no slower than n^({exponent}) (the Rademacher step)",
          measures="|I1| at the fixed tau, per seed", rule=Rate(_gap_rate_in_n, variable="n")),
    Claim(id="theorem1-rate-n", source="Theorem 1; Corollary (16)", section="theorem1", contradicts="statement",
          claim="compact-support target: early-stopped K1 decays at least as n^({exponent}) along m = n (Theorem 1, "
                "(16))", measures=_ES_K1, rule=Rate(lambda: float(_r1().bound_exponent), variable="n")),
    Claim(id="theorem1-early-stopping", source="Theorem 1", section="theorem1", contradicts="mechanism",
          claim="compact-support target: K1 first falls, then rises in tau at n = {n}, m = {m}",
          measures="K1 curve over tau per seed (exact)", rule=ExactRise()),
    *(Claim(id=f"calibrated-bound-theorem{t}", source=f"Theorem {t}", section="calibrated", contradicts="statement",
            claim=f"K2 <= K1 <= calibrated Theorem {t} bound on held-out draws beyond the calibration design",
            measures="max(K1, K2) at every held-out point", rule=Fitted()) for t in (2, 1)),
    Claim(id="ledger-I1", source="Theorem 1 (proof); eq. (15)", section="ledger", contradicts="statement",
          claim="the generalisation gap I1 of (15) stays under the generalisation terms c1 tau^4/(mn) + c2 tau^3/m^2 "
                "(Poly(mu) for the mixture) of the proof", measures="I1 at every tau of every flow", rule=Fitted()),
    Claim(id="ledger-I2", source="Lemma 4; eq. (15)", section="ledger", contradicts="statement",
          claim="the optimisation error I2 of (15) is at most [L(theta_rho) - L(theta*)] + ||theta0 - theta_rho||^2/"
                "(2 tau) (Lemma 4 with the ridge comparator theta_rho, no hidden constant) on every flow, I2 evaluated "
                "independently of the flow",
          rule=Exact("max over every flow and tau of the report of I2 (independent of the flow) over Lemma 4's right "
                     "side with theta_rho, and the agreement of the two I2 evaluations", "relative 1e-9")),
    Claim(id="ledger-I3", source="Lemmas 6, 8; eq. (15)", section="ledger", contradicts="statement",
          claim="the random-feature error I3 of (15) stays under c mu^2/m (Lemma 8)", measures="I3 of every flow",
          rule=Fitted()),
    Claim(id="lemma5-as-stated", source="Lemma 5", section="ledger", contradicts="statement",
          claim="||theta(tau)|| <~ ||theta0|| + sqrt(tau/m) with one constant for every m (Lemma 5 as printed), tau "
                "the time of the flows (9)-(10)",
          measures="max over tau >= 1 of ||theta(tau)|| / sqrt(tau/m) per flow",
          rule=Rate(0.0, slower=0.25, variable="m")),
    Claim(id="dimension-poly-vs-exp", source="Abstract; Theorem 1 (full form)", section="dimension",
          contradicts="statement",
          claim="the early-stopped K1 minus KL(p_T||pi) grows polynomially, not exponentially, in the dimension d = "
                "{ds} (abstract; the full bound's d-dependence), at fixed m = {m} and with m = {per_d} d",
          measures="K1 at its grid minimum minus KL(p_T||pi), per seed, one part per sweep",
          rule=Combined(Growth(), "conjunction")),
    Claim(id="dimension-poly-vs-exp-I1", source="Abstract; eq. (15)", section="dimension", contradicts="statement",
          claim="the generalisation gap I1 at the early-stopping time grows polynomially, not exponentially, in d = "
                "{ds} (fixed m = {m} and m = {per_d} d)", measures="I1 at the K1 grid minimum, per seed, one part per "
          "sweep", rule=Combined(Growth(), "conjunction")),
    *(row for d in DIMENSION_RATE_DS for row in (
        Claim(id=f"rate-n-K1-d{d}", source="Corollary (16); Theorem 2", section="dimension_rates",
              contradicts="statement",
              claim=f"early-stopped K1 decays in n at least as fast as n^({{exponent}}) along m = n in d = {d} "
                    "(corollary (16), oracle tau)", measures=_ES_K1,
              rule=Rate(lambda: float(_r2().bound_exponent), variable="n")),
        Claim(id=f"capacity-m-d{d}", source="Fig. 11; Theorems 1-2", section="dimension_rates", contradicts="mechanism",
              claim=f"early-stopped K1 falls with m at n = {{n}} in d = {d} (Fig. 11)", measures=_ES_K1,
              rule=Trend(increasing=not _falls_with_m(), effect=lambda: -_m_exponent_at_tau_es(), variable="m")))),
    Claim(id="modes-shift-KL-d", source="Theorem 2; Figs. 4-5", section="dimension_rates", contradicts="mechanism",
          claim="early-stopped K1 increases with mu in d = {d} (modes along e1; Theorem 2, Figs. 4-5)", measures=_ES_K1,
          rule=Trend(increasing=True, effect=lambda: float(_r2().bound_mu_exponent), variable="mu")),
    Claim(id="modes-direction-invariance", source="docs/theory.md §8.7", section="dimension_rates",
          contradicts="mechanism",
          claim="in d = {d} the early-stopped K1 is the same with the modes along e1 or along a random direction: the "
                "random features' orientation does not decide the outcome (a property of the setup the d-dimensional "
                "checks rely on)", measures="per seed, log K1_es(random direction) - log K1_es(e1)",
          rule=Equivalence(margin=math.log(1.25))),
    Claim(id="mnist-train-loss", source="Fig. 6", section="mnist", contradicts="statement",
          claim="the farthest pair of MNIST clusters has the higher training loss throughout training (Fig. 6), at "
                "every tau >= {tau_from} (fixed in advance: before it the flow has not trained), random-feature route, "
                "K = {K}, d = {d}",
          measures="per seed, (farthest - nearest) / nearest training DSM loss (same features, subsets, splits), one "
                   "part per tau; intervals at the Bonferroni level over the taus",
          rule=Combined(Sign(effect=PAPER_MNIST_LOSS_EFFECT, units=" (relative)"), "conjunction")),
    Claim(id="mnist-test-nll", source="Figs. 6-7", section="mnist", contradicts="statement",
          claim="the farthest pair has the higher held-out NLL (Figs. 6-7: worse samples, higher test NLL), K = {K}, "
                "d = {d}", measures="per seed, (farthest - nearest) / nearest held-out NLL at the last tau",
          rule=Sign(effect=PAPER_MNIST_EFFECT, units=" (relative)")),
    Claim(id="mnist-gap", source="Figs. 6-7; Remark 7", section="mnist", contradicts="mechanism",
          claim="the farthest pair has the larger generalisation gap (held-out minus training NLL), K = {K}, d = {d} "
                "(beyond the paper: it measured no gap)",
          measures="per seed, farthest minus nearest gap at the last tau (nats per dimension)",
          rule=Sign(effect=0.05, units=" nats/dim")),
    Claim(id="mnist-gap-vs-distance", source="Remark 7; Figs. 6-7", section="mnist", contradicts="mechanism",
          claim="across pairs of clusters ranked by centre distance, the generalisation gap grows with the distance "
                "(modes shift on real data; beyond the paper), K = {K}, d = {d}",
          measures="per seed, Kendall's tau of the gap at the last tau against the centre distance over the sampled "
                   "pairs", rule=Sign(effect=0.5, units=" (Kendall tau)")),
    *(Claim(id=cid, source=f"Fig. {fig}", section="paper_experiments", contradicts="mechanism",
            claim=f"the sampler KL K2 of the authors' Swish network (width {{width}}, n = {{n}}, mu = {{mu}}, {{sde}} "
                  f"SDE) trained by {opt} lr {{lr}} falls to a minimum and then rises (Fig. {fig}: minimum near epoch "
                  f"{low}, rising to epoch 2000), over {{epochs}} epochs and {{seeds}} seeds",
            measures="K2 (reverse SDE, exact law) at every checkpoint, per seed", rule=WindowRise())
      for cid, opt, fig, low in (("paper-fig3-sgd-minimum", "SGD", 3, 800), ("paper-fig8-adam-minimum", "Adam", 8, 1000))),
    Claim(id="paper-modes-shift-best-epoch", source="Figs. 4-5, 9-10", section="paper_experiments",
          contradicts="statement",
          claim="modes farther apart are learned worse: the best K2 over epochs at mu = {mu_far} exceeds that at "
                "mu = {mu} for both SGD and Adam (width {width}, n = {n}, {seeds} seeds; Figs. 4-5, 9-10)",
          measures="per optimiser and seed (the same seed at both mu): log min_epoch K2(mu_far) - log min_epoch K2(mu), "
                   "one part per optimiser, intervals at the Bonferroni level",
          rule=Combined(Sign(effect=math.log(2.0), units=" (log ratio)"), "conjunction")),
    Claim(id="paper-modes-best-epoch-earlier", source="Figs. 4-5, 9-10", section="paper_experiments",
          contradicts="statement",
          claim="the farther modes are at their best earlier: the epoch of the least K2 at mu = {mu_far} comes before "
                "that at mu = {mu} (the paper: about 100 against about 1000), for SGD and Adam (width {width}, n = {n}, "
                "{seeds} seeds; Figs. 4-5, 9-10)",
          measures="per optimiser and seed: (best epoch at mu_far - best epoch at mu) / the run's epochs, one part per "
                   "optimiser, intervals at the Bonferroni level",
          rule=Combined(Sign(effect=0.25, direction=-1, units=" of the run"), "conjunction")),
    Claim(id="paper-modes-collapse", source="Figs. 5, 10", section="paper_experiments", contradicts="mechanism",
          claim="late in training (epoch {late}) the sampler at mu = {mu_far} has one mode, for SGD and Adam (width "
                "{width}, n = {n}, {seeds} seeds; Figs. 5, 10: it collapses)",
          measures="the exact sampler density at the epoch, per seed, one part per optimiser",
          rule=Combined(OneMode(), "conjunction")),
    Claim(id="paper-fig11-width", source="Fig. 11", section="paper_experiments", contradicts="mechanism",
          claim="K2 at epoch {epoch} falls with the width of the Swish network over the widths that train, {widths} "
                "(SGD, {seeds} seeds; diverged runs: {diverged}; the first epoch with K2 <= {target} reported per width, "
                "cap {cap} epochs; Fig. 11)", measures="K2 at the epoch per seed (diverged runs left out and counted)",
          rule=Trend(increasing=False, effect=0.2, variable="width")),
    Claim(id="paper-metric-agreement", source="Figs. 3, 8, 11 (their metric)", section="paper_experiments",
          contradicts="mechanism",
          claim="the authors' 51-point grid metric orders the checkpoints as the sampler's KL K2 does (the figures' "
                "curves rely on it), Swish width {width}, mu = {mu}, SGD and Adam runs",
          measures="per run, Spearman's rho between the grid metric and K2 over its checkpoints after epoch 0",
          rule=Sign(effect=0.3, units=" (Spearman rho)")),
    Claim(id="paper-discrete-vs-flow", source="flows (9)-(10); docs/theory.md §3.1", section="paper_experiments",
          contradicts="statement",
          claim="minibatch DSM SGD on the random-feature model (12) (m = {m}, lr {lr}, batch 32) follows the exact "
                "gradient flow at tau = lr x steps: the same K2 curve within {rtol} relative, {seeds} seeds (the "
                "flows (9)-(10) describe the trained model)",
          measures="per seed, max over checkpoints of |K2(SGD) - K2(flow)| / K2(flow) at the same tau (full-batch "
                   "gradient descent reported beside)",
          rule=Tolerance(FLOW_RTOL, control_name="the flow at 0.5 x tau (a time unit wrong by a factor 2)")),
    *LATER_ROWS,
)

CLAIMS: dict[str, Claim] = {c.id: c for c in _ROWS}
"""Every claim, by id, in the order of the report."""
if len(CLAIMS) != len(_ROWS):
    raise RuntimeError("claim ids must be unique")

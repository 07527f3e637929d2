"""The claims of the later theories (docs/theory.md §11, §11.2): rows of :data:`verification.claims.CLAIMS`
measured by the later-theories section, each with its source (an arXiv id) and the constants its data and
alternatives use. Every one is a prediction that the paper's bounds do not imply (``mechanism``), except the
paper's own dimension claim re-measured away from the d ~ n crossover.

Examples
--------
>>> from verification.claims.later import LATER_ROWS
>>> [c.id for c in LATER_ROWS][:2]
['memorisation-tau-mem-vs-n', 'memorisation-tau-gen-flat']
"""

from __future__ import annotations

import math

from .claim import Claim, rates_m_equals_n
from ..rules import Combined, Equivalence, Growth, Separation, Sign, WindowRise

__all__ = ["HALVES_EFFECT", "K1_RISE_EFFECT", "LATER_ROWS", "MEMORISED_LEVEL", "STOPPING_DECADES"]

MEMORISED_LEVEL = 0.05
"""tau_mem is the first tau, at or after the K2 minimum, where the sampler's memorised fraction f exceeds p0's own
fraction f0 by this share of what is left to full memorisation: (f - f0) / (1 - f0) >= 0.05 (50 x the fraction's
accuracy 1e-3). Chosen by the team after a pilot (n = 4, 8; m = 256), where the excess reaches 0.08-0.4."""

STOPPING_DECADES = 0.5
"""The KL-optimal and the loss-optimal stopping times "differ" when they lie more than this many decades of tau
apart (a factor 10^0.5 = 3.2); the claim's alternative is that they coincide."""

K1_RISE_EFFECT = math.log(1.5)
"""noise-draws-rise-at-k1's alternative: K1's late rise at k = 1 draw per point 1.5 x that at k = infinity."""

HALVES_EFFECT = 1.0
"""halves-converge's alternative: the score distance of the two halves grows as n, the parametric rate 1/n of two
independent estimates converging, reversed."""


def _tau_es_exponent() -> float:
    """The exponent of n in the bound's prescription tau_es along m = n (corollary (16)): 2/5."""
    return float(rates_m_equals_n(2).tau_es_exponent)


_BONNAIRE = "Bonnaire, Urfin, Biroli, Mezard, arXiv 2505.17638"
_URFIN = "Urfin, Bonnaire, Biroli, Mezard 2026 (First Learn, Then Memorize; extends arXiv 2505.17638)"
_MERGER = "Merger & Goldt, arXiv 2505.24769"
_LATER = "later_theories"
LATER_ROWS = (
    Claim(id="memorisation-tau-mem-vs-n", source=_BONNAIRE, section=_LATER, contradicts="mechanism",
          claim="the memorisation time tau_mem grows like n (tau_mem ~ n), not like the bound's prescription "
                "n^(2/5): 1-D random features, m = {m}, n = {ns}; tau_mem the first tau at or after the K2 minimum "
                "where the sampler's memorised fraction exceeds p0's own by {level} of the way to 1",
          measures="per seed, the least-squares slope of log tau_mem on log n over the n whose tau_mem lies on the "
                   "grid (log-linear interpolation between grid taus; the others counted as censored)",
          rule=Separation(1.0, rival=_tau_es_exponent(), variable="n",
                          rival_name="the bound's prescription tau_es ~ n^(2/5)")),
    Claim(id="memorisation-tau-gen-flat", source=_BONNAIRE, section=_LATER, contradicts="mechanism",
          claim="tau_gen, the training time of the least sampler KL K2, is about constant in n (|exponent| < "
                "{margin}; the bound's prescription grows as n^(2/5)), m = {m}, n = {ns}",
          measures="per seed, the least-squares slope of log tau_gen (smooth argmin of K2 over tau) on log n",
          rule=Equivalence(margin=_tau_es_exponent() / 2)),
    Claim(id="memorisation-tau-mem-vs-n-d", source=_BONNAIRE, section=_LATER, contradicts="mechanism",
          claim="in d = {d} dimensions too, the memorisation time tau_mem grows like n (tau_mem ~ n), not like the "
                "bound's prescription n^(2/5): random features, m = {m}, n = {ns}; tau_mem the first tau at or after "
                "the K1 minimum where the sampler's memorised fraction exceeds p0's own by {level} of the way to 1 (both "
                "fractions sampled, {samples} reverse-SDE draws per tau)",
          measures="per seed, the least-squares slope of log tau_mem on log n over the n whose tau_mem lies on the "
                   "grid (the others counted as censored); binomial standard errors of the fractions reported",
          rule=Separation(1.0, rival=_tau_es_exponent(), variable="n",
                          rival_name="the bound's prescription tau_es ~ n^(2/5)")),
    Claim(id="noise-draws-rise-at-k1", source=_URFIN, section=_LATER, contradicts="mechanism",
          claim="with one noise draw per training point (k = 1) the late rise of K1 disappears: it is smaller than "
                "with the exact noise expectation (k = infinity), n = {n}, m = {m}",
          measures="per seed, log(1 + rise at k = 1) - log(1 + rise at k = infinity), rise = (K1(tau_max) - "
                   "min K1) / min K1 on the same sample and features",
          rule=Sign(effect=K1_RISE_EFFECT, direction=-1, units=" (log ratio)")),
    Claim(id="noise-draws-memorisation-at-k1", source=_URFIN, section=_LATER, contradicts="mechanism",
          claim="with one noise draw per training point (k = 1) the memorisation bulk is absent, so the sampler "
                "memorises less than with the exact noise expectation (k = infinity): 1-D, m = {m}, n = {ns}",
          measures="per seed, the mean over n of e(k = 1) - e(k = infinity), e = (f - f0)/(1 - f0) the memorised "
                   "excess at the last tau where neither sampler law is truncated, on the same sample and features",
          rule=Sign(effect=MEMORISED_LEVEL, direction=-1, units=" (share)")),
    Claim(id="halves-converge", source="Kadkhodaie et al., arXiv 2310.02557; Maillard & Goldt, arXiv 2605.21402",
          section=_LATER, contradicts="mechanism",
          claim="two models of the same features trained on disjoint halves converge as n grows: their exact score "
                "distance D at tau = {tau} falls with n = {ns} (m = {m})",
          measures="per seed, the least-squares slope of log D(tau) on log n",
          rule=Sign(effect=HALVES_EFFECT, direction=-1, units=" (exponent of n)")),
    Claim(id="halves-converge-mnist", source="Kadkhodaie et al., arXiv 2310.02557", section=_LATER,
          contradicts="mechanism",
          claim="on real digits too, two models of the same features trained on disjoint halves converge as n grows: "
                "their score distance D at tau = {tau}, weighted by the pair's held-out digits, falls with the "
                "training-set size n = {ns} (MNIST nearest and farthest pair, K = {K}, d = {d} PCA coordinates, "
                "m = {m})",
          measures="per seed, the mean over the two pairs of the least-squares slope of log D(tau) on log n",
          rule=Sign(effect=HALVES_EFFECT, direction=-1, units=" (exponent of n)")),
    Claim(id="d-over-n-rate-n", source=_MERGER, section=_LATER, contradicts="mechanism",
          claim="for n > d the KL excess of the learned model over the model's optimum decays as d/n, i.e. as n^-1 "
                "at fixed d = {d} (not as the bound's n^(-2/5)), n = {ns} (n >= 2d), m = {m}",
          measures="per seed, the least-squares slope of log(K1_es - K1*) on log n, K1_es the grid minimum over tau "
                   "and K1* = min over theta of K1 (the population g^2 minimiser)",
          rule=Separation(-1.0, rival=float(rates_m_equals_n(2).bound_exponent), variable="n",
                          rival_name="the bound's rate n^(-2/5)")),
    Claim(id="d-over-n-rate-d", source=_MERGER, section=_LATER, contradicts="mechanism",
          claim="for n > d the KL excess over the model's optimum grows as d at fixed n = {n}, d = {ds} (d <= n/2), "
                "m = {m}",
          measures="per seed, the least-squares slope of log(K1_es - K1*) on log d",
          rule=Separation(1.0, rival=0.0, variable="d", rival_name="no growth in d")),
    Claim(id="d-over-n-dimension-n8d", source="Abstract; Theorem 1 (full form); at n >= 8d after " + _MERGER,
          section=_LATER, contradicts="statement",
          claim="the early-stopped K1 minus KL(p_T||pi) grows polynomially, not exponentially, in d = {ds} at n = {n} "
                ">= 8d (the abstract's claim away from the d ~ n crossover), m = {m}",
          measures="K1 at its grid minimum minus KL(p_T||pi), per seed", rule=Growth()),
    Claim(id="optimiser-rise-every-lr", source="Wu, Marion, Biau, Boyer, arXiv 2502.03435", section=_LATER,
          contradicts="mechanism",
          claim="the Fig. 3 turn (K2 rises after its minimum) is a property of training on the empirical loss, not "
                "of the optimiser's noise: it is seen for SGD at every learning rate {lrs} at the same lr x epochs "
                "and for full-batch gradient descent (Swish width {width}, n = {n}, mu = {mu}, {seeds} seeds)",
          measures="K2 (reverse SDE, exact law) at every checkpoint, per seed, one part per arm; windows at the same "
                   "fractions of lr x epochs in every arm",
          rule=Combined(WindowRise(), "conjunction")),
    Claim(id="stopping-kl-vs-loss", source="Latourelle-Vigeant et al., arXiv 2608.23938", section=_LATER,
          contradicts="mechanism",
          claim="the stopping time that minimises the sampler KL K2 differs from the one that minimises the held-out "
                "denoising loss by more than {decades} decades of tau, m = {m}, n = {ns}",
          measures="per seed, the mean over n of |log10 tau(argmin K2) - log10 tau(argmin held-out loss)| (smooth "
                   "argmins; the held-out loss is the population loss (7), exact)",
          rule=Sign(effect=STOPPING_DECADES, null=STOPPING_DECADES, units=" decades")),
)

"""Sympy symbols of Theorems 1-2 and the documented defaults of every non-variable input.

The *variables* (n, m, tau, mu, delta, d, T) are what a user sweeps. The *hidden constants* of
``≲`` (one per term, ``c_*``) default to 1 and are meant to be fitted by the verification suite
(docs/theory.md §8.3). The *measured inputs* (approximation errors, KL(p_T‖π), RKHS norms, C_T, C_x,
C_e) are quantities the empirical side measures; their defaults are documented below.

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: the notation of Theorems 1 and 2 and of the unsimplified bound at the end of
Appendix A. docs/theory.md §1 (C_T), §2 (e(t), RKHS norms), §5 (Theorem 1 and the defaults of the
bound calculator), §6 (Theorem 2, Poly(µ)) and §8.3 (hidden constants).

Examples
--------
>>> from bounds import symbols as S
>>> S.DEFAULTS[S.delta], S.DEFAULTS[S.T], S.DEFAULTS[S.c_opt]
(0.05, 5.0, 1.0)
>>> S.BY_NAME["tau"] is S.tau
True
"""

from __future__ import annotations

import sympy as sp

# Variables of the bounds. All positive: the hypotheses of (16) and Theorem 2 are checked numerically.
n, m, tau, mu, delta, d, T = sp.symbols("n m tau mu delta d T", positive=True)
VARIABLES: tuple[sp.Symbol, ...] = (n, m, tau, mu, delta, d, T)
# Degree of Poly(µ) in Theorem 2, when kept symbolic (a reconstruction: docs/theory.md §6).
k = sp.Symbol("k", positive=True)

# Hidden constants of ≲, one per term of the simplified bounds (Theorem 1 and (16); Theorem 2).
# Declared positive so that sympy can solve for τ_es symbolically; numerically 0 is allowed.
c_gen1, c_gen2, c_opt, c_rf = sp.symbols("c_gen1 c_gen2 c_opt c_rf", positive=True)
c_app_bar, c_app_star, c_prior = sp.symbols("c_app_bar c_app_star c_prior", positive=True)
# Hidden constant of the full form's generalisation term (the proof's product term, end of App. A).
c_gen = sp.Symbol("c_gen", positive=True)
CONSTANTS: tuple[sp.Symbol, ...] = (c_gen1, c_gen2, c_opt, c_rf, c_app_bar, c_app_star, c_prior, c_gen)

# Measured inputs. L_bar = L̃(θ̄*) (mean-field approximation error), L_star = L̃(θ*) (random-feature
# approximation error), KL_T = KL(p_T‖π); four RKHS norms ‖s̄_{θ̄0}‖²_H, ‖s̄_{θ̄*}‖²_H, ‖s_{θ0}‖²_H,
# ‖s_{θ*}‖²_H; C_T = max_{t≤T} max(r, r v); C_x = sup‖x‖∞ of the support; C_e ≥ sup‖e(t)‖∞.
L_bar, L_star, KL_T = sp.symbols("L_bar L_star KL_T", nonnegative=True)
norm_bar0, norm_bar_star, norm0, norm_star = sp.symbols(
    "norm_bar0 norm_bar_star norm0 norm_star", nonnegative=True
)
C_T, C_x, C_e = sp.symbols("C_T C_x C_e", nonnegative=True)
INPUTS: tuple[sp.Symbol, ...] = (L_bar, L_star, KL_T, norm_bar0, norm_bar_star, norm0, norm_star, C_T, C_x, C_e)

DEFAULT_DELTA = 0.05
"""Default confidence parameter δ: the bounds then hold with probability ≥ 95%."""

DEFAULTS: dict[sp.Symbol, float] = {
    delta: DEFAULT_DELTA,
    d: 1.0,  # the 1-D experiments of docs/theory.md §6 and §9
    T: 5.0,  # docs/theory.md §1 default horizon
    **{c: 1.0 for c in CONSTANTS},
    L_bar: 0.0,  # approximation errors vanish for a well-specified model; pass measured values
    L_star: 0.0,
    KL_T: 0.0,  # pass the exact OU value (e.g. GaussianMixture1D.kl_to_prior) where known
    # RKHS norms: 1 each, an O(1) placeholder. A(0) = 0 (docs/theory.md §2) makes the two initial norms 0;
    # pass measured values (‖s_θ‖²_H = ‖θ‖², docs/theory.md §2) to use them.
    norm_bar0: 1.0,
    norm_bar_star: 1.0,
    norm0: 1.0,
    norm_star: 1.0,
    C_T: 1.0,  # OU: max(e^{-t}, sqrt(1 - e^{-2t})) ≤ 1, for every T
    C_x: 1.0,
    C_e: 1.0,  # e(t) = (1, t/T): sup‖e(t)‖∞ = 1
}
"""Default value of every non-required input (the bound-calculator defaults of docs/theory.md §5)."""

LATEX_NAMES: dict[sp.Symbol, str] = {
    tau: r"\tau",
    mu: r"\mu",
    delta: r"\delta",
    L_bar: r"\tilde{L}(\bar{\theta}^*)",
    L_star: r"\tilde{L}(\theta^*)",
    KL_T: r"\mathrm{KL}(p_T \,\|\, \pi)",
    norm_bar0: r"\|\bar{s}_{\bar{\theta}_0}\|_{\mathcal{H}}^2",
    norm_bar_star: r"\|\bar{s}_{\bar{\theta}^*}\|_{\mathcal{H}}^2",
    norm0: r"\|s_{\theta_0}\|_{\mathcal{H}}^2",
    norm_star: r"\|s_{\theta^*}\|_{\mathcal{H}}^2",
    C_T: r"C_T",
    C_x: r"C_x",
    C_e: r"C_{T,e}",
    **{c: "c_{" + c.name[2:].replace("_", r"\_") + "}" for c in CONSTANTS},
}
"""LaTeX name of each symbol whose sympy default would not read as in the paper (used by ``Bound.latex``)."""

BY_NAME: dict[str, sp.Symbol] = {s.name: s for s in (*VARIABLES, k, *CONSTANTS, *INPUTS)}
"""Parameter name (as passed to ``Bound.evaluate``) → symbol, for every symbol of this module."""

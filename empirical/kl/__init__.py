"""KL(p0 ‖ p_θ) four ways (docs/theory.md §4); every function takes any score ``score(t, x)``.

- K1 :func:`kl_score_bound`: the score bound of Lemma 2 (exact for the random-feature model (12)).
- K2 :func:`kl_sde`: the reverse-SDE sampler (3) started from π, by its Fokker–Planck equation.
- K3 :func:`kl_ode`: the probability-flow ODE sampler (4), by the change of variables of Remark 3.
- K4 :func:`kl_integrated`: p_{0,θ} ∝ exp(∫ s_{0,θ}) as (11).
- :func:`sample_kl`: the usual sample-based estimate, for comparison only.
- In R^d: K1 by the same :func:`kl_score_bound` (exact for Gaussian mixtures); K3 and the ODE-NLL by Monte
  Carlo, :func:`ode_kl_mc` (any d); K2 in d = 2, :func:`kl_sde_2d` (a 2-D Fokker–Planck solver).

K2 ≤ K1 is Lemma 2; K3 and K4 are not covered by it. :data:`BOUNDARY_MASS_MAX`: a K2 whose law has
more mass than this in its grid's two outer cells is truncated (the grid held the sampler back).

References
----------
arXiv:2311.01797, reverse SDE (3), probability-flow ODE (4), integrated-score density (11),
Lemma 2 and Remark 3; docs/theory.md §4.
"""

from .divergence import kl_cells
from .fokker_planck_2d import kl_sde_2d
from .integrated import integrated_logpdf, kl_integrated
from .measures import BOUNDARY_MASS_MAX, kl_ode, kl_sde, kl_sde_law, sde_law
from .ode_mc import ode_kl_mc, ode_logq
from .sampling import sample_kl
from .score_bound import kl_score_bound, score_error

__all__ = ["BOUNDARY_MASS_MAX", "integrated_logpdf", "kl_cells", "kl_integrated", "kl_ode", "kl_score_bound",
           "kl_sde", "kl_sde_2d", "kl_sde_law", "ode_kl_mc", "ode_logq", "sample_kl", "score_error", "sde_law"]

"""The report's sections, one module each: each runs its sweep in a :class:`Context`, judges its claims
(:mod:`verification.claims`) and returns a typed :class:`Section`.

``ORDER`` is the order in which :func:`verification.report.build` runs them; :func:`exact` runs last,
on every measurement the others made, and is shown first.
"""

from .base import Context, Section
from .calibrated import calibrated
from .capacity import capacity
from .corollary import corollary
from .dimension import dimension
from .dimension_rates import dimension_rates
from .exact import exact
from .gap import gap
from .later_theories import later_theories
from .ledger import ledger
from .mnist import mnist
from .modes_shift import modes_shift
from .n_rate import n_rate
from .paper_experiments import paper_experiments
from .sample_based import sample_based
from .tau_curves import tau_curves
from .theorem1 import theorem1

ORDER = (tau_curves, n_rate, corollary, capacity, modes_shift, gap, theorem1, calibrated, ledger, sample_based,
         dimension, dimension_rates, mnist, paper_experiments, later_theories)

__all__ = ["ORDER", "Context", "Section", "calibrated", "capacity", "corollary", "dimension", "dimension_rates", "exact", "gap", "later_theories", "ledger", "mnist", "modes_shift", "n_rate", "paper_experiments",
           "sample_based", "tau_curves", "theorem1"]

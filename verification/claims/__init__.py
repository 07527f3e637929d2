"""Every claim as data: what a claim is (:mod:`~verification.claims.claim`), the registry of the paper's claims
(:mod:`~verification.claims.registry`, :data:`CLAIMS`), the later theories' rows (:mod:`~verification.claims.later`)
and docs/claims.md generated from them (:mod:`~verification.claims.doc`).

Examples
--------
>>> from verification.claims import CLAIMS
>>> CLAIMS["rate-n-K1"].section
'n_rate'
"""

from .claim import CONTRADICTS, Claim, fraction, rates_m_equals_n, simplified
from .registry import CLAIMS

__all__ = ["CLAIMS", "CONTRADICTS", "Claim", "claim", "doc", "fraction", "later", "rates_m_equals_n", "registry",
           "simplified"]

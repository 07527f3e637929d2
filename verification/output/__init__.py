"""What the claims layer writes for people and machines: JSON-ready values and markdown tables
(:mod:`~verification.output.formats`), report.md (:mod:`~verification.output.markdown`), ``diffgen diff``
(:mod:`~verification.output.diff`, :mod:`~verification.output.diff_format`) and the README's verdicts
(:mod:`~verification.output.summary`).
"""

__all__ = ["diff", "diff_format", "formats", "markdown", "summary"]

"""docs/claims.md, generated from the claims table (:data:`verification.claims.CLAIMS`):
``python -m verification.claims.doc > docs/claims.md`` (a test keeps the file current)."""

from __future__ import annotations

from .registry import CLAIMS
from ..verdicts import rule_name

CLAIMS_DOC = """# The claims the report checks

Generated from `verification/claims/registry.py` by `python -m verification.claims.doc > docs/claims.md` (a test keeps it
current). Each row is one claim: where the paper makes it, the report section that measures it, the rule that
judges it (docs/theory.md §8), whether a contrary outcome contradicts a *statement* of the paper (`violated`) or
only a *mechanism* it explains (`mechanism-not-observed`), and the outcome that contradicts it. Every rule's size
and power are measured on each report's own data (report.md, results.json).

"""


def claims_table() -> str:
    """The claims as a markdown table (docs/claims.md is this, generated): id, source, section, rule, what
    contradicts it.

    Examples
    --------
    >>> from verification.claims.doc import claims_table
    >>> claims_table().splitlines()[2].startswith("| `lemmas-4-5-exact` | Lemmas 4, 5 |")
    True
    """
    lines = ["| claim | paper | measured in | rule | statement or mechanism | contradicted when |",
             "| --- | --- | --- | --- | --- | --- |"]
    for c in CLAIMS.values():
        rule = rule_name(c.rule)
        lines.append(f"| `{c.id}` | {c.source} | `verification/sections/{c.section}.py` | {rule} | {c.contradicts} | "
                     f"{c.contradiction} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(CLAIMS_DOC + claims_table(), end="")

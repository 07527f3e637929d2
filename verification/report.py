"""``diffgen report``: the scaling report (docs/theory.md §8, §9) as report.md, PNG figures and results.json.

Each section of :mod:`verification.sections` runs its sweep through one :class:`Context` and returns
a typed :class:`~verification.sections.Section` (checks, markdown, figures, data); this module puts
them together and writes the files. Exact checks (Lemmas 4-5 on every flow, K2 <= K1 of Lemma 2, I2
under Lemma 4) failing are bugs: :func:`build` raises :class:`ExactCheckFailed` after writing the report,
and the command exits 1. A statement of the paper that the measurements contradict is a finding, verdict
"violated", reported prominently; it does not fail the command.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .output.formats import markdown_table

from .store.cache import ResultCache
from .claims.registry import CLAIMS
from .store.execution import Execution, Executor
from .store.files import write_results_json
from .output.markdown import write_report_md
from .store.provenance import git_state, provenance
from .store.runner import Runner
from .sections import ORDER, Context, Section, exact
from .designs.sweeps import Scale
from .verdicts import VERDICTS, Check

EXACT_CHECKS = ("lemmas-4-5-exact", "K2<=K1-lemma2", "ledger-I2")
RULES = ("Each verdict comes from its claim's rule (verification/claims/registry.py, docs/theory.md §8). 'size': the rule's "
         "false-alarm rate, simulated from the claim's own data with the claim true at its boundary (worst decisive "
         "verdict); 'power': the rate at which it detects the stated wrong alternative. A decisive verdict needs size <= "
         "0.05, and holds/consistent also power >= 0.8; otherwise the verdict is inconclusive, with the reason. Exact "
         "checks have size 0 and no simulated power.")
TIME_UNIT = ("Every tau in this report is the time of the flows (9)-(10) in theta = vec(A)/sqrt(m); the plain "
             "gradient flow in A runs the same path in time m tau (docs/theory.md §3.1). Verdicts: "
             "docs/theory.md §8.")


class ExactCheckFailed(RuntimeError):
    """An exact check (a lemma of docs/theory.md §7, or K2 <= K1) failed: a bug in the code or the paper."""


SECTION_NAMES = tuple(section.__name__ for section in ORDER)
"""The names of the measured sections, in the order :func:`build` runs them (``diffgen report --section``)."""


def chosen_sections(names: Sequence[str] | None) -> tuple:
    """The sections of ``ORDER`` named in ``names`` (all when None), in the report's order.

    Raises
    ------
    ValueError
        Naming ``--section`` and the valid names, when a name is not a section or none is given.

    Examples
    --------
    >>> from verification.report import chosen_sections
    >>> [s.__name__ for s in chosen_sections(["ledger", "gap"])]
    ['gap', 'ledger']
    """
    if names is None:
        return ORDER
    unknown = [n for n in names if n not in SECTION_NAMES]
    if unknown or not names:
        raise ValueError(f"--section must name sections of the report ({', '.join(SECTION_NAMES)}), got "
                         f"{', '.join(map(repr, unknown)) or 'none'}")
    wanted = set(names)
    return tuple(s for s in ORDER if s.__name__ in wanted)


def build(scale: Scale, out: Path, show_progress: bool = True, execution: Execution | None = None,
          store: Path | None = None, sections: Sequence[str] | None = None) -> dict:
    """Run every section (or those named in ``sections``, with the exact checks on their flows), write
    DIR/report.md, figures and DIR/results.json; return the checks.

    Each sweep's measurements run as tasks of ``execution`` (default: a local Dask cluster, one
    single-threaded worker per core; ``Execution(workers=1)`` runs serially here) and are stored by
    configuration in ``store`` (default DIR/.cache), so an interrupted build resumes. The numbers do not
    depend on how the tasks ran; how they ran is recorded under ``provenance["execution"]`` only, with each
    section's wall time (``sections_wall_s``; a section whose results were stored takes only their reading).

    ``sections`` (names of :data:`SECTION_NAMES`) builds only those, recorded under ``provenance["sections"]``. The
    ledger and the exact checks judge every flow the build measured, so without the sections before them their
    verdicts can differ from the whole report's.

    Returns
    -------
    dict with "checks" (list of :class:`~verification.verdicts.Check`) and "provenance"

    Raises
    ------
    ExactCheckFailed
        After writing the files, when Lemmas 4-5, K2 <= K1 or I2 <= Lemma 4's bound fail somewhere, or an engine
        mutation (:mod:`verification.mutations`) is caught by no exact check.
    """
    run = chosen_sections(sections)
    started, state = time.time(), git_state()
    out.mkdir(parents=True, exist_ok=True)
    with Executor(execution) as executor:
        ctx = Context(scale, out, Runner(ResultCache(store or out / ".cache"), show_progress, executor))
        measured, walls = [], {}
        for section in run:
            begun = time.time()
            measured.append(section(ctx))
            walls[section.__name__] = round(time.time() - begun, 1)
            if show_progress:
                print(f"section {section.__name__}: {walls[section.__name__]:.0f} s", file=sys.stderr, flush=True)
        ran = {**executor.describe(), "sweeps_wall_s": round(time.time() - started, 1), "sections_wall_s": walls}
    sections: list[Section] = [exact(ctx), *measured]
    order = list(CLAIMS)
    checks: list[Check] = sorted((c for s in sections for c in s.checks), key=lambda c: order.index(c.name))
    prov = {**provenance({"scale": scale.name, **{k: v for k, v in vars(scale).items() if k != "name"}}, started,
                         state), "execution": ran}
    if sections is not None:
        prov["sections"] = [s.__name__ for s in run]
    summary = [{"claim": c.name, "rule": c.rule, "verdict": c.verdict, "size": f"{c.size:.3f}",
                "power": "-" if c.power is None else f"{c.power:.2f}", "alternative": c.alternative,
                "why inconclusive": c.reason or ""} for c in checks]
    head = "\n".join(f"- **{v}** ({sum(c.verdict == v for c in checks)}): "
                      + ", ".join(c.name for c in checks if c.verdict == v) for v in VERDICTS
                      if any(c.verdict == v for c in checks))
    body = [(s.title, s.content) for s in sections]
    write_report_md(out / "report.md", [
        ("Verdicts", head + "\n\n" + RULES + "\n\n"
         + markdown_table(summary, ["claim", "rule", "verdict", "size", "power", "alternative", "why inconclusive"])
         + "\n\n" + TIME_UNIT), *body,
        ("Provenance", markdown_table([{"key": k, "value": str(v)} for k, v in prov.items() if k != "params"],
                                      ["key", "value"]))], title=f"Scaling report ({scale.name})")
    data = {k: v for s in sections for k, v in s.data.items()}
    write_results_json(out / "results.json", checks, prov, extra={"data": data})
    failed = [c.name for c in checks if c.name in EXACT_CHECKS and c.verdict == "violated"]
    failed += [f"engine mutation {r['mutation']!r} not caught" for r in data.get("mutations", []) if not r["caught_by"]]
    if failed:
        raise ExactCheckFailed(f"exact checks failed: {failed}; see {out / 'report.md'}")
    return {"checks": checks, "provenance": prov}

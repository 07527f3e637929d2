"""The ``diffgen`` command line: one parser, each subcommand registered by the package that owns it.

- ``bound``, ``early-stop``, ``rates``: :mod:`bounds.cli` (the bound calculator);
- ``measure``: :mod:`empirical.cli` (the measurement engine);
- ``report``, ``calibrate``: here (the claims layer, the only package that imports all three).

Invalid input exits with status 2 and one line on stderr naming the parameter and its valid range.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bounds import cli as bounds_cli
from empirical import cli as empirical_cli
from empirical.formats import markdown_table

from . import heldout
from .cache import ResultCache
from .report import ExactCheckFailed, build
from .runner import Runner
from .sweeps import SCALES


def build_parser() -> argparse.ArgumentParser:
    """The ``diffgen`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="diffgen",
        description="Bounds and measurements for 'On the Generalization Properties of Diffusion Models'.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bounds_cli.register(sub)
    empirical_cli.register(sub)
    register(sub)
    return parser


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``report`` and ``calibrate`` to the ``diffgen`` parser."""
    p = sub.add_parser("report", help="build the scaling report (report.md, PNG figures, results.json)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="scale", action="store_const", const="quick", help="minutes (default)")
    size.add_argument("--full", dest="scale", action="store_const", const="full", help="the committed report (opt-in)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default reports/<scale>)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=_report, scale="quick")

    c = sub.add_parser("calibrate", help="fit the hidden constants of a theorem's bound and of its negative controls",
                       description="Measure the calibration design (n, m in {8, 32, 128}, three mu, a fresh seed < "
                                   "10000 per cell, K1 on tau in [1, 1e8]), fit the smallest constants that make "
                                   "the simplified bound dominate max(K1, K2) (linear program), fit every negative "
                                   "control (verification/controls.py) by the same program, and freeze both in "
                                   "verification/data/.")
    c.add_argument("--theorem", type=int, choices=(1, 2), required=True)
    c.add_argument("--cache", type=Path, default=Path(".cache/calibration"), help="resumable result cache")
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(handler=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    from . import controls

    started = time.perf_counter()
    command = f"diffgen calibrate --theorem {args.theorem}"
    runner = Runner(ResultCache(args.cache), not args.no_progress)
    results = runner.run_all(heldout.calibration_design(args.theorem), f"calibration, Theorem {args.theorem}")
    cal = heldout.fit(args.theorem, results, command)
    points, y, dropped = heldout.measured_points(results)
    fits = controls.fit_all(args.theorem, heldout.variables(args.theorem, points), y)
    wall = round(time.perf_counter() - started, 1)
    path = heldout.save(args.theorem, cal)
    cpath = controls.save(args.theorem, fits, command, heldout.design_summary(args.theorem), cal.seeds,
                          points=len(points), excluded_truncated_K2=dropped, wall_s=wall)
    rows = [{"bound": f"Theorem {args.theorem}", "term": k, "constant": v} for k, v in cal.constants.items()]
    rows += [{"bound": f.control.key, "term": k, "constant": v} for f in fits for k, v in f.constants.items()]
    print(markdown_table(rows, ["bound", "term", "constant"]))
    print(f"constants written to {path} and {cpath} ({len(points)} design points, {wall} s)")
    return 0


def _report(args: argparse.Namespace) -> int:
    out = args.out or Path("reports") / args.scale
    try:
        result = build(SCALES[args.scale], out, not args.no_progress)
    except ExactCheckFailed as err:
        print(f"diffgen: {err}", file=sys.stderr)
        return 1
    for c in result["checks"]:
        print(f"{c.verdict:>16}  {c.name}")
    print(f"report written to {out / 'report.md'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Invalid input exits with status 2 and one line on stderr naming the parameter."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ValueError as err:
        print(f"diffgen: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

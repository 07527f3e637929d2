"""The ``diffgen`` command line: one parser; the bound calculator registers its own subcommands, the claims layer
(which owns the formatting of every output) the rest.

- ``bound``, ``early-stop``, ``rates``: :mod:`bounds.cli` (the bound calculator);
- ``measure``: :mod:`verification.cli.measure` (one measurement of the engine); ``train``: :mod:`verification.cli.train`
  (trained networks, checkpoints measured); ``halves``: :mod:`verification.cli.halves`;
- ``report``, ``calibrate``, ``mnist``, ``diff``: here.

Invalid input exits with status 2 and one line on stderr naming the parameter and its valid range.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bounds import cli as bounds_cli
from ..output.formats import markdown_table, to_jsonable

from . import halves as cli_halves, measure as cli_measure, train as cli_train
from ..calibrated import heldout
from ..output import diff, diff_format
from ..store.cache import ResultCache
from ..store.execution import SCHEDULER_ENV, WORKERS_MAX, Execution, Executor
from ..store.files import ensure_writable_dir
from ..report import SECTION_NAMES, ExactCheckFailed, build
from ..store.runner import Runner
from ..designs.sweeps import SCALES


def build_parser() -> argparse.ArgumentParser:
    """The ``diffgen`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="diffgen",
        description="Bounds and measurements for 'On the Generalization Properties of Diffusion Models'.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bounds_cli.register(sub)
    cli_measure.register(sub)
    cli_train.register(sub)
    cli_halves.register(sub)
    register(sub)
    return parser


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``report``, ``calibrate``, ``mnist`` and ``diff`` to the ``diffgen`` parser."""
    p = sub.add_parser("report", help="build the scaling report (report.md, PNG figures, results.json)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="scale", action="store_const", const="quick", help="minutes (default)")
    size.add_argument("--full", dest="scale", action="store_const", const="full", help="the committed report (opt-in)")
    p.add_argument("--out", type=_directory("--out"), default=None, help="output directory (default reports/<scale>)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--section", action="append", choices=SECTION_NAMES, default=None, metavar="NAME",
                   help="build only this section (repeatable), with the exact checks on its flows; one of "
                        + ", ".join(SECTION_NAMES) + " (default: all). Stored results are reused from --store. The ledger and the exact checks judge "
                        "every flow the build measured, so built without the sections before them they can give "
                        "other verdicts than in the whole report")
    _execution_args(p, "DIR/.cache of --out")
    p.set_defaults(handler=_report, scale="quick")

    c = sub.add_parser("calibrate", help="fit the hidden constants of a theorem's bound and of its negative controls, "
                       "or test any bound (--bound)",
                       description="--theorem T: measure the calibration design (n in {2, 8, 32, 128}, m in {8, 32, "
                                   "128}, three mu, a fresh seed < 10000 per cell, K1 on tau in [1, 1e9]), fit the "
                                   "smallest constants that make the simplified bound dominate max(K1, K2) (linear "
                                   "program), fit every negative control (verification/calibrated/controls.py) by the same "
                                   "program, and freeze both, with every design point and its measured value, in "
                                   "verification/data/. --bound EXPR: fit the bound EXPR (a sympy expression, linear "
                                   "in constants C1, C2, ..., in n, m, tau, mu, d, L_star, L_bar, KL_T, norm2) on "
                                   "that stored design, test it on held-out draws as the paper's bounds are tested "
                                   "(split-conformal threshold at delta = 0.05, binomial test), and print the "
                                   "verdict, constants, identified terms, size and power.")
    c.add_argument("--theorem", type=int, choices=(1, 2), default=None, help="the theorem whose design to measure")
    c.add_argument("--bound", default=None, metavar="EXPR", help="test this bound instead, e.g. "
                   "'C1*tau**4/(m*n) + C2/tau + C3*mu**2/m + KL_T'")
    c.add_argument("--target", choices=("gm", "bump"), default="gm", help="--bound: Theorem 2's two-mode design "
                   "(gm, default) or Theorem 1's bumps")
    c.add_argument("--draws", type=int, default=24, metavar="H", help="--bound: held-out draws, 2 to 1000 (default 24)")
    c.add_argument("--replicates", type=int, default=100, metavar="R",
                   help="--bound: replicates of the size simulation, 10 to 10000 (default 100)")
    c.add_argument("--json", action="store_true", help="--bound: print one JSON object")
    c.add_argument("--no-progress", action="store_true")
    _execution_args(c, ".cache/calibration")
    c.set_defaults(handler=_calibrate)

    n = sub.add_parser("mnist", help="the nearest and farthest MNIST cluster pairs (Figs. 6-7), random-feature route",
                       description="Train the random-feature score model (12) by the exact flow on the nearest and "
                                   "on the farthest pair of k-means clusters of the 5,000 MNIST digits (PCA "
                                   "coordinates), and measure training and held-out loss and NLL, and their gap.")
    n.add_argument("--quick", action="store_true", help="the quick report's design (K = 30, d = 32, m = 256; "
                   "about a minute on 2 cores); default: the full report's designs")
    n.add_argument("--network", action="store_true", help="the opt-in network route instead: a small U-net in pixel "
                   "space trained with Adam (1000 epochs), NLL in bits/dim (about 6 minutes per seed on 2 cores)")
    n.add_argument("--seeds", type=int, default=None, metavar="S", help="--network only: seeds 0..S-1 of subsets "
                   "and model, S in [1, 100] (default 1; each adds about 6 minutes)")
    n.add_argument("--json", action="store_true", help="print one JSON object (the first design's summary)")
    n.add_argument("--out", type=_directory("--out"), default=None, help="directory for the digit grids (PNG) and mnist.json "
                   "(default reports/mnist)")
    n.add_argument("--no-progress", action="store_true")
    _execution_args(n, "DIR/.cache of --out")
    n.set_defaults(handler=_mnist)

    d = sub.add_parser("diff", help="compare two results.json: verdicts changed, numbers moved, checks added/removed",
                       description="Compare two results.json files written by 'diffgen report' (or the report "
                                   "folders holding them), checks matched by name: the verdicts that changed (with "
                                   "each check's main statistic), every number of a check that moved beyond "
                                   "max(atol, rtol x max(|old|, |new|)) or changed kind, and the checks added or "
                                   "removed. Provenance is not compared. Exit status: 0 nothing that --fail-on "
                                   "watches changed, 1 it did, 2 bad input (a missing or unreadable file, not a "
                                   "results.json, two schemas).")
    d.add_argument("old", metavar="OLD", help="the baseline results.json (or its report folder)")
    d.add_argument("new", metavar="NEW", help="the results.json to compare with it (or its report folder)")
    d.add_argument("--rtol", type=float, default=diff.RTOL, help=f"relative tolerance (default {diff.RTOL:g})")
    d.add_argument("--atol", type=float, default=diff.ATOL,
                   help=f"absolute floor: smaller differences never count (default {diff.ATOL:g})")
    d.add_argument("--fail-on", choices=diff.FAIL_ON, default="verdicts",
                   help="exit 1 when a verdict changed or a check was added or removed (verdicts, the default), "
                        "also when any value of a check moved beyond tolerance or changed (numbers), or never (none)")
    d.add_argument("--json", action="store_true", help="print one JSON object instead of markdown")
    d.add_argument("--max-rows", type=int, default=100, metavar="N",
                   help="markdown: list at most N changed numbers (default 100; --json lists all)")
    d.set_defaults(handler=_diff)


def _diff(args: argparse.Namespace) -> int:
    result = diff.compare(diff.load_results(args.old, "OLD"), diff.load_results(args.new, "NEW"), args.rtol, args.atol)
    if args.json:
        print(json.dumps(diff_format.to_json(result, args.fail_on), allow_nan=False))
    else:
        print(diff_format.format_markdown(result, args.fail_on, args.max_rows), end="")
    return diff.exit_status(result, args.fail_on)


def _directory(flag: str):
    """A directory argument: any path but an empty or blank one (``Path("")`` would silently be the current directory)."""
    def parse(text: str) -> Path:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{flag} must name a directory, got an empty string {text!r}")
        return Path(text)
    return parse


def _execution_args(p: argparse.ArgumentParser, store_default: str) -> None:
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help=f"1: run serially in this process; N in [2, {WORKERS_MAX}]: a local Dask cluster of N "
                        "single-threaded worker processes (default: one per core)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help=f"run the tasks on an existing Dask scheduler, e.g. tcp://host:8786 (default: the "
                        f"environment variable {SCHEDULER_ENV}); overrides --workers")
    p.add_argument("--store", "--cache", dest="store", type=_directory("--store"), default=None, metavar="PATH",
                   help=f"the resumable result store (default {store_default}); on a cluster, results are "
                        "stored by this process as they arrive")


def _calibrate(args: argparse.Namespace) -> int:
    if args.bound is not None:
        return _calibrate_bound(args)
    if args.theorem is None:
        raise ValueError("--theorem: give 1 or 2 (the design to measure), or --bound EXPR")
    from ..calibrated import controls

    started = time.perf_counter()
    command = f"diffgen calibrate --theorem {args.theorem}"
    execution = Execution.from_args(args.workers, args.scheduler)
    store = ensure_writable_dir(args.store or Path(".cache/calibration"), "--store")
    with Executor(execution) as executor:
        runner = Runner(ResultCache(store), not args.no_progress, executor)
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


def _calibrate_bound(args: argparse.Namespace) -> int:
    from ..calibrated.user_bound import calibrate_bound, parse_bound

    if args.theorem is not None:
        raise ValueError("--theorem: not with --bound (the design is chosen by --target)")
    if not 10 <= args.replicates <= 10_000:
        raise ValueError(f"--replicates must be an integer in [10, 10000], got {args.replicates}")
    parse_bound(args.bound)  # refused before any measurement
    store = ensure_writable_dir(args.store or Path(".cache/calibration"), "--store")
    with Executor(Execution.from_args(args.workers, args.scheduler)) as executor:
        runner = Runner(ResultCache(store), not args.no_progress, executor)
        out = calibrate_bound(args.bound, args.target, args.draws, replicates=args.replicates, runner=runner)
    if args.json:
        print(json.dumps(to_jsonable(out), allow_nan=False))
        return 0
    print(f"bound: {out['bound']} ({args.target} design)\nverdict: {out['verdict']} (rule: {out['raw_verdict']}"
          f"{'; ' + out['reason'] if out['reason'] else ''})\nsize {out['size']:.3f}, power {out['power']:.2f}; "
          f"{out['draws_above']} of {out['held_out_draws']} draws above {out['threshold']:.3g} x bound, p = "
          f"{out['p_value']:.3g}")
    print(markdown_table([{"constant": k, "value": v, "identified": out["identified"][k]}
                          for k, v in out["constants"].items()], ["constant", "value", "identified"]))
    return 0


def _report(args: argparse.Namespace) -> int:
    execution = Execution.from_args(args.workers, args.scheduler)
    out = ensure_writable_dir(args.out or Path("reports") / args.scale, "--out")
    store = ensure_writable_dir(args.store, "--store") if args.store is not None else None
    try:
        result = build(SCALES[args.scale], out, not args.no_progress, execution, store, args.section)
    except ExactCheckFailed as err:
        print(f"diffgen: {err}", file=sys.stderr)
        return 1
    for c in result["checks"]:
        print(f"{c.verdict:>16}  {c.name}")
    print(f"report written to {out / 'report.md'}")
    return 0


def _mnist(args: argparse.Namespace) -> int:
    from ..designs.mnist import experiment, summary
    from ..sections.mnist import digit_grids, mnist_checks

    execution = Execution.from_args(args.workers, args.scheduler)
    if args.network and args.quick:
        raise ValueError("--quick applies to the random-feature route only; --network has one design (give --seeds)")
    if args.seeds is not None and not args.network:
        raise ValueError(f"--seeds applies to --network only (the random-feature route's seeds are fixed by its "
                         f"designs), got --seeds {args.seeds} without --network")
    if args.seeds is not None and not 1 <= args.seeds <= 100:
        raise ValueError(f"--seeds must be an integer in [1, 100], got {args.seeds}")
    out = ensure_writable_dir(args.out or Path("reports") / "mnist", "--out")
    store = ensure_writable_dir(args.store, "--store") if args.store is not None else out / ".cache"
    if args.network:
        return _mnist_network(args, out, store, execution)
    designs = SCALES["quick" if args.quick else "full"].mnist_designs
    with Executor(execution) as executor:
        runner = Runner(ResultCache(store), not args.no_progress, executor)
        results = [experiment(runner, d, f"MNIST pairs, K = {d.K}, d = {d.d}") for d in designs]
    summaries = [summary(r) for r in results]
    for d, r in zip(designs, results):
        digit_grids(r, out / f"mnist_samples_K{d.K}_d{d.d}.png")
    checks = mnist_checks(results[0], {"K": designs[0].K, "d": designs[0].d})
    doc = {"summaries": summaries, "checks": [c.to_json() for c in checks]}
    (out / "mnist.json").write_text(json.dumps(to_jsonable(doc), indent=1) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(to_jsonable(summaries[0])))
        return 0
    for d, s in zip(designs, summaries):
        print(f"K = {d.K}, d = {d.d}, m = {d.m}: " + "; ".join(
            f"{k} {s[k]['clusters']} distance {s[k]['center_distance']:.3g}: train NLL {s[k]['train_nll']:.4g}, "
            f"test NLL {s[k]['test_nll']:.4g}, gap {s[k]['gap']:.3g}" for k in ("nearest", "farthest")))
    for c in checks:
        print(f"{c.verdict:>16}  {c.name}")
    print(f"digit grids and mnist.json written to {out}")
    return 0


def _mnist_network(args: argparse.Namespace, out: Path, store: Path, execution: Execution) -> int:
    from ..designs.mnist_network import NetworkDesign, network_experiment, network_summary
    from ..sections.mnist import digit_grids

    design = NetworkDesign(seeds=tuple(range(1 if args.seeds is None else args.seeds)))
    with Executor(execution) as executor:
        result = network_experiment(Runner(ResultCache(store), not args.no_progress, executor), design)
    summary = network_summary(result)
    digit_grids(result, out / "mnist_network_samples.png")
    (out / "mnist_network.json").write_text(json.dumps(to_jsonable(summary), indent=1) + "\n", encoding="utf-8")
    print(json.dumps(to_jsonable(summary)) if args.json else
          "; ".join(f"{k} {summary[k]['clusters']}: train {summary[k]['train_nll']:.4g}, test {summary[k]['test_nll']:.4g} "
                    f"bits/dim, gap {summary[k]['gap']:.3g}" for k in ("nearest", "farthest")))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; the exit status, never a traceback for what a user can cause.

    - 2: invalid input (a ``ValueError``: one line on stderr naming the parameter), an argparse usage
      error, or an ``OSError`` reading or writing a file (one line naming the path);
    - 130: interrupted (Ctrl-C), with one line ``diffgen: interrupted`` on stderr;
    - 141 (128 + SIGPIPE), silently: stdout was closed early (``diffgen rates ... | head -0``).
    """
    try:
        args = build_parser().parse_args(argv)
        status = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe raises here, inside the handlers below, not at exit
        return status
    except KeyboardInterrupt:
        print("diffgen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        import os

        try:  # point stdout at /dev/null, so that the interpreter's final flush does not fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # no real descriptor (e.g. captured by a test)
            pass
        return 141
    except ValueError as err:
        print(f"diffgen: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        where = f"{err.filename}: " if err.filename is not None else ""
        print(f"diffgen: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

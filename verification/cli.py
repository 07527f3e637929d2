"""The ``diffgen`` command line: one parser, each subcommand registered by the package that owns it.

- ``bound``, ``early-stop``, ``rates``: :mod:`bounds.cli` (the bound calculator);
- ``measure``: :mod:`empirical.cli` (the measurement engine); ``train``: :mod:`empirical.train_cli` (trained
  networks, checkpoints measured);
- ``report``, ``calibrate``, ``mnist``: here (the claims layer, the only package that imports all three).

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
from empirical import cli as empirical_cli
from empirical import halves_cli, train_cli
from empirical.formats import markdown_table, to_jsonable

from . import heldout
from .cache import ResultCache
from .execution import SCHEDULER_ENV, Execution, Executor
from .files import ensure_writable_dir
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
    train_cli.register(sub)
    halves_cli.register(sub)
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
    _execution_args(p, "DIR/.cache of --out")
    p.set_defaults(handler=_report, scale="quick")

    c = sub.add_parser("calibrate", help="fit the hidden constants of a theorem's bound and of its negative controls",
                       description="Measure the calibration design (n, m in {8, 32, 128}, three mu, a fresh seed < "
                                   "10000 per cell, K1 on tau in [1, 1e8]), fit the smallest constants that make "
                                   "the simplified bound dominate max(K1, K2) (linear program), fit every negative "
                                   "control (verification/controls.py) by the same program, and freeze both in "
                                   "verification/data/.")
    c.add_argument("--theorem", type=int, choices=(1, 2), required=True)
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
    n.add_argument("--seeds", type=int, default=1, metavar="S", help="--network: seeds 0..S-1 of subsets and "
                   "model (default 1; each adds about 6 minutes)")
    n.add_argument("--json", action="store_true", help="print one JSON object (the first design's summary)")
    n.add_argument("--out", type=Path, default=None, help="directory for the digit grids (PNG) and mnist.json "
                   "(default reports/mnist)")
    n.add_argument("--no-progress", action="store_true")
    _execution_args(n, "DIR/.cache of --out")
    n.set_defaults(handler=_mnist)


def _execution_args(p: argparse.ArgumentParser, store_default: str) -> None:
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="1: run serially in this process; N >= 2: a local Dask cluster of N single-threaded "
                        "worker processes (default: one per core)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help=f"run the tasks on an existing Dask scheduler, e.g. tcp://host:8786 (default: the "
                        f"environment variable {SCHEDULER_ENV}); overrides --workers")
    p.add_argument("--store", "--cache", dest="store", type=Path, default=None, metavar="PATH",
                   help=f"the resumable result store (default {store_default}); on a cluster, results are "
                        "stored by this process as they arrive")


def _calibrate(args: argparse.Namespace) -> int:
    from . import controls

    started = time.perf_counter()
    command = f"diffgen calibrate --theorem {args.theorem}"
    store = ensure_writable_dir(args.store or Path(".cache/calibration"), "--store")
    with Executor(Execution.from_args(args.workers, args.scheduler)) as executor:
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


def _report(args: argparse.Namespace) -> int:
    out = ensure_writable_dir(args.out or Path("reports") / args.scale, "--out")
    store = ensure_writable_dir(args.store, "--store") if args.store is not None else None
    execution = Execution.from_args(args.workers, args.scheduler)
    try:
        result = build(SCALES[args.scale], out, not args.no_progress, execution, store)
    except ExactCheckFailed as err:
        print(f"diffgen: {err}", file=sys.stderr)
        return 1
    for c in result["checks"]:
        print(f"{c.verdict:>16}  {c.name}")
    print(f"report written to {out / 'report.md'}")
    return 0


def _mnist(args: argparse.Namespace) -> int:
    from .mnist import experiment, summary
    from .sections.mnist import digit_grids, mnist_checks

    out = ensure_writable_dir(args.out or Path("reports") / "mnist", "--out")
    store = ensure_writable_dir(args.store, "--store") if args.store is not None else out / ".cache"
    if args.network:
        return _mnist_network(args, out, store)
    designs = SCALES["quick" if args.quick else "full"].mnist_designs
    with Executor(Execution.from_args(args.workers, args.scheduler)) as executor:
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


def _mnist_network(args: argparse.Namespace, out: Path, store: Path) -> int:
    from .mnist_network import NetworkDesign, network_experiment, network_summary
    from .sections.mnist import digit_grids

    if not 1 <= args.seeds <= 100:
        raise ValueError(f"--seeds must be an integer in [1, 100], got {args.seeds}")
    design = NetworkDesign(seeds=tuple(range(args.seeds)))
    with Executor(Execution.from_args(args.workers, args.scheduler)) as executor:
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

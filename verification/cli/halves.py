"""``diffgen halves``: two models of the same random features trained on disjoint halves of the data.

Prints the score distance D(τ) between them, K1 of each and, in 1-D, the KL between their samplers
(:mod:`empirical.measure.halves`), as a table or one JSON object. Invalid input raises ``ValueError``; the
``diffgen`` dispatcher (:mod:`verification.cli`) turns it into exit status 2 and one line naming the
parameter.

References
----------
arXiv:2311.01797, model (12), flow (9), Lemma 2; docs/theory.md §4 and §11.
"""

from __future__ import annotations

import argparse

from .measure import _count, _floats, run_and_show
from empirical.measure.config import D_MAX, DIRECTIONS, LAMBDAS, LIMITS, TARGETS
from empirical.measure.halves import HalvesConfig, halves
from empirical.resources import DEFAULT_MAX_MEMORY_GIB


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``halves`` to the ``diffgen`` parser.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``diffgen`` dispatcher's subparsers; the handler runs :func:`empirical.measure.halves.halves`.
    """
    p = sub.add_parser("halves", help="two random-feature models trained on disjoint halves: their score "
                                      "distance, K1 of each, and (1-D) the KL between their samplers",
                       description="Draw n training points and m features as `diffgen measure` does with the same "
                                   "seed, train the model (12) by the exact flow on the first n//2 and on the next "
                                   "n//2 points, and measure at each tau the score distance D = 1/2 int g^2 "
                                   "E_{p_t} |s_1 - s_2|^2 dt (p_t the target's marginal), K1 of each half and, in "
                                   "d = 1, KL(q_1 || q_2) between the two reverse-SDE samplers.",
                       epilog="valid ranges: as for `diffgen measure` (diffgen measure --help), with --n >= 2. "
                              "Out-of-range input exits with status 2 and one line naming the parameter, before "
                              "any computation.")
    p.add_argument("--target", choices=TARGETS, default="gm", help="gm: two-mode Gaussian mixture; bump: two "
                   "compactly supported C1 bumps (d = 1 only)")
    p.add_argument("--mu", type=float, default=None, help=f"mode position, in (0, {LIMITS['mu']:g}] (default 3 for gm)")
    p.add_argument("--weights", type=_floats("--weights"), default=(0.5, 0.5), metavar="Q1,Q2",
                   help="mixture weights in (0, 1) summing to 1 (default 0.5,0.5)")
    p.add_argument("--n", type=_count("--n"), required=True,
                   help=f"training samples drawn, in [2, {LIMITS['n']:.0e}]; each half holds n // 2")
    p.add_argument("--m", type=_count("--m"), required=True, help="random features shared by both halves")
    p.add_argument("--tau", type=_floats("--tau"), required=True, metavar="T1,T2,...",
                   help=f"training times, 1 to {LIMITS['taus']} values in (0, {LIMITS['tau']:g}]")
    p.add_argument("--seed", type=_count("--seed"), required=True, help="master seed, an integer >= 0")
    p.add_argument("--d", type=_count("--d"), default=1, help=f"data dimension, in [1, {D_MAX}] (default 1)")
    p.add_argument("--lambda", dest="lam", choices=LAMBDAS, default="std", help="training weighting λ(t) of (6)")
    p.add_argument("--T", type=float, default=5.0, help=f"OU horizon, in [{LIMITS['T'][0]:g}, {LIMITS['T'][1]:g}]")
    p.add_argument("--t0", type=float, default=0.0, help="the integrals start, and the samplers stop, at t0 in [0, T)")
    p.add_argument("--direction", choices=DIRECTIONS, default="e1", help="axis of the modes in R^d")
    p.add_argument("--max-memory", type=float, default=DEFAULT_MAX_MEMORY_GIB, metavar="GIB",
                   help=f"refuse a run estimated to hold more than GIB GiB (default {DEFAULT_MAX_MEMORY_GIB:g})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--save-model", metavar="PATH.npz", help="write W, U, A1, A2, x1, x2, tau, T, embedding to this "
                   ".npz file (must end in .npz; its directory must exist; checked before computing)")
    p.set_defaults(handler=_halves)


def _halves(args: argparse.Namespace) -> int:
    config = HalvesConfig(target=args.target, mu=args.mu, weights=args.weights, n=args.n, m=args.m, taus=args.tau,
                          seed=args.seed, lam=args.lam, T=args.T, t0=args.t0, d=args.d, direction=args.direction)
    result = run_and_show(args, lambda: halves(config, max_memory=args.max_memory),
                          ("score_distance", "K1_half1", "K1_half2", "kl_between", "K2_half1", "K2_half2"))
    if result is None:
        return 0
    print("\ntimings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()))
    return 0

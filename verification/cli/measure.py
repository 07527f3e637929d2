"""``diffgen measure``: the measurement engine's subcommand (one measurement, printed as a table or JSON).

Invalid input raises ``ValueError``; the ``diffgen`` dispatcher (:mod:`verification.cli`) turns it
into exit status 2 and one line on stderr naming the parameter.

References
----------
arXiv:2311.01797, model (12), flows (9)-(10), decomposition (15), Lemma 2; docs/theory.md §4.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Callable

from ..output.formats import per_tau_table, to_jsonable
from empirical.measure.config import D_MAX, DIRECTIONS
from empirical.measure import LAMBDAS, LIMITS, TARGETS, MeasureConfig, measure
from empirical.measure.outputs import output_file
from empirical.resources import DEFAULT_MAX_MEMORY_GIB

RANGES = (
    f"valid ranges: --n and --m integers in [1, {LIMITS['n']:.0e}] (1e3 is accepted as 1000), and together "
    f"under the memory cap (--max-memory, default {DEFAULT_MAX_MEMORY_GIB:g} GiB: the m x m arrays of the model "
    f"and of its nested model of 4m features, estimated in empirical/resources.py; m = 4096 with the nested "
    f"model is about 13 GiB); --mu in (0, {LIMITS['mu']:g}] for gm, (1, {LIMITS['mu']:g}] for bump (the bumps "
    f"also need mu <= about 6 sqrt(T) - 1, their x-quadrature's limit); --tau 1 to {LIMITS['taus']} values "
    f"in (0, {LIMITS['tau']:g}]; --T in [{LIMITS['T'][0]:g}, {LIMITS['T'][1]:g}]; --t0 in [0, T); --seed an "
    f"integer >= 0; --weights two numbers in (0, 1) summing to 1; --d an integer in [1, {D_MAX}] (K2 exists for "
    "d <= 2, K4 for d = 1: asking for them elsewhere is an error). Out-of-range input exits with status 2 and "
    "one line naming the parameter, before any computation."
)


def _floats(name: str):
    def parse(text: str) -> tuple[float, ...]:
        try:
            return tuple(float(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be comma-separated numbers, got {text!r}") from None
    return parse


def _count(name: str):
    """An integer, also written as 1e3 (a float with no fractional part, finite)."""
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            pass
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value == value and abs(value) != float("inf") and value.is_integer()):
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}")
        return int(value)
    return parse


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``measure`` to the ``diffgen`` parser.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``diffgen`` dispatcher's subparsers; the handler runs :func:`empirical.measure.measure`.
    """
    p = sub.add_parser("measure", help="train the random-feature score model and measure K1..K4, I1..I3",
                       description="Train the random-feature score model (12) by the exact gradient flows "
                                   "(9)-(10) and measure KL(p0 || p_theta) four ways at each training time tau.",
                       epilog=RANGES)
    p.add_argument("--target", choices=TARGETS, default="gm", help="gm: two-mode Gaussian mixture (Theorem 2); "
                   "bump: two compactly supported C1 bumps (Theorem 1)")
    p.add_argument("--mu", type=float, default=None, help=f"mode position, in (0, {LIMITS['mu']:g}] "
                   f"((1, {LIMITS['mu']:g}] for bump; default 3 for gm, 1.5 for bump)")
    p.add_argument("--weights", type=_floats("--weights"), default=(0.5, 0.5), metavar="Q1,Q2",
                   help="mixture weights in (0, 1) summing to 1 (default 0.5,0.5)")
    p.add_argument("--n", type=_count("--n"), required=True, help=f"number of training samples, in [1, {LIMITS['n']:.0e}]")
    p.add_argument("--m", type=_count("--m"), required=True,
                   help=f"number of random features, in [1, {LIMITS['m']:.0e}] and under --max-memory")
    p.add_argument("--tau", type=_floats("--tau"), required=True, metavar="T1,T2,...",
                   help=f"training times, 1 to {LIMITS['taus']} values in (0, {LIMITS['tau']:g}]")
    p.add_argument("--seed", type=_count("--seed"), required=True, help="master seed, an integer >= 0")
    p.add_argument("--lambda", dest="lam", choices=LAMBDAS, default="std", help="weighting λ(t) of (6)")
    p.add_argument("--T", type=float, default=5.0,
                   help=f"horizon of the OU forward process, in [{LIMITS['T'][0]:g}, {LIMITS['T'][1]:g}] (default 5)")
    p.add_argument("--t0", type=float, default=0.0, help="the samplers stop at t0, in [0, T) (needs > 0 with --lambda g2)")
    p.add_argument("--kl", default=None, help="which measurements, comma-separated, K1 always (default: every KL "
                   "that exists in dimension d: K1-K4 in d = 1, K1-K3 in d = 2, K1 and K3 above)")
    p.add_argument("--d", type=_count("--d"), default=1, help=f"data dimension, an integer in [1, {D_MAX}] "
                   "(default 1; d >= 2 needs --target gm, and d x m is bounded by --max-memory)")
    p.add_argument("--direction", choices=DIRECTIONS, default="e1",
                   help="axis of the modes in R^d: e1, or a uniform random unit vector from the seed")
    p.add_argument("--ode-samples", type=_count("--ode-samples"), default=4000,
                   help="d >= 2: points x ~ p0 of the Monte-Carlo ODE-KL K3, in [2, 1e6] (default 4000)")
    p.add_argument("--memorisation", action="store_true",
                   help="also measure memorised_fraction: the probability under the reverse-SDE sampler's law that "
                        "the nearest training point is closer than 1/3 of the second nearest (exact in d = 1; "
                        "sampled in d >= 2, with memorised_fraction_se); needs n >= 2")
    p.add_argument("--memorisation-samples", type=_count("--memorisation-samples"), default=4000,
                   help="d >= 2: sampler draws per tau for memorised_fraction, in [2, 1e6] (default 4000)")
    p.add_argument("--noise-draws", type=_count("--noise-draws"), default=None, metavar="K",
                   help="train on the empirical loss with K fixed noise draws per training point and t node, "
                        "in [1, 1e6] (default: exact in the noise)")
    p.add_argument("--max-memory", type=float, default=DEFAULT_MAX_MEMORY_GIB, metavar="GIB",
                   help=f"refuse, before computing, a run estimated to hold more than GIB GiB "
                        f"(default {DEFAULT_MAX_MEMORY_GIB:g}; empirical/resources.py)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--save-model", metavar="PATH.npz", help="write W, U, A, x_train, tau, T, embedding and the "
                   "configuration (target, mu, weights, seed, SDE, direction) to this .npz file (must end in .npz; "
                   "its directory must exist; checked writable before computing; never written through a link)")
    p.set_defaults(handler=_measure)


def run_and_show(args: argparse.Namespace, compute: Callable[[], Any], columns: tuple[str, ...]) -> Any | None:
    """The shared body of ``diffgen measure`` and ``diffgen halves``: refuse a bad ``--save-model`` path before
    computing, compute, save the model, then print one JSON object (``--json``; returns None) or the per-τ table of
    ``columns`` (returns the result, for the command's footer)."""
    save = output_file(args.save_model, "--save-model", ".npz")
    result = compute()
    if save is not None:
        result.save_model(str(save))
    out = result.to_json()
    if args.json:
        print(json.dumps(to_jsonable(out)))
        return None
    print(per_tau_table(out, columns))
    return result


def _measure(args: argparse.Namespace) -> int:
    config = MeasureConfig(target=args.target, mu=args.mu, weights=args.weights, n=args.n, m=args.m,
                           taus=args.tau, seed=args.seed, lam=args.lam, T=args.T, t0=args.t0,
                           kl=None if args.kl is None else tuple(k.strip() for k in args.kl.split(",")),
                           d=args.d, direction=args.direction, ode_samples=args.ode_samples,
                           memorisation=args.memorisation, memorisation_samples=args.memorisation_samples,
                           noise_draws=args.noise_draws)
    result = run_and_show(args, lambda: measure(config, max_memory=args.max_memory),
                          ("K1", "K2", "K3", "K3_se", "K4", "I1", "I2", "I3", "memorised_fraction",
                           "memorised_fraction_se"))
    if result is None:
        return 0
    print(f"\nexact checks hold (Lemmas 4-5 on both flows; I2 and K1 evaluated a second way): "
          f"{all(v['holds'] for v in result.lemmas.values())}; timings (s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()))
    return 0

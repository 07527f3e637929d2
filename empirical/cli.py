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

from .formats import markdown_table, to_jsonable
from .measure import LAMBDAS, TARGETS, MeasureConfig, measure


def _floats(name: str):
    def parse(text: str) -> tuple[float, ...]:
        try:
            return tuple(float(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be comma-separated numbers, got {text!r}") from None
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
                                   "(9)-(10) and measure KL(p0 || p_theta) four ways at each training time tau.")
    p.add_argument("--target", choices=TARGETS, default="gm", help="gm: two-mode Gaussian mixture (Theorem 2); "
                   "bump: two compactly supported C1 bumps (Theorem 1)")
    p.add_argument("--mu", type=float, default=None, help="mode position (default 3 for gm, 1.5 for bump)")
    p.add_argument("--weights", type=_floats("--weights"), default=(0.5, 0.5), metavar="Q1,Q2")
    p.add_argument("--n", type=int, required=True, help="number of training samples")
    p.add_argument("--m", type=int, required=True, help="number of random features")
    p.add_argument("--tau", type=_floats("--tau"), required=True, metavar="T1,T2,...", help="training times")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--lambda", dest="lam", choices=LAMBDAS, default="std", help="weighting λ(t) of (6)")
    p.add_argument("--T", type=float, default=5.0, help="horizon of the OU forward process")
    p.add_argument("--t0", type=float, default=0.0, help="the samplers stop at t0 (needs > 0 with --lambda g2)")
    p.add_argument("--kl", default="K1,K2,K3,K4", help="which measurements (K1 always)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--save-model", metavar="PATH", help="write W, U, A, x_train, tau, T, embedding to an .npz")
    p.set_defaults(handler=_measure)


def _measure(args: argparse.Namespace) -> int:
    config = MeasureConfig(target=args.target, mu=args.mu, weights=args.weights, n=args.n, m=args.m,
                           taus=args.tau, seed=args.seed, lam=args.lam, T=args.T, t0=args.t0,
                           kl=tuple(k.strip() for k in args.kl.split(",")))
    result = measure(config)
    if args.save_model:
        result.save_model(args.save_model)
    out = result.to_json()
    if args.json:
        print(json.dumps(to_jsonable(out)))
        return 0
    rows = [{"tau": t, **{k: out[k][i] for k in ("K1", "K2", "K3", "K4", "I1", "I2", "I3")}}
            for i, t in enumerate(out["tau"])]
    print(markdown_table(rows, ["tau", "K1", "K2", "K3", "K4", "I1", "I2", "I3"]))
    print(f"\nlemmas 4-5 hold on both flows: "
          f"{all(v['holds'] for v in result.lemmas.values())}; timings (s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()))
    return 0

"""``diffgen bound | early-stop | rates``: the bound calculator's subcommands.

Invalid input raises ``ValueError`` (the dispatcher turns it into exit status 2 and one line on
stderr naming the parameter); argparse usage errors also exit with status 2.

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: Theorems 1 and 2 (``bound``), corollary (16) (``early-stop``, ``rates``).
docs/theory.md §5 and §6.
"""

from __future__ import annotations

import argparse
import json

from bounds.bound import Bound
from bounds.early_stopping import early_stopping_time
from bounds.rate_inputs import EXPONENT_MAX, parse_exponent
from bounds.rates import rates
from bounds.theorem1 import theorem1
from bounds.theorem2 import DEFAULT_POLY_DEGREE, theorem2

VARIABLES = ("n", "m", "tau", "mu", "delta", "d")


RANGES = (
    "valid ranges: n, m, tau in [1, 1e30]; mu in (sqrt(log(1/delta^2)), min(1e6, 10^(100/k))], i.e. "
    "mu^k <= 1e100; k in (0, 100]; delta in (0, 1); d in [1, 1e6]. The lower ends n, m, tau, d >= 1 and "
    "mu > sqrt(log(1/delta^2)) are the theorems' hypotheses (--outside-hypotheses relaxes them to > 0); the "
    "upper ends keep every term inside a double. Out-of-range input exits with status 2 and one line naming "
    "the parameter; no result is ever printed as NaN or Infinity."
)


def _theorem_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--theorem", type=int, choices=(1, 2), required=True, help="Theorem 1 or Theorem 2 of the paper")
    p.add_argument("--form", choices=("simplified", "full"), default="simplified", help="default: simplified")
    p.add_argument("--k", type=float, default=DEFAULT_POLY_DEGREE,
                   help="Theorem 2: degree of Poly(mu), in (0, 100] (default 6; the full form needs 6)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _value_options(p: argparse.ArgumentParser, with_tau: bool) -> None:
    p.add_argument("--n", type=float, required=True, help="number of training samples, in [1, 1e30]")
    p.add_argument("--m", type=float, required=True, help="number of random features, in [1, 1e30]")
    if with_tau:
        p.add_argument("--tau", type=float, required=True, help="training time, in [1, 1e30]")
    p.add_argument("--mu", type=float, help="Theorem 2 (required there): mode position, in "
                   "(sqrt(log(1/delta^2)), min(1e6, 10^(100/k))]")
    p.add_argument("--delta", type=float, help="confidence, in (0, 1) (default 0.05)")
    p.add_argument("--d", type=float, help="Theorem 1: data dimension, in [1, 1e6] (default 1)")
    p.add_argument("--outside-hypotheses", dest="check_hypotheses", action="store_false",
                   help="evaluate even outside the theorem's hypotheses (tau < 1, mu too small, ...), with a warning")


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the ``diffgen`` parser.

    ``bound`` evaluates Theorem 1 or 2 and each of its terms; ``early-stop`` prints τ_es ≥ 1 and the
    bound there; ``rates`` prints the exponents of n for m ~ n^a. Each subcommand sets ``handler``, a
    function of the parsed arguments that prints and returns the exit status 0.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The result of ``parser.add_subparsers()``.

    References
    ----------
    Theorems 1 and 2 and corollary (16) of the paper (module References); docs/theory.md §5 and §6.

    Examples
    --------
    ``diffgen rates --theorem 1`` reproduces corollary (16):

    >>> import argparse
    >>> from bounds.cli import register
    >>> parser = argparse.ArgumentParser(prog="diffgen")
    >>> register(parser.add_subparsers())
    >>> args = parser.parse_args(["rates", "--theorem", "1"])
    >>> args.handler(args)
    m ~ n^1: tau_es ~ n^2/5, bound ~ n^-2/5
      balance: gen_mn vs opt
      gen_mn: n^-2/5
      gen_m2: n^-4/5
      opt: n^-2/5
      rf: n^-1
    0
    >>> args = parser.parse_args(["early-stop", "--theorem", "2", "--n", "1000", "--m", "1000", "--mu", "3"])
    >>> args.handler(args)
    Theorem 2 (simplified): tau_es = 3.07677, bound at tau_es = 0.420578
    0
    """
    p = sub.add_parser("bound", help="evaluate Theorem 1 or 2 and each of its terms", epilog=RANGES)
    _theorem_options(p)
    _value_options(p, with_tau=True)
    p.add_argument("--latex", action="store_true", help="also print the bound in LaTeX")
    p.set_defaults(handler=_cmd_bound)

    p = sub.add_parser("early-stop", help="early-stopping time tau_es >= 1 and the bound there", epilog=RANGES)
    _theorem_options(p)
    _value_options(p, with_tau=False)
    p.set_defaults(handler=_cmd_early_stop)

    p = sub.add_parser("rates", help="exponents of n in tau_es and in the early-stopped bound for m ~ n^a")
    _theorem_options(p)
    p.add_argument("--m-exponent", default="1", help="a in m = c n^a, a positive rational like 1 or 3/2, "
                   f"numerator and denominator at most {EXPONENT_MAX:g} (default 1)")
    p.set_defaults(handler=_cmd_rates)


def _bound(args: argparse.Namespace) -> Bound:
    if args.theorem == 1:
        return theorem1(form=args.form)
    return theorem2(k=args.k, form=args.form)


def _values(args: argparse.Namespace) -> dict[str, float]:
    return {k: getattr(args, k) for k in VARIABLES if getattr(args, k, None) is not None}


def _inputs(bound: Bound, args: argparse.Namespace, resolved: dict) -> dict[str, object]:
    shown = {k: float(resolved[k]) for k in (*VARIABLES, "T") if k in resolved}
    extra = {"k": args.k} if args.theorem == 2 else {}
    return {"theorem": args.theorem, "form": args.form, **extra, **shown}


def _cmd_bound(args: argparse.Namespace) -> int:
    bound = _bound(args)
    values = _values(args)
    check = args.check_hypotheses
    resolved = bound.resolve(check, **values)
    total, terms = bound.evaluate(check, **values), bound.evaluate_terms(check, **values)
    if args.json:
        out = {"bound": total, "terms": terms, "inputs": _inputs(bound, args, resolved)}
        if args.latex:
            out["latex"] = bound.latex()
        print(json.dumps(out, allow_nan=False))
        return 0
    print(f"{bound.name}: bound = {total:.6g}")
    width = max(len(k) for k in terms)
    for name, value in terms.items():
        print(f"  {name:<{width}}  {value:.6g}")
    if args.latex:
        print(bound.latex())
    return 0


def _cmd_early_stop(args: argparse.Namespace) -> int:
    bound = _bound(args)
    values = _values(args)
    result = early_stopping_time(bound, check_hypotheses=args.check_hypotheses, **values)
    resolved = bound.resolve(args.check_hypotheses, tau=result.tau_es, **values)
    if args.json:
        out = {
            "tau_es": result.tau_es,
            "bound_at_tau_es": result.bound_at_tau_es,
            "clamped": result.clamped,
            "inputs": {k: v for k, v in _inputs(bound, args, resolved).items() if k != "tau"},
        }
        print(json.dumps(out, allow_nan=False))
        return 0
    note = " (clamped to tau >= 1)" if result.clamped else ""
    print(f"{bound.name}: tau_es = {result.tau_es:.6g}{note}, bound at tau_es = {result.bound_at_tau_es:.6g}")
    return 0


def _cmd_rates(args: argparse.Namespace) -> int:
    exponent = parse_exponent(args.m_exponent, "--m-exponent")
    result = rates(_bound(args), m_exponent=exponent).as_json()
    if args.json:
        print(json.dumps(result, allow_nan=False))
        return 0
    print(f"m ~ n^{result['m_exponent']}: tau_es ~ n^{result['tau_es_exponent']}, bound ~ n^{result['bound_exponent']}")
    print(f"  balance: {' vs '.join(result['balance'] or ['clamped at tau = 1'])}")
    for name, exponent in result["term_exponents"].items():
        print(f"  {name}: n^{exponent}")
    if result["tau_es_mu_exponent"] is not None:
        print(f"  mu: tau_es ~ mu^{result['tau_es_mu_exponent']}, bound ~ mu^{result['bound_mu_exponent']}")
    return 0

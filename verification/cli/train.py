"""``diffgen train``: train one score network by DSM and measure every checkpoint (docs/theory.md §9.2).

Invalid input raises ``ValueError`` naming the parameter; the ``diffgen`` dispatcher
(:mod:`verification.cli`) turns it into exit status 2 and one line on stderr. Every numeric flag has a
range (:data:`RANGES`, the parser's epilog); a run estimated above ``--max-memory`` is refused before
training; ``--save-model`` is checked writable first (:func:`empirical.measure.outputs.output_file`). A run that
diverges (:class:`empirical.training.TrainingDiverged`) is refused the same way, naming ``--lr``, and prints
no record.

Seeds: ``--seed`` is split by ``numpy.random.SeedSequence(seed).spawn(3)`` into the data draw (n points
from the target), the model's initial weights (or random features) and the training generator
(order, t, z), so the same seed gives the same JSON on the CPU.

References
----------
arXiv:2311.01797, Figs. 3-5, 8-11; docs/theory.md §3.1 and §10.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings

import numpy as np

from empirical import sde as sde_module
from .measure import _count, _floats
from ..output.formats import markdown_table, to_jsonable
from empirical.rf.loss import population_loss
from empirical.training.devices import resolve_device
from empirical.measure.config import LIMITS as MEASURE_LIMITS
from empirical.measure.outputs import output_file
from empirical.resources import DEFAULT_MAX_MEMORY_GIB, check_train_resources
from empirical.training.nets import build_net, save_checkpoints
from empirical.targets import two_mode
from empirical.training import OPTIMIZERS, TrainingDiverged, measure_checkpoint, sde_eps, split_seed, train

MU_MAX = MEASURE_LIMITS["mu"]

LIMITS = {"width": 2**14, "epochs": 10**6, "eval_every": 10**6, "batch_size": 10**6, "n": 10**6}
"""Upper ends of the integer flags of ``diffgen train`` (the paper's widest network has 2^11 units; a checkpoint
of width 2^14 takes minutes); the memory cap (``--max-memory``, :func:`empirical.resources.check_train_resources`)
binds on width and n together."""

RANGES = (
    f"valid ranges: --width an integer in [1, {LIMITS['width']}]; --epochs in [0, {LIMITS['epochs']:.0e}]; "
    f"--eval-every and --batch-size in [1, {LIMITS['eval_every']:.0e}]; --n in [1, {LIMITS['n']:.0e}]; width, n "
    f"and batch size together under --max-memory (default {DEFAULT_MAX_MEMORY_GIB:g} GiB, estimated in "
    f"empirical/resources.py); --lr a finite number > 0; --mu in (0, {MU_MAX:g}]; --weights two numbers in (0, 1) "
    "summing to 1; --seed an integer >= 0. A run whose loss, parameters or score become NaN or infinite (or "
    "whose loss grows 1e8-fold) stops and exits with status 2 naming --lr (lower it), printing no record; no "
    "record holds a NaN (K4 and K4_065 are inf where exp(integrated score) is not normalisable). Out-of-range "
    "input exits with status 2 and one line naming the flag, before any training."
)

KEYS = ("epoch", "train_loss", "K1", "K2", "K3", "K4", "K4_065", "grid_kl", "grid_kl_wide", "mass_pos", "pop_loss",
        "pop_loss_min", "seconds")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train`` to the ``diffgen`` parser.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``diffgen`` dispatcher's subparsers; the handler is :func:`run`.

    Examples
    --------
    >>> import argparse
    >>> from verification.cli.train import register
    >>> parser = argparse.ArgumentParser(prog="diffgen")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args("train --net rf --width 8 --epochs 2 --eval-every 1 --sde ou".split())
    >>> args.net, args.width, args.optimizer, args.lr, args.sde
    ('rf', 8, 'sgd', 0.5, 'ou')
    """
    p = sub.add_parser("train", help="train a score network by DSM (SGD/Adam) and measure K1-K4 at each checkpoint",
                       description="Train the authors' one-hidden-layer Swish network or the random-feature model "
                                   "(12) by denoising score matching (one t and one z per sample per step, batch 32) "
                                   "and measure each checkpoint: K1 (score bound), K2 (reverse SDE), K3 (ODE), "
                                   "K4 (integrated score) at the SDE's eps and at 0.065, the authors' grid metric, "
                                   "and the sampler's mass on x > 0.", epilog=RANGES)
    p.add_argument("--net", choices=("swish", "rf"), default="swish", help="swish: the authors' network; rf: model (12)")
    p.add_argument("--width", type=_count("--width"), default=16,
                   help=f"hidden units / random features, in [1, {LIMITS['width']}] (default 16)")
    p.add_argument("--factor", choices=("1/16", "1/width"), default="1/16", help="swish output factor (default 1/16)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="plain SGD or Adam (default sgd)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate > 0 (default 0.5; the authors' Adam: 1e-3)")
    p.add_argument("--epochs", type=_count("--epochs"), default=2000, help="epochs E >= 0 (checkpoints include E)")
    p.add_argument("--eval-every", type=_count("--eval-every"), default=100, help="checkpoint stride S >= 1")
    p.add_argument("--batch-size", type=_count("--batch-size"), default=32, help="minibatch size (default 32)")
    p.add_argument("--target", choices=("gm",), default="gm", help="gm: q1 N(-mu, 1) + q2 N(mu, 1)")
    p.add_argument("--mu", type=float, default=3.0, help=f"mode position mu in (0, {MU_MAX:g}] (default 3)")
    p.add_argument("--weights", type=_floats("--weights"), default=(0.5, 0.5), metavar="Q1,Q2",
                   help="mixture weights in (0, 1) summing to 1 (default 0.5,0.5)")
    p.add_argument("--n", type=_count("--n"), default=1000, help="training points (default 1000)")
    p.add_argument("--seed", type=_count("--seed"), default=0, help="master seed >= 0 (data, model, training)")
    p.add_argument("--sde", choices=tuple(sde_module.SDES), default="ve", help="forward SDE: ve (sigma 25, eps 1e-5; default) or ou")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    p.add_argument("--json", action="store_true", help="print a JSON list, one record per checkpoint")
    p.add_argument("--max-memory", type=float, default=DEFAULT_MAX_MEMORY_GIB, metavar="GIB",
                   help=f"refuse, before training, a run estimated to hold more than GIB GiB (default "
                        f"{DEFAULT_MAX_MEMORY_GIB:g}; empirical/resources.py)")
    p.add_argument("--save-model", metavar="PATH", help="torch.save every checkpoint's weights and the run's "
                   "arguments (net, target, SDE, seeds, optimiser) to PATH, checked writable before training and "
                   "never written through a link (reload a score callable with empirical.training.nets.load_score(PATH, epoch))")
    p.set_defaults(handler=run)


def _check(args: argparse.Namespace) -> None:
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise ValueError(f"--lr must be a finite number > 0, got {args.lr!r}")
    if not (math.isfinite(args.mu) and 0 < args.mu <= MU_MAX):
        raise ValueError(f"--mu must be a number in (0, {MU_MAX:g}], got {args.mu!r}")
    q = args.weights
    if len(q) != 2 or not all(0 < v < 1 for v in q) or abs(sum(q) - 1) > 1e-9:
        raise ValueError(f"--weights must be two numbers in (0, 1) summing to 1, got {q!r}")
    for name, low in (("width", 1), ("epochs", 0), ("eval_every", 1), ("batch_size", 1), ("n", 1), ("seed", 0)):
        value, high = getattr(args, name), LIMITS.get(name)
        if value < low or (high is not None and value > high):
            span = f"in [{low}, {high}]" if high is not None else f">= {low}"
            raise ValueError(f"--{name.replace('_', '-')} must be an integer {span}, got {value!r}")
    resolve_device(args.device)
    check_train_resources(args.net, args.width, args.n, args.batch_size, getattr(args, "max_memory", None))
    output_file(args.save_model, "--save-model")


def run_training(args: argparse.Namespace) -> list[dict]:
    """The records of one ``diffgen train`` run (the handler's work, without printing).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by the parser of :func:`register`.

    Returns
    -------
    list of dict
        One per checkpoint, keys :data:`KEYS` (``seconds``: training time so far, not deterministic).
    """
    _check(args)
    sde = sde_module.sde_by_name(args.sde)
    target = two_mode(args.mu, tuple(args.weights), sde=sde)
    s_data, s_model, s_train = split_seed(args.seed)
    x = target.sample(args.n, np.random.default_rng(s_data))
    net = build_net(args.net, args.width, sde, s_model, args.factor)
    k1_loss = population_loss(target, net.features, "g2", t0=sde_eps(sde)) if args.net == "rf" else None
    states = {}

    def callback(epoch, model, loss):
        if args.save_model:
            states[epoch] = {k: v.clone() for k, v in model.state_dict().items()}
        return measure_checkpoint(target, model.score, k1_loss=k1_loss)

    with warnings.catch_warnings(record=True) as caught:  # shown only if the run completes
        warnings.simplefilter("always")
        try:
            records = train(net, x, optimizer=args.optimizer, lr=args.lr, epochs=args.epochs,
                            eval_every=args.eval_every, seed=s_train, device=args.device, callback=callback,
                            batch_size=args.batch_size)
        except TrainingDiverged as err:
            raise ValueError(f"--lr {args.lr:g} (--optimizer {args.optimizer}): training diverged at epoch "
                             f"{err.epoch} ({err.reason}); lower --lr (no record is printed)") from None
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if args.save_model:
        meta = dict(net=args.net, width=args.width, seed=s_model, factor=args.factor, sde=args.sde, T=sde.T,
                    target=args.target, mu=args.mu, weights=list(args.weights), n=args.n, master_seed=args.seed,
                    data_seed=s_data, train_seed=s_train, optimizer=args.optimizer, lr=args.lr, epochs=args.epochs,
                    eval_every=args.eval_every, batch_size=args.batch_size)
        save_checkpoints(args.save_model, meta, states)
    return [{k: r[k] for k in KEYS} for r in records]


def run(args: argparse.Namespace) -> int:
    """Handler of ``diffgen train``: JSON list with ``--json`` (``seconds`` left out, so a seed gives
    identical output), else a table."""
    records = run_training(args)
    if args.json:
        print(json.dumps(to_jsonable([{k: v for k, v in r.items() if k != "seconds"} for r in records])))
        return 0
    print(markdown_table(records, list(KEYS)))
    return 0

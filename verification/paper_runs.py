"""The paper's own experiments (Figs. 3-5, 8-11) as stored training runs (docs/theory.md §10).

One task is one training run of :func:`empirical.training.train`: (net, width, optimizer, lr, epochs,
eval_every, mu, weights, n, seed, sde) and the measurements taken at each checkpoint. The seed is split
by :func:`empirical.training.split_seed` as ``diffgen train`` splits it (data draw, model weights, training
generator), so a task's records are those of ``diffgen train`` with the same arguments.

- :class:`PaperRun`: DSM training (the authors' loop), measured every ``eval_every`` epochs. With
  ``stop_epoch`` and ``kl_target`` set (Fig. 11) the run stops as soon as both the value at epoch
  ``stop_epoch`` and the first epoch with K2 <= ``kl_target`` are known; ``epochs`` is then the cap.
- :class:`FlowRun`: the random-feature model (12) trained by minibatch DSM SGD (the same loop) and by
  full-batch gradient descent on the exact empirical loss, beside the exact gradient flow
  (:func:`empirical.flow.gradient_flow`) at τ = lr x steps; K2 of all three at each checkpoint.

Every task is a JSON-ready dict stored by its parameters (:meth:`verification.runner.Runner.run_tasks`);
``PAPER_VERSION`` is part of the key.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from empirical.features import rf_score
from empirical.flow import gradient_flow
from empirical.kl import kl_sde
from empirical.loss import empirical_loss, population_loss
from empirical.nets import build_net
from empirical.sde import sde_by_name
from empirical.targets import two_mode
from empirical.training import BATCH_SIZE, MEASURES, TrainingDiverged, measure_checkpoint, sde_eps, split_seed, train

from .runner import Runner

PAPER_VERSION = 4
"""Part of every task's store key: incremented when a change alters the numbers of a task (4: K4 is +inf
where exp(∫s) is not normalisable, and a run whose score turns non-finite is recorded as diverged)."""

TIME_CONTROLS = (0.5, 2.0)
"""Negative controls of the discrete-vs-flow check: the exact flow at c x τ, a time unit wrong by the factor c."""


class _Stop(Exception):
    """Raised by a callback to end a run early (Fig. 11's stopping rule, or a diverged loss)."""


@dataclass(frozen=True)
class PaperRun:
    """One training run of the authors' experiment, measured at epochs 0, S, 2S, ..., E; at the checkpoints in
    ``density_epochs`` the record also holds the sampler's density on :func:`density_grid` (key "density", from
    the law K2 was measured on: :func:`empirical.training.measure_checkpoint`). ``batch_size`` None is full-batch
    DSM gradient descent (one step per epoch on all n points, fresh (t, z) per step); at the authors' 32 it is
    left out of the key, so the runs stored before it existed keep their keys."""

    net: str = "swish"
    width: int = 16
    optimizer: str = "sgd"
    lr: float = 0.5
    epochs: int = 2001
    eval_every: int = 10
    mu: float = 3.0
    weights: tuple[float, float] = (0.5, 0.5)
    n: int = 1000
    seed: int = 0
    sde: str = "ve"
    measures: tuple[str, ...] = MEASURES
    stop_epoch: int | None = None
    kl_target: float | None = None
    density_epochs: tuple[int, ...] = ()
    batch_size: int | None = BATCH_SIZE

    def key(self) -> dict:
        """The task's store key."""
        fields = asdict(self)
        if fields["batch_size"] == BATCH_SIZE:
            del fields["batch_size"]
        return {"paper": PAPER_VERSION, "kind": "train", **fields}


DENSITY_POINTS = 321
"""Points of the display grid on which a checkpoint's sampler density is stored."""


def density_grid(mu: float) -> np.ndarray:
    """The display grid of a run's densities: [-µ - 4, µ + 4] (both modes and four standard deviations beyond)."""
    return np.linspace(-mu - 4.0, mu + 4.0, DENSITY_POINTS)


def run_paper(task: PaperRun) -> dict:
    """Train and measure one :class:`PaperRun`: ``{"task", "records", "stopped", "diverged"}``, records as
    :func:`empirical.training.train` makes them (``epoch``, ``train_loss`` and the measurements; no
    wall-clock seconds, so a stored result is deterministic). ``diverged`` is True when the loss, a parameter
    or the model's score became NaN or infinite (:class:`empirical.training.TrainingDiverged`); the records
    are then those before, all finite but K4 and K4_065, which are +inf where exp(∫s) is not normalisable."""
    sde = sde_by_name(task.sde)
    target = two_mode(task.mu, tuple(task.weights), sde=sde)
    s_data, s_model, s_train = split_seed(task.seed)
    x = target.sample(task.n, np.random.default_rng(s_data))
    net = build_net(task.net, task.width, sde, s_model)
    k1_loss = population_loss(target, net.features, "g2", t0=sde_eps(sde)) if task.net == "rf" and "K1" in task.measures else None
    records: list[dict] = []
    state = {"stopped": None, "diverged": False}
    xs = density_grid(task.mu)

    def callback(epoch, model, loss):
        if not math.isfinite(loss):
            state["diverged"] = True
            raise _Stop
        rec = {"epoch": epoch, "train_loss": float(loss),
               **measure_checkpoint(target, model.score, k1_loss=k1_loss, keys=task.measures,
                                    density_x=xs if epoch in task.density_epochs else None)}
        records.append(rec)
        if task.stop_epoch is not None and task.kl_target is not None:
            reached = any(r["K2"] <= task.kl_target for r in records)
            if epoch >= task.stop_epoch and reached:
                state["stopped"] = epoch
                raise _Stop
        return None

    try:
        train(net, x, optimizer=task.optimizer, lr=task.lr, epochs=task.epochs, eval_every=task.eval_every,
              seed=s_train, callback=callback, batch_size=task.batch_size)
    except _Stop:
        pass
    except TrainingDiverged:  # the loss, a parameter or the score became non-finite: the records before are kept
        state["diverged"] = True
    out = {"task": task.key(), "records": records, **state}
    if task.density_epochs:
        out["density_x"] = xs.tolist()
    return out


@dataclass(frozen=True)
class FlowRun:
    """The model (12) with m features: minibatch DSM SGD, full-batch GD on the exact empirical loss, and
    the exact flow, at the checkpoints τ = lr x steps."""

    m: int = 16
    lr: float = 0.05
    epochs: int = 200
    eval_every: int = 20
    mu: float = 3.0
    n: int = 1000
    seed: int = 0
    sde: str = "ou"

    def key(self) -> dict:
        """The task's store key."""
        return {"paper": PAPER_VERSION, "kind": "flow", **asdict(self)}


def run_flow(task: FlowRun) -> dict:
    """K2 along the exact flow, full-batch GD and minibatch SGD of one :class:`FlowRun`.

    Returns ``{"task", "tau_gd", "tau_sgd", "K2_flow_gd", "K2_gd", "K2_flow_sgd", "K2_sgd", "A_relerr_gd",
    "A_relerr_sgd", "K2_flow_sgd_x0.5", "K2_flow_sgd_x2"}``: the GD curve at τ = lr x epochs (one step per
    epoch), the SGD curve at τ = lr x steps (ceil(n/32) steps per epoch), each beside the exact flow at the
    same τ, and the flow at c x τ for each c of :data:`TIME_CONTROLS` (the negative controls)."""
    sde = sde_by_name(task.sde)
    target = two_mode(task.mu, sde=sde)
    s_data, s_model, s_train = split_seed(task.seed)
    x = target.sample(task.n, np.random.default_rng(s_data))
    t0 = sde_eps(sde)
    loss = empirical_loss(x, build_net("rf", task.m, sde, s_model).features, sde, lam="var", t0=t0)
    out: dict = {"task": task.key()}
    for kind, objective, batch, steps_per_epoch in (("gd", loss, None, 1), ("sgd", None, 32, math.ceil(task.n / 32))):
        net = build_net("rf", task.m, sde, s_model)
        A: list[np.ndarray] = []
        recs = train(net, x, optimizer="sgd", lr=task.lr, epochs=task.epochs, eval_every=task.eval_every,
                     seed=s_train, callback=lambda e, mdl, l: A.append(mdl.A.copy()) or None, batch_size=batch,
                     objective=objective)
        taus = np.array([task.lr * steps_per_epoch * r["epoch"] for r in recs])
        A_flow = gradient_flow(loss, taus)
        feats = net.features
        out[f"tau_{kind}"] = taus.tolist()
        out[f"K2_{kind}"] = [float(kl_sde(target, rf_score(feats, a), t0)) for a in A]
        out[f"K2_flow_{kind}"] = [float(kl_sde(target, rf_score(feats, a), t0)) for a in A_flow]
        out[f"A_relerr_{kind}"] = [float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))
                                   for a, b in zip(A, A_flow)]
    for c in TIME_CONTROLS:
        out[f"K2_flow_sgd_x{c:g}"] = [float(kl_sde(target, rf_score(feats, a), t0))
                                     for a in gradient_flow(loss, c * np.asarray(out["tau_sgd"]))]
    return out


@dataclass(frozen=True)
class PaperDesign:
    """Sizes of the paper-experiments section.

    Figs. 3/8 and 4-5/9-10: width, n, epochs, eval_every, seeds, sgd_lr, adam_lr, mu (3) and mu_far (15).
    Fig. 11: widths, width_seeds, width_epoch (the epoch whose K2 is compared, 1000), width_cap (training
    stops there at the latest), width_eval_every, kl_target (0.1); a run stops once both are known.
    Discrete vs flow: flow_m features, flow_lr, flow_epochs, flow_eval_every, flow_seeds (OU, µ = mu).
    measures / width_measures: what is measured at each checkpoint (K2 always).
    density_epochs: the checkpoints whose sampler density is stored (the paper's panels: 100, 1000, 1900).
    """

    seeds: tuple[int, ...]
    epochs: int
    eval_every: int
    widths: tuple[int, ...]
    width_seeds: tuple[int, ...]
    width_epoch: int
    width_cap: int
    width_eval_every: int
    flow_seeds: tuple[int, ...]
    flow_epochs: int
    flow_eval_every: int
    width: int = 16
    n: int = 1000
    mu: float = 3.0
    mu_far: float = 15.0
    sgd_lr: float = 0.5
    adam_lr: float = 1e-3
    kl_target: float = 0.1
    flow_m: int = 16
    flow_lr: float = 0.05
    sde: str = "ve"
    measures: tuple[str, ...] = MEASURES
    width_measures: tuple[str, ...] = ("K2", "grid_kl")
    density_epochs: tuple[int, ...] = (100, 1000, 1900)


def runs(design: PaperDesign) -> dict[str, list[PaperRun]]:
    """The training tasks of a design, by experiment: 'sgd' and 'adam' at µ = mu and µ = mu_far ('sgd_far',
    'adam_far'), and 'width' (Fig. 11, SGD, one list over widths x width_seeds)."""
    base = dict(width=design.width, n=design.n, epochs=design.epochs, eval_every=design.eval_every, sde=design.sde,
                measures=design.measures, density_epochs=design.density_epochs)
    out = {}
    for opt, lr in (("sgd", design.sgd_lr), ("adam", design.adam_lr)):
        for suffix, mu in (("", design.mu), ("_far", design.mu_far)):
            out[opt + suffix] = [PaperRun(optimizer=opt, lr=lr, mu=mu, seed=s, **base) for s in design.seeds]
    out["width"] = [PaperRun(width=w, optimizer="sgd", lr=design.sgd_lr, epochs=design.width_cap,
                             eval_every=design.width_eval_every, mu=design.mu, n=design.n, seed=s, sde=design.sde,
                             measures=design.width_measures, stop_epoch=design.width_epoch,
                             kl_target=design.kl_target)
                    for w in design.widths for s in design.width_seeds]
    return out


def flow_runs(design: PaperDesign) -> list[FlowRun]:
    """The discrete-vs-flow tasks of a design."""
    return [FlowRun(m=design.flow_m, lr=design.flow_lr, epochs=design.flow_epochs, eval_every=design.flow_eval_every,
                    mu=design.mu, n=design.n, seed=s) for s in design.flow_seeds]


def experiment(runner: Runner, design: PaperDesign, desc: str = "paper experiments") -> dict:
    """Every task of ``design`` through the store: ``{name: [result, ...]}`` for :func:`runs` and 'flow'."""
    groups = runs(design)
    tasks = [t for ts in groups.values() for t in ts]
    found = runner.run_tasks(run_paper, tasks, [t.key() for t in tasks], "paper", desc + ": training runs")
    out, i = {}, 0
    for name, ts in groups.items():
        out[name] = found[i:i + len(ts)]
        i += len(ts)
    flows = flow_runs(design)
    out["flow"] = runner.run_tasks(run_flow, flows, [f.key() for f in flows], "paper-flow", desc + ": RF vs flow")
    return out

"""The paper's training runs as tasks (docs/theory.md §9.2, §10): one :class:`PaperRun` is one run of
:func:`empirical.training.train` (the authors' DSM loop) measured at its checkpoints, one :class:`FlowRun` the
random-feature model (12) trained by minibatch SGD and by full-batch gradient descent beside its exact flow. The
seed is split by :func:`empirical.training.split_seed` as ``diffgen train`` splits it, so a task's records are those
of ``diffgen train`` with the same arguments. Each task's ``key()`` (with ``PAPER_VERSION``) names its stored result;
:mod:`verification.designs.paper_runs` designs and runs the experiments of the report from them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..rf.features import rf_score
from ..rf.flow import gradient_flow
from ..kl import kl_sde
from ..rf.loss import empirical_loss, population_loss
from .nets import build_net
from ..sde import sde_by_name
from ..targets import two_mode
from .authors import BATCH_SIZE, MEASURES, TrainingDiverged, measure_checkpoint, sde_eps, split_seed, train

__all__ = ["DENSITY_POINTS", "FlowRun", "PAPER_VERSION", "PaperRun", "TIME_CONTROLS", "density_grid", "run_flow",
           "run_paper"]


PAPER_VERSION = 5
"""Part of every task's store key: incremented when a change alters the numbers of a task (4: K4 is +inf
where exp(∫s) is not normalisable, and a run whose score turns non-finite is recorded as diverged; 5: the
checkpoints' measurements embed the time once for every x, which moves them by the rounding of float32 sin and
cos; training is unchanged)."""

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

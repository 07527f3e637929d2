"""Training score networks by denoising score matching, and the authors' grid metric (docs/theory.md §9.2).

:func:`train` is the authors' loop (docs/theory.md §10): for every sample, one t ~ U(ε, T) and one
z ~ N(0, 1) per epoch, x_t = r(t) x0 + σ_t z (r = 1 under VE), loss = mean (σ_t s(x_t, t) + z)² (DSM with
λ = σ_t², whose expectation is the empirical loss L̂_n of (5) with the 'var' weighting on U(ε, T), up to
a constant), minibatches of 32 in a seeded random order (32 steps per epoch at n = 1000), plain SGD
(no momentum) or Adam. Every draw (order, t, z) comes from one ``torch.Generator`` on the CPU, moved to
the device afterwards, so CPU and GPU see the same draws. The loop itself is :func:`empirical.training.dsm.minimise`, the
one the MNIST network trains with; this module supplies the 1-D data's draws and loss. With ``objective`` a
:class:`~empirical.rf.quadratic.QuadraticLoss` the same loop takes one full-batch step per epoch on that exact
quadratic instead (the objective of the flows (9)-(10), for :class:`~empirical.training.nets.RFNet`).

:func:`grid_kl`, the authors' grid metric, lives in :mod:`empirical.training.grid_metric` (re-exported here);
:func:`measure_checkpoint` takes every measurement of one checkpoint, K4 as +inf where exp(∫s) is not
normalisable (recorded, not warned about).

References
----------
arXiv:2311.01797, DSM loss (5)-(6), flows (9)-(10), Figs. 3, 8, 11; docs/theory.md §3.1 and §10.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch

from ..checks import check_int
from .dsm import (DIVERGENCE_FACTOR, OPTIMIZERS, Batches, TrainingDiverged, checkpoint_epochs,  # noqa: F401 (re-exported)
                  dsm_per_sample, minimise)
from ..kl import kl_integrated, kl_ode, kl_score_bound, kl_sde_law
from ..kl.score_bound import score_error
from ..quadrature import time_grid
from .devices import resolve_device
from .grid_metric import GRID_T0, grid_kl
from ..rf.quadratic import QuadraticLoss
from ..sde import LinearSDE

EPS_DEFAULT = 1e-5
"""ε of the authors' VE SDE; also the lower end of t for an SDE whose ``eps`` is 0 (OU)."""

BATCH_SIZE = 32
"""The authors' minibatch size (32 steps per epoch at n = 1000)."""

Callback = Callable[[int, torch.nn.Module, float], "dict | None"]


def split_seed(seed: int) -> tuple[int, int, int]:
    """(data, model, training) seeds of a master seed: ``SeedSequence(seed).spawn(3)``, as ``diffgen train``
    and the report's training runs split it.

    Examples
    --------
    >>> from empirical.training import split_seed
    >>> split_seed(0) == split_seed(0) and len(set(split_seed(0))) == 3
    True
    """
    return tuple(int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3))


def sde_eps(sde: LinearSDE) -> float:
    """The SDE's ε (``sde.eps``), or :data:`EPS_DEFAULT` when it is 0 (OU): a network whose output is
    divided by σ_t needs t > 0, so training times and the measurements' t0 start there."""
    eps = float(sde.eps)
    return eps if eps > 0 else EPS_DEFAULT


def _dsm(net: torch.nn.Module, x0: torch.Tensor, t: torch.Tensor, z: torch.Tensor,
         r: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """mean (σ_t s(x_t, t) + z)² with x_t = r(t) x0 + σ_t z (:func:`empirical.training.dsm.dsm_per_sample`)."""
    return torch.mean(dsm_per_sample(net(r * x0 + sigma * z, t, sigma), sigma, z))


def _draws(sde: LinearSDE, n: int, gen: torch.Generator, eps: float, dtype, device):
    """One t ~ U(ε, T) and one z ~ N(0, 1) per sample (float64 on the CPU), with r(t), σ_t; moved to ``device``."""
    t = eps + (sde.T - eps) * torch.rand(n, generator=gen, dtype=torch.float64)
    z = torch.randn(n, generator=gen, dtype=torch.float64)
    tn = t.numpy()
    r = torch.as_tensor(np.asarray(sde.r(tn), dtype=float) * np.ones_like(tn))
    sigma = torch.sqrt(torch.as_tensor(np.asarray(sde.sigma2(tn), dtype=float)))
    return [v.to(device=device, dtype=dtype) for v in (t, z, r, sigma)]


def train(net: torch.nn.Module, x_train: np.ndarray, *, optimizer: str = "sgd", lr: float = 0.5, epochs: int = 2000,
          eval_every: int = 100, seed: int = 0, sde: LinearSDE | None = None, device: str = "cpu",
          callback: Callback | None = None, batch_size: int | None = BATCH_SIZE,
          objective: QuadraticLoss | None = None, threads: int | None = 1) -> list[dict]:
    """Train ``net`` by DSM (docs/theory.md §10) and call back at epochs 0, S, 2S, ..., E.

    Parameters
    ----------
    net : SwishNet or RFNet
        Trained in place (moved to ``device``).
    x_train : ndarray of shape (n,)
        The training set, finite.
    optimizer : {"sgd", "adam"}, default "sgd"
        Plain SGD (no momentum, the authors' lr 0.5) or Adam (their lr 1e-3), torch defaults otherwise.
    lr : float, default 0.5
        Learning rate, finite and > 0. For RFNet under SGD, k steps are the flow time τ = lr·k.
    epochs, eval_every : int
        E >= 0 epochs of updates; checkpoints every S >= 1 epochs and at E (:func:`checkpoint_epochs`).
    seed : int, default 0
        Seed of the ``torch.Generator`` of data order, t and z (the model has its own seed).
    sde : LinearSDE, optional
        The forward process; ``net.sde`` by default, and it must be that one when given.
    device : str, default "cpu"
        "cpu" or "cuda[:N]"; CUDA that is not available raises ValueError naming ``device``.
    callback : callable(epoch, net, train_loss) -> dict or None, optional
        Called at each checkpoint; a dict it returns is merged into that checkpoint's record.
    batch_size : int or None, default 32
        Minibatch size (the authors' 32; the last batch of an epoch holds the remainder); None: full batch.
    objective : QuadraticLoss, optional
        Train on this exact quadratic (Lemma 3) instead of DSM: one full-batch step per epoch, no
        randomness; RFNet only (the discrete counterpart of :func:`empirical.rf.flow.gradient_flow`).
    threads : int or None, default 1
        Torch intra-op threads during training (one is fastest for these tiny networks).

    Returns
    -------
    list of dict
        One record per checkpoint: ``epoch``, ``train_loss`` (epoch 0: DSM loss of the untrained net on
        one seeded (t, z) per sample from a separate generator; epoch e > 0: the mean of the
        minibatch losses of epoch e, what the authors printed; with ``objective``: its value before
        the step), ``seconds`` (training time so far) and the callback's keys.

    Raises
    ------
    ValueError
        If an argument is outside the range above.
    TrainingDiverged
        (a ValueError naming ``lr``) as soon as the epoch's loss or a parameter is NaN or infinite, the
        loss exceeds :data:`DIVERGENCE_FACTOR` times its start, or the callback finds the model's score non-finite (:class:`~empirical.kl.probe.NonFiniteScore`);
        it holds the epoch and the records before it. Training never returns a non-finite record.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.training.nets import SwishNet
    >>> from empirical.training import train
    >>> x = np.random.default_rng(0).normal(size=64)
    >>> recs = train(SwishNet(8, seed=0), x, lr=0.1, epochs=4, eval_every=2, seed=0)
    >>> [r["epoch"] for r in recs]
    [0, 2, 4]
    >>> recs[-1]["train_loss"] < recs[0]["train_loss"]
    True
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    marks = checkpoint_epochs(epochs, eval_every)
    seed = check_int("seed", seed, 0)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, 1)
    x = np.asarray(x_train, dtype=float).reshape(-1)
    if x.size < 1 or not np.all(np.isfinite(x)):
        raise ValueError(f"x_train must be a finite array of n >= 1 points, got shape {np.shape(x_train)}")
    if sde is not None and (sde.name != net.sde.name or sde.T != net.sde.T):
        raise ValueError(f"sde must be the network's SDE ({net.sde.name}, T = {net.sde.T}), got {sde.name}, T = {sde.T}")
    if objective is not None and not hasattr(net, "theta"):
        raise ValueError("objective (an exact quadratic) needs an RFNet")
    sde, dev = net.sde, resolve_device(device)
    net.to(dev)
    dtype = next(net.parameters()).dtype
    eps, n = sde_eps(sde), x.size
    x0 = torch.as_tensor(x, dtype=dtype, device=dev)
    if objective is None:
        batches = Batches(n, n if batch_size is None else batch_size,
                          lambda idx, d, _: _dsm(net, x0[idx], d[0][idx], d[1][idx], d[2][idx], d[3][idx]),
                          draw_epoch=lambda gen: _draws(sde, n, gen, eps, dtype, dev))

        def first() -> torch.Tensor:  # the untrained net's loss on one (t, z) per sample from its own generator
            return _dsm(net, x0, *_draws(sde, n, torch.Generator().manual_seed(seed + 1), eps, dtype, dev))
    else:
        B1, B2t, c = (torch.as_tensor(v, dtype=dtype, device=dev) for v in (objective.B1, objective.B2.T, objective.c))

        def quadratic() -> torch.Tensor:  # the exact loss (Lemma 3): the first loss and each full-batch step's
            th = net.theta
            return torch.sum((th @ B1) * th) - 2.0 * torch.sum(th * B2t) + c
        batches = Batches(n, n, lambda *_: quadratic())
        first = quadratic

    def checkpoint(epoch: int, loss: float, seconds: float) -> dict:
        extra = callback(epoch, net, loss) if callback is not None else None
        return {"epoch": epoch, "train_loss": loss, "seconds": seconds, **(extra or {})}

    return minimise(net, batches, optimizer=optimizer, lr=lr, epochs=marks[-1], generator=torch.Generator().manual_seed(seed),
                    device=dev, marks=marks, callback=checkpoint, first_loss=first, threads=threads).records


MEASURES = ("K1", "K2", "K3", "K4", "K4_065", "grid_kl", "grid_kl_wide", "mass_pos", "pop_loss", "pop_loss_min")
"""The keys of :func:`measure_checkpoint`."""


def population_dsm_loss(target, score: Callable, t0: float, n_t: int = 32) -> tuple[float, float]:
    """(the population DSM loss of ``score``, its minimum): the training objective with λ = σ_t², p̂0 -> p0.

    E_{t~U(t0,T)} σ_t² E_{x0, z}|s(x_t, t) + z/σ_t|² = E_t σ_t² E_{p_t}(s - ∇log p_t)² + E_t[1 - σ_t² J(t)],
    J the Fisher information (the DSM-ESM identity); the minimum is the second term, reached by the exact
    score: 0.5323 for VE and two_mode(3) (the notebooks' 0.532). Gauss–Legendre in t (``n_t`` nodes, the
    losses' grid), trapezoid in x (:func:`empirical.kl.score_bound.score_error`); docs/theory.md §3, §9.2.
    """
    grid = time_grid(target.sde.T, n_t, t0)
    s2 = np.asarray(target.sde.sigma2(grid.t), dtype=float)
    floor = float(np.sum(grid.w * (1.0 - s2 * np.array([target.fisher_information(t) for t in grid.t]))))
    excess = float(np.sum(grid.w * s2 * np.array([score_error(target, score, t) for t in grid.t])))
    return excess + floor, floor


def _k4(target, score: Callable, t0: float) -> float:
    """K4 at t0, +inf without a warning where exp(∫s) is not normalisable (the record says so)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="K4 = \\+inf", category=RuntimeWarning)
        return kl_integrated(target, score, t0)


def measure_checkpoint(target, score: Callable, t0: float | None = None, k1_loss: QuadraticLoss | None = None,
                       keys: tuple[str, ...] = MEASURES, density_x: np.ndarray | None = None) -> dict:
    """The measurements ``keys`` of one checkpoint (all of :data:`MEASURES` by default), for any
    ``score(t, x)``.

    K1 :func:`~empirical.kl.kl_score_bound` (exact for an RFScore, quadrature otherwise), K2
    :func:`~empirical.kl.kl_sde`, K3 :func:`~empirical.kl.kl_ode` and K4 :func:`~empirical.kl.kl_integrated`
    at t0 (default the SDE's ε, :func:`sde_eps`: σ_0 = 0 and the network divides by σ_t), K4_065 =
    K4 at t0 = 0.065 (the authors' time), ``grid_kl`` the authors' metric on their grid [-10, 10] and
    ``grid_kl_wide`` on [min mode - 10, max mode + 10] with the same spacing 0.4 (:func:`grid_kl`), and
    ``mass_pos``: the mass on x > 0 of the reverse-SDE sampler's law at t0 (the law K2 was measured on,
    :func:`~empirical.kl.kl_sde_law`, cell averages, the cell holding 0 split linearly), and ``pop_loss``,
    ``pop_loss_min``: the exact population DSM loss and its optimum (:func:`population_dsm_loss`).

    Parameters
    ----------
    target : Target1D
        p0 with the training SDE.
    score : callable
        ``score(t, x)``, e.g. ``net.score``.
    t0 : float, optional
        Where the samplers stop.
    k1_loss : QuadraticLoss, optional
        For an RFScore: the population 'g2' loss at t0, reused across checkpoints.
    keys : tuple of str, default MEASURES
        Which measurements, a subset of :data:`MEASURES`.
    density_x : ndarray, optional
        Also return ``density``: the same law's density at these points (Figs. 4-5, 9-10), its cell
        averages interpolated linearly between cell centres, 0 outside its cells.

    Returns
    -------
    dict
        The floats of ``keys`` (and ``density``, a list, with ``density_x``).

    Raises
    ------
    ValueError
        If a key is not one of :data:`MEASURES`.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.sde import ve
    >>> from empirical.targets import two_mode
    >>> from empirical.training import measure_checkpoint
    >>> target = two_mode(3.0, sde=ve())
    >>> xs = np.array([0.0, 3.0])
    >>> out = measure_checkpoint(target, target.score, keys=("K2", "mass_pos"), density_x=xs)
    >>> sorted(out), bool(out["K2"] < 1e-4), round(out["mass_pos"], 3)  # the exact score: p_eps, symmetric
    (['K2', 'density', 'mass_pos'], True, 0.5)
    >>> bool(np.max(np.abs(np.array(out["density"]) - target.pdf(1e-5, xs))) < 1e-3)  # the peaks are 0.2
    True
    """
    unknown = [k for k in keys if k not in MEASURES]
    if unknown:
        raise ValueError(f"keys: unknown measurement(s) {unknown}; known: {MEASURES}")
    t0 = sde_eps(target.sde) if t0 is None else float(t0)
    out: dict = {}
    if {"K2", "mass_pos"} & set(keys) or density_x is not None:
        k2, law = kl_sde_law(target, score, t0)
        out["K2"] = float(k2)
        out["mass_pos"] = float(np.sum(law.q * law.h * np.clip(law.edges[1:] / law.h, 0.0, 1.0)))
        if density_x is not None:
            centres = 0.5 * (law.edges[1:] + law.edges[:-1])
            out["density"] = np.interp(np.asarray(density_x, dtype=float), centres, law.q, left=0.0, right=0.0).tolist()
    if "pop_loss" in keys or "pop_loss_min" in keys:
        out["pop_loss"], out["pop_loss_min"] = population_dsm_loss(target, score, sde_eps(target.sde))
    means = target.components(0.0)[0]
    lo, hi = float(np.min(means)) - 10.0, float(np.max(means)) + 10.0
    measure = {"K1": lambda: kl_score_bound(target, score, t0, loss=k1_loss), "K3": lambda: kl_ode(target, score, t0),
               "K4": lambda: _k4(target, score, t0), "K4_065": lambda: _k4(target, score, GRID_T0),
               "grid_kl": lambda: grid_kl(target, score),
               "grid_kl_wide": lambda: grid_kl(target, score, lo=lo, hi=hi, n_grid=int(round((hi - lo) / 0.4)) + 1)}
    out.update({k: float(measure[k]()) for k in keys if k in measure})
    return {k: out[k] for k in (*keys, "density") if k in out}

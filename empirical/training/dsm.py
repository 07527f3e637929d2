"""The denoising score-matching loss (5) with λ(t) = σ_t² and the one loop that minimises it, for every network
the engine trains.

For a draw x_t = r(t) x0 + σ_t z the per-sample term is |σ_t s_θ(x_t, t) + z|², summed over the sample's
coordinates (one for the paper's 1-D data, 784 pixels for MNIST); its expectation over t, x0 and z is the
empirical loss L̂_n of (5) under the 'var' weighting, up to a constant (docs/theory.md §3). The paper's networks
(:func:`empirical.training.train`) average it over a minibatch; the MNIST network
(:func:`empirical.mnist.network.dsm_loss`, :func:`empirical.mnist.network.train_score_net`) too.

:func:`minimise` is the training loop both use: each epoch one seeded random order of the n samples, the
draws a dataset makes once per epoch, then one optimiser step (plain SGD or Adam) per minibatch of that order,
the loss of a batch computed by the dataset's :class:`Batches` (so a dataset keeps its own draws: the paper's
1-D data draw every t and z of an epoch before its first batch, the images draw theirs batch by batch), a
finiteness check after every epoch (:class:`TrainingDiverged`), and a callback at stated epochs.

References
----------
arXiv:2311.01797, DSM loss (5)-(6); docs/theory.md §3.1, §9.2.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..checks import check_int
from .devices import torch_threads
from ..kl.probe import NonFiniteScore

__all__ = ["Batches", "DIVERGENCE_FACTOR", "OPTIMIZERS", "Training", "TrainingDiverged", "checkpoint_epochs",
           "dsm_per_sample", "minimise"]

OPTIMIZERS = ("sgd", "adam")
"""Plain SGD (no momentum) and Adam, torch's defaults otherwise."""

DIVERGENCE_FACTOR = 1e8
"""An epoch whose mean loss exceeds this many times max(1, |loss at epoch 0|) counts as diverged: the DSM loss
of a model that learns stays of order 1 (0.53 at the optimum for VE and two_mode(3)), while an unstable step
size multiplies it by ~1e14 per epoch until it overflows (random features, lr 1e8)."""


class TrainingDiverged(ValueError):
    """Training stopped because the loss, the parameters or the model's score became NaN or infinite.

    Attributes
    ----------
    epoch : int
        The epoch at whose end (or checkpoint) it was found.
    records : list
        What the callback returned at the checkpoints before it, all finite.
    reason : str
        What was found non-finite.
    """

    def __init__(self, message: str, epoch: int, records: list, reason: str = "") -> None:
        super().__init__(message)
        self.epoch = epoch
        self.records = records
        self.reason = reason


def dsm_per_sample(score: torch.Tensor, sigma: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """|σ_t s + z|² of each sample, summed over its coordinates: shape (batch,).

    Parameters
    ----------
    score : Tensor
        The network's score s_θ(x_t, t) at the noised samples, the shape of ``z``.
    sigma : Tensor
        σ_t of each sample, broadcastable against ``z`` (shape (batch,) for 1-D samples, (batch, 1, 1, 1) for
        images).
    z : Tensor, shape (batch, ...)
        The standard normal noise of each sample.

    Examples
    --------
    >>> import torch
    >>> from empirical.training.dsm import dsm_per_sample
    >>> z = torch.tensor([[1.0, -1.0], [0.5, 0.0]])
    >>> dsm_per_sample(-z / 2.0, torch.tensor([[2.0], [2.0]]), z)  # the exact score of N(0, σ²) gives 0
    tensor([0., 0.])
    """
    return ((sigma * score + z) ** 2).reshape(z.shape[0], -1).sum(1)


def checkpoint_epochs(epochs: int, eval_every: int) -> list[int]:
    """0, S, 2S, ... and E (E always included): the checkpoints of a run of E epochs, every S epochs
    (:func:`empirical.training.train` calls back at all of them, the MNIST network from S on).

    Examples
    --------
    >>> from empirical.training.dsm import checkpoint_epochs
    >>> checkpoint_epochs(20, 10), checkpoint_epochs(25, 10)
    ([0, 10, 20], [0, 10, 20, 25])
    """
    epochs, eval_every = check_int("epochs", epochs, 0), check_int("eval_every", eval_every, 1)
    return sorted(set(range(0, epochs + 1, eval_every)) | {epochs})


@dataclass(frozen=True)
class Batches:
    """How one training set of ``n`` samples is cut into minibatches and scored, for :func:`minimise`.

    Attributes
    ----------
    n : int
        Number of training samples.
    size : int
        Minibatch size (the last batch of an epoch holds the remainder); ``n`` for full batch.
    loss : callable (indices, epoch_draws, generator) -> Tensor
        The scalar loss of the batch of these sample indices (a LongTensor on the model's device), given what
        ``draw_epoch`` returned this epoch; draws it makes per batch come from ``generator``.
    draw_epoch : callable (generator) -> object, optional
        Draws made once per epoch, after the epoch's order and before its first batch.
    sample_mean : bool, default False
        The epoch's loss: the mean of the batch losses (False; what the paper's authors printed) or their mean
        weighted by the batch sizes (True: the mean over samples).
    """

    n: int
    size: int
    loss: Callable[[torch.Tensor, Any, torch.Generator], torch.Tensor]
    draw_epoch: Callable[[torch.Generator], Any] | None = None
    sample_mean: bool = False


@dataclass(frozen=True)
class Training:
    """What :func:`minimise` returns: ``losses`` (E,) the loss of each epoch, ``records`` what the callback
    returned at each checkpoint (in order), ``seconds`` the training time (checkpoints excluded)."""

    losses: np.ndarray
    records: list
    seconds: float


def minimise(model: torch.nn.Module, batches: Batches, *, optimizer: str, lr: float, epochs: int,
             generator: torch.Generator, device: torch.device, marks: Sequence[int] = (),
             callback: Callable[[int, float, float], Any] | None = None,
             first_loss: Callable[[], torch.Tensor] | None = None, threads: int | None = 1) -> Training:
    """Minimise ``batches``' loss over ``model``'s parameters: ``epochs`` passes, each a fresh order.

    Parameters
    ----------
    model : Module
        Trained in place, on ``device``; in training mode during the epochs and in eval mode at the
        checkpoints and on return.
    batches : Batches
        The data's minibatches, draws and loss.
    optimizer : {"sgd", "adam"}
        Plain SGD or Adam with learning rate ``lr`` (checked by the callers, which name their parameters).
    epochs : int
        Number of passes E >= 0.
    generator : torch.Generator
        The CPU generator of every order and draw (seeded by the caller).
    device : torch.device
        Where the batches' indices go.
    marks : sequence of int
        Epochs at which ``callback(epoch, loss, seconds)`` runs (0: before the first step, with ``first_loss``).
    callback : callable, optional
        Its return values are collected, in order, in :attr:`Training.records`; it may raise
        :class:`~empirical.kl.probe.NonFiniteScore` (the model's score is not finite), which becomes
        :class:`TrainingDiverged`.
    first_loss : callable () -> Tensor, optional
        The loss of the untrained model (computed without gradients): the reference of :data:`DIVERGENCE_FACTOR`
        and the loss reported at epoch 0.
    threads : int or None, default 1
        Torch intra-op threads during training (:func:`~empirical.training.devices.torch_threads`).

    Raises
    ------
    TrainingDiverged
        Naming ``lr``, as soon as an epoch's loss or a parameter is NaN or infinite, the loss exceeds
        :data:`DIVERGENCE_FACTOR` times ``first_loss``, or the callback finds the score non-finite.

    Examples
    --------
    >>> import torch
    >>> from empirical.training.dsm import Batches, minimise
    >>> w = torch.nn.Linear(1, 1, bias=False)
    >>> x = torch.linspace(-1, 1, 8)[:, None]
    >>> fit = minimise(w, Batches(8, 4, lambda idx, _, gen: ((w(x[idx]) - 2 * x[idx]) ** 2).mean()),
    ...                optimizer="sgd", lr=0.5, epochs=50, generator=torch.Generator().manual_seed(0),
    ...                device=torch.device("cpu"))
    >>> round(float(w.weight.detach()), 4), fit.losses.shape
    (2.0, (50,))
    """
    opt = (torch.optim.SGD(model.parameters(), lr=lr) if optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=lr))
    losses, records, seconds = np.empty(epochs), [], 0.0
    wanted = set(marks)

    def diverged(epoch: int, what: str) -> TrainingDiverged:
        return TrainingDiverged(f"lr = {lr:g} ({optimizer}): training diverged at epoch {epoch} ({what}); lower lr",
                                epoch, list(records), what)

    def check(epoch: int, loss: float, first: float | None) -> None:
        if not math.isfinite(loss):
            raise diverged(epoch, f"the loss is {loss}")
        if epoch > 0 and first is not None and abs(loss) > DIVERGENCE_FACTOR * max(1.0, abs(first)):
            raise diverged(epoch, f"the loss {loss:.3g} is above {DIVERGENCE_FACTOR:g} times its start {first:.3g}")
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            raise diverged(epoch, "a parameter is NaN or infinite")

    def checkpoint(epoch: int, loss: float) -> None:
        model.eval()
        try:
            records.append(callback(epoch, loss, seconds) if callback is not None else None)
        except NonFiniteScore as err:
            raise diverged(epoch, f"the model's score is not finite: {err}") from None

    with torch_threads(threads):
        first = None
        if first_loss is not None:
            with torch.no_grad():
                first = float(first_loss())
            check(0, first, None)
        if 0 in wanted:
            checkpoint(0, first)
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            model.train()
            order = torch.randperm(batches.n, generator=generator).to(device)
            draws = batches.draw_epoch(generator) if batches.draw_epoch is not None else None
            batch_losses, total = [], 0.0
            for lo in range(0, batches.n, batches.size):
                idx = order[lo:lo + batches.size]
                opt.zero_grad()
                loss = batches.loss(idx, draws, generator)
                loss.backward()
                opt.step()
                if batches.sample_mean:
                    total += float(loss.detach()) * len(idx)
                else:
                    batch_losses.append(loss.detach())
            losses[epoch - 1] = total / batches.n if batches.sample_mean else float(torch.stack(batch_losses).mean())
            seconds += time.perf_counter() - start
            check(epoch, float(losses[epoch - 1]), first)
            if epoch in wanted:
                checkpoint(epoch, float(losses[epoch - 1]))
    model.eval()
    return Training(losses, records, seconds)

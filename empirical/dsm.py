"""The denoising score-matching loss (5) with λ(t) = σ_t², one definition for every network the engine trains.

For a draw x_t = r(t) x0 + σ_t z the per-sample term is |σ_t s_θ(x_t, t) + z|², summed over the sample's
coordinates (one for the paper's 1-D data, 784 pixels for MNIST); its expectation over t, x0 and z is the
empirical loss L̂_n of (5) under the 'var' weighting, up to a constant (docs/theory.md §3). The paper's networks
(:func:`empirical.training.train`) average it over a minibatch; the MNIST network
(:func:`empirical.mnist.network.dsm_loss`, :func:`empirical.mnist.network.train_score_net`) too.

References
----------
arXiv:2311.01797, DSM loss (5)-(6); docs/theory.md §3.1, §9.2.
"""

from __future__ import annotations

import torch

__all__ = ["dsm_per_sample"]


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
    >>> from empirical.dsm import dsm_per_sample
    >>> z = torch.tensor([[1.0, -1.0], [0.5, 0.0]])
    >>> dsm_per_sample(-z / 2.0, torch.tensor([[2.0], [2.0]]), z)  # the exact score of N(0, σ²) gives 0
    tensor([0., 0.])
    """
    return ((sigma * score + z) ** 2).reshape(z.shape[0], -1).sum(1)

"""Drawing digits from a trained score network: Euler-Maruyama on the reverse SDE (3) with a final Tweedie step,
in the network's z-score space (docs/theory.md §9.1)."""

from __future__ import annotations

import numpy as np
import torch

from ..training.devices import torch_threads
from .network import T0_FRACTION, _placement

__all__ = ["sample_reverse_sde"]


def sample_reverse_sde(model: torch.nn.Module, n: int, *, seed: int, steps: int = 500,
                       t0: float | None = None, threads: int | None = 1) -> np.ndarray:
    """``n`` draws of the model by Euler–Maruyama on the reverse SDE, in the model's (z-score) space.

    dx = [f x - g² s_θ(x, t)] dt + g dW̄ from x_T ~ N(0, I) down to t0 on a geometric time grid of
    ``steps`` steps (fine near t0, where the score is large), then one denoising step to the mean
    E[x_0 | x_{t0}] = (x + σ² s_θ) / e^{-t0} (Tweedie's formula for the OU kernel of
    :class:`empirical.mnist.network.ScoreNet`). All draws come from ``seed`` on the CPU; ``threads``:
    torch intra-op threads (:func:`empirical.mnist.network.torch_threads`).

    Returns
    -------
    ndarray, shape (n, 1, 28, 28)

    Examples
    --------
    >>> from empirical.mnist.likelihood import StationaryScore
    >>> from empirical.mnist.sampling import sample_reverse_sde
    >>> x = sample_reverse_sde(StationaryScore(), 100, seed=0, steps=50)
    >>> x.shape, bool(abs(x.std() - 1) < 0.01)  # the stationary law N(0, I) stays put
    ((100, 1, 28, 28), True)
    """
    dtype, dev = _placement(model)
    sde = model.sde
    t0 = T0_FRACTION * sde.T if t0 is None else float(t0)
    grid = np.geomspace(sde.T, t0, steps + 1)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((n, 1, 28, 28), generator=gen, dtype=torch.float64).to(dtype=dtype, device=dev)

    def score(t: float) -> torch.Tensor:
        return model(x, torch.full((n,), t, dtype=dtype, device=dev))

    with torch.no_grad(), torch_threads(threads):
        for t, t_next in zip(grid[:-1], grid[1:]):
            h, f, g2 = t - t_next, float(sde.f(t)), float(sde.g2(t))
            noise = torch.randn(x.shape, generator=gen, dtype=torch.float64).to(x)
            x = x - (f * x - g2 * score(t)) * h + np.sqrt(g2 * h) * noise
        x = (x - np.expm1(-2 * t0) * score(t0)) / np.exp(-t0)  # σ_{t0}² = 1 - e^{-2 t0}
    return x.cpu().double().numpy()

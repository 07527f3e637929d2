"""Negative log-likelihood of a score network by the probability-flow ODE, in bits per dimension.

The probability-flow ODE dx/dt = f(t) x - ½ g(t)² s_θ(x, t) (paper (4)) carries the prior N(0, I) at T to
the model's density q at t0, and along its forward solution from a point z (Remark 3)

    log q(z) = log N(x(T); 0, I) + ∫_{t0}^T div[f x - ½ g² s_θ](x(t), t) dt,
    div[...] = f D - ½ g² div s_θ,

with div s_θ by Hutchinson's estimator εᵀ (∂s_θ/∂x) ε (Rademacher probes ε fixed along the path, one
vector-Jacobian product each, as the score-SDE tutorial) or exactly (D products; small D only). The ODE
and the trace integral are solved together by ``scipy.integrate.solve_ivp`` with RK45 at
rtol = atol = 1e-5, the paper's solver and tolerances: adaptive steps follow the network's stiffness near
t0 without a step count to tune, and the tolerance is the paper's.

Bits per dimension, as the paper (uniform dequantisation): pixels x ∈ {0, …, 255} become
u = (x + U) / 256 ∈ [0, 1)^D, U ~ U(0, 1)^D; the model lives on the z-scores z = (256 u - mean) / std of
the pixel values, so log p_u(u) = log q(z) + Σ_i log(256 / std_i) exactly (the per-pixel affine map's
Jacobian), and bpd = -log p_u(u) / (D ln 2) + 8 (:func:`bits_per_dim`). The +8 = log2 256: a density on
[0, 1)^D gives a bin of side 1/256 the probability ≈ p_u(u) 256^{-D}. Equivalently bpd is
-log2 of the density of the dequantised pixel value 256 u ∈ [0, 256)^D per pixel, an upper bound on the
discrete model's bits per pixel. The paper reports 10.17 (nearest) and 13.60 (farthest) bits/dim.

References
----------
arXiv:2311.01797, probability-flow ODE (4), Remark 3, Figs. 6–7; docs/theory.md §4 and §10.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import integrate, stats
from torch import nn

from ..checks import check_int
from ..sde import ou
from ..training.devices import resolve_device, torch_threads
from .network import T0_FRACTION, T_DEFAULT, _per_pixel, _placement

N_LEVELS = 256
"""Grey levels of a pixel; log2 N_LEVELS = 8 is the offset of :func:`bits_per_dim`."""


def bits_per_dim(log_likelihood_nats_in_u_space: float | np.ndarray, D: int) -> float | np.ndarray:
    """bpd = -log p_u(u) / (D ln 2) + log2 256 for a density p_u on the dequantised cube [0, 1)^D.

    Parameters
    ----------
    log_likelihood_nats_in_u_space : float or ndarray
        log p_u(u) in nats, u = (x + U) / 256.
    D : int
        Dimensions (pixels), >= 1.

    Returns
    -------
    float or ndarray

    Examples
    --------
    The uniform density on the cube (log p_u = 0) costs exactly 8 bits per pixel:

    >>> from empirical.mnist.likelihood import bits_per_dim
    >>> bits_per_dim(0.0, 784)
    8.0
    """
    D = check_int("D", D, 1)
    bpd = -np.asarray(log_likelihood_nats_in_u_space, dtype=float) / (D * np.log(2.0)) + np.log2(N_LEVELS)
    return float(bpd) if bpd.ndim == 0 else bpd


class StationaryScore(nn.Module):
    """s(x, t) = -x, the exact score of OU's stationary law N(0, I): the baseline that ignores the data.

    Its probability flow is at rest (f x - ½ g² s = 0), so its ODE density is N(0, I) at every t; the
    NLL of a trained model is worth reporting beside this one's.

    Parameters
    ----------
    T : float, default :data:`empirical.mnist.network.T_DEFAULT`
        Horizon of its ``sde``.
    """

    def __init__(self, T: float = T_DEFAULT) -> None:
        super().__init__()
        self.sde = ou(T)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return -x


def _divergence(score: torch.Tensor, z: torch.Tensor, probes: torch.Tensor | None) -> torch.Tensor:
    """div_z s per sample: mean of εᵀ (∂s/∂z) ε over ``probes`` (K, N, ...), or exact when None."""
    if not score.requires_grad:  # a score that ignores z (a test model) has no graph and div 0
        return torch.zeros(len(z), dtype=z.dtype, device=z.device)
    if probes is not None:
        out = torch.zeros(len(z), dtype=z.dtype, device=z.device)
        for k, eps in enumerate(probes):
            (vjp,) = torch.autograd.grad(score, z, eps, retain_graph=k < len(probes) - 1)
            out += (vjp * eps).flatten(1).sum(1)
        return out / len(probes)
    flat_dim = z[0].numel()
    out = torch.zeros(len(z), dtype=z.dtype, device=z.device)
    for i in range(flat_dim):  # D vector-Jacobian products with the basis vectors e_i
        e = torch.zeros_like(z).flatten(1)
        e[:, i] = 1.0
        (vjp,) = torch.autograd.grad(score, z, e.view_as(z), retain_graph=i < flat_dim - 1)
        out += vjp.flatten(1)[:, i]
    return out


def _logp_chunk(model: nn.Module, z: np.ndarray, probes: np.ndarray | None, t0: float, rtol: float,
                atol: float) -> tuple[np.ndarray, int]:
    """log q(z) in nats for one chunk of points by one RK45 solve, and the number of RHS evaluations."""
    dtype, dev = _placement(model)
    sde, n, shape = model.sde, len(z), z.shape
    size = z.size
    eps = None if probes is None else torch.as_tensor(probes, dtype=dtype, device=dev)

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(y[:size].reshape(shape), dtype=dtype, device=dev).requires_grad_(True)
        f, g2 = float(sde.f(t)), float(sde.g2(t))
        with torch.enable_grad():
            score = model(x, torch.full((n,), t, dtype=dtype, device=dev))
            div = f * x[0].numel() - 0.5 * g2 * _divergence(score, x, eps)
        drift = f * x.detach() - 0.5 * g2 * score.detach()
        return np.concatenate([drift.cpu().double().numpy().ravel(), div.detach().cpu().double().numpy()])

    y0 = np.concatenate([np.asarray(z, dtype=np.float64).ravel(), np.zeros(n)])
    sol = integrate.solve_ivp(rhs, (t0, sde.T), y0, method="RK45", rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"probability-flow ODE failed: {sol.message}")
    x_T, delta = sol.y[:size, -1].reshape(n, -1), sol.y[size:, -1]
    log_prior = -0.5 * (x_T**2).sum(1) - 0.5 * x_T.shape[1] * np.log(2 * np.pi)
    return log_prior + delta, int(sol.nfev)


def _ode_logp(model: nn.Module, z: np.ndarray, *, n_probes: int | None, seed: int, rtol: float,
              atol: float, t0: float | None, batch_size: int, threads: int | None) -> tuple[np.ndarray, int]:
    """:func:`ode_logp_z` and the total number of RHS evaluations over its chunks."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim < 2 or len(z) < 1:
        raise ValueError(f"z must have shape (N, ...) with N >= 1, got {z.shape}")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not (np.isfinite(tol) and tol > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {tol!r}")
    batch_size = check_int("batch_size", batch_size, 1)
    t0 = T0_FRACTION * model.sde.T if t0 is None else float(t0)
    probes = None
    if n_probes is not None:  # drawn for all points at once: independent of batch_size
        shape = (check_int("n_probes", n_probes, 1),) + z.shape
        probes = np.random.default_rng(seed).integers(0, 2, shape) * 2.0 - 1.0
    out, nfe = np.empty(len(z)), 0
    with torch_threads(threads):
        for s in range(0, len(z), batch_size):
            chunk = slice(s, s + batch_size)
            out[chunk], k = _logp_chunk(model, z[chunk], None if probes is None else probes[:, chunk],
                                        t0, rtol, atol)
            nfe += k
    return out, nfe


def ode_logp_z(model: nn.Module, z: np.ndarray, *, n_probes: int | None = 1, seed: int = 0,
               rtol: float = 1e-5, atol: float = 1e-5, t0: float | None = None, batch_size: int = 128,
               threads: int | None = 1) -> np.ndarray:
    """Log-density log q(z) (nats) of the probability-flow ODE model at points z of its own space.

    Parameters
    ----------
    model : nn.Module
        ``model(x, t)`` returns the score at (N, ...) points and times t of shape (N,); ``model.sde`` is
        the forward :class:`empirical.sde.LinearSDE` (prior N(0, I) at ``model.sde.T``). Evaluated in
        its parameters' dtype on their device.
    z : ndarray, shape (N, ...)
        Points (z-scores for :class:`empirical.mnist.network.ScoreNet`).
    n_probes : int or None, default 1
        Rademacher probes per point for Hutchinson's trace (averaged); None: the exact divergence by
        D vector-Jacobian products (for small D).
    seed : int, default 0
        Seed of the probes.
    rtol, atol : float, default 1e-5
        RK45 tolerances (the paper's).
    t0 : float, optional
        Start of the ODE; default ``T0_FRACTION * T``, the training default.
    batch_size : int, default 128
        Points per ODE solve (they share its steps; memory and the step control only).
    threads : int or None, default 1
        Torch intra-op threads (:func:`empirical.mnist.network.torch_threads`).

    Returns
    -------
    ndarray, shape (N,)

    Examples
    --------
    The stationary score leaves every point in place, so q = N(0, I):

    >>> import numpy as np
    >>> from empirical.mnist.likelihood import StationaryScore, ode_logp_z
    >>> got = ode_logp_z(StationaryScore(), np.zeros((1, 2)))
    >>> bool(abs(got[0] + np.log(2 * np.pi)) < 1e-6)
    True
    """
    return _ode_logp(model, z, n_probes=n_probes, seed=seed, rtol=rtol, atol=atol, t0=t0,
                     batch_size=batch_size, threads=threads)[0]


@dataclass(frozen=True)
class NLLResult:
    """Per-image NLL in bits/dim and its summary.

    Attributes
    ----------
    bpd : ndarray, shape (N,)
        Bits per dimension of each image (one dequantisation and one probe set each).
    mean, se : float
        Mean over images and its standard error (sample sd / √N, ddof 1; nan for N = 1); it includes
        the dequantisation and Hutchinson noise, since each image carries its own draws.
    ci : (float, float)
        Student-t interval at ``level`` for the mean.
    level : float
    n_probes : int or None
        Probes per image (None: exact divergence).
    nfe : int
        Score-network evaluations of the ODE solver (each with ``n_probes`` backward passes).
    seconds : float
        Wall time.
    """

    bpd: np.ndarray = field(repr=False)
    mean: float
    se: float
    ci: tuple[float, float]
    level: float
    n_probes: int | None
    nfe: int
    seconds: float


def nll_bits_per_dim(model: nn.Module, x_pixels_uint8: np.ndarray, zscore_mean: float | np.ndarray,
                     zscore_std: float | np.ndarray, *, n_probes: int | None = 1, seed: int,
                     rtol: float = 1e-5, atol: float = 1e-5, device: str | torch.device = "cpu",
                     t0: float | None = None, batch_size: int = 128, level: float = 0.95,
                     threads: int | None = 1) -> NLLResult:
    """Test NLL in bits/dim of a score model of z-scored pixels, with uniform dequantisation.

    u = (x + U) / 256 per image (U ~ U(0, 1)^D from ``seed``), z = (256 u - mean) / std in the model's
    space, log p_u(u) = :func:`ode_logp_z` (z) + Σ log(256 / std), bpd by :func:`bits_per_dim`.

    Parameters
    ----------
    model : nn.Module
        As :func:`ode_logp_z`; moved to ``device``.
    x_pixels_uint8 : ndarray, shape (N, 28, 28), (N, 1, 28, 28) or (N, 784)
        Integer pixel values in 0..255.
    zscore_mean, zscore_std : float or ndarray of shape (D,) or broadcastable to one image
        The per-pixel z-scoring the model was trained with, z = (pixel - mean) / std, in grey levels
        (0..255), as :func:`empirical.mnist.protocol.zscore` returns; std > 0 everywhere.
    n_probes : int or None, default 1
        Hutchinson probes per image (None: exact trace).
    seed : int
        Seed of the dequantisation and of the probes.
    rtol, atol : float, default 1e-5
        RK45 tolerances (the paper's).
    device : str or torch.device, default "cpu"
    t0 : float, optional
        Start of the ODE (default ``T0_FRACTION * T``).
    batch_size : int, default 128
        Images per ODE solve.
    level : float, default 0.95
        Level of ``ci``.
    threads : int or None, default 1
        Torch intra-op threads.

    Returns
    -------
    NLLResult

    Raises
    ------
    ValueError
        If the pixels are not integers in 0..255, std is not finite and > 0, ``level`` is not in (0, 1),
        or ``device``, ``n_probes``, the tolerances or ``batch_size`` are invalid.

    Examples
    --------
    The model that ignores the data (q = N(0, I) in z-space) on flat grey images:

    >>> import numpy as np
    >>> from empirical.mnist.likelihood import StationaryScore, nll_bits_per_dim
    >>> x = np.full((2, 28, 28), 128, dtype=np.uint8)
    >>> res = nll_bits_per_dim(StationaryScore(), x, 128.0, 64.0, seed=0)
    >>> bool(abs(res.mean - (0.5 * np.log2(2 * np.pi) + np.log2(64.0))) < 0.01)
    True
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    x = np.asarray(x_pixels_uint8)
    if x.ndim == 2 and x.shape[1] == 28 * 28:
        x = x.reshape(-1, 28, 28)
    if x.ndim == 3:
        x = x[:, None]
    if (x.ndim != 4 or len(x) < 1 or not np.all(np.isfinite(x)) or np.any(x != np.round(x))
            or x.min() < 0 or x.max() > N_LEVELS - 1):
        raise ValueError("x_pixels_uint8 must be (N, 28, 28), (N, 1, 28, 28) or (N, 784) integers "
                         f"in 0..{N_LEVELS - 1}")
    mean, std = (_per_pixel(a, x.shape[1:]) for a in (zscore_mean, zscore_std))
    if not (np.all(np.isfinite(std)) and np.all(std > 0) and np.all(np.isfinite(mean))):
        raise ValueError("zscore_std must be finite and > 0 and zscore_mean finite at every pixel")
    model = model.to(resolve_device(device))
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    # The dequantised grey level 256 u = x + U, z-scored; the probes use a distinct child seed.
    z = (x + rng.random(x.shape) - mean) / std
    log_q, nfe = _ode_logp(model, z, n_probes=n_probes, seed=int(rng.integers(2**63)), rtol=rtol,
                           atol=atol, t0=t0, batch_size=batch_size, threads=threads)
    D = int(np.prod(x.shape[1:]))
    bpd = np.asarray(bits_per_dim(log_q + np.sum(np.log(N_LEVELS / std)), D))
    n = len(bpd)
    se = float(bpd.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se if n > 1 else float("nan")
    m = float(bpd.mean())
    return NLLResult(bpd, m, se, (m - half, m + half), level, n_probes, nfe,
                     time.perf_counter() - start)

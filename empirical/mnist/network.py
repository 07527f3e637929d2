"""A small convolutional score network in pixel space, trained by denoising score matching with Adam.

The opt-in network route of the MNIST experiment (Figs. 6–7, docs/theory.md §10): the paper trained the
score-SDE tutorial's U-net (channels 32/64/128/256, 1000 epochs, Adam lr 8e-4) on per-pixel z-scores.
That takes hours per run on 2 cores, so :class:`ScoreNet` is the same design scaled down: channels
16/32/64, GroupNorm, SiLU (swish), a Gaussian Fourier embedding of t / T (scale 30, as the tutorial),
skip connections, output divided by σ_t — 66,001 parameters with the default sizes.

The forward process is the project's Ornstein-Uhlenbeck SDE (:func:`empirical.sde.ou`; f = -1, g² = 2,
prior N(0, I)), not the paper's variance-exploding one, so that the network and the random-feature route
share the kernel p_{t|0}(x | x0) = N(e^{-t} x0, (1 - e^{-2t}) I). Times run over [t0, T] with
t0 = 1e-3 T by default: σ_{t0} ≈ 0.1 at T = 5, about 10 grey levels of a pixel with std 100 (the paper's
ε = 1e-5 gives σ ≈ 0.003), a floor that a small network trained for minutes learns well.

Every random draw comes from an explicit seed: the initial weights from ``torch.manual_seed`` inside
``torch.random.fork_rng`` (the global RNG is left as it was), and batches, times and noise from a
``torch.Generator`` on the CPU, moved to the device afterwards, so that CPU and GPU see the same draws.

References
----------
arXiv:2311.01797, Figs. 6–7; Song et al., score-SDE tutorial (the U-net and the DSM loss with
λ(t) = σ_t²); docs/theory.md §1 (the OU process) and §10.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..checks import check_int
from ..training.devices import resolve_device
from ..training.dsm import Batches, checkpoint_epochs, dsm_per_sample, minimise
from ..sde import LinearSDE, ou

T_DEFAULT = 5.0
"""Horizon of the OU process: e^{-5} ≈ 0.007 of the data's mean is left at T."""

T0_FRACTION = 1e-3
"""Default t0 / T: the lower end of training and ODE times."""


class GaussianFourierProjection(nn.Module):
    """[sin 2πWs, cos 2πWs] of a normalised time s, W ~ scale · N(0, 1) frozen (the tutorial's embedding)."""

    def __init__(self, dim: int, scale: float, generator: torch.Generator) -> None:
        super().__init__()
        self.register_buffer("W", torch.randn(dim // 2, generator=generator) * scale)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        proj = s[:, None] * self.W[None, :] * (2 * np.pi)
        return torch.cat([torch.sin(proj), torch.cos(proj)], dim=-1)


class ScoreNet(nn.Module):
    """U-net-like score network s_θ(x, t) for (N, 1, 28, 28) inputs, output divided by σ_t.

    Three resolutions (28, 14, 7) with ``channels`` feature maps, the time embedding added to each
    block, GroupNorm and SiLU, and skip connections on the way up (the score-SDE tutorial's U-net with
    one level and the widths removed).

    Parameters
    ----------
    channels : tuple of 3 ints, default (16, 32, 64)
        Feature maps at 28×28, 14×14 and 7×7; each divisible by ``groups``.
    embed_dim : int, default 64
        Width of the time embedding.
    T : float, default :data:`T_DEFAULT`
        Horizon of the OU process; the embedding sees t / T ∈ [0, 1].
    seed : int, default 0
        Seed of the initial weights and of the frozen Fourier frequencies.
    groups : int, default 4
        GroupNorm groups.

    Examples
    --------
    >>> import torch
    >>> from empirical.mnist.network import ScoreNet
    >>> net = ScoreNet()
    >>> net(torch.zeros(2, 1, 28, 28), torch.full((2,), 0.5)).shape
    torch.Size([2, 1, 28, 28])
    >>> sum(p.numel() for p in net.parameters())
    66001
    """

    def __init__(self, channels: tuple[int, int, int] = (16, 32, 64), embed_dim: int = 64,
                 T: float = T_DEFAULT, seed: int = 0, groups: int = 4) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.sde: LinearSDE = ou(T)
        with torch.random.fork_rng(devices=[]):  # PyTorch's default init draws from the global RNG
            torch.manual_seed(seed)
            gen = torch.Generator().manual_seed(seed)
            self.embed = nn.Sequential(GaussianFourierProjection(embed_dim, 30.0, gen),
                                       nn.Linear(embed_dim, embed_dim), nn.SiLU())
            self.down = nn.ModuleList([
                _Block(nn.Conv2d(1, c1, 3, padding=1, bias=False), embed_dim, groups),
                _Block(nn.Conv2d(c1, c2, 3, stride=2, padding=1, bias=False), embed_dim, groups),
                _Block(nn.Conv2d(c2, c3, 3, stride=2, padding=1, bias=False), embed_dim, groups),
            ])
            up = dict(kernel_size=3, stride=2, padding=1, output_padding=1, bias=False)
            self.up = nn.ModuleList([
                _Block(nn.ConvTranspose2d(c3, c2, **up), embed_dim, groups),
                _Block(nn.ConvTranspose2d(2 * c2, c1, **up), embed_dim, groups),
            ])
            self.out = nn.Conv2d(2 * c1, 1, 3, padding=1)

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        """σ_t of the OU kernel, computed in torch so that it follows ``t``'s dtype and device."""
        return torch.sqrt(-torch.expm1(-2.0 * t))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.embed(t / self.sde.T)
        h1 = self.down[0](x, emb)
        h2 = self.down[1](h1, emb)
        h = self.up[0](self.down[2](h2, emb), emb)
        h = self.up[1](torch.cat([h, h2], dim=1), emb)
        h = self.out(torch.cat([h, h1], dim=1))
        # Dividing by σ_t gives the score its 1/σ_t growth as t -> 0, so the net only learns O(1) values.
        return h / self.sigma(t)[:, None, None, None]


class _Block(nn.Module):
    """conv -> + dense(time embedding) -> GroupNorm -> SiLU."""

    def __init__(self, conv: nn.Module, embed_dim: int, groups: int) -> None:
        super().__init__()
        self.conv, self.dense = conv, nn.Linear(embed_dim, conv.out_channels)
        self.norm, self.act = nn.GroupNorm(groups, conv.out_channels), nn.SiLU()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x) + self.dense(emb)[:, :, None, None]))


def _noised(model: nn.Module, x0: torch.Tensor, gen: torch.Generator, t0: float,
            width: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample DSM terms |σ_t s_θ(x_t, t) + ε|², summed over pixels.

    One t ~ U(t0, T) and one ε ~ N(0, I) per sample, drawn on the CPU from ``gen`` (device-independent);
    with ``width``, the clean data are first dequantised by U(0, width) per pixel.
    """
    n, T = x0.shape[0], model.sde.T
    if width is not None:
        x0 = x0 + torch.rand(x0.shape, generator=gen).to(x0) * width
    t = (t0 + (T - t0) * torch.rand(n, generator=gen, dtype=torch.float64)).to(x0)
    eps = torch.randn(x0.shape, generator=gen).to(x0)
    sig = model.sigma(t)[:, None, None, None]
    xt = torch.exp(-t)[:, None, None, None] * x0 + sig * eps
    return dsm_per_sample(model(xt, t), sig, eps)


def dsm_loss(model: nn.Module, x: np.ndarray | torch.Tensor, seed: int, n_draws: int = 1, *,
             t0: float | None = None, batch_size: int = 256) -> float:
    """Denoising score-matching loss with λ(t) = σ_t², summed over pixels, averaged over images and draws.

    E_{x, t ~ U(t0, T), ε} |σ_t s_θ(e^{-t} x + σ_t ε, t) + ε|² — the tutorial's loss (its units are those
    of the paper's Fig. 6). With the same ``seed`` and ``n_draws`` the (t, ε) draws depend only on the
    image's position, so training and held-out losses of equal-size sets are evaluated on the same noise.

    Parameters
    ----------
    model : ScoreNet
        Any module with ``sde``, ``sigma(t)`` and ``forward(x, t)`` as :class:`ScoreNet`.
    x : ndarray or Tensor, shape (N, 1, 28, 28)
        Z-scored images.
    seed : int
        Seed of the (t, ε) draws.
    n_draws : int, default 1
        Independent (t, ε) per image; the loss is their mean.
    t0 : float, optional
        Lower end of t; default ``T0_FRACTION * T``.
    batch_size : int, default 256
        Images per forward pass (memory only).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.mnist.network import ScoreNet, dsm_loss
    >>> x = np.random.default_rng(0).standard_normal((4, 1, 28, 28))
    >>> net = ScoreNet()
    >>> dsm_loss(net, x, seed=1) == dsm_loss(net, x, seed=1)
    True
    """
    n_draws = check_int("n_draws", n_draws, 1)
    dtype, dev = _placement(model)
    xt = torch.as_tensor(np.asarray(x), dtype=dtype, device=dev)
    t0 = T0_FRACTION * model.sde.T if t0 is None else float(t0)
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    with torch.no_grad():
        for _ in range(n_draws):
            for start in range(0, len(xt), batch_size):
                total += float(_noised(model, xt[start:start + batch_size], gen, t0).sum())
    return total / (n_draws * len(xt))


def _per_pixel(a: float | np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``a`` as one image of ``shape``: a flat (D,) vector (as ``protocol.zscore`` gives) reshaped, else broadcast."""
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(shape) if a.ndim == 1 and a.size == np.prod(shape) else np.broadcast_to(a, shape)


def _placement(model: nn.Module) -> tuple[torch.dtype, torch.device]:
    """The model's dtype and device (of its first parameter or buffer; float32 on the CPU without)."""
    tensors = list(model.parameters()) + list(model.buffers())
    return (tensors[0].dtype, tensors[0].device) if tensors else (torch.float32, torch.device("cpu"))


@dataclass(frozen=True)
class TrainedScoreNet:
    """A trained :class:`ScoreNet` and its training record.

    Attributes
    ----------
    model : ScoreNet
        The network after the last epoch, in eval mode.
    losses : ndarray, shape (epochs,)
        Mean DSM training loss of each epoch (over its mini-batches, weighted by their sizes).
    evaluations : list of (int, object)
        ``(epoch, callback(epoch, model))`` at every ``eval_every``-th epoch and the last one.
    seconds_per_epoch : float
        Measured wall time per epoch (training only, callbacks excluded).
    t0 : float
        Lower end of the training times.
    """

    model: ScoreNet
    losses: np.ndarray = field(repr=False)
    evaluations: list[tuple[int, Any]] = field(repr=False)
    seconds_per_epoch: float
    t0: float


def train_score_net(x_train: np.ndarray, *, epochs: int, batch_size: int = 32, lr: float = 1e-3,
                    seed: int, device: str | torch.device = "cpu", eval_every: int | None = None,
                    callback: Callable[[int, ScoreNet], Any] | None = None, T: float = T_DEFAULT,
                    t0: float | None = None, channels: tuple[int, int, int] = (16, 32, 64),
                    dequantize_width: float | np.ndarray | None = None,
                    threads: int | None = 1) -> TrainedScoreNet:
    """Train a :class:`ScoreNet` on z-scored images by denoising score matching with Adam.

    Each step draws one t ~ U(t0, T) and one ε per sample (the tutorial's loss, λ(t) = σ_t²); batches
    are a fresh permutation per epoch, the last one possibly smaller. The paper used Adam lr 8e-4,
    batch 32 and 1000 epochs; the default lr is the tutorial's 1e-3. The loop is :func:`empirical.training.dsm.minimise`,
    the one the paper's 1-D networks train with.

    Parameters
    ----------
    x_train : ndarray, shape (N, 1, 28, 28)
        Z-scored training images (float; trained in float32).
    epochs : int
        Passes over ``x_train`` (>= 1).
    batch_size : int, default 32
    lr : float, default 1e-3
        Adam learning rate.
    seed : int
        Seed of the initial weights, the batches, the times and the noise.
    device : str or torch.device, default "cpu"
        ``"cuda"`` when available; otherwise ValueError.
    eval_every : int, optional
        Epoch period of ``callback`` (it also runs after the last epoch); default: last epoch only.
    callback : callable (epoch, model) -> object, optional
        E.g. a held-out :func:`dsm_loss` or NLL; its results go to ``evaluations``. The model is put in
        eval mode for the call and back to training mode after it.
    T : float, default :data:`T_DEFAULT`
        Horizon of the OU process.
    t0 : float, optional
        Lower end of t; default ``T0_FRACTION * T``.
    channels : tuple of 3 ints, default (16, 32, 64)
        Widths of :class:`ScoreNet`.
    dequantize_width : float or ndarray of shape (784,) or broadcastable to (1, 28, 28), optional
        If given, each step adds U(0, width) noise per pixel to the clean images (``1 / std`` of the
        z-scoring is one grey level), so that the model learns the dequantised density
        :func:`empirical.mnist.likelihood.nll_bits_per_dim` evaluates. The paper trained without it.
    threads : int or None, default 1
        Torch intra-op threads during training (:func:`empirical.training.devices.torch_threads`); None keeps
        torch's setting.

    Returns
    -------
    TrainedScoreNet

    Raises
    ------
    ValueError
        If ``epochs``, ``batch_size`` or ``eval_every`` is not a positive integer, ``lr`` is not > 0,
        ``x_train`` is not (N, 1, 28, 28) with N >= 1, or ``device`` is unavailable.
    TrainingDiverged
        (:class:`empirical.training.dsm.TrainingDiverged`, a ValueError naming ``lr``) when an epoch's loss or a weight
        becomes NaN or infinite.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.mnist.network import train_score_net
    >>> x = np.random.default_rng(0).standard_normal((8, 1, 28, 28))
    >>> fit = train_score_net(x, epochs=2, batch_size=4, seed=0, channels=(4, 8, 8))
    >>> fit.losses.shape
    (2,)
    """
    epochs, batch_size = check_int("epochs", epochs, 1), check_int("batch_size", batch_size, 1)
    eval_every = epochs if eval_every is None else check_int("eval_every", eval_every, 1)
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    x_np = np.asarray(x_train, dtype=np.float32)
    if x_np.ndim != 4 or x_np.shape[0] < 1 or x_np.shape[1:] != (1, 28, 28):
        raise ValueError(f"x_train must have shape (N, 1, 28, 28), got {x_np.shape}")
    dev = resolve_device(device)
    model = ScoreNet(channels=channels, T=T, seed=seed).to(dev)
    t0 = T0_FRACTION * T if t0 is None else float(t0)
    width = None if dequantize_width is None else torch.as_tensor(
        _per_pixel(dequantize_width, (1, 28, 28)), dtype=torch.float32, device=dev)
    x = torch.from_numpy(x_np).to(dev)
    batches = Batches(len(x), batch_size, lambda idx, _, gen: _noised(model, x[idx], gen, t0, width).mean(),
                      sample_mean=True)
    marks = checkpoint_epochs(epochs, eval_every)[1:]  # from the first S on: no epoch-0 evaluation
    fit = minimise(model, batches, optimizer="adam", lr=lr, epochs=epochs,
                   generator=torch.Generator().manual_seed(seed + 1),  # not the init seed: a distinct stream
                   device=dev, marks=marks if callback is not None else (),
                   callback=None if callback is None else lambda epoch, _loss, _s: (epoch, callback(epoch, model)),
                   threads=threads)
    return TrainedScoreNet(model, fit.losses, fit.records, fit.seconds / epochs, t0)

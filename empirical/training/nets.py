"""Trained score networks in torch: the authors' Swish network and the random-feature model (12).

- :class:`SwishNet`: the one-hidden-layer network of the authors' notebooks (docs/theory.md §10):
  h = w x + b + L_e(φ(t)), φ(t) = [sin 2πW t/T, cos 2πW t/T] with W ~ 30·N(0, I) frozen (embedding
  dim 4), s(x, t) = [Σ_j a_j swish(h_j) + a_0] · factor / σ_t, factor 1/16 (their hard-coded constant) or
  1/width. Every other weight is trained, with PyTorch's default initialisation.
- :class:`RFNet`: the model (12), s = (1/m) A σ(W x + U e(t)) with (W, U) frozen from
  :func:`empirical.rf.features.draw_features` and only A trained. The trainable tensor is θ = A/√m itself
  (shape (d, m)), so s = (1/√m) θ σ(·): a gradient step of size lr on θ is an explicit Euler step of the
  flow dθ/dτ = -∇_θ L of (9)-(10), and k SGD steps reach the training time τ = lr·k of docs/theory.md §3.1
  (on A the same steps would be the A-time s = m·τ).

Both have ``score``: a numpy snapshot ``score(t, x)`` (t a float, x of shape (N,), returns (N,) float64)
that every KL measurement of :mod:`empirical.kl` takes. The network's initial weights come from
``torch.manual_seed(seed)`` inside ``torch.random.fork_rng`` (the global RNG is left as it was).

References
----------
arXiv:2311.01797, model (12), flows (9)-(10), Figs. 3-5 and 8-11; Song et al., score-SDE tutorial (the
Gaussian Fourier embedding, output / σ_t); docs/theory.md §2, §3.1 and §10.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from ..rf.features import RandomFeatures, RFScore, draw_features, rf_score
from ..measure.outputs import write_file
from ..sde import LinearSDE, ou

FACTORS = {"1/16": lambda width: 1.0 / 16.0, "1/width": lambda width: 1.0 / width}
"""Output factors of :class:`SwishNet`: the authors' fixed 1/16, or 1/width."""

FOURIER_SCALE = 30.0
"""Scale of the frozen Gaussian Fourier frequencies W ~ 30·N(0, 1) (the tutorial's and the authors')."""


def sde_sigma(sde: LinearSDE, t: torch.Tensor) -> torch.Tensor:
    """σ_t = √(``sde.sigma2(t)``) for a torch ``t`` (computed in float64 numpy, returned on t's device and dtype)."""
    s2 = np.asarray(sde.sigma2(t.detach().cpu().double().numpy()), dtype=float)
    return torch.as_tensor(np.sqrt(s2), dtype=t.dtype, device=t.device)


class SwishNet(nn.Module):
    """The authors' one-hidden-layer Swish score network (docs/theory.md §10), output / σ_t.

    Parameters
    ----------
    width : int, default 16
        Hidden units (16 in Figs. 3-5 and 8-10; 2^1 ... 2^11 in Fig. 11).
    embed_dim : int, default 4
        Gaussian Fourier features of t: embed_dim/2 frozen frequencies (even, >= 2).
    sde : LinearSDE, optional
        Forward process whose σ_t divides the output; OU by default (``empirical.sde.ve()`` for the
        authors' VE SDE). The time seen by the embedding is t/T (t itself under VE, where T = 1).
    factor : {"1/16", "1/width"}, default "1/16"
        The output factor: the authors' hard-coded 1/16, or 1/width.
    seed : int, default 0
        Seed of the initial weights and of the frozen frequencies.
    dtype : torch.dtype, default torch.float32
        The authors trained in float32.

    Raises
    ------
    ValueError
        If ``width`` is not an integer >= 1, ``embed_dim`` not an even integer >= 2, or ``factor`` unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.training.nets import SwishNet
    >>> net = SwishNet(16, seed=0)
    >>> sum(p.numel() for p in net.parameters() if p.requires_grad)  # w, b (16+16), L_e (64+16), a (16+1)
    129
    >>> net.score(0.5, np.linspace(-1.0, 1.0, 5)).shape
    (5,)
    """

    one_time = True
    """``forward`` accepts one time for every x (t of shape ()): :class:`NetScore` passes it so."""

    def __init__(self, width: int = 16, embed_dim: int = 4, sde: LinearSDE | None = None, factor: str = "1/16",
                 seed: int = 0, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if not (isinstance(width, (int, np.integer)) and width >= 1):
            raise ValueError(f"width must be an integer >= 1, got {width!r}")
        if not (isinstance(embed_dim, (int, np.integer)) and embed_dim >= 2 and embed_dim % 2 == 0):
            raise ValueError(f"embed_dim must be an even integer >= 2, got {embed_dim!r}")
        if factor not in FACTORS:
            raise ValueError(f"factor must be one of {sorted(FACTORS)}, got {factor!r}")
        self.sde = sde or ou()
        self.config = dict(width=int(width), embed_dim=int(embed_dim), factor=factor, seed=int(seed))
        self.factor = FACTORS[factor](int(width))
        with torch.random.fork_rng(devices=[]):  # PyTorch's default init draws from the global RNG
            torch.manual_seed(seed)
            self.register_buffer("W", torch.randn(embed_dim // 2, dtype=dtype) * FOURIER_SCALE)
            self.lin_x = nn.Linear(1, width, dtype=dtype)
            self.lin_e = nn.Linear(embed_dim, width, dtype=dtype)
            self.out = nn.Linear(width, 1, dtype=dtype)

    def forward(self, x: torch.Tensor, t: torch.Tensor, sigma: torch.Tensor | None = None) -> torch.Tensor:
        """s(x, t) for x of shape (N,) and t of shape (N,), or one time for every x (t of shape ()): the time
        embedding is then computed once and broadcast, the per-row numbers up to the rounding of the vectorised
        sin and cos, at a fraction of the cost; ``sigma`` = σ_t when the caller has it (else from the SDE)."""
        proj = (t.reshape(-1) / self.sde.T)[:, None] * self.W[None, :] * (2 * np.pi)
        h = self.lin_x(x[:, None]) + self.lin_e(torch.cat([torch.sin(proj), torch.cos(proj)], dim=-1))
        sigma = sde_sigma(self.sde, t) if sigma is None else sigma
        return self.out(nn.functional.silu(h))[:, 0] * self.factor / sigma

    @property
    def score(self) -> "NetScore":
        """A frozen numpy view of the current network: ``score(t, x)`` -> (N,) float64, with ``dx``."""
        return NetScore(self)


class NetScore:
    """``score(t, x)`` of a snapshot of a torch score network (a CPU copy, in eval mode, no gradients).

    Parameters
    ----------
    net : nn.Module
        A network with ``forward(x, t)`` on (N,) tensors; copied, so later training does not change it.
    """

    def __init__(self, net: nn.Module) -> None:
        self.net = copy.deepcopy(net).cpu().eval()
        self.dtype = next(self.net.parameters()).dtype

    def _tensors(self, t: float, x: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        xt = torch.as_tensor(np.asarray(x, dtype=float).reshape(-1), dtype=self.dtype)
        if getattr(self.net, "one_time", False):  # the network embeds one time once for every x
            return xt, torch.tensor(float(t), dtype=self.dtype)
        return xt, torch.full_like(xt, float(t))

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        """s(t, x) for x of shape (N,), as float64 of shape (N,)."""
        xt, tt = self._tensors(t, x)
        with torch.no_grad():
            return self.net(xt, tt).double().numpy()

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        """∂_x s(t, x) by autograd, shape (N,) (the 1-D divergence of Remark 3)."""
        xt, tt = self._tensors(t, x)
        xt.requires_grad_(True)
        (g,) = torch.autograd.grad(self.net(xt, tt).sum(), xt)
        return g.double().numpy()


class RFNet(nn.Module):
    """The random-feature model (12) as a torch module: only θ = A/√m is trained, (W, U) are frozen.

    s_{t,θ}(x) = (1/m) A σ(W x + U e(t)) = (1/√m) θ σ(W x + U e(t)) with θ = A/√m of shape (d, m) the
    trainable parameter: SGD with step lr on θ is the Euler scheme of the θ-flow (9)-(10), so k steps
    approximate the flow at τ = lr·k (docs/theory.md §3.1). The model is not divided by σ_t (as (12)).

    Parameters
    ----------
    features : RandomFeatures
        Frozen features, d = 1 (e.g. ``draw_features(m, T=sde.T)``); their T must equal the SDE's.
    sde : LinearSDE, optional
        Forward process; OU with the features' horizon by default.
    A0 : ndarray of shape (1, m), optional
        Initial A in the (1/m) A convention; 0 by default (docs/theory.md §2).
    dtype : torch.dtype, default torch.float64

    Raises
    ------
    ValueError
        If d != 1, the horizons differ, or ``A0`` has the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.rf.features import draw_features
    >>> from empirical.training.nets import RFNet
    >>> net = RFNet(draw_features(8, seed=0), A0=np.ones((1, 8)))
    >>> s = net.score  # an RFScore: K1 of it is exact (Lemma 3)
    >>> bool(np.allclose(s(0.5, np.array([0.3])), np.maximum(net.features.preactivation(0.5, [0.3]), 0).mean()))
    True
    """

    def __init__(self, features: RandomFeatures, sde: LinearSDE | None = None, A0: np.ndarray | None = None,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        if features.d != 1:
            raise ValueError(f"features.d must be 1 (RFNet trains 1-D targets), got {features.d}")
        self.sde = sde or ou(features.T)
        if not np.isclose(self.sde.T, features.T, rtol=1e-12, atol=0):
            raise ValueError(f"features.T must equal the SDE horizon T = {self.sde.T}, got {features.T}")
        m = features.m
        A0 = np.zeros((1, m)) if A0 is None else np.asarray(A0, dtype=float)
        if A0.shape != (1, m):
            raise ValueError(f"A0 must have shape (1, {m}), got {A0.shape}")
        self.features = features
        self.config = dict(m=m, embedding=features.embedding)
        self.register_buffer("Wf", torch.as_tensor(features.W, dtype=dtype))
        self.register_buffer("Uf", torch.as_tensor(features.U, dtype=dtype))
        self.theta = nn.Parameter(torch.as_tensor(A0 / np.sqrt(m), dtype=dtype))

    @property
    def m(self) -> int:
        """Number of features m."""
        return self.features.m

    def phi(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """σ(W x + U e(t)), shape (N, m), for x, t of shape (N,)."""
        e = torch.as_tensor(self.features.embed(t.detach().cpu().double().numpy()), dtype=x.dtype, device=x.device)
        return torch.relu(x[:, None] @ self.Wf.T + e @ self.Uf.T)

    def forward(self, x: torch.Tensor, t: torch.Tensor, sigma: torch.Tensor | None = None) -> torch.Tensor:
        """s_{t,θ}(x) = (1/√m) θ σ(W x + U e(t)), shape (N,); ``sigma`` is ignored (no 1/σ_t in (12))."""
        return (self.phi(x, t) @ self.theta[0]) / np.sqrt(self.m)

    @property
    def A(self) -> np.ndarray:
        """A = √m θ, shape (1, m), float64 numpy (the (1/m) A convention of (12))."""
        return np.sqrt(self.m) * self.theta.detach().cpu().double().numpy()

    @property
    def score(self) -> RFScore:
        """The current model as an :class:`~empirical.rf.features.RFScore` (exact K1, analytic ``dx``)."""
        return rf_score(self.features, self.A)


def build_net(kind: str, width: int, sde: LinearSDE, seed: int = 0, factor: str = "1/16") -> nn.Module:
    """``SwishNet(width, sde=sde, factor=factor, seed=seed)`` for kind 'swish'; for 'rf',
    ``RFNet(draw_features(width, seed=seed, T=sde.T), sde)`` (A(0) = 0).

    Raises
    ------
    ValueError
        If ``kind`` is not 'swish' or 'rf', or the network rejects its arguments.
    """
    if kind == "swish":
        return SwishNet(width, sde=sde, factor=factor, seed=seed)
    if kind == "rf":
        if not (isinstance(width, (int, np.integer)) and width >= 1):
            raise ValueError(f"width must be an integer >= 1, got {width!r}")
        return RFNet(draw_features(int(width), seed=seed, T=sde.T), sde)
    raise ValueError(f"net must be 'swish' or 'rf', got {kind!r}")


def save_checkpoints(path: str, meta: dict[str, Any], states: dict[int, dict[str, torch.Tensor]]) -> None:
    """Write ``meta`` (how to rebuild the net: kind, width, seed, factor, sde name and T; ``diffgen train``
    adds the target, the seeds and the optimiser) and one state dict per checkpoint epoch to ``path``
    (``torch.save``, atomically, replacing a link there rather than writing through it); :func:`load_score`
    reads it back."""
    blob = {"meta": meta, "states": {int(k): {n: v.detach().cpu() for n, v in s.items()} for k, s in states.items()}}
    write_file(path, lambda tmp: torch.save(blob, tmp))


_META_KEYS = ("net", "width", "seed", "sde", "T")


def load_score(path: str, epoch: int | None = None, sdes: dict | None = None):
    """The score callable of a checkpoint written by ``diffgen train --save-model``.

    Parameters
    ----------
    path : str
        The file.
    epoch : int, optional
        Which checkpoint; the last one by default.
    sdes : dict of name -> factory, optional
        How to rebuild the SDE by name (OU's factory gets the saved T); default :data:`empirical.sde.SDES`.

    Returns
    -------
    NetScore or RFScore
        ``score(t, x)`` of that checkpoint, for any :mod:`empirical.kl` measurement.

    Raises
    ------
    ValueError
        Naming ``path``: not a torch file (garbage, truncated), or a torch file without the ``meta``
        and ``states`` that ``diffgen train --save-model`` writes; or if ``epoch`` is not one of the saved
        checkpoints or the SDE name is unknown.
    """
    import pickle
    import zipfile

    from .. import sde as sde_module
    try:
        blob = torch.load(path, weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, RuntimeError) as err:
        raise ValueError(f"path {str(path)!r} is not a torch file written by diffgen train --save-model "
                         f"(torch.load: {type(err).__name__})") from None
    meta = blob.get("meta") if isinstance(blob, dict) else None
    states = blob.get("states") if isinstance(blob, dict) else None
    missing = [k for k in _META_KEYS if not isinstance(meta, dict) or k not in meta]
    if missing or not isinstance(states, dict) or not states:
        raise ValueError(f"path {str(path)!r} is a torch file but not a checkpoint of diffgen train --save-model: "
                         f"it needs 'meta' (with {list(_META_KEYS)}) and a non-empty 'states'; missing "
                         f"{(['states'] if not isinstance(states, dict) or not states else []) + ['meta.' + k for k in missing]}")
    epoch = max(states) if epoch is None else int(epoch)
    if epoch not in states:
        raise ValueError(f"epoch must be one of the saved checkpoints {sorted(states)}, got {epoch!r}")
    sdes = sdes or sde_module.SDES
    if meta["sde"] not in sdes:
        raise ValueError(f"sde {meta['sde']!r} is not one of {sorted(sdes)}")
    sde = sdes[meta["sde"]](T=meta["T"]) if meta["sde"] == "ou" else sdes[meta["sde"]]()
    net = build_net(meta["net"], meta["width"], sde, meta["seed"], meta.get("factor", "1/16"))
    net.load_state_dict(states[epoch])
    return net.score

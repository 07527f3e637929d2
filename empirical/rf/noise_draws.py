"""Finite noise draws per training point: the Gram matrix B1 of the empirical loss at k draws, and its spectrum.

The engine's empirical loss is exact in the noise: with p̂_t = (1/n) Σ_i N(r x_i, σ_t² I) the
DSM loss (5) on p̂0 equals (7) on p̂_t plus a constant (docs/theory.md §3), which is k = ∞ draws
per point. In practice a network sees finitely many noisy copies of each training point. With k
fixed draws the loss is still the quadratic form of Lemma 3,

    L̂_k(Θ) = tr(Θ B̂1_k Θᵀ) - 2 tr(Θ B̂2_k) + ĉ_k,
    B̂1_k = Σ_j ω_j λ_j (1/(n k m)) Σ_{i, l} φ_{ijl} φ_{ijl}ᵀ,   B̂2_k = Σ_j ω_j λ_j (1/(n k √m)) Σ_{i, l} φ_{ijl} (-ε_{ijl}/σ_j)ᵀ,
    ĉ_k = Σ_j ω_j λ_j (1/(n k)) Σ_{i, l} ‖ε_{ijl}‖²/σ_j²,   φ_{ijl} = σ(W (r_j x_i + σ_j ε_{ijl}) + U e(t_j)),

so the flows (9)-(10) stay exact (:func:`empirical.rf.flow.gradient_flow`). It is
:func:`empirical.rf.loss.empirical_losses` with ``noise_draws=k``: the t-expectation keeps the fixed
Gauss–Legendre nodes t_j and weights ω_j of the exact loss (no t draws), and at each node each
training point gets k standard-normal draws ε_{ijl} (l = 1..k), drawn once from ``seed``
(independent across nodes: k draws per point per node, as in the fixed-t analysis of Urfin,
Bonnaire, Biroli, Mézard 2026). Each of B̂1_k, B̂2_k, ĉ_k is an unbiased average whose mean is the
exact (k = ∞) coefficient; they converge at the Monte-Carlo rate k^{-1/2}.

This module gives the Gram spectrum the theory predicts (a generalisation bulk of order nk/d and a
memorisation bulk of order k, the latter absent at k = 1): :func:`gram_spectrum` of a loss, and
:func:`gram_spectra` for several k (and k = ∞) on one training set, over the t-grid or at one t.

References
----------
arXiv:2311.01797, eq. (5) and Lemma 3; docs/theory.md §3 and §11.1 (Urfin, Bonnaire, Biroli, Mézard
2026, "First Learn, Then Memorize", extending arXiv 2505.17638).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .features import RandomFeatures
from .loss import empirical_loss
from .quadratic import QuadraticLoss
from ..quadrature import N_T_DEFAULT, TimeGrid
from ..sde import LinearSDE, ou

__all__ = ["fixed_time", "gram_spectra", "gram_spectrum"]


def gram_spectrum(loss: QuadraticLoss) -> np.ndarray:
    """The eigenvalues of the loss's Gram matrix B1 in decreasing order (round-off negatives set to 0).

    Parameters
    ----------
    loss : QuadraticLoss
        Any loss of Lemma 3 (its cached eigendecomposition is reused).

    Returns
    -------
    ndarray of shape (m,)

    Examples
    --------
    k = 1 draw per point at one t: B1 is an average of n rank-one matrices, so at most n eigenvalues are
    positive.

    >>> import numpy as np
    >>> from empirical.rf.features import draw_features
    >>> from empirical.rf.loss import empirical_loss
    >>> from empirical.rf.noise_draws import fixed_time, gram_spectrum
    >>> x, f = np.array([-1.0, 0.5, 2.0]), draw_features(16, seed=0)
    >>> beta = gram_spectrum(empirical_loss(x, f, noise_draws=1, seed=0, grid=fixed_time(5.0, 0.3)))
    >>> int(np.sum(beta > 1e-12 * beta[0])), bool(np.all(np.diff(beta) <= 0))
    (3, True)
    """
    if not isinstance(loss, QuadraticLoss):
        raise ValueError(f"loss must be a QuadraticLoss, got {type(loss).__name__}")
    return loss.spectrum[0][::-1].copy()


def fixed_time(T: float, t: float) -> TimeGrid:
    """The t-"grid" of one node t of weight 1: a loss on it is the loss at that diffusion time alone.

    Parameters
    ----------
    T : float
        The horizon (the SDE's), > 0.
    t : float
        The diffusion time, in (0, T].

    Returns
    -------
    TimeGrid

    Raises
    ------
    ValueError
        If ``t`` is not in (0, T].

    Examples
    --------
    >>> from empirical.rf.noise_draws import fixed_time
    >>> g = fixed_time(5.0, 0.5)
    >>> g.t.tolist(), g.w.tolist(), g.t0
    ([0.5], [1.0], 0.5)
    """
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"T must be a finite number > 0, got {T!r}")
    if isinstance(t, bool) or not (isinstance(t, (int, float, np.integer, np.floating)) and 0 < t <= T):
        raise ValueError(f"t must be a number in (0, T] = (0, {T}], got {t!r}")
    return TimeGrid(t=np.array([float(t)]), w=np.array([1.0]), T=float(T), t0=float(t))


def gram_spectra(x_train: np.ndarray, features: RandomFeatures, ks: Sequence[int | None] = (1, 4, 16, None),
                 seed: int = 0, sde: LinearSDE | None = None, lam: str = "std", t: float | None = None,
                 n_t: int = N_T_DEFAULT, t0: float = 0.0) -> dict[int | None, np.ndarray]:
    """The Gram spectra of the empirical loss with k noise draws per point, for each k (None: k = ∞, exact).

    Parameters
    ----------
    x_train : ndarray of shape (n,) or (n, d)
        The training set.
    features : RandomFeatures
        Frozen features of the model (12).
    ks : sequence of int >= 1 or None, default (1, 4, 16, None)
        Draws per point and node; None is the exact noise expectation.
    seed : int, default 0
        Seed of the draws (the same seed for every k: the draws of different k are not nested).
    sde : LinearSDE, optional
        Forward process; OU with the features' horizon by default.
    lam : {"std", "var", "g2"}, default "std"
        Weighting λ(t) of (6).
    t : float, optional
        One diffusion time in (0, T]: the Gram matrix at that t alone (:func:`fixed_time`), as in the
        fixed-t theory; None (default) is the t-averaged B1 of the training loss (``n_t``, ``t0``).
    n_t, t0 : int, float
        The t-grid when ``t`` is None.

    Returns
    -------
    dict of k -> ndarray of shape (m,)
        Eigenvalues in decreasing order.

    Raises
    ------
    ValueError
        If a k is not an integer >= 1 or None, or another argument is outside its range.

    Examples
    --------
    More draws per point: the spectrum approaches the exact one.

    >>> import numpy as np
    >>> from empirical.rf.features import draw_features
    >>> from empirical.rf.noise_draws import gram_spectra
    >>> x, f = np.array([-1.0, 0.5, 2.0]), draw_features(8, seed=0)
    >>> s = gram_spectra(x, f, ks=(4, 400, None), t=0.5)
    >>> err = [np.abs(s[k] - s[None]).max() for k in (4, 400)]
    >>> bool(err[1] < err[0])
    True
    """
    ks = tuple(ks)
    bad = [k for k in ks if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1)]
    if bad or not ks:
        raise ValueError(f"ks must be a non-empty sequence of integers >= 1 or None (k = ∞), got {ks!r}")
    sde = sde or ou(features.T)
    grid = None if t is None else fixed_time(sde.T, t)
    return {k: gram_spectrum(empirical_loss(x_train, features, sde, lam, n_t=n_t, t0=t0, noise_draws=k, seed=seed,
                                            grid=grid)) for k in ks}

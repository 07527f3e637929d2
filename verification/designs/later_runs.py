"""The measurements of the later theories (docs/theory.md §11) that are not one :class:`MeasureConfig` each, as
stored tasks (:meth:`verification.store.runner.Runner.run_tasks`), and the sizes of their sweeps (:class:`LaterDesign`).

- :class:`empirical.measure.exact_curves.ExactCurves` (re-exported): K1, the held-out denoising loss and K1* along the
  exact empirical flow, computed in the engine (:func:`empirical.measure.exact_curves.run_curves`).
- :func:`run_halves`: the two-halves measurement (:func:`empirical.measure.halves.halves`) as a stored dict.
- :func:`optimiser_runs`: the paper's Fig. 3 network trained at several learning rates at fixed lr x epochs, and
  by full-batch DSM gradient descent (Wu, Marion, Biau, Boyer, arXiv 2502.03435), as
  :class:`empirical.training.paper_runs.PaperRun` tasks.

``LATER_VERSION`` is part of the halves and optimiser keys (:class:`ExactCurves` carries its own version).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from empirical.measure.exact_curves import ExactCurves, run_curves
from empirical.measure.halves import HalvesConfig, halves
from empirical.measure import make_target
from empirical.training.paper_runs import PaperRun
from empirical.training import BATCH_SIZE

from .paper_runs import PaperDesign, runs

__all__ = ["LATER_VERSION", "ExactCurves", "LaterDesign", "halves_key", "optimiser_runs", "run_curves", "run_halves"]

LATER_VERSION = 1
"""Part of every task's store key: incremented when a change alters the numbers of a task."""


def halves_key(config: HalvesConfig) -> dict:
    """The store key of a two-halves task."""
    return {"later": LATER_VERSION, "kind": "halves", **config.to_dict()}


def run_halves(config: HalvesConfig) -> dict:
    """:func:`empirical.measure.halves.halves` as a stored dict: its JSON (``diffgen halves --json``) without the timings
    (so that a stored result is deterministic), and ``kl_prior`` (KL(p_T‖π), in each half's K1)."""
    out = halves(config).to_json()
    out.pop("timings", None)
    out["kl_prior"] = float(make_target(config.measure_config()).kl_to_prior())
    return {"task": halves_key(config), **out}


@dataclass(frozen=True)
class LaterDesign:
    """Sizes of the later-theories section (the seeds are the scale's).

    mem_ns, mem_m, mem_taus : the memorisation sweep (1-D, K2 and the exact memorised fraction at each τ of
        mem_taus; K1 and the held-out loss on the scale's dense τ grid); repeated with each finite k of noise_ks on
        mem_k_taus, a subset of mem_taus (k = ∞ is read from the mem_taus sweep; K2 of a finite-k flow, which
        fits the draws' noise, is not resolved by the Fokker–Planck cells at the longest times: keep them out).
    noise_n, noise_m, noise_ks, noise_t : K1 curves with k noise draws per point (None: k = ∞; 1 and None are
        needed), and the Gram spectra at the one diffusion time noise_t.
    memd_d, memd_ns, memd_m, memd_taus, memd_samples : the memorisation sweep in d = memd_d >= 2 (K1 and the
        sampled memorised fraction, memd_samples reverse-SDE draws per τ).
    halves_ns, halves_m, halves_taus : the two-halves sweep.
    halves_mnist_fractions : the two halves on the MNIST nearest and farthest pair of the scale's first MNIST
        design: the fractions of the pair's training points that are cut into halves.
    dn_d, dn_ns, dn_n, dn_ds, dn_m, dn_taus : the d/n sweeps: n at fixed d = dn_d, and d at fixed n = dn_n, with
        m = dn_m features, on the τ grid dn_taus.
    opt_lrs, opt_seeds : learning rates of SGD (the first is the paper's, with the paper design's epochs) and the
        seeds of the optimiser comparison; full-batch gradient descent runs at the paper's learning rate.
    """

    mem_ns: tuple[int, ...]
    mem_m: int
    mem_taus: tuple[float, ...]
    mem_k_taus: tuple[float, ...]
    memd_d: int
    memd_ns: tuple[int, ...]
    memd_m: int
    memd_taus: tuple[float, ...]
    memd_samples: int
    noise_n: int
    noise_m: int
    noise_ks: tuple[int | None, ...]
    noise_t: float
    halves_ns: tuple[int, ...]
    halves_m: int
    halves_taus: tuple[float, ...]
    halves_mnist_fractions: tuple[float, ...]
    dn_d: int
    dn_ns: tuple[int, ...]
    dn_n: int
    dn_ds: tuple[int, ...]
    dn_m: int
    dn_taus: tuple[float, ...]
    opt_lrs: tuple[float, ...]
    opt_seeds: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.mem_ns) < 2 or min(self.mem_ns) < 2:
            raise ValueError(f"mem_ns must hold >= 2 sizes n >= 2 (a slope in n; a second nearest point), got "
                             f"{self.mem_ns!r}")
        if not set(self.mem_k_taus) <= set(self.mem_taus):
            raise ValueError(f"mem_k_taus must be taus of mem_taus (k = infinity is read from that sweep), got "
                             f"{self.mem_k_taus!r}")
        if self.memd_d < 2 or len(self.memd_ns) < 2 or min(self.memd_ns) < 2:
            raise ValueError(f"memd_d must be >= 2 and memd_ns hold >= 2 sizes n >= 2, got {self.memd_d!r}, "
                             f"{self.memd_ns!r}")
        if len(self.halves_mnist_fractions) < 2 or not all(0 < f <= 1 for f in self.halves_mnist_fractions):
            raise ValueError(f"halves_mnist_fractions must hold >= 2 fractions in (0, 1], got "
                             f"{self.halves_mnist_fractions!r}")
        if 1 not in self.noise_ks or None not in self.noise_ks:
            raise ValueError(f"noise_ks must hold 1 and None (k = infinity), got {self.noise_ks!r}")
        if sum(n >= 2 * self.dn_d for n in self.dn_ns) < 2 or sum(2 * d <= self.dn_n for d in self.dn_ds) < 2:
            raise ValueError(f"dn_ns must hold >= 2 sizes n >= 2 dn_d and dn_ds >= 2 dimensions d <= dn_n / 2, got "
                             f"{self.dn_ns!r}, {self.dn_ds!r} (dn_d = {self.dn_d}, dn_n = {self.dn_n})")
        if sum(2 <= d and 8 * d <= self.dn_n for d in set(self.dn_ds)) < 3:
            raise ValueError(f"dn_ds must hold >= 3 dimensions 2 <= d <= dn_n / 8 = {self.dn_n / 8:g} (the growth "
                             f"rule fits two parameters per seed), got {self.dn_ds!r}")


def optimiser_runs(paper: PaperDesign, lrs: tuple[float, ...], seeds_: tuple[int, ...]) -> dict[str, list[PaperRun]]:
    """The optimiser arms, by label: SGD (batch 32) at each lr with epochs and checkpoint spacing scaled by
    lrs[0]/lr (the same lr x epochs, the same checkpoints in lr x epochs), and full-batch gradient descent at
    lrs[0] with ceil(n/32) times the epochs (one step per epoch: the same lr x steps as the minibatch run). The
    arm at lrs[0] = the paper design's SGD lr is the paper section's own run (the same store key).

    Examples
    --------
    >>> from verification.designs.later_runs import optimiser_runs
    >>> from verification.designs.sweeps import QUICK
    >>> arms = optimiser_runs(QUICK.paper, (0.5, 0.1), (0,))
    >>> [(k, v[0].epochs, v[0].eval_every) for k, v in arms.items()]
    [('SGD lr 0.5', 200, 20), ('SGD lr 0.1', 1000, 100), ('full-batch GD lr 0.5', 6400, 640)]
    """
    if not lrs or any(not (math.isfinite(lr) and lr > 0) for lr in lrs):
        raise ValueError(f"lrs must be a non-empty tuple of learning rates > 0, got {lrs!r}")
    base = [r for r in runs(paper)["sgd"] if r.seed in seeds_]
    if lrs[0] != paper.sgd_lr:
        base = [replace(r, lr=lrs[0]) for r in base]
    out = {}
    for lr in lrs:
        factor = lrs[0] / lr
        if abs(factor - round(factor)) > 1e-9:
            raise ValueError(f"lrs[0] / lr must be an integer (the same checkpoints in lr x epochs), got {factor:g}")
        k = int(round(factor))
        out[f"SGD lr {lr:g}"] = [r if k == 1 else replace(r, lr=lr, epochs=r.epochs * k, eval_every=r.eval_every * k,
                                                          measures=("K2",), density_epochs=()) for r in base]
    steps = math.ceil(paper.n / BATCH_SIZE)
    out[f"full-batch GD lr {lrs[0]:g}"] = [replace(r, epochs=r.epochs * steps, eval_every=r.eval_every * steps,
                                                   measures=("K2",), density_epochs=(), batch_size=None) for r in base]
    return out

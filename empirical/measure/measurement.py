"""A measurement's record (:class:`Measurement`: every number at every τ, its JSON and its model file), the target
a configuration means (:func:`make_target`) and the independent random streams of a seed (:func:`seeds`).
:func:`empirical.measure.measure` fills the record.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

import numpy as np

from .config import KL_NAMES, MeasureConfig, available_kls
from ..rf.features import RandomFeatures
from .outputs import write_file
from ..sde import ou
from ..targets import Target, random_direction, two_bumps, two_mode, two_mode_nd

__all__ = ["Measurement", "make_target", "seeds"]


def make_target(c: MeasureConfig) -> Target:
    """The target p0 of the configuration, diffused by OU with horizon ``c.T``: a 1-D target for d = 1,
    :func:`~empirical.targets.two_mode_nd` along ``c.direction`` for d >= 2.

    Memoised, so that sweeps share the target's own cached quadratures.
    """
    axis = None if c.direction == "e1" else tuple(random_direction(c.d, _streams(c.seed)[2]))
    return _target(c.target, c.mu, c.weights, c.T, c.d, axis)


@functools.lru_cache(maxsize=32)
def _target(name: str, mu: float, weights: tuple[float, float], T: float, d: int = 1,
            axis: tuple[float, ...] | None = None) -> Target:
    sde = ou(T)
    if d > 1:
        return two_mode_nd(mu, d, weights, direction=None if axis is None else np.array(axis), sde=sde)
    if name == "gm":
        return two_mode(mu, weights, sde=sde)
    return two_bumps(mu, 1.0, weights, 2, sde=sde)


def _streams(seed: int) -> list[np.random.SeedSequence]:
    """Data, features, the modes' direction, the ODE-KL's Monte Carlo, the memorisation draws and the
    loss's noise draws: independent streams of one seed (the first four are those of every earlier
    version: ``spawn`` children depend only on their index)."""
    return np.random.SeedSequence(seed).spawn(6)


def _stream_seed(seed: int, index: int) -> int:
    """An integer seed from stream ``index`` of :func:`_streams`."""
    return int(_streams(seed)[index].generate_state(1)[0])


def seeds(seed: int) -> tuple[np.random.Generator, int]:
    """(data generator, feature seed): independent streams spawned from the master seed."""
    data, feats = _streams(seed)[:2]
    return np.random.default_rng(data), int(feats.generate_state(1)[0])


def _listed(values: np.ndarray) -> list[float | None]:
    """Floats, with None where nothing was measured (NaN: ``kl_at = "k1-min"`` measures one τ only)."""
    return [None if np.isnan(v) else float(v) for v in np.asarray(values, dtype=float)]


@dataclass(frozen=True, eq=False)
class Measurement:
    """Results at each τ of ``config.taus`` (arrays aligned with it) and, when just computed, the models.

    A measurement read back from JSON (:meth:`from_json`, e.g. from a result cache) has the same
    numbers and no models (``features``, ``A`` and ``x_train`` are None).

    Attributes
    ----------
    config : MeasureConfig
    K : dict of name -> array
        The measured KLs ("K1" always; "K2".."K4" as ``config.kl`` asks), aligned with ``taus``.
    I1, I2 : arrays; I3 : float
        The decomposition (15) (I3 is NaN when ``config.m_ref_factor`` is 0).
    lemmas : dict
        Lemma 4 and 5 checks on the empirical and the population flow (:func:`~empirical.measure.lemma_checks.lemma_checks`),
        and ``independent``: I2 and K1 evaluated a second way, with ledger-I2
        (:func:`~empirical.measure.independent.independent_checks`).
    quantities : dict
        KL(p_T‖π) ``kl_prior``, L̃(θ*) ``loss_star``, its nested-model estimate of L̃(θ̄*)
        ``loss_star_ref``, the nested model's size ``m_ref``, and for the 1/τ term of the bound (Lemma 4,
        docs/theory.md §3.2) the comparator θ_ρ of the population loss (:mod:`empirical.rf.comparator`):
        ``comparator_norm2`` = ‖θ_ρ‖², ``comparator_excess`` = L̃(θ_ρ) - L̃(θ*), ``ridge`` = ρ, and
        ``loss_zero`` = L̃(0); ``theta_star_norm2`` is ‖θ*‖² of the minimum-norm minimiser, which moves with
        the solver's rank cutoff (numerically undefined: no bound should use it). K1 at τ = ∞ (the flow's limit, :attr:`K1_inf`): ``K1_inf`` and
        ``K1_inf_rounding``, its difference from a second solve of the same minimiser (by SVD); K1 past the grid at
        ``K1_tail_tau`` (the last τ times 10 ... 10^5): ``K1_tail``. With
        ``config.memorisation``, ``memorised_fraction_target``: the fraction of p_{t0} itself (exact in 1-D, from
        ``memorisation_samples`` draws of p_{t0} in d >= 2).
    timings : dict of stage -> seconds
    boundary_mass : dict of name -> array
        ``"K2"``: the mass in the two outer cells of the Fokker–Planck grid of each K2's law, aligned
        with ``taus`` (above :data:`empirical.kl.BOUNDARY_MASS_MAX` that K2 is truncated); empty when
        K2 was not measured.
    standard_errors : dict of name -> array
        Monte-Carlo standard errors of the KLs that are Monte-Carlo means (``"K3"`` in d >= 2), aligned
        with ``taus``, and of the sampled memorised fraction (``"memorised_fraction"``, d >= 2); empty
        in d = 1, where every measurement is deterministic.
    memorised_fraction : array or None
        With ``config.memorisation``: the memorised fraction of the reverse-SDE sampler at each τ
        (NaN where the samplers were not run, ``kl_at``); None otherwise.
    """

    config: MeasureConfig
    K: dict[str, np.ndarray]
    I1: np.ndarray
    I2: np.ndarray
    I3: float
    lemmas: dict[str, dict]
    quantities: dict[str, float]
    timings: dict[str, float]
    boundary_mass: dict[str, np.ndarray] = field(default_factory=dict)
    standard_errors: dict[str, np.ndarray] = field(default_factory=dict)
    features: RandomFeatures | None = field(default=None, repr=False)
    A: np.ndarray | None = field(default=None, repr=False)
    x_train: np.ndarray | None = field(default=None, repr=False)
    memorised_fraction: np.ndarray | None = None

    @property
    def taus(self) -> np.ndarray:
        """The training times τ, as an array."""
        return np.asarray(self.config.taus, dtype=float)

    @property
    def K1_inf(self) -> float:
        """K1 at τ = ∞: the empirical flow's limit from A(0) = 0, the minimum-norm minimiser of the empirical
        loss on the range of B̂1 (eigenvalues above numpy's rank cutoff m·eps·max β); NaN for a measurement
        of numerics older than this quantity. Its rounding is ``quantities["K1_inf_rounding"]``."""
        return float(self.quantities.get("K1_inf", float("nan")))

    def to_json(self) -> dict:
        """The ``diffgen measure --json`` object: tau, K1..K4, I1..I3 aligned with tau, inputs, timings,
        and ``boundary_mass`` ({"K2": [...]} aligned with tau, or {}).

        A KL that exists in the configuration's d but was not asked for is a list of None; one that
        does not exist there (:func:`~empirical.measure.config.available_kls`) is left out. Monte-Carlo KLs
        (K3 in d >= 2) carry their standard errors as ``"K3_se"``."""
        out = {"tau": list(self.config.taus)}
        nan = [None] * len(self.config.taus)
        for name in KL_NAMES:
            if name in self.K:
                out[name] = _listed(self.K[name])
            elif name in available_kls(self.config.d):
                out[name] = nan
        for name, se in self.standard_errors.items():
            out[f"{name}_se"] = _listed(se)
        out["I1"] = [float(v) for v in self.I1]
        out["I2"] = [float(v) for v in self.I2]
        out["I3"] = [float(self.I3) if np.isfinite(self.I3) else None] * len(self.config.taus)
        out["inputs"] = self.config.to_dict()
        out["quantities"] = self.quantities
        out["lemmas"] = self.lemmas
        out["timings"] = self.timings
        out["boundary_mass"] = {k: _listed(vals) for k, vals in self.boundary_mass.items()}
        if self.memorised_fraction is not None:
            out["memorised_fraction"] = _listed(self.memorised_fraction)
        return out

    @classmethod
    def from_json(cls, obj: dict) -> Measurement:
        """The measurement (without models) from :meth:`to_json`'s object; numbers round-trip exactly.

        An object without ``boundary_mass`` (written before it existed) reads back with an empty one.

        Raises
        ------
        ValueError
            Naming the key, if ``obj`` is not a mapping, lacks a key of :meth:`to_json` (``inputs``, ``I1``, ``I2``,
            ``I3``, ``lemmas``, ``quantities``, ``timings``, ``K1``), its inputs are not a valid configuration, or
            an array is not a list of numbers aligned with tau.

        Examples
        --------
        >>> from empirical.measure import Measurement
        >>> Measurement.from_json({})
        Traceback (most recent call last):
            ...
        ValueError: Measurement.from_json: the object lacks the keys ['inputs', 'K1', 'I1', 'I2', 'I3', 'lemmas', 'quantities', 'timings'] of Measurement.to_json
        """
        if not isinstance(obj, dict):
            raise ValueError(f"Measurement.from_json needs a dict (Measurement.to_json's object), got {type(obj).__name__}")
        missing = [k for k in _JSON_KEYS if k not in obj]
        if missing:
            raise ValueError(f"Measurement.from_json: the object lacks the keys {missing} of Measurement.to_json")
        if not isinstance(obj["inputs"], dict):
            raise ValueError(f"Measurement.from_json: inputs must be a dict of MeasureConfig fields, got "
                             f"{type(obj['inputs']).__name__}")
        try:
            config = MeasureConfig(**obj["inputs"])
        except TypeError as err:  # an unknown field
            raise ValueError(f"Measurement.from_json: inputs: {err}") from None
        n = len(config.taus)

        def numbers(key: str, value: object) -> np.ndarray:
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                arr = None
            if arr is None or arr.shape != (n,):
                raise ValueError(f"Measurement.from_json: {key} must be a list of {n} numbers (or null), aligned "
                                 f"with tau, got {str(value)[:60]}")
            return arr

        K = {k: numbers(k, obj[k]) for k in KL_NAMES if isinstance(obj.get(k), list) and any(v is not None for v in obj[k])}
        se = {k[:-3]: numbers(k, v) for k, v in obj.items() if k.endswith("_se")}
        boundary = obj.get("boundary_mass", {})
        if not isinstance(boundary, dict):
            raise ValueError(f"Measurement.from_json: boundary_mass must be a dict, got {type(boundary).__name__}")
        boundary = {k: numbers(f"boundary_mass[{k!r}]", v) for k, v in boundary.items()}
        I3 = numbers("I3", obj["I3"])[0]
        for key in ("lemmas", "quantities", "timings"):
            if not isinstance(obj[key], dict):
                raise ValueError(f"Measurement.from_json: {key} must be a dict, got {type(obj[key]).__name__}")
        memorised = obj.get("memorised_fraction")
        return cls(config, K, numbers("I1", obj["I1"]), numbers("I2", obj["I2"]), float(I3), obj["lemmas"],
                   obj["quantities"], obj["timings"], boundary, se,
                   memorised_fraction=None if memorised is None else numbers("memorised_fraction", memorised))

    def save_model(self, path: str) -> None:
        """Write the models to the ``.npz`` file ``path`` (atomically, replacing a link there rather than writing
        through it); ValueError if read back from JSON (no models).

        Arrays: W (m×d), U (m×d_e), A (len(tau)×d×m, the (1/m) A convention), x_train (n×d), tau, T
        and embedding; and what rebuilds the target and the run: ``config`` (the JSON of
        :meth:`MeasureConfig.to_dict`, which :class:`MeasureConfig` takes back), ``target``, ``mu``, ``weights``,
        ``seed``, ``sde`` ("ou", horizon T) and ``direction`` (the unit vector of the modes in R^d: e1, or the
        seeded random one).

        Examples
        --------
        >>> import json, tempfile, os
        >>> import numpy as np
        >>> from empirical.measure import MeasureConfig, measure
        >>> c = MeasureConfig(n=8, m=8, taus=(1.0,), kl=("K1",), m_ref_factor=0, d=3, direction="random")
        >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
        >>> measure(c).save_model(path)
        >>> f = np.load(path)
        >>> MeasureConfig(**json.loads(str(f["config"]))) == c, f["direction"].shape
        (True, (3,))
        """
        if self.features is None:
            raise ValueError("this measurement was read back from JSON and holds no model; measure() it again")
        c = self.config
        direction = make_target(c).direction if c.d > 1 else np.ones(1)
        arrays = dict(W=self.features.W, U=self.features.U, A=self.A, x_train=self.x_train.reshape(c.n, -1),
                      tau=np.asarray(c.taus), T=c.T, embedding=self.features.embedding,
                      config=json.dumps(c.to_dict(), sort_keys=True), target=c.target, mu=c.mu,
                      weights=np.asarray(c.weights), seed=c.seed, sde="ou", direction=np.asarray(direction, dtype=float))
        write_file(path, lambda tmp: np.savez(tmp, **arrays))


_JSON_KEYS = ("inputs", "K1", "I1", "I2", "I3", "lemmas", "quantities", "timings")

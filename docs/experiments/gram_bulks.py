"""Reproduce docs/theory.md §11.2's numbers on the two Gram bulks (why no verdict is given on them).

For a two-mode mixture (µ = 3 along e1) in R^d, frozen ReLU features and k noise draws per training point at one
diffusion time t, print (1) the largest log10 gap between consecutive eigenvalues of B1 within indices n/2 ... 2n
(a memorisation bulk of n eigenvalues separated from the noise bulk would show a large gap at n) and (2) the ratio
of the geometric means of the per-point block (indices d+1 ... d+1+n) and the noise block (beyond it, up to the
rank nk), with its log-log slope in k. Takes about a minute on 2 cores::

    python docs/experiments/gram_bulks.py
"""

import numpy as np

from empirical.rf.features import draw_features
from empirical.rf.noise_draws import gram_spectra


def sample(d: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    x[:, 0] += np.where(rng.random(n) < 0.5, -3.0, 3.0)
    return x


def gaps() -> None:
    for d, n, m in ((8, 64, 1024), (16, 32, 512), (4, 32, 512), (8, 128, 1024)):
        f = draw_features(m, d, 1, T=5.0)
        for t in (0.03, 0.1, 0.3):
            s = gram_spectra(sample(d, n, 0), f, ks=(1, 2, 4, 16, None), seed=0, t=t)
            row = []
            for k, v in s.items():
                r = np.log10(np.maximum(v / v[0], 1e-300))
                g = r[:-1] - r[1:]
                j = int(np.argmax(g[n // 2: 2 * n])) + n // 2
                row.append(f"k={k}: largest gap {g[j]:.2f} after index {j + 1}")
            print(f"d={d} n={n} m={m} t={t}: " + " | ".join(row))


def block_ratios() -> None:
    ks = (2, 4, 8, 16, 32)
    for d, n, m in ((8, 64, 2048), (16, 32, 2048)):
        for seed in (0, 1):
            f = draw_features(m, d, seed, T=5.0)
            for t in (0.1, 1.0):
                s = gram_spectra(sample(d, n, seed), f, ks=ks, seed=seed, t=t)
                g = d + 1
                ratio = [np.exp(np.mean(np.log(s[k][g:g + n])) - np.mean(np.log(s[k][g + n:n * k]))) for k in ks]
                slope = np.polyfit(np.log(ks), np.log(ratio), 1)[0]
                print(f"d={d} n={n} m={m} seed={seed} t={t}: ratio {' '.join(f'{x:.3g}' for x in ratio)}; "
                      f"slope in k {slope:.2f}")


if __name__ == "__main__":
    gaps()
    block_ratios()

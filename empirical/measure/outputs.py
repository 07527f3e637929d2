"""Model files the command lines write (``--save-model``): checked before any computation, written
atomically, never through a symbolic link.

:func:`output_file` refuses, naming the flag, a path that is empty, a directory, a symbolic link (writing
through it would overwrite the link's target), of the wrong suffix, in a folder that is missing or not
writable (probed by creating and removing a temporary file there, so ``/proc/x.pt`` is refused before
training), or an existing file that is not writable. :func:`write_file` writes a temporary file in the
same folder and renames it onto the path: a crash leaves the old file or the new one, and a link put
in its place meanwhile is replaced, not followed.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["output_file", "write_file"]


def output_file(text: str | None, flag: str, suffix: str | None = None) -> Path | None:
    """``text`` as the path of a file to write later, or None if ``text`` is None.

    Parameters
    ----------
    text : str or None
        The flag's value.
    flag : str
        Named in every error, e.g. "--save-model".
    suffix : str, optional
        The suffix the path must end in (".npz": numpy would otherwise append one silently).

    Returns
    -------
    Path or None

    Raises
    ------
    ValueError
        Naming ``flag`` and the reason, as the module docstring lists.

    Examples
    --------
    >>> from empirical.measure.outputs import output_file
    >>> output_file("/proc/model.pt", "--save-model")
    Traceback (most recent call last):
        ...
    ValueError: --save-model: cannot write in '/proc' (No such file or directory)
    """
    if text is None:
        return None
    if not str(text).strip():
        raise ValueError(f"{flag} must name a file, got an empty string {text!r}")
    path = Path(text)
    if path.is_symlink():
        raise ValueError(f"{flag}: {text!r} is a symbolic link; diffgen does not write through links (it would "
                         "overwrite the link's target): remove the link or give another name")
    if path.is_dir():
        raise ValueError(f"{flag}: {text!r} is a directory; give a file name"
                         + (f" ending in {suffix}" if suffix else ""))
    if suffix is not None and path.suffix != suffix:
        raise ValueError(f"{flag}: {text!r} must end in {suffix} (numpy would silently write {text}{suffix})")
    parent = path.parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise ValueError(f"{flag}: the directory {str(parent)!r} of {text!r} {what}")
    if path.exists() and not (stat.S_ISREG(path.stat().st_mode) and os.access(path, os.W_OK)):
        raise ValueError(f"{flag}: {text!r} exists and is not a writable regular file")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".diffgen-write-test.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"{flag}: cannot write in {str(parent)!r} ({err.strerror or err})") from None
    return path


def write_file(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp)`` on a new temporary file beside ``path`` (same suffix), then rename it onto ``path``.

    The file gets the mode of a plain ``open`` (0666 less the umask), not the temporary's 0600.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from empirical.measure.outputs import write_file
    >>> p = write_file(pathlib.Path(tempfile.mkdtemp()) / "a.txt", lambda tmp: pathlib.Path(tmp).write_text("x"))
    >>> p.read_text()
    'x'
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(fd)
    try:
        write(tmp)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target

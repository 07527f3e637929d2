"""report.md: one ``## title`` per section, each a sequence of markdown text and figures."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..store.files import atomic_write_text

Section = tuple[str, "str | Path | Sequence[str | Path]"]


def write_report_md(path: str | os.PathLike, sections: Sequence[Section], title: str | None = None) -> Path:
    """Write a markdown report: one ``## title`` per section.

    A section's content is markdown text (a ``str``, e.g. a :func:`markdown_table`), an image
    (a ``Path``, linked relative to the report), or a sequence of both.
    """
    target = Path(path)
    parts = [f"# {title}\n"] if title else []
    for heading, content in sections:
        items = [content] if isinstance(content, (str, Path)) else list(content)
        body = []
        for item in items:
            if isinstance(item, Path):
                rel = Path(os.path.relpath(item.resolve(), target.resolve().parent)).as_posix()
                body.append(f"![{item.stem}]({rel})\n")
            elif isinstance(item, str):
                body.append(item.rstrip("\n") + "\n")
            else:
                raise ValueError(f"section {heading!r}: content must be str or Path, got {type(item).__name__}")
        parts.append(f"## {heading}\n\n" + "\n".join(body))
    return atomic_write_text(target, "\n".join(parts))

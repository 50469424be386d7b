"""Files written whole or not at all: a temporary file in the same folder, then a rename.

A reader (another process, or the next run after an interruption) sees either the old file
or the complete new one, never a half-written one: :func:`os.replace` is atomic within a
file system, which the same folder guarantees.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "write_atomic"]


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block ends.

    If the block raises, the temporary file is removed and ``path`` is left as it was. The
    temporary name keeps the suffix of ``path`` (writers such as ``savefig`` pick the format
    from it) and starts with a dot, so a folder listing does not show it as a result.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a unique name, not a created file: the writer creates it with the usual permissions
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` (text or bytes) to ``path`` whole or not at all; return ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding=encoding)
    return path

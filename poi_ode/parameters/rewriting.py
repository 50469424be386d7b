"""Rewriting lines of a parameter file in place (used when fitted values are written back), keeping its
comments and layout."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from ..errors import ParameterError

__all__ = ["rewrite_parameters"]


def rewrite_parameters(path: str | Path, changes: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Rewrite lines of ``[parameters.NAME]`` blocks of a parameter file, keeping everything else.

    Parameters
    ----------
    path : str or Path
        The TOML file.
    changes : mapping
        ``{name: {key: toml_text}}``, e.g. ``{"k_act": {"value": "1e-5", "kind": '"fitted"'}}``; each
        key must already be a line of the block.

    Returns
    -------
    list of str
        The names rewritten.

    Raises
    ------
    ParameterError
        If a block or one of its keys is missing.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    for name, lines in changes.items():
        block = re.search(rf"^\[parameters\.{re.escape(name)}\]\n(.*?)(?=^\[|^#|\Z)", text, re.M | re.S)
        if block is None:
            raise ParameterError(f"{path.name}: no block [parameters.{name}]")
        body = block.group(1)
        for key, value in lines.items():
            body, count = re.subn(rf"^{key} = .*$", lambda _m, k=key, v=value: f"{k} = {v}", body, count=1, flags=re.M)
            if count != 1:
                raise ParameterError(f"{path.name}: [parameters.{name}] has no line '{key} = ...'")
        text = text[:block.start(1)] + body + text[block.end(1):]
    path.write_text(text, encoding="utf-8")
    return list(changes)

"""Reading the species parameter files (TOML, beside this module): :func:`load_parameter_set`,
:func:`available_species`, :func:`parameter_file`, and the helpers :func:`read_toml` and :func:`parse_number`
that other readers of TOML files share."""
from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Mapping

from ..errors import ParameterError, UnitError
from ..units import check_unit
from .parameter_set import SOURCE_KINDS, Parameter, ParameterSet, _check_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10
    import tomli as tomllib

__all__ = ["load_parameter_set", "available_species", "parameter_file", "read_toml", "parse_number"]

_DIR = Path(__file__).parent
"""The folder of the bundled parameter files."""


def parse_number(raw: Any, where: str) -> float:
    """A float from a number or a string of plain arithmetic (``"log(2)/24"``)."""
    if isinstance(raw, bool):
        raise ParameterError(f"{where}: expected a number, got {raw!r}")
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        value = _arithmetic(raw)
        if isinstance(value, str):
            raise ParameterError(f"{where}: {value}")
        return value
    raise ParameterError(f"{where}: expected a number, got {raw!r}")


@functools.lru_cache(maxsize=4096)
def _arithmetic(raw: str) -> float | str:
    """The value of arithmetic text, or why it cannot be read. Cached: sympy parses in milliseconds,
    and texts such as a set's start age are read at every initial state of a fit."""
    import sympy as sp

    try:
        expr = sp.sympify(raw, locals={"log": sp.log, "exp": sp.exp, "ln": sp.log})
    except (sp.SympifyError, SyntaxError, TypeError) as exc:
        return f"cannot read {raw!r} as arithmetic ({exc})"
    if expr.free_symbols:
        return f"{raw!r} names {sorted(map(str, expr.free_symbols))}; only numbers allowed"
    try:
        return float(expr)
    except TypeError as exc:  # e.g. a complex number
        return f"cannot read {raw!r} as a real number ({exc})"


def _parameter(name: str, raw: Mapping[str, Any], origin: str) -> Parameter:
    where = f"{origin}: parameter {name!r}"
    missing = [k for k in ("value", "unit", "lower", "upper", "kind", "source") if k not in raw]
    if missing:
        raise ParameterError(f"{where} lacks field(s) {missing}")
    unknown = set(raw) - {"value", "unit", "lower", "upper", "scale", "kind", "source", "prior"}
    if unknown:
        raise ParameterError(f"{where} has unknown field(s) {sorted(unknown)}")
    value, lower, upper = (parse_number(raw[k], f"{where}, field {k!r}") for k in ("value", "lower", "upper"))
    scale = raw.get("scale", "log" if lower > 0 else "lin")
    if scale not in ("lin", "log"):
        raise ParameterError(f"{where}: scale must be 'lin' or 'log', not {scale!r}")
    if raw["kind"] not in SOURCE_KINDS:
        raise ParameterError(f"{where}: kind must be one of {SOURCE_KINDS}, not {raw['kind']!r}")
    if not str(raw["source"]).strip():
        raise ParameterError(f"{where}: empty source")
    try:
        check_unit(str(raw["unit"]), f"{where}, field 'unit'")
    except UnitError as exc:
        raise ParameterError(str(exc)) from None
    prior = raw.get("prior")
    if prior is not None:
        keys = set(prior)
        if keys not in ({"median", "sd_log10"}, {"mean", "sd"}):
            raise ParameterError(f"{where}: prior must be {{median, sd_log10}} or {{mean, sd}}, got {sorted(keys)}")
        if (scale == "log") != ("median" in keys):
            raise ParameterError(f"{where}: a {scale}-scale parameter needs "
                                 f"a " + ("{median, sd_log10}" if scale == "log" else "{mean, sd}") + " prior")
        prior = {k: parse_number(v, f"{where}, prior {k!r}") for k, v in prior.items()}
    p = Parameter(name, value, str(raw["unit"]), lower, upper, scale, str(raw["kind"]), str(raw["source"]), prior)
    _check_value(p, p.value, where)
    if scale == "log" and lower <= 0:
        raise ParameterError(f"{where}: log scale needs a positive lower bound, got {lower}")
    return p


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Parse a TOML file; a missing or malformed file raises :class:`ParameterError` naming it."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParameterError(f"{what} {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{Path(path).name}: {what} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except IsADirectoryError:
        raise ParameterError(f"{what} {path} is a folder, not a file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{Path(path).name}: not valid TOML ({exc})") from None


def parameter_file(species: str) -> Path:
    """Path of a bundled parameter file."""
    return _DIR / f"{species}.toml"


def available_species() -> list[str]:
    """Names of the bundled species parameter sets."""
    return sorted(p.stem for p in _DIR.glob("*.toml"))


def load_parameter_set(species_or_path: str | Path) -> ParameterSet:
    """Read a species parameter set by name (``"human"``) or from a TOML file path.

    Raises
    ------
    ParameterError
        If the file is missing or malformed; the message names the file and parameter.
    """
    path = Path(species_or_path)
    if path.suffix != ".toml":
        path = _DIR / f"{species_or_path}.toml"
        if not path.exists():
            raise ParameterError(
                f"unknown species {str(species_or_path)!r}; bundled sets: {', '.join(available_species())}"
            )
    raw = read_toml(path, "parameter file")
    meta = raw.get("species", {})
    if "name" not in meta:
        raise ParameterError(f"{path.name}: the [species] table needs a 'name'")
    params = {name: _parameter(name, body, path.name) for name, body in raw.get("parameters", {}).items()}
    info = {k: v for k, v in raw.items() if k not in ("species", "parameters")}
    info["units"] = meta.get("units", {})
    info["reference_age"] = meta.get("reference_age", {})
    return ParameterSet(str(meta["name"]), str(meta.get("description", "")), params, info)

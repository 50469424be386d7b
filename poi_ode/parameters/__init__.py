"""Species parameter sets: data files in which every value carries unit, bounds and source.

A set is a TOML file beside this module (``human.toml``, ``mouse.toml``).  Each parameter is
a table::

    [parameters.t_half_AMH]
    value = 27.6                 # a number, or a string of arithmetic on numbers
    unit = "h"                   # the unit the value is given in (as in its source)
    lower = 12.0                 # bounds, same unit
    upper = 48.0
    scale = "log"                # "log" or "lin": how fitting and sampling treat it
    kind = "sourcebook"          # sourcebook | literature | assumption | derived | fitted | definition
    source = "Griesinger G et al. 2012, J Clin Endocrinol Metab, abstract: 27.6 +/- 0.8 h"
    prior = { median = 27.6, sd_log10 = 0.05 }   # optional: used by fit() when the parameter is free

Values are converted to the unit the model declares when a numeric vector is built, so a
half-life may be written in hours, minutes or days as its source gave it.
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import numpy as np

from ..errors import ParameterError, UnitError
from ..units import check_unit, conversion_factor

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..model.core import Model

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10
    import tomli as tomllib

__all__ = ["Parameter", "ParameterSet", "load_parameter_set", "available_species", "SOURCE_KINDS",
           "rewrite_parameters", "parameter_file"]

SOURCE_KINDS = ("sourcebook", "literature", "assumption", "derived", "fitted", "definition")
"""Allowed values of ``kind``: where a value comes from."""

_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Parameter:
    """One parameter value with its unit, bounds, scale and provenance.

    ``value``, ``lower`` and ``upper`` are in ``unit`` (the unit of the source).
    """

    name: str
    value: float
    unit: str
    lower: float
    upper: float
    scale: str
    kind: str
    source: str
    prior: dict | None = None  # {"median", "sd_log10"} (log scale) or {"mean", "sd"}, in ``unit``

    def in_unit(self, unit: str) -> float:
        """The value converted to ``unit``."""
        return self.value * conversion_factor(self.unit, unit)


def parse_number(raw: Any, where: str) -> float:
    """A float from a number or a string of plain arithmetic (``"log(2)/24"``)."""
    if isinstance(raw, bool):
        raise ParameterError(f"{where}: expected a number, got {raw!r}")
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        import sympy as sp

        try:
            expr = sp.sympify(raw, locals={"log": sp.log, "exp": sp.exp, "ln": sp.log})
        except (sp.SympifyError, SyntaxError, TypeError) as exc:
            raise ParameterError(f"{where}: cannot read {raw!r} as arithmetic ({exc})") from None
        if expr.free_symbols:
            raise ParameterError(f"{where}: {raw!r} names {sorted(map(str, expr.free_symbols))}; only numbers allowed")
        return float(expr)
    raise ParameterError(f"{where}: expected a number, got {raw!r}")


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


def _check_value(p: Parameter, value: float, where: str) -> None:
    if not math.isfinite(value):
        raise ParameterError(f"{where}: value {value!r} is not finite")
    if value < 0:
        raise ParameterError(f"{where}: value {value:g} is negative")
    if not p.lower <= p.upper:
        raise ParameterError(f"{where}: lower bound {p.lower} exceeds upper bound {p.upper}")
    if not p.lower <= value <= p.upper:
        raise ParameterError(
            f"{where}: value {value:g} {p.unit} is outside its bounds [{p.lower:g}, {p.upper:g}] {p.unit}"
        )


@dataclass(frozen=True)
class ParameterSet:
    """The parameter values of one species (or one calibration), with reference data.

    Attributes
    ----------
    species : str
        Name (``"human"``, ``"mouse"``).
    description : str
        What the set represents and its caveats.
    parameters : dict of str to Parameter
        Values with units, bounds, scale and provenance.
    info : dict
        Everything else the file holds: hormone units, reserve anchors, reference age,
        normal ranges (each with its source).
    """

    species: str
    description: str
    parameters: Mapping[str, Parameter]
    info: Mapping[str, Any] = field(default_factory=dict)
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self.parameters[name]
        except KeyError:
            raise ParameterError(f"unknown parameter {name!r} in the {self.species} set") from None

    def __contains__(self, name: object) -> bool:
        return name in self.parameters

    def __iter__(self):
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    # -- changes ------------------------------------------------------------------------------
    def with_values(self, values: Mapping[str, float | tuple[float, str]] | None = None, **kw: float) -> "ParameterSet":
        """A copy with some values replaced, each checked against its bounds.

        Values are in the unit the set lists for the parameter, or given as ``(value, unit)``.
        """
        changes = dict(values or {}, **kw)
        new = dict(self.parameters)
        for name, raw in changes.items():
            p = self[name]
            if isinstance(raw, tuple):
                number, unit = raw
                value = float(number) * conversion_factor(unit, p.unit)
            else:
                try:
                    value = float(raw)
                except (TypeError, ValueError):
                    raise ParameterError(f"parameter {name!r}: value {raw!r} is not a number") from None
            _check_value(p, value, f"parameter {name!r}")
            new[name] = replace(p, value=value)
        return replace(self, parameters=new)

    def with_bounds(self, name: str, lower: float, upper: float) -> "ParameterSet":
        """A copy with new bounds for ``name`` (in the set's unit for it)."""
        p = replace(self[name], lower=float(lower), upper=float(upper))
        _check_value(p, p.value, f"parameter {name!r}")
        return replace(self, parameters={**self.parameters, name: p})

    # -- numeric views ------------------------------------------------------------------------
    def check_against(self, model: "Model") -> None:
        """Raise :class:`ParameterError` unless every model parameter has a convertible value
        whose bounds lie inside the model's structural domain."""
        for decl in model.parameters:
            if decl.name not in self.parameters:
                raise ParameterError(
                    f"parameter {decl.name!r} (module {decl.module!r}, {decl.unit}) has no value "
                    f"in the {self.species} set"
                )
            p = self.parameters[decl.name]
            try:
                factor = conversion_factor(p.unit, decl.unit)
            except UnitError as exc:
                raise ParameterError(f"parameter {decl.name!r}: {exc}") from None
            lo, hi = decl.domain
            if p.lower * factor < lo or p.upper * factor > hi:
                raise ParameterError(
                    f"parameter {decl.name!r}: bounds [{p.lower:g}, {p.upper:g}] {p.unit} leave "
                    f"its domain [{lo:g}, {hi:g}] {decl.unit}"
                )

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, evaluated once per set and ``key`` (sets are immutable)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def vector(self, model: "Model") -> np.ndarray:
        """Values in the model's parameter order and declared units (checked, then cached)."""
        def compute() -> np.ndarray:
            self.check_against(model)
            return np.array([self.parameters[d.name].in_unit(d.unit) for d in model.parameters])

        return self.memo(model.parameter_signature, compute).copy()

    def bounds(self, model: "Model") -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds in the model's parameter order and declared units."""
        self.check_against(model)
        f = [conversion_factor(self.parameters[d.name].unit, d.unit) for d in model.parameters]
        lo = np.array([self.parameters[d.name].lower for d in model.parameters]) * f
        hi = np.array([self.parameters[d.name].upper for d in model.parameters]) * f
        return lo, hi

    def table(self, names: Iterable[str] | None = None) -> "pd.DataFrame":
        """A tidy table: name, value, unit, lower, upper, scale, kind, source."""
        import pandas as pd

        rows = [vars(self.parameters[n]).copy() for n in (names or self.parameters)]
        return pd.DataFrame(rows, columns=["name", "value", "unit", "lower", "upper", "scale", "kind", "source"])


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

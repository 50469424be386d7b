"""Carry the rodent therapy calibration over to women: per-ovary cell density and kinetics scaling.

The evidence calibrations (``fits/evidence_msc_rodent``, ``fits/evidence_exosome_rodent``) estimate
the therapy parameters that mouse and rat share. No bundled study reports a post-treatment time
course in women with a known dose, so the human values are **translated** from those estimates by
rules stated here, and written into the human set with kind ``"translated"``
(``poi-ode translate --write``).

Rules, by the unit of the parameter:

- **Secretion per cell or per µg** (``1/(cells*day)``, ``1/(ug*day)``): the paracrine signal is a
  tissue (or, for lung-trapped cells and plasma vesicles, a blood) concentration, so equal effects
  need equal cells per gram of ovary (per litre of blood). Ovarian mass and blood volume are taken
  proportional to body weight (isometry; an assumption: no ovarian mass is in the evidence), with
  the body weights of the parameter sets (the FDA reference animals). The rodent value is
  multiplied by ``BW_ref / BW_human``. ``BW_ref`` is the geometric mean of the mouse and rat body
  weights weighted by the number of mouse and rat designs the fitted pooled effects simulate: one
  value is shared by both species, so which species it "belongs" to is itself uncertain; the
  mouse-only and rat-only readings bound it and are reported.
- **Half-lives** (``day``: of cells and vesicles in the ovary, of follicles hit by chemotherapy): residence
  of transplanted cells and vesicles is set by cell death, rejection and local clearance, and the survival
  of a hit follicle by its oocyte, not by body size, so the default time exponent is 0
  (:data:`TIME_EXPONENT`): the rodent half-life is kept. The alternative, quarter-power allometry of
  physiological times (``(BW_human / BW_ref) ** 0.25``, about 5-fold longer), is available
  (``time_exponent=0.25``, ``poi-ode translate --time-exponent 0.25``); rates per day scale by the inverse factor.
- **Rates per day** (``1/day``, the rescue of hit follicles): kept, or divided by the time factor.
- **Fractions and weights** (unit ``1``): copied.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import ParameterError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..fitting.result import FitResult

__all__ = ["Translation", "translate_therapy", "write_translation", "translation_table", "reference_body_weight",
           "TRANSLATED_FITS", "TIME_EXPONENT"]

TRANSLATED_FITS = ("evidence_msc_rodent", "evidence_exosome_rodent")
"""The rodent evidence calibrations (``fits/NAME/fit.json``) whose estimates are carried over to women."""
TIME_EXPONENT = 0.0
"""Allometric exponent of the translated half-lives: 0, tissue residence is a cell-level process (module text)."""
SOURCE_SPECIES = ("mouse", "rat")
DENSITY_UNITS = ("1/(cells*day)", "1/(ug*day)")


@dataclass(frozen=True)
class Translation:
    """One translated parameter: the rodent estimate, the rule and the human value (in the sets' units)."""

    name: str
    unit: str
    fit: str
    rodent: float
    rodent_low: float | None
    rodent_high: float | None
    identifiability: str
    rule: str
    factor: float
    value: float
    value_mouse_only: float
    value_rat_only: float

    def source(self, before: str = "") -> str:
        """The ``source`` text of the translated value (the earlier non-derived source after "before:")."""
        interval = (f"95% CI {self.rodent_low:.4g}-{self.rodent_high:.4g}"
                    if self.rodent_low is not None and self.rodent_high is not None else "no interval")
        text = (f"translated: fits/{self.fit} (rodent estimate {self.rodent:.6g}, {interval}, {self.identifiability}) "
                f"x {self.factor:.4g} ({self.rule}; mouse-only {self.value_mouse_only:.4g}, rat-only "
                f"{self.value_rat_only:.4g}; poi_ode.mbma.translation)")
        return (text + (f"; before: {before}" if before else "")).replace('"', "'")


def reference_body_weight(result: "FitResult", designs: str = "preclinical_designs") -> tuple[float, Counter]:
    """Body weight (kg) the rodent estimate is read at, and the designs per species behind it.

    The geometric mean of the mouse and rat body weights of the bundled sets, weighted by the number of
    designs of each species among the fitted pooled effects of ``result`` (its ``evidence`` rows).
    """
    from ..parameters import load_parameter_set
    from .designs import load_designs

    species = {d.design_id: d.species for d in load_designs(designs)}
    used = {name for row in result.evidence if row.get("fitted") for name in str(row.get("designs", "")).split(";")
            if name}
    counts = Counter(species[name] for name in used if name in species)
    if not counts or set(counts) - set(SOURCE_SPECIES):
        raise ParameterError(f"fit {result.config.get('name')!r}: its fitted evidence rows name no mouse or rat "
                             f"design (species found: {dict(counts)})")
    weights = {s: load_parameter_set(s)["body_weight"].value for s in counts}
    log_bw = sum(n * math.log(weights[s]) for s, n in counts.items()) / sum(counts.values())
    return math.exp(log_bw), counts


def _factor(unit: str, bw_source: float, bw_target: float, time_exponent: float, name: str) -> tuple[float, str]:
    time = (bw_target / bw_source) ** time_exponent
    if unit in DENSITY_UNITS:
        return bw_source / bw_target / time, (
            f"per-ovary density: x BW_ref/BW_human = {bw_source:.4g}/{bw_target:g} kg"
            + (f", rate / (BW ratio)^{time_exponent:g}" if time_exponent else ""))
    if unit == "day":
        return time, ("half-life kept (time exponent 0)" if not time_exponent
                      else f"half-life x (BW_human/BW_ref)^{time_exponent:g}")
    if unit == "1/day":
        return 1 / time, ("rate kept (time exponent 0)" if not time_exponent
                          else f"rate / (BW_human/BW_ref)^{time_exponent:g}")
    if unit == "1":
        return 1.0, "fraction or weight copied"
    raise ParameterError(f"parameter {name!r}: no translation rule for unit {unit!r} "
                         f"(rules exist for {', '.join(DENSITY_UNITS)}, day, 1/day and 1)")


def translate_therapy(fits: Sequence["FitResult | str | Path"] | None = None, target: str = "human",
                      time_exponent: float = TIME_EXPONENT) -> list[Translation]:
    """Translate the shared estimates of the rodent evidence calibrations to another species.

    Parameters
    ----------
    fits : sequence of FitResult or fit.json paths, optional
        Default: ``fits/NAME/fit.json`` of :data:`TRANSLATED_FITS` in the repository.
    target : str
        The species translated to (its body weight and bounds).
    time_exponent : float
        Allometric exponent of half-lives (:data:`TIME_EXPONENT`).

    Returns
    -------
    list of Translation

    Raises
    ------
    ParameterError
        A parameter without a rule for its unit, or missing from the target's set.
    """
    from ..fitting.config import shipped_configs_folder
    from ..fitting.nuisance import is_nuisance
    from ..fitting.result import FitResult
    from ..parameters import load_parameter_set

    if fits is None:
        fits = [shipped_configs_folder() / name / "fit.json" for name in TRANSLATED_FITS]
    target_set = load_parameter_set(target)
    bw_target = target_set["body_weight"].value
    only = {s: load_parameter_set(s)["body_weight"].value for s in SOURCE_SPECIES}
    out = []
    for fit in fits:
        result = fit if isinstance(fit, FitResult) else FitResult.from_json(Path(fit))
        bw_ref, _ = reference_body_weight(result)
        for p in result.parameters:
            if p.scope != "shared" or is_nuisance(p.name):
                continue
            factor, rule = _factor(p.unit, bw_ref, bw_target, time_exponent, p.name)
            value = p.value * factor
            if p.name not in target_set:
                raise ParameterError(f"{p.name}: the {target} set has no such parameter to translate to")
            alt = {s: p.value * _factor(p.unit, bw, bw_target, time_exponent, p.name)[0] for s, bw in only.items()}
            out.append(Translation(p.name, p.unit, str(result.config.get("name")), p.value, p.ci_low, p.ci_high,
                                   p.identifiability, rule, factor, value, alt["mouse"], alt["rat"]))
    return out


def write_translation(translations: Sequence[Translation], target: str = "human",
                      path: str | Path | None = None) -> list[str]:
    """Write translated values into a parameter file (kind ``"translated"``; default: the bundled ``target`` set).

    Raises
    ------
    ParameterError
        A translated value outside the file's bounds (nothing is written).
    """
    from ..fitting.write import original_source
    from ..parameters import load_parameter_set, parameter_file, rewrite_parameters

    path = Path(path) if path is not None else parameter_file(target)
    current = load_parameter_set(path)
    outside = [f"{t.name} = {t.value:.4g} {t.unit} (bounds [{current[t.name].lower:g}, {current[t.name].upper:g}])"
               for t in translations if not current[t.name].lower <= t.value <= current[t.name].upper]
    if outside:
        raise ParameterError(f"{path.name}: translated values outside the bounds, nothing written: "
                             + "; ".join(outside))
    changes = {t.name: {"value": repr(float(t.value)), "kind": '"translated"',
                        "source": f'"{t.source(original_source(current[t.name].source))}"'} for t in translations}
    return rewrite_parameters(path, changes)


def translation_table(translations: Sequence[Translation]) -> "pd.DataFrame":
    """One row per translated parameter: rodent estimate and interval, rule, factor, human value and its bounds."""
    import pandas as pd

    return pd.DataFrame([dict(parameter=t.name, unit=t.unit, fit=t.fit, rodent=t.rodent, rodent_low=t.rodent_low,
                              rodent_high=t.rodent_high, identifiability=t.identifiability, rule=t.rule,
                              factor=t.factor, human=t.value, human_mouse_only=t.value_mouse_only,
                              human_rat_only=t.value_rat_only) for t in translations])

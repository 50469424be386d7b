"""The meta-analytic objective: predicted pooled effects of the catalogued designs against the published ones.

For a published pooled effect (one row of a pooled-effects table, :func:`poi_ode.data.read_pooled_effects`) the
model simulates every catalogued design the row's subgroup pools (:func:`member_designs`), treated and control, at
the design's sampling day. Each design's predicted effect is formed in the published measure: a standardised mean
difference (Hedges' g) needs the within-group spread, carried as one coefficient of variation per analyte
(:data:`SPREAD_PRIOR`). The predicted study effects are pooled with the meta-analysis' own model: inverse-variance
weights with the between-study variance implied by the published I² (random effects) or none (fixed effects). The
published estimate and its 95% CI then enter as a normal likelihood term, ``(predicted - published) / SE``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import PoiOdeError
from .pooling import Pooled, hedges_correction, pool_fixed, pool_random, se_from_ci, smd_variance, tau2_from_I2

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..model.core import Model
    from ..parameters import ParameterSet
    from .designs import Design

__all__ = ["EffectTarget", "EvidenceObjective", "member_designs", "build_targets", "study_effect", "SPREAD_PRIOR",
           "control_parameters",
           "ANALYTE_VARIABLES", "CALIBRATION_KINDS"]

ANALYTE_VARIABLES: dict[str, str] = {
    "E2": "E2", "FSH": "FSH", "AMH": "AMH", "InhB": "InhB",
    "primordial": "F_prim", "primary": "F_pri", "secondary": "F_sec", "antral": "AFC", "AFC": "AFC",
}
"""Model variable behind each analyte of a pooled effect (follicle classes as histological counts)."""

SPREAD_PRIOR: dict[str, Any] = {
    "median": 0.3,
    "sd_log10": 0.3,
    "lower": 0.05,
    "upper": 2.0,
    "reason": (
        "assumption: the within-group coefficient of variation of a rodent serum hormone or follicle count, median "
        "0.3 with a factor-2 prior (SD 0.3 log10): ELISA hormone and histological count groups of 6-15 animals "
        "typically vary by 20-50%. The evidence sheets give no spread of a control arm (the one treated-arm spread, "
        "CPMSC2018, has an unspecified type, SD or SEM), so the prior is an assumption. An SMD scales as effect / "
        "CV: the spread and the effect size are identified only together, through the several analytes and "
        "subgroups that share the therapy parameters; the profiles of cv_<analyte> show it."
    ),
}
"""Prior of each analyte's within-group coefficient of variation (``cv_<analyte>``), with its reason."""

CALIBRATION_KINDS = ("overall", "species", "induction")
"""Subgroup kinds fitted by default; dose and route subgroups are held out and predicted (issue 12, item 8)."""

_SPECIES = {"rat": ("rat",), "rats": ("rat",), "mouse": ("mouse",), "mice": ("mouse",),
            "rodent": ("mouse", "rat"), "mice and rats": ("mouse", "rat"), "rodents": ("mouse", "rat")}


@dataclass(frozen=True)
class EffectTarget:
    """One published pooled effect with the designs the model simulates for it.

    Attributes
    ----------
    effect_id, therapy, analyte, subgroup, subgroup_kind, subgroup_value, measure, pooling : str
        As in the pooled-effects table.
    estimate, ci_low, ci_high : float
        The published pooled effect and its 95% CI.
    I2 : float
        Published I² in percent (NaN where not printed).
    k_published : int
        Studies the meta-analysis pooled (0 where not printed).
    designs : tuple of Design
        The catalogued designs that stand for the row's studies.
    variable : str
        The model variable of the analyte.
    held_out : bool
        True for a subgroup the calibration does not fit (predicted only).
    note : str
        How the designs were chosen.
    meta_analysis : str
        Short id of the meta-analysis.
    fixed_twin : bool
        The fixed-effect pool of a row also printed with random effects (reported, not fitted).
    """

    effect_id: str
    therapy: str
    analyte: str
    subgroup: str
    subgroup_kind: str
    subgroup_value: str
    measure: str
    pooling: str
    estimate: float
    ci_low: float
    ci_high: float
    I2: float
    k_published: int
    designs: tuple["Design", ...]
    variable: str
    held_out: bool = False
    note: str = ""
    meta_analysis: str = ""
    fixed_twin: bool = False

    @property
    def fitted(self) -> bool:
        """Whether the target enters the likelihood: a calibrated subgroup, and not the fixed-effect twin of
        a random-effects row."""
        return not (self.held_out or self.fixed_twin)

    @property
    def se(self) -> float:
        """Standard error of the published estimate, from its 95% CI."""
        return se_from_ci(self.ci_low, self.ci_high)


def _design_species(design: "Design") -> str:
    return str(design.species).strip().lower()


def _sampling_day(design: "Design") -> float:
    """The design's sampling day (days from the first chemotherapy dose); a design without one is not simulable."""
    day = design.sampling_day
    if day is None:
        raise PoiOdeError(f"design {design.design_id}: no sampling day (not simulable)")
    return float(day)


def _dose_class(amount: float) -> str:
    return f"1e{int(math.floor(math.log10(amount)))}" if amount > 0 else ""


def member_designs(row: Mapping[str, Any], designs: Sequence["Design"]) -> tuple[list["Design"], str]:
    """The catalogued designs a pooled-effect row stands for, and how they were chosen.

    The meta-analyses do not list the studies of each subgroup, so membership is inferred from the
    design table: designs of the same therapy, in scope (chemotherapy-induced rodent POI), that match
    the subgroup (species, route, dose class of 10-fold bands) and measured the analyte; if none of
    the matching designs lists the analyte, all matching designs stand in (said in the note).
    """
    therapy = str(row["therapy"])
    kind = str(row.get("subgroup_kind", "overall") or "overall")
    value = str(row.get("subgroup_value", "") or "").strip().lower()
    pool = [d for d in designs if d.therapy == therapy]
    if kind == "species":
        wanted = _SPECIES.get(value)
        if wanted is None:
            return [], f"species subgroup {value!r} has no model"
        pool = [d for d in pool if _design_species(d) in wanted]
    elif kind == "route":
        pool = [d for d in pool if d.route == value]
    elif kind == "dose":
        pool = [d for d in pool if d.cell_dose and _dose_class(float(d.cell_dose)) == value]
    elif kind not in ("overall", "induction"):
        return [], f"subgroup kind {kind!r} (cell source or type) is not represented in the model"
    how = f"{len(pool)} catalogued design(s) of the subgroup"
    analyte = str(row["analyte"])
    measured = [d for d in pool if analyte in tuple(getattr(d, "analytes", ()) or ())]
    if measured:
        return measured, f"{len(measured)} catalogued design(s) of the subgroup that measured {analyte}"
    if pool:
        how += f"; none lists {analyte} among its outcomes, so all stand in"
    return pool, how


SAME_ROW = ("meta_analysis", "therapy", "analyte", "subgroup_kind", "subgroup_value")
"""Columns that identify one published row; the fixed- and random-effects versions of a row share them."""
FIXED_TWIN = ("; the fixed-effect pool of the same studies as a random-effects row: reported, not fitted (fitting "
              "both would count the studies twice)")


def pooling_of(row: Mapping[str, Any]) -> str:
    """The pooling model of a pooled-effects row (``random``, ``fixed`` or ``not stated``)."""
    return str(row.get("pooling", "") or "")


def build_targets(effects: "pd.DataFrame", designs: Sequence["Design"],
                  calibrate: Iterable[str] = CALIBRATION_KINDS) -> tuple[list[EffectTarget], list[dict[str, str]]]:
    """Targets from a validated pooled-effects table, and the rows left out with the reason.

    Parameters
    ----------
    effects : DataFrame
        From :func:`poi_ode.data.read_pooled_effects`.
    designs : sequence of Design
        Simulable designs (:func:`poi_ode.mbma.load_designs` filtered by :func:`poi_ode.mbma.simulable`).
    calibrate : iterable of str
        Subgroup kinds that are fitted; the other kinds' rows are ``held_out``, and so is the
        fixed-effect version of a row that is also printed with random effects (the same studies).

    Returns
    -------
    targets, skipped
    """
    kinds = set(calibrate)
    targets: list[EffectTarget] = []
    skipped: list[dict[str, str]] = []
    for _, row in effects.iterrows():
        eid = str(row["effect_id"])
        flag = str(row.get("flag", "") or "").strip()
        variable = ANALYTE_VARIABLES.get(str(row["analyte"]))
        reason = ""
        if flag:
            reason = f"flagged: {flag}"
        elif str(row["measure"]) not in ("SMD", "hedges_g"):
            reason = f"measure {row['measure']} is not a standardised mean difference"
        elif variable is None:
            reason = f"analyte {row['analyte']!r} is not in the model"
        elif str(row["pooling"]) not in ("random", "fixed", "not stated"):
            reason = f"pooling model {row['pooling']!r} is not random or fixed effects"
        members: list[Design] = []
        if not reason:
            members, how = member_designs(row, designs)
            if not members:
                reason = how or "no catalogued design in the subgroup"
        if reason:
            skipped.append(dict(effect_id=eid, analyte=str(row["analyte"]), subgroup=str(row["subgroup"]),
                                reason=reason))
            continue
        twin = (pooling_of(row) == "fixed" and any(
            pooling_of(other) != "fixed" and all(str(other[c]) == str(row[c]) for c in SAME_ROW)
            for _, other in effects.iterrows()))
        i2 = float(row["I2_percent"]) if str(row.get("I2_percent", "")) not in ("", "nan") else math.nan
        k = row.get("k_studies")
        pooling = str(row["pooling"])
        if pooling == "not stated":
            pooling = "random"
            how += ("; pooling not stated in the source, taken as random effects (DerSimonian-Laird), the model of "
                    "every pooled row of this field that states one")
        targets.append(EffectTarget(
            eid, str(row["therapy"]), str(row["analyte"]), str(row["subgroup"]), str(row["subgroup_kind"]),
            str(row.get("subgroup_value", "") or ""), str(row["measure"]), pooling,
            float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"]), i2,
            int(k) if k is not None and str(k) not in ("", "nan") else 0, tuple(members), str(variable),
            str(row["subgroup_kind"]) not in kinds, how + (FIXED_TWIN if twin else ""),
            str(row.get("meta_analysis", "") or ""), twin))
    return targets, skipped


def study_effect(treated: float, control: float, cv: float, n_treated: int, n_control: int) -> tuple[float, float]:
    """Predicted Hedges' g of one design and its sampling variance.

    Each group's SD is ``cv`` times its mean (a constant coefficient of variation); the pooled SD
    weights the two groups by their degrees of freedom, as the meta-analyses' SMD does.

    Parameters
    ----------
    treated, control : float
        Simulated group means (any unit, the same for both).
    cv : float
        Within-group coefficient of variation of the analyte.
    n_treated, n_control : int
        Animals per group.
    """
    df = n_treated + n_control - 2
    sd = cv * math.sqrt(((n_treated - 1) * treated**2 + (n_control - 1) * control**2) / df)
    g = float(hedges_correction(n_treated, n_control)) * (treated - control) / sd
    return g, float(smd_variance(g, n_treated, n_control))


DEFAULT_GROUP_SIZE = ("a design that prints no group size counts the median printed group size of the designs of "
                      "the objective (8 animals if none prints one): it sets the design's weight, not its effect")
"""How a missing group size is filled."""

THERAPY_STATE_PREFIXES = ("M_", "X_")
"""States of the therapy (cells and vesicles by compartment); with the paracrine signal ``P`` and the niche
repair ``N_niche`` they stay at 0 in an arm without therapy."""


def control_parameters(model: "Model") -> frozenset[str]:
    """Parameters an arm without therapy depends on.

    The therapy states (cells, vesicles, paracrine signal, niche repair) start at 0 and stay there
    without a therapy dose, so a parameter that appears only in terms that vanish with them cannot
    change a control arm. Found symbolically, once per model.
    """
    cached = getattr(model, "_control_parameters", None)
    if cached is not None:
        return cached
    from ..model.core import sym

    therapy = [s.name for s in model.states if s.name.startswith(THERAPY_STATE_PREFIXES) or s.name in ("P", "N_niche")]
    zero = {sym(n): 0 for n in therapy}
    names = set(model.parameter_names)
    used: set[str] = set()
    exprs = [*model.rhs_expressions(), *model.output_expressions().values()]
    for e in exprs:
        used |= {str(x) for x in e.subs(zero).free_symbols}
    result = frozenset(used & names)
    model._control_parameters = result  # type: ignore[attr-defined]
    return result


class _BatchValues(dict):
    """Variables of a batch by name, read lazily: ``values[var][simulation, time]``."""

    def __init__(self, batch: Any) -> None:
        super().__init__()
        self._batch = batch

    def __missing__(self, name: str) -> np.ndarray:
        value = np.asarray(self._batch[name])
        self[name] = value
        return value


@dataclass
class EvidenceObjective:
    """Predicted pooled effects of a set of targets and their residuals against the published ones.

    Parameters
    ----------
    models : mapping of str to Model
        One model per species the designs need (``{"mouse": ..., "rat": ...}``), each with its set.
    targets : list of EffectTarget
        From :func:`build_targets`.
    """

    models: Mapping[str, "Model"]
    targets: list[EffectTarget]
    _cache: dict[tuple, dict[str, dict[str, tuple[float, float]]]] = field(default_factory=dict, repr=False)
    _controls: dict[tuple, Any] = field(default_factory=dict, repr=False)
    rtol: float = 1e-6
    """Solver tolerances of the design simulations (those of :func:`poi_ode.simulate_batch`; 1e-9 and 1e-12, as
    for time-course fits, make the calibration about ten times slower for the same estimates to 1e-5)."""
    atol: float = 1e-9
    group_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Animals per group (treated, control) of each design: as printed, else :data:`DEFAULT_GROUP_SIZE`'s rule."""

    def __post_init__(self) -> None:
        designs = self.designs()
        printed = [int(n) for d in designs for n in (d.n_treated, d.n_control) if n]
        default = int(np.median(printed)) if printed else 8
        for d in designs:
            self.group_sizes.setdefault(d.design_id, (int(d.n_treated or default), int(d.n_control or default)))

    @property
    def analytes(self) -> list[str]:
        """Analytes whose within-group spread (``cv_<analyte>``) the objective needs."""
        return sorted({t.analyte for t in self.targets})

    @property
    def fitted(self) -> list[EffectTarget]:
        """The targets that enter the likelihood."""
        return [t for t in self.targets if t.fitted]

    def designs(self) -> list["Design"]:
        """Every design of the targets, once."""
        seen: dict[str, Design] = {}
        for t in self.targets:
            for d in t.designs:
                seen.setdefault(d.design_id, d)
        return list(seen.values())

    def simulate_designs(self, values: Mapping[str, float]) -> dict[str, dict[str, tuple[float, float]]]:
        """``{design_id: {variable: (treated, control)}}`` at each design's sampling day.

        Every arm of a species runs in one call of the compiled batch engine; control arms (no
        therapy) are simulated again only when a parameter they depend on changes
        (:func:`control_parameters`).

        Parameters
        ----------
        values : mapping
            Model parameter values (the species' own units) applied to every species' set.
        """

        key = tuple(sorted(values.items()))
        if key in self._cache:
            return self._cache[key]
        wanted: dict[str, set[str]] = {}
        for t in self.targets:
            for d in t.designs:
                wanted.setdefault(d.design_id, set()).add(t.variable)
        by_species: dict[str, list[Design]] = {}
        for d in self.designs():
            by_species.setdefault(_design_species(d), []).append(d)
        out: dict[str, dict[str, tuple[float, float]]] = {}
        for species, designs in by_species.items():
            model = self.models.get(species)
            if model is None:
                raise PoiOdeError(f"design {designs[0].design_id}: no {species} model was given to the evidence "
                                  "objective")
            base = model.require_parameter_set()
            known = {k: v for k, v in values.items() if k in base.parameters}
            pset = base.with_values(known) if known else base
            affects_control = control_parameters(model)
            control_key = (species, tuple(sorted((k, v) for k, v in known.items() if k in affects_control)))
            arms = [d.arms(model) for d in designs]
            times = sorted({0.0, *(_sampling_day(d) for d in designs)})
            treated = self._batch(model, [a[0] for a in arms], times, pset, designs, "treated", self.rtol, self.atol)
            control = self._controls.get(control_key)
            if control is None:
                control = self._batch(model, [a[1] for a in arms], times, pset, designs, "control", self.rtol,
                                      self.atol)
                self._controls[control_key] = control
            for i, d in enumerate(designs):
                at = times.index(_sampling_day(d))
                out[d.design_id] = {v: (float(treated[v][i, at]), float(control[v][i, at]))
                                    for v in wanted[d.design_id]}
        if len(self._cache) > 8:
            self._cache.clear()
        if len(self._controls) > 8:
            self._controls.clear()
        self._cache[key] = out
        return out

    @staticmethod
    def _batch(model: "Model", regimens: list, times: list[float], pset: "ParameterSet",
               designs: list["Design"], arm: str, rtol: float, atol: float) -> dict[str, np.ndarray]:
        """Variables of ``regimens`` at ``times`` from one batch call; a failure names the design and arm."""
        from ..simulate import simulate_batch

        batch = simulate_batch(model, regimens, times=times, params=pset, threads=1, rtol=rtol, atol=atol)
        for i, err in enumerate(batch.errors):
            if err is not None:
                raise PoiOdeError(f"design {designs[i].design_id}, {arm} arm: {err}")
        return _BatchValues(batch)

    def pooled(self, values: Mapping[str, float], cv: Mapping[str, float],
               targets: Sequence[EffectTarget] | None = None) -> list[Pooled]:
        """The predicted pooled effect of each target (all targets by default)."""
        sims = self.simulate_designs(values)
        out = []
        for t in self.targets if targets is None else targets:
            g, v = [], []
            for d in t.designs:
                y_t, y_c = sims[d.design_id][t.variable]
                gi, vi = study_effect(y_t, y_c, cv[t.analyte], *self.group_sizes[d.design_id])
                g.append(gi)
                v.append(vi)
            if t.pooling == "random" and len(g) > 1 and math.isfinite(t.I2):
                out.append(pool_random(g, v, tau2=tau2_from_I2(v, t.I2 / 100.0)))
            elif t.pooling == "random" and len(g) > 1:
                out.append(pool_random(g, v))
            else:
                out.append(pool_fixed(g, v))
        return out

    def residuals(self, values: Mapping[str, float], cv: Mapping[str, float]) -> np.ndarray:
        """``(predicted - published) / SE`` of every fitted target."""
        fitted = self.fitted
        pooled = self.pooled(values, cv, fitted)
        return np.array([(p.estimate - t.estimate) / t.se for p, t in zip(pooled, fitted)])

    def table(self, values: Mapping[str, float], cv: Mapping[str, float]) -> "pd.DataFrame":
        """Published and predicted pooled effect of every target (one row each)."""
        import pandas as pd

        pooled = self.pooled(values, cv)
        rows = []
        for t, p in zip(self.targets, pooled):
            rows.append(dict(effect_id=t.effect_id, meta_analysis=t.meta_analysis, therapy=t.therapy,
                             analyte=t.analyte, subgroup=t.subgroup,
                             subgroup_kind=t.subgroup_kind, measure=t.measure, pooling=t.pooling,
                             published=t.estimate, published_lower=t.ci_low, published_upper=t.ci_high,
                             predicted=p.estimate, k_published=t.k_published, k_designs=len(t.designs),
                             within_ci=bool(t.ci_low <= p.estimate <= t.ci_high), held_out=t.held_out,
                             fitted=t.fitted, fixed_twin=t.fixed_twin,
                             designs=";".join(d.design_id for d in t.designs), note=t.note))
        return pd.DataFrame(rows)

"""The evidence calibration: the therapy fitted to the published pooled effects, mechanism by mechanism.

:func:`evidence_objective` turns the bundled pooled effects and study designs into an
:class:`~poi_ode.mbma.objective.EvidenceObjective` for one therapy and one therapy mechanism;
:func:`calibrate` fits it with :func:`poi_ode.fit`; :func:`prediction_band` gives the predicted pooled
effects with their parameter-uncertainty interval; :func:`compare_mechanisms` fits every mechanism to
the same evidence and ranks them by AIC and BIC and by the held-out subgroups they reproduce.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import PoiOdeError
from ..fitting.nuisance import is_nuisance
from .objective import CALIBRATION_KINDS, EvidenceObjective, build_targets

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..fitting.result import FitResult

__all__ = ["MECHANISM_FREE", "SPECIES", "evidence_objective", "calibrate", "prediction_band", "MechanismFit",
           "compare_mechanisms", "HELD_OUT_KINDS"]

SPECIES = ("mouse", "rat")
"""Species of the designs the calibration simulates (designs of other species are not simulable)."""

HELD_OUT_KINDS = ("dose", "route")
"""Subgroup kinds held out of the default calibration and predicted (issue 12, item 8)."""

MECHANISM_FREE: dict[str, dict[str, list[str]]] = {
    "msc": {
        "transient": ["s_M", "p_protect", "t_half_M_ov"],
        "niche_repair": ["s_M", "p_protect", "t_half_M_ov", "niche_atresia", "niche_activation", "t_half_niche_build"],
        "rescue": ["s_M", "p_protect", "t_half_M_ov", "rescue_max", "t_half_prim_hit"],
    },
    "exosome": {
        "transient": ["s_X", "t_half_X_ov", "w_sys_X"],
        "niche_repair": ["s_X", "t_half_X_ov", "w_sys_X", "niche_atresia", "niche_activation"],
        "rescue": ["s_X", "t_half_X_ov", "w_sys_X"],
    },
}
"""Free parameters of each therapy and mechanism. The niche-repair model contains the transient one (the same
paracrine signal also builds the durable repair), so the comparison is nested: niche repair frees the transient
parameters and its own, and AIC and BIC charge it for them.

Transient: how much signal the product gives (secretion ``s_M`` or delivery ``s_X``) and how long it lasts in
the ovary, with how strongly the signal protects (``p_protect``, an ovarian response the MSC calibration sets)
for cells, and for vesicles how much of the signal plasma vesicles give (``w_sys_X``: most vesicle designs
inject them intravenously). Niche repair adds how much a repaired niche lowers atresia and restrains primordial
activation, and for cells how fast the signal builds it. How long the repair lasts (``t_half_niche_loss``)
stays at its assumed value: the designs sample 1-8 weeks after therapy, too early to see it fade. Rescue adds
how fast the signal returns primordial follicles hit by chemotherapy to the reserve (``rescue_max``) and how
long hit follicles stay rescuable (``t_half_prim_hit``): follicle biology, shared by both products, so the
MSC calibration (11 designs) estimates them and the vesicle calibration (2 designs) uses its values."""


def evidence_objective(therapy: str, mechanism: str, calibrate: Sequence[str] = CALIBRATION_KINDS,
                       effects: "str | pd.DataFrame" = "preclinical_pooled_effects",
                       designs: str = "preclinical_designs",
                       species: Sequence[str] = SPECIES) -> tuple[EvidenceObjective, list[dict[str, str]]]:
    """The objective of one therapy's pooled effects under one therapy mechanism.

    Parameters
    ----------
    therapy : {"msc", "exosome"}
    mechanism : str
        A key of :data:`poi_ode.model.THERAPY_MECHANISMS`.
    calibrate : sequence of str
        Subgroup kinds fitted; rows of the other kinds are predicted (``held_out``).
    effects : str or DataFrame
        A bundled pooled-effects dataset (or a validated table).
    designs : str
        A bundled design table.
    species : sequence of str
        Species models to build (designs of other species are left out).

    Returns
    -------
    objective, skipped
        ``skipped`` lists the rows left out (``effect_id``, ``analyte``, ``subgroup``, ``reason``).
    """
    from ..data import load_pooled_effects
    from ..model import load_model
    from .designs import load_designs, simulable

    table = load_pooled_effects(effects) if isinstance(effects, str) else effects
    table = table[table["therapy"] == therapy].reset_index(drop=True)
    if table.empty:
        raise PoiOdeError(f"no pooled effects of therapy {therapy!r} in {effects if isinstance(effects, str) else ''}")
    usable = []
    for d in load_designs(designs):
        if d.therapy == therapy and d.species in species and simulable(d).ok:
            usable.append(d)
    targets, skipped = build_targets(table, usable, calibrate)
    if not targets:
        raise PoiOdeError(f"no pooled effect of therapy {therapy!r} has a simulable design")
    models = {s: load_model(s, mechanism=mechanism) for s in sorted({d.species for t in targets for d in t.designs})}
    return EvidenceObjective(models, targets), skipped


def calibrate(objective: EvidenceObjective, free: Sequence[str], *, profiles: Sequence[str] | bool = False,
              name: str = "evidence", **fit_options: Any) -> "FitResult":
    """Fit ``free`` (shared by every species model) to the objective's fitted targets.

    The first species model (alphabetical) carries the fit; the same values apply to every species'
    set (therapy parameters are taken to act alike in mouse and rat: an assumption the rows by species
    test). Other options go to :func:`poi_ode.fit`.
    """
    from ..fitting import fit

    model = objective.models[sorted(objective.models)[0]]
    return fit(model, None, list(free), evidence=objective, profiles=profiles, name=name, **fit_options)


def prediction_band(result: "FitResult", objective: EvidenceObjective, draws: int = 30, seed: int = 0,
                    level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted pooled effect of every target at the estimate, and its 95% interval.

    With profiles in the fit, the interval is the envelope of the predictions at every profile
    point inside the 95% likelihood threshold (a profile-likelihood prediction interval, which
    follows the likelihood where it is skewed or ends at a bound). Without profiles it is the
    2.5-97.5 percentile range over ``draws`` draws from the fit's covariance
    (:func:`parameter_draws`, which a flat or bounded direction makes wide); without either, the
    estimate itself.

    Returns
    -------
    estimate, lower, upper : ndarray
        One value per target of ``objective`` (in target order), SMD units.
    """
    values, cv = split_values(result.values)
    nominal = np.array([p.estimate for p in objective.pooled(values, cv)])
    samples = [pt for prof in result.profiles.values() for pt, c in zip(prof.get("points", []), prof["chi2"])
               if c - result.chi2 <= prof["threshold"]]
    percentiles = not samples
    if percentiles:
        if result.covariance is None or draws <= 0:
            return nominal, nominal.copy(), nominal.copy()
        samples = parameter_draws(result, draws, seed)
    rows = []
    for sample in samples:
        v, c = split_values(sample)
        try:
            rows.append([p.estimate for p in objective.pooled(v, c)])
        except PoiOdeError:
            continue
    if not rows:
        return nominal, nominal.copy(), nominal.copy()
    arr = np.array(rows)
    if not percentiles:
        return nominal, np.minimum(arr.min(axis=0), nominal), np.maximum(arr.max(axis=0), nominal)
    tail = (1 - level) / 2 * 100
    return nominal, np.percentile(arr, tail, axis=0), np.percentile(arr, 100 - tail, axis=0)


def parameter_draws(result: "FitResult", draws: int, seed: int = 0) -> list[dict[str, float]]:
    """Parameter values drawn from a fit's covariance (internal scale, clipped to the bounds)."""
    from ..fitting.jacobian import gaussian_draws

    rng = np.random.default_rng(seed)
    theta = result.internal_estimate()
    out = []
    for z in gaussian_draws(rng, theta, np.array(result.covariance, float), draws):
        row = {}
        for p, x in zip(result.parameters, z):
            value = 10 ** min(float(x), 300.0) if p.scale == "log" else float(x)
            row[p.key] = min(max(value, p.lower_bound), p.upper_bound)
        out.append(row)
    return out


def split_values(values: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Model parameter values and within-group spreads (``cv_<analyte>``) of a fit's values."""
    model = {k: v for k, v in values.items() if not is_nuisance(k)}
    cv = {k.removeprefix("cv_"): v for k, v in values.items() if k.startswith("cv_")}
    return model, cv


@dataclass
class MechanismFit:
    """One mechanism fitted to one therapy's evidence, with its predictions of every target."""

    therapy: str
    mechanism: str
    result: "FitResult"
    objective: EvidenceObjective
    predicted: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def aic(self) -> float:
        return float(self.result.aic)

    @property
    def bic(self) -> float:
        return float(self.result.bic)

    def coverage(self, held_out: bool) -> tuple[int, int]:
        """(published intervals containing the prediction, targets) among the fitted targets, or among the
        held-out subgroups' random-effects rows."""
        hits = total = 0
        for t, p in zip(self.objective.targets, self.predicted):
            if (t.held_out and not t.fixed_twin) if held_out else t.fitted:
                total += 1
                hits += int(t.ci_low <= p <= t.ci_high)
        return hits, total


def compare_mechanisms(therapy: str, mechanisms: Sequence[str] | None = None, draws: int = 30, seed: int = 0,
                       calibrate_kinds: Sequence[str] = CALIBRATION_KINDS, profile_best: bool = True,
                       **fit_options: Any) -> list[MechanismFit]:
    """Fit every mechanism of :data:`MECHANISM_FREE` to the same evidence; sorted by AIC (best first).

    The best mechanism is refitted with the profiles of its therapy parameters (``profile_best``),
    which give its parameter intervals and its prediction band (:func:`prediction_band`); the others
    get no band.
    """
    out = []
    for mechanism in mechanisms or list(MECHANISM_FREE[therapy]):
        objective, skipped = evidence_objective(therapy, mechanism, calibrate_kinds)
        result = calibrate(objective, MECHANISM_FREE[therapy][mechanism], name=f"evidence_{therapy}_{mechanism}",
                           **fit_options)
        predicted, lower, upper = prediction_band(result, objective, 0, seed)
        out.append(MechanismFit(therapy, mechanism, result, objective, predicted, lower, upper, skipped))
    out.sort(key=lambda m: (not math.isfinite(m.aic), m.aic))
    best = out[0]
    if profile_best and best.result.status != "failed":
        free = MECHANISM_FREE[therapy][best.mechanism]
        result = calibrate(best.objective, free, profiles=free, name=best.result.config.get("name", "evidence"),
                           **fit_options)
        best.result = result
        best.predicted, best.lower, best.upper = prediction_band(result, best.objective, draws, seed)
    return out

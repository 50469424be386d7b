"""The estimation problem: free parameters, arms to simulate, observations and residuals."""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
from scipy.special import log_ndtr

from ..data import Dataset, is_age_axis, iter_arms, parse_regimen
from ..data.columns import column_objects, column_values
from ..dosing import Regimen
from ..errors import AssayScaleWarning, ParameterError, PoiOdeError
from ..observe import observable
from ..parameters import ParameterSet
from ..simulate import DAYS_PER_YEAR, initial_state, simulate, start_age
from .nuisance import is_nuisance

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..model.core import Model

__all__ = ["FreeParameter", "Arm", "FitProblem", "ERROR_MODELS", "default_free"]

ERROR_MODELS = ("lognormal", "proportional", "additive")
SPREAD = "spread"
"""``sigma`` value of an analyte fitted with its published between-subject spread."""
PENALTY = 1e3
"""Residual given to every observation of an arm whose simulation fails."""
SCALE_PRIOR = (0.0, 1.0)
"""Prior of an assay scale factor, in log10: median 1, one decade of standard deviation."""


def default_free(model: "Model", dataset: Dataset, regimens: Mapping[tuple[str, str, str], Regimen]) -> list[str]:
    """The documented default free set: the effect parameters a therapy study informs.

    MSC arms free ``s_M`` (paracrine potency per cell) and ``p_protect`` (protection from
    atresia); exosome arms free ``s_X``; each chemotherapy agent frees its ``kill_<agent>``.
    Without any agent, AMH data free ``t_half_AMH``.
    """
    agents = {d.agent for reg in regimens.values() for d in reg}
    free = []
    if "msc" in agents:
        free += ["s_M", "p_protect"]
    if "exosome" in agents:
        free += ["s_X"] + ([] if "p_protect" in free else ["p_protect"])
    free += [f"kill_{a}" for a in sorted(agents) if f"kill_{a}" in model.parameter_names]
    if not free and "AMH" in set(dataset.frame["analyte"]):
        free = ["t_half_AMH"]
    return [f for f in free if f in model.parameter_names]


def simulation_units(dataset: Dataset, per_subject: bool) -> list[tuple[tuple[str, str, str], "pd.DataFrame"]]:
    """The (study, arm, subject) groups to simulate. Individuals of an age-axis arm share one
    simulation (one untreated course) unless parameters are estimated per subject."""
    import pandas as pd

    units: dict[tuple[str, str, str], list] = {}
    for (study, arm, subject), rows in iter_arms(dataset):
        key = (study, arm, "") if (subject and not per_subject and is_age_axis(rows)) else (study, arm, subject)
        units.setdefault(key, []).append(rows)
    return [(key, parts[0] if len(parts) == 1 else pd.concat(parts)) for key, parts in units.items()]


def _age_or_none(raw: Any) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _safe(text: str) -> str:
    return re.sub(r"\W", "_", text)


@dataclass(frozen=True)
class FreeParameter:
    """A parameter estimated from the data, shared or specific to one study.

    ``internal`` values are log10 of the value for log-scale parameters, the value itself
    otherwise; bounds and priors live in that scale too.
    """

    name: str
    scope: str  # "shared", a study id, "study/arm" or "study/arm/subject"
    unit: str
    scale: str
    lower: float
    upper: float
    initial: float
    prior: tuple[float, float] | None = None  # (mean, sd) in the internal scale
    bounds_value: tuple[float, float] = (-math.inf, math.inf)  # natural bounds, exact

    @property
    def key(self) -> str:
        return self.name if self.scope == "shared" else f"{self.name}__{_safe(self.scope)}"

    def to_internal(self, value: float) -> float:
        return math.log10(value) if self.scale == "log" else value

    def to_value(self, internal: float) -> float:
        value = 10.0**internal if self.scale == "log" else internal
        return min(max(value, self.bounds_value[0]), self.bounds_value[1])  # no round-off past a bound


@dataclass
class Arm:
    """One study arm: its regimen and initial state, and the observations to predict."""

    study: str
    arm: str
    regimen: Regimen
    initial: Any
    age: float | None
    rows: np.ndarray  # indices into the problem's observation arrays
    times: np.ndarray  # output times (days), sorted unique
    time_index: np.ndarray  # for each observation, its index in ``times``
    variables: list[str]
    factors: np.ndarray
    scale_keys: list[str | None]
    subject: str = ""
    age_axis: bool = False  # cross-sectional by age: times are days since the start age
    references: list[tuple[str, int] | None] = field(default_factory=list)
    """Per observation: (label of the reference arm, index in its ``times``) for a relative value
    (the prediction is this arm's variable over the reference arm's at the same day), else None."""
    extra_variables: list[str] = field(default_factory=list)
    """Variables simulated for other arms' relative values (this arm is their reference)."""

    @property
    def scopes(self) -> tuple[str, ...]:
        """The parameter scopes that apply to this simulation unit, widest first."""
        out = ("shared", self.study, f"{self.study}/{self.arm}")
        return out + ((f"{self.study}/{self.arm}/{self.subject}",) if self.subject else ())

    @property
    def label(self) -> str:
        return f"{self.study}/{self.arm}" + (f"/{self.subject}" if self.subject else "")


@dataclass
class FitProblem:
    """Everything the objective needs; built by :meth:`build`.

    Attributes
    ----------
    observed, sigma, censored : ndarray
        Per observation: value (standard units), residual scale (log scale for the
        log-normal error model) and censoring code (0, -1 below, +1 above).
    """

    model: "Model"
    dataset: Dataset
    base: ParameterSet
    free: list[FreeParameter]
    arms: list[Arm]
    error_model: str
    observed: np.ndarray
    sigma: np.ndarray
    censored: np.ndarray
    sigma_source: list[str]
    used: np.ndarray
    excluded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # assay scales added for units the model cannot convert
    rtol: float = 1e-9  # tight: finite-difference Jacobians of the residuals need smooth simulations
    atol: float = 1e-12
    max_steps: int = 100_000  # solver step budget per segment between doses
    solver: str = "auto"  # simulate(method=...) of the residuals; auto/rodas: compiled sensitivities too
    # tolerances of the analytic Jacobian's sensitivities: a Gauss-Newton step needs the Jacobian to a few digits
    # (the residuals keep rtol/atol, so the optimum does not move); tighter ones only cost steps
    sensitivity_rtol: float = 1e-7
    sensitivity_atol: float = 1e-10
    evidence: Any = None  # an EvidenceObjective: published pooled effects as likelihood terms
    batch: bool = True
    """Residuals: simulate all arms (and natural histories) of an evaluation in one call of the compiled
    batch engine, each integrated exactly as alone (False, or a solver other than auto/rodas, or no
    compiled engine: arm by arm; the reason is in ``batch_fallbacks``)."""
    threads: int = 1  # threads of the batch engine (1: safe in the worker processes of a multistart)
    n_evaluations: int = 0
    n_failures: int = 0
    last_failure: str = ""
    n_simulations: int = 0  # simulations run for the residuals (arms and shared natural histories)
    n_engine_fallbacks: int = 0  # of which the compiled engine failed and LSODA's retry succeeded
    batch_fallbacks: list[str] = field(default_factory=list)
    """Why residuals were simulated arm by arm rather than in one batch (each reason once)."""
    _last: dict[str, tuple] = field(default_factory=dict, init=False, repr=False, compare=False)
    _grids: dict[bytes, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)
    """The last prediction and analytic Jacobian, by their point and settings (see :meth:`_memo_key`)."""

    # ----------------------------------------------------------------------------- build
    @classmethod
    def build(
        cls,
        model: "Model",
        dataset: Dataset,
        free: Sequence[str] | None = None,
        per_study: Sequence[str] = (),
        priors: Mapping[str, Mapping[str, float]] | None = None,
        error_model: str = "lognormal",
        sigma: "float | Mapping[str, float | str]" = 0.3,
        regimens: Mapping[str, str] | None = None,
        initial: Mapping[str, Any] | str | None = None,
        scales: Sequence[str] = (),
        per_arm: Sequence[str] = (),
        per_subject: Sequence[str] = (),
        use_set_priors: bool = True,
        evidence: Any = None,
    ) -> "FitProblem":
        if model.parameter_set is None:
            raise ParameterError("fit needs a model with a parameter set (use load_model)")
        if error_model not in ERROR_MODELS:
            raise ParameterError(f"error_model must be one of {ERROR_MODELS}, not {error_model!r}")
        sigmas = dict(sigma) if isinstance(sigma, Mapping) else {"*": sigma}
        for which, value in sigmas.items():
            if value == SPREAD:
                continue
            if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                raise ParameterError(f"sigma{'' if which == '*' else f'[{which!r}]'} must be a positive number or "
                                     f"{SPREAD!r}, got {value!r}")
        base = model.parameter_set
        species = {s for s in dataset.species}
        if len(species) > 1 or (species and next(iter(species)) != base.species):
            raise ParameterError(f"dataset species {sorted(species)} do not match the model's ({base.species})")

        arm_regimens: dict[tuple[str, str, str], Regimen] = {}
        arm_initial: dict[tuple[str, str, str], Any] = {}
        excluded: list[str] = []
        grouped_units = simulation_units(dataset, bool(per_subject))
        units = [key for key, _ in grouped_units]
        for (study, arm, subject), rows in grouped_units:
            text = (regimens or {}).get(f"{study}/{arm}", (regimens or {}).get(arm, column_objects(rows, "regimen")[0]))
            arm_regimens[(study, arm, subject)] = parse_regimen(text) if text else Regimen()
            init = column_objects(rows, "initial")[0] or "healthy"
            if isinstance(initial, str):
                init = initial
            elif initial is not None:
                init = initial.get(f"{study}/{arm}", initial.get(arm, init))
            arm_initial[(study, arm, subject)] = init

        known_arms = {f"{u[0]}/{u[1]}" for u in units} | {u[1] for u in units}
        for what, given in (("initial", initial), ("regimens", regimens)):
            if isinstance(given, Mapping):
                unknown = [k for k in given if k not in known_arms]
                if unknown:
                    raise ParameterError(f"{what} names {', '.join(map(repr, unknown))}, not an arm of the data; "
                                         f"arms: {', '.join(sorted(known_arms))}")
        if free is None and evidence is not None and not len(dataset):
            raise ParameterError("a fit to summary-level evidence alone needs free=[...] parameter names")
        names = list(free) if free is not None else default_free(model, dataset, arm_regimens)
        if not names and not (per_study or per_arm or per_subject):
            raise ParameterError("nothing to fit: give free=[...] parameter names")
        grouped = {"study": list(per_study), "arm": list(per_arm), "subject": list(per_subject)}
        seen: dict[str, str] = {}
        for level, group in grouped.items():
            for name in group:
                if name in seen:
                    raise ParameterError(f"parameter {name!r} is both per {seen[name]} and per {level}")
                seen[name] = level
        scopes_of = {
            "study": list(dict.fromkeys(u[0] for u in units)),
            "arm": list(dict.fromkeys(f"{u[0]}/{u[1]}" for u in units)),
            "subject": list(dict.fromkeys(f"{u[0]}/{u[1]}/{u[2]}" for u in units if u[2])),
        }
        both = sorted(set(names) & set(seen))
        if both:
            raise ParameterError(f"{both} are both shared (free) and per {seen[both[0]]}: give each once")
        for name in [*names, *seen]:
            if name not in model.parameter_names:
                raise ParameterError(f"free parameter {name!r} is not a parameter of model {model.name!r}")
        explicit = dict(priors or {})
        from_set = {n: own for n in [*names, *seen] if (own := base[n].prior) is not None} if use_set_priors else {}
        priors = {**from_set, **explicit}
        if per_subject and not scopes_of["subject"]:
            raise ParameterError("per_subject parameters need a 'subject' column with individual data")
        free_params: list[FreeParameter] = []
        for name in [*names, *[p for p in seen if p not in names]]:
            p = base[name]
            scopes = scopes_of[seen[name]] if name in seen else ["shared"]
            for scope in scopes:
                fp = FreeParameter(name, scope, p.unit, p.scale, 0.0, 0.0, 0.0)
                lower, upper = fp.to_internal(p.lower), fp.to_internal(p.upper)
                prior = _prior(fp, priors.get(name), base)
                fp = FreeParameter(name, scope, p.unit, p.scale, lower, upper, fp.to_internal(p.value), prior,
                                   (p.lower, p.upper))
                free_params.append(fp)
        unknown_priors = set(explicit) - set(names) - set(seen)
        if unknown_priors:
            raise ParameterError(f"priors given for parameters that are not free: {sorted(unknown_priors)}")
        frame = dataset.frame
        for analyte in scales:
            measured = frame.loc[frame["analyte"] == analyte, "study_id"]
            if measured.empty:
                raise ParameterError(f"scales names {analyte!r}, which no study of the data measures")
            for study in dict.fromkeys(measured):
                free_params.append(FreeParameter(f"scale_{analyte}", study, "1", "log", -3.0, 3.0, 0.0, (0.0, 1.0),
                                                 (1e-3, 1e3)))

        if evidence is not None:
            free_params.extend(spread_parameters(evidence.analytes))

        observed = column_values(frame, "value_std", float)
        censored = np.array([{"below": -1, "above": 1}.get(c, 0) for c in column_objects(frame, "censored")])
        sig, source = _sigmas(frame, error_model, sigmas)
        references = frame["reference_arm"] if "reference_arm" in frame.columns else [""] * len(frame)
        notes: list[str] = []
        prepared = {}
        on_age_axis: dict[tuple[str, str, str], bool] = {}
        for (study, arm, subject), rows in grouped_units:
            regimen = arm_regimens[(study, arm, subject)]
            age = column_objects(rows, "age_years")[0]
            on_age_axis[(study, arm, subject)] = is_age_axis(rows)
            if on_age_axis[(study, arm, subject)]:  # cross-sectional by age: one untreated course from the start age
                if len(regimen) or arm_initial[(study, arm, subject)] != "healthy":
                    raise PoiOdeError(f"{study}/{arm}: an arm on the age axis is the untreated natural history; "
                                      "it takes no regimen and no initial state")
                a0 = start_age(base)
                ages = rows["age_years"].astype(float).to_numpy()
                if np.any(ages < a0):
                    row = int(rows["row"].iloc[int(np.argmin(ages))])
                    raise PoiOdeError(f"row {row}, column age_years: age {ages.min():g} y is before the start of "
                                      f"the {base.species} natural history ({a0:g} y)")
                t_obs, age = (ages - a0) * DAYS_PER_YEAR, a0
            else:
                t_obs = _sample_times(column_objects(rows, "time_days"), regimen)
            prepared[(study, arm, subject)] = (rows, regimen, age, t_obs)
        # relative values: the reference arm is simulated at the same days, for the same variables
        wanted: dict[tuple[str, str, str], list[tuple[float, str]]] = {}
        ref_of: dict[int, tuple[tuple[str, str, str], float]] = {}
        for (study, arm, subject), (rows, regimen, age, t_obs) in prepared.items():
            for k, i in enumerate(rows.index):
                ref = str(references[i]).strip() if references[i] is not None else ""
                if not ref:
                    continue
                key = (study, ref, "")
                row = int(frame["row"].iloc[i])
                if key not in prepared:
                    raise PoiOdeError(f"row {row}, column reference_arm: arm {study}/{ref} is not an arm of the "
                                      "data with group values (individual data cannot be a reference)")
                if on_age_axis[(study, arm, subject)] or on_age_axis[key]:
                    raise PoiOdeError(f"row {row}, column reference_arm: relative values need both arms on the "
                                      "day axis")
                t_ref = float(_sample_times(rows["time_days"].iloc[k:k + 1], prepared[key][1])[0])
                variable = observable(model, frame["analyte"].iloc[i], "fold", assay_scale=True).variable
                wanted.setdefault(key, []).append((t_ref, variable))
                ref_of[int(i)] = (key, t_ref)
        auto: dict[tuple[str, str], tuple[str, str, list[int]]] = {}
        arms = []
        for (study, arm, subject), (rows, regimen, age, t_obs) in prepared.items():
            idx = rows.index.to_numpy()
            extra = wanted.get((study, arm, subject), [])
            times = np.unique(np.concatenate([t_obs, [t for t, _ in extra]]))
            inverse = np.searchsorted(times, t_obs)
            obs = []
            scale_keys = []
            for i, a, u in zip(idx, column_objects(rows, "analyte"), column_objects(rows, "unit_std")):
                o = observable(model, a, u, assay_scale=True)
                if int(i) in ref_of:  # a ratio of two simulations: units, factors and scales cancel
                    o = replace(o, factor=1.0, needs_scale=False, unconvertible="")
                elif o.needs_scale and o.analyte not in scales:
                    if not o.unconvertible:
                        raise PoiOdeError(
                            f"analyte {o.analyte} is measured on an assay scale the model does not have: fit "
                            f"with scales=[{o.analyte!r}] (poi-ode fit --scales {o.analyte})"
                        )
                    printed = str(frame["unit"].iloc[i]).strip()
                    auto.setdefault((o.analyte, study), (printed, o.unconvertible, []))[2].append(
                        int(frame["row"].iloc[i]))
                obs.append(o)
                scaled = (o.needs_scale or o.analyte in scales) and int(i) not in ref_of
                scale_keys.append(f"scale_{o.analyte}__{_safe(study)}" if scaled else None)
            arms.append(
                Arm(study, arm, regimen, arm_initial[(study, arm, subject)], _age_or_none(age), idx, times,
                    inverse, [o.variable for o in obs], np.array([o.factor for o in obs]), scale_keys, subject,
                    on_age_axis[(study, arm, subject)], extra_variables=sorted({v for _, v in extra}))
            )
        label_of = {(a.study, a.arm, a.subject): a for a in arms}
        for a in arms:
            a.references = [None] * len(a.rows)
            for k, i in enumerate(a.rows):
                if int(i) in ref_of:
                    key, t_ref = ref_of[int(i)]
                    ref_arm = label_of[key]
                    a.references[k] = (ref_arm.label, int(np.searchsorted(ref_arm.times, t_ref)))
        for (analyte, study), (unit, why, rows_) in auto.items():
            free_params.append(FreeParameter(f"scale_{analyte}", study, "1", "log", -3.0, 3.0, 0.0, SCALE_PRIOR,
                                             (1e-3, 1e3)))
            shown = ", ".join(map(str, rows_[:5])) + (f" and {len(rows_) - 5} more" if len(rows_) > 5 else "")
            message = (f"study {study}: {analyte} in {unit!r} (rows {shown}) does not convert to the model's "
                       f"{why!r}{_dimensions(unit, why)}; fitted with a free assay scale "
                       f"scale_{analyte}__{_safe(study)} "
                       f"(prior: median 1, SD 1 decade), so these {analyte} values inform its course, not its level. "
                       f"To ask for it explicitly: scales=[{analyte!r}] (poi-ode fit --scales {analyte}); to fit "
                       f"levels, give {analyte} in a unit convertible to {why!r}.")
            notes.append(message)
            warnings.warn(message, AssayScaleWarning, stacklevel=3)
        used = np.ones(len(frame), bool)
        for a in arms:
            if a.initial != "first_observation":
                continue
            for k, row in enumerate(a.rows):
                if a.times[a.time_index[k]] == 0.0 and a.variables[k] in model.index and not a.references[k]:
                    used[row] = False
                    excluded.append(f"row {int(frame['row'].iloc[row])} ({a.label}, day 0, "
                                    f"{frame['analyte'].iloc[row]}): sets the initial state, not fitted")
        problem = cls(model, dataset, base, free_params, arms, error_model, observed, sig, censored, source,
                      used, excluded, notes, evidence=evidence)
        if error_model == "lognormal":
            zero = np.flatnonzero((observed <= 0) & (censored == 0))
            if zero.size:
                row = int(frame["row"].iloc[zero[0]])
                raise PoiOdeError(
                    f"row {row}: value 0 cannot enter a log-normal error model; mark it censored below "
                    "the assay limit or use error_model='additive'"
                )
        return problem

    # ----------------------------------------------------------------------------- evaluate
    def initial_vector(self) -> np.ndarray:
        return np.array([f.initial for f in self.free])

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([f.lower for f in self.free]), np.array([f.upper for f in self.free])

    def parameter_sets(self, theta: np.ndarray) -> dict[str, ParameterSet]:
        """Parameter set per simulation unit (shared values, then study, arm and subject values).

        The sets of the last point are kept (sets are immutable; a new dict of the same sets is
        returned): the optimiser asks for the residuals and then the Jacobian at the same point,
        and the second use of a set also finds its vector converted and checked.
        """
        key = np.asarray(theta, float).tobytes()
        kept = self._last.get("parameter_sets")
        if kept is not None and kept[0] == key:
            return dict(kept[1])
        out = self._parameter_sets(theta)
        self._last["parameter_sets"] = (key, dict(out))
        return out

    def _parameter_sets(self, theta: np.ndarray) -> dict[str, ParameterSet]:
        model_values = [(f, f.to_value(t)) for f, t in zip(self.free, theta) if not is_nuisance(f.name)]
        base = self.base.with_values({f.name: v for f, v in model_values if f.scope == "shared"})
        out = {}
        for arm in self.arms:
            own = {f.name: v for f, v in model_values if f.scope in arm.scopes[1:]}
            out[arm.label] = base.with_values(own) if own else base
        return out

    def _memo_key(self, theta: np.ndarray) -> tuple:
        """What a prediction or a Jacobian depends on besides the fixed problem: the point and the settings."""
        return (np.asarray(theta, float).tobytes(), self.solver, self.batch, self.rtol, self.atol, self.max_steps,
                self.sensitivity_rtol, self.sensitivity_atol)

    def predict(self, theta: np.ndarray, strict: bool = False) -> np.ndarray:
        """Predicted value of every observation (standard units); NaN where a simulation failed.

        The last prediction is kept: asked again at the same point (a fit evaluates its estimate
        several times: the optimiser's last step, the chi-square, the result), it is returned
        without simulating again (a prediction with a failed simulation is not kept, so its
        failure is counted each time, as before).
        """
        key = self._memo_key(theta)
        kept = self._last.get("predict")
        if kept is not None and kept[0] == key:
            return kept[1].copy()
        failures = self.n_failures
        pred = self._predict(theta, strict)
        if self.n_failures == failures:
            self._last["predict"] = (key, pred.copy())
        return pred

    def _predict(self, theta: np.ndarray, strict: bool) -> np.ndarray:
        psets = self.parameter_sets(theta)
        scales = {f.key: f.to_value(t) for f, t in zip(self.free, theta) if f.name.startswith("scale_")}
        pred = np.full(len(self.observed), np.nan)
        outcomes = self._simulate_all(psets)
        simulated: dict[str, dict[str, np.ndarray]] = {}
        for arm in self.arms:
            values = outcomes[arm.label]
            if isinstance(values, PoiOdeError):
                if strict:
                    raise values
                self.n_failures += 1
                self.last_failure = f"{arm.label}: {values}"
                continue
            simulated[arm.label] = values
        for arm in self.arms:
            values = simulated.get(arm.label)
            if values is None:
                continue
            for k, (row, var) in enumerate(zip(arm.rows, arm.variables)):
                reference = arm.references[k] if arm.references else None
                if reference is not None:  # relative: this arm over the reference arm at the same day
                    ref_values = simulated.get(reference[0])
                    if ref_values is not None:
                        with np.errstate(divide="ignore", invalid="ignore"):
                            pred[row] = values[var][arm.time_index[k]] / ref_values[var][reference[1]]
                    continue
                scale = scales[sk] if (sk := arm.scale_keys[k]) else 1.0
                pred[row] = values[var][arm.time_index[k]] * arm.factors[k] * scale
        return pred

    def _simulation_jobs(self, psets: Mapping[str, ParameterSet]) -> list[tuple[Arm, ParameterSet, list[Arm]]]:
        """The simulations behind the residuals: (what to simulate, its parameter set, the arms it serves).

        An arm on the day axis is one simulation; arms on the age axis share one untreated course
        per parameter set (on the union of their times, for the union of their variables).
        """
        jobs: list[tuple[Arm, ParameterSet, list[Arm]]] = []
        groups: dict[int, list[Arm]] = {}
        for arm in self.arms:
            if arm.age_axis:
                groups.setdefault(id(psets[arm.label]), []).append(arm)
            else:
                jobs.append((arm, psets[arm.label], [arm]))
        for arms in groups.values():
            times = np.unique(np.concatenate([a.times for a in arms]))
            variables = sorted(set().union(*(a.variables for a in arms)))
            jobs.append((replace(arms[0], times=times, variables=variables), psets[arms[0].label], arms))
        return jobs

    def _simulate_all(self, psets: Mapping[str, ParameterSet]) -> dict[str, Any]:
        """Values of every arm's variables at its times (or the error its simulation raised), by arm label.

        All simulations run in one call of the compiled batch engine where it can (see ``batch``),
        else one by one through :func:`~poi_ode.simulate`; the values are the same either way.
        """
        jobs = self._simulation_jobs(psets)
        results = self._simulate_batch(jobs)
        if results is None:
            results = []
            for sim_arm, pset, _ in jobs:
                try:
                    results.append(self.simulate_arm(sim_arm, pset, sim_arm.times))
                except PoiOdeError as exc:
                    results.append(exc)
        out: dict[str, Any] = {}
        for (sim_arm, _, arms), values in zip(jobs, results):
            for arm in arms:
                if isinstance(values, PoiOdeError) or arm is sim_arm:
                    out[arm.label] = values
                else:  # an arm of a shared natural history: its own days
                    at = np.searchsorted(sim_arm.times, arm.times)
                    out[arm.label] = {v: values[v][at] for v in arm.variables}
        return out

    def _batch_unavailable(self) -> str | None:
        """Why the residuals cannot be simulated in one batch here (None: they can)."""
        if not self.batch:
            return "batch=False"
        if self.solver not in ("auto", "rodas"):
            return f"solver {self.solver!r} is not the compiled engine"
        from ..native import NativeUnavailable, native_model

        try:
            native_model(self.model)
        except NativeUnavailable as exc:
            return f"no compiled engine ({exc})"
        return None

    def _simulate_batch(self, jobs: list[tuple[Arm, ParameterSet, list[Arm]]]) -> list[Any] | None:
        """Values (or errors) of ``jobs`` from one call of the compiled batch engine; None if it cannot run
        them (the reason is added to ``batch_fallbacks``).

        Each simulation is prepared as :meth:`simulate_arm` and :func:`~poi_ode.simulate` prepare it
        (initial state, output days, doses, the same checks and errors) and integrated on its own
        output days, so its values are those of the arm-by-arm path; one the compiled engine fails
        on is retried by LSODA, as :func:`~poi_ode.simulate` does.
        """
        from ..native import native_model
        from ..simulate import DosingError, dose_jumps, output_times, prime_healthy_states

        reason = self._batch_unavailable()
        if reason is not None:
            if reason not in self.batch_fallbacks:
                self.batch_fallbacks.append(reason)
            return None
        model, c = self.model, self.model.compiled
        native = native_model(model)
        by_age: dict[float | None, dict[int, ParameterSet]] = {}
        for arm, pset, _ in jobs:
            if isinstance(arm.initial, str) and arm.initial != "first_observation":
                by_age.setdefault(arm.age, {})[id(pset)] = pset
        for age, sets in by_age.items():  # untreated courses to the arms' ages: one batch per age
            if len(sets) > 1:
                prime_healthy_states(model, native, sets.values(), age, self.threads)
        results: list[Any] = [None] * len(jobs)
        rows, Q, Y0, dose_t, jumps, grids, starts = [], [], [], [], [], [], []
        for b, (arm, pset, _) in enumerate(jobs):
            self.n_simulations += 1
            try:
                initial = arm.initial
                if initial == "first_observation":
                    initial = self._first_observation_state(arm, pset)
                y_start = initial_state(model, initial, pset, arm.age)
                times = arm.times
                key = times.tobytes()  # the output grid of these days, checked once per problem
                grid = self._grids.get(key)
                if grid is None:
                    grid = self._grids[key] = output_times(None, times if times[-1] > 0 else np.array([0.0, 1e-9]))
                p = pset.vector(model)  # (checks the set against the model, as resolve_parameters does)
                resolved = arm.regimen.resolve(model, p)
                q = np.array(c.prepare(p))
                late = [r for r in resolved if r.time > grid[-1] + 1e-12]
                if late:
                    raise DosingError(f"dose of {late[0].dose.agent!r} at day {late[0].dose.time:g} is after the "
                                      f"end of the simulation (day {grid[-1]:g})")
                # the checks simulate() makes of a given state (a mapping or an array was checked just above)
                y0 = initial_state(model, y_start, pset) if isinstance(initial, str) else y_start
            except PoiOdeError as exc:
                results[b] = exc
                continue
            t_k, j_k = dose_jumps(resolved, len(y0))
            rows.append(b)
            Q.append(q)
            Y0.append(y0)
            dose_t.append(t_k)
            jumps.append(j_k)
            grids.append(grid)
            starts.append(y_start)
        if not rows:
            return results
        Ys, Os, _, failed = native.simulate_ragged(Q, Y0, dose_t, jumps, grids, self.rtol, self.atol, self.max_steps,
                                                   self.threads)
        for i, b in enumerate(rows):
            arm, pset, _ = jobs[b]
            if failed[i] is None:
                states, outputs = Ys[i], Os[i]
            else:  # as simulate(): LSODA retries what the compiled engine could not integrate
                try:
                    tr = simulate(model, arm.regimen, times=grids[i], params=pset, initial=Y0[i], method="LSODA",
                                  rtol=self.rtol, atol=self.atol, max_steps=self.max_steps)
                except PoiOdeError as exc:
                    results[b] = exc
                    continue
                self.n_engine_fallbacks += 1  # (counted, as arm by arm, where the retry succeeds)
                states, outputs = tr.states, tr.outputs

            def series(var: str, states=states, outputs=outputs) -> np.ndarray:
                if var in model.index:
                    return states[:, model.index[var]]
                return outputs[:, c.output_names.index(var)]

            results[b] = self._arm_values(arm, pset, arm.times, starts[i], series)
        return results

    def simulate_arm(self, arm: Arm, pset: ParameterSet, times: np.ndarray) -> dict[str, np.ndarray]:
        """Values of the arm's variables at ``times`` (pre-dose at day 0)."""
        self.n_simulations += 1
        initial = arm.initial
        if initial == "first_observation":
            initial = self._first_observation_state(arm, pset)
        y0 = initial_state(self.model, initial, pset, arm.age)
        if times[-1] <= 0:
            sim_times = np.array([0.0, 1e-9])
        else:
            sim_times = times
        tr = simulate(self.model, arm.regimen, times=sim_times, params=pset, initial=y0, method=self.solver,
                      rtol=self.rtol, atol=self.atol, max_steps=self.max_steps)
        self.n_engine_fallbacks += "fallback" in tr.stats
        return self._arm_values(arm, pset, times, y0, lambda var: tr[var])

    def _arm_values(self, arm: Arm, pset: ParameterSet, times: np.ndarray, y0: np.ndarray,
                    series_of: Any) -> dict[str, np.ndarray]:
        """The arm's variables at ``times`` from the simulated series (``series_of(variable)``) of a run from ``y0``."""
        out = {}
        for var in set(arm.variables) | set(arm.extra_variables):
            series = series_of(var)[: len(times)] if times[-1] > 0 else series_of(var)[:1]
            if times[0] == 0.0:  # day 0: before any day-0 dose
                series = series.copy()
                series[0] = _variable_at_state(self.model, var, y0, pset)
            out[var] = series
        return out

    def _first_observation_state(self, arm: Arm, pset: ParameterSet) -> dict[str, float]:
        """Initial state with the arm's observed day-0 values (states only) and 0 elsewhere."""
        y = {}
        for k, row in enumerate(arm.rows):
            if arm.times[arm.time_index[k]] == 0.0 and arm.variables[k] in self.model.index and not arm.references[k]:
                y[arm.variables[k]] = self.observed[row] / arm.factors[k]
        return y

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """Standardised residuals of the observations, then the prior residuals.

        Every call counts as an evaluation. The last residuals are kept as the last prediction is
        (see :meth:`predict`; a fit asks for those of its estimate several times) where they are a
        function of the kept prediction and the point alone: not with published pooled effects
        (evidence), and not after a failed simulation, whose failure is counted each time.
        """
        self.n_evaluations += 1
        key = self._memo_key(theta)
        kept = self._last.get("residuals")
        if kept is not None and kept[0] == key:
            return kept[1].copy()
        failures = self.n_failures
        res = self._residuals(theta)
        if self.n_failures == failures and self.evidence is None:
            self._last["residuals"] = (key, res.copy())
        return res

    def _residuals(self, theta: np.ndarray) -> np.ndarray:
        pred = self.predict(theta)
        res = np.empty(len(self.observed))
        failed = ~np.isfinite(pred) | (pred < 0)
        ok = ~failed
        if self.error_model == "lognormal":
            mu = np.log(np.maximum(pred[ok], 1e-300))
            y = np.log(np.maximum(self.observed[ok], 1e-300))
        else:
            mu, y = pred[ok], self.observed[ok]
        sig = self.sigma[ok]
        if self.error_model == "proportional":  # an assumed sigma is a CV of the prediction
            sig = np.where(self._sigma_is_cv[ok], sig * np.maximum(np.abs(pred[ok]), 1e-300), sig)
        z = (y - mu) / sig
        cens = self.censored[ok]
        r = z.copy()
        if cens.any():
            below, above = cens == -1, cens == 1
            # censored: -2 log P(Y < L) = -2 log Phi((L - mu)/sigma) as a residual (Beal's M3)
            r[below] = np.sqrt(np.maximum(-2.0 * log_ndtr(z[below]), 0.0))
            r[above] = np.sqrt(np.maximum(-2.0 * log_ndtr(-z[above]), 0.0))
        res[ok] = r
        res[failed] = PENALTY
        res = res[self.used]
        priors = [(t - f.prior[0]) / f.prior[1] for f, t in zip(self.free, theta) if f.prior is not None]
        return np.concatenate([res, self.evidence_residuals(theta), np.array(priors, dtype=float)])

    def evidence_values(self, theta: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
        """Shared model parameter values and within-group spreads (``cv_<analyte>``) at ``theta``."""
        values = {f.name: f.to_value(t) for f, t in zip(self.free, theta)
                  if f.scope == "shared" and not is_nuisance(f.name)}
        cv = {f.name.removeprefix("cv_"): f.to_value(t) for f, t in zip(self.free, theta) if f.name.startswith("cv_")}
        return values, cv

    def evidence_residuals(self, theta: np.ndarray) -> np.ndarray:
        """Residuals of the published pooled effects (none without evidence); a failed simulation is penalised."""
        if self.evidence is None:
            return np.empty(0)
        values, cv = self.evidence_values(theta)
        try:
            r = np.asarray(self.evidence.residuals(values, cv), float)
        except PoiOdeError as exc:
            self.n_failures += 1
            self.last_failure = f"evidence: {exc}"
            return np.full(self.n_evidence, PENALTY)
        return np.where(np.isfinite(r), r, PENALTY)

    @property
    def n_evidence(self) -> int:
        """Published pooled effects in the likelihood."""
        return 0 if self.evidence is None else len(self.evidence.fitted)

    def analytic_unavailable(self) -> str | None:
        """Why this objective has no analytic Jacobian (None: it has one): relative values (a quotient of
        two simulations) and published pooled effects are differentiated by finite differences."""
        if any(r is not None for arm in self.arms for r in arm.references):
            return "relative values (reference_arm)"
        if self.evidence is not None:
            return "published pooled effects (evidence)"
        return None

    def jacobian(self, theta: np.ndarray) -> np.ndarray | None:
        """Analytic Jacobian of :meth:`residuals` from forward sensitivities (None: use differences).

        Differentiates the simulated observables through the sensitivity equations of the
        symbolic model (:mod:`poi_ode.sensitivity`; states and outputs), then the error model,
        the censoring terms and the priors analytically. A failed integration returns None so
        the caller falls back to finite differences. With ``solver`` "auto" or "rodas" the
        sensitivities are integrated by the compiled engine (where it builds), else by scipy.
        """
        if self.analytic_unavailable() is not None:
            return None
        key = self._memo_key(theta)  # the last Jacobian is kept, as the last prediction (see predict)
        kept = self._last.get("jacobian")
        if kept is not None and kept[0] == key:
            return kept[1].copy()
        jac = self._jacobian(theta)
        if jac is not None:
            self._last["jacobian"] = (key, jac.copy())
        return jac

    def _jacobian(self, theta: np.ndarray) -> np.ndarray | None:
        from ..sensitivity import forward

        psets = self.parameter_sets(theta)
        scales = {f.key: f.to_value(t) for f, t in zip(self.free, theta) if f.name.startswith("scale_")}
        n_obs = len(self.observed)
        dmu = np.zeros((n_obs, len(self.free)))
        mu = np.full(n_obs, np.nan)
        ln10 = np.log(10.0)
        method = "auto" if self.solver in ("auto", "rodas") else "LSODA"

        def arm_columns(arm: Arm) -> list[int]:
            return [j for j, f in enumerate(self.free) if not is_nuisance(f.name) and f.scope in arm.scopes]

        outputs = any(v not in self.model.index for arm in self.arms for v in arm.variables)

        def sensitivities(arm: Arm, times: np.ndarray, cols: list[int]):
            pset = psets[arm.label]
            initial = arm.initial
            if initial == "first_observation":
                initial = self._first_observation_state(arm, pset)
            times = times if times[-1] > 0 else np.array([0.0, 1e-9])
            names = [self.free[j].name for j in cols] or [self.model.parameter_names[0]]
            return forward(self.model, arm.regimen, times, pset, names, initial=initial, age=arm.age,
                           rtol=self.sensitivity_rtol, atol=self.sensitivity_atol, method=method, outputs=outputs)

        # arms on the age axis share one untreated course per parameter set, as in predict()
        groups: dict[int, list[Arm]] = {}
        for arm in self.arms:
            if arm.age_axis:
                groups.setdefault(id(psets[arm.label]), []).append(arm)
        runs: dict[str, tuple] = {}  # arm label -> (sensitivities, sens row of each arm time, sens columns)
        try:
            for group in groups.values():
                times = np.unique(np.concatenate([a.times for a in group]))
                cols = sorted(set().union(*(arm_columns(a) for a in group)))
                sens = sensitivities(group[0], times, cols)
                runs.update({a.label: (sens, np.searchsorted(times, a.times), cols) for a in group})
            for arm in self.arms:
                if arm.label not in runs:
                    cols = arm_columns(arm)
                    runs[arm.label] = (sensitivities(arm, arm.times, cols), np.arange(len(arm.times)), cols)
        except PoiOdeError:
            return None
        for arm in self.arms:
            sens, rows_at, all_cols = runs[arm.label]
            own = set(arm_columns(arm))
            pairs = [(c, j) for c, j in enumerate(all_cols) if j in own]
            pset = psets[arm.label]
            for k, (row, var) in enumerate(zip(arm.rows, arm.variables)):
                i = rows_at[arm.time_index[k]]
                scale = scales[sk] if (sk := arm.scale_keys[k]) else 1.0
                mu[row] = sens.value(var)[i] * arm.factors[k] * scale
                d_var = sens.of(var)[i]
                for c, j in pairs:
                    f = self.free[j]
                    p_declared = sens.values[c]
                    dp = p_declared * ln10 if f.scale == "log" else p_declared / pset[f.name].value
                    dmu[row, j] = d_var[c] * dp * arm.factors[k] * scale
                if arm.scale_keys[k]:
                    j = next(j for j, f in enumerate(self.free) if f.key == arm.scale_keys[k])
                    dmu[row, j] = mu[row] * ln10
        if not np.all(np.isfinite(mu)) or np.any(mu <= 0):
            return None
        y, sig = self.observed, self.sigma
        if self.error_model == "lognormal":
            z = (np.log(np.maximum(y, 1e-300)) - np.log(mu)) / sig
            dz = -dmu / (mu * sig)[:, None]
        elif self.error_model == "proportional":
            cv = self._sigma_is_cv
            s_eff = np.where(cv, sig * mu, sig)
            z = (y - mu) / s_eff
            dz = np.where(cv[:, None], -(y / (sig * mu**2))[:, None] * dmu, -dmu / sig[:, None])
        else:
            z = (y - mu) / sig
            dz = -dmu / sig[:, None]
        jac = dz.copy()
        for code, sign in ((-1, 1.0), (1, -1.0)) if self.censored.any() else ():
            idx = self.censored == code
            if idx.any():
                zz = sign * z[idx]
                r = np.sqrt(np.maximum(-2.0 * log_ndtr(zz), 0.0))
                ratio = np.exp(-0.5 * zz**2 - log_ndtr(zz)) / np.sqrt(2 * np.pi)  # phi/Phi, stable
                with np.errstate(divide="ignore", invalid="ignore"):
                    factor = np.where(r > 1e-12, -ratio / r, 0.0)
                jac[idx] = (factor * sign)[:, None] * dz[idx]
        rows = jac[self.used]
        priors = [np.eye(len(self.free))[j] / f.prior[1] for j, f in enumerate(self.free) if f.prior is not None]
        return np.vstack([rows, *priors]) if priors else rows

    # ----------------------------------------------------------------------------- pickling
    def __getstate__(self) -> dict:
        """The problem without its model, which is rebuilt by name in the receiving process
        (the generated code does not pickle): for multistart starts on other processes."""
        state = self.__dict__.copy()
        state["_last"] = {}  # (kept values: not worth sending)
        model = state.pop("model")
        state["_model_spec"] = _model_spec(model)
        return state

    def __setstate__(self, state: dict) -> None:
        spec = state.pop("_model_spec")
        self.__dict__.update(state)
        self.model = _model_from_spec(spec)

    @property
    def _sigma_is_cv(self) -> np.ndarray:
        return np.array([s.startswith("assumed") for s in self.sigma_source])

    @property
    def n_priors(self) -> int:
        return sum(f.prior is not None for f in self.free)


def spread_parameters(analytes: Sequence[str]) -> list[FreeParameter]:
    """The within-group coefficient of variation ``cv_<analyte>`` of each analyte of summary-level evidence,
    log-scale, with the prior and bounds of :data:`poi_ode.mbma.SPREAD_PRIOR`."""
    from ..mbma.objective import SPREAD_PRIOR

    lo, hi, med = (math.log10(SPREAD_PRIOR[k]) for k in ("lower", "upper", "median"))
    return [FreeParameter(f"cv_{a}", "shared", "1", "log", lo, hi, med, (med, float(SPREAD_PRIOR["sd_log10"])),
                          (SPREAD_PRIOR["lower"], SPREAD_PRIOR["upper"])) for a in analytes]


_SPEC_MODELS: dict[tuple, "Model"] = {}


def _model_spec(model: "Model") -> tuple:
    """(species, module names, compiled key, parameter values) of a model from ``load_model``."""
    from ..model import load_model

    pset = model.parameter_set
    if pset is None:
        raise ParameterError("a fit problem sent to another process needs a model with its parameter set")
    names = tuple(m.name for m in model.modules)
    spec = (pset.species, names, model.compiled.key, pset.vector(model).tobytes())
    if spec not in _SPEC_MODELS:
        try:
            again = load_model(pset.species, modules=list(names))
        except (PoiOdeError, KeyError, ValueError, TypeError) as exc:
            raise ParameterError(f"model {model.name!r} cannot be rebuilt in another process ({exc}): run serially")
        if again.compiled.key != model.compiled.key or again.require_parameter_set().vector(again).tobytes() != spec[3]:
            raise ParameterError(f"model {model.name!r} is not load_model({pset.species!r}, modules=...) with its "
                                 "bundled parameter set: it cannot be rebuilt in another process (run serially)")
        _SPEC_MODELS[spec] = model
    return spec


def _model_from_spec(spec: tuple) -> "Model":
    """The model of a spec from :func:`_model_spec`, built once per process."""
    from ..model import load_model

    if spec not in _SPEC_MODELS:
        model = load_model(spec[0], modules=list(spec[1]))
        if model.compiled.key != spec[2]:  # pragma: no cover - checked when pickled
            raise ParameterError(f"the {spec[0]} model rebuilt here differs from the one pickled")
        _SPEC_MODELS[spec] = model
    return _SPEC_MODELS[spec]


def _dimensions(unit: str, other: str) -> str:
    """`` (a [mass] / [length] ** 3 versus ...)`` for a message, or "" if a unit does not parse."""
    from ..units import dimensionality

    try:
        return f" ({dimensionality(unit)} versus {dimensionality(other)})"
    except PoiOdeError:
        return ""


def _sample_times(days: "Sequence[float] | pd.Series", regimen: Regimen) -> np.ndarray:
    """Simulation times of observations on the day axis: a sample taken at a dose time (after
    day 0) is taken before the dose."""
    dose_times = {d.time for d in regimen}
    return np.array([t - 1e-6 if (t in dose_times and t > 0) else t for t in days], dtype=float)


def _variable_at_state(model: "Model", var: str, y: np.ndarray, pset: ParameterSet) -> float:
    if var in model.index:
        return float(y[model.index[var]])
    c = model.compiled
    values = c.outputs(0.0, y, c.prepare(pset.vector(model)))
    return float(values[c.output_names.index(var)])


def _prior(fp: FreeParameter, spec: Mapping[str, float] | None, base: ParameterSet) -> tuple[float, float] | None:
    """(mean, sd) in the internal scale from ``{"mean", "sd"}`` (normal) or ``{"median", "sd_log10"}``."""
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise ParameterError(f"prior for {fp.name!r}: give a mapping (mean and sd, or median and sd_log10), not "
                             f"{spec!r}")
    for key, value in spec.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"prior for {fp.name!r}: {key} = {value!r} is not a number") from None
        if not math.isfinite(number) or (key in ("median", "sd", "sd_log10") and number <= 0):
            raise ParameterError(f"prior for {fp.name!r}: {key} = {value!r} must be a finite"
                                 + (" positive" if key != "mean" else "") + " number")
    if "median" in spec:
        if fp.scale != "log":
            raise ParameterError(f"prior for {fp.name!r}: a log-normal prior needs a log-scale parameter")
        return (math.log10(float(spec["median"])), float(spec["sd_log10"]))
    if "mean" in spec:
        if fp.scale == "log":
            raise ParameterError(f"prior for {fp.name!r}: give median and sd_log10 for a log-scale parameter")
        return (float(spec["mean"]), float(spec["sd"]))
    raise ParameterError(f"prior for {fp.name!r}: give mean and sd, or median and sd_log10")


def _sigmas(frame, error_model: str, sigma: Mapping[str, "float | str"]) -> tuple[np.ndarray, list[str]]:
    """Residual scale per observation: its standard error, else the assumed ``sigma`` of its
    analyte (``"*"``: any other analyte). An analyte whose sigma is ``"spread"`` uses the
    published between-subject spread instead (SD, or IQR / 1.349), where the row gives one: the
    scale for fitting a typical individual to population summaries.

    Log-normal: sigma_log = se / value (delta method) or ``sigma`` (a CV); proportional: se or
    ``sigma`` x prediction; additive: se or ``sigma`` x the mean observed value of the analyte.
    """
    se = column_values(frame, "se_std", float)
    spread = column_values(frame, "spread_std", float)
    value = column_values(frame, "value_std", float)
    out = np.empty(len(frame))
    source = []
    means = (frame.groupby("analyte")["value_std"].transform("mean").to_numpy(float) if error_model == "additive"
             else None)  # (the additive model's scale only)
    analytes = column_objects(frame, "analyte")
    for i in range(len(frame)):
        analyte = analytes[i]
        s = sigma.get(analyte, sigma.get("*"))
        if s == SPREAD and math.isfinite(spread[i]) and spread[i] > 0 and value[i] > 0:
            out[i] = spread[i] / value[i] if error_model == "lognormal" else spread[i]
            source.append("published between-subject spread")
            continue
        if math.isfinite(se[i]) and se[i] > 0 and value[i] > 0:
            out[i] = se[i] / value[i] if error_model == "lognormal" else se[i]
            source.append("standard error of the statistic")
            continue
        if s == SPREAD:
            s = sigma.get("*") if analyte in sigma else None
        if s is None or s == SPREAD:
            raise ParameterError(f"row {int(frame['row'].iloc[i])}: {analyte} has no standard error and sigma "
                                 f"gives no number for it: add sigma[{analyte!r}] (or a '*' default)")
        out[i] = s * max(means[i], 1e-12) if means is not None else s
        source.append(f"assumed ({error_model}, sigma={s:g})")
    return out, source

"""PEtab (v1) export of a calibration problem, and its import back into poi_ode.

:func:`to_petab` writes the SBML model, conditions, measurements, observables, parameters and
the problem YAML, readable by PEtab tools. Each study arm becomes a condition. Its day-0 state
(steady state at the nominal parameters, plus day-0 doses) is set in the condition table; later
doses are SBML events whose amounts are condition parameters (0 where an arm has no such dose).
Limits of PEtab v1, said when they apply: censored values and proportional error models are not
expressible and are refused with the rows named; per-study assay scales are not exported.
Besides the PEtab columns, the measurement table carries the dataset's descriptive columns
(``study_id, arm, subject, species, statistic, n, age_years``, provenance), the arm's regimen and
initial state as written and the source of each noise value; the observable table carries
``analyte`` and ``unit``; the condition table names each arm (``conditionName``). PEtab tools
ignore these columns. Free parameters come first in the parameter table, in the fit's order,
with their priors as ``parameterScaleNormal`` objective priors.

:func:`from_petab` reads such a problem back (:class:`PetabProblem`): a dataset in poi_ode's
format, the parameter values, bounds, scales and estimate flags, and per-arm regimens rebuilt
from the condition table and the dose events, ready for :func:`poi_ode.fit`. Every table is
validated; a problem names the file, its row (1 = header, data from 2, as in
:func:`poi_ode.read_dataset`) or id, and the column. PEtab features that :func:`to_petab` does
not write are refused as "not supported" rather than misread.
"""
from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data import Dataset, DatasetError, Problem, analyte_name, to_float
from ..errors import PoiOdeError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..dosing import Regimen
    from ..fitting.problem import FitProblem
    from ..fitting.result import FitResult
    from ..model.core import Model
    from ..parameters import ParameterSet

__all__ = ["PetabProblem", "from_petab", "petab_chi2", "to_petab"]

MEASUREMENT_COLUMNS = ("observableId", "preequilibrationConditionId", "simulationConditionId", "measurement", "time",
                       "observableParameters", "noiseParameters", "datasetId", "replicateId")
"""The columns PEtab v1 defines for the measurement table."""
_NOT_CARRIED = ("time_days", "value", "unit", "analyte", "spread_type", "spread", "censored", "regimen", "initial",
                "row", "value_std", "spread_std", "se_std", "unit_std")
"""Dataset columns that PEtab expresses itself (or that are rebuilt): not carried as extra columns."""
_BEFORE_DOSE = 1e-6
"""A sample taken at a dose time is simulated this long before the dose (as in FitProblem)."""


def _id(text: str) -> str:
    out = re.sub(r"\W", "_", text)
    return out if re.match(r"[A-Za-z_]", out) else f"c_{out}"


def _number_text(x: float) -> str:
    short = f"{x:g}"
    return short if float(short) == x else repr(float(x))


def regimen_text(regimen: Regimen) -> str:
    """A regimen as dataset text ``DAY:AGENT:AMOUNT:UNIT[:ROUTE]; ...``, numbers exact."""
    return "; ".join(f"{_number_text(d.time)}:{d.agent}:{_number_text(d.amount)}:{d.unit}"
                     + (f":{d.route}" if d.route else "") for d in regimen)


def to_petab(
    model: Model,
    data: Dataset,
    folder: str | Path,
    free: Sequence[str] | None = None,
    *,
    result: FitResult | None = None,
    error_model: str = "lognormal",
    sigma: float = 0.3,
    regimens: Mapping[str, str] | None = None,
    initial: Mapping[str, Any] | str | None = None,
) -> Path:
    """Write the PEtab problem of fitting ``model`` to ``data``; return the YAML path.

    Parameters
    ----------
    model, data, free, error_model, sigma, regimens, initial
        As in :func:`poi_ode.fit` (``error_model`` "lognormal" or "additive").
    folder : str or Path
        Created if needed; receives ``problem.yaml``, ``model.xml`` and four ``.tsv`` tables.
    result : FitResult, optional
        Its estimates become the nominal values (so PEtab tools evaluate the objective at our
        optimum); otherwise the model's values.

    Returns
    -------
    Path
        The problem YAML; :func:`from_petab` reads it back.
    """
    import pandas as pd

    from ..fitting.problem import FitProblem
    from ..simulate import initial_state
    from ..units import conversion_factor
    from .sbml import _libsbml, add_dose_event, to_sbml

    if not isinstance(data, Dataset):
        raise PoiOdeError(f"to_petab needs a Dataset of measurements, got {type(data).__name__}: PEtab v1 holds time "
                          "courses, so an evidence calibration (pooled effects; a fit config with [evidence]) has no "
                          "PEtab form")
    if error_model not in ("lognormal", "additive"):
        raise PoiOdeError(f"PEtab v1 cannot express the {error_model!r} error model; use lognormal or additive")
    problem = FitProblem.build(model, data, free, error_model=error_model, sigma=sigma, regimens=regimens,
                               initial=initial)
    censored = np.flatnonzero(problem.censored != 0)
    if censored.size:
        listed = ", ".join(str(int(data.frame["row"].iloc[i])) for i in censored)
        raise PoiOdeError(f"PEtab v1 has no censored measurements: rows {listed} are censored")
    if any(k for arm in problem.arms for k in arm.scale_keys):
        raise PoiOdeError("per-study assay scales are not exported to PEtab")
    if any(r for arm in problem.arms for r in arm.references):
        raise PoiOdeError("relative values (a reference_arm) are not exported to PEtab: its observables are one arm's")
    on_age_axis = [arm.label for arm in problem.arms if arm.age_axis]
    if on_age_axis:
        raise PoiOdeError(f"arms on the age axis ({', '.join(on_age_axis)}) are not exported to PEtab yet: their "
                          "initial state is integrated from birth, which the exported conditions do not express")
    own = model.require_parameter_set()
    base = result.parameter_set(own) if result is not None else own
    p = base.vector(model)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    # doses after day 0: one event per time, one amount parameter per (time, state)
    events: dict[tuple[float, int], str] = {}
    arm_doses = []
    for arm in problem.arms:
        resolved = arm.regimen.resolve(model, p)
        arm_doses.append(resolved)
        for r in resolved:
            if r.time > 0 and (r.time, r.state) not in events:
                events[(r.time, r.state)] = f"dose_{len(events)}_{model.states[r.state].name}"

    libsbml = _libsbml()
    doc = libsbml.readSBMLFromString(to_sbml(model, None, base, initial={s: 0.0 for s in model.state_names}))
    sbml = doc.getModel()
    for (time, state), pid in events.items():
        par = sbml.createParameter()
        par.setId(pid)
        par.setValue(0.0)
        par.setConstant(True)
    for k, time in enumerate(sorted({t for t, _ in events})):
        add_dose_event(sbml, f"dose_event_{k}", time,
                       {model.states[state].name: pid for (t, state), pid in events.items() if t == time})
    (folder / "model.xml").write_text(libsbml.writeSBMLToString(doc), encoding="utf-8")

    conditions = []
    for arm, resolved in zip(problem.arms, arm_doses):
        pset = base
        y0 = initial_state(model, arm.initial if arm.initial != "first_observation"
                           else problem._first_observation_state(arm, pset), pset, arm.age).copy()
        for r in resolved:
            if r.time == 0.0:
                y0[r.state] += r.amount
        condition: dict[str, Any] = {"conditionId": _id(arm.label), "conditionName": arm.label}
        condition.update({s: float(v) for s, v in zip(model.state_names, y0)})
        condition.update({pid: 0.0 for pid in events.values()})
        for r in resolved:
            if r.time > 0:
                condition[events[(r.time, r.state)]] += r.amount
        conditions.append(condition)
    pd.DataFrame(conditions).to_csv(folder / "conditions.tsv", sep="\t", index=False)

    frame = data.frame
    carried = [c for c in frame.columns if c not in _NOT_CARRIED and c not in MEASUREMENT_COLUMNS]
    where = {int(row): (arm, k) for arm in problem.arms for k, row in enumerate(arm.rows)}
    observables, measurements = {}, []
    for row in np.flatnonzero(problem.used):  # in the dataset's order
        arm, k = where[int(row)]
        analyte, unit = frame["analyte"].iloc[row], frame["unit_std"].iloc[row]
        oid = f"obs_{analyte}_{_id(unit)}"
        observables[oid] = {
            "observableId": oid,
            "observableFormula": f"{float(arm.factors[k])!r} * {arm.variables[k]}",
            "observableTransformation": "log" if error_model == "lognormal" else "lin",
            "noiseFormula": f"noiseParameter1_{oid}",
            "noiseDistribution": "normal",
            "analyte": analyte,
            "unit": unit,
        }
        measurements.append(dict(
            observableId=oid, simulationConditionId=_id(arm.label), measurement=float(problem.observed[row]),
            time=float(arm.times[arm.time_index[k]]), noiseParameters=float(problem.sigma[row]),
            datasetId=_id(arm.label), **{c: frame[c].iloc[row] for c in carried},
            regimen=regimen_text(arm.regimen), initial=arm.initial if isinstance(arm.initial, str) else "",
            sigma_source=problem.sigma_source[row],
        ))
    pd.DataFrame(list(observables.values())).to_csv(folder / "observables.tsv", sep="\t", index=False)
    pd.DataFrame(measurements).to_csv(folder / "measurements.tsv", sep="\t", index=False)

    free_params = {f.name: f for f in problem.free}
    rows = []
    rank = {name: k for k, name in enumerate(free_params)}  # the free ones first, in the fit's order
    for decl, value in sorted(zip(model.parameters, p), key=lambda dv: rank.get(dv[0].name, len(rank))):
        q = base[decl.name]
        factor = conversion_factor(q.unit, decl.unit)
        log = q.scale == "log"
        rows.append({
            "parameterId": decl.name, "parameterName": decl.description, "parameterScale": "log10" if log else "lin",
            "lowerBound": q.lower * factor, "upperBound": q.upper * factor, "nominalValue": float(value),
            "estimate": int(decl.name in free_params),
        })
        prior = free_params[decl.name].prior if decl.name in free_params else None
        if prior is not None:  # (mean, sd) on the parameter scale, moved to the model's unit
            mean, sd = (prior[0] + math.log10(factor), prior[1]) if log else (prior[0] * factor, prior[1] * factor)
            rows[-1].update(objectivePriorType="parameterScaleNormal", objectivePriorParameters=f"{mean!r};{sd!r}")
    pd.DataFrame(rows).to_csv(folder / "parameters.tsv", sep="\t", index=False)
    yaml = folder / "problem.yaml"
    yaml.write_text(
        "format_version: 1\n"
        "parameter_file: parameters.tsv\n"
        "problems:\n"
        "- condition_files: [conditions.tsv]\n"
        "  measurement_files: [measurements.tsv]\n"
        "  observable_files: [observables.tsv]\n"
        "  sbml_files: [model.xml]\n",
        encoding="utf-8",
    )
    return yaml


def petab_chi2(yaml: str | Path) -> dict[str, float]:
    """The objective of a PEtab problem at its nominal values, computed independently of poi_ode.

    Each condition is simulated by libRoadRunner on the exported SBML (condition values set
    as initial amounts and event parameters), the observables are evaluated from their
    formulas, and PEtab's own ``calculate_llh`` gives the log-likelihood. Returned: ``llh``
    and ``chi2`` = -2 llh minus the normalising terms (comparable with poi_ode's chi2).
    Needs the extras ``sbml`` and ``petab``.
    """
    import petab.v1 as petab
    import roadrunner
    import sympy as sp

    problem = petab.Problem.from_yaml(str(yaml))
    sbml_text = (Path(yaml).parent / "model.xml").read_text(encoding="utf-8")
    rr = roadrunner.RoadRunner(sbml_text)
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-14
    rr.integrator.setValue("maximum_num_steps", 200000)
    species = set(rr.model.getFloatingSpeciesIds())
    observables = problem.observable_df
    measurements = problem.measurement_df
    simulation = measurements.rename(columns={"measurement": "simulation"}).copy()
    for cid, condition in problem.condition_df.iterrows():
        rr.resetAll()
        for col, value in condition.drop("conditionName", errors="ignore").items():
            rr.model[f"init({col})" if col in species else col] = float(value)
        rr.reset()
        rows = measurements[measurements["simulationConditionId"] == cid]
        times = np.unique(np.r_[0.0, rows["time"].to_numpy(float)])
        formulas = {oid: sp.sympify(observables.loc[oid, "observableFormula"]) for oid in set(rows["observableId"])}
        names = sorted({str(s) for f in formulas.values() for s in f.free_symbols})
        out = rr.simulate(times=times, selections=["time", *names])
        for i, row in rows.iterrows():
            k = int(np.argmin(np.abs(times - row["time"])))
            values = {sp.Symbol(n): out[k, j + 1] for j, n in enumerate(names)}
            simulation.loc[i, "simulation"] = float(formulas[row["observableId"]].subs(values))
    llh = petab.calculate_llh(measurements, simulation, observables, problem.parameter_df)
    sigma = measurements["noiseParameters"].to_numpy(float)
    value = measurements["measurement"].to_numpy(float)
    log_scale = observables.loc[measurements["observableId"], "observableTransformation"].to_numpy() == "log"
    normaliser = np.log(2 * np.pi * sigma**2 * np.where(log_scale, value**2, 1.0)).sum()
    return {"llh": float(llh), "chi2": float(-2 * llh - normaliser)}


# ------------------------------------------------------------------------------------ import
@dataclass
class PetabProblem:
    """A PEtab problem read back by :func:`from_petab`, ready for :func:`poi_ode.fit`.

    Attributes
    ----------
    source : Path
        The problem YAML.
    model : Model
        A copy of the model whose parameter set holds the PEtab nominal values, bounds, scales
        (``log`` and ``log10`` both become poi_ode's log scale) and priors, in the set's units.
    dataset : Dataset
        One row per measurement, in the measurement table's order, validated like any dataset.
        ``value`` and ``unit`` are the measurement in the observable's standard unit; the noise
        parameter becomes the standard error (``spread_type`` SEM, ``n`` 1 where the table
        carries none) unless the noise was an assumed sigma (then no spread, and :attr:`sigma`);
        ``regimen`` and ``initial`` are rebuilt from the conditions and dose events; the extra
        columns that :func:`to_petab` writes (study, arm, subject, provenance) come back as they
        were, and ``imported_from`` names the file and row of each measurement.
    parameters : pandas.DataFrame
        The parameter table, indexed by ``parameterId``: ``scale`` (as PEtab writes it),
        ``lower``, ``upper``, ``nominal`` (in the model's declared units) and ``estimate``.
    error_model : str
        "lognormal" (log-transformed observables) or "additive".
    sigma : float
        The assumed residual scale of rows without a standard error.
    regimens : dict of str to Regimen
        Per arm (``study/arm`` or ``study/arm/subject``), every dose including day 0.
    initial : dict
        Per arm: "healthy" or "poi" when the condition's day-0 state is that state plus the
        day-0 doses, else the condition's state itself (a mapping of state values).
    """

    source: Path
    model: Model
    dataset: Dataset
    parameters: pd.DataFrame
    error_model: str
    sigma: float
    regimens: dict[str, Regimen]
    initial: dict[str, Any]

    @property
    def free(self) -> list[str]:
        """The estimated parameters, in table order."""
        return [str(n) for n in self.parameters.index[self.parameters["estimate"] == 1]]

    @property
    def fixed(self) -> dict[str, float]:
        """Values of the parameters that are not estimated (model units)."""
        fixed = self.parameters[self.parameters["estimate"] == 0]
        return {str(n): float(v) for n, v in fixed["nominal"].items()}

    @property
    def fit_arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`poi_ode.fit` (with :attr:`model` and :attr:`dataset`)."""
        from ..data import iter_arms

        explicit = {}
        for (study, arm, subject), _ in iter_arms(self.dataset):
            init = self.initial["/".join(x for x in (study, arm, subject) if x)]
            if not isinstance(init, str):
                explicit[f"{study}/{arm}"] = init
        return {"free": self.free, "error_model": self.error_model, "sigma": self.sigma, "initial": explicit or None}

    def fit(self, **options: Any) -> FitResult:
        """Fit the imported problem with :func:`poi_ode.fit`; ``options`` add to or override
        :attr:`fit_arguments`."""
        from ..fitting import fit

        return fit(self.model, self.dataset, **{**self.fit_arguments, **options})

    def fit_problem(self, **options: Any) -> FitProblem:
        """The :class:`~poi_ode.fitting.problem.FitProblem` of the imported problem (to
        evaluate residuals or chi2 at given parameters)."""
        from ..fitting.problem import FitProblem

        return FitProblem.build(self.model, self.dataset, **{**self.fit_arguments, **options})


@dataclass
class _Sbml:
    model_id: str
    species: dict[str, float]  # initial amounts
    parameters: dict[str, float]
    events: list[tuple[float, dict[str, str]]]  # (time, {state: amount parameter})


@dataclass
class _Condition:
    y0: np.ndarray
    doses: dict[str, float]  # event amount parameter -> value


def _fail(problems: list[Problem], source: str) -> None:
    if problems:
        raise DatasetError(problems, source)


def _locate(folder_or_yaml: str | Path) -> tuple[Path, dict[str, Path]]:
    """The YAML and the files it names (parameter, condition, measurement, observable, sbml)."""
    try:
        import yaml
    except ImportError:
        raise PoiOdeError("reading PEtab needs PyYAML: pip install 'poi_ode[petab]'") from None

    path = Path(folder_or_yaml)
    if path.is_dir():
        found = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if len(found) != 1:
            raise DatasetError([Problem(None, None, f"expected one PEtab YAML file in the folder, found {len(found)}")],
                               path.name)
        path = found[0]
    if not path.is_file():
        raise DatasetError([Problem(None, None, "file not found")], path.name)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DatasetError([Problem(None, None, f"not readable YAML: {exc}")], path.name) from None
    if not isinstance(spec, dict):
        raise DatasetError([Problem(None, None, "not a PEtab problem (no mapping of keys)")], path.name)
    problems: list[Problem] = []
    files: dict[str, Path] = {}

    def one(kind: str, value: Any, key: str) -> None:
        items = value if isinstance(value, list) else [value] if value else []
        if len(items) != 1:
            problems.append(Problem(None, None, f"{key}: " + ("missing" if not items else
                                                               f"not supported: {len(items)} files (only one)")))
        elif not (path.parent / str(items[0])).is_file():
            problems.append(Problem(None, None, f"{key}: points to a missing file {items[0]!r}"))
        else:
            files[kind] = path.parent / str(items[0])

    if str(spec.get("format_version")) not in ("1", "1.0.0"):
        version = spec.get("format_version")
        problems.append(Problem(None, None, f"format_version: not supported: {version!r} (PEtab v1 only)"))
    one("parameter", spec.get("parameter_file"), "parameter_file")
    subs = spec.get("problems") or []
    if not isinstance(subs, list) or len(subs) != 1 or not isinstance(subs[0], dict):
        several = isinstance(subs, list) and len(subs) > 1
        problems.append(Problem(None, None, f"problems: not supported: {len(subs)} problems (only one)" if several
                                else "problems: missing"))
    else:
        for kind in ("condition", "measurement", "observable", "sbml"):
            one(kind, subs[0].get(f"{kind}_files"), f"problems[0].{kind}_files")
        if subs[0].get("mapping_files"):
            problems.append(Problem(None, None, "problems[0].mapping_files: not supported"))
    _fail(problems, path.name)
    return path, files


def _table(path: Path, required: Sequence[str], ours: Sequence[str] = ()) -> pd.DataFrame:
    """A TSV table as stripped text; missing required columns raise at once."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DatasetError([Problem(None, None, f"not a readable TSV table: {exc}")], path.name) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.apply(lambda col: col.str.strip())
    problems = [Problem(None, c, "required column is missing") for c in required if c not in frame.columns]
    problems += [Problem(None, c, "column missing (poi_ode's to_petab writes it)")
                 for c in ours if c not in frame.columns]
    if frame.empty:
        problems.append(Problem(None, None, "the table has no rows"))
    _fail(problems, path.name)
    return frame


def _ids(frame: pd.DataFrame, column: str) -> list[Problem]:
    """Empty and duplicated ids (every repeat after the first)."""
    out = [Problem(i + 2, column, "empty id") for i in np.flatnonzero(frame[column].to_numpy() == "")]
    dup = frame[column].duplicated(keep="first").to_numpy() & (frame[column].to_numpy() != "")
    return out + [Problem(i + 2, column, f"duplicated id {frame[column].iloc[i]!r}") for i in np.flatnonzero(dup)]


def _finite(raw: str) -> float | None:
    value = to_float(raw)
    return value if value is not None and math.isfinite(value) else None


def _read_sbml(path: Path) -> _Sbml:
    from .sbml import _libsbml

    libsbml = _libsbml()
    doc = libsbml.readSBMLFromFile(str(path))
    sbml = doc.getModel()
    if sbml is None or doc.getNumErrors(libsbml.LIBSBML_SEV_FATAL) or doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR):
        message = doc.getError(0).getMessage().strip() if doc.getNumErrors() else "no model"
        raise DatasetError([Problem(None, None, f"not readable SBML: {message}")], path.name)
    parameters = {q.getId(): q.getValue() for q in sbml.getListOfParameters()}
    events, problems = [], []
    for ev in sbml.getListOfEvents():
        trigger = libsbml.formulaToL3String(ev.getTrigger().getMath()) if ev.isSetTrigger() else ""
        when = re.fullmatch(r"time >= (\S+)", trigger or "")
        amounts = {}
        for ea in ev.getListOfEventAssignments():
            added = re.fullmatch(rf"{re.escape(ea.getVariable())} \+ (\w+)", libsbml.formulaToL3String(ea.getMath()))
            if added is None or added.group(1) not in parameters:
                break
            amounts[ea.getVariable()] = added.group(1)
        else:
            if when and _finite(when.group(1)) is not None and not ev.isSetDelay():
                events.append((float(when.group(1)), amounts))
                continue
        problems.append(Problem(None, None, f"event {ev.getId()!r}: not supported (only dose events "
                                            "'time >= T' that add a parameter to species)"))
    _fail(problems, path.name)
    species = {s.getId(): s.getInitialAmount() for s in sbml.getListOfSpecies()}
    return _Sbml(sbml.getId(), species, parameters, events)


def _check_sbml(sbml: _Sbml, model: Model, name: str) -> None:
    problems = []
    missing, extra = set(model.state_names) - set(sbml.species), set(sbml.species) - set(model.state_names)
    if missing or extra:
        parts = [f"{what} {sorted(names)}" for what, names in (("missing", missing), ("not in the model", extra))
                 if names]
        problems.append(Problem(None, None, f"species do not match the states of model {model.name!r}: "
                                            + ", ".join(parts)))
    dosed = {d.state for d in model.dose_targets}
    for time, amounts in sbml.events:
        for state in set(amounts) - dosed:
            problems.append(Problem(None, None, f"dose event at time {time:g}: not supported: it adds to "
                                                f"{state!r}, which no agent of model {model.name!r} doses"))
    _fail(problems, name)


def _parameters(frame: pd.DataFrame, model: Model, name: str) -> tuple[pd.DataFrame, ParameterSet]:
    """The parameter table, checked, and the parameter set it defines (in the set's units)."""
    import pandas as pd

    from ..units import conversion_factor

    problems = _ids(frame, "parameterId")
    known = set(model.parameter_names)
    table: dict[str, dict[str, Any]] = {}
    priors: dict[str, list[float]] = {}
    for i, row in frame.iterrows():
        r, pid = int(i) + 2, row["parameterId"]

        def bad(column: str, message: str, r: int = r, pid: str = pid) -> None:
            problems.append(Problem(r, column, f"parameterId {pid!r}: {message}"))

        if pid not in known:
            bad("parameterId", f"unknown: not a parameter of model {model.name!r}")
            continue
        scale, estimate = row["parameterScale"], row["estimate"]
        if scale not in ("lin", "log", "log10"):
            bad("parameterScale", f"{scale!r} is not one of lin, log, log10")
        if estimate not in ("0", "1"):
            bad("estimate", f"{estimate!r} is not 0 or 1")
        values = {c: _finite(row[c]) for c in ("lowerBound", "upperBound", "nominalValue")}
        for c, v in values.items():
            if v is None:
                bad(c, f"{row[c]!r} is not a finite number")
        lo, hi, nominal = values.values()
        if lo is not None and hi is not None:
            if lo > hi or (lo == hi and estimate == "1"):
                bad("upperBound", f"lowerBound {lo:g} >= upperBound {hi:g}")
            elif nominal is not None and not lo <= nominal <= hi:
                bad("nominalValue", f"nominal value {nominal:g} is outside the bounds [{lo:g}, {hi:g}]")
            if scale in ("log", "log10") and lo <= 0:
                bad("lowerBound", f"a {scale}-scale parameter needs a positive lowerBound, not {lo:g}")
        if nominal is not None and nominal < 0:
            bad("nominalValue", f"nominal value {nominal:g} is negative")
        kind = row.get("objectivePriorType", "")
        if kind and estimate == "1":
            spec = [_finite(x) for x in row.get("objectivePriorParameters", "").split(";")]
            if kind != "parameterScaleNormal":
                bad("objectivePriorType", f"not supported: {kind!r} (only parameterScaleNormal)")
            elif len(spec) != 2 or spec[0] is None or spec[1] is None or spec[1] <= 0:
                bad("objectivePriorParameters", "expected 'mean;sd' with sd > 0")
            else:
                priors[pid] = [spec[0], spec[1]]
        table[pid] = {"scale": scale, "lower": lo, "upper": hi, "nominal": nominal, "estimate": int(estimate == "1")}
    for pid in sorted(known - set(frame["parameterId"])):
        problems.append(Problem(None, "parameterId", f"model parameter {pid!r} is missing"))
    _fail(problems, name)

    base = model.require_parameter_set()
    changed = {}
    for decl in model.parameters:
        q, row = base[decl.name], table[decl.name]
        f = conversion_factor(q.unit, decl.unit)
        prior = None
        if decl.name in priors:
            mean, sd = priors[decl.name]
            prior = ({"mean": mean / f, "sd": sd / f} if row["scale"] == "lin" else
                     {"median": 10**mean / f, "sd_log10": sd} if row["scale"] == "log10" else
                     {"median": math.exp(mean) / f, "sd_log10": sd / math.log(10)})
        changed[decl.name] = replace(q, value=row["nominal"] / f, lower=row["lower"] / f, upper=row["upper"] / f,
                                     scale="lin" if row["scale"] == "lin" else "log", prior=prior)
    pset = replace(base, parameters={**base.parameters, **changed}, description=f"imported from PEtab ({name})")
    try:
        pset.check_against(model)
    except PoiOdeError as exc:
        raise DatasetError([Problem(None, None, str(exc))], name) from None
    return pd.DataFrame.from_dict(table, orient="index").rename_axis("parameterId"), pset


def _observables(frame: pd.DataFrame, model: Model, name: str) -> dict[str, tuple[str, str]]:
    """Observable id -> (analyte, standard unit); checks formulas, noise and transformations."""
    from ..observe import observable

    problems = _ids(frame, "observableId")
    out = {}
    for i, row in frame.iterrows():
        r, oid = int(i) + 2, row["observableId"]

        def bad(column: str, message: str, r: int = r, oid: str = oid) -> None:
            problems.append(Problem(r, column, f"observableId {oid!r}: {message}"))

        if (row.get("observableTransformation") or "lin") not in ("lin", "log"):
            bad("observableTransformation", f"not supported: {row['observableTransformation']!r} (only lin and log)")
        if (row.get("noiseDistribution") or "normal") != "normal":
            bad("noiseDistribution", f"not supported: {row['noiseDistribution']!r} (only normal, "
                                     "on the lin or log scale)")
        if row["noiseFormula"] != f"noiseParameter1_{oid}":
            bad("noiseFormula", f"not understood: {row['noiseFormula']!r} (expected noiseParameter1_{oid})")
        analyte, unit = analyte_name(row["analyte"]), row["unit"]
        read = re.fullmatch(r"(?:(\S+)\s*\*\s*)?([A-Za-z_]\w*)", row["observableFormula"])
        factor = _finite(read.group(1) or "1") if read else None
        if analyte is None:
            bad("analyte", f"unknown analyte {row['analyte']!r}")
        elif read is None or factor is None:
            bad("observableFormula", f"not understood: {row['observableFormula']!r} (expected FACTOR * VARIABLE)")
        else:
            try:
                ob = observable(model, analyte, unit)
            except PoiOdeError as exc:
                bad("unit", str(exc))
            else:
                if ob.needs_scale:
                    bad("analyte", f"not supported: {analyte} needs an assay scale")
                elif read.group(2) != ob.variable or not math.isclose(factor, ob.factor, rel_tol=1e-12):
                    bad("observableFormula", f"{row['observableFormula']!r} does not read {analyte} in {unit} "
                                             f"(expected {ob.factor!r} * {ob.variable})")
        if analyte is not None:  # else a problem is listed, and _fail raises below
            out[oid] = (analyte, unit)
    if len({row.get("observableTransformation") or "lin" for _, row in frame.iterrows()}) > 1:
        problems.append(Problem(None, "observableTransformation", "not supported: lin and log observables together "
                                                                  "(poi_ode fits one error model)"))
    _fail(problems, name)
    return out


def _conditions(frame: pd.DataFrame, sbml: _Sbml, model: Model, name: str) -> dict[str, _Condition]:
    problems = _ids(frame, "conditionId")
    amounts = {pid for _, added in sbml.events for pid in added.values()}
    columns = []
    for c in frame.columns.drop(["conditionId", "conditionName"], errors="ignore"):
        if c in model.index or c in amounts:
            columns.append(c)
        elif c in model.parameter_names:
            problems.append(Problem(None, c, "not supported: per-condition parameter values"))
        else:
            problems.append(Problem(None, c, "unknown column: neither a species nor a dose-event parameter"))
    out = {}
    for i, row in frame.iterrows():
        values = {}
        for c in columns:
            v = _finite(row[c])
            if v is None or v < 0:
                problems.append(Problem(int(i) + 2, c, f"conditionId {row['conditionId']!r}: {row[c]!r} is not "
                                                       "a finite number >= 0"))
            else:
                values[c] = v
        y0 = np.array([values.get(s, sbml.species[s]) for s in model.state_names], dtype=float)
        doses = {pid: values.get(pid, sbml.parameters[pid]) for pid in amounts}
        out[row["conditionId"]] = _Condition(y0, doses)
    _fail(problems, name)
    return out


def _measurement_problems(frame: pd.DataFrame, observables: Mapping[str, Any], conditions: Mapping[str, Any],
                          parameter_ids: set[str], log: bool, species: str) -> list[Problem]:
    problems = []
    for i, row in frame.iterrows():
        r = int(i) + 2

        def bad(column: str, message: str, r: int = r) -> None:
            problems.append(Problem(r, column, message))

        if row["observableId"] not in observables:
            bad("observableId", f"unknown observableId {row['observableId']!r} (not in the observable table)")
        if row["simulationConditionId"] not in conditions:
            bad("simulationConditionId", f"unknown conditionId {row['simulationConditionId']!r} "
                                         "(not in the condition table)")
        for column, feature in (("preequilibrationConditionId", "preequilibration conditions"),
                                ("observableParameters", "observable parameters")):
            if row.get(column):
                bad(column, f"not supported: {feature} ({row[column]!r})")
        value, time = to_float(row["measurement"]), to_float(row["time"])
        if value is None or not math.isfinite(value):
            bad("measurement", f"{row['measurement']!r} is not a number")
        elif value < 0 or (log and value == 0):
            bad("measurement", f"{value:g} is negative" if value < 0 else "0 cannot enter a log-transformed observable")
        if time is not None and math.isinf(time) and time > 0:
            bad("time", "not supported: steady-state measurements (time inf)")
        elif time is None or not math.isfinite(time):
            bad("time", f"{row['time']!r} is not a number")
        elif time < 0:
            bad("time", f"time {time:g} is negative")
        noise = to_float(row["noiseParameters"])
        if noise is None:
            bad("noiseParameters", "empty: a numeric noise parameter is needed")
        elif math.isnan(noise):
            ids = row["noiseParameters"].split(";")
            unknown = [x for x in ids if x not in parameter_ids]
            bad("noiseParameters", f"unknown parameterId {unknown[0]!r}" if unknown else
                f"not supported: estimated noise parameters ({row['noiseParameters']!r})")
        elif not (math.isfinite(noise) and noise > 0):
            bad("noiseParameters", f"noise {noise:g} is not a positive number")
        if row.get("species", species) not in ("", species):
            bad("species", f"{row['species']!r} is not the model's species ({species})")
    return problems


def _split_initial(model: Model, pset: ParameterSet, y0: np.ndarray, hint: str,
                   age: float | None) -> tuple[Any, dict[int, float]]:
    """The named initial state ("healthy" or "poi") that ``y0`` is plus day-0 doses, else ``y0``
    as a mapping with the dosed states emptied; and the day-0 amount of each dosed state."""
    from ..simulate import initial_state

    dosed = np.zeros(len(y0), bool)
    dosed[[model.index[d.state] for d in model.dose_targets]] = True
    for init in dict.fromkeys([hint, "healthy", "poi"]):
        if init not in ("healthy", "poi"):
            continue
        try:
            base = initial_state(model, init, pset, age)
        except PoiOdeError:
            continue
        diff = y0 - base
        tol = 1e-7 * np.maximum(np.abs(y0), np.abs(base)) + 1e-12
        if np.all(np.abs(diff[~dosed]) <= tol[~dosed]) and np.all(diff[dosed] >= -tol[dosed]):
            return init, {int(k): float(diff[k]) for k in np.flatnonzero(dosed & (diff > tol))}
    # no named state: what dosed states hold at day 0 was dosed then (no analyte reads them)
    doses = {int(k): float(y0[k]) for k in np.flatnonzero(dosed & (y0 > 0))}
    return {s: 0.0 if d else float(v) for s, v, d in zip(model.state_names, y0, dosed)}, doses


def _regimen(model: Model, pset: ParameterSet, doses: Mapping[tuple[float, int], float], hint: str) -> Regimen:
    """Doses giving these state amounts: the arm's regimen as written where it agrees, else
    each state's default agent, route and unit."""
    from ..data import parse_regimen
    from ..dosing import Dose, Regimen

    p = pset.vector(model)
    written: dict[tuple[float, int], tuple[float, list[Dose]]] = {}
    try:
        for r in parse_regimen(hint).resolve(model, p):
            key = (round(r.time, 9), r.state)
            total, group = written.get(key, (0.0, []))
            written[key] = (total + r.amount, [*group, r.dose])
    except PoiOdeError:  # an unreadable hint is ignored: the PEtab doses decide
        written = {}
    out = []
    for (time, state), amount in sorted(doses.items()):
        total, group = written.get((round(time, 9), state), (math.nan, []))
        if math.isclose(total, amount, rel_tol=1e-9):
            out += group
            continue
        targets = [d for d in model.dose_targets if model.index[d.state] == state]
        target = next((d for d in targets if d.default_route), targets[0])
        per_unit = Regimen([Dose(time, target.agent, 1.0, target.unit, target.route)]).resolve(model, p)[0].amount
        out.append(Dose(time, target.agent, amount / per_unit, target.unit, target.route))
    return Regimen(out)


def from_petab(folder_or_yaml: str | Path, model: Model | None = None) -> PetabProblem:
    """Read a PEtab v1 problem written by :func:`to_petab` back into poi_ode.

    Parameters
    ----------
    folder_or_yaml : str or Path
        The problem YAML, or a folder holding exactly one.
    model : Model, optional
        The model the problem was written for; default: the bundled model of the species
        named in the measurement table (or by the SBML model id). Its states must be the SBML
        species.

    Returns
    -------
    PetabProblem
        Dataset, parameters, regimens and initial states; ``.fit()`` fits it, and at the same
        parameters its chi2 equals the original problem's.

    Notes
    -----
    A condition whose day-0 state is the "healthy" (or "poi") state at the nominal values plus
    doses becomes that initial state and day-0 doses, so the state is recomputed at every
    parameter value as in the original fit. Otherwise (an edited table) the day-0 state is
    kept as the table gives it, as PEtab tools use it. Doses are told by the arm's regimen as
    written where it gives the same amounts, else by the default agent, route and unit of the
    dosed state.

    Raises
    ------
    DatasetError
        Naming the file, row (1 = header, data from 2) or id, and column of every problem of a
        table: a missing file, table or column, an unknown or duplicated id, a value that is
        not a number or is negative, a noise formula not understood, a parameter scale other
        than lin/log/log10, bounds in the wrong order or a nominal value outside them, SBML
        species that do not match the model, and PEtab features poi_ode does not support
        ("not supported: ...").
    """
    import pandas as pd

    from ..data import ARM, OBSERVATION, REQUIRED, read_dataset

    yaml, files = _locate(folder_or_yaml)
    name = {kind: path.name for kind, path in files.items()}
    sbml = _read_sbml(files["sbml"])
    measured = _table(files["measurement"], ("observableId", "simulationConditionId", "measurement", "time",
                                              "noiseParameters"))
    observed = _table(files["observable"], ("observableId", "observableFormula", "noiseFormula"), ("analyte", "unit"))
    conditioned = _table(files["condition"], ("conditionId",))
    parametrised = _table(files["parameter"], ("parameterId", "parameterScale", "lowerBound", "upperBound",
                                               "nominalValue", "estimate"))
    if model is None:
        from ..model import load_model
        from ..parameters import available_species

        species = next((s for s in measured.get("species", []) if s), sbml.model_id.removeprefix("poi_ode_"))
        if species not in available_species():
            raise DatasetError([Problem(None, None, f"cannot tell the model (species {species!r}): pass model=")],
                               name["sbml"])
        model = load_model(species)
    _check_sbml(sbml, model, name["sbml"])
    model.compiled  # noqa: B018 - compile once, shared by the copy below
    parameters, pset = _parameters(parametrised, model, name["parameter"])
    model = copy.copy(model).attach(pset)
    observables = _observables(observed, model, name["observable"])
    conditions = _conditions(conditioned, sbml, model, name["condition"])
    log = (observed.get("observableTransformation", pd.Series(["lin"])).iloc[0] or "lin") == "log"
    _fail(_measurement_problems(measured, observables, conditions, set(parametrised["parameterId"]), log,
                                pset.species), name["measurement"])

    # per condition: initial state and regimen, with the arm's written regimen as a hint
    first = measured.drop_duplicates("simulationConditionId").set_index("simulationConditionId")
    setups = {}
    for cid, row in first.iterrows():
        cond = conditions[cid]
        initial, at_start = _split_initial(model, pset, cond.y0, row.get("initial", ""),
                                           _finite(row.get("age_years", "")))
        doses = {(0.0, k): a for k, a in at_start.items()}
        for time, added in sbml.events:
            for state, pid in added.items():
                if cond.doses[pid] > 0:
                    key = (time, model.index[state])
                    doses[key] = doses.get(key, 0.0) + cond.doses[pid]
        setups[cid] = (initial, _regimen(model, pset, doses, row.get("regimen", "")))

    carried = [c for c in measured.columns if c not in MEASUREMENT_COLUMNS and c not in _NOT_CARRIED
               and c != "sigma_source"]
    noise = measured["noiseParameters"].astype(float).to_numpy()
    value = measured["measurement"].astype(float).to_numpy()
    assumed = measured.get("sigma_source", pd.Series([""] * len(measured))).str.startswith("assumed").to_numpy()
    analytes = [observables[o][0] for o in measured["observableId"]]
    # an assumed sigma is one number for all such rows: sigma (log) or sigma x the analyte's mean (lin)
    means = pd.Series(value).groupby(analytes).transform("mean").to_numpy()
    implied = noise if log else noise / np.maximum(means, 1e-12)
    sigma = float(implied[assumed][0]) if assumed.any() else 0.3
    if assumed.any() and not np.allclose(implied[assumed], sigma, rtol=1e-9, atol=0):
        assumed[:] = False  # not one sigma: every noise value becomes a standard error
    rows: list[dict[str, Any]] = []
    arms: dict[str, Any] = {}
    simulated: dict[str, str] = {}
    for i, m in measured.iterrows():
        cid = m["simulationConditionId"]
        initial, regimen = setups[cid]
        time = float(m["time"])
        for d in regimen:  # undo the export's sampling just before a dose
            if d.time > 0 and abs(time - (d.time - _BEFORE_DOSE)) <= 1e-9:
                time = d.time
        row = {c: m[c] for c in carried}
        row.setdefault("study_id", "PEtab")
        row.setdefault("arm", cid)
        row.setdefault("species", pset.species)
        row.setdefault("statistic", "unspecified")
        se = noise[i] * value[i] if log else noise[i]
        n = _finite(row.get("n", ""))
        row.update(time_days=time, analyte=analytes[i], value=value[i], unit=observables[m["observableId"]][1],
                   censored="", regimen=regimen_text(regimen), initial=initial if isinstance(initial, str) else "",
                   spread_type="none" if assumed[i] else "SEM", spread="" if assumed[i] else se,
                   n=row.get("n", "") if assumed[i] or (n is not None and n >= 1 and n == int(n)) else "1",
                   imported_from=f"PEtab {yaml.name}: {name['measurement']} row {int(i) + 2}")
        rows.append(row)
        other = simulated.setdefault(f"{row['study_id']}/{row['arm']}", cid)
        if setups[other] != setups[cid]:  # poi_ode simulates every subject of an arm alike
            _fail([Problem(int(i) + 2, "simulationConditionId", f"not supported: arm {row['study_id']}/{row['arm']} "
                                                                f"under two conditions ({other!r}, {cid!r})")],
                  name["measurement"])
        label = "/".join(str(row.get(k, "")) for k in ("study_id", "arm", "subject") if str(row.get(k, "")))
        arms[label] = setups[cid]
    frame = pd.DataFrame(rows)
    frame = frame[[*dict.fromkeys([*REQUIRED, *OBSERVATION, *ARM, *frame.columns])]]
    try:
        dataset = read_dataset(frame, f"{yaml.parent.name}/{yaml.name} (PEtab)")
    except DatasetError as exc:
        raise DatasetError(exc.problems, f"{name['measurement']} (as a dataset)") from None
    dataset.meta["petab"] = str(yaml)
    return PetabProblem(yaml, model, dataset, parameters, "lognormal" if log else "additive", sigma,
                        {k: v[1] for k, v in arms.items()}, {k: v[0] for k, v in arms.items()})

"""PEtab (v1) export of a calibration problem: SBML model, conditions, measurements,
observables, parameters and the problem YAML, readable by PEtab tools.

Each study arm becomes a condition. Its day-0 state (steady state at the nominal parameters,
plus day-0 doses) is set in the condition table; later doses are SBML events whose amounts are
condition parameters (0 where an arm has no such dose). Limits of PEtab v1, said when they
apply: censored values and proportional error models are not expressible and are refused with
the rows named; per-study assay scales are not exported.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..errors import PoiOdeError

if TYPE_CHECKING:  # pragma: no cover
    from ..data import Dataset
    from ..fitting.result import FitResult
    from ..model.core import Model

__all__ = ["to_petab"]


def _id(text: str) -> str:
    out = re.sub(r"\W", "_", text)
    return out if re.match(r"[A-Za-z_]", out) else f"c_{out}"


def to_petab(
    model: "Model",
    data: "Dataset",
    folder: str | Path,
    free: Sequence[str] | None = None,
    *,
    result: "FitResult | None" = None,
    error_model: str = "lognormal",
    sigma: float = 0.3,
    regimens: Mapping[str, str] | None = None,
    initial: Mapping[str, Any] | str | None = None,
) -> Path:
    """Write the PEtab problem of fitting ``model`` to ``data``; return the YAML path.

    With ``result``, nominal values are its estimates (so PEtab tools evaluate the objective
    at our optimum); otherwise the model's values.
    """
    import pandas as pd

    from ..fitting.problem import FitProblem
    from ..simulate import initial_state
    from .sbml import _libsbml, add_dose_event, to_sbml

    if error_model not in ("lognormal", "additive"):
        raise PoiOdeError(f"PEtab v1 cannot express the {error_model!r} error model; use lognormal or additive")
    problem = FitProblem.build(model, data, free, error_model=error_model, sigma=sigma, regimens=regimens,
                               initial=initial)
    censored = np.flatnonzero(problem.censored != 0)
    if censored.size:
        rows = ", ".join(str(int(data.frame["row"].iloc[i])) for i in censored)
        raise PoiOdeError(f"PEtab v1 has no censored measurements: rows {rows} are censored")
    if any(k for arm in problem.arms for k in arm.scale_keys):
        raise PoiOdeError("per-study assay scales are not exported to PEtab")
    base = result.parameter_set(model.parameter_set) if result is not None else model.parameter_set
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
        row = {"conditionId": _id(arm.label)}
        row.update({s: float(v) for s, v in zip(model.state_names, y0)})
        row.update({pid: 0.0 for pid in events.values()})
        for r in resolved:
            if r.time > 0:
                row[events[(r.time, r.state)]] += r.amount
        conditions.append(row)
    pd.DataFrame(conditions).to_csv(folder / "conditions.tsv", sep="\t", index=False)

    frame = data.frame
    observables, measurements = {}, []
    for arm in problem.arms:
        for k, row in enumerate(arm.rows):
            if not problem.used[row]:
                continue
            analyte = frame["analyte"].iloc[row]
            oid = f"obs_{analyte}_{_id(frame['unit_std'].iloc[row])}"
            observables[oid] = dict(
                observableId=oid,
                observableFormula=f"{float(arm.factors[k])!r} * {arm.variables[k]}",
                observableTransformation="log" if error_model == "lognormal" else "lin",
                noiseFormula=f"noiseParameter1_{oid}",
                noiseDistribution="normal",
            )
            measurements.append(dict(
                observableId=oid, simulationConditionId=_id(arm.label), measurement=float(problem.observed[row]),
                time=float(arm.times[arm.time_index[k]]), noiseParameters=float(problem.sigma[row]),
                datasetId=_id(arm.label),
            ))
    pd.DataFrame(list(observables.values())).to_csv(folder / "observables.tsv", sep="\t", index=False)
    pd.DataFrame(measurements).to_csv(folder / "measurements.tsv", sep="\t", index=False)

    free_names = {f.name for f in problem.free}
    rows = []
    for decl, value in zip(model.parameters, p):
        q = base[decl.name]
        factor = value / q.value if q.value else 1.0
        log = q.scale == "log"
        rows.append(dict(
            parameterId=decl.name, parameterName=decl.description, parameterScale="log10" if log else "lin",
            lowerBound=q.lower * factor, upperBound=q.upper * factor, nominalValue=float(value),
            estimate=int(decl.name in free_names),
        ))
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
        for col, value in condition.items():
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
    return dict(llh=float(llh), chi2=float(-2 * llh - normaliser))

"""PEtab export and import back: the linter accepts the export, PEtab's own likelihood at our
optimum equals our chi2, the import gives back the same observations, parameters and chi2, and
a malformed folder is refused with the table, row or id and column named."""
from __future__ import annotations

import copy
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import poi_ode as po
from poi_ode.data import DatasetError, parse_regimen, read_dataset
from poi_ode.data.synthetic import synthetic_dataset
from poi_ode.export.petab import from_petab, petab_chi2
from poi_ode.fitting.problem import FitProblem

pytest.importorskip("libsbml", reason="python-libsbml (extra 'sbml' or 'petab') is not installed")
pytest.importorskip("yaml", reason="PyYAML (extra 'petab') is not installed")

REGIMEN = "0:cyclophosphamide:120:mg/kg:intraperitoneal"
ARMS = {"ctx": REGIMEN, "msc": REGIMEN + "; 14:msc:1e6:cells:intraovarian"}
# petab 0.8 calls pandas APIs that pandas 3 deprecates (inside petab, not in our code)
PETAB_PANDAS_WARNINGS = [
    pytest.mark.filterwarnings("ignore:The 'float_precision' argument is deprecated:DeprecationWarning:petab"),
    pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.set_index is "
                               "deprecated:DeprecationWarning:petab"),
]


def _petab():
    return pytest.importorskip("petab.v1", reason="petab (extra 'petab') is not installed")


def _roadrunner():
    return pytest.importorskip("roadrunner", reason="libroadrunner (extra 'sbml') is not installed")


@pytest.fixture(scope="module")
def fitted(mouse):
    data = synthetic_dataset(mouse, ARMS, [7, 14, 28, 42], params={"s_M": 1e-6}, seed=2)
    return data, po.fit(mouse, data, free=["s_M"])


@pytest.fixture(scope="module")
def exported(mouse, fitted, tmp_path_factory):
    data, result = fitted
    return po.to_petab(mouse, data, tmp_path_factory.mktemp("petab"), free=["s_M"], result=result)


@pytest.fixture(scope="module")
def imported(mouse, exported):
    return from_petab(exported, mouse)


@PETAB_PANDAS_WARNINGS[0]
@PETAB_PANDAS_WARNINGS[1]
def test_exported_problem_passes_the_petab_linter(fitted, exported):
    petab = _petab()
    _, result = fitted
    problem = petab.Problem.from_yaml(str(exported))
    assert not petab.lint_problem(problem)
    assert set(problem.parameter_df.index[problem.parameter_df["estimate"] == 1]) == {"s_M"}
    assert len(problem.measurement_df) == result.n_observations


@PETAB_PANDAS_WARNINGS[0]
@PETAB_PANDAS_WARNINGS[1]
def test_petab_objective_at_our_optimum_equals_our_chi2(fitted, exported):
    _petab()
    _roadrunner()
    _, result = fitted
    assert petab_chi2(exported)["chi2"] == pytest.approx(result.chi2, rel=1e-5)


def test_censored_rows_are_refused_by_name(human, tmp_path):
    data = po.load_dataset("clinical_secondary")
    with pytest.raises(po.PoiOdeError, match="rows 3 are censored"):
        po.to_petab(human, data, tmp_path, free=["FSH_castrate"], initial="poi")


def test_arms_on_the_age_axis_are_refused_by_name(human, tmp_path):
    data = po.load_dataset("human_fsh_inhibin_e2_by_age").subset(study_id="Jain2003_day3")
    with pytest.raises(po.PoiOdeError, match="Jain2003_day3/.* are not exported to PEtab yet"):
        po.to_petab(human, data, tmp_path, free=["FSH_ref"])


def test_an_evidence_calibration_is_refused_by_name(mouse, tmp_path):
    """A fit config with [evidence] has no dataset (its data are pooled effects): a clear error, not AttributeError."""
    with pytest.raises(po.PoiOdeError, match="got NoneType: PEtab v1 holds time courses"):
        po.to_petab(mouse, None, tmp_path, free=["s_M"])


# ------------------------------------------------------------------------------- import back
def test_import_gives_back_the_observations(fitted, exported, imported):
    before, after = fitted[0].frame, imported.dataset.frame
    for column in ("study_id", "arm", "subject", "species", "analyte", "unit_std", "statistic", "citation", "notes"):
        assert after[column].tolist() == before[column].tolist(), column
    # the day-14 samples of the MSC arm are exported just before the dose and come back at day 14
    assert (pd.read_csv(exported.parent / "measurements.tsv", sep="\t")["time"] == 14 - 1e-6).any()
    np.testing.assert_array_equal(after["time_days"], before["time_days"])
    np.testing.assert_array_equal(after["value_std"], before["value_std"])
    np.testing.assert_allclose(after["se_std"], before["se_std"], rtol=1e-13)
    assert [parse_regimen(r) for r in after["regimen"]] == [parse_regimen(r) for r in before["regimen"]]
    assert set(after["initial"]) == {"healthy"}
    assert after["imported_from"].iloc[1] == "PEtab problem.yaml: measurements.tsv row 3"
    assert imported.regimens["SYNTHETIC/msc"] == parse_regimen(ARMS["msc"])


def test_import_gives_back_the_parameters(mouse, fitted, imported):
    _, result = fitted
    original, again = result.parameter_set(mouse.parameter_set), imported.model.parameter_set
    assert imported.free == ["s_M"]
    assert set(imported.fixed) == set(mouse.parameter_names) - {"s_M"}
    for name in mouse.parameter_names:
        q, r = original[name], again[name]
        assert (r.value, r.lower, r.upper) == pytest.approx((q.value, q.lower, q.upper), rel=1e-14), name
        assert r.scale == q.scale, name
    assert imported.parameters.loc["s_M", "scale"] == "log10"
    assert mouse.parameter_set["s_M"].value != again["s_M"].value  # the caller's model is untouched


def test_imported_problem_has_the_original_chi2(mouse, fitted, imported):
    data, result = fitted
    original, again = FitProblem.build(mouse, data, ["s_M"]), imported.fit_problem()
    theta = result.internal_estimate()
    for point in (theta, theta + 0.5):  # the optimum, and away from it
        r1, r2 = original.residuals(point), again.residuals(point)
        assert r2 @ r2 == pytest.approx(r1 @ r1, rel=1e-10)
    refit = imported.fit()
    assert refit.chi2 == pytest.approx(result.chi2, rel=1e-6)
    assert refit["s_M"].value == pytest.approx(result["s_M"].value, rel=1e-4)


def test_assumed_sigma_and_additive_error_come_back(mouse, tmp_path):
    frame = synthetic_dataset(mouse, ARMS, [7, 28], seed=3).frame
    frame = frame.drop(columns=["row", "value_std", "spread_std", "se_std", "unit_std"])
    frame[["spread_type", "spread", "n"]] = ["none", "", ""]
    data = read_dataset(frame)
    imported = from_petab(po.to_petab(mouse, data, tmp_path, free=["s_M"], error_model="additive", sigma=0.2))
    assert (imported.error_model, imported.sigma) == ("additive", pytest.approx(0.2, rel=1e-12))
    assert set(imported.dataset.frame["spread_type"]) == {"none"}
    original = FitProblem.build(mouse, data, ["s_M"], error_model="additive", sigma=0.2)
    theta = original.initial_vector()
    r1, r2 = original.residuals(theta), imported.fit_problem().residuals(theta)
    assert r2 @ r2 == pytest.approx(r1 @ r1, rel=1e-10)


def test_priors_come_back_in_the_sets_units(mouse, fitted, tmp_path):
    pset = mouse.parameter_set
    priors = {"t_half_cyclophosphamide": {"median": 1.2 * pset["t_half_cyclophosphamide"].value, "sd_log10": 0.1},
              "f_lung": {"mean": 0.7, "sd": 0.05}}  # a half-life in hours (days in the model), and a fraction
    model = copy.copy(mouse).attach(replace(pset, parameters={
        **pset.parameters, **{n: replace(pset[n], prior=prior) for n, prior in priors.items()}}))
    free = ["s_M", "t_half_cyclophosphamide", "f_lung"]
    imported = from_petab(po.to_petab(model, fitted[0], tmp_path, free=free), mouse)
    assert imported.free == free
    for name, prior in priors.items():
        assert imported.model.parameter_set[name].prior == pytest.approx(prior, rel=1e-12)
    original = FitProblem.build(model, fitted[0], free)
    theta = original.initial_vector() + 0.05
    r1, r2 = original.residuals(theta), imported.fit_problem().residuals(theta)
    assert len(r2) == len(r1) == original.used.sum() + 2
    assert r2 @ r2 == pytest.approx(r1 @ r1, rel=1e-10)


@PETAB_PANDAS_WARNINGS[0]
@PETAB_PANDAS_WARNINGS[1]
def test_edited_conditions_are_read_as_petab_states_them(mouse, exported, tmp_path):
    folder = shutil.copytree(exported.parent, tmp_path / "edited")
    conditions = pd.read_csv(folder / "conditions.tsv", sep="\t")
    dose = next(c for c in conditions.columns if c.startswith("dose_"))
    conditions.loc[1, dose] *= 2  # the MSC arm: 2e6 cells at day 14
    conditions.loc[1, "F_prim"] *= 0.5  # and a day-0 state no named initial state gives
    conditions.to_csv(folder / "conditions.tsv", sep="\t", index=False)
    imported = from_petab(folder, mouse)
    assert imported.regimens["SYNTHETIC/msc"] == parse_regimen(REGIMEN + "; 14:msc:2e6:cells:intraovarian")
    start = imported.initial["SYNTHETIC/msc"]
    assert start["F_prim"] == conditions.loc[1, "F_prim"] and start["A_cyclophosphamide"] == 0
    assert imported.initial["SYNTHETIC/ctx"] == "healthy"
    _petab()
    _roadrunner()
    problem = imported.fit_problem()
    r = problem.residuals(problem.initial_vector())
    assert r @ r == pytest.approx(petab_chi2(folder / "problem.yaml")["chi2"], rel=1e-5)


# --------------------------------------------------------------------------- malformed folders
def _edit(folder, table, change=None):
    """Apply ``change`` to a table in place; return the table."""
    path = folder / table
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if change is not None:
        change(frame)
        frame.to_csv(path, sep="\t", index=False)
    return frame


def _set(folder, table, row, column, value):
    """Set one cell; ``row`` is the file row (2 = first data row)."""
    frame = _edit(folder, table)
    frame.loc[row - 2, column] = value
    frame.to_csv(folder / table, sep="\t", index=False)


def _row_of(folder, table, column, value):
    frame = pd.read_csv(folder / table, sep="\t", dtype=str)
    return int(np.flatnonzero(frame[column] == value)[0]) + 2


def missing_file(folder):
    (folder / "observables.tsv").unlink()
    return ["problem.yaml", "observable_files", "missing file 'observables.tsv'"]


def missing_table(folder):
    text = (folder / "problem.yaml").read_text()
    (folder / "problem.yaml").write_text(text.replace("  observable_files: [observables.tsv]\n", ""))
    return ["problem.yaml", "observable_files: missing"]


def missing_column(folder):
    _edit(folder, "measurements.tsv", lambda f: f.pop("time"))
    return ["measurements.tsv", "column 'time': required column is missing"]


def unknown_observable(folder):
    _set(folder, "measurements.tsv", 3, "observableId", "obs_LH")
    return ["measurements.tsv", "row 3, column 'observableId': unknown observableId 'obs_LH'"]


def unknown_condition(folder):
    _set(folder, "measurements.tsv", 2, "simulationConditionId", "nowhere")
    return ["measurements.tsv", "row 2, column 'simulationConditionId': unknown conditionId 'nowhere'"]


def unknown_noise_parameter(folder):
    _set(folder, "measurements.tsv", 4, "noiseParameters", "sd_AMH")
    return ["measurements.tsv", "row 4, column 'noiseParameters': unknown parameterId 'sd_AMH'"]


def bad_numbers_all_reported(folder):
    def change(f):
        f.loc[0, "measurement"] = "high"
        f.loc[1, "time"] = "-1"
    _edit(folder, "measurements.tsv", change)
    return ["measurements.tsv: 2 problem(s)", "row 2, column 'measurement': 'high' is not a number",
            "row 3, column 'time': time -1 is negative"]


def preequilibration(folder):
    _edit(folder, "measurements.tsv", lambda f: f.insert(1, "preequilibrationConditionId", f["simulationConditionId"]))
    return ["measurements.tsv", "row 2, column 'preequilibrationConditionId': not supported: preequilibration"]


def noise_formula(folder):
    _set(folder, "observables.tsv", 2, "noiseFormula", "sd_AMH")
    return ["observables.tsv", "row 2, column 'noiseFormula'", "'obs_AMH_ng_mL'", "not understood: 'sd_AMH'"]


def transformation(folder):
    _edit(folder, "observables.tsv", lambda f: f.__setitem__("observableTransformation", "log10"))
    return ["observables.tsv", "row 3, column 'observableTransformation'", "not supported: 'log10'"]


def noise_distribution(folder):
    _set(folder, "observables.tsv", 3, "noiseDistribution", "laplace")
    return ["observables.tsv", "row 3, column 'noiseDistribution'", "not supported: 'laplace'"]


def parameter_scale(folder):
    row = _row_of(folder, "parameters.tsv", "parameterId", "s_M")
    _set(folder, "parameters.tsv", row, "parameterScale", "ln")
    return ["parameters.tsv", f"row {row}, column 'parameterScale'", "'s_M'", "'ln' is not one of lin, log, log10"]


def bounds_in_wrong_order(folder):
    row = _row_of(folder, "parameters.tsv", "parameterId", "s_M")
    upper = pd.read_csv(folder / "parameters.tsv", sep="\t", dtype=str)["upperBound"].iloc[row - 2]
    _set(folder, "parameters.tsv", row, "lowerBound", upper)
    return ["parameters.tsv", f"row {row}, column 'upperBound'", "'s_M'", ">= upperBound"]


def nominal_outside_bounds(folder):
    row = _row_of(folder, "parameters.tsv", "parameterId", "f_lung")
    _set(folder, "parameters.tsv", row, "nominalValue", "1.5")
    return ["parameters.tsv", f"row {row}, column 'nominalValue'", "'f_lung'", "outside the bounds"]


def duplicated_parameter(folder):
    frame = _edit(folder, "parameters.tsv")
    pd.concat([frame, frame.iloc[[0]]]).to_csv(folder / "parameters.tsv", sep="\t", index=False)
    return ["parameters.tsv", f"row {len(frame) + 2}, column 'parameterId'", "duplicated id 's_M'"]


def duplicated_condition(folder):
    frame = _edit(folder, "conditions.tsv")
    pd.concat([frame, frame.iloc[[0]]]).to_csv(folder / "conditions.tsv", sep="\t", index=False)
    return ["conditions.tsv", "row 4, column 'conditionId'", "duplicated id 'SYNTHETIC_ctx'"]


def negative_state(folder):
    _set(folder, "conditions.tsv", 3, "F_prim", "-5")
    return ["conditions.tsv", "row 3, column 'F_prim'", "'SYNTHETIC_msc'", "'-5' is not a finite number >= 0"]


def parameter_per_condition(folder):
    _edit(folder, "conditions.tsv", lambda f: f.__setitem__("s_M", "1e-6"))
    return ["conditions.tsv", "column 's_M'", "not supported: per-condition parameter values"]


@pytest.mark.parametrize("corrupt", [
    missing_file, missing_table, missing_column, unknown_observable, unknown_condition, unknown_noise_parameter,
    bad_numbers_all_reported, preequilibration, noise_formula, transformation, noise_distribution, parameter_scale,
    bounds_in_wrong_order, nominal_outside_bounds, duplicated_parameter, duplicated_condition, negative_state,
    parameter_per_condition,
], ids=lambda f: f.__name__)
def test_a_malformed_folder_names_table_row_and_column(mouse, exported, tmp_path, corrupt):
    folder = shutil.copytree(exported.parent, tmp_path / "petab")
    expected = corrupt(folder)
    with pytest.raises(DatasetError) as error:
        from_petab(folder / "problem.yaml", mouse)
    for text in expected:
        assert text in str(error.value)


def test_sbml_species_must_match_the_model(mouse, exported):
    with pytest.raises(DatasetError,
                       match=r"(?s)model\.xml: 1 problem.*species do not match.*: not in the model \['X_dep'"):
        from_petab(exported, mouse.without("exosome"))

"""PEtab export: the linter accepts it, and PEtab's own likelihood at our optimum equals our chi2."""
from __future__ import annotations

import pytest

import poi_ode as po
from poi_ode.data.synthetic import synthetic_dataset

petab = pytest.importorskip("petab.v1", reason="petab (extra 'petab') is not installed")
pytest.importorskip("roadrunner", reason="libroadrunner (extra 'sbml') is not installed")

REGIMEN = "0:cyclophosphamide:120:mg/kg:intraperitoneal"


@pytest.fixture(scope="module")
def fitted(mouse):
    data = synthetic_dataset(mouse, {"ctx": REGIMEN, "msc": REGIMEN + "; 14:msc:1e6:cells:intraovarian"},
                             [7, 14, 28, 42], params={"s_M": 1e-6}, seed=2)
    return data, po.fit(mouse, data, free=["s_M"])


def test_exported_problem_passes_the_petab_linter(mouse, fitted, tmp_path):
    data, result = fitted
    yaml = po.to_petab(mouse, data, tmp_path, free=["s_M"], result=result)
    problem = petab.Problem.from_yaml(str(yaml))
    assert not petab.lint_problem(problem)
    assert set(problem.parameter_df.index[problem.parameter_df["estimate"] == 1]) == {"s_M"}
    assert len(problem.measurement_df) == result.n_observations


def test_petab_objective_at_our_optimum_equals_our_chi2(mouse, fitted, tmp_path):
    from poi_ode.export.petab import petab_chi2

    data, result = fitted
    yaml = po.to_petab(mouse, data, tmp_path, free=["s_M"], result=result)
    assert petab_chi2(yaml)["chi2"] == pytest.approx(result.chi2, rel=1e-5)


def test_censored_rows_are_refused_by_name(human, tmp_path):
    data = po.load_dataset("clinical_secondary")
    with pytest.raises(po.PoiOdeError, match="rows 3 are censored"):
        po.to_petab(human, data, tmp_path, free=["FSH_castrate"], initial="poi")

"""The rodent parameter sets carry the evidence calibration (issue 12): after chemotherapy, mouse and rat respond to
MSCs at the designs' sampling days by the published pooled amounts, with no steeper dose trend than the dose
subgroups allow. Published numbers come from the bundled pooled effects; the within-group spreads from the
committed calibration (fits/evidence_msc_rodent)."""
from __future__ import annotations

from pathlib import Path

import pytest

import poi_ode as po
from poi_ode.fitting import FitResult
from poi_ode.fitting.config import read_config
from poi_ode.mbma import evidence_objective, load_designs, simulable
from poi_ode.mbma.calibration import split_values
from poi_ode.parameters import load_parameter_set

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def table():
    """Published and predicted pooled MSC effects with the bundled mouse and rat sets as they are."""
    mechanism = read_config(ROOT / "fits" / "evidence_msc_rodent.toml")["mechanism"]
    for species in ("mouse", "rat"):  # the sets' default mechanism is the calibrated one
        assert load_parameter_set(species).info["structure"]["therapy_mechanism"]["value"] == mechanism
    objective, _ = evidence_objective("msc", mechanism)
    _, cv = split_values(FitResult.from_json(ROOT / "fits" / "evidence_msc_rodent" / "fit.json").values)
    return objective.table({}, cv)


@pytest.mark.parametrize("species", ["mouse", "rat"])
def test_msc_after_chemotherapy_move_every_outcome_the_published_way(species):
    """At each simulable design's sampling day: AMH, E2 and follicle counts (primordial included) up, FSH down
    (the signs of every pooled MSC effect of the meta-analyses)."""
    model = po.load_model(species)
    designs = [d for d in load_designs() if d.therapy == "msc" and d.species == species and simulable(d)]
    assert len(designs) >= 3
    for d in designs:
        treated, control = d.arms(model)
        times = [0.0, float(d.sampling_day)]
        t, c = po.simulate(model, treated, times=times), po.simulate(model, control, times=times)
        for var in ("AMH", "E2", "F_prim", "F_sec", "AFC"):
            assert t[var][-1] > c[var][-1], (d.design_id, var)
        assert t["FSH"][-1] < c["FSH"][-1], d.design_id


@pytest.mark.parametrize("subgroup", ["rat", "mouse", "all"])
@pytest.mark.parametrize("analyte", ["E2", "FSH"])
def test_pooled_effects_by_species_are_the_published_ones(table, analyte, subgroup):
    rows = table[(table["analyte"] == analyte) & (table["pooling"] == "random") & (table["subgroup_kind"].isin(
        ["species", "overall"])) & table["effect_id"].str.contains(f"={subgroup}:")
                 & table["meta_analysis"].eq("FENDO2023_1165574")]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["published_lower"] <= row["predicted"] <= row["published_upper"], row.to_dict()


def test_no_steeper_dose_trend_than_the_dose_subgroups_allow(table):
    """Each dose class's predicted pooled E2 effect lies inside that class's published interval (random effects,
    1e5, 1e6 and 1e7 cells), so the dose trend is no steeper than the subgroups allow."""
    rows = table[(table["subgroup_kind"] == "dose") & (table["pooling"] == "random")]
    assert len(rows) >= 3
    for _, row in rows.iterrows():
        assert row["published_lower"] <= row["predicted"] <= row["published_upper"], row["subgroup"]

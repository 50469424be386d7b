"""The rat parameter set (issue 12, item 4): sourced like the mouse set, its chemotherapy from rat rows."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

import poi_ode as po
from poi_ode.fitting.insult import ED50_DAY, censored_lower_bound, primordial_survival, rat_body_potencies
from poi_ode.model import THERAPY_MECHANISMS
from poi_ode.parameters import SOURCE_KINDS, load_parameter_set
from poi_ode.simulate import start_age
from poi_ode.validation import load_targets

EVIDENCE = Path(__file__).resolve().parents[2] / "shared" / "evidence"


def _rat_rows() -> list[dict[str, str]]:
    """The rat rows of the natural-history evidence sheet."""
    with (EVIDENCE / "natural_history.csv").open(newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["species"] == "rat"]


def test_rat_is_a_bundled_species_and_loads():
    assert "rat" in po.available_species()
    model = po.load_model("rat")
    assert model.species == "rat"
    every_mechanism = set().union(*(po.load_model("rat", mechanism=m).parameter_names for m in THERAPY_MECHANISMS))
    assert set(model.parameter_names) <= every_mechanism == set(model.parameter_set.parameters)


def test_every_rat_value_is_sourced_and_says_whether_it_is_a_rat_value():
    """Each value has a kind and a reason; a value taken over from the mouse says so; the rat values
    name their rat source."""
    pset = load_parameter_set("rat")
    for p in pset.parameters.values():
        assert p.kind in SOURCE_KINDS, p.name
        assert p.source.startswith(p.kind), (p.name, p.source[:40])
        assert p.lower <= p.value <= p.upper, p.name
        if p.kind in ("literature", "sourcebook"):
            assert "rat" in p.source, p.name  # a rat source, not a mouse one
    mouse = load_parameter_set("mouse")
    for name in ("s_M", "s_X", "p_protect", "b_act_P", "w_sys_M", "r_resens_P"):  # therapy: the mouse values
        assert pset[name].value == mouse[name].value
        assert "as mouse, to be calibrated on the pooled evidence (issue 12)" in pset[name].source
    assert pset["chemo_sensitivity"].value == 1.0
    assert "Shiromizu 1984" in pset["kill_cyclophosphamide"].source
    assert "rat model" in pset["kill_cisplatin"].source
    assert pset.info["units"]["FSH"] == "ng/mL"


def test_body_weight_and_km_come_from_the_rat_designs():
    """body_weight is the median of the weights the rat design rows state, read by code; the rat is
    heavier than the mouse and its km larger."""
    pset, mouse = load_parameter_set("rat"), load_parameter_set("mouse")
    computed = {p.parameter: p.value for p in rat_body_potencies(EVIDENCE)}
    assert pset["body_weight"].in_unit("kg") == pytest.approx(computed["body_weight"], rel=1e-12)
    assert pset["km_factor"].in_unit("kg/m**2") == pytest.approx(computed["km_factor"], rel=1e-12)
    grams = []  # an independent reading: every "N+/-M g" among the rat rows of the MSC designs
    with (EVIDENCE / "designs_msc_preclinical.csv").open(newline="", encoding="utf-8") as fh:
        for line in csv.reader(fh):
            if re.search(r"\brats?\b", line[2], re.I):
                grams += [float(g) for g in re.findall(r"(\d+)\s*\+/-\s*\d+\s*g", line[2])]
    assert grams and min(grams) / 1000 <= pset["body_weight"].in_unit("kg") <= max(grams) / 1000
    assert pset["body_weight"].in_unit("kg") > 5 * mouse["body_weight"].in_unit("kg")
    # km = W / BSA with BSA proportional to W^(2/3): km grows as W^(1/3)
    ratio = pset["body_weight"].in_unit("kg") / mouse["body_weight"].in_unit("kg")
    assert pset["km_factor"].value / mouse["km_factor"].value == pytest.approx(ratio ** (1 / 3), rel=1e-9)


def test_healthy_rat_state_and_natural_history_run(rat):
    """The rat starts steady, sits in the normal ranges its file declares, and its reserve falls with age."""
    y = po.healthy_state(rat, age=start_age(rat.parameter_set))
    assert np.all(np.isfinite(y)) and np.all(y >= -1e-9)
    ranges = rat.parameter_set.info["ranges"]
    assert ranges
    state = po.initial_state(rat)
    for analyte, r in ranges.items():
        assert r["source"]
        assert r["low"] <= state[rat.index[analyte]] <= r["high"], (analyte, r)
    history = po.natural_history(rat, 1.0, step_days=7.0)
    assert np.all(np.diff(history["F_prim"]) <= 0)
    assert history["F_prim"][-1] < history["F_prim"][0]
    assert np.all(np.isfinite(history["AMH"])) and np.all(np.isfinite(history["FSH"]))


def test_rat_cyclophosphamide_agrees_with_shiromizus_bound(rat):
    """Shiromizu 1984 prints the Sprague-Dawley ED50 as a lower bound (read here from the evidence row by
    code): at the bound dose the rat keeps at least half its primordial pool, and the set's potency is the
    largest that does (a tenth more potency would break the row)."""
    row = next(r for r in _rat_rows() if r["study_id"] == "Shiromizu1984_CPA_ED50"
               and r["analyte"] == "primordial oocyte destruction ED50")
    assert row["censored"].startswith("right-censored")
    bound = censored_lower_bound(row["value"])
    assert bound == censored_lower_bound(load_targets()["rat_ctx_ed50_shiromizu"]["value_printed"])
    survival = primordial_survival(rat, "cyclophosphamide", bound)
    assert survival >= 0.5 - 1e-9
    assert survival == pytest.approx(0.5, abs=1e-6)  # at the bound, as its source says
    kill = rat.parameter_set["kill_cyclophosphamide"].value
    assert primordial_survival(rat, "cyclophosphamide", bound, {"kill_cyclophosphamide": 1.1 * kill}) < 0.5
    for dose in (0.5 * bound, 0.2 * bound):  # below the bound: more than half survives
        assert primordial_survival(rat, "cyclophosphamide", dose) > 0.5


def test_rat_is_less_sensitive_to_cyclophosphamide_than_the_mouse(rat, mouse):
    """At the same mg/kg the rat keeps more primordial follicles than the mouse (Shiromizu 1984: ED50
    49 mg/kg in C57BL/6N mice, above 500 mg/kg in Sprague-Dawley rats; both read from the targets)."""
    t = load_targets()
    mouse_ed50 = t["mouse_ctx_ed50_shiromizu"]["value"]
    rat_bound = censored_lower_bound(t["rat_ctx_ed50_shiromizu"]["value_printed"])
    assert rat_bound > mouse_ed50
    for dose in (mouse_ed50, 120.0, rat_bound):
        assert (primordial_survival(rat, "cyclophosphamide", dose)
                > primordial_survival(mouse, "cyclophosphamide", dose)), dose
    assert primordial_survival(mouse, "cyclophosphamide", mouse_ed50) < 0.6
    assert rat.parameter_set["kill_cyclophosphamide"].value < mouse.parameter_set["kill_cyclophosphamide"].value / 5


def test_rat_cisplatin_reproduces_terek_in_the_rat_model(rat):
    """Terek 2004's rat counts (day 7 after 5 mg/kg, ratio of the means, read from the targets)."""
    t = load_targets()
    published = t["rat_cisplatin_primordial_5"]["value"] / t["rat_cisplatin_primordial_control"]["value"]
    assert primordial_survival(rat, "cisplatin", 5.0, day=ED50_DAY) == pytest.approx(published, abs=0.005)


def test_a_rat_dose_in_mg_uses_the_rat_weight(rat, mouse):
    """The same 10 mg is a smaller dose per kg in the heavier rat."""
    amount = {m.species: po.simulate(m, [po.Dose(0, "cyclophosphamide", 10.0, "mg", "intraperitoneal")],
                                     times=[0.0, 1e-9])["A_cyclophosphamide"][0] for m in (rat, mouse)}
    assert amount["rat"] == pytest.approx(10.0 / rat.parameter_set["body_weight"].in_unit("kg"), rel=1e-9)
    assert amount["rat"] < amount["mouse"]

"""The rodent therapy calibration carried over to women (poi_ode.mbma.translation).

The rules are checked against the model's own dynamics (a dose at the same density per body weight gives the
same paracrine signal in both species), by an invariant of the time scaling, and the committed human values
against the committed rodent fits.
"""
from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

import poi_ode as po
from poi_ode.errors import ParameterError
from poi_ode.fitting.config import shipped_configs_folder
from poi_ode.fitting.result import FitResult
from poi_ode.fitting.write import original_source
from poi_ode.mbma.translation import TRANSLATED_FITS, translate_therapy, write_translation
from poi_ode.parameters import load_parameter_set, parameter_file

FITS = [shipped_configs_folder() / name / "fit.json" for name in TRANSLATED_FITS]


@pytest.fixture(scope="module")
def translations():
    return {t.name: t for t in translate_therapy(FITS)}


@pytest.mark.parametrize("agent, secretion, half_life, dose, unit, state", [
    ("msc", "s_M", "t_half_M_ov", 1e3, "cells", "M_ov"),
    ("exosome", "s_X", "t_half_X_ov", 1.0, "ug", "X_ov"),
])
def test_same_density_per_body_weight_gives_the_same_signal(translations, agent, secretion, half_life, dose, unit,
                                                            state):
    """Mouse-only reading: a mouse dose D and a human dose D x BW_human/BW_mouse give the same P(t).

    Crowding of ovarian cells (M_capacity) is set at the same density in both, so the rule alone decides.
    """
    mouse, human = po.load_model("mouse"), po.load_model("human")
    ratio = human.parameter_set["body_weight"].value / mouse.parameter_set["body_weight"].value
    t = translations[secretion]
    shared = {half_life: translations[half_life].value}
    p_mouse = {secretion: t.rodent, "M_capacity": 1e5, **shared}
    p_human = {secretion: t.value_mouse_only, "M_capacity": 1e5 * ratio, **shared}
    times = np.linspace(0, 60, 61)
    a = po.simulate(mouse, po.Regimen([po.Dose(0, agent, dose, unit, route="intraovarian")]), times=times,
                    params=p_mouse)
    b = po.simulate(human, po.Regimen([po.Dose(0, agent, dose * ratio, unit, route="intraovarian")]), times=times,
                    params=p_human)
    assert b[state][1] == pytest.approx(a[state][1] * ratio, rel=1e-6)  # the human ovary got the scaled dose
    assert a["P"].max() > 1e-3  # a signal to compare
    np.testing.assert_allclose(b["P"], a["P"], rtol=1e-5, atol=1e-9)


def test_time_scaling_keeps_secretion_per_residence(translations):
    """With a time exponent, a half-life grows by the factor a rate per day shrinks: s x t_half is kept."""
    scaled = {t.name: t for t in translate_therapy(FITS, time_exponent=0.25)}
    for secretion, half_life in (("s_M", "t_half_M_ov"), ("s_X", "t_half_X_ov")):
        assert scaled[half_life].value > 4 * translations[half_life].value  # 60 kg / 0.06 kg to the 1/4 is > 5
        assert scaled[secretion].value * scaled[half_life].value == pytest.approx(
            translations[secretion].value * translations[half_life].value, rel=1e-12)
    assert scaled["p_protect"].value == translations["p_protect"].value  # fractions are not scaled


def test_reference_weight_lies_between_mouse_and_rat(translations):
    for t in translations.values():
        low, high = sorted((t.value_mouse_only, t.value_rat_only))
        assert low <= t.value <= high, t.name
    assert translations["s_M"].value_mouse_only < translations["s_M"].value_rat_only  # a heavier reference


def test_committed_human_values_are_the_translation_they_cite(translations):
    """The human set carries the translation of the committed rodent fits (rerun `poi-ode translate --write`)."""
    human = load_parameter_set("human")
    for name, t in translations.items():
        p = human[name]
        assert p.kind == "translated", name
        assert p.value == pytest.approx(t.value, rel=1e-9), f"{name}: rerun `poi-ode translate --write`"
        assert p.source == t.source(original_source(p.source)), name
        assert original_source(p.source).startswith(("assumption", "literature", "sourcebook")), name


def test_a_unit_without_a_rule_is_named():
    result = FitResult.from_json(FITS[0])
    bad = dataclasses.replace(result.parameters[0], unit="mg")
    result.parameters[0] = bad
    with pytest.raises(ParameterError, match=f"{bad.name}.*'mg'"):
        translate_therapy([result])


def test_values_outside_the_bounds_are_not_written(tmp_path):
    path = tmp_path / "human.toml"
    shutil.copy(parameter_file("human"), path)
    before = path.read_text()
    scaled = translate_therapy(FITS, time_exponent=0.25)  # t_half_M_ov beyond 30 days
    with pytest.raises(ParameterError, match="t_half_M_ov"):
        write_translation(scaled, path=path)
    assert path.read_text() == before
    written = write_translation(translate_therapy(FITS), path=path)
    assert "s_M" in written and load_parameter_set(path)["s_M"].kind == "translated"

"""Shared fixtures: the bundled models (built once per session) and regimens."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest

import poi_ode as po

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def human() -> po.Model:
    return po.load_model("human")


@pytest.fixture(scope="session")
def mouse() -> po.Model:
    return po.load_model("mouse")


UNCALIBRATED_THERAPY = {"s_M": 1e-6, "p_protect": 0.5, "t_half_M_ov": 7.0, "s_X": 0.00693, "t_half_X_ov": 1.0,
                        "w_sys_X": 0.5}
"""Therapy values of the mouse set before the evidence calibration (its assumptions, rounded), all inside their
bounds. The calibrated set (fits/evidence_msc_rodent, fits/evidence_exosome_rodent) has several at a bound, where
central differences step outside; tests of derivatives and of parameter recovery use these instead."""


@pytest.fixture(scope="session")
def mouse_interior() -> po.Model:
    """The mouse model with the therapy parameters inside their bounds (:data:`UNCALIBRATED_THERAPY`)."""
    model = po.load_model("mouse")
    model.attach(model.require_parameter_set().with_values(UNCALIBRATED_THERAPY))
    return model


@pytest.fixture(scope="session")
def rat() -> po.Model:
    return po.load_model("rat")


@pytest.fixture(scope="session", params=["human", "mouse"])
def species_model(request, human, mouse) -> po.Model:
    return {"human": human, "mouse": mouse}[request.param]


def mouse_induction() -> list[po.Dose]:
    """Cyclophosphamide 120 + busulfan 30 mg/kg i.p. at day 0."""
    return [
        po.Dose(0, "cyclophosphamide", 120, "mg/kg", "intraperitoneal"),
        po.Dose(0, "busulfan", 30, "mg/kg", "intraperitoneal"),
    ]


def human_course() -> list[po.Dose]:
    """Six cycles of cyclophosphamide 750 mg/m2 every 21 days from day 0."""
    return list(po.Dose(0, "cyclophosphamide", 750, "mg/m2").repeat(21, 6))


def insult_for(model: po.Model) -> list[po.Dose]:
    return human_course() if model.species == "human" else mouse_induction()


def random_parameters(model: po.Model, rng: np.random.Generator) -> po.ParameterSet:
    """A parameter set with every value drawn within its bounds (log-uniform on log scale)."""
    pset = model.parameter_set
    values = {}
    for name, p in pset.parameters.items():
        if p.scale == "log":
            values[name] = float(np.exp(rng.uniform(np.log(p.lower), np.log(p.upper))))
        else:
            values[name] = float(rng.uniform(p.lower, p.upper))
        values[name] = min(max(values[name], p.lower), p.upper)  # log/exp round-off
    # castrate FSH must exceed the reference level for the feedback to make sense; the bounds
    # of both sets guarantee it, and this keeps the draw honest if they change
    assert values["FSH_castrate"] > values["FSH_ref"]
    return pset.with_values(values)

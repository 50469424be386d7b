"""Non-negativity and boundedness for random parameters within bounds, over a year with doses."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import insult_for, random_parameters
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import poi_ode as po

FOLLICLES = ("F_prim", "F_prim_hit", "F_pri", "F_sec", "F_sa", "F_la", "F_atretic", "F_ovulated")


def _regimen(model):
    cells = 1e7 if model.species == "human" else 1e6
    return insult_for(model) + [
        po.Dose(30, "msc", cells, "cells", "intravenous"),
        po.Dose(60, "msc", cells, "cells", "intraovarian"),
        po.Dose(90, "exosome", 100, "ug", "depot"),
        po.Dose(120, "exosome", 1e11, "particles", "intravenous"),
        po.Dose(150, "msc", cells, "cells", "depot"),
    ]


@pytest.mark.slow
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), species=st.sampled_from(["human", "mouse"]))
def test_states_stay_non_negative_and_bounded(seed, species, human, mouse):
    model = {"human": human, "mouse": mouse}[species]
    params = random_parameters(model, np.random.default_rng(seed))
    tr = po.simulate(model, _regimen(model), t_end=365, params=params)
    y = tr.states
    assert np.all(np.isfinite(y))
    scale = np.maximum(np.abs(y).max(axis=0), 1.0)
    assert np.all(y >= -1e-6 * scale), [n for n, v in zip(model.state_names, y.min(axis=0)) if v < 0]
    # follicles: the total is conserved, so no pool exceeds it
    total = sum(tr[f][0] for f in FOLLICLES)
    for f in FOLLICLES:
        assert tr[f].max() <= total * (1 + 1e-6)
    # hormones: FSH cannot exceed its castrate level; the others are bounded by their inputs
    fsh_max = params["FSH_castrate"].in_unit(model.state("FSH").unit)
    assert tr["FSH"].max() <= fsh_max * (1 + 1e-6)
    # cells and vesicles never exceed what was given
    assert tr["M_total"].max() <= 3 * (1e7 if species == "human" else 1e6) * (1 + 1e-9)
    assert -1e-8 <= tr["Phi"].min() and tr["Phi"].max() < 1.0  # >= 0 within the solver tolerance (atol 1e-9)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), species=st.sampled_from(["human", "mouse"]))
def test_every_flow_rate_is_non_negative(seed, species, human, mouse):
    """At random non-negative states (zeros included) and random parameters within bounds."""
    model = {"human": human, "mouse": mouse}[species]
    rng = np.random.default_rng(seed)
    p = model.compiled.prepare(random_parameters(model, rng).vector(model))
    y = np.exp(rng.uniform(np.log(1e-6), np.log(1e7), (16, len(model.states))))
    y[rng.random(y.shape) < 0.3] = 0.0
    rates = model.compiled.flows(0.0, y, p)
    assert np.all(np.isfinite(rates))
    assert np.all(rates >= 0), [model.flows[k].description for k in np.unique(np.argwhere(rates < 0)[:, 1])]

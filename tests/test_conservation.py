"""Follicle flux balance: what leaves a pool enters the next pool or a sink."""
from __future__ import annotations

import numpy as np
import sympy as sp

import poi_ode as po
from conftest import insult_for

FOLLICLE_STATES = ("F_prim", "F_pri", "F_sec", "F_sa", "F_la", "F_atretic", "F_ovulated")


def test_every_follicle_flow_stays_among_follicles(species_model):
    for f in species_model.flows:
        if f.source in FOLLICLE_STATES or f.target in FOLLICLE_STATES:
            assert f.source in FOLLICLE_STATES and f.target in FOLLICLE_STATES, f.description


def test_follicle_total_is_conserved_symbolically(species_model):
    rhs = dict(zip(species_model.state_names, species_model.rhs_expressions()))
    assert sp.simplify(sum(rhs[name] for name in FOLLICLE_STATES)) == 0


def test_follicle_total_is_conserved_along_a_treated_simulation(species_model):
    regimen = insult_for(species_model) + [
        po.Dose(20, "msc", 1e6, "cells", "intravenous"),
        po.Dose(40, "exosome", 100, "ug", "depot"),
    ]
    tr = po.simulate(species_model, regimen, t_end=365)
    total = sum(tr[name] for name in FOLLICLE_STATES)
    np.testing.assert_allclose(total, total[0], rtol=1e-7)
    # and the cumulative sinks only grow
    assert np.all(np.diff(tr["F_atretic"]) >= -1e-9 * total[0])
    assert np.all(np.diff(tr["F_ovulated"]) >= -1e-9 * total[0])


def test_msc_mass_balance_after_intravenous_dose(human):
    """Cells alive plus cells lost by each exit equal the dose (integrated loss flows)."""
    model = human
    dose = 1e6
    tr = po.simulate(model, [po.Dose(0, "msc", dose, "cells", "intravenous")], times=np.r_[0.0, np.geomspace(1e-6, 60, 6000)])
    p = model.compiled.prepare(tr.parameters.vector(model))
    rates = model.compiled.flows(tr.time, tr.states, p)
    msc_states = {"M_iv", "M_lung", "M_ov", "M_ip", "M_dep"}
    losses = [k for k, f in enumerate(model.flows) if f.source in msc_states and f.target is None]
    lost = sum(np.trapezoid(rates[:, k], tr.time) for k in losses)
    alive = tr["M_total"][-1]
    assert abs(alive + lost - dose) < 1e-3 * dose

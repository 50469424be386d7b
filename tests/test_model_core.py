"""Validation of modules and composed models: each malformed construct is named."""
from __future__ import annotations

import pytest
import sympy as sp

import poi_ode as po
from poi_ode.model import build_module, compose
from poi_ode.model.core import Model, Module


def _simple(name: str = "a") -> Module:
    m = Module(name, "test module")
    x = m.state(f"x_{name}", "cells", "amount")
    k = m.param(f"k_{name}", "1/day", "rate")
    m.flow(x, None, k * x, "loss")
    return m


def test_undefined_symbol_is_named():
    m = Module("bad", "references a symbol nobody defines")
    x = m.state("x", "cells", "amount")
    m.flow(x, None, sp.Symbol("ghost", real=True, nonnegative=True) * x, "loss")
    with pytest.raises(po.ModelError, match="ghost"):
        Model([m])


def test_name_clash_is_named():
    a, b = _simple("a"), Module("b", "clash")
    b.state("x_a", "cells", "same name as module a's state")
    with pytest.raises(po.ModelError, match="name clash.*x_a"):
        Model([a, b])


def test_parameter_declared_differently_is_reported():
    a, b = _simple("a"), _simple("b")
    b.param("k_a", "1/h", "same name, other unit")
    with pytest.raises(po.ModelError, match="k_a"):
        Model([a, b])


def test_leaking_outflow_is_rejected():
    m = Module("leak", "an outflow that does not vanish when the source is empty")
    x = m.state("x", "cells", "amount")
    k = m.param("k", "cells/day", "constant drain")
    m.flow(x, None, k, "drain")
    with pytest.raises(po.ModelError, match="leaks"):
        Model([m])


def test_dimensionally_wrong_rate_is_rejected():
    m = Module("units", "rate in the wrong units")
    x = m.state("x", "cells", "amount")
    k = m.param("k", "1/day", "rate")
    m.flow(x, None, k * x * x, "second-order loss without a per-cell constant")
    with pytest.raises(po.ModelError, match="units"):
        Model([m])


def test_adding_incompatible_units_is_rejected():
    m = Module("sum", "adds cells to a concentration")
    x = m.state("x", "cells", "amount")
    c = m.param("c", "ng/mL", "a concentration")
    k = m.param("k", "1/day", "rate")
    m.flow(None, x, k * (x + c), "nonsense production")
    with pytest.raises(po.ModelError, match="units"):
        Model([m])


def test_unknown_unit_is_named():
    m = Module("u", "unknown unit")
    x = m.state("x", "wombats", "amount")
    m.flow(x, None, m.param("k", "1/day", "rate") * x, "loss")
    with pytest.raises(po.ModelError, match="wombats"):
        Model([m])


def test_flow_between_states_of_other_units_is_rejected():
    m = Module("mix", "moves cells into a concentration")
    x = m.state("x", "cells", "amount")
    y = m.state("y", "ng/mL", "level")
    m.flow(x, y, m.param("k", "1/day", "rate") * x, "transfer")
    with pytest.raises(po.ModelError, match="moves"):
        Model([m])


def test_module_may_not_move_another_modules_state():
    a = _simple("a")
    b = Module("b", "moves a's state")
    xa = sp.Symbol("x_a", real=True, nonnegative=True)
    b.flow(xa, None, b.param("kb", "1/day", "rate") * xa, "steal")
    with pytest.raises(po.ModelError, match="own states"):
        Model([a, b])


def test_dose_target_on_missing_state():
    m = _simple("a")
    m.dose("drug", "iv", sp.Symbol("nowhere"), "cells")
    with pytest.raises(po.ModelError, match="nowhere"):
        Model([m])


def test_subset_uses_neutral_inputs(human):
    # follicles and hormones alone: paracrine, cytokine and damage inputs take neutral values
    info = human.parameter_set.info
    sub = compose(["follicles", "hormones"], units=info["units"], structure=info["structure"])
    names = {i.name for i in sub.unresolved_inputs}
    assert {"Phi", "C_pro", "D", "cytotoxic_kill"} <= names
    assert not {"amh_signal", "ovulation_rate", "FSH"} & names  # provided by one module to the other
    full_rhs = dict(zip(human.state_names, human.rhs_expressions()))
    sub_rhs = dict(zip(sub.state_names, sub.rhs_expressions()))
    neutral = {sp.Symbol(n, real=True, nonnegative=True): 0 for n in human.state_names if n not in sub.state_names}
    neutral[sp.Symbol("C_pro", real=True, nonnegative=True)] = 1
    neutral[sp.Symbol("R_FSH", real=True, nonnegative=True)] = 1  # fully responsive follicles
    # with the other modules' states at their neutral values the equations coincide
    for name, expr in sub_rhs.items():
        assert sp.simplify(full_rhs[name].xreplace(neutral) - expr) == 0, name


def test_replace_module_keeps_the_rest(human):
    slower = Module("msc", "a one-compartment MSC module")
    m = slower.state("M_ov", "cells", "MSCs in the ovary")
    slower.flow(m, None, slower.half_life("t_half_M_ov", "day", "half-life") * m, "death")
    slower.dose("msc", "intraovarian", m, "cells", default_route=True)
    replaced = human.replace(slower)
    assert "M_iv" not in replaced.state_names and "M_ov" in replaced.state_names
    assert [mod.name for mod in replaced.modules] == [mod.name for mod in human.modules]
    # the paracrine module still reads M_ov; the intravenous route is gone
    with pytest.raises(po.DosingError, match="intravenous"):
        replaced.dose_target("msc", "intravenous")


def test_unknown_module_name():
    with pytest.raises(po.ModelError, match="unknown module"):
        build_module("liver")


def test_model_without_a_module(human):
    smaller = human.without("exosome")
    assert "X_pl" not in smaller.state_names
    with pytest.raises(po.DosingError, match="unknown agent 'exosome'"):
        smaller.dose_target("exosome", None)


def test_untreated_course_depends_only_on_its_derived_parameters(human):
    """Therapy and chemotherapy parameters drop out of the untreated course (so healthy states
    are cached by the natural-history parameters only): integrating from birth anew with one of
    them doubled gives the same state at 30 y; doubling k_act does not."""
    import sys

    import numpy as np

    sim = sys.modules["poi_ode.simulate"]  # the module (po.simulate is the function)
    kept = {human.parameter_names[i] for i in sim.natural_history_parameters(human)}
    assert {"k_act", "F_prim_start", "FSH_castrate"} <= kept
    assert not {"s_M", "kill_cyclophosphamide", "t_half_P", "poi_reserve_fraction"} & kept
    reference = sim.healthy_state(human, age=30.0)

    def integrated(name):
        pset = human.parameter_set.with_values({name: 2 * human.parameter_set[name].value})
        start = sim._start_state(human, pset)
        return sim.simulate(human, None, times=[0.0, 30 * 365.25], params=pset, initial=start,
                            rtol=1e-10, atol=1e-12).states[-1]

    kept_states = ~np.array(human.compiled.sinks)  # healthy states count the sinks from their own day 0
    for name in ("s_M", "kill_cyclophosphamide", "t_half_P"):
        np.testing.assert_allclose(integrated(name)[kept_states], reference[kept_states], rtol=1e-8, atol=1e-10,
                                   err_msg=name)
    assert not np.allclose(integrated("k_act")[kept_states], reference[kept_states], rtol=1e-3)


def _ovulation_per_quota(order: int, flux_over_quota: float) -> float:
    """Ovulations per day over the quota, from the follicle module's symbolic ovulation rate, for a
    maturing large antral flux of ``flux_over_quota`` times the quota (one large antral compartment)."""
    import sympy as sp

    from poi_ode.model.follicles import follicle_module

    module = follicle_module(ovulation_order=order)
    rate = next(a.expr for a in module.assignments if a.name == "ovulation_rate")
    q, tau, s = 1 / 28, 20.0, 0.5
    values = {"ovulation_quota": q, "tau_la": tau, "s_la": s, "F_la": flux_over_quota * q * tau / s}
    return float(rate.subs({sp.Symbol(k, real=True, nonnegative=True): v for k, v in values.items()})) / q


def test_ovulation_order_steepens_ovulation_below_the_quota_only():
    """Order n: below the quota, doubling the maturing flux multiplies ovulation by 2**n; well above
    it, ovulation is the quota whatever the order; order 1 is the module's default."""
    from poi_ode.model.follicles import follicle_module

    for n in (1, 3):
        low = _ovulation_per_quota(n, 0.01)
        assert _ovulation_per_quota(n, 0.02) / low == pytest.approx(2.0**n, rel=1e-6)
        assert _ovulation_per_quota(n, 20.0) == pytest.approx(1.0, rel=1e-4)
    assert _ovulation_per_quota(3, 0.5) < 0.3 * _ovulation_per_quota(1, 0.5)  # about 0.5**2
    default = next(a.expr for a in follicle_module().assignments if a.name == "ovulation_rate")
    first = next(a.expr for a in follicle_module(ovulation_order=1).assignments if a.name == "ovulation_rate")
    assert default == first


@pytest.mark.parametrize("order", [0, 2.5, True, "3"])
def test_bad_ovulation_order_is_named(order):
    from poi_ode.model.follicles import follicle_module

    with pytest.raises(po.ModelError, match="ovulation_order"):
        follicle_module(ovulation_order=order)


def test_ovulation_order_is_a_structural_choice_of_the_set():
    """``[structure] ovulation_order = {value, source}`` reaches the follicle module."""
    from poi_ode.model.follicles import follicle_module

    def rate(module):
        return next(a.expr for a in module.assignments if a.name == "ovulation_rate")

    chosen = rate(build_module("follicles", structure={"ovulation_order": {"value": 2, "source": "test"}}))
    assert chosen == rate(follicle_module(ovulation_order=2))
    assert chosen != rate(follicle_module())

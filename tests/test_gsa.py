"""Global sensitivity (Morris, Sobol'): closed forms, structural zeros, executors, bad input, figures."""
from __future__ import annotations

import io
import math
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import poi_ode as po
from poi_ode.model.core import Model, Module
from poi_ode.parameters import Parameter, ParameterSet

pytest.importorskip("SALib", reason="the gsa extra is not installed")
from poi_ode.sensitivity import GlobalSensitivity, morris, sobol

INDUCTION = [po.Dose(0, "cyclophosphamide", 120, "mg/kg", "intraperitoneal"),
             po.Dose(0, "busulfan", 30, "mg/kg", "intraperitoneal")]
MSC = {"agent": "msc", "dose": 1e6, "route": "intraovarian", "schedule": [14], "background": INDUCTION}
MIXED = ["s_M", "t_half_M_ov", "kill_cyclophosphamide", "t_half_X_ov", "f_X_ov", "s_X"]
EXOSOME = ["t_half_X_ov", "f_X_ov", "s_X"]  # act only through exosome states, empty when only MSCs are given
T = 10.0


@pytest.fixture(scope="module")
def toy() -> Model:
    """x' = a b + e from x(0) = 0, so x(T) = (a b + e) T; y' = -c y from y(0) = 1.

    With a ~ U(1, 3), b ~ U(0, 2), e ~ U(0, 4) independent, Var(x/T) = 16/9 + 4/3 = 28/9 and
    V_a = Var(a) E(b)^2 = 1/3, V_b = Var(b) E(a)^2 = 4/3, V_ab = 1/9, V_e = 4/3, so
    S1 = (3, 12, 12)/28 and ST = (4, 13, 12)/28 for (a, b, e); c does not enter x at all.
    """
    m = Module("toy", "x accumulates at a b + e; y decays at rate c")
    x = m.state("x", "cells", "accumulating amount")
    y = m.state("y", "cells", "decaying amount")
    a, b, e = m.param("a", "cells/day", "rate"), m.param("b", "1", "factor"), m.param("e", "cells/day", "rate")
    c = m.param("c", "1/day", "decay rate")
    m.flow(None, x, a * b + e, "production")
    m.flow(y, None, c * y, "loss")
    model = Model([m], "toy")

    def p(name, value, unit, lower, upper, scale):
        return Parameter(name, value, unit, lower, upper, scale, "assumption", "test value")

    model.attach(ParameterSet("toy", "test set", {
        "a": p("a", 2.0, "cells/day", 1.0, 3.0, "lin"), "b": p("b", 1.0, "1", 0.0, 2.0, "lin"),
        "e": p("e", 2.0, "cells/day", 0.0, 4.0, "lin"), "c": p("c", 0.1, "1/day", 0.01, 1.0, "log"),
    }))
    return model


TOY = {"endpoints": [f"x@{T:g}", f"y@{T:g}"], "initial": {"y": 1.0}}


def test_sobol_indices_match_the_closed_form(toy):
    res = sobol(toy, n_base=1024, seed=2, **TOY)
    wide = res.to_frame(wide=True).set_index(["endpoint", "parameter"])
    x = wide.loc["x@10"]
    for name, s1, st in (("a", 3 / 28, 4 / 28), ("b", 12 / 28, 13 / 28), ("e", 12 / 28, 12 / 28)):
        assert x.loc[name, "S1"] == pytest.approx(s1, abs=0.02), name
        assert x.loc[name, "ST"] == pytest.approx(st, abs=0.02), name
    assert x.loc["b", "ST"] - x.loc["b", "S1"] > 0.02  # the interaction a b is seen ...
    assert abs(x.loc["e", "ST"] - x.loc["e", "S1"]) < 0.01  # ... and the additive e has none
    assert abs(x.loc["c", "S1"]) < 1e-6 and abs(x.loc["c", "ST"]) < 1e-6
    assert list(x.index[:3]) == ["b", "e", "a"]  # ranked by ST
    y = wide.loc["y@10"]  # y depends on c alone
    assert y.loc["c", "ST"] == pytest.approx(1.0, abs=0.02) and y.loc["c", "S1"] == pytest.approx(1.0, abs=0.02)
    assert y.drop("c")["ST"].abs().max() < 1e-6
    assert res.n_evaluations == 1024 * (4 + 2) == len(res.sample) == len(res.outputs)
    # log-uniform sampling of the log-scaled c: within bounds, half the points below the geometric mean
    c = res.sample[:, res.parameters.index("c")]
    assert c.min() >= 0.01 and c.max() <= 1.0
    assert np.mean(c < 0.1) == pytest.approx(0.5, abs=0.03)
    np.testing.assert_allclose(res.outputs[:, 0], T * (res.sample[:, 0] * res.sample[:, 1] + res.sample[:, 2]),
                               rtol=1e-6)


def test_morris_elementary_effects_of_the_closed_form(toy):
    res = morris(toy, trajectories=8, seed=5, **TOY)
    assert res.n_evaluations == 8 * (4 + 1)
    x = res.to_frame(wide=True).set_index(["endpoint", "parameter"]).loc["x@10"]
    # x is linear in e: every elementary effect is T times e's range, so sigma is 0
    assert x.loc["e", "mu_star"] == pytest.approx(T * 4.0, rel=1e-9)
    assert x.loc["e", "sigma"] == pytest.approx(0.0, abs=1e-9)
    # x is a b T: the effect of a is T (3 - 1) b, whose spread sigma > 0 flags the interaction
    assert x.loc["a", "sigma"] > 1.0
    assert x.loc["c", "mu_star"] < 1e-9 * x["mu_star"].max()
    assert x.index[-1] == "c"
    table = res.table
    assert set(table["index"]) == {"mu", "mu_star", "sigma", "mu_star_conf"}
    assert set(table.loc[table["endpoint"] == "x@10", "unit"]) == {"cells"}


def test_exosome_parameters_have_no_effect_after_an_msc_dose(mouse):
    mor = morris(mouse, ["AMH@42", "FSH@42"], MIXED, trajectories=4, seed=3, executor="serial", **MSC)
    sob = sobol(mouse, ["AMH@42"], MIXED, n_base=16, seed=3, executor="serial", **MSC)
    assert mor.failures.empty and sob.failures.empty
    for res, key in ((mor, "mu_star"), (sob, "ST"), (sob, "S1")):
        t = res.table[res.table["index"] == key]
        exo = t[t["parameter"].isin(EXOSOME)]["value"]
        assert (exo == 0.0).all(), (key, exo)  # structurally absent: exactly zero
        other = t[~t["parameter"].isin(EXOSOME)]
        assert (other.groupby("endpoint")["value"].max() > 0).all()  # while MSC/insult parameters act
    assert mor.regimen == po.Regimen([*INDUCTION, po.Dose(14, "msc", 1e6, "cells", "intraovarian")])


def test_indices_do_not_depend_on_the_executor(mouse, toy):
    # s_M beyond its declared upper bound: the widened bounds must reach the worker processes too
    kw = dict(endpoints=["AMH@42"], parameters=["s_M", "t_half_M_ov", "kill_cyclophosphamide"],
              bounds={"s_M": (1e-9, 1e-3)}, trajectories=3, seed=11, chunk_size=3, **MSC)
    serial = morris(mouse, executor="serial", **kw)
    with ProcessPoolExecutor(max_workers=2) as pool:
        pooled = morris(mouse, executor=pool, **kw)
    assert serial.sample[:, 0].max() > mouse.parameter_set["s_M"].upper
    np.testing.assert_array_equal(serial.sample, pooled.sample)
    np.testing.assert_array_equal(serial.outputs, pooled.outputs)
    assert serial.table.equals(pooled.table)
    # threads, and a custom model (which runs serially whatever the executor)
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = sobol(toy, n_base=8, seed=1, executor=pool, chunk_size=7, **TOY)
    assert threaded.table.equals(sobol(toy, n_base=8, seed=1, executor="serial", **TOY).table)


class Fragile:
    """x at day 10, but NaN where e > 3 (stands in for a failed simulation)."""

    name = "fragile x@10"

    def unit(self, model):
        return model.units()["x"]

    def times(self, model):
        return [T]

    def __call__(self, tr):
        return math.nan if tr.parameters["e"].value > 3.0 else tr.at(T, "x")


def test_failed_rows_are_named_or_imputed_and_flagged(toy):
    kw = {"endpoints": [Fragile(), "x@10"], "initial": {"y": 1.0}, "trajectories": 6, "seed": 4}
    with pytest.raises(po.SimulationError, match=r"evaluations failed.*row \d+ \(a=[^)]*e=4, c=") as info:
        morris(toy, **kw)
    failures = info.value.failures
    assert len(failures) > 0 and (failures["e"] > 3).all() and set(failures["failed_endpoints"]) == {"fragile x@10"}
    res = morris(toy, on_failure="impute", **kw)
    assert res.imputed and len(res.failures) == int(np.sum(res.sample[:, 2] > 3))
    assert np.isnan(res.outputs[res.failures["row"], 0]).all() and np.isfinite(res.outputs[:, 1]).all()
    assert "imputed" in res.note and "imputed" in res.plot().get_suptitle()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"parameters": ["a", "zeta"]}, "unknown parameter.*zeta"),
        ({"parameters": ["a", "a"]}, "'a'.*more than once"),
        ({"endpoints": ["Prolactin@10"]}, "Prolactin"),
        ({"bounds": {"a": (3.0, 1.0)}}, "'a'.*lower < upper"),
        ({"bounds": {"a": (2.0, 2.0)}}, "'a'.*lower < upper"),
        ({"bounds": {"c": (0.0, 1.0)}}, "'c'.*log scale"),
        ({"bounds": {"c": (-1.0, 1.0)}}, "'c'"),
        ({"bounds": {"a": 3.0}}, "bounds of 'a'"),
        ({"parameters": ["a"], "bounds": {"b": (0.0, 1.0)}}, "'b'.*not among"),
        ({"trajectories": 0}, "trajectories"),
        ({"levels": 3}, "levels must be even"),
        ({"seed": -1}, "seed"),
        ({"on_failure": "ignore"}, "on_failure"),
        ({"agent": "msc", "dose": 1e6}, "unknown agent"),
    ],
)
def test_bad_morris_input_names_the_item(toy, kwargs, match):
    args = dict(TOY, **kwargs)
    with pytest.raises(po.PoiOdeError, match=match):
        morris(toy, **args)


@pytest.mark.parametrize("n_base, match", [(0, "n_base"), (-4, "n_base"), (100, "power of 2"), (2.5, "n_base")])
def test_bad_sobol_sample_size(toy, n_base, match):
    with pytest.raises(po.ParameterError, match=match):
        sobol(toy, n_base=n_base, **TOY)


def test_bad_bounds_on_the_species_model_name_the_parameter(mouse):
    with pytest.raises(po.ParameterError, match="f_lung"):  # a fraction cannot exceed 1
        morris(mouse, ["AMH@42"], ["f_lung"], bounds={"f_lung": (0.3, 1.5)})
    with pytest.raises(po.DosingError, match="after the last endpoint day"):
        morris(mouse, ["AMH@42"], ["s_M"], agent="msc", dose=1e6, schedule=[60])


def test_missing_salib_names_the_extra(toy, monkeypatch):
    for name in [n for n in sys.modules if n == "SALib" or n.startswith("SALib.")] + ["SALib"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(po.PoiOdeError, match=r'pip install "poi-ode\[gsa\]"'):
        morris(toy, **TOY)


def test_figures_have_one_panel_per_endpoint(toy):
    import matplotlib.figure

    mor = morris(toy, trajectories=4, seed=1, **TOY)
    sob = sobol(toy, n_base=16, seed=1, second_order=True, **TOY)
    assert isinstance(mor, GlobalSensitivity)
    for res, panels in ((mor, 2), (sob, 2)):
        fig = res.plot()
        assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == panels
        fig.savefig(io.BytesIO(), format="png", dpi=60)
    assert len(sob.plot(endpoints=["y@10"]).axes) == 1
    s2 = sob.table[sob.table["index"] == "S2"]
    assert len(s2) == 2 * 6 and s2["partner"].notna().all()  # 4 parameters: 6 pairs per endpoint
    labels = [t.get_text() for t in mor.plot().axes[0].texts]
    assert "e" in labels and "c" not in labels  # parameters without effect are not labelled
    with pytest.raises(po.ParameterError, match="FSH@3"):
        mor.plot(endpoints=["FSH@3"])

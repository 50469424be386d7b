"""Bad input gets a clear poi_ode error naming the offending item."""
from __future__ import annotations

import math

import numpy as np
import pytest

import poi_ode as po


@pytest.mark.parametrize(
    "dose, match",
    [
        (dict(time=0, agent="msc", amount=-1, unit="cells"), "amount -1 is negative"),
        (dict(time=0, agent="msc", amount=math.nan, unit="cells"), "amount is nan"),
        (dict(time=-2, agent="msc", amount=1, unit="cells"), "time -2 is negative"),
        (dict(time=0, agent="msc", amount="lots", unit="cells"), "amount 'lots' is not a number"),
        (dict(time=0, agent="", amount=1, unit="cells"), "agent must be"),
    ],
)
def test_malformed_dose(dose, match):
    with pytest.raises(po.DosingError, match=match):
        po.Dose(**dose)


@pytest.mark.parametrize(
    "dose, match",
    [
        (po.Dose(0, "aspirin", 1, "mg/kg"), "unknown agent 'aspirin'"),
        (po.Dose(0, "msc", 1e6, "cells", "intranasal"), "unknown route 'intranasal'"),
        (po.Dose(0, "msc", 1e6, "mg/kg", "intravenous"), "unit 'mg/kg' cannot be used for msc"),
        (po.Dose(0, "exosome", 1, "wombats", "intravenous"), "wombats"),
        (po.Dose(0, "cyclophosphamide", 5, "mg/L"), "unit 'mg/L' cannot be used for cyclophosphamide"),
    ],
)
def test_dose_the_model_cannot_take(human, dose, match):
    with pytest.raises(po.DosingError, match=match):
        po.simulate(human, [dose], t_end=10)


def test_dose_after_end(human):
    with pytest.raises(po.DosingError, match="day 20 is after the end of the simulation"):
        po.simulate(human, [po.Dose(20, "msc", 1e6, "cells")], t_end=10)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(times=[0, 5, 5, 10]), "not strictly increasing"),
        (dict(times=[0, 10, 5]), "not strictly increasing"),
        (dict(times=[-1, 5]), "start at -1"),
        (dict(times=[0, np.nan]), "non-finite"),
        (dict(t_end=-3), "t_end must be a positive"),
        (dict(), "give t_end or times"),
        (dict(t_end=10, method="Euler"), "method must be one of"),
        (dict(t_end=10, initial="sick"), "initial must be"),
        (dict(t_end=10, initial={"F_prim": -5}), "'F_prim' is -5"),
        (dict(t_end=10, initial={"liver": 1}), "unknown state 'liver'"),
    ],
)
def test_bad_simulation_arguments(human, kwargs, match):
    with pytest.raises(po.ParameterError, match=match):
        po.simulate(human, None, **kwargs)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"t_half_AMH": -1.0}, "'t_half_AMH': value -1 is negative"),
        ({"t_half_AMH": math.nan}, "'t_half_AMH': value nan is not finite"),
        ({"t_half_AMH": 1000.0}, r"'t_half_AMH': value 1000 h is outside its bounds \[20, 40\] h"),
        ({"f_lung": "most"}, "'f_lung': value 'most' is not a number"),
        ({"no_such_parameter": 1.0}, "unknown parameter 'no_such_parameter'"),
    ],
)
def test_bad_parameters(human, params, match):
    with pytest.raises(po.ParameterError, match=match):
        po.simulate(human, None, t_end=10, params=params)


def test_parameter_with_unit_is_converted(human):
    """(value, unit) pairs convert: 1.15 day is the sourcebook's 27.6 h."""
    a = po.simulate(human, None, t_end=5, params={"t_half_AMH": (1.15, "day")})
    b = po.simulate(human, None, t_end=5, params={"t_half_AMH": 27.6})
    np.testing.assert_allclose(a["AMH"], b["AMH"], rtol=1e-12)


def test_solver_failure_names_time_and_state(human):
    with pytest.raises(po.SimulationError, match=r"solver failed at day [0-9.e+-]+: state '\w+'"):
        po.simulate(human, [po.Dose(0, "cyclophosphamide", 100, "mg/kg")], t_end=100, max_steps=5)


@pytest.mark.parametrize("method", ["LSODA", "BDF", "Radau", "auto"])
def test_overflowing_states_fail_with_a_day_and_a_state(mouse, method):
    """An initial FSH of 1e308 overflows the right-hand side: every solver reports it as a SimulationError with
    the day and a state (odeint reported success on overflowed states; BDF and Radau raised scipy's ValueError)."""
    with pytest.raises(po.SimulationError, match=r"solver failed at day 0: state '\w+'") as caught:
        po.simulate(mouse, [], times=[0, 1, 2], method=method, initial={"FSH": 1e308})
    assert "Integration successful" not in str(caught.value)


def test_unknown_species():
    with pytest.raises(po.ParameterError, match="unknown species 'dragon'"):
        po.load_model("dragon")


def test_a_fit_config_that_is_not_utf8_is_named(tmp_path, capsys):
    """Found by the fuzz test: a config with a non-UTF-8 byte raised UnicodeDecodeError."""
    from poi_ode.cli import main

    config = tmp_path / "config.toml"
    config.write_bytes(b'name = "x"\n\x80\n')
    assert main(["fit", str(config)]) == 2
    assert "config.toml: fit config is not UTF-8 text" in capsys.readouterr().err


def test_a_model_without_parameter_set_is_named():
    from poi_ode.model import compose

    model = compose(["insult", "follicles"], name="bare")
    assert model.parameter_set is None
    with pytest.raises(po.ModelError, match="model 'bare' has no parameter set attached"):
        model.require_parameter_set()
    human = po.load_model("human")
    assert human.require_parameter_set() is human.parameter_set


def test_a_fit_config_without_data_is_named(tmp_path):
    """An empty ``data`` list raised AttributeError on None (found by mypy)."""
    from poi_ode.fitting.config import run_config

    config = tmp_path / "empty.toml"
    config.write_text('name = "empty"\nspecies = "human"\ndata = []\n', encoding="utf-8")
    with pytest.raises(po.ParameterError, match="empty.toml: 'data' lists no dataset"):
        run_config(config)


def test_a_warm_newton_step_that_does_not_balance_falls_back_to_relaxation(monkeypatch, mouse):
    """A warm Newton result that failed the balance check used to end in an UnboundLocalError (the error
    message read a name the relaxation loop never set); now the steady state is relaxed from scratch and
    equals the one found normally."""
    import importlib

    simulate_module = importlib.import_module("poi_ode.simulate")  # the module, not po.simulate the function
    params = {"k_act": mouse.parameter_set["k_act"].value * 1.01}
    expected = po.steady_state(mouse, params)
    simulate_module._STEADY_CACHE.clear()
    # a converged-looking Newton result that is not at rest: the reference steady state scaled by 1.5
    monkeypatch.setattr(simulate_module, "_warm_newton",
                        lambda start, idx, *args, **kwargs: None if start is None else 1.5 * start[idx])
    again = po.steady_state(mouse, params)
    np.testing.assert_allclose(again, expected, rtol=1e-6, atol=1e-9)
    simulate_module._STEADY_CACHE.clear()

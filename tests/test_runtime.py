"""A user's own use at run time (issue 13): values between output times, a cache that heals
itself, and the main job from any folder."""
from __future__ import annotations

import numpy as np
import pytest

import poi_ode as po
from poi_ode.errors import ParameterError

RTOL = 1e-6


# --------------------------------------------------------------------------- values between output times
@pytest.mark.parametrize("method", ["auto", "LSODA"])
def test_at_between_output_times_matches_a_run_with_that_time(mouse, method):
    """A dose at day 10.5 falls between daily output times; day 10.7 is not an output time.
    ``at`` must give the value a run whose output times include 10.7 gives, to the solver's
    accuracy, for a state that jumps at the dose (so no interpolation between days would do)."""
    regimen = [po.Dose(10.5, "cyclophosphamide", 120, "mg/kg", "intraperitoneal")]
    tr = po.simulate(mouse, regimen, t_end=30, method=method, rtol=RTOL)
    assert 10.7 not in tr.time
    reference = po.simulate(mouse, regimen, times=[0.0, 5.0, 10.7, 20.0, 30.0], method=method, rtol=RTOL)
    for name in ("A_cyclophosphamide", "AMH", "F_prim", "D"):
        want = reference.at(10.7, name)
        assert tr.at(10.7, name) == pytest.approx(want, rel=20 * RTOL, abs=1e-9), name
    # neither a neighbouring output time nor linear interpolation between them would pass
    value = tr.at(10.7, "A_cyclophosphamide")
    k = int(np.searchsorted(tr.time, 10.7))
    for other in (tr["A_cyclophosphamide"][k - 1], tr["A_cyclophosphamide"][k],
                  np.interp(10.7, tr.time, tr["A_cyclophosphamide"])):
        assert abs(other - value) > 1e3 * RTOL * abs(value)


def test_at_output_times_stays_exact_and_outside_the_span_says_how(mouse):
    tr = po.simulate(mouse, None, t_end=20)
    k = 7
    assert tr.at(float(tr.time[k]), "AMH") == tr["AMH"][k]  # the stored value, not a new run
    with pytest.raises(ParameterError, match=r"outside the simulated span 0-20 days.*t_end .*at least 25"):
        tr.at(25.0, "AMH")
    with pytest.raises(ParameterError, match="outside the simulated span"):
        tr.at(-1.0, "AMH")
    with pytest.raises(KeyError, match="neither a state nor an output"):
        tr.at(3.5, "nonsense")


def test_batch_between_output_times_says_to_add_the_time(mouse):
    batch = po.simulate_batch(mouse, [None, None], times=[0.0, 10.0, 20.0])
    assert batch.at(10.0, "AMH").shape == (2,)
    with pytest.raises(ParameterError, match="include 15 in times="):
        batch.at(15.0, "AMH")


def test_a_pickled_trajectory_keeps_values_not_the_model(mouse):
    import pickle

    tr = po.simulate(mouse, None, t_end=20)
    copy = pickle.loads(pickle.dumps(tr))
    np.testing.assert_array_equal(copy["AMH"], tr["AMH"])
    assert copy.at(float(tr.time[3]), "AMH") == tr["AMH"][3]
    with pytest.raises(ParameterError, match="cannot be simulated again"):
        copy.at(3.33, "AMH")

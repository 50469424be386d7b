"""Pooling maths of poi_ode.mbma against a published worked example, exact distributions and closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from poi_ode.errors import ParameterError
from poi_ode.mbma import (
    Pooled,
    hedges_correction,
    pool_fixed,
    pool_random,
    se_from_ci,
    smd_variance,
    tau2_from_I2,
)

# --- the published worked example: the BCG vaccine trials ----------------------------------------
#
# Data: the 13 BCG vaccine trials of Colditz et al. 1994 (JAMA 271:698-702), data set ``dat.bcg`` of the R package
# metafor (Viechtbauer 2010, J Stat Softw 36(3)), columns tpos, tneg, cpos, cneg (tuberculosis cases and non-cases in
# the vaccinated and control arms), as copied in the JASP data library:
# https://raw.githubusercontent.com/jasp-stats/jasp-data-library/main/BCG%20Vaccine/BCG%20Vaccine.csv
# (which also prints each trial's log odds ratio ``ES`` and its standard error ``SE`` to 4 decimals: BCG_ES, BCG_SE).
#
# Printed results: metafor's test "Checking misc: rma.uni() against metan with 'dat.bcg'",
# https://github.com/wviechtb/metafor/blob/master/tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r
# (escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg); values checked there against Stata's metan):
#   test "results match (FE model, measure='RR')":  rma(yi, vi, method="FE"): beta -0.4303, ci.lb -0.5097,
#       ci.ub -0.3509, zval -10.6247, QE 152.2330
#   test "results match (RE model w/ DL estimator, measure='RR')": rma(yi, vi, method="DL"): beta -0.7141,
#       ci.lb -1.0644, ci.ub -0.3638, zval -3.9952, tau2 0.3088, I2 92.1173 (percent)
#   test "results match (FE model, measure='OR')": beta -0.4361, ci.lb -0.5190, ci.ub -0.3533, zval -10.3190,
#       QE 163.1649
#   test "results match (RE model w/ DL estimator, measure='OR')": beta -0.7474, ci.lb -1.1242, ci.ub -0.3706,
#       zval -3.8873, tau2 0.3663, I2 92.6455
BCG_TPOS = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]
BCG_TNEG = [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886]
BCG_CPOS = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
BCG_CNEG = [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825]
BCG_ES = [-0.9387, -1.6662, -1.3863, -1.4564, -0.2191, -0.9581, -1.6338, 0.012, -0.4717, -1.4012, -0.3408, 0.4466,
          -0.0173]
BCG_SE = [0.5976, 0.4562, 0.6583, 0.1425, 0.2279, 0.0995, 0.4765, 0.0633, 0.2387, 0.2746, 0.1119, 0.7309, 0.2676]


def _bcg(measure: str = "RR") -> tuple[np.ndarray, np.ndarray]:
    """Log risk (or odds) ratios and their large-sample variances (escalc measure="RR" or "OR")."""
    tp, tn, cp, cn = (np.array(x, dtype=float) for x in (BCG_TPOS, BCG_TNEG, BCG_CPOS, BCG_CNEG))
    if measure == "OR":
        return np.log(tp / tn) - np.log(cp / cn), 1 / tp + 1 / tn + 1 / cp + 1 / cn
    y = np.log(tp / (tp + tn)) - np.log(cp / (cp + cn))
    v = 1 / tp - 1 / (tp + tn) + 1 / cp - 1 / (cp + cn)
    return y, v


def test_bcg_effects_are_the_printed_log_odds_ratios():
    y, v = _bcg("OR")
    np.testing.assert_allclose(y, BCG_ES, atol=5.1e-5)
    np.testing.assert_allclose(np.sqrt(v), BCG_SE, atol=5.1e-5)


def test_fixed_effect_reproduces_metafor_fe():
    y, v = _bcg()
    p = pool_fixed(y, v)
    assert isinstance(p, Pooled) and p.k == 13 and p.tau2 == 0
    assert p.estimate == pytest.approx(-0.4303, abs=5e-5)
    assert p.ci_low == pytest.approx(-0.5097, abs=5e-5)
    assert p.ci_high == pytest.approx(-0.3509, abs=5e-5)
    assert p.estimate / p.se == pytest.approx(-10.6247, abs=5e-4)
    assert p.Q == pytest.approx(152.2330, abs=5e-4)


def test_dersimonian_laird_reproduces_metafor_dl():
    y, v = _bcg()
    p = pool_random(y, v, method="DL")
    assert p.estimate == pytest.approx(-0.7141, abs=5e-5)
    assert p.ci_low == pytest.approx(-1.0644, abs=5e-5)
    assert p.ci_high == pytest.approx(-0.3638, abs=5e-5)
    assert p.estimate / p.se == pytest.approx(-3.9952, abs=5e-4)
    assert p.tau2 == pytest.approx(0.3088, abs=5e-5)
    assert 100 * p.I2 == pytest.approx(92.1173, abs=5e-5)
    assert p.Q == pytest.approx(152.2330, abs=5e-4)
    assert sum(p.weights) == pytest.approx(1.0)


@pytest.mark.parametrize("measure, fe, dl", [
    ("RR", (-0.4303, -0.5097, -0.3509, -10.6247, 152.2330), (-0.7141, -1.0644, -0.3638, -3.9952, 0.3088, 92.1173)),
    ("OR", (-0.4361, -0.5190, -0.3533, -10.3190, 163.1649), (-0.7474, -1.1242, -0.3706, -3.8873, 0.3663, 92.6455)),
])
def test_both_measures_reproduce_metafor(measure, fe, dl):
    y, v = _bcg(measure)
    f, r = pool_fixed(y, v), pool_random(y, v)
    assert (f.estimate, f.ci_low, f.ci_high) == pytest.approx(fe[:3], abs=5e-5)
    assert (f.estimate / f.se, f.Q) == pytest.approx(fe[3:], abs=5e-4)
    assert (r.estimate, r.ci_low, r.ci_high, r.tau2) == pytest.approx(dl[:3] + dl[4:5], abs=5e-5)
    assert r.estimate / r.se == pytest.approx(dl[3], abs=5e-4)
    assert 100 * r.I2 == pytest.approx(dl[5], abs=5e-5)
    assert tau2_from_I2(v, dl[5] / 100) == pytest.approx(dl[4], abs=1e-4)


def test_tau2_from_the_published_I2_gives_the_published_tau2():  # noqa: N802
    _, v = _bcg()
    assert tau2_from_I2(v, 92.1173 / 100) == pytest.approx(0.3088, abs=1e-4)


def test_se_from_the_published_ci_gives_the_published_z():
    # metafor DL: CI (-1.0644, -0.3638), estimate -0.7141, z -3.9952
    assert -0.7141 / se_from_ci(-1.0644, -0.3638) == pytest.approx(-3.9952, abs=2e-3)


# --- closed forms and properties ---------------------------------------------------------------------


def test_equal_variances_reduce_to_closed_forms():
    """Equal v: fixed = random = the plain mean; Q = sum((y - mean)^2)/v; C = (k-1)/v, tau2 = s^2 - v."""
    y = np.array([0.3, 1.1, -0.4, 2.0, 0.9])
    v = 0.2
    k = y.size
    s2 = np.var(y, ddof=1)
    f = pool_fixed(y, [v] * k)
    r = pool_random(y, [v] * k)
    assert f.estimate == pytest.approx(y.mean()) and r.estimate == pytest.approx(y.mean())
    assert f.Q == pytest.approx((k - 1) * s2 / v)
    assert r.tau2 == pytest.approx(max(0.0, s2 - v))
    assert r.se == pytest.approx(math.sqrt((v + r.tau2) / k))
    assert f.se == pytest.approx(math.sqrt(v / k))
    assert r.weights == pytest.approx((1 / k,) * k)


def test_homogeneous_effects_give_no_heterogeneity():
    p = pool_random([1.0, 1.0, 1.0], [0.1, 0.2, 0.4])
    assert p.tau2 == 0 and p.I2 == 0 and p.Q == pytest.approx(0)
    assert p == pool_fixed([1.0, 1.0, 1.0], [0.1, 0.2, 0.4])


def test_one_study_pools_to_itself():
    p = pool_random([2.5], [0.25])
    assert (p.estimate, p.se, p.k, p.tau2, p.I2) == (2.5, 0.5, 1, 0.0, 0.0)
    assert p.ci_high - p.ci_low == pytest.approx(2 * stats.norm.ppf(0.975) * 0.5)


def test_random_effects_widen_and_flatten_weights():
    y, v = _bcg()
    f, r = pool_fixed(y, v), pool_random(y, v)
    assert r.se > f.se
    assert max(r.weights) / min(r.weights) < max(f.weights) / min(f.weights)


@pytest.mark.parametrize("seed", range(5))
def test_tau2_from_I2_inverts_dersimonian_laird(seed):  # noqa: N802
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 15))
    v = rng.uniform(0.05, 1.0, k)
    y = rng.normal(1.0, 1.5, k)
    p = pool_random(y, v)
    assert tau2_from_I2(v, p.I2) == pytest.approx(p.tau2, rel=1e-9, abs=1e-12)
    # a tau2 given is used as it is
    assert pool_random(y, v, tau2=p.tau2) == p


def test_pooling_is_invariant_to_order_and_equivariant_to_shifts():
    y, v = _bcg()
    order = np.random.default_rng(1).permutation(y.size)
    a, b = pool_random(y, v), pool_random(y[order], v[order])
    assert b.estimate == pytest.approx(a.estimate) and b.tau2 == pytest.approx(a.tau2)
    c = pool_random(y + 3.0, v)
    assert c.estimate == pytest.approx(a.estimate + 3.0) and c.tau2 == pytest.approx(a.tau2)


# --- standardised mean differences ---------------------------------------------------------------


def test_hedges_correction_closed_form_and_approximation():
    # m = n1 + n2 - 2 = 2: Gamma(1) / (1 * Gamma(1/2)) = 1/sqrt(pi)
    assert hedges_correction(2, 2) == pytest.approx(1 / math.sqrt(math.pi))
    for n in (6, 10, 30, 100):
        m = 2 * n - 2
        assert hedges_correction(n, n) == pytest.approx(1 - 3 / (4 * m - 1), abs=0.04 / m**2)  # error O(1/m^2)
    assert 0 < hedges_correction(3, 4) < hedges_correction(30, 40) < 1


@pytest.mark.parametrize("n1, n2, delta", [(4, 4, 1.0), (6, 8, 2.5), (10, 10, 0.5)])
def test_hedges_correction_removes_the_bias_of_d_exactly(n1, n2, delta):
    """d = t sqrt(1/n1 + 1/n2), t noncentral t (m df, nc delta/sqrt(1/n1+1/n2)); E[J d] = delta."""
    scale = math.sqrt(1 / n1 + 1 / n2)
    mean_d = scale * stats.nct.mean(n1 + n2 - 2, delta / scale)
    assert mean_d > delta
    assert hedges_correction(n1, n2) * mean_d == pytest.approx(delta, rel=1e-9)


@pytest.mark.parametrize("n, delta", [(50, 0.5), (200, 2.0)])
def test_smd_variance_matches_the_exact_variance_in_large_samples(n, delta):
    scale = math.sqrt(2 / n)
    exact = scale**2 * stats.nct.var(2 * n - 2, delta / scale)
    assert smd_variance(delta, n, n) == pytest.approx(exact, rel=0.03)


def test_smd_variance_vectorises_and_grows_with_d():
    v = smd_variance(np.array([0.0, 1.0, 3.0]), 10, 12)
    assert v.shape == (3,) and np.all(np.diff(v) > 0)
    assert v[0] == pytest.approx(22 / 120)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: pool_fixed([], []), "nothing to pool"),
        (lambda: pool_fixed([1, 2], [0.1]), "effects has 2 values but variances has 1"),
        (lambda: pool_fixed([1, np.nan], [0.1, 0.1]), r"effects\[1\] is nan"),
        (lambda: pool_random([1, 2], [0.1, 0.0]), r"variances\[1\] is 0"),
        (lambda: pool_random([1, 2], [0.1, 0.1], method="REML"), "method: 'REML' is not one of"),
        (lambda: pool_random([1, 2], [0.1, 0.1], tau2=-1), "tau2"),
        (lambda: pool_fixed([1, 2], [0.1, 0.1], level=95), "level: 95"),
        (lambda: tau2_from_I2([0.1, 0.2], 88), "a percentage"),
        (lambda: tau2_from_I2([0.1], 0.5), "fewer than 2"),
        (lambda: se_from_ci(2.0, 1.0), "reversed"),
        (lambda: hedges_correction(1, 1), "n1 \\+ n2 > 2"),
        (lambda: smd_variance(0.5, 0, 5), "group sizes"),
    ],
)
def test_bad_input_is_a_parameter_error_naming_it(call, match):
    with pytest.raises(ParameterError, match=match):
        call()

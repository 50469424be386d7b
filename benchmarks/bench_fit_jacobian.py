"""Fit wall time and objective evaluations with finite-difference vs analytic (sensitivity) Jacobians.

Mouse, three arms of synthetic data (seeded), free s_M, p_protect and kill_cyclophosphamide;
medians of 3 repeats of each, side by side in one run.

    python benchmarks/bench_fit_jacobian.py
"""
from __future__ import annotations

import statistics
import time

import poi_ode as po
from poi_ode.data.synthetic import synthetic_dataset


def main() -> None:
    model = po.load_model("mouse")
    induction = "0:cyclophosphamide:120:mg/kg:intraperitoneal; 0:busulfan:30:mg/kg:intraperitoneal"
    arms = {"ctx": induction, "msc1": induction + "; 14:msc:1e6:cells:intraovarian",
            "msc4": induction + "; 14:msc:4e6:cells:intraovarian"}
    data = synthetic_dataset(model, arms, [7, 14, 21, 28, 42, 56], params={"s_M": 1e-6, "p_protect": 0.7}, seed=1)
    free = ["s_M", "p_protect", "kill_cyclophosphamide"]
    rows = {}
    for kind in ("fd", "analytic"):
        times, result = [], None
        for _ in range(3):
            t0 = time.perf_counter()
            result = po.fit(model, data, free=free, jacobian=kind)
            times.append(time.perf_counter() - t0)
        rows[kind] = (statistics.median(times), result.n_evaluations, result.chi2, result.status)
    for kind, (t, n, chi2, status) in rows.items():
        print(f"{kind:9s} median {t:6.2f} s  residual evaluations {n:4d}  chi2 {chi2:.6g}  {status}")
    print(f"time ratio fd/analytic: {rows['fd'][0] / rows['analytic'][0]:.2f}")


if __name__ == "__main__":
    main()

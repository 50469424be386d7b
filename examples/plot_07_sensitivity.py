"""
Global sensitivity: Morris screening
====================================

Which treatment and damage parameters drive the state at day 90 in the mouse model of
chemotherapy-induced POI (cyclophosphamide 120 mg/kg and busulfan 30 mg/kg on day 0) treated
with 1e6 intraovarian MSCs on day 14? :func:`poi_ode.sensitivity.morris` varies the named
parameters over their bounds (narrowed here for the two kill constants, as in the
:doc:`sensitivity page <../sensitivity>`) and ranks them by ``mu_star`` (mean absolute
elementary effect) and ``sigma`` (interactions and nonlinearity). Needs the ``gsa`` extra
(SALib).

The worked example of the sensitivity page uses 100 trajectories and 20 parameters; this one
uses 20 trajectories and 8 parameters to build in seconds, so its ranking is rougher.
"""
import importlib.util

import poi_ode as po

if importlib.util.find_spec("SALib") is None:
    print("the gsa extra (SALib) is not installed: nothing to show")
else:
    from poi_ode.sensitivity import morris

    mouse = po.load_model("mouse")
    background = po.Dose(0, "cyclophosphamide", 120, "mg/kg", route="intraperitoneal") + po.Dose(
        0, "busulfan", 30, "mg/kg", route="intraperitoneal")
    result = morris(
        mouse, ["FSH@90", "AUC:AMH@14-90", "F_prim@90"],
        ["t_half_M_ov", "s_M", "t_half_P", "p_protect", "r_repair_P", "b_act_D", "kill_cyclophosphamide",
         "kill_busulfan"],
        agent="msc", dose=1e6, route="intraovarian", schedule=[14], background=background,
        bounds={"kill_cyclophosphamide": (0.005, 0.03), "kill_busulfan": (0.005, 0.03)},
        trajectories=20, seed=0,
    )
    print(f"{result.n_evaluations} simulations in {result.elapsed:.1f} s. {result.note}")
    ranked = result.to_frame(wide=True)  # most influential first within each endpoint
    print(ranked.groupby("endpoint", sort=False).head(3)[["endpoint", "parameter", "mu_star", "sigma"]]
          .to_string(index=False))
    fig = result.plot(top=8)

"""
A first simulation
==================

A woman of 30 given high-dose cyclophosphamide conditioning (4 x 50 mg/kg), then a single
intraovarian MSC dose at day 30, against no MSCs. :func:`poi_ode.simulate` returns a
:class:`poi_ode.Trajectory`: values by name, at any day, and a figure.
"""
import matplotlib.pyplot as plt

import poi_ode as po

model = po.load_model("human")  # a woman of 30 (the human set's reference age)
chemo = po.Dose(0, "cyclophosphamide", 50, "mg/kg").repeat(every=1, count=4)

untreated = po.simulate(model, chemo, t_end=365)
treated = po.simulate(model, chemo + po.Dose(30, "msc", 1e7, "cells", route="intraovarian"), t_end=365)

for label, traj in (("chemotherapy only", untreated), ("then 1e7 MSCs at day 30", treated)):
    print(f"{label:>25}: day 90 AMH {traj.at(90, 'AMH'):.3f} ng/mL, FSH {traj.at(90, 'FSH'):.1f} IU/L")

# %%
# The trajectories of AMH, FSH, estradiol and the primordial pool:

fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
for label, traj in (("chemotherapy only", untreated), ("MSCs at day 30", treated)):
    for ax, name in zip(axes, ("AMH", "FSH", "E2", "F_prim")):
        ax.plot(traj.time, traj[name], label=label)
        ax.set_title(f"{name} ({traj.units.get(name, '')})")
        ax.set_xlabel("day")
axes[3].set_yscale("log")  # the primordial pool falls by an order of magnitude
axes[0].legend(fontsize=8)
fig.tight_layout()

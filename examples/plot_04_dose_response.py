"""
Dose-response with three kinds of uncertainty
=============================================

:func:`poi_ode.dose_response` predicts endpoints over a dose grid, here intraovarian MSCs in
idiopathic POI at 30 (``initial="poi"``). Every band is labelled with what it is:

- ``"fit"``: parameter uncertainty of a calibration (draws from a
  :class:`poi_ode.FitResult`'s covariance); the committed fit of the clinical series is used;
- ``"population"``: between-subject variability of a virtual population;
- ``"assumptions"``: how far the answer moves with the values labelled *assumption*.

Draws are kept small so the page builds in seconds; use hundreds for real answers.
"""
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import poi_ode as po

model = po.load_model("human")
calibrations = Path(po.__file__).parent / "calibrations"  # the fits poi-ode run ships with
fitted = po.FitResult.from_json(calibrations / "clinical_secondary" / "fit.json")

doses = np.geomspace(1e6, 1e8, 5)
bands = {}
for kind in ("fit", "population", "assumptions"):
    bands[kind] = po.dose_response(fitted, "msc", doses, "intraovarian", ["AMH@90", "FSH@90"], unit="cells",
                                   initial="poi", age=30, draws=12, uncertainty=kind, seed=1, model=model,
                                   executor="serial")
    print(kind, "->", bands[kind].uncertainty_note)

# %%
# The tidy table of one of them:

print(bands["population"].table.head(10).to_string(index=False))

# %%
# The three bands side by side for FSH at day 90 (the POI threshold is 25 IU/L):

fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), sharey=True)
for ax, (kind, dr) in zip(axes, bands.items()):
    rows = dr.table[dr.table["endpoint"] == "FSH@90"]
    ax.fill_between(rows["dose"], rows["lower"], rows["upper"], alpha=0.3)
    ax.plot(rows["dose"], rows["median"], marker="o")
    ax.axhline(25, color="grey", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("MSC dose (cells)")
    ax.set_title(kind)
axes[0].set_ylabel("FSH at day 90 (IU/L)")
fig.tight_layout()

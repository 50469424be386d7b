"""
Fitting a digitised figure
==========================

Most published time courses exist only as figures. Points digitised with WebPlotDigitizer
("CSV, all datasets": series names on a first header row, an X and a Y column per series) are
read by :func:`poi_ode.read_digitized`, which attaches arms, analytes, units, regimens and the
citation (see the :doc:`data format <../data>`), and fitted with :func:`poi_ode.fit`.

So that no published numbers are typed here, the "figure" is made from the mouse model by the
synthetic generator (:mod:`poi_ode.data.synthetic`, seeded) and written in the digitiser's
layout; with a real figure you would start from the exported file.
"""
import tempfile
from pathlib import Path

import pandas as pd

import poi_ode as po
from poi_ode.data.synthetic import synthetic_dataset

mouse = po.load_model("mouse")
CTX = "0:cyclophosphamide:120:mg/kg:intraperitoneal"
MSC = CTX + "; 7:msc:1e6:cells:intravenous"
truth = synthetic_dataset(mouse, {"CTX": CTX, "CTX+MSC": MSC}, [7, 14, 28, 42], analytes=["AMH"],
                          n=8, seed=3, study_id="FIGURE")

# %%
# The digitiser's export: one (X, Y) column pair per series, weeks on the x axis.

frame = truth.frame
columns = {}
for arm, series in (("CTX", "Control"), ("CTX+MSC", "MSC")):
    rows = frame[frame["arm"] == arm]
    columns[(series, "X")] = list(rows["time_days"] / 7)
    columns[(series, "Y")] = list(rows["value"])
export = pd.DataFrame(columns)
folder = Path(tempfile.mkdtemp())
path = folder / "figure2b.csv"
with open(path, "w", encoding="utf-8") as handle:
    handle.write("Control,,MSC,\nX,Y,X,Y\n")
    export.to_csv(handle, header=False, index=False)
print(path.read_text())

# %%
# Reading it: each series becomes an arm with its analyte, unit, group size and regimen.

data = po.read_digitized(
    path,
    {"Control": dict(arm="CTX", analyte="AMH", unit="ng/mL", n=8, regimen=CTX),
     "MSC": dict(arm="CTX+MSC", analyte="AMH", unit="ng/mL", n=8, regimen=MSC)},
    study_id="FIGURE", species="mouse", citation="synthetic figure (poi_ode example)",
    source_location="Figure 2B", time_unit="week",
)
print(data.frame[["arm", "time_days", "analyte", "value", "unit"]].to_string(index=False))

# %%
# Fitting the MSC potency ``s_M`` (no spread was digitised, so an assumed ``sigma`` scales the
# residuals; the report says so):

result = po.fit(mouse, data, free=["s_M"])
print(result.report())
fig = result.plot()

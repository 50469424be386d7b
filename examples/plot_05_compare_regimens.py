"""
Comparing regimens
==================

:func:`poi_ode.compare_regimens` runs named regimens on the same individual (here idiopathic
POI at 30) and tabulates endpoints against a reference regimen. Endpoints are text: an
area under the AMH curve over the first year, the days FSH spends below the POI threshold,
AMH at day 180.
"""
import poi_ode as po

model = po.load_model("human")
io = "intraovarian"
regimens = {
    "no treatment": [],
    "MSC 1e7, single": [po.Dose(0, "msc", 1e7, "cells", route=io)],
    "MSC 2 x 5e6, 30 d apart": [po.Dose(0, "msc", 5e6, "cells", route=io), po.Dose(30, "msc", 5e6, "cells", route=io)],
    "MSC 1e7 intravenous": [po.Dose(0, "msc", 1e7, "cells", route="intravenous")],
    "exosome 500 ug, weekly x 6": [po.Dose(7 * k, "exosome", 500, "ug", route=io) for k in range(6)],
}
comparison = po.compare_regimens(model, regimens, ["AUC:AMH@0-365", "FSH<25@0-365", "AMH@180"],
                                 initial="poi", age=30, reference="no treatment")
print(comparison.table[["regimen", "endpoint", "unit", "nominal", "effect"]].to_string(index=False))
fig = comparison.plot()

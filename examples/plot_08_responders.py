"""
Responder fractions in the virtual POI population
=================================================

A POI ovary can hold follicles that do not respond. The virtual POI population
(:func:`poi_ode.population.load_population`) draws women with their residual reserve and
ovarian dysfunction; :func:`poi_ode.population.responder_table` gives, for each dose, the
fraction of women meeting a responder endpoint within a window (ovulation, FSH below 25 IU/L
twice, E2 above 50 pg/mL), treated and untreated on the same women, with a resampling band.
See :doc:`../poi_ovary`.

The population here is small (``n=40``) so the page builds in seconds; the command
``poi-ode responders`` uses 200. Until the therapy parameters are calibrated, treated and
untreated fractions barely differ.
"""
import poi_ode as po
from poi_ode.population import plot_responders, responder_fraction, responder_table

model = po.load_model("human")
table = responder_table(model, "msc", [5e6, 1.5e7], route="intraovarian", window=(0, 365), n=40, seed=0)
print(table[["dose", "endpoint", "fraction", "lower", "upper", "untreated_fraction"]].to_string(index=False))
fig = plot_responders(table)

# %%
# One regimen and one endpoint, with its band:

res = responder_fraction(model, po.Dose(0, "msc", 1e7, "cells", route="intraovarian"), endpoint="ovulation",
                         window=(0, 365), n=40, seed=0)
print(res)

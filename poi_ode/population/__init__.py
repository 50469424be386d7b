"""The virtual POI population (issue 11): women whose residual reserve, ovarian dysfunction and
sampling noise vary, calibrated on the baselines of treated women and the spontaneous resumption
rate; responder endpoints and the responder fraction of a regimen.

* :class:`PoiPopulation` (``load_population()``: the bundled, calibrated definition in
  ``poi_ode/population/poi_population.toml``) draws virtual women: per woman a residual primordial
  reserve (``poi_reserve_fraction``) and a dysfunction severity (``dysfunction``), both log-normal;
* :mod:`.endpoints`: per-woman probabilities of ovulation, of FSH below 25 IU/L on two samples a
  month apart, of early-follicular estradiol above 50 pg/mL;
* :func:`responder_fraction`: the population fraction with its uncertainty band, treated and
  untreated.
"""
from __future__ import annotations

from .definition import PoiPopulation, load_population, population_path
from .endpoints import RESPONDER_ENDPOINTS, responder_endpoint
from .responders import RESPONDER_COLUMNS, ResponderFraction, plot_responders, responder_fraction, responder_table

__all__ = ["PoiPopulation", "load_population", "population_path", "RESPONDER_ENDPOINTS", "responder_endpoint",
           "ResponderFraction", "responder_fraction", "responder_table", "plot_responders", "RESPONDER_COLUMNS"]

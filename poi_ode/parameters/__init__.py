"""Species parameter sets: data files in which every value carries unit, bounds and source.

A set is a TOML file beside this module (``human.toml``, ``mouse.toml``).  Each parameter is
a table::

    [parameters.t_half_AMH]
    value = 27.6                 # a number, or a string of arithmetic on numbers
    unit = "h"                   # the unit the value is given in (as in its source)
    lower = 12.0                 # bounds, same unit
    upper = 48.0
    scale = "log"                # "log" or "lin": how fitting and sampling treat it
    kind = "sourcebook"          # sourcebook | literature | assumption | derived | fitted | definition
    source = "Griesinger G et al. 2012, J Clin Endocrinol Metab, abstract: 27.6 +/- 0.8 h"
    prior = { median = 27.6, sd_log10 = 0.05 }   # optional: used by fit() when the parameter is free

Values are converted to the unit the model declares when a numeric vector is built, so a
half-life may be written in hours, minutes or days as its source gave it.

The code lives in :mod:`.parameter_set` (the classes), :mod:`.loading` (reading the files) and
:mod:`.rewriting` (writing fitted values back into a file); this package re-exports it.
"""
from .loading import available_species, load_parameter_set, parameter_file, parse_number, read_toml
from .parameter_set import SOURCE_KINDS, Parameter, ParameterSet
from .rewriting import rewrite_parameters

# parse_number and read_toml are shared with other readers of TOML and arithmetic (simulate, fitting.config,
# population.definition); they stay importable from here but are not part of __all__.
__all__ = ["Parameter", "ParameterSet", "load_parameter_set", "available_species", "SOURCE_KINDS",
           "rewrite_parameters", "parameter_file"]

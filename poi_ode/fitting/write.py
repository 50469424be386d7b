"""Write a calibration's estimates into a bundled parameter file (kind "fitted", with the fit cited).

``python -m poi_ode.fitting.write fits/NAME/fit.json`` writes every shared, non-scale estimate of
the fit into its species' parameter file. The source says which fit, the estimate, its interval
and identifiability, and keeps the value's earlier, non-fitted source after "before:" (only that
one: rewriting after a refit does not stack earlier fits).
"""
from __future__ import annotations

import re
from pathlib import Path

from ..parameters import load_parameter_set, parameter_file, rewrite_parameters
from .nuisance import is_nuisance
from .result import FitResult

__all__ = ["write_fitted_parameters", "original_source"]


def original_source(source: str) -> str:
    """The source a value had before any fit or translation (the last "before:" part that is neither)."""
    parts = [p.strip() for p in re.split(r";\s*before:\s*", source)]
    kept = [p for p in parts if not p.startswith(("fitted:", "translated:"))]
    return kept[-1] if kept else ""


def write_fitted_parameters(fit: FitResult | str | Path, path: str | Path | None = None) -> list[str]:
    """Write the fit's shared estimates into a parameter file.

    Parameters
    ----------
    fit : FitResult or path of its ``fit.json``
        The calibration; its ``name`` must be the folder under ``fits/`` holding its ``fit.json``.
    path : str or Path, optional
        The parameter file (default: the bundled file of the fit's species).

    Returns
    -------
    list of str
        The parameters written.
    """
    result = fit if isinstance(fit, FitResult) else FitResult.from_json(Path(fit))
    name = result.config.get("name")
    if not name:
        raise ValueError("the fit has no config name: write_fitted_parameters cites fits/NAME")
    path = Path(path) if path is not None else parameter_file(result.species)
    current = load_parameter_set(path)
    changes = {}
    for p in result.parameters:
        if p.scope != "shared" or is_nuisance(p.name):
            continue
        interval = (f"95% CI {p.ci_low:.4g}-{p.ci_high:.4g}" if p.ci_low is not None and p.ci_high is not None
                    else "no interval")
        before = original_source(current[p.name].source)
        source = (f"fitted: fits/{name} (estimate {p.value:.6g}, {interval}, {p.identifiability})"
                  + (f"; before: {before}" if before else "")).replace('"', "'")
        changes[p.name] = {"value": repr(float(p.value)), "kind": '"fitted"', "source": f'"{source}"'}
    return rewrite_parameters(path, changes)


if __name__ == "__main__":  # pragma: no cover
    import sys

    for arg in sys.argv[1:]:
        print("\n".join(write_fitted_parameters(arg)))

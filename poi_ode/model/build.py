"""Building models: the registry of module builders (:data:`MODULE_BUILDERS`), :func:`build_module`,
:func:`compose` and :func:`load_model` (the default modules of a species with its parameter set).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ..errors import ModelError
from .core import Model, Module
from .cytokines import cytokine_module
from .exosome import exosome_module
from .follicles import follicle_module
from .hormones import hormone_module
from .insult import insult_module
from .msc import msc_module
from .niche import niche_module
from .paracrine import paracrine_module
from .rescue import rescue_module
from .responsiveness import responsiveness_module


def _hormone_units(units: Mapping[str, str]) -> dict[str, str]:
    return {
        "amh_unit": units.get("AMH", "ng/mL"),
        "fsh_unit": units.get("FSH", "IU/L"),
        "e2_unit": units.get("E2", "pg/mL"),
        "inhb_unit": units.get("InhB", "pg/mL"),
    }


MODULE_BUILDERS: dict[str, Callable[[Mapping[str, str], Mapping[str, Any]], Module]] = {
    "msc": lambda units, structure: msc_module(),
    "exosome": lambda units, structure: exosome_module(),
    "paracrine": lambda units, structure: paracrine_module(),
    "cytokines": lambda units, structure: cytokine_module(),
    "niche": lambda units, structure: niche_module(),
    "rescue": lambda units, structure: rescue_module(),
    "insult": lambda units, structure: insult_module(),
    "follicles": lambda units, structure: follicle_module(
        fsh_unit=_hormone_units(units)["fsh_unit"], compartments=structure.get("follicle_compartments"),
        ovulation_order=structure.get("ovulation_order", 1),
    ),
    "hormones": lambda units, structure: hormone_module(**_hormone_units(units)),
    "responsiveness": lambda units, structure: responsiveness_module(
        fsh_unit=_hormone_units(units)["fsh_unit"], exponent=structure.get("desensitisation_exponent", 2)
    ),
}
"""Builders of the bundled modules, by name; each takes the species' hormone units and the
structural choices of its parameter set (``[structure]``: ``follicle_compartments``,
``desensitisation_exponent``, ``ovulation_order``)."""

DEFAULT_MODULES = ("msc", "exosome", "paracrine", "cytokines", "insult", "follicles", "hormones", "responsiveness")
"""The full model of the transient therapy mechanism, in state order."""

THERAPY_MECHANISMS: dict[str, tuple[str, ...]] = {
    "transient": DEFAULT_MODULES,
    "niche_repair": (*DEFAULT_MODULES, "niche"),
    "rescue": (*DEFAULT_MODULES, "rescue"),
}
"""Modules of each therapy mechanism (swappable): ``transient``, the paracrine signal acting while it lasts
(protection from atresia and kill, activation); ``niche_repair``, the same signal also building a durable,
saturable repair of the follicle niche (:func:`poi_ode.model.niche.niche_module`); ``rescue``, the same signal
also returning primordial follicles hit by chemotherapy, before they die, to the reserve
(:func:`poi_ode.model.rescue.rescue_module`). A parameter set names its
default in ``[structure] therapy_mechanism`` (``transient`` where it names none)."""


def _structure(structure: Mapping[str, Any] | None) -> dict[str, Any]:
    """The structural choices with their sources dropped (``{stage: n}`` from ``{stage: n, source: ...}``)."""
    out = dict(structure or {})
    if "follicle_compartments" in out:
        out["follicle_compartments"] = {k: v for k, v in out["follicle_compartments"].items() if k != "source"}
    for key in ("desensitisation_exponent", "therapy_mechanism", "ovulation_order"):
        if isinstance(out.get(key), Mapping):
            out[key] = out[key]["value"]
    return out


def build_module(name: str, units: Mapping[str, str] | None = None,
                 structure: Mapping[str, Any] | None = None) -> Module:
    """Build a bundled module by name, with hormone ``units`` (AMH, FSH, E2, InhB) and structural
    choices (``{"follicle_compartments": {"pri": 8, ...}}``)."""
    try:
        builder = MODULE_BUILDERS[name]
    except KeyError:
        raise ModelError(f"unknown module {name!r}; bundled modules: {', '.join(MODULE_BUILDERS)}") from None
    return builder(units or {}, _structure(structure))


def compose(modules: Sequence[Module | str], name: str = "model", units: Mapping[str, str] | None = None,
            structure: Mapping[str, Any] | None = None) -> Model:
    """Compose a model from modules or bundled module names (built with ``units`` and ``structure``)."""
    built = [m if isinstance(m, Module) else build_module(m, units, structure) for m in modules]
    return Model(built, name)


def load_model(
    species: str = "human",
    modules: Sequence[Module | str] | None = None,
    parameters: "str | None" = None,
    mechanism: str | None = None,
) -> Model:
    """Load the model of a species with its parameter set attached.

    Parameters
    ----------
    species : str
        ``"human"`` or ``"mouse"`` (see :func:`poi_ode.parameters.available_species`).
    modules : sequence of Module or str, optional
        A subset or replacement of :data:`DEFAULT_MODULES`; inputs of missing modules take
        their neutral values.
    parameters : str, optional
        Path of another parameter TOML file (default: the bundled set of ``species``).
    mechanism : str, optional
        Therapy mechanism, a key of :data:`THERAPY_MECHANISMS` (default: the set's
        ``[structure] therapy_mechanism``, else ``"transient"``); not with ``modules``.

    Returns
    -------
    Model
        With ``model.parameters`` set and checked (every parameter has a value in a
        convertible unit, bounds inside the structural domain).
    """
    from ..parameters import load_parameter_set

    pset = load_parameter_set(parameters or species)
    structure = _structure(pset.info.get("structure", {}))
    if modules is not None and mechanism is not None:
        raise ModelError("give modules or a therapy mechanism, not both")
    if modules is None:
        chosen = mechanism or structure.get("therapy_mechanism", "transient")
        if chosen not in THERAPY_MECHANISMS:
            raise ModelError(f"unknown therapy mechanism {chosen!r}; known: {', '.join(THERAPY_MECHANISMS)}")
        modules = THERAPY_MECHANISMS[chosen]
    model = compose(modules, name=pset.species, units=pset.info.get("units", {}),
                    structure=pset.info.get("structure", {}))
    model.attach(pset)
    return model

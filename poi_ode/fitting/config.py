"""Calibration configs (``fits/<name>.toml``): which model, data, free parameters and priors.

A config is run by ``poi-ode fit fits/<name>.toml``, which writes ``fit.json``, ``report.md``
and figures into ``fits/<name>/``. Format::

    name = "griesinger2012"
    description = "what this calibration identifies"
    species = "human"
    modules = ["hormones"]                      # optional: a subset of the model
    data = ["griesinger2012_amh_elimination"]   # bundled names, or CSV paths relative to the config
    free = ["t_half_AMH"]
    per_study = []
    error_model = "lognormal"
    sigma = 0.3                                 # or per analyte: [sigma] primordial = 0.9, "*" = 0.3
    scales = []                                 # analytes with a per-study assay scale
    method = "least_squares"
    multistart = 0
    seed = 0
    profiles = true
    mcmc_steps = 0
    use_in_predictions = true                   # false: a view (one source) of a joint calibration
    exclude = [{ study_id = "GUPTA2018", time_days = 56, reason = "dose not reported" }]
    [initial]        # per arm ("STUDY/ARM" or "ARM"): healthy, poi, first_observation
    [age]            # per arm, years
    [regimens]       # per arm: "DAY:AGENT:AMOUNT:UNIT[:ROUTE]; ..."
    [priors.NAME]    # median + sd_log10 (log scale) or mean + sd (linear)
    mechanism = "niche_repair"                  # optional: a therapy mechanism (poi_ode.model.THERAPY_MECHANISMS)
    [evidence]       # optional: published pooled effects as likelihood terms (data may then be [])
    therapy = "msc"                             # msc or exosome
    calibrate = ["overall", "species", "induction"]   # subgroup kinds fitted; the others are predicted

The configs of the main job ship with the package (:func:`shipped_configs_folder`): in a
checkout ``poi_ode/calibrations`` is a symbolic link to the repository's ``fits/``, the one
copy of them; ``pip install`` copies the ``*.toml`` behind it into the installed package.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .._files import atomic_path, write_atomic
from ..data import Dataset, list_datasets, load_dataset, read_dataset
from ..errors import ParameterError
from ..parameters import read_toml

__all__ = ["run_config", "read_config", "write_outputs", "shipped_configs_folder"]

KEYS = {
    "name", "description", "species", "modules", "data", "free", "per_study", "error_model", "sigma", "method",
    "multistart", "seed", "profiles", "mcmc_steps", "mcmc_walkers", "exclude", "initial", "age", "regimens",
    "priors", "scales", "use_in_predictions", "mechanism", "evidence",
}


SHIPPED = Path(__file__).resolve().parents[1] / "calibrations"
"""The package's calibration configs: a link to the repository's ``fits/`` in a checkout, copies
(package data ``calibrations/*.toml``) in an installed package."""


def shipped_configs_folder() -> Path:
    """The folder of the calibration configs shipped with poi_ode (what ``poi-ode run`` runs).

    ``poi_ode/calibrations``: in a checkout a symbolic link to the repository's ``fits/``, in an
    installed package the copies ``pip install`` made of its ``*.toml``. A checkout without
    symbolic links (``core.symlinks`` false) falls back to the ``fits/`` beside the package.

    Raises
    ------
    ParameterError
        If neither folder holds a ``*.toml`` config (a damaged installation).
    """
    for folder in (SHIPPED, SHIPPED.parents[1] / "fits"):
        if folder.is_dir() and any(folder.glob("*.toml")):
            return folder
    raise ParameterError(f"no calibration configs shipped with poi_ode in {SHIPPED}: reinstall the package "
                         "(they are package data, calibrations/*.toml) or pass a folder of configs")


def read_config(path: str | Path) -> dict[str, Any]:
    """Read and check a fit config; ``_folder`` (absolute) is where its relative data paths start."""
    path = Path(path)
    config = read_toml(path, "fit config")
    unknown = set(config) - KEYS
    if unknown:
        raise ParameterError(f"{path.name}: unknown key(s) {sorted(unknown)}; allowed: {sorted(KEYS)}")
    for key in ("name", "species", "data"):
        if key not in config:
            raise ParameterError(f"{path.name}: missing key {key!r}")
    if not isinstance(config["data"], list) or not all(isinstance(item, str) for item in config["data"]):
        raise ParameterError(f"{path}: 'data' must be a list of bundled dataset names or CSV paths")
    evidence = config.get("evidence")
    if not config["data"] and not evidence:
        raise ParameterError(f"{path.name}: 'data' lists no dataset and there is no [evidence]: nothing to fit")
    if evidence is not None:
        if not isinstance(evidence, dict) or evidence.get("therapy") not in ("msc", "exosome"):
            raise ParameterError(f"{path.name}: [evidence] needs therapy = \"msc\" or \"exosome\"")
        unknown = set(evidence) - {"therapy", "calibrate", "effects", "designs"}
        if unknown:
            raise ParameterError(f"{path.name}: [evidence] has unknown key(s) {sorted(unknown)}")
    config["_folder"] = str(path.absolute().parent)
    config["_path"] = str(path)
    return config


def _dataset(config: dict[str, Any]) -> tuple[Dataset | None, list[str]]:
    if not config["data"]:
        return None, []
    data = None
    for item in config["data"]:
        if item in list_datasets():
            part = load_dataset(item)
        else:
            csv = Path(config["_folder"]) / item
            if not csv.is_file():
                raise ParameterError(f"{config.get('_path', config['name'])}: data item {item!r} is neither a bundled "
                                     f"dataset ({', '.join(list_datasets())}) nor a CSV file at {csv}")
            part = read_dataset(csv)
        data = part if data is None else data + part
    if data is None:  # pragma: no cover - read_config refuses an empty 'data' without [evidence]
        raise ParameterError(f"{config.get('_path', config['name'])}: 'data' lists no dataset")
    notes = []
    frame = data.frame
    keep = [True] * len(frame)
    for rule in config.get("exclude", []):
        reason = rule.get("reason")
        if not reason:
            raise ParameterError(f"exclude rule {rule} needs a 'reason'")
        match = [all(str(frame[c].iloc[i]) == str(v) or _same_number(frame[c].iloc[i], v)
                     for c, v in rule.items() if c != "reason") for i in range(len(frame))]
        if not any(match):
            raise ParameterError(f"exclude rule {rule} matches no row")
        for i, m in enumerate(match):
            if m and keep[i]:
                keep[i] = False
                notes.append(f"row {int(frame['row'].iloc[i])} ({frame['study_id'].iloc[i]}, day "
                             f"{frame['time_days'].iloc[i]:g}, {frame['analyte'].iloc[i]}) excluded: {reason}")
    subset = Dataset(frame[keep].reset_index(drop=True), data.name, data.meta)
    return subset, notes


def _same_number(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def run_config(path: str | Path, out: str | Path | None = None):
    """Run a fit config; write its outputs; return the FitResult."""
    from ..model import load_model
    from . import fit

    config = read_config(path)
    model = load_model(config["species"], modules=config.get("modules"), mechanism=config.get("mechanism"))
    dataset, notes = _dataset(config)
    initial = dict(config.get("initial", {}))
    evidence = None
    if config.get("evidence"):
        from ..mbma.calibration import evidence_objective
        from ..mbma.objective import CALIBRATION_KINDS

        spec = config["evidence"]
        evidence, skipped = evidence_objective(
            spec["therapy"], config.get("mechanism") or "transient", spec.get("calibrate", CALIBRATION_KINDS),
            spec.get("effects", "preclinical_pooled_effects"), spec.get("designs", "preclinical_designs"))
        if config["species"] not in evidence.models:
            raise ParameterError(f"{config['name']}: species {config['species']!r} has no design in the evidence "
                                 f"(species with designs: {', '.join(sorted(evidence.models))})")
        model = evidence.models[config["species"]]
        notes += [f"pooled effect {s['effect_id']} ({s['analyte']}, {s['subgroup']}) left out: {s['reason']}"
                  for s in skipped]
    if config.get("age") and dataset is not None:
        frame = dataset.frame.copy()
        for arm, age in config["age"].items():
            mask = (frame["arm"] == arm) | ((frame["study_id"] + "/" + frame["arm"]) == arm)
            frame.loc[mask, "age_years"] = str(age)
        dataset = Dataset(frame, dataset.name, dataset.meta)
    result = fit(
        model, dataset, config.get("free"), per_study=config.get("per_study", ()), priors=config.get("priors"),
        error_model=config.get("error_model", "lognormal"), sigma=config.get("sigma", 0.3),
        regimens=config.get("regimens"), initial=initial or None, scales=config.get("scales", ()),
        method=config.get("method", "least_squares"), multistart=config.get("multistart", 0),
        seed=config.get("seed", 0), profiles=config.get("profiles", False),
        mcmc_steps=config.get("mcmc_steps", 0), mcmc_walkers=config.get("mcmc_walkers"), name=config["name"],
        evidence=evidence,
    )
    result.warnings.extend(notes)
    result.config["description"] = config.get("description", "")
    result.config["use_in_predictions"] = bool(config.get("use_in_predictions", True))
    folder = Path(out) if out else Path(config["_folder"]) / config["name"]
    write_outputs(result, folder, model)
    return result


def write_outputs(result, folder: str | Path, model=None) -> list[Path]:
    """fit.json, report.md, fit.png, residuals.png (and profiles.png, corner.png) in ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [result.to_json(folder / "fit.json")]
    report = folder / "report.md"
    text = result.report()
    if result.config.get("description"):
        text = text.replace("\n\n", f"\n\n{result.config['description']}\n\n", 1)
    written.append(write_atomic(report, text))

    def figure(fig, name: str) -> None:
        with atomic_path(folder / name) as tmp:
            fig.savefig(tmp, dpi=110)
        plt.close(fig)
        written.append(folder / name)

    if result.status != "failed" and result.observations:
        figure(result.plot(model, bands=30 if result.covariance is not None else 0), "fit.png")
        figure(result.plot_residuals(), "residuals.png")
    elif result.status != "failed" and result.evidence and "error" not in result.evidence[0]:
        import pandas as pd

        from ..mbma.plots import plot_forest

        table = pd.DataFrame(result.evidence)
        table["predicted_lower"] = table["predicted_upper"] = table["predicted"]
        figure(plot_forest(table, f"{result.config.get('name')}: published vs predicted pooled effects"), "fit.png")
    if result.profiles:
        figure(result.plot_profiles(), "profiles.png")
    if result.samples:
        figure(result.plot_corner(), "corner.png")
    return written

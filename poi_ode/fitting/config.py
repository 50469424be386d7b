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
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data import Dataset, list_datasets, load_dataset, read_dataset
from ..errors import ParameterError
from ..parameters import read_toml

__all__ = ["run_config", "read_config", "write_outputs"]

KEYS = {
    "name", "description", "species", "modules", "data", "free", "per_study", "error_model", "sigma", "method",
    "multistart", "seed", "profiles", "mcmc_steps", "mcmc_walkers", "exclude", "initial", "age", "regimens",
    "priors", "scales", "use_in_predictions",
}


def read_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    config = read_toml(path, "fit config")
    unknown = set(config) - KEYS
    if unknown:
        raise ParameterError(f"{path.name}: unknown key(s) {sorted(unknown)}; allowed: {sorted(KEYS)}")
    for key in ("name", "species", "data"):
        if key not in config:
            raise ParameterError(f"{path.name}: missing key {key!r}")
    config["_folder"] = str(path.parent)
    return config


def _dataset(config: dict[str, Any]) -> tuple[Dataset, list[str]]:
    data = None
    for item in config["data"]:
        if item in list_datasets():
            part = load_dataset(item)
        else:
            part = read_dataset(Path(config["_folder"]) / item)
        data = part if data is None else data + part
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
    model = load_model(config["species"], modules=config.get("modules"))
    dataset, notes = _dataset(config)
    initial = dict(config.get("initial", {}))
    if config.get("age"):
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
    report.write_text(text, encoding="utf-8")
    written.append(report)
    if result.status != "failed":
        fig = result.plot(model, bands=30 if result.covariance is not None else 0)
        fig.savefig(folder / "fit.png", dpi=110)
        plt.close(fig)
        written.append(folder / "fit.png")
        fig = result.plot_residuals()
        fig.savefig(folder / "residuals.png", dpi=110)
        plt.close(fig)
        written.append(folder / "residuals.png")
    if result.profiles:
        fig = result.plot_profiles()
        fig.savefig(folder / "profiles.png", dpi=110)
        plt.close(fig)
        written.append(folder / "profiles.png")
    if result.samples:
        fig = result.plot_corner()
        fig.savefig(folder / "corner.png", dpi=110)
        plt.close(fig)
        written.append(folder / "corner.png")
    return written

"""Species parameter sets: provenance, units, bounds and malformed files."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

import poi_ode as po
from poi_ode.model import THERAPY_MECHANISMS
from poi_ode.parameters import SOURCE_KINDS, load_parameter_set

SETS = po.available_species()


def test_bundled_species():
    assert {"human", "mouse"} <= set(SETS)


@pytest.mark.parametrize("species", SETS)
def test_every_value_has_unit_bounds_and_source(species):
    pset = load_parameter_set(species)
    model = po.load_model(species)
    assert set(model.parameter_names) <= set(pset.parameters), "every model parameter has a value"
    used = {n for m in THERAPY_MECHANISMS for n in po.load_model(species, mechanism=m).parameter_names}
    unused = set(pset.parameters) - used
    assert not unused, f"values no module of any therapy mechanism uses: {sorted(unused)}"
    for p in pset.parameters.values():
        assert p.kind in SOURCE_KINDS
        assert len(p.source) > len(p.kind) + 5, p.name  # a reason, not just the kind
        if p.kind == "assumption":
            assert p.source.startswith("assumption"), p.name
        assert p.lower <= p.value <= p.upper
        assert math.isfinite(p.value)


@pytest.mark.parametrize("species", SETS)
def test_info_has_sourced_start_age_and_ranges(species):
    pset = load_parameter_set(species)
    history = pset.info["natural_history"]
    assert history["start_age"]["source"] and history["state"] == "F_prim"
    for r in pset.info["ranges"].values():
        assert r["low"] < r["high"] and r["source"]


def test_values_convert_to_model_units(human):
    # 27.6 h in the file is 1.15 day in the model
    index = human.parameter_names.index("t_half_AMH")
    assert human.parameter_set.vector(human)[index] == pytest.approx(27.6 / 24)


def test_arithmetic_values_are_evaluated():
    pset = load_parameter_set("human")
    assert pset["ovulation_quota"].value == pytest.approx(1 / 28)
    assert load_parameter_set("mouse")["ovulation_quota"].value == pytest.approx(10 / 4.5)


@pytest.mark.parametrize("species", SETS)
def test_fitted_values_are_the_committed_estimates_they_cite(species):
    """A value marked fitted names its fit, and the fit's committed estimate is the value. The fit
    starts from the set's values, so it may move along flat directions within the optimiser's
    tolerance (about 1e-4 relative): hence 2e-3."""
    import re

    from poi_ode.fitting import FitResult

    root = Path(__file__).resolve().parents[1]
    for p in load_parameter_set(species).parameters.values():
        if p.kind != "fitted":
            continue
        if re.search(r"\(poi_ode\.[\w.]+\)$", p.source):
            # a calibration by code (poi_ode.fitting.insult, poi_ode.population.calibrate): its own test reruns it
            continue
        name = re.match(r"fitted: fits/(\S+) ", p.source).group(1)
        committed = FitResult.from_json(root / "fits" / name / "fit.json")
        assert p.value == pytest.approx(committed[p.name].value, rel=2e-3), (p.name, name)


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text('[species]\nname = "test"\n' + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "body, match",
    [
        ('[parameters.k]\nvalue = 1.0\nunit = "1/day"\nlower = 0\nupper = 2\nkind = "assumption"\n', "lacks field"),
        ('[parameters.k]\nvalue = 1.0\nunit = "1/fortnight_x"\nlower = 0\nupper = 2\nkind = "assumption"\nsource = '
         '"x"\n',
         "unknown unit"),
        ('[parameters.k]\nvalue = 5.0\nunit = "1/day"\nlower = 0\nupper = 2\nkind = "assumption"\nsource = "x"\n',
         "outside its bounds"),
        ('[parameters.k]\nvalue = 1.0\nunit = "1/day"\nlower = 0\nupper = 2\nkind = "guess"\nsource = "x"\n',
         "kind must be one of"),
        ('[parameters.k]\nvalue = "2*q"\nunit = "1/day"\nlower = 0\nupper = 2\nkind = "assumption"\nsource = "x"\n',
         "only numbers allowed"),
        ('[parameters.k]\nvalue = 1.0\nunit = "1/day"\nlower = 0\nupper = 2\nkind = "assumption"\nsource = "x"\ncolour '
         '= 1\n',
         "unknown field"),
        ("[parameters.k\n", "not valid TOML"),
    ],
)
def test_malformed_parameter_file_names_the_problem(tmp_path, body, match):
    with pytest.raises(po.ParameterError, match=match):
        load_parameter_set(_write(tmp_path, body))


def test_parameter_set_missing_a_model_parameter(tmp_path, human):
    path = _write(tmp_path, "")
    with pytest.raises(po.ParameterError, match="has no value in the test set"):
        po.load_model("human", parameters=str(path))


def test_bounds_must_respect_the_structural_domain(human):
    pset = human.parameter_set.with_bounds("f_lung", 0.1, 1.5)
    with pytest.raises(po.ParameterError, match="leave its domain"):
        pset.check_against(human)


def test_table_lists_every_parameter(human):
    table = human.parameter_set.table()
    assert len(table) == len(human.parameter_set)
    assert list(table.columns) == ["name", "value", "unit", "lower", "upper", "scale", "kind", "source"]


def test_every_data_file_of_the_package_is_declared_package_data():
    """A data file missing from package-data would vanish from `pip install .` (not from the source tree)."""
    import fnmatch
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    root = Path(po.__file__).resolve().parent
    pyproject = root.parent / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("not a source checkout")
    patterns = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]["poi_ode"]
    for path in root.rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
            rel = path.relative_to(root).as_posix()
            assert any(fnmatch.fnmatch(rel, p) for p in patterns), f"{rel} is not in package-data"


def test_parse_number_reads_arithmetic_and_names_each_place_of_an_error():
    # parsed texts are cached (a fit reads the set's start age at every initial state): the
    # value stays that of the text, and an error names the place that asked, not the first one
    from poi_ode.parameters import parse_number

    assert parse_number("log(2)/24", "a") == pytest.approx(math.log(2) / 24, rel=1e-15)
    assert parse_number("log(2)/24", "b") == parse_number("log(2)/24", "a")
    for where in ("first place", "second place"):
        with pytest.raises(po.ParameterError, match=f"^{where}: '2\\*q' names \\['q'\\]"):
            parse_number("2*q", where)
    with pytest.raises(po.ParameterError, match="^third: cannot read '1/\\(' as arithmetic"):
        parse_number("1/(", "third")

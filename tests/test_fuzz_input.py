"""Fuzzing: generated malformed input never escapes as a traceback.

``read_dataset`` (files and DataFrames), ``read_digitized`` and the command line are fed random
bytes, wrong encodings, missing, extra and duplicated columns, NaN, Inf, negative and huge
numbers, unicode and broken regimens. Every case must end in a valid result or a poi_ode error
(for the command line: exit code 2 with one line on stderr, or argparse's usage error).

The examples are derandomised (the same cases on every run and machine) and their number fixed:
``FUZZ_CASES`` (1,600) in total.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from poi_ode.cli import main
from poi_ode.data import REQUIRED, Dataset, read_dataset, read_digitized
from poi_ode.errors import PoiOdeError

pytestmark = pytest.mark.slow

EXAMPLES = {"bytes": 300, "table_file": 400, "table_frame": 300, "digitized": 300, "cli": 300}
FUZZ_CASES = sum(EXAMPLES.values())
"""Generated cases per run (1,600)."""


def _settings(name: str):
    return settings(max_examples=EXAMPLES[name], derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


COLUMNS = [*REQUIRED, "subject", "n", "spread_type", "spread", "censored", "regimen", "initial", "age_years",
           "reference_arm", "citation", "notes"]
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.sampled_from(["0", "-1", "1e308", "1e-320", "1e999", "-0", "nan", "NaN", "inf", "-inf", "Infinity", "1_000",
                     "1,5", "٣", "², ", "0x10", "1e12", "7", "14.5", " 28 ", "1e30", ""]),
)
WORDS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["AMH", "FSH", "fsh", "E2", "Inhibin B", "primordial", "TNF", "Prolactin", "mouse", "human",
                     "rat", "dragon", "mean", "median", "individual", "SD", "SEM", "IQR", "CI95", "range", "none",
                     "below", "above", "healthy", "poi", "first_observation", "ng/mL", "mIU/mL", "pmol/L", "IU/L",
                     "pg/mL", "%", "fold", "AU", "OD", "a.u.", "furlongs", "follicles/ovary", "µg/L", "ng/ml",
                     "0.1-1.78", "[2, 1]", "1e9-1e10", "control", "CTX", "a", "S1", "\u202e", "\x00", "é\u0301",
                     "1 to 2"]),
)
REGIMENS = st.one_of(
    st.text(max_size=30),
    st.lists(st.tuples(NUMBERS, st.sampled_from(["msc", "exosome", "cyclophosphamide", "busulfan", "cisplatin",
                                                  "unobtanium", "", "MSC"]),
                       NUMBERS, st.sampled_from(["cells", "mg/kg", "mg/m2", "ug", "particles", "wombats", "", "µg"]),
                       st.sampled_from(["", ":intravenous", ":intraperitoneal", ":intranasal", ":oral", "::"])),
             max_size=3).map(lambda ds: "; ".join(f"{a}:{b}:{c}:{d}{e}" for a, b, c, d, e in ds)),
)
CELLS = st.one_of(NUMBERS, WORDS, REGIMENS)


PLAUSIBLE = {"study_id": "S", "species": "mouse", "analyte": "AMH", "statistic": "mean", "value": "2.5",
             "unit": "ng/mL", "subject": "", "n": "8", "spread_type": "SD", "spread": "0.4", "censored": "",
             "regimen": "0:cyclophosphamide:120:mg/kg", "initial": "healthy", "age_years": "",
             "reference_arm": "", "citation": "generated", "notes": ""}


@st.composite
def tables(draw) -> tuple[list[str], list[list[str]]]:
    """A header and rows: either chaos (columns missing, extra or duplicated; any cell broken) or
    a valid table with a few cells replaced by broken ones (so that the valid path is reached)."""
    chaos = draw(st.booleans())
    if chaos:
        header = [c for c in COLUMNS if draw(st.floats(0, 1)) < 0.85]
        header += draw(st.lists(st.one_of(st.sampled_from(COLUMNS), st.text(max_size=8)), max_size=3))
        header = list(draw(st.permutations(header))) if header else header
    else:
        header = [*REQUIRED, *[c for c in COLUMNS[len(REQUIRED):] if draw(st.booleans())]]
    rows = []
    for k in range(draw(st.integers(0 if chaos else 1, 6))):
        row = []
        for c in header:
            good = {**PLAUSIBLE, "arm": "ab"[k % 2], "time_days": str(7 * (k + 1))}.get(c, "")
            row.append(good if draw(st.floats(0, 1)) < (0.5 if chaos else 1.0) else draw(CELLS))
        if chaos and draw(st.floats(0, 1)) < 0.1:  # a ragged row
            row = row[:-1] if row and draw(st.booleans()) else row + ["x"]
        rows.append(row)
    if not chaos:  # a few broken cells in a valid table
        for _ in range(draw(st.integers(0, 2))):
            k, j = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(header) - 1))
            rows[k][j] = draw(CELLS)
    return header, rows


def _csv(header: list[str], rows: list[list[str]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _ends_well(call) -> None:
    """``call()`` returns a dataset or raises a poi_ode error; anything else fails the test."""
    try:
        result = call()
    except PoiOdeError as exc:
        assert str(exc).strip(), "an error without a message"
        event(f"outcome: {type(exc).__name__}")
        return
    event("outcome: valid dataset")
    assert isinstance(result, Dataset)
    assert len(result) > 0
    assert all(math.isfinite(v) for v in result.frame["value_std"])


@_settings("bytes")
@given(content=st.one_of(st.binary(max_size=400), st.text(max_size=300).map(lambda t: t.encode("utf-8"))))
def test_random_bytes(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("fuzz") / "data.csv"
    path.write_bytes(content)
    _ends_well(lambda: read_dataset(path))


@_settings("table_file")
@given(table=tables(), encoding=st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]),
       separator=st.sampled_from([",", ";", "\t"]))
def test_tables_as_files(tmp_path_factory, table, encoding, separator):
    text = _csv(*table)
    if separator != ",":
        text = text.replace(",", separator)
    path = tmp_path_factory.mktemp("fuzz") / "data.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    _ends_well(lambda: read_dataset(path))


@_settings("table_frame")
@given(table=tables(), weird=st.lists(st.sampled_from([None, math.nan, math.inf, -math.inf, -1.0, 1e308, 0, 10**40,
                                                        b"\xff", "\u0000"]), max_size=4))
def test_tables_as_dataframes(table, weird):
    header, rows = table
    width = len(header)
    rows = [(r + [""] * width)[:width] for r in rows]
    frame = (pd.DataFrame(rows, columns=header) if header else pd.DataFrame(rows)).astype(object)
    for k, value in enumerate(weird):  # cells that are not text at all
        if len(frame) and width:
            frame.iat[k % len(frame), (3 * k) % width] = value
    _ends_well(lambda: read_dataset(frame))


def mostly(value, other):
    """``value`` three times in four, else a draw of ``other``."""
    return st.one_of(st.just(value), st.just(value), st.just(value), other)


SERIES = st.fixed_dictionaries(
    {"arm": mostly("control", WORDS), "analyte": mostly("AMH", WORDS), "unit": mostly("ng/mL", WORDS)},
    optional={"n": mostly("6", NUMBERS), "spread_type": mostly("SEM", WORDS),
              "regimen": mostly("0:cyclophosphamide:120:mg/kg", REGIMENS),
              "spread_series": st.sampled_from(["MSC upper", "MSC upper", "nope", ""])})
@st.composite
def points(draw) -> list[list[str]]:
    """Rows of a WebPlotDigitizer export: mostly increasing X and positive Y, some cells broken,
    some rows ragged."""
    rows = []
    for k in range(draw(st.integers(1, 6))):
        row = [str(k + 1), "2", str(k + 1), "2.5", str(k + 1), "2.9"]
        for j in range(len(row)):
            if draw(st.integers(0, 9)) == 0:
                row[j] = draw(NUMBERS)
        if draw(st.integers(0, 9)) == 0:
            row = row[: draw(st.integers(0, len(row)))]
        rows.append(row)
    return rows


@_settings("digitized")
@given(names=st.one_of(st.just(["control", "MSC", "MSC upper"]),
                       st.lists(st.one_of(st.sampled_from(["control", "MSC", "MSC upper"]), st.text(max_size=6)),
                                max_size=4)),
       points=points(),
       series=st.one_of(st.dictionaries(st.sampled_from(["control", "MSC"]), SERIES, min_size=1, max_size=2),
                        st.dictionaries(st.one_of(st.sampled_from(["control", "MSC"]), st.text(max_size=6)),
                                        st.one_of(SERIES, st.none(), st.integers()), max_size=3)),
       time_unit=st.sampled_from(["day", "week", "week", "day", "month", "furlong", "", "d"]))
def test_read_digitized(tmp_path_factory, names, points, series, time_unit):
    header1 = ",".join(f"{n}," for n in names)
    header2 = ",".join("X,Y" for _ in names)
    body = "\n".join(",".join(row) for row in points)
    path = tmp_path_factory.mktemp("fuzz") / "wpd.csv"
    path.write_text(f"{header1}\n{header2}\n{body}\n", encoding="utf-8")
    _ends_well(lambda: read_digitized(path, series, study_id="FIG", species="mouse", citation="generated",
                                      source_location="Figure 1", time_unit=time_unit))


OPTIONS = ["--species", "--free", "--per-study", "--per-arm", "--scales", "--priors", "--initial", "--exclude",
           "--error-model", "--sigma", "--method", "--multistart", "--mcmc-steps", "--seed", "--profile", "--out"]


@_settings("cli")
@given(command=st.sampled_from(["fit", "fit", "fit", "simulate", "datasets", "frobnicate"]),
       tokens=st.lists(st.one_of(st.sampled_from(OPTIONS), WORDS, NUMBERS, REGIMENS), max_size=8),
       source=st.sampled_from(["missing.csv", "empty.csv", "bytes.csv", "config.toml"]),
       priors=st.binary(max_size=200), with_priors=st.booleans())
def test_command_line(tmp_path_factory, capsys, command, tokens, source, priors, with_priors):
    folder = tmp_path_factory.mktemp("cli")
    (folder / "empty.csv").write_bytes(b"")
    (folder / "bytes.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + priors)
    (folder / "config.toml").write_bytes(priors)
    (folder / "priors.toml").write_bytes(priors)
    if command == "fit":
        argv = ["fit", str(folder / source), *tokens,
                *(["--priors", str(folder / "priors.toml")] if with_priors else []),
                "--out", str(folder / "out")]
    elif command == "simulate":  # malformed doses are parsed first; the unknown species ends the run
        argv = ["simulate", *[t for pair in zip(["--dose"] * len(tokens), tokens) for t in pair],
                "--species", "dragon", "--out", str(folder / "out")]
    elif command == "datasets":
        argv = ["datasets", *tokens[:1]]
    else:
        argv = [command, *tokens]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors (and --help)
        code = exc.code
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code)
    event(f"exit code {code}")
    if code == 2:
        assert err.strip(), argv
        assert "Traceback" not in err

"""Preclinical designs: the converted design table (reproducible, faithful to the sheets) and its simulable arms."""
from __future__ import annotations

import csv
import re
import statistics
from pathlib import Path

import pytest

import poi_ode as po
from poi_ode.data import DatasetError, list_datasets, load_dataset
from poi_ode.data.evidence_designs import (
    AS_PRINTED,
    EV_SHEET,
    MSC_SHEET,
    SEP,
    SKIPPED_FILE,
    DesignConversionError,
    convert_designs,
    main,
)
from poi_ode.mbma import DEFAULTS, DesignError, load_designs, simulable
from poi_ode.mbma.designs import DESIGN_COLUMNS, DESIGNS_FILE, format_schedule, parse_schedule

EVIDENCE = Path(__file__).resolve().parents[2] / "shared" / "evidence"
BUNDLED = DESIGNS_FILE.parent
needs_evidence = pytest.mark.skipif(
    not EVIDENCE.exists(), reason="../shared/evidence (the team's evidence sheets) is not beside the checkout"
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _bundled() -> dict[str, dict[str, str]]:
    return {r["design_id"]: r for r in _rows(DESIGNS_FILE)}


def _sheet(name: str) -> dict[str, dict]:
    with (EVIDENCE / name).open(newline="", encoding="utf-8") as f:
        return {str(k): row for k, row in enumerate(csv.DictReader(f), start=2)}


# --- the converter ----------------------------------------------------------------------------


@needs_evidence
def test_rerunning_the_converter_reproduces_the_bundled_table(tmp_path):
    written = convert_designs(EVIDENCE, tmp_path)
    assert [p.name for p in written] == ["preclinical_designs.csv", SKIPPED_FILE]
    for path in written:
        assert path.read_bytes() == (BUNDLED / path.name).read_bytes(), f"{path.name} is stale: rerun the converter"


@needs_evidence
def test_command_line_entry_writes_the_same_files(tmp_path, capsys):
    assert main([str(EVIDENCE), str(tmp_path)]) == 0
    assert "preclinical_designs.csv: " in capsys.readouterr().out
    assert (tmp_path / "preclinical_designs.csv").read_bytes() == DESIGNS_FILE.read_bytes()


def test_missing_sheets_are_an_error_not_an_empty_table(tmp_path):
    with pytest.raises(DesignConversionError, match="not found"):
        convert_designs(tmp_path / "nowhere", tmp_path / "out")
    assert main([str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 1


@needs_evidence
def test_every_sheet_row_is_a_design_or_in_the_ledger():
    bundled = _rows(DESIGNS_FILE)
    skipped = [r for r in _rows(BUNDLED / SKIPPED_FILE) if r["decision"] == "skipped"]
    for sheet in (MSC_SHEET, EV_SHEET):
        rows = set(_sheet(sheet))
        kept = {r["evidence_row"] for r in bundled if r["evidence_file"] == sheet}
        left = {r["evidence_row"] for r in skipped if r["evidence_file"] == sheet}
        assert kept | left == rows and not kept & left, sheet
    assert {r["therapy"] for r in bundled} == {"msc", "exosome"}
    assert len({r["design_id"] for r in bundled}) == len(bundled)


@needs_evidence
def test_every_as_printed_string_equals_the_sheet_at_its_row():
    sheets = {MSC_SHEET: _sheet(MSC_SHEET), EV_SHEET: _sheet(EV_SHEET)}
    rows = _rows(DESIGNS_FILE)
    assert rows
    for r in rows:
        ev = sheets[r["evidence_file"]][r["evidence_row"]]
        assert r["study_id"] == ev["study_id"]
        for column, source in AS_PRINTED[r["evidence_file"]].items():
            assert r[column] == (ev[source] if source else ""), (r["design_id"], column)
        # notes: the sheet's notes (with fields beyond the header joined back by their comma), then the converter's
        printed = ",".join([ev["notes"], *ev.get(None, [])])
        assert r["notes"].split(SEP)[0] == printed, r["design_id"]


@needs_evidence
def test_a_published_range_or_pair_is_flagged_not_averaged():
    d = _bundled()
    # "1x10^5 (a) / 5x10^4 (b) - footnotes not visible": two arms or ambiguous
    assert d["SONG2016"]["cell_dose"] == "" and "cell_dose" in d["SONG2016"]["flagged_fields"].split(";")
    # "1x10^6 IV; 1x10^5 intraovarian": two arms
    assert d["REVIEW_TAB1_ADSC_IV_IO"]["cell_dose"] == "" and d["REVIEW_TAB1_ADSC_IV_IO"]["route"] == ""
    # "1x10^6 cells/ml (as printed)": a concentration without a volume
    assert d["BVMJ2024"]["cell_dose"] == "" and "concentration" in d["BVMJ2024"]["notes"]
    # "cyclophosphamide 200 mg/kg IP given two times": the interval is not printed
    assert d["TJOG2019_BMMSC_OSSC"]["chemo_schedule"] == ""


@needs_evidence
def test_per_ovary_dose_is_doubled_only_where_both_ovaries_are_stated():
    d = _bundled()["ONAL_THESIS"]
    assert "50,000 cells per ovary" in d["cell_dose_as_printed"] and "both ovaries" in d["route_as_printed"]
    assert float(d["cell_dose"]) == 2 * 50_000 and "both ovaries stated" in d["notes"]


@needs_evidence
def test_printed_schedules_are_read_as_printed():
    d = _bundled()
    # "cyclophosphamide 50 mg/kg IP, then 8 mg/kg IP daily for 14 days": 1 + 14 doses, 50 + 14 x 8 mg/kg
    atwa = parse_schedule(d["ATWA2025"]["chemo_schedule"])
    assert len(atwa) == 15 and sum(x.amount for x in atwa) == 50 + 14 * 8
    assert {x.route for x in atwa} == {"intraperitoneal"} and [x.time for x in atwa] == list(range(15))
    # "150 ug in 100 uL PBS every other day for 2 weeks": 7 doses two days apart
    yang = d["Yang2020_miR144"]
    assert yang["cell_dose"] == "150" and yang["cell_dose_unit"] == "ug"
    assert yang["therapy_offsets"] == "0,2,4,6,8,10,12"
    # "9 and 16 days after chemotherapy": two MSC doses a week apart
    assert d["KILIC2014"]["therapy_offsets"] == "0,7"
    # "days 1, 15, 30, 45, 60 after IV injection": five sampling days after the treatment day
    shen = d["SHEN2020"]
    assert [float(x) - float(shen["treatment_day"]) for x in shen["sampling_day"].split(",")] == [1, 15, 30, 45, 60]


@needs_evidence
def test_every_defaulted_field_has_its_default_in_the_notes_and_a_value():
    rows = _rows(DESIGNS_FILE)
    documented = {d.field for d in DEFAULTS}
    defaulted = 0
    for r in rows:
        for field in filter(None, r["defaulted_fields"].split(";")):
            defaulted += 1
            assert field in documented, (r["design_id"], field)
            assert f"{field} defaulted:" in r["notes"] and re.search(r"\(\d+ of \d+ designs\)", r["notes"])
            assert r[field] != "", (r["design_id"], field)
        statuses = [set(filter(None, r[c].split(";"))) for c in ("defaulted_fields", "flagged_fields",
                                                                  "missing_fields")]
        assert not (statuses[0] & statuses[1] or statuses[0] & statuses[2] or statuses[1] & statuses[2])
        for field in ("chemo_schedule", "cell_dose", "route", "treatment_day", "sampling_day"):
            if r[field] == "":  # a blank simulation field is flagged or missing, never silently blank
                assert field in statuses[1] | statuses[2], (r["design_id"], field)
    assert defaulted > 0


@needs_evidence
def test_default_treatment_delay_is_the_median_of_the_printed_delays():
    """Recounted here from the sheet with its own reading: 'N week(s)|day(s) after' in the MSC timing column of the
    in-scope rows, each study once (the EV sheet prints no delay)."""
    delays: dict[str, float] = {}
    for row in _sheet(MSC_SHEET).values():
        if not row["in_scope"].startswith("yes"):
            continue
        m = re.match(r"(\d+) (?:and \d+ )?(week|day)s? after", row["msc_timing_as_printed"])
        if m:
            delays.setdefault(row["study_id"], float(m.group(1)) * (7 if m.group(2) == "week" else 1))
    d = _bundled()["ZHAO2022"]  # chemotherapy on day 0 only (the mouse default), delay not printed
    assert "treatment_day" in d["defaulted_fields"]
    assert float(d["treatment_day"]) == statistics.median(delays.values())
    assert f"({len(delays)} of {len(delays)} designs)" in d["notes"]


@needs_evidence
def test_default_agent_is_the_most_often_named_agent():
    counts: dict[str, int] = {}
    for row in _sheet(MSC_SHEET).values():
        text = row["chemo_regimen_as_printed"].lower()
        if row["in_scope"].startswith("yes"):
            for agent in ("cyclophosphamide", "cisplatin"):
                counts[agent] = counts.get(agent, 0) + (agent in text)
    assert counts["cyclophosphamide"] > counts["cisplatin"]
    d = _bundled()["YAN2022"]  # "chemotherapy-induced (agent not in table)"
    assert d["chemo_agent"] == "cyclophosphamide" and "chemo_agent" in d["defaulted_fields"]


# --- the table is not an observation dataset --------------------------------------------------


def test_design_table_is_not_listed_as_a_dataset():
    assert "preclinical_designs" not in list_datasets()
    assert "preclinical_designs_skipped" not in list_datasets()
    with pytest.raises(DatasetError, match="no bundled dataset"):
        load_dataset("preclinical_designs")


# --- designs and arms ------------------------------------------------------------------------


def test_schedule_grammar_round_trip():
    text = format_schedule([("cyclophosphamide", "50", "mg/kg", "intraperitoneal", [0]),
                            ("cyclophosphamide", "8", "mg/kg", "intraperitoneal", range(1, 15)),
                            ("cisplatin", "2.5", "mg/kg", "intravenous", [3, 10])])
    assert text == ("cyclophosphamide 50 mg/kg intraperitoneal@0; cyclophosphamide 8 mg/kg intraperitoneal@1..14; "
                    "cisplatin 2.5 mg/kg intravenous@3,10")
    doses = parse_schedule(text)
    assert len(doses) == 17 and [d.time for d in doses] == sorted(d.time for d in doses)
    for bad in ("cyclophosphamide 50 mg/kg@0", "cyclophosphamide 50 mg/kg subcutaneous@0",
                "cyclophosphamide 50 mg/kg oral@5..2", "cyclophosphamide x mg/kg oral@0"):
        with pytest.raises(ValueError, match="schedule item"):
            parse_schedule(bad)


def test_bundled_designs_load_and_mouse_and_rat_designs_are_simulable():
    designs = load_designs()
    assert len(designs) == len(_rows(DESIGNS_FILE))
    ok = [d for d in designs if simulable(d)]
    assert {d.species for d in ok} == {"mouse", "rat"}
    for d in designs:
        verdict = simulable(d)
        assert bool(verdict) == (verdict.reason == "")
        if d.species == "rat" and d.in_scope and verdict.reason.startswith("no parameter set"):
            assert "rat" in verdict.reason


def test_simulable_mouse_arms_simulate_and_the_chemotherapy_lowers_the_follicles(mouse):
    designs = [d for d in load_designs() if simulable(d) and d.species == "mouse"]
    assert len(designs) >= 5
    for d in designs:
        treated, control = d.arms(mouse)
        assert [x for x in control] == [x for x in treated if x.agent not in ("msc", "exosome")]
        therapy = [x for x in treated if x.agent == d.therapy]
        assert len(therapy) == len(d.therapy_offsets) and therapy[0].time == d.treatment_day
        assert all(x.route == d.route and x.amount == d.cell_dose for x in therapy)
        times = sorted({0.0, *d.sampling_days})
        untreated = po.simulate(mouse, None, times=times)
        chemo = po.simulate(mouse, control, times=times)
        with_therapy = po.simulate(mouse, treated, times=times)
        t = d.sampling_day
        assert chemo.at(t, "F_prim") < untreated.at(t, "F_prim"), d.design_id
        assert chemo.at(t, "AMH") < untreated.at(t, "AMH"), d.design_id
        assert with_therapy.at(t, "F_prim") > 0 and with_therapy.at(t, "AMH") > 0


def test_designs_of_a_species_without_a_parameter_set_are_not_simulable(monkeypatch):
    from poi_ode.mbma import designs as module

    atwa = next(d for d in load_designs() if d.design_id == "ATWA2025")
    assert simulable(atwa)  # a rat design, with the bundled rat set
    monkeypatch.setattr(module, "available_species", lambda: ["human", "mouse"])
    verdict = simulable(atwa)
    assert not verdict and verdict.reason.startswith("no parameter set for species 'rat'")
    treated, control = atwa.arms()  # the regimens need no species model
    assert len(treated) == len(control) + 1


def test_not_simulable_designs_say_why_and_refuse_arms():
    by_id = {d.design_id: d for d in load_designs()}
    assert simulable(by_id["WUY2021"]).reason.startswith("out of scope: autoimmune")
    assert "paclitaxel" in simulable(by_id["ELFAYOMY2016"]).reason
    assert simulable(by_id["SONG2016"]).reason.startswith("cell_dose unknown (ambiguous")
    assert simulable(by_id["CRIOESTAMINAL_NEWS2022"]).reason.startswith("out of scope")
    with pytest.raises(DesignError, match="WUY2021 is not simulable: out of scope"):
        by_id["WUY2021"].arms()


# --- bad input ---------------------------------------------------------------------------------


def _write_table(tmp_path: Path, edit) -> Path:
    rows = _rows(DESIGNS_FILE)
    edit(rows)
    path = tmp_path / "my_designs.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(DESIGN_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("column, value, message", [
    ("therapy", "stem cells", "is not one of msc, exosome"),
    ("in_scope", "maybe", "is not 'yes' or 'no'"),
    ("route", "intranasal", "is not one of intravenous"),
    ("chemo_schedule", "cyclophosphamide 50 mg/kg@0", "is not 'AGENT AMOUNT UNIT ROUTE@DAYS'"),
    ("cell_dose", "-5", "must be a finite number > 0"),
    ("n_treated", "7.5", "is not a whole number"),
    ("cell_dose_unit", "mg", "is not the msc unit 'cells'"),
    ("sampling_day", "3", "is not after treatment_day"),
    ("defaulted_fields", "colour", "unknown field(s) colour"),
    ("analytes", "E2;LH", "unknown analyte(s) LH"),
])
def test_bad_rows_are_errors_naming_row_design_and_column(tmp_path, column, value, message):
    def edit(rows):
        rows[1][column] = value  # ZHAO2022, a complete mouse MSC design, on row 3 of the file

    with pytest.raises(DesignError) as err:
        load_designs(_write_table(tmp_path, edit))
    text = str(err.value)
    assert f"my_designs.csv row 3 (design 'ZHAO2022'), column {column!r}" in text and message in text


def test_repeated_design_id_and_missing_column_are_errors(tmp_path):
    def repeat(rows):
        rows[2]["design_id"] = rows[1]["design_id"]

    with pytest.raises(DesignError, match=r"row 4 \(design 'ZHAO2022'\), column 'design_id': repeats row 3"):
        load_designs(_write_table(tmp_path, repeat))
    path = tmp_path / "short.csv"
    path.write_text("design_id,therapy\nX,msc\n", encoding="utf-8")
    with pytest.raises(DesignError, match="column\\(s\\) missing: study_id"):
        load_designs(path)
    with pytest.raises(DesignError, match="no design table 'nonesuch'"):
        load_designs("nonesuch")


@needs_evidence
def test_a_sheet_with_an_unknown_scope_or_without_a_column_stops_the_converter(tmp_path):
    lines = (EVIDENCE / MSC_SHEET).read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / EV_SHEET).write_bytes((EVIDENCE / EV_SHEET).read_bytes())
    (tmp_path / MSC_SHEET).write_text(lines[0] + lines[1].replace("YAN2022,yes,", "YAN2022,perhaps,", 1),
                                      encoding="utf-8")
    with pytest.raises(DesignConversionError, match=f"{MSC_SHEET} row 2: in_scope 'perhaps'"):
        convert_designs(tmp_path, tmp_path / "out")
    (tmp_path / MSC_SHEET).write_text(lines[0].replace(",route,", ",way,") + lines[1], encoding="utf-8")
    with pytest.raises(DesignConversionError, match="columns missing: route"):
        convert_designs(tmp_path, tmp_path / "out")


def test_bundled_readme_counts_match_the_design_files():
    readme = (BUNDLED / "README.md").read_text(encoding="utf-8")
    for name in ("preclinical_designs.csv", SKIPPED_FILE):
        m = re.search(rf"^\| {re.escape(name)} \|.*\| (\d+) \|$", readme, re.M)
        assert m and int(m.group(1)) == len(_rows(BUNDLED / name)), name

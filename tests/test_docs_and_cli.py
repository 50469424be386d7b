"""The generated equation page, the command line and the README's example."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

import poi_ode as po
from poi_ode.cli import _parser, main
from poi_ode.export import equations_markdown

ROOT = Path(__file__).resolve().parents[1]


def _strip_latex_if_other_sympy(text: str, recorded: str) -> str:
    """Equation lines depend on sympy's printer; compare them only under the same version."""
    if recorded == sp.__version__:
        return text
    return "\n".join(line for line in text.splitlines() if "$" not in line and "\\" not in line)


def test_equation_page_is_current(human, mouse):
    committed = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    recorded = re.search(r"<!-- sympy (\S+) -->", committed).group(1)
    fresh = equations_markdown([human, mouse])
    assert _strip_latex_if_other_sympy(fresh, recorded) == _strip_latex_if_other_sympy(committed, recorded), (
        "docs/model.md is stale: run `poi-ode equations --out docs/model.md`"
    )


def test_equation_page_covers_every_state_and_parameter(human, mouse):
    page = equations_markdown([human, mouse])
    for s in human.states:
        assert f"`{s.name}`" in page
    for p in human.parameters:
        assert page.count(f"| `{p.name}` |") == 2  # one row per species


def test_cli_simulate_writes_csv_and_png(tmp_path, capsys):
    code = main(["simulate", "--species", "mouse", "--dose", "0:cyclophosphamide:120:mg/kg",
                 "--dose", "14:msc:1e6:cells:intraovarian", "--t-end", "60", "--out", str(tmp_path)])
    assert code == 0
    import pandas as pd

    frame = pd.read_csv(tmp_path / "trajectory.csv")
    assert {"time", "variable", "value", "unit"} <= set(frame.columns)
    assert (tmp_path / "trajectory.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["simulate", "--dose", "0:msc:1e6"], "expected DAY:AGENT:AMOUNT:UNIT"),
        (["simulate", "--dose", "0:msc:-5:cells"], "negative"),
        (["simulate", "--dose", "x:msc:5:cells"], "must be numbers"),
        (["simulate", "--t-end", "-1"], "must be positive"),
        (["simulate", "--initial", "sick"], "invalid choice"),
        (["simulate", "--species", "dragon"], "unknown species 'dragon'"),
        (["simulate", "--dose", "0:aspirin:5:mg/kg"], "unknown agent 'aspirin'"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_cli_bad_arguments_exit_non_zero_with_one_line(tmp_path, capsys, argv, message):
    try:
        code = main([*argv, *(["--out", str(tmp_path)] if argv[0] == "simulate" else [])])
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert message in err[-1]


def test_cli_equations_matches_library(tmp_path):
    out = tmp_path / "model.md"
    assert main(["equations", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == equations_markdown([po.load_model("human"), po.load_model("mouse")])


def test_console_script_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "poi_ode.cli", "--help"], check=False, capture_output=True,
                            text=True)
    assert result.returncode == 0 and "simulate" in result.stdout


def test_readme_example_runs_and_prints_three_doses():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    example = next(b for b in blocks if "three MSC doses" in b)
    assert len(example.strip().splitlines()) <= 12
    result = subprocess.run([sys.executable, "-c", example], check=False, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "AMH" in line and "FSH" in line]
    assert len(lines) == 3


def test_demo_writes_figures(tmp_path):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    for name in ("mouse_msc_doses.png", "mouse_routes.png", "human_poi_msc.png", "mouse_summary.csv", "README.md"):
        assert (tmp_path / name).stat().st_size > 100


def test_cli_fits_a_new_csv_in_one_command(tmp_path, mouse):
    """A dataset the library has never seen, as a CSV in the documented format: one command."""
    from poi_ode.data.synthetic import synthetic_dataset

    induction = "0:cyclophosphamide:120:mg/kg:intraperitoneal; 0:busulfan:30:mg/kg:intraperitoneal"
    data = synthetic_dataset(mouse, {"control": induction, "msc": induction + "; 14:msc:2e6:cells:intravenous"},
                             [14, 28, 42], seed=21, study_id="NEWLAB")
    derived = ("row", "value_std", "spread_std", "se_std", "unit_std")
    csv = tmp_path / "my_study.csv"
    data.frame[[c for c in data.frame.columns if c not in derived]].to_csv(csv, index=False)
    out = tmp_path / "results"
    assert main(["fit", str(csv), "--species", "mouse", "--free", "s_M", "--out", str(out)]) == 0
    for name in ("fit.json", "report.md", "fit.png"):
        assert (out / name).stat().st_size > 100
    assert "s_M" in (out / "report.md").read_text(encoding="utf-8")


def test_cli_fit_bad_file_exits_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("study_id,arm\nA,b\n", encoding="utf-8")
    assert main(["fit", str(bad)]) == 2
    assert "required column is missing" in capsys.readouterr().err


def test_fit_gallery_is_current():
    from poi_ode.fitting.gallery import gallery_markdown

    page = ROOT / "docs" / "fits.md"
    assert page.read_text(encoding="utf-8") == gallery_markdown(ROOT / "fits", page), (
        "docs/fits.md is stale: run `poi-ode gallery`"
    )


def test_bundled_fit_configs_reproduce_their_committed_estimates(tmp_path):
    from poi_ode.fitting import FitResult
    from poi_ode.fitting.config import run_config

    for config in sorted((ROOT / "fits").glob("*.toml")):
        committed = FitResult.from_json(ROOT / "fits" / config.stem / "fit.json")
        again = run_config(config, tmp_path / config.stem)
        assert again.status == committed.status
        assert again.chi2 == pytest.approx(committed.chi2, rel=1e-6), config.stem
        for p in committed.parameters:
            # a parameter the likelihood does not fix (a profile open on a side) is reproducible only to the
            # flatness of its direction: numerical noise of 1e-9 in the simulations moves it more than 1e-6
            flat = not p.identifiability.startswith("identifiable")
            assert again[p.key].value == pytest.approx(p.value, rel=1e-3 if flat else 1e-6), (config.stem, p.key)


def test_cli_gsa_morris_writes_table_figure_and_summary(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "gsa"
    code = main(["gsa", "--species", "mouse", "--background", "0:cyclophosphamide:120:mg/kg:intraperitoneal",
                 "--agent", "msc", "--dose", "1e6", "--route", "intraovarian", "--schedule", "14",
                 "--endpoints", "FSH@90", "--parameters", "s_M,t_half_repair,kill_cyclophosphamide",
                 "--trajectories", "2", "--seed", "1", "--serial", "--quiet", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out / "gsa_morris.csv")
    assert set(table["parameter"]) == {"s_M", "t_half_repair", "kill_cyclophosphamide"}
    assert {"mu_star", "sigma", "mu_star_conf"} <= set(table["index"]) and set(table["endpoint"]) == {"FSH@90"}
    assert (out / "gsa_morris.png").stat().st_size > 10_000
    summary = (out / "gsa_morris.md").read_text(encoding="utf-8")
    for text in ("poi-ode gsa --species mouse", "| evaluations | 8 simulations |", "| failures | 0 |", "wall time",
                 "14:msc:1e+06:cells:intraovarian", "## FSH@90"):
        assert text in summary


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--trajectories", "1"], "trajectories must be a whole number >= 2"),
        (["--n-base", "64"], "--n-base does not apply to --method morris"),
        (["--method", "sobol", "--trajectories", "4"], "--trajectories does not apply to --method sobol"),
        (["--bounds", "s_M=1"], "give NAME=LOW:HIGH"),
        (["--endpoints", "XYZ@90"], "'XYZ' is not a state or output"),
        (["--agent", "msc"], "give both agent and dose"),
        (["--method", "anova"], "invalid choice"),
    ],
)
def test_cli_gsa_bad_arguments_exit_2_with_one_line(tmp_path, capsys, argv, message):
    try:
        code = main(["gsa", "--species", "mouse", "--endpoints", "FSH@90", "--quiet", *argv, "--out", str(tmp_path)])
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert message in err[-1]
    assert not list(tmp_path.glob("gsa_*"))


def test_sensitivity_example_gives_the_gsa_command_of_its_figure():
    """The one-seed command on the generated page is the screen the page ran (same settings, read back by the CLI)."""
    from poi_ode.sensitivity.example import EXAMPLE_BOUNDS, EXAMPLE_ENDPOINTS, EXAMPLE_PARAMETERS, gsa_command

    page = (ROOT / "docs" / "sensitivity_example.md").read_text(encoding="utf-8")
    command = gsa_command(100, 0)
    assert f"```\n{command}\n```" in page
    argv = shlex.split(command)[1:]
    args = _parser().parse_args(argv)
    assert args.endpoints.split(",") == list(EXAMPLE_ENDPOINTS)
    assert args.parameters.split(",") == list(EXAMPLE_PARAMETERS)
    assert {b.split("=")[0]: tuple(map(float, b.split("=")[1].split(":"))) for b in args.bounds} == EXAMPLE_BOUNDS
    assert (args.trajectories, args.seed, args.agent, args.dose) == (100, 0, "msc", 1e6)
    for name in ("gsa_morris.png", "gsa_morris.csv"):
        assert f"figures/{name}" in page
        assert (ROOT / "docs" / "figures" / name).stat().st_size > 1000

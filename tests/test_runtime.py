"""A user's own use at run time (issue 13): values between output times, a cache that heals
itself, and the main job from any folder."""
from __future__ import annotations

import numpy as np
import pytest

import poi_ode as po
from poi_ode.errors import ParameterError

RTOL = 1e-6


# --------------------------------------------------------------------------- values between output times
@pytest.mark.parametrize("method", ["auto", "LSODA"])
def test_at_between_output_times_matches_a_run_with_that_time(mouse, method):
    """A dose at day 10.5 falls between daily output times; day 10.7 is not an output time.
    ``at`` must give the value a run whose output times include 10.7 gives, to the solver's
    accuracy, for a state that jumps at the dose (so no interpolation between days would do)."""
    regimen = [po.Dose(10.5, "cyclophosphamide", 120, "mg/kg", "intraperitoneal")]
    tr = po.simulate(mouse, regimen, t_end=30, method=method, rtol=RTOL)
    assert 10.7 not in tr.time
    reference = po.simulate(mouse, regimen, times=[0.0, 5.0, 10.7, 20.0, 30.0], method=method, rtol=RTOL)
    for name in ("A_cyclophosphamide", "AMH", "F_prim", "D"):
        want = reference.at(10.7, name)
        assert tr.at(10.7, name) == pytest.approx(want, rel=20 * RTOL, abs=1e-9), name
    # neither a neighbouring output time nor linear interpolation between them would pass
    value = tr.at(10.7, "A_cyclophosphamide")
    k = int(np.searchsorted(tr.time, 10.7))
    for other in (tr["A_cyclophosphamide"][k - 1], tr["A_cyclophosphamide"][k],
                  np.interp(10.7, tr.time, tr["A_cyclophosphamide"])):
        assert abs(other - value) > 1e3 * RTOL * abs(value)


def test_at_output_times_stays_exact_and_outside_the_span_says_how(mouse):
    tr = po.simulate(mouse, None, t_end=20)
    k = 7
    assert tr.at(float(tr.time[k]), "AMH") == tr["AMH"][k]  # the stored value, not a new run
    with pytest.raises(ParameterError, match=r"outside the simulated span 0-20 days.*t_end .*at least 25"):
        tr.at(25.0, "AMH")
    with pytest.raises(ParameterError, match="outside the simulated span"):
        tr.at(-1.0, "AMH")
    with pytest.raises(KeyError, match="neither a state nor an output"):
        tr.at(3.5, "nonsense")


def test_batch_between_output_times_says_to_add_the_time(mouse):
    batch = po.simulate_batch(mouse, [None, None], times=[0.0, 10.0, 20.0])
    assert batch.at(10.0, "AMH").shape == (2,)
    with pytest.raises(ParameterError, match="include 15 in times="):
        batch.at(15.0, "AMH")


def test_a_pickled_trajectory_keeps_values_not_the_model(mouse):
    import pickle

    tr = po.simulate(mouse, None, t_end=20)
    copy = pickle.loads(pickle.dumps(tr))
    np.testing.assert_array_equal(copy["AMH"], tr["AMH"])
    assert copy.at(float(tr.time[3]), "AMH") == tr["AMH"][3]
    with pytest.raises(ParameterError, match="cannot be simulated again"):
        copy.at(3.33, "AMH")


# --------------------------------------------------------------------------- a cache that heals
def _fresh_cache(tmp_path, monkeypatch):
    """An empty disk cache and no generated code or library in memory."""
    from poi_ode import compile as compile_module
    from poi_ode.native import engine

    monkeypatch.setenv("POI_ODE_CACHE", str(tmp_path))
    monkeypatch.setattr(compile_module, "_MEMORY", {})
    monkeypatch.setattr(engine, "_MEMORY", {})
    monkeypatch.setattr(engine, "_UNAVAILABLE", {})


def test_damaged_generated_code_is_rebuilt_with_one_warning(tmp_path, monkeypatch, mouse):
    import warnings

    from poi_ode import compile as compile_module
    from poi_ode.errors import CacheWarning

    y0 = po.healthy_state(mouse)
    _fresh_cache(tmp_path, monkeypatch)
    source = po.load_model("mouse").compiled.source
    (path,) = tmp_path.glob("model_*.py")
    assert path.read_text(encoding="utf-8") == source
    lines = source.splitlines(keepends=True)
    path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2], encoding="utf-8")  # a cut last line
    monkeypatch.setattr(compile_module, "_MEMORY", {})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tr = po.simulate(po.load_model("mouse"), None, t_end=10, initial=y0, method="LSODA")
    damaged = [w for w in caught if issubclass(w.category, CacheWarning)]
    assert len(damaged) == 1 and path.name in str(damaged[0].message), [str(w.message) for w in caught]
    assert "checksum" in str(damaged[0].message)
    assert path.read_text(encoding="utf-8") == source  # rebuilt on disk
    assert tr.stats["engine"] == "python (scipy LSODA)"
    np.testing.assert_allclose(tr["AMH"], po.simulate(mouse, None, t_end=10, initial=y0, method="LSODA")["AMH"])
    monkeypatch.setattr(compile_module, "_MEMORY", {})
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)  # healed: no second report
        po.load_model("mouse").compiled
    assert not list(tmp_path.glob("*.tmp*")) and not list(tmp_path.glob(".*"))


_RUN_MOUSE = """
import warnings, numpy as np, poi_ode as po
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    tr = po.simulate(po.load_model("mouse"), None, t_end=10)
print(tr.stats["engine"])
for w in caught:
    print(w.category.__name__, w.message)
"""


def _run_mouse(cache, wait: bool = True):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "POI_ODE_CACHE": str(cache), "PYTHONPATH": os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.Popen([sys.executable, "-c", _RUN_MOUSE], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc.communicate(timeout=600) + (proc.returncode,) if wait else proc


def test_truncated_compiled_library_is_rebuilt_and_stats_name_the_engine(tmp_path, monkeypatch, mouse):
    """In a fresh process (a library once loaded stays mapped in this one): a library cut in half
    is reported once and rebuilt, and the compiled engine runs, not the slower fallback."""
    from poi_ode import native
    from poi_ode.native import engine

    _fresh_cache(tmp_path, monkeypatch)
    reason = native.available(po.load_model("mouse"))
    if reason:
        pytest.skip(f"compiled engine unavailable here: {reason}")
    (path,) = tmp_path.glob("native_*.so")
    intact = path.read_bytes()
    assert engine._seal_problem(path) is None
    path.unlink()  # a new file, not the one this process has mapped, cut in half
    path.write_bytes(intact[: len(intact) // 2])
    out, err, code = _run_mouse(tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == native.ENGINE, out
    warned = [line for line in lines[1:] if line.startswith("CacheWarning")]
    assert len(warned) == 1 and path.name in warned[0] and "rebuilding" in warned[0], out
    assert engine._seal_problem(path) is None and path.stat().st_size > len(intact) // 2
    out, err, code = _run_mouse(tmp_path)  # healed: no report the second time
    assert code == 0 and out.splitlines() == [native.ENGINE], (out, err)


def test_two_processes_building_the_same_model_at_once(tmp_path):
    """Both finish with the compiled engine (where a compiler exists) and no report of damage, and
    the cache holds one intact file of each kind, no temporary leftovers."""
    from poi_ode import compile as compile_module
    from poi_ode import native
    from poi_ode.native import engine

    procs = [_run_mouse(tmp_path, wait=False) for _ in range(2)]
    results = [p.communicate(timeout=600) + (p.returncode,) for p in procs]
    for out, err, code in results:
        assert code == 0, err
        assert "CacheWarning" not in out, out
    (source,) = tmp_path.glob("model_*.py")
    assert compile_module._damage(source.read_text(encoding="utf-8")) is None
    libraries = list(tmp_path.glob("native_*.so"))
    engines = {out.splitlines()[0] for out, _, _ in results}
    if libraries:
        assert len(libraries) == 1 and engine._seal_problem(libraries[0]) is None
        assert engines == {native.ENGINE}
    else:
        assert engines == {"python (scipy LSODA)"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([source.name, *(p.name for p in libraries)])


# --------------------------------------------------------------------------- the main job anywhere
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_main_job_finds_its_configs_and_their_data_from_any_folder(tmp_path, monkeypatch):
    from poi_ode.cli import _parser
    from poi_ode.fitting.config import _dataset, read_config
    from poi_ode.mainjob import calibration_configs

    monkeypatch.chdir(tmp_path)  # no fits/ here
    assert _parser().parse_args(["run"]).fits is None  # the CLI default: the shipped configs
    configs = calibration_configs()
    assert [c.name for c in configs] == sorted(p.name for p in (ROOT / "fits").glob("*.toml"))
    config = read_config(next(c for c in configs if c.stem == "griesinger2012"))
    data, _ = _dataset(config)  # bundled dataset names resolve wherever the run starts
    assert len(data.frame) > 0
    own = tmp_path / "mine"  # --fits still overrides
    own.mkdir()
    (own / "only.toml").write_text('name = "only"\nspecies = "human"\ndata = ["griesinger2012_amh_elimination"]\n')
    assert calibration_configs(own) == [own / "only.toml"]
    with pytest.raises(po.PoiOdeError, match="no calibration configs in .*empty"):
        calibration_configs(tmp_path / "empty")


def test_config_data_paths_are_relative_to_the_config_and_a_missing_one_is_named(tmp_path, monkeypatch):
    from poi_ode.fitting.config import _dataset, read_config

    folder = tmp_path / "configs"
    folder.mkdir()
    from poi_ode.data import BUNDLED

    csv = BUNDLED / "griesinger2012_amh_elimination.csv"
    (folder / "own.csv").write_bytes(csv.read_bytes())
    (folder / "own.toml").write_text('name = "own"\nspecies = "human"\ndata = ["own.csv", "gone.csv"]\n')
    monkeypatch.chdir(tmp_path)
    config = read_config("configs/own.toml")  # a relative path, then another working directory
    monkeypatch.chdir(ROOT.parent)
    with pytest.raises(ParameterError, match=r"own\.toml: data item 'gone\.csv' is neither a bundled dataset"):
        _dataset(config)
    config["data"] = ["own.csv"]
    assert len(_dataset(config)[0].frame) > 0


def test_shipped_configs_are_the_repository_fits_configs():
    """``poi_ode/calibrations`` (package data ``calibrations/*.toml``) must be the repository's
    fits/*.toml: a link in the checkout; should it become a copy, the two must not diverge."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    from poi_ode.fitting.config import shipped_configs_folder

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["poi_ode"]
    shipped = sorted({p for pattern in patterns if pattern.startswith("calibrations/")
                      for p in (ROOT / "poi_ode").glob(pattern)})
    fits = sorted((ROOT / "fits").glob("*.toml"))
    assert [p.name for p in shipped] == [p.name for p in fits] and fits
    for a, b in zip(shipped, fits):
        assert a.read_bytes() == b.read_bytes(), f"{a} differs from {b}"
    assert sorted(shipped_configs_folder().glob("*.toml")) in (shipped, fits)


def test_files_are_written_whole_or_not_at_all(tmp_path):
    from poi_ode._files import atomic_path, write_atomic

    target = tmp_path / "report.md"
    write_atomic(target, "complete\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a rep")
            raise RuntimeError("interrupted")
    assert target.read_text() == "complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_an_interrupted_main_job_leaves_no_report(tmp_path, monkeypatch):
    """A report from an earlier run is removed first; the interrupted run writes none."""
    from poi_ode.fitting import config as config_module
    from poi_ode.mainjob import run_main_job

    (tmp_path / "report.md").write_text("# an earlier, complete report\n")
    (tmp_path / "summary.json").write_text("{}")

    def interrupted(path, out=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(config_module, "run_config", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_main_job(tmp_path, draws=0, executor="serial")
    assert not (tmp_path / "report.md").exists() and not (tmp_path / "summary.json").exists()

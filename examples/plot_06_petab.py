"""
PEtab export and re-import
==========================

:func:`poi_ode.to_petab` writes a calibration problem (SBML model, conditions with their dose
events, observables, measurements, parameters) as a `PEtab <https://petab.readthedocs.io>`_
folder that other tools (pyPESTO, AMICI, Data2Dynamics...) can read;
:func:`poi_ode.from_petab` reads one back as a :class:`poi_ode.PetabProblem` ready for
:func:`poi_ode.fit`. Both need the ``petab`` extra (``pip install ".[petab]"``); without it
this example only says so.
"""
import importlib.util
import tempfile
from pathlib import Path

import poi_ode as po
from poi_ode.data.synthetic import synthetic_dataset

missing = [name for name in ("libsbml", "yaml") if importlib.util.find_spec(name) is None]
if missing:
    print(f"the petab extra is not installed ({', '.join(missing)} missing): nothing to show")
else:
    mouse = po.load_model("mouse")
    CTX = "0:cyclophosphamide:120:mg/kg:intraperitoneal"
    arms = {"ctx": CTX, "msc": CTX + "; 14:msc:1e6:cells:intraovarian"}
    data = synthetic_dataset(mouse, arms, [7, 14, 28, 42], params={"s_M": 1e-6}, seed=2)
    result = po.fit(mouse, data, free=["s_M"])

    folder = Path(tempfile.mkdtemp()) / "petab"
    yaml_file = po.to_petab(mouse, data, folder, free=["s_M"], result=result)
    print("written:", sorted(p.name for p in folder.iterdir()))

    # %%
    # Read back: the same observations, regimens and free parameter; refitting gives the same
    # estimate.
    problem = po.from_petab(yaml_file, mouse)
    print(problem.parameters.loc[["s_M"]])
    print("regimen of msc:", problem.regimens["SYNTHETIC/msc"])
    refit = problem.fit()
    print(f"s_M: fitted {result['s_M'].value:.4g}, refitted from PEtab {refit['s_M'].value:.4g}")

"""
Fitting a study with a different assay
======================================

Mouse FSH is often printed in mIU/mL by assays no unit conversion relates to the model's
ng/mL. :func:`poi_ode.fit` then estimates an *assay scale* for that analyte and study (a
free factor between the model's value and the printed one), says so with an
``AssayScaleWarning`` and in the report; ``scales=[...]`` asks for one explicitly (for a
mislabelled assay, say).

The study here is synthetic (:func:`poi_ode.data.synthetic.synthetic_dataset`): four arms,
FSH printed at 6 times the model's ng/mL.
"""
import warnings

import poi_ode as po
from poi_ode.data.synthetic import synthetic_dataset

mouse = po.load_model("mouse")
CTX = "0:cyclophosphamide:120:mg/kg:intraperitoneal"
arms = {
    "control": "",
    "CTX": CTX,
    "CTX+MSC low": CTX + "; 7:msc:5e5:cells:intravenous",
    "CTX+MSC high": CTX + "; 7:msc:2e6:cells:intravenous",
}
data = synthetic_dataset(mouse, arms, [7, 14, 28], seed=13, study_id="DOSE",
                         printed={"FSH": ("mIU/mL", 6.0)})
print(data.frame.groupby(["analyte", "unit"]).size())

# %%
# The fit adds ``scale_FSH`` for study DOSE and warns:

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    result = po.fit(mouse, data, free=["s_M"])
for w in caught:
    if w.category.__name__ == "AssayScaleWarning":
        print(f"{w.category.__name__}: {w.message}")
print(result.table()[["name", "value", "ci_low", "ci_high"]].to_string(index=False))

# %%
# The same data labelled ng/mL (a mislabelled assay): ``scales=["FSH"]`` recovers the factor.

frame = data.frame.copy()
frame.loc[frame["analyte"] == "FSH", "unit"] = "ng/mL"
derived = [c for c in ("row", "axis", "value_std", "spread_std", "se_std", "unit_std") if c in frame]
relabelled = po.read_dataset(frame.drop(columns=derived))
result = po.fit(mouse, relabelled, free=["s_M"], scales=["FSH"])
print(result.table()[["name", "value", "ci_low", "ci_high"]].to_string(index=False))
fig = result.plot()

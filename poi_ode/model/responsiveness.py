"""FSH responsiveness of the antral follicles: a reversible dysfunction of the POI ovary."""
from __future__ import annotations

import sympy as sp

from ..errors import ModelError
from .core import Module


def responsiveness_module(fsh_unit: str = "IU/L", exponent: int = 2) -> Module:
    """Build the responsiveness module (FSH-receptor desensitisation at high FSH).

    Parameters
    ----------
    fsh_unit : str
        Unit of FSH (species-dependent assays).
    exponent : int
        Steepness of desensitisation with FSH (a whole number: the rate is a polynomial in FSH, so
        it and its derivatives stay finite and real at FSH = 0).
    """
    if not (isinstance(exponent, int) and exponent >= 1):
        raise ModelError(f"desensitisation_exponent must be a whole number >= 1 (got {exponent!r})")
    m = Module(
        "responsiveness",
        "Antral follicles of a POI ovary are often present but unresponsive (Hubayter 2010: antral follicles "
        "in 73% of 46,XX spontaneous POI, luteinised or FSH-unresponsive). Here their granulosa FSH "
        "responsiveness R (1 = fully responsive) is desensitised at high FSH (a power of FSH, the structure's "
        "desensitisation_exponent) and recovers first-order, faster "
        "with paracrine support; lowering FSH restores it, which is why estrogen or GnRH suppression is tried "
        "before stimulation. R scales FSH-dependent selection of small antral follicles and aromatase. High FSH "
        "thus locks an ovary with few follicles into failure, and a fall of FSH or a therapy signal can release "
        "it within weeks. Alternatives the evidence leaves open (autoimmune or inflammatory suppression through "
        "the chronic damage input d_chronic and the cytokine tone; luteinisation by high LH) are documented in "
        "docs/poi_ovary.md.",
    )
    R = m.state("R_FSH", "1", "FSH responsiveness of antral follicles (granulosa FSH-receptor function; 1 = full)",
                r"R")
    FSH_ref = m.param("FSH_ref", fsh_unit, "reference (healthy adult) serum FSH", r"\mathrm{FSH}_{\mathrm{ref}}")
    FSH = m.input("FSH", FSH_ref, fsh_unit, "serum FSH (hormone module)")
    Phi = m.input("Phi", 0, "1", "fractional paracrine effect (paracrine module)")
    k = m.half_life("t_half_resensitisation", "day", "half-time of recovery of FSH responsiveness",
                    r"t_{1/2,R}")
    FSH_des = m.param("FSH_desensitisation", fsh_unit, "FSH at which desensitisation balances recovery (R = 1/2) "
                      "at dysfunction 1", r"\mathrm{FSH}_{\mathrm{des}}")
    severity = m.param("dysfunction", "1", "severity of desensitisation relative to the reference woman (1); the "
                       "virtual POI population varies it", r"\delta")
    r_P = m.param("r_resens_P", "1", "maximal acceleration of recovery of responsiveness by the paracrine signal",
                  r"r_{R}")
    recovery = k * (1 + r_P * Phi)
    m.flow(None, R, recovery, "renewal of responsive receptors")
    m.flow(R, None, recovery * R, "turnover of responsive receptors")
    m.flow(R, None, k * severity * (FSH / FSH_des) ** sp.Integer(exponent) * R, "desensitisation at high FSH")
    return m

"""Niche repair: a durable repair of the follicle niche (stroma, vasculature, granulosa support) by the therapy."""
from __future__ import annotations

from .core import Module


def niche_module() -> Module:
    """Build the niche-repair module (an alternative therapy mechanism; dimensionless state).

    The transient mechanism (the paracrine module alone) acts only while the paracrine signal
    lasts, so its effect scales with dose and fades within weeks of the cells' death. Here the
    signal also repairs the niche that supports growing follicles: a repaired fraction ``N``
    (0 = as left by the insult, 1 = fully repaired) is built at a rate proportional to the
    paracrine effect and saturates, so a small dose that reaches the ovary can repair as much as
    a large one, and it is lost slowly, so the effect outlasts the cells. The repaired niche
    lowers the atresia of growing follicles (``niche_atresia_factor``, 1 without repair) and
    restrains primordial activation, the burn-out that follows an insult
    (``niche_activation_factor``, 1 without repair).
    """
    m = Module(
        "niche",
        "A durable repair of the follicle niche by the therapy (an alternative to the transient paracrine "
        "mechanism). The paracrine effect Phi builds a repaired fraction N of the niche (stroma, vessels, granulosa "
        "support) that saturates at 1 and is lost slowly; the repaired niche lowers the atresia of growing "
        "follicles and restrains primordial activation (burn-out). Because N saturates, doses that reach the ovary "
        "give similar lasting effects; because it is lost slowly, the effect outlasts the cells.",
    )
    N = m.state("N_niche", "1", "repaired fraction of the follicle niche (0 = none, 1 = full)", r"N")
    Phi = m.input("Phi", 0, "1", "fractional paracrine effect (paracrine module)")
    k_on = m.half_life("t_half_niche_build", "day", "half-time of niche repair at full paracrine effect",
                       r"t_{1/2,N\mathrm{on}}")
    k_off = m.half_life("t_half_niche_loss", "day", "half-life of the repaired niche (durability of the effect)",
                        r"t_{1/2,N\mathrm{off}}")
    e_atr = m.param("niche_atresia", "1", "maximal fractional reduction of growing-follicle atresia by the repaired "
                    "niche", r"e_{N}", (0, 1))
    e_act = m.param("niche_activation", "1", "maximal fractional restraint of primordial activation by the repaired "
                    "niche", r"e_{N,\mathrm{act}}", (0, 1))
    m.flow(None, N, k_on * Phi * (1 - N), "repair of the niche by the paracrine signal")
    m.flow(N, None, k_off * N, "loss of the repair")
    m.assign("niche_atresia_factor", 1 - e_atr * N, "1",
             "atresia of growing follicles relative to an unrepaired niche", r"h_{N}")
    m.assign("niche_activation_factor", 1 - e_act * N, "1",
             "primordial activation relative to an unrepaired niche", r"h_{N,\mathrm{act}}")
    return m

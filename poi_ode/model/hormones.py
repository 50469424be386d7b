"""Hormones and the cycle-averaged HPO axis: AMH, inhibin B, estradiol and FSH."""
from __future__ import annotations

from .core import Module


def hormone_module(
    amh_unit: str = "ng/mL", fsh_unit: str = "IU/L", e2_unit: str = "pg/mL", inhb_unit: str = "pg/mL"
) -> Module:
    """Build the hormone module (serum levels in the species' clinical units).

    Production is normalised by healthy reference levels: a hormone equals its reference
    when its source follicles equal their reference counts, so every production constant
    is a sourced reference level, not a free scale.
    """
    m = Module(
        "hormones",
        "Cycle-averaged serum hormones. AMH comes from small antral follicles (and, weakly, "
        "secondary ones), with an output per follicle that rises through puberty; inhibin B from "
        "antral follicles, the early feedback signal that falls with the antral count; ovarian "
        "estradiol from the dominant follicle and its corpus luteum, so it follows the ovulation "
        "rate (aromatase driven by FSH through the follicles' FSH responsiveness), above an extra-ovarian floor. "
        "Pituitary FSH secretion falls with inhibin B and ovarian estradiol: without follicles FSH equals its castrate "
        "level. Each hormone is cleared first-order with its half-life.",
    )
    AMH = m.state("AMH", amh_unit, "serum anti-Müllerian hormone", r"\mathrm{AMH}")
    InhB = m.state("InhB", inhb_unit, "serum inhibin B", r"\mathrm{InhB}")
    E2 = m.state("E2", e2_unit, "serum estradiol", r"\mathrm{E_2}")
    FSH = m.state("FSH", fsh_unit, "serum follicle-stimulating hormone", r"\mathrm{FSH}")

    amh_signal = m.input("amh_signal", 0, "1", "intra-ovarian AMH of the growing follicles relative to the reference")
    F3 = m.input("F_sa", 0, "follicles", "small antral follicles")
    F4 = m.input("F_la", 0, "follicles", "large antral follicles")
    ovu = m.input("ovulation_rate", 0, "follicles/day", "ovulations per day (follicle module)")
    R = m.input("R_FSH", 1, "1", "FSH responsiveness of antral follicles (responsiveness module)")
    maturity = m.input("amh_maturity", 1, "1", "AMH output per follicle relative to the mature ovary")

    AMH_ref = m.param("AMH_ref", amh_unit, "reference (healthy adult) serum AMH", r"\mathrm{AMH}_{\mathrm{ref}}")
    FSH_ref = m.param("FSH_ref", fsh_unit, "reference (healthy adult) serum FSH", r"\mathrm{FSH}_{\mathrm{ref}}")
    FSH_max = m.param("FSH_castrate", fsh_unit, "serum FSH without ovarian feedback (postmenopausal/castrate)",
                      r"\mathrm{FSH}_{\max}")
    InhB_ref = m.param("InhB_ref", inhb_unit, "reference serum inhibin B", r"\mathrm{InhB}_{\mathrm{ref}}")
    E2_floor = m.param("E2_floor", e2_unit, "extra-ovarian (postmenopausal) serum estradiol",
                       r"\mathrm{E}_{2,\mathrm{floor}}")
    E2_ov = m.param("E2_ovarian_ref", e2_unit, "ovarian serum estradiol at one ovulation per cycle and reference FSH",
                    r"\mathrm{E}_{2,\mathrm{ov}}")
    AFC_ref = m.param("AFC_ref", "follicles", "reference antral follicle count", r"\mathrm{AFC}_{\mathrm{ref}}")
    q_ovu = m.param(
        "ovulation_quota", "follicles/day", "largest ovulation rate: ovulations per cycle over the cycle length",
        r"q_{\mathrm{ovu}}",
    )
    phi_I = m.param("phi_inhB", "1", "share of inhibin B in FSH negative feedback", r"\varphi_{I}", (0, 1))
    K_F = m.param("K_FSH", fsh_unit, "FSH level of half-maximal antral selection", r"K_{\mathrm{FSH}}")
    k_AMH = m.half_life("t_half_AMH", "day", "AMH elimination half-life", r"t_{1/2,\mathrm{AMH}}")
    k_I = m.half_life("t_half_InhB", "day", "inhibin B elimination half-life", r"t_{1/2,\mathrm{InhB}}")
    k_E = m.half_life("t_half_E2", "day", "estradiol elimination half-life", r"t_{1/2,\mathrm{E_2}}")
    k_F = m.half_life("t_half_FSH", "day", "FSH elimination half-life", r"t_{1/2,\mathrm{FSH}}")

    aromatase = R * FSH / (FSH + K_F) * (FSH_ref + K_F) / FSH_ref
    e2_ovarian = m.assign(
        "e2_ovarian_signal", ovu / q_ovu * aromatase, "1",
        "ovarian estradiol output relative to one ovulation per cycle at reference FSH", r"\epsilon",
    )
    feedback = m.assign(
        "fsh_feedback",
        phi_I * InhB / InhB_ref + (1 - phi_I) * e2_ovarian,
        "1",
        "ovarian negative feedback on FSH: 1 at reference, 0 without follicles",
        r"\eta",
    )
    share_EF = m.param("e2_early_follicular_share", "1", "share of the cycle-averaged ovarian estradiol present in "
                       "an early-follicular (cycle day 2-5) sample", r"\phi_{\mathrm{EF}}", (0, 1))
    m.assign("E2_early_follicular", E2_floor + share_EF * (E2 - E2_floor), e2_unit,
             "serum estradiol of an early-follicular (cycle day 2-5) sample, the sample clinical cut-offs refer to",
             r"\mathrm{E}_{2,\mathrm{EF}}")
    gain = FSH_max / FSH_ref - 1
    m.flow(None, AMH, k_AMH * AMH_ref * maturity * amh_signal, "AMH secretion")
    m.flow(AMH, None, k_AMH * AMH, "AMH clearance")
    m.flow(None, InhB, k_I * InhB_ref * (F3 + F4) / AFC_ref, "inhibin B secretion")
    m.flow(InhB, None, k_I * InhB, "inhibin B clearance")
    m.flow(None, E2, k_E * (E2_floor + E2_ov * e2_ovarian), "estradiol secretion")
    m.flow(E2, None, k_E * E2, "estradiol clearance")
    m.flow(None, FSH, k_F * FSH_max / (1 + gain * feedback), "pituitary FSH secretion")
    m.flow(FSH, None, k_F * FSH, "FSH clearance")
    return m

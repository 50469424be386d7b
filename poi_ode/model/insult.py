"""Insults: chemotherapy agents with their own elimination and stage-specific kill, and an ovarian damage index."""
from __future__ import annotations

import sympy as sp

from .core import Module

CHEMOTHERAPY_AGENTS = ("cyclophosphamide", "busulfan", "cisplatin", "doxorubicin")
"""Agents the default insult module carries; each gets its own exposure state."""

_SHORT = {"cyclophosphamide": "CTX", "busulfan": "BUS", "cisplatin": "CIS", "doxorubicin": "DOX"}

_EXPOSURE = {
    "cyclophosphamide": "cyclophosphamide exposure (lumped: the prodrug and its active metabolite "
                        "4-hydroxy-cyclophosphamide share one state and one half-life)",
}


def insult_module(agents: tuple[str, ...] = CHEMOTHERAPY_AGENTS) -> Module:
    """Build the insult module.

    Parameters
    ----------
    agents : tuple of str
        Chemotherapy agents; each has an exposure state ``A_<agent>`` in mg/kg with first-order
        elimination, a primordial kill potency ``kill_<agent>``, a growing-follicle kill potency
        ``kill_growing_<agent>`` and a damage potency ``damage_<agent>`` (all per mg/kg). The
        species' ``chemo_sensitivity`` multiplies both kills: the explicit scaling between species.
    """
    m = Module(
        "insult",
        "Chemotherapy exposure, one state per agent in mg/kg body weight, eliminated first-"
        "order (cyclophosphamide is a prodrug: its state lumps the parent and the active metabolite). "
        "While it circulates, each agent kills primordial follicles and growing follicles, each stage "
        "class with its own potency (a bolus of dose d leaves the fraction exp(-s kappa d) of a pool, the "
        "form of a dose-destruction curve with an ED50; s is the species' sensitivity, 1 in the mouse). "
        "Growing-follicle kill gives the acute fall of AMH and estradiol and the transient amenorrhoea; "
        "primordial kill the lasting loss. Exposure builds an ovarian damage index D (dimensionless; each "
        "mg/kg of agent adds its potency to D over the agent's elimination); a chronic source stands for "
        "autoimmune or other lasting insults. D is repaired first-order, faster with paracrine support.",
    )
    D = m.state("D", "1", "ovarian tissue-damage index", "D")
    Phi = m.input("Phi", 0, "1", "fractional paracrine effect (paracrine module)")
    k_rep = m.half_life("t_half_repair", "day", "half-time of damage repair", r"t_{1/2,\mathrm{rep}}")
    r_P = m.param("r_repair_P", "1", "maximal acceleration of repair by the paracrine signal", r"r_{P}")
    d_chronic = m.param("d_chronic", "1/day", "chronic damage input (autoimmune or other lasting insult)",
                        r"d_{\mathrm{chr}}")
    km = m.param("km_factor", "kg/m**2", "body-weight to body-surface conversion factor (mg/m² ÷ km = mg/kg)", r"k_{m}")
    weight = m.param("body_weight", "kg", "reference body weight (a dose in mg ÷ weight = mg/kg)", r"W")
    sens = m.param("chemo_sensitivity", "1", "follicle kill per mg/kg of this species relative to the mouse "
                   "potencies (explicit species scaling of every agent and stage)", r"s_{\mathrm{chemo}}")

    damage_input = d_chronic
    kill_rate = sp.Integer(0)
    growing_rate = sp.Integer(0)
    for agent in agents:
        short = _SHORT.get(agent, agent)
        A = m.state(f"A_{agent}", "mg/kg", _EXPOSURE.get(agent, f"{agent} exposure"), rf"A_{{\mathrm{{{short}}}}}")
        k_el = m.half_life(f"t_half_{agent}", "day", f"elimination half-life of {agent}",
                           rf"t_{{1/2,\mathrm{{{short}}}}}")
        potency = m.param(
            f"damage_{agent}", "kg/mg", f"damage index added per mg/kg of {agent}", rf"\delta_{{\mathrm{{{short}}}}}"
        )
        kill = m.param(
            f"kill_{agent}",
            "kg/mg",
            f"primordial kill per mg/kg of {agent} (surviving fraction exp(-kill x dose))",
            rf"\kappa_{{0,\mathrm{{{short}}}}}",
        )
        kill_growing = m.param(
            f"kill_growing_{agent}",
            "kg/mg",
            f"growing-follicle kill per mg/kg of {agent} (surviving fraction exp(-kill x dose), every growing stage)",
            rf"\kappa_{{g,\mathrm{{{short}}}}}",
        )
        m.flow(A, None, k_el * A, f"elimination of {agent}")
        damage_input = damage_input + potency * k_el * A
        kill_rate = kill_rate + kill * k_el * A
        growing_rate = growing_rate + kill_growing * k_el * A
        other_units = {"mg/m**2": 1 / km, "mg": 1 / weight}
        m.dose(agent, "intravenous", A, "mg/kg", alternative_units=other_units, default_route=True)
        m.dose(agent, "intraperitoneal", A, "mg/kg", alternative_units=other_units)
        m.dose(agent, "oral", A, "mg/kg", alternative_units=other_units)
    m.assign(
        "cytotoxic_kill", sens * kill_rate, "1/day",
        "per-capita primordial kill rate by circulating chemotherapy", r"\kappa_{0}(t)",
    )
    m.assign(
        "cytotoxic_kill_growing", sens * growing_rate, "1/day",
        "per-capita growing-follicle kill rate by circulating chemotherapy", r"\kappa_{g}(t)",
    )
    m.flow(None, D, sp.sympify(damage_input), "damage by chemotherapy and chronic insult")
    m.flow(D, None, k_rep * (1 + r_P * Phi) * D, "repair")
    return m

"""Insults: chemotherapy agents with their own elimination, and an ovarian damage index."""
from __future__ import annotations

import sympy as sp

from .core import Module

CHEMOTHERAPY_AGENTS = ("cyclophosphamide", "busulfan", "cisplatin")
"""Agents the default insult module carries; each gets its own exposure state."""

_SHORT = {"cyclophosphamide": "CTX", "busulfan": "BUS", "cisplatin": "CIS"}


def insult_module(agents: tuple[str, ...] = CHEMOTHERAPY_AGENTS) -> Module:
    """Build the insult module.

    Parameters
    ----------
    agents : tuple of str
        Chemotherapy agents; each has an exposure state ``A_<agent>`` in mg/kg with first-order
        elimination, and a damage potency (damage index per mg/kg).
    """
    m = Module(
        "insult",
        "Chemotherapy exposure, one state per agent in mg/kg body weight, eliminated first-"
        "order. While it circulates, each agent kills primordial follicles (a bolus of dose d "
        "leaves the fraction exp(-kappa d), the form of a dose-destruction curve with an ED50). "
        "Exposure builds an ovarian damage index D (dimensionless; each mg/kg of agent "
        "adds its potency to D over the agent's elimination); a chronic source stands for "
        "autoimmune or other lasting insults. D is repaired first-order, faster with paracrine "
        "support.",
    )
    D = m.state("D", "1", "ovarian tissue-damage index", "D")
    Phi = m.input("Phi", 0, "1", "fractional paracrine effect (paracrine module)")
    k_rep = m.half_life("t_half_repair", "day", "half-time of damage repair", r"t_{1/2,\mathrm{rep}}")
    r_P = m.param("r_repair_P", "1", "maximal acceleration of repair by the paracrine signal", r"r_{P}")
    d_chronic = m.param("d_chronic", "1/day", "chronic damage input (autoimmune or other lasting insult)", r"d_{\mathrm{chr}}")
    km = m.param("km_factor", "kg/m**2", "body-weight to body-surface conversion factor (mg/m² ÷ km = mg/kg)", r"k_{m}")

    damage_input = d_chronic
    kill_rate = sp.Integer(0)
    for agent in agents:
        short = _SHORT.get(agent, agent)
        A = m.state(f"A_{agent}", "mg/kg", f"{agent} exposure", rf"A_{{\mathrm{{{short}}}}}")
        k_el = m.half_life(f"t_half_{agent}", "day", f"elimination half-life of {agent}", rf"t_{{1/2,\mathrm{{{short}}}}}")
        potency = m.param(
            f"damage_{agent}", "kg/mg", f"damage index added per mg/kg of {agent}", rf"\delta_{{\mathrm{{{short}}}}}"
        )
        kill = m.param(
            f"kill_{agent}",
            "kg/mg",
            f"primordial kill per mg/kg of {agent} (surviving fraction exp(-kill x dose))",
            rf"\kappa_{{\mathrm{{{short}}}}}",
        )
        m.flow(A, None, k_el * A, f"elimination of {agent}")
        damage_input = damage_input + potency * k_el * A
        kill_rate = kill_rate + kill * k_el * A
        per_area = {"mg/m**2": 1 / km}
        m.dose(agent, "intravenous", A, "mg/kg", alternative_units=per_area, default_route=True)
        m.dose(agent, "intraperitoneal", A, "mg/kg", alternative_units=per_area)
        m.dose(agent, "oral", A, "mg/kg", alternative_units=per_area)
    m.assign(
        "cytotoxic_kill", kill_rate, "1/day",
        "per-capita primordial kill rate by circulating chemotherapy", r"\kappa(t)",
    )
    m.flow(None, D, sp.sympify(damage_input), "damage by chemotherapy and chronic insult")
    m.flow(D, None, k_rep * (1 + r_P * Phi) * D, "repair")
    return m
